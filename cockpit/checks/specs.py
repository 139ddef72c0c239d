"""The check kinds a playbook may use, and each kind's parameters (validated from TOML)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cockpit.duration_field import Duration

Phase = Literal["preflight", "redteam", "gonogo", "blast", "artifacts"]
Severity = Literal["FAIL", "WARN"]


class SpecBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    phase: Phase
    enabled: bool = True
    required: bool = True
    timeout: Duration = 10.0
    # Evidence file name; "{version}" is replaced by the release version.
    evidence: str | None = None
    description: str = ""
    # The runbook a FAIL points to (cockpit/runbooks.py; "" for none); None: the seed's default for this check, if any.
    runbook: str | None = Field(None, pattern=r"^([a-z0-9][a-z0-9_-]*)?$")
    # Whether running this kind writes into the release's evidence folder (so it needs a release version).
    writes_evidence: ClassVar[bool] = True


class Limits(BaseModel):
    """A number checked against bounds: outside max/min is FAIL, outside warn_* is WARN."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max: float | None = None
    min: float | None = None
    warn_max: float | None = None
    warn_min: float | None = None


class IdentitySpec(SpecBase):
    kind: Literal["identity"]
    operator: str | None = None  # defaults to the login name
    commit: str | None = None  # defaults to `git rev-parse HEAD` of the working directory


class ClockDriftSpec(SpecBase):
    kind: Literal["clock_drift"]
    ntp_server: str | None = None  # host or host:port; None = compare with the database only
    use_database: bool = True
    max_drift: Duration = 0.5
    warn_drift: Duration = 0.1


class SqlSpec(SpecBase, Limits):
    """One query; its first row's `column` (or the row count) is checked against limits."""

    kind: Literal["sql"]
    target: Literal["postgres", "pgbouncer"] = "postgres"
    query: str
    column: str | None = None  # None: the first column of the first row
    measure: Literal["value", "row_count"] = "value"
    severity: Severity = "FAIL"
    # column -> message: a non-zero value there means the query could not see
    # everything it judges (e.g. sequences the role may not read): UNKNOWN, not PASS.
    unknown_if: dict[str, str] = {}
    # Extra queries whose rows are written as evidence files: {file name: query}
    evidence_queries: dict[str, str] = {}
    unit: str = ""


class PgBouncerPoolsSpec(SpecBase):
    kind: Literal["pgbouncer_pools"]
    max_waiting_clients: int = 0
    max_pool_utilisation: float = 0.8  # active server connections / pool size
    warn_pool_utilisation: float = 0.7


class PgBouncerLeaksSpec(SpecBase):
    kind: Literal["pgbouncer_leaks"]
    max_idle_in_transaction: Duration = 60.0  # pg_stat_activity, via [postgres]
    max_server_connection_age: Duration = 3600.0  # SHOW SERVERS connect_time, active ones
    max_client_wait: Duration = 5.0  # SHOW CLIENTS wait


class HttpHeadersSpec(SpecBase):
    kind: Literal["http_headers"]
    url: str = "canary"  # "canary", "stable", a path on the canary, or a full URL
    method: Literal["GET", "HEAD"] = "GET"
    # header -> regular expression its value must match ("" = present, any value)
    required: dict[str, str] = {}
    forbidden: list[str] = []
    # header -> regular expression its value must NOT match (e.g. HSTS "preload")
    forbidden_values: dict[str, str] = {}
    severity: Severity = "FAIL"


class SubresourcesSpec(SpecBase):
    """COEP/COOP compatibility: a page with COEP require-corp breaks cross-origin sub-resources without CORP."""

    kind: Literal["coep_subresources"]
    url: str = "canary"
    max_resources: int = 50


class HttpBurstSpec(SpecBase):
    """N identical requests; checks the status mix and (optionally) that only one effect happened."""

    kind: Literal["http_burst"]
    url: str = "canary"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    requests: int = Field(20, ge=1, le=10_000)
    concurrency: int = Field(10, ge=1, le=200)
    headers: dict[str, str] = {}
    body: str | None = None
    idempotency_header: str | None = None  # set: every request carries one fresh shared key
    allowed_statuses: list[int] = []  # empty: any status below 500
    # status -> minimum count (e.g. {"429" = 1} for a rate-limited report endpoint)
    min_status_counts: dict[str, int] = {}
    # SQL whose single value is the number of effects; "{key}" is the idempotency key
    effect_query: str | None = None
    expect_effects: int | None = None
    max_distinct_bodies: int | None = None


BlastPart = Literal["api", "ws", "prom"]


class BlastRadiusSpec(SpecBase):
    """The seed's micro blast radius: an open-loop API load, a WebSocket round trip, the canary's PromQL view."""

    kind: Literal["blast_radius"]
    url: str = "canary"
    # API part: paths on `url` (or full URLs) requested in turn on one schedule; empty: `url` itself
    endpoints: list[str] = []
    duration: Duration = 30.0
    rate: float = Field(20.0, gt=0, le=2000)  # requests per second, scheduled at t0 + i/rate (open loop)
    # At most this many in flight: a request waiting for a slot is late, and its latency counts from its schedule.
    concurrency: int = Field(50, ge=1, le=1000)
    max_requests: int = Field(10_000, ge=1, le=100_000)
    max_p95: Duration = 0.2
    max_error_rate: float = 0.01
    min_requests: int = 10
    parts: list[BlastPart] = ["api", "ws", "prom"]
    ws_message: str = "ping"
    max_ws_latency: Duration = 1.0  # connect plus one message round trip
    # Golden signals read from Prometheus over the test window ({window} = the test's length), judged on their max
    prom_signals: list[str] = ["p95_latency", "error_rate"]


class PromqlSpec(SpecBase, Limits):
    kind: Literal["promql"]
    query: str
    unit: str = ""
    severity: Severity = "FAIL"


class PromTargetsSpec(SpecBase):
    kind: Literal["prom_targets"]
    jobs: list[str] = []  # empty: every active target
    min_up: int = 1


class BaselineSpec(SpecBase):
    """Snapshot of every golden signal now: the reference for relative limits."""

    kind: Literal["baseline"]
    min_signals: int = 1


class SignalsProbeSpec(SpecBase):
    """Every armed signal evaluated once and every trigger's metrics asked for: can they be judged at all?"""

    kind: Literal["signals_probe"]
    strict: bool = False  # triggers whose metrics do not exist FAIL (not WARN)
    # Judge relative limits against the version's baseline; in preflight the baseline is being taken alongside.
    judge_baseline: bool = False


class FeatureFlagsSpec(SpecBase):
    """Flags read from a JSON file or URL, compared with `expect` and with the previous release's flags."""

    kind: Literal["feature_flags"]
    source: str  # a path or an http(s) URL returning a JSON object of flags
    expect: dict[str, bool | int | float | str] = {}
    # The release to compare with (its feature_flags evidence); None: the highest earlier one found.
    previous: str | None = None


class FilesSpec(SpecBase):
    """Required files (paths or globs) exist and are not empty."""

    kind: Literal["files"]
    base_dir: str = "."
    paths: list[str] = []
    manifest: str | None = None  # a text file listing one required path per line


class SbomSpec(SpecBase):
    kind: Literal["sbom"]
    path: str
    previous: str | None = None  # previous release's SBOM, for licence drift
    restrictive_licenses: list[str] = [
        "GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0", "GPL-3.0-only",
        "GPL-3.0-or-later", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later",
        "SSPL-1.0", "LGPL-3.0", "LGPL-3.0-only", "LGPL-3.0-or-later",
    ]
    mode: Literal["presence", "licenses", "drift"] = "presence"


class AlertmanagerSilencesSpec(SpecBase):
    """Active silences that would mask the cockpit's triggers or SLO alerts."""

    kind: Literal["alertmanager_silences"]
    # label matchers a silence must not cover, e.g. {"severity" = "critical"}
    protected_labels: dict[str, str] = {"severity": "critical"}
    protect_trigger_names: bool = True


class ManualSpec(SpecBase):
    kind: Literal["manual"]
    prompt: str = ""
    writes_evidence: ClassVar[bool] = False  # reads the ticks; a human's tick writes them


class ComputedSpec(SpecBase):
    """A GO/NO-GO item that restates an automated result: computed from the evidence, never ticked."""

    kind: Literal["computed"]
    source: Literal["preflight", "redteam", "blast", "rollback"]
    prompt: str = ""
    writes_evidence: ClassVar[bool] = False  # reads the recorded results; writes nothing


CheckSpec = Annotated[
    IdentitySpec
    | ClockDriftSpec
    | SqlSpec
    | PgBouncerPoolsSpec
    | PgBouncerLeaksSpec
    | HttpHeadersSpec
    | SubresourcesSpec
    | HttpBurstSpec
    | BlastRadiusSpec
    | PromqlSpec
    | PromTargetsSpec
    | BaselineSpec
    | SignalsProbeSpec
    | FeatureFlagsSpec
    | FilesSpec
    | SbomSpec
    | AlertmanagerSilencesSpec
    | ManualSpec
    | ComputedSpec,
    Field(discriminator="kind"),
]


def _kind_names() -> frozenset[str]:
    from typing import get_args

    union = get_args(CheckSpec)[0]
    return frozenset(get_args(cls.model_fields["kind"].annotation)[0] for cls in get_args(union))


CHECK_KINDS = _kind_names()
