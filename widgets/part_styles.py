"""A Line-API widget's component styles, each on the widget's base style, looked up again only after a restyle.

Textual drops its own cache of component styles on every refresh, and a lookup walks the CSS of the widget
and its ancestors: for a widget repainted every second, that walk was most of a repaint. The key is the
base style (the ancestors' backgrounds) and the style objects Textual holds for the components, which it
replaces on every restyle (a class, a theme, focus), so nothing stale is ever drawn.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from textual.widget import Widget


class PartStyles:
    def __init__(self, widget: Widget) -> None:
        self._widget = widget
        self._key: tuple[Any, ...] = ()
        self._styles: dict[str, Style] = {}

    def now(self) -> dict[str, Style]:
        """Component name (without the widget's `name--` prefix) → style; "" is the base style."""
        widget = self._widget
        base = widget.rich_style
        components = widget._component_styles
        key = (base, *components.values())
        old = self._key
        if len(key) != len(old) or key[0] != old[0] or any(new is not was for new, was in zip(key[1:], old[1:])):
            self._key = key
            self._styles = {"": base}
            for name in components:
                self._styles[name.partition("--")[2] or name] = base + widget.get_component_rich_style(name)
        return self._styles
