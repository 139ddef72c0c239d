"""A tiny in-test query source: answers PromQL by the first scripted fragment it contains.

It stands in for Prometheus only where the engine's own logic is under test
(window widening, timers, BLIND/INSUFFICIENT); the real-Prometheus path is
covered by the integration tests.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from cockpit.sources.prometheus import QueryResult, Sample

NO_DATA = object()
NAN = math.nan


class Hang:
    """An answer that never comes (until cancelled)."""


class ScriptedSource:
    def __init__(self) -> None:
        self.rules: list[tuple[str, Any]] = []
        self.queries: list[str] = []
        self.alert_answer: tuple[list[dict[str, Any]], str | None] = ([], None)

    def on(self, fragment: str, answer: Any) -> ScriptedSource:
        """Answer queries containing `fragment`: a number, NAN, NO_DATA, an error text ("error: ..."),
        a list of (labels, value), an exception instance, Hang(), or a callable(expr) -> any of those.
        Later rules for the same fragment replace earlier ones."""
        self.rules = [(f, a) for f, a in self.rules if f != fragment]
        self.rules.insert(0, (fragment, answer))
        return self

    async def query(self, expr: str) -> QueryResult:
        self.queries.append(expr)
        for fragment, answer in self.rules:
            if fragment in expr:
                return await self._answer(expr, answer)
        return QueryResult(expr, error=f"unscripted query: {expr}")

    async def _answer(self, expr: str, answer: Any) -> QueryResult:
        if callable(answer) and not isinstance(answer, type):
            answer = answer(expr)
        if isinstance(answer, Hang):
            await asyncio.sleep(3600)
        if isinstance(answer, BaseException):
            raise answer
        if answer is NO_DATA:
            return QueryResult(expr, [])
        if isinstance(answer, str) and answer.startswith("error: "):
            return QueryResult(expr, error=answer.removeprefix("error: "))
        if isinstance(answer, list):
            return QueryResult(expr, [Sample(dict(labels), float(value)) for labels, value in answer])
        return QueryResult(expr, [Sample({}, float(answer))])

    async def alerts(self) -> tuple[list[dict[str, Any]], str | None]:
        return self.alert_answer

    def last(self, fragment: str) -> str:
        """The last query sent that contains `fragment`."""
        matching = [q for q in self.queries if fragment in q]
        assert matching, f"no query containing {fragment!r} was sent; sent: {self.queries}"
        return matching[-1]

