"""Validate cockpit.toml in a forked child while this process imports Textual: the two take turns on two cores.

A screen's start used to be Textual's import (~0.3 s) *then* pydantic and the
config models (~0.25 s). The child loads and validates the config exactly as
`load_config` does and sends back the screen's face of it (ScreenFace) or the
one-line ConfigError; the parent waits for that answer before any screen
starts, so a bad config is still one line and exit 2. Where fork is missing,
or the child dies without an answer, the parent validates in-process (and a
crash there is the same crash, raised where it can be seen).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.config_file import ConfigError
from cockpit.views.face import ScreenFace, face_of


def _load_face(path: Path | None, also: Callable[[], object] | None) -> ScreenFace:
    from cockpit.config import load_config

    if also is not None:
        also()
    return face_of(load_config(path))


def _answer(path: Path | None, also: Callable[[], object] | None) -> dict[str, Any]:
    try:
        return {"face": _load_face(path, also).to_data()}
    except ConfigError as exc:
        return {"error": str(exc)}
    except BaseException:  # noqa: BLE001 - the parent validates again and shows the real failure
        return {}


class ConfigAside:
    """The config of `path` (None: the built-in defaults) being validated by a child process.

    `also`: another check of the command's input for the child to run first (its ConfigError is the answer).
    """

    def __init__(self, path: Path | None, also: Callable[[], object] | None = None) -> None:
        self.path, self.also = path, also
        self._pid: int | None = None
        self._fd: int | None = None
        if not hasattr(os, "fork"):
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: answer, then leave without running the parent's cleanup
            try:
                os.close(read_fd)
                data = json.dumps(_answer(path, also)).encode()
                view = memoryview(data)
                while view:
                    view = view[os.write(write_fd, view):]
            finally:
                os._exit(0)
        os.close(write_fd)
        self._pid, self._fd = pid, read_fd

    def face(self) -> ScreenFace:
        """The validated config's face; ConfigError (one line) when the config is bad."""
        answer = self._collect()
        if "error" in answer:
            raise ConfigError(answer["error"])
        if "face" in answer:
            return ScreenFace.from_data(answer["face"])
        return _load_face(self.path, self.also)

    def _collect(self) -> dict[str, Any]:
        if self._fd is None or self._pid is None:
            return {}
        chunks = []
        try:
            while chunk := os.read(self._fd, 65536):
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            os.waitpid(self._pid, 0)
            self._fd = self._pid = None
        try:
            answer = json.loads(b"".join(chunks) or b"{}")
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}
