"""The release as a CI pipeline: GitHub Actions and GitLab CI files that run the cockpit's phases on their exit codes.

The order is the seed's run-of-show: preflight → red team → blast radius → GO →
the canary, headless. Each phase is one `cockpit` command and its exit code decides:
0 goes on; 1 (a FAIL, NO-GO, a rollback) and 2 (bad input) stop the pipeline; 3 (no
FAIL but an UNKNOWN) goes on to `cockpit go`, which holds until a person accepted it
(`cockpit accept`) and names what is missing. The evidence folder is verified and kept
as the pipeline's artifact whatever happened. Values reach the scripts through
environment variables, never spliced into the shell text (a version or URL typed into
the run form cannot inject a command). The people's part of GO (ticks, sign-offs, the
green-button seal) is in the evidence folder: the pipeline must run where that folder
is ([evidence] dir on a runner that keeps it, or --evidence-dir).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.config import CockpitConfig
from cockpit.records.exports import to_yaml

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
GITHUB_HOSTED_LIMIT_MIN = 360  # a GitHub-hosted job's longest run
DEFAULT_INSTALL = "release-cockpit"
# `cmd || test $? -eq 3`: exit 3 (UNKNOWN, nothing FAILed) goes on to the GO gate, which decides.
_UNKNOWN_GOES_ON = " || test $? -eq 3"


@dataclass(frozen=True)
class PipelineSettings:
    """What the pipeline needs from the config and the command line."""

    config_path: str  # cockpit.toml, relative to the repository root (where the pipeline runs)
    evidence_dir: str  # the evidence root the commands use
    canary_url: str  # the blast radius' target (a default for the run form)
    blast_seconds: int
    secrets: tuple[str, ...]  # the "${NAME}" placeholders of cockpit.toml: CI secrets of the same name
    timeout_minutes: int
    install: str = DEFAULT_INSTALL


def _config_strings(text: str) -> list[str]:
    import tomllib

    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(tomllib.loads(text))
    return found


def config_secrets(text: str) -> tuple[str, ...]:
    """The environment variables a cockpit.toml's values name (`dsn = "…${PGPASSWORD}…"`), in order, once each.

    Only values count: a comment that shows the syntax names no secret.
    """
    return tuple(dict.fromkeys(name for value in _config_strings(text) for name in _PLACEHOLDER.findall(value)))


def stand_ins(text: str) -> dict[str, str]:
    """A harmless value for each secret the config names, so it loads where the secrets are not set.

    Writing a pipeline needs the secrets' names, not their values (the pipeline sets them). A value
    that is the variable alone (`url = "${SLACK_WEBHOOK}"`) gets a URL that resolves nowhere (.invalid),
    one inside a text (a DSN's password) a plain word.
    """
    whole = {m.group(1) for value in _config_strings(text) if (m := re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value))}
    return {name: "https://set-in-ci.invalid/" if name in whole else "setinci" for name in config_secrets(text)}


def canary_minutes(config: CockpitConfig) -> int:
    """How long the canary may take: every stage's hold, every hold it may extend by, the recovery watch, margin."""
    canary = config.canary
    seconds = sum(float(stage.hold) for stage in canary.stages)
    seconds += canary.max_holds * float(canary.hold_extension) * len(canary.stages)
    seconds += float(canary.recovery_window) + 30 * 60  # preflight, red team, blast radius, installing
    return int(math.ceil(seconds / 60))


def settings_for(config: CockpitConfig, config_path: Path | None, config_text: str, *, install: str = DEFAULT_INSTALL,
                 cwd: Path | None = None) -> PipelineSettings:
    """The pipeline's settings from a loaded config (paths relative to `cwd`, the repository root)."""
    here = (cwd or Path.cwd()).resolve()

    def relative(path: Path) -> str:
        """As the pipeline (at the repository root) names it: relative when inside, else as it is."""
        full = path.resolve()
        return os.path.relpath(full, here) if full.is_relative_to(here) else str(path)

    evidence = Path(config.evidence.dir)
    if not evidence.is_absolute():
        evidence = (config_path.parent if config_path is not None else here) / evidence
    blast = next((c for c in config.enabled_checks("blast") if c.kind == "blast_radius"), None)
    seconds = int(math.ceil(float(getattr(blast, "duration", 30.0))))
    url = config.service.canary_url if config.service is not None else ""
    return PipelineSettings(
        config_path=relative(config_path) if config_path is not None else "cockpit.toml",
        evidence_dir=relative(evidence),
        canary_url=url,
        blast_seconds=seconds,
        secrets=config_secrets(config_text),
        timeout_minutes=canary_minutes(config),
        install=install,
    )


def _steps() -> list[tuple[str, str]]:
    """(name, shell) of each phase, in the run-of-show's order; $VERSION etc. come from the environment."""
    common = '--evidence-dir "$EVIDENCE_DIR"'
    return [
        ("Preflight", f'cockpit preflight "$VERSION" {common}{_UNKNOWN_GOES_ON}'),
        ("Red team", f'cockpit redteam "$VERSION" {common}{_UNKNOWN_GOES_ON}'),
        ("Blast radius", f'cockpit blast-radius "$CANARY_URL" "$VERSION" "$BLAST_SECONDS" {common}{_UNKNOWN_GOES_ON}'),
        ("GO / NO-GO", f'cockpit go "$VERSION" {common}'),
        ("Canary", f'cockpit canary "$VERSION" --headless {common}'),
    ]


_VERIFY = 'cockpit evidence verify "$VERSION" --evidence-dir "$EVIDENCE_DIR"'
_HEADER = [
    "Generated by `cockpit export ci`: the release's run-of-show as a pipeline.",
    "preflight -> red team -> blast radius -> GO -> canary (headless), each on its exit code:",
    "0 goes on; 1 (FAIL, NO-GO, rolled back) and 2 (bad input) stop; 3 (UNKNOWN, no FAIL) goes on to",
    "`cockpit go`, which holds until a person accepted it. GO also needs the people's part (ticks,",
    "sign-offs, the green-button seal) in the same evidence folder: run where that folder is kept.",
    "The evidence folder is verified and kept as an artifact whatever happened.",
]


def _comments(lines: list[str]) -> str:
    return "".join(f"# {line}\n" for line in lines)


def github_workflow(settings: PipelineSettings) -> str:
    """A GitHub Actions workflow (workflow_dispatch: the version and the canary's URL on the run form)."""
    env: dict[str, Any] = {
        "VERSION": "${{ inputs.version }}",
        "CANARY_URL": "${{ inputs.canary_url }}",
        "BLAST_SECONDS": str(settings.blast_seconds),
        "COCKPIT_CONFIG": settings.config_path,
        "EVIDENCE_DIR": settings.evidence_dir,
        "COCKPIT_INSTALL": settings.install,
    }
    env.update({name: f"${{{{ secrets.{name} }}}}" for name in settings.secrets})
    steps: list[dict[str, Any]] = [
        {"name": "Check out", "uses": "actions/checkout@v5"},
        {"name": "Python", "uses": "actions/setup-python@v6", "with": {"python-version": "3.11"}},
        {"name": "Install the cockpit", "run": 'python -m pip install "$COCKPIT_INSTALL"'},
    ]
    steps += [{"name": name, "run": script} for name, script in _steps()]
    steps += [
        {"name": "Verify the evidence", "if": "always()", "run": _VERIFY},
        {"name": "Keep the evidence", "if": "always()", "uses": "actions/upload-artifact@v6",
         "with": {"name": "evidence-${{ inputs.version }}", "path": "${{ env.EVIDENCE_DIR }}/${{ inputs.version }}/",
                  "if-no-files-found": "warn", "retention-days": 90}},
    ]
    workflow = {
        "name": "Canary release",
        "on": {"workflow_dispatch": {"inputs": {
            "version": {"description": "the release, e.g. v1.4.0", "required": True, "type": "string"},
            "canary_url": {"description": "the canary's URL for the blast radius", "required": True, "type": "string",
                           **({"default": settings.canary_url} if settings.canary_url else {})},
        }}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "canary-release", "cancel-in-progress": False},  # one release at a time, never cut short
        "jobs": {"release": {
            "runs-on": "ubuntu-latest",
            "timeout-minutes": min(settings.timeout_minutes, GITHUB_HOSTED_LIMIT_MIN),
            "env": env,
            "steps": steps,
        }},
    }
    notes = list(_HEADER)
    if settings.secrets:
        notes.append(f"Secrets the config names (set them in the repository): {', '.join(settings.secrets)}.")
    if settings.timeout_minutes > GITHUB_HOSTED_LIMIT_MIN:
        notes.append(f"The canary may take {settings.timeout_minutes} min: more than a GitHub-hosted job's "
                     f"{GITHUB_HOSTED_LIMIT_MIN}; use a self-hosted runner and raise timeout-minutes.")
    return _comments(notes) + to_yaml(workflow)


def gitlab_pipeline(settings: PipelineSettings) -> str:
    """A GitLab CI pipeline (run from the web form or the API with VERSION set)."""
    variables: dict[str, Any] = {
        "VERSION": {"value": "", "description": "the release, e.g. v1.4.0"},
        "CANARY_URL": {"value": settings.canary_url, "description": "the canary's URL for the blast radius"},
        "BLAST_SECONDS": str(settings.blast_seconds),
        "COCKPIT_CONFIG": settings.config_path,
        "EVIDENCE_DIR": settings.evidence_dir,
        "COCKPIT_INSTALL": settings.install,
    }
    script = [command for _, command in _steps()]  # GitLab's log shows each line as it runs it
    pipeline = {
        "workflow": {"rules": [{"if": '$CI_PIPELINE_SOURCE == "web" || $CI_PIPELINE_SOURCE == "api"'}]},
        "variables": variables,
        "stages": ["release"],
        "release": {
            "stage": "release",
            "image": "python:3.11-slim",
            "resource_group": "canary-release",  # one release at a time
            "interruptible": False,
            "timeout": f"{settings.timeout_minutes}m",
            "before_script": ['test -n "$VERSION" || { echo "set VERSION (e.g. v1.4.0) to run the release"; exit 2; }',
                              'python -m pip install "$COCKPIT_INSTALL"'],
            "script": script,
            "after_script": [_VERIFY],
            "artifacts": {"name": "evidence-$VERSION", "when": "always", "expire_in": "never",
                          "paths": ["$EVIDENCE_DIR/$VERSION/"]},
        },
    }
    notes = list(_HEADER)
    if settings.secrets:
        notes.append(f"CI/CD variables the config names (set them masked): {', '.join(settings.secrets)}.")
    return _comments(notes) + to_yaml(pipeline)
