"""Where a run's records go besides the journal: the --events stream, a TUI in the same process."""

from __future__ import annotations

import contextlib
import json
from typing import Any, Protocol, TextIO


class EventSink(Protocol):
    """Receives every journal record as it is written (the --events stream, a TUI in the same process)."""

    def emit(self, record: dict[str, Any]) -> None: ...


class JsonLinesSink:
    """One JSON object per line to a stream; a stream that went away (closed terminal) is dropped, not fatal."""

    def __init__(self, stream: TextIO, close: bool = False) -> None:
        self.stream = stream
        self._close = close
        self.broken = False

    def emit(self, record: dict[str, Any]) -> None:
        """Write the record as one line; after the first failure, write nothing more."""
        if self.broken:
            return
        try:
            self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            self.broken = True

    def close(self) -> None:
        """Close the stream if this sink opened it."""
        if self._close:
            with contextlib.suppress(OSError):
                self.stream.close()
