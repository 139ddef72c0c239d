"""Runbooks: the steps a person follows at 03:00, as Markdown, shipped with the playbook and overridable by name.

The shipped ones live in cockpit/playbooks/runbooks/NAME.md (package data). A
team's own folder (`[runbooks] dir`, relative to the config file) adds runbooks
and overrides shipped ones of the same name. A check names its runbook with
`runbook = "NAME"` in its spec; the seed's checks that have one get it from
CHECK_RUNBOOKS. The screens open them (cockpit.screens.runbook), `cockpit
runbook NAME` prints one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError

ROLLBACK_BY_HAND = "rollback-by-hand"  # what a failed rollback opens
DB_RESTORE = "db-restore"
# The seed's checks whose failure a runbook answers (a spec's own `runbook` wins).
CHECK_RUNBOOKS = {
    "redteam.pitr": DB_RESTORE,
    "gonogo.backup_pitr": DB_RESTORE,
    "gonogo.rollback_ready": ROLLBACK_BY_HAND,
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class UnknownRunbook(CockpitError):
    """No runbook of that name (exit 2): the line lists the names there are."""


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str  # the first "# " heading, else the name
    text: str  # Markdown
    source: str  # "shipped" or the team's file


def _shipped() -> dict[str, Any]:
    folder = resources.files("cockpit.playbooks") / "runbooks"
    return {entry.name[:-3]: entry for entry in folder.iterdir() if entry.name.endswith(".md")}


def _team(folder: Path | None) -> dict[str, Path]:
    if folder is None:
        return {}
    return {path.stem: path for path in sorted(Path(folder).glob("*.md")) if _NAME.match(path.stem)}


def runbook_names(folder: Path | None = None) -> list[str]:
    """Every runbook's name, shipped and the team's, sorted."""
    return sorted(set(_shipped()) | set(_team(folder)))


def load_runbook(name: str, folder: Path | None = None) -> Runbook:
    """The team's NAME.md if it has one, else the shipped one; UnknownRunbook (one line) otherwise."""
    team = _team(folder).get(name)
    if team is not None:
        try:
            text = team.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UnknownRunbook(f"runbook {name}: cannot read {team}: {exc}") from None
        return Runbook(name, _title(text, name), text, str(team))
    shipped = _shipped().get(name)
    if shipped is None:
        raise UnknownRunbook(f"no runbook {name!r}; there are: {', '.join(runbook_names(folder))}")
    text = shipped.read_text(encoding="utf-8")
    return Runbook(name, _title(text, name), text, "shipped")


def _title(text: str, name: str) -> str:
    return next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), name)


def runbooks_folder(config: Any, config_path: Path | None) -> Path | None:
    """`[runbooks] dir` as a path (relative to the config file's folder); CockpitError if it is not a folder."""
    configured = getattr(getattr(config, "runbooks", None), "dir", None)
    if not configured:
        return None
    folder = Path(configured).expanduser()
    if not folder.is_absolute() and config_path is not None:
        folder = Path(config_path).resolve().parent / folder
    if not folder.is_dir():
        where = f"{config_path}: " if config_path is not None else ""
        raise CockpitError(f"{where}runbooks.dir: {folder} is not a folder")
    return folder


def runbook_for_check(spec: Any) -> str | None:
    """The runbook a check's FAIL points to: its spec's `runbook`, else the seed's mapping, else None."""
    named = getattr(spec, "runbook", None)
    if named is not None:
        return named or None  # runbook = "" turns the default off
    return CHECK_RUNBOOKS.get(str(getattr(spec, "id", "")))
