"""A compositor that repaints only the widgets under the changed regions, not every widget between them.

Textual's partial update asks every visible widget inside the rectangle around
all the changed regions for its lines. A tick changes the big clock at the top
and the status bar's clock at the bottom, so that rectangle is the whole
screen: some twenty widgets were asked for their lines every second, and that
was most of an idle second's CPU. Only widgets that overlap a changed region
can show in the update's spans; the others are left out, in the same order.
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
        for widget, (region, clip) in self.visible_widgets.items():
            if not any(dirty.overlaps(clip) for dirty in changed):
                continue
            x, y, width, height = region.intersection(clip)
            if width and height:
                yield region, clip, widget.render_lines(Region(x - region.x, y - region.y, width, height))
