"""Where cockpit.toml is, and the one-line error every configuration problem becomes.

Apart from cockpit.config (pydantic, ~0.25 s to import and build) so the CLI
and the screens can find the file and report on it before validating it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cockpit.errors import CockpitError

DEFAULT_CONFIG_NAME = "cockpit.toml"
CONFIG_ENV = "COCKPIT_CONFIG"
APP_NAME = "cockpit"


class ConfigError(CockpitError):
    """A configuration problem, already phrased as one line: file, key, what is wrong."""


@dataclass(frozen=True)
class ConfigLocation:
    """The config file the cockpit uses and why: which rule of the search order picked it."""

    path: Path
    reason: str


def user_config_file() -> Path:
    """The config in the user's config directory (~/.config/cockpit/cockpit.toml on Linux)."""
    from platformdirs import user_config_dir  # only reached when the first three places are empty

    return Path(user_config_dir(APP_NAME, appauthor=False)) / DEFAULT_CONFIG_NAME


def locate_config(explicit: str | None) -> ConfigLocation | None:
    """The config in search order: --config, $COCKPIT_CONFIG, ./cockpit.toml, the user's config directory."""
    if explicit:
        return ConfigLocation(Path(explicit), "--config")
    from_env = os.environ.get(CONFIG_ENV, "").strip()
    if from_env:
        return ConfigLocation(Path(from_env), f"${CONFIG_ENV}")
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    if local.exists():
        return ConfigLocation(local, f"./{DEFAULT_CONFIG_NAME} in the current folder")
    user = user_config_file()
    if user.exists():
        return ConfigLocation(user, "the user's config directory")
    return None


def find_config(explicit: str | None) -> Path | None:
    """The config's path in search order (see locate_config), None when there is none."""
    location = locate_config(explicit)
    return location.path if location is not None else None


def search_order_text() -> str:
    """The places the cockpit looks for its config, for error messages and `cockpit config path`."""
    return (f"--config FILE, ${CONFIG_ENV}, ./{DEFAULT_CONFIG_NAME}, {user_config_file()}"
            " (write one with `cockpit init`)")
