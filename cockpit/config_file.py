"""Where cockpit.toml is, and the one-line error every configuration problem becomes.

Apart from cockpit.config (pydantic, ~0.25 s to import and build) so the CLI
and the screens can find the file and report on it before validating it.
"""

from __future__ import annotations

from pathlib import Path

from cockpit.errors import CockpitError

DEFAULT_CONFIG_NAME = "cockpit.toml"


class ConfigError(CockpitError):
    """A configuration problem, already phrased as one line: file, key, what is wrong."""


def find_config(explicit: str | None) -> Path | None:
    """The --config file, else ./cockpit.toml if present."""
    if explicit:
        return Path(explicit)
    candidate = Path.cwd() / DEFAULT_CONFIG_NAME
    return candidate if candidate.exists() else None
