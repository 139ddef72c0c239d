"""Swapping a widget's state classes (-pass / -warn / -alert …) in one restyle instead of one per class."""

from __future__ import annotations

from collections.abc import Iterable

from textual.dom import DOMNode


def set_state_classes(widget: DOMNode, group: Iterable[str], on: Iterable[str]) -> None:
    """Among `group`, exactly the classes in `on` are set: the widget (and its children) restyle once, if at all."""
    group, on = frozenset(group), frozenset(on)
    if widget.classes & group != on:
        widget.set_classes((widget.classes - group) | on)
