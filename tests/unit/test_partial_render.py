"""The partial repaint asks a widget only for its rows under a change (screens/partial_render.py)."""

from __future__ import annotations

from textual.geometry import Region

from cockpit.screens.partial_render import _bands, _cover, _covers, _merged


def test_a_widget_renders_only_the_rows_a_change_overlaps() -> None:
    screen = Region(0, 0, 80, 24)
    # the big clock (rows 0-2, right), a signal row (6), the status bar (22): the screen behind them all
    changed = [Region(60, 0, 20, 3), Region(0, 6, 80, 1), Region(0, 22, 80, 1)]
    assert _bands(screen, changed) == [(0, 3), (6, 7), (22, 23)]


def test_overlapping_and_touching_changes_are_one_band_and_a_widget_away_from_them_none() -> None:
    table = Region(0, 4, 80, 9)
    assert _bands(table, [Region(0, 7, 10, 2), Region(30, 5, 5, 3), Region(0, 9, 80, 1)]) == [(5, 10)]
    assert _bands(table, [Region(0, 0, 80, 3), Region(0, 22, 80, 1)]) == []
    assert _bands(table, [Region(0, 2, 80, 4)]) == [(4, 6)]  # clipped to the widget's own rows


def test_covered_columns_merge_and_a_span_counts_as_covered_only_whole() -> None:
    spans: list[tuple[int, int]] = []
    _cover(spans, 40, 80)
    _cover(spans, 0, 20)
    assert not _covers(spans, 0, 80)  # columns 20-39 are still open
    assert _covers(spans, 5, 15) and _covers(spans, 40, 80)
    _cover(spans, 20, 40)  # touching spans merge: the line is whole
    assert spans == [(0, 80)] and _covers(spans, 0, 80)


def test_rows_group_into_runs() -> None:
    assert _merged([(y, y + 1) for y in [0, 1, 2, 5, 7, 8]]) == [(0, 3), (5, 6), (7, 9)]
    assert _merged([]) == []
