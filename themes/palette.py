"""The cockpit's themes: a dark war-room one, a light one, a high-contrast one and a 16-colour one.

Widgets style themselves with the standard theme variables only ($text-success,
$text-error, …), so every theme here — and any theme a user picks from the
command palette — colours them; a status also reads without colour.
"""

from __future__ import annotations

from textual.app import App
from textual.theme import Theme

WARROOM_DARK = Theme(
    name="cockpit-dark",
    primary="#5fafff",
    secondary="#87afd7",
    accent="#d787ff",
    success="#5fd75f",
    warning="#ffaf00",
    error="#ff5f5f",
    foreground="#d0d0d0",
    background="#080808",
    surface="#121212",
    panel="#1c1c1c",
    dark=True,
)

LIGHT = Theme(
    name="cockpit-light",
    primary="#005fd7",
    secondary="#5f5f87",
    accent="#870087",
    success="#007f00",
    warning="#af5f00",
    error="#d70000",
    foreground="#1c1c1c",
    background="#f5f5f5",
    surface="#ffffff",
    panel="#e4e4e4",
    dark=False,
)

HIGH_CONTRAST = Theme(
    name="cockpit-contrast",
    primary="#00ffff",
    secondary="#ffffff",
    accent="#ff00ff",
    success="#00ff00",
    warning="#ffff00",
    error="#ff0000",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#000000",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
)

# The terminal's own 16 colours (ANSI): legible on a basic xterm or a 16-colour SSH session.
SIXTEEN = Theme(
    name="cockpit-16",
    ansi=True,
    primary="ansi_blue",
    secondary="ansi_cyan",
    accent="ansi_magenta",
    success="ansi_green",
    warning="ansi_yellow",
    error="ansi_red",
    foreground="ansi_default",
    background="ansi_default",
    surface="ansi_default",
    panel="ansi_default",
    boost="ansi_default",
    dark=True,
    variables={
        "ansi-background": "ansi_black",
        "block-cursor-background": "ansi_blue",
        "block-cursor-foreground": "ansi_bright_white",
        "footer-background": "ansi_default",
        "footer-key-foreground": "ansi_bright_yellow",
        "footer-description-foreground": "ansi_default",
        "input-selection-background": "ansi_blue",
        "border": "ansi_blue",
        "border-blurred": "ansi_bright_black",
    },
)

THEMES = {theme.name: theme for theme in (WARROOM_DARK, LIGHT, HIGH_CONTRAST, SIXTEEN)}
# What --theme accepts: the short names people type.
THEME_NAMES = {"dark": WARROOM_DARK.name, "light": LIGHT.name, "contrast": HIGH_CONTRAST.name, "16": SIXTEEN.name}
LOW_COLOR = SIXTEEN.name
DEFAULT = WARROOM_DARK.name


def register_themes(app: App) -> None:
    for theme in THEMES.values():
        app.register_theme(theme)
