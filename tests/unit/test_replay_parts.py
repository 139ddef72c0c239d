"""Replay's pure parts: times people type, chunking under Prometheus' point limit, the point at a replayed time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cockpit.clock import ManualClock
from cockpit.records.replay import MAX_POINTS, Fetched, ReplaySource, _Series, chunks, grid, parse_time

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("-2h", NOW - 7200),
        ("now-90m", NOW - 5400),
        ("now - 1h30m", NOW - 5400),
        ("+15m", NOW + 900),
        ("2027-01-15T08:00:00Z", datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()),
        ("2027-01-15T10:00:00+02:00", datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()),
        ("2027-01-15 08:00", datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()),  # naive is UTC
        ("1700000000", 1_700_000_000.0),
    ],
)
def test_times_people_type(text: str, expected: float) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "-2x", "2027-13-01", "now-", "nan", "-1e309"])
def test_what_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text, NOW)


def test_chunks_stay_under_the_point_limit_on_one_grid() -> None:
    assert chunks(0, 100, 15) == [(0, 100)]
    parts = chunks(1000, 1000 + 30_000, 1)
    assert len(parts) == 3
    for begin, end in parts:
        assert (end - begin) + 1 <= MAX_POINTS
    # consecutive, no point twice, no point missed
    assert parts[0][0] == 1000 and parts[-1][1] == 31_000
    assert all(b[0] == a[1] + 1 for a, b in zip(parts, parts[1:]))
    assert sum(int(e - b) + 1 for b, e in parts) == 30_001
    assert chunks(0, MAX_POINTS - 1, 1) == [(0, MAX_POINTS - 1)]  # exactly the limit: one call
    assert len(chunks(0, MAX_POINTS, 1)) == 2
    with pytest.raises(ValueError):
        chunks(10, 0, 1)


def test_grid_counts_evaluations_after_the_start() -> None:
    assert grid(0, 60, 15) == 4
    assert grid(0, 59, 15) == 3
    assert grid(0, 10, 15) == 0


async def test_the_replay_source_answers_at_the_clock_and_counts_what_it_could_not() -> None:
    clock = ManualClock(100.0)
    fetched = {
        "up_ish": Fetched("up_ish", [_Series({"pod": "a"}, [90.0, 100.0, 110.0], [1.0, 2.0, 3.0]),
                                     _Series({"pod": "b"}, [90.0], [7.0])]),
        "broken": Fetched("broken", errors=[(0.0, 1000.0, "Prometheus at http://x did not answer within 5s")]),
    }

    class Live:
        def __init__(self) -> None:
            self.asked: list[tuple[str, float | None]] = []

        async def query(self, expr: str, at: float | None = None):
            from cockpit.sources.prometheus import QueryResult

            self.asked.append((expr, at))
            return QueryResult(expr)

    live = Live()
    source = ReplaySource(fetched, clock, live, staleness=5.0)
    result = await source.query("up_ish")
    assert [(s.labels["pod"], s.value) for s in result.samples] == [("a", 2.0)]  # b's point is 10 s old: stale
    clock.advance(4)
    assert [s.value for s in (await source.query("up_ish")).samples] == [2.0]  # latest at or before now
    clock.advance(100)
    assert (await source.query("up_ish")).no_data  # nothing within the staleness bound: no data
    assert (await source.query("broken")).error is not None
    assert source.fallbacks == 0 and source.answered == 4
    await source.query("widened[7m]")
    assert source.fallbacks == 1 and live.asked == [("widened[7m]", 204.0)]  # asked as of the replayed time
