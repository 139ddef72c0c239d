"""What the cockpit's first screen needs of the validated configuration, as plain data.

Validating cockpit.toml costs a quarter of a second (pydantic and the config
models), Textual's import as much again. A screen command validates the
config in a forked child on the other core while it imports Textual
(cockpit.app.config_aside); the child hands back this face of the *validated*
config (never the raw file), and the full config is loaded once the first
screen is drawn. No secrets: signals, the stage plan, the milestones, the
screen's defaults and the evidence folder.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cockpit.config import CockpitConfig


@dataclass(frozen=True)
class SignalFace:
    """A golden signal's row on the screen: its label, unit and configured limits."""

    name: str
    short: str = ""
    unit: str = ""
    max: float | None = None
    min: float | None = None
    max_vs_baseline: float | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class ScreenFace:
    """The configuration as the first screen reads it."""

    signals: tuple[SignalFace, ...]  # the enabled signals, in the config's order
    stages: tuple[tuple[float, float], ...]  # (weight %, hold seconds) per stage
    max_holds: int
    evaluate_every: float
    milestones: tuple[tuple[str, float, str], ...]  # (name, offset from T-0 in seconds, short label)
    custom_milestones: bool  # [run_of_show] milestones written by the team (else the defaults for the plan)
    evidence_dir: str
    theme: str = "dark"
    low_color: bool = False
    mouse: bool = True

    def signal_map(self) -> dict[str, SignalFace]:
        return {s.name: s for s in self.signals}

    def stage_weights(self) -> list[float]:
        return [weight for weight, _ in self.stages]

    def to_data(self) -> dict[str, Any]:
        """JSON-ready (what the validating child sends back)."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ScreenFace:
        """The inverse of to_data."""
        return cls(
            signals=tuple(SignalFace(**s) for s in data["signals"]),
            stages=tuple((float(w), float(h)) for w, h in data["stages"]),
            max_holds=int(data["max_holds"]),
            evaluate_every=float(data["evaluate_every"]),
            milestones=tuple((str(n), float(o), str(s)) for n, o, s in data["milestones"]),
            custom_milestones=bool(data["custom_milestones"]),
            evidence_dir=str(data["evidence_dir"]),
            theme=str(data["theme"]),
            low_color=bool(data["low_color"]),
            mouse=bool(data["mouse"]),
        )


def face_of(config: CockpitConfig) -> ScreenFace:
    """The screen's face of a validated config."""
    from cockpit.engine.run_of_show import milestones_for

    return ScreenFace(
        signals=tuple(
            SignalFace(name, s.short, s.unit, s.max, s.min, s.max_vs_baseline, s.dry_run)
            for name, s in config.enabled_signals().items()
        ),
        stages=tuple((float(s.weight), float(s.hold)) for s in config.canary.stages),
        max_holds=config.canary.max_holds,
        evaluate_every=float(config.canary.evaluate_every),
        milestones=tuple((m.name, m.offset, m.short) for m in milestones_for(config)),
        custom_milestones=bool(config.run_of_show.milestones),
        evidence_dir=config.evidence.dir,
        theme=config.tui.theme,
        low_color=config.tui.low_color,
        mouse=config.tui.mouse,
    )
