"""Drill scenarios: small TOML files naming the faults to inject and when.

    description = "p95 jumps by 300 ms when the canary reaches 25 %"
    seed = 7            # the simulator's random seed (runs are reproducible)
    rps = 200           # total requests per second, split by the canary's weight

    [[faults]]
    kind = "latency_spike"
    at_weight = 25      # starts when the canary reaches 25 % (or: after = "10s" of canary traffic)
    duration = "20s"    # optional: ends by itself after this long
    latency_ms = 300    # the kind's own magnitude

Faults before T-0, for the preflight and red team to find (a drill that
rehearses a NO-GO):

    [before_t0]
    missing_headers = ["Strict-Transport-Security"]  # the canary's page leaves these security headers out
    failed_migration = true     # an unfinished migration in _prisma_migrations
    sequence_near_end = true    # outbox_id_seq at 93 % of its range

The built-in scenarios live in cockpit/drill/scenarios/; `cockpit drill --list`
shows them. A bad file is one line (file, key, what is wrong) and exit 2.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cockpit.config import ConfigError, read_toml, validation_message
from cockpit.drill.faults import FAULT_KINDS
from cockpit.duration_field import Duration
from cockpit.format import format_weight

SCENARIO_PACKAGE = "cockpit.drill.scenarios"
DEFAULT_SCENARIO = "healthy"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _FaultBase(_Strict):
    """When a fault starts and how long it lasts; each kind adds its magnitude fields."""

    at_weight: float | None = Field(None, gt=0, le=100)  # starts when the canary's weight reaches this
    after: Duration | None = None  # or: seconds after the canary first takes traffic
    duration: Duration | None = Field(None, gt=0)  # None: until the rollback

    @model_validator(mode="after")
    def _one_start(self) -> _FaultBase:
        if (self.at_weight is None) == (self.after is None):
            raise ValueError("give exactly one of at_weight (a canary weight, %) or after (a duration)")
        return self

    def magnitude(self) -> dict[str, float]:
        """The kind's own fields, for faults.fault_effects."""
        timing = {"kind", "at_weight", "after", "duration"}
        return {k: float(v) for k, v in self.model_dump().items() if k not in timing and v is not None}

    def starts(self) -> str:
        if self.at_weight is not None:
            return f"at {format_weight(self.at_weight)}"
        return f"after {self.after:g}s of canary traffic"


class LatencySpike(_FaultBase):
    kind: Literal["latency_spike"]
    latency_ms: float = Field(300.0, gt=0)


class ErrorBurst(_FaultBase):
    kind: Literal["error_burst"]
    error_ratio: float = Field(0.2, gt=0, le=1)
    risk_blocks_per_min: float = Field(0.0, ge=0)


class SlowCreep(_FaultBase):
    kind: Literal["slow_creep"]
    ms_per_s: float = Field(20.0, gt=0)
    max_ms: float = Field(2000.0, gt=0)


class EventLoopStall(_FaultBase):
    kind: Literal["eventloop_stall"]
    lag_ms: float = Field(150.0, gt=0)
    latency_ms: float = Field(250.0, ge=0)


class GcPauses(_FaultBase):
    kind: Literal["gc_pauses"]
    pause_ms: float = Field(60.0, gt=0)


class ConnectionCreep(_FaultBase):
    kind: Literal["connection_creep"]
    per_s: float = Field(10.0, gt=0)


class NoData(_FaultBase):
    kind: Literal["no_data"]


SecurityHeader = Literal[
    "Content-Security-Policy", "Cross-Origin-Embedder-Policy", "Cross-Origin-Opener-Policy", "Strict-Transport-Security",
]


class BeforeT0(_Strict):
    """Faults present before T-0: what the preflight and red-team checks find in the drill's service and database."""

    missing_headers: list[SecurityHeader] = []  # left out of the canary's page
    failed_migration: bool = False  # _prisma_migrations holds an unfinished, not rolled back migration
    sequence_near_end: bool = False  # outbox_id_seq is 93 % used

    def summary(self) -> str:
        """The faults in a few words ("" when none)."""
        parts = [f"no {h}" for h in self.missing_headers]
        parts += ["a failed migration"] * self.failed_migration + ["a sequence near its end"] * self.sequence_near_end
        return ", ".join(parts)


Fault = Annotated[
    LatencySpike | ErrorBurst | SlowCreep | EventLoopStall | GcPauses | ConnectionCreep | NoData,
    Field(discriminator="kind"),
]


class Scenario(_Strict):
    name: str = ""
    description: str = ""
    seed: int = 7
    rps: float = Field(200.0, gt=0, le=5000)
    faults: list[Fault] = []
    before_t0: BeforeT0 = BeforeT0()

    def summary(self) -> str:
        before = self.before_t0.summary()
        if not self.faults:
            return f"before T-0: {before}; no canary faults" if before else "no faults"
        parts = []
        for fault in self.faults:
            text = f"{fault.kind} {fault.starts()}"
            if fault.duration is not None:
                text += f" for {fault.duration:g}s"
            parts.append(text)
        return (f"before T-0: {before}; " if before else "") + "; ".join(parts)


# ---------------------------------------------------------------- loading


def parse_scenario(data: dict[str, Any], label: str, name: str = "") -> Scenario:
    """Validate scenario data; a ConfigError names the file and the key."""
    full = {"name": name, **data}
    try:
        return Scenario.model_validate(full)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, full, label, kinds=FAULT_KINDS, noun="fault kind")) from None


def builtin_names() -> list[str]:
    """The scenarios shipped with the cockpit, by name."""
    files = resources.files(SCENARIO_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def load_scenario(name_or_path: str | None) -> Scenario:
    """A built-in scenario by name ("latency_spike") or a TOML file by path; ConfigError (one line) otherwise."""
    target = name_or_path or DEFAULT_SCENARIO
    looks_like_path = target.endswith(".toml") or "/" in target
    if not looks_like_path:
        if target not in builtin_names():
            raise ConfigError(f"no drill scenario {target!r} (built in: {', '.join(builtin_names())}; or give a .toml file)")
        source: Any = resources.files(SCENARIO_PACKAGE).joinpath(f"{target}.toml")
        label, name = f"scenario {target}", target
    else:
        source = Path(target)
        label, name = str(source), source.name.removesuffix(".toml")
    return parse_scenario(read_toml(source, label), label, name)


def list_scenarios() -> list[Scenario]:
    """Every built-in scenario, loaded (a broken built-in file raises ConfigError)."""
    return [load_scenario(name) for name in builtin_names()]
