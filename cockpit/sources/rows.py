"""A query's answer as a small table: column names, rows, and its TSV form for evidence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

NULL_TEXT = "NULL"


def cell_text(value: Any) -> str:
    """One value as TSV-safe text: NULL spelled out, exact decimals kept, no tab or newline inside."""
    if value is None:
        return NULL_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, Decimal):
        return str(value)  # keeps the scale: 100.030 is evidence of a tick problem
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


@dataclass
class Rows:
    """Column names and the rows in order, values as the driver returned them."""

    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_tsv(self) -> str:
        """A header line and one line per row, tab-separated."""
        lines = ["\t".join(cell_text(c) for c in self.columns)]
        lines.extend("\t".join(cell_text(v) for v in row) for row in self.rows)
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dicts(cls, items: list[dict[str, Any]], columns: list[str] | None = None) -> Rows:
        """Rows from dicts; columns default to the first dict's keys."""
        names = columns if columns is not None else (list(items[0]) if items else [])
        return cls(names, [tuple(item.get(c) for c in names) for item in items])
