"""A compositor that repaints only the widgets under the changed regions, not every widget between them.

Textual's partial update asks every visible widget inside the rectangle around
all the changed regions for its lines. A tick changes the big clock at the top
and the status bar's clock at the bottom, so that rectangle is the whole
screen: some twenty widgets were asked for their lines every second, and that
was most of an idle second's CPU. Only widgets that overlap a changed region
can show in the update's spans; the others are left out, in the same order,
and a widget that is asked renders only its rows under a change that the
widgets in front of it do not already cover (the screen and the containers
behind them were 5 of the 9 widgets asked in an idle frame).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip


class PartialCompositor(Compositor):
    def __init__(self) -> None:
        super().__init__()
        self._changed: list[Region] | None = None

    def render_partial_update(self) -> ChopsUpdate | None:
        self._changed = list(self._dirty_regions)
        try:
            return super().render_partial_update()
        finally:
            self._changed = None

    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        changed = self._changed
        if changed is None:
            yield from super()._get_renders(crop)
            return
        # Widgets come front to back and on each line the front-most strip wins: a row of a widget that the
        # widgets in front already cover shows nothing of it (the screen and the containers behind theirs).
        covered: dict[int, list[tuple[int, int]]] = {}
        for widget, (region, clip) in self.visible_widgets.items():
            visible = region.intersection(clip)
            if not visible:
                continue
            left, right = visible.x, visible.right
            # Only the widget's rows under a change, and of those only the ones nothing in front covers.
            shown = []
            for top, bottom in _bands(visible, changed):
                for y in range(top, bottom):
                    spans = covered.setdefault(y, [])
                    if not _covers(spans, left, right):
                        shown.append(y)
                        _cover(spans, left, right)
            for top, bottom in _merged([(y, y + 1) for y in shown]):
                rows = Region(left, top, visible.width, bottom - top)
                yield rows, rows, widget.render_lines(Region(left - region.x, top - region.y, rows.width, rows.height))


def _bands(visible: Region, changed: list[Region]) -> list[tuple[int, int]]:
    """The rows [top, bottom) of `visible` that some changed region overlaps, as disjoint bands."""
    return _merged([(overlap.y, overlap.bottom) for dirty in changed if (overlap := dirty.intersection(visible))])


def _covers(spans: list[tuple[int, int]], left: int, right: int) -> bool:
    """Whether the merged spans cover the columns [left, right)."""
    return any(start <= left and right <= end for start, end in spans)


def _cover(spans: list[tuple[int, int]], left: int, right: int) -> None:
    """Add the columns [left, right) to the merged spans (in place)."""
    spans[:] = _merged([*spans, (left, right)])


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Intervals [start, end) sorted, with the ones that overlap or touch joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
