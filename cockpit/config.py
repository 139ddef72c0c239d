"""cockpit.toml: pydantic models, the default playbook merged underneath, one-line errors.

The user's file is merged over the playbook (the default one shipped in
`cockpit/playbooks/default.toml`, or `[playbook] file`): tables merge key by key,
and arrays of tables merge item by item on their `id` / `name`, so a team
overrides one check's threshold without copying the playbook.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from cockpit.checks.specs import CHECK_KINDS, CheckSpec
from cockpit.config_file import ConfigError, find_config  # noqa: F401 (imported from here by the commands)
from cockpit.duration_field import Duration
from cockpit.engine.run_of_show import parse_offset
from cockpit.events import NOTIFIABLE, Event
from cockpit.redaction import Redactor, dsn_password

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Secrets whose "${NAME}" may stay unset until a command connects with them: `cockpit checks`,
# `config path` or `export rules` on a fresh `cockpit init` need no password.
_LAZY_SECRET_KEY = re.compile(r"^(postgres\.dsn|state\.dsn|pgbouncer\.admin_dsn|prometheus\.(bearer_token|password)"
                              r"|notify\[\d+\]\.bearer_token)$")
_UNSET = "\x00cockpit-unset\x00"  # prefixes the one-line error that stands in for an unset secret
SHIPPED_PLAYBOOKS = ("default", "red")


class UnsetSecret(SecretStr):
    """A secret whose environment variable was not set when the config was read: reading it is the error."""

    def get_secret_value(self) -> str:
        raise ConfigError(super().get_secret_value().removeprefix(_UNSET))


def _lazy_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and value.get_secret_value().startswith(_UNSET):
        return UnsetSecret(value.get_secret_value())
    return value


Secret = Annotated[SecretStr, AfterValidator(_lazy_secret)]


def secret_text(secret: SecretStr | None) -> str | None:
    """The secret's value, None when absent or its variable is unset (nothing to redact, nothing to send)."""
    if secret is None or isinstance(secret, UnsetSecret):
        return None
    return secret.get_secret_value()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PrometheusConfig(Strict):
    """Prometheus or a compatible backend (Thanos, Mimir, Cortex): every query the cockpit makes uses these settings."""

    url: str
    bearer_token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    headers: dict[str, str] = {}  # e.g. X-Scope-OrgID for a Mimir/Cortex/Thanos tenant
    ca_file: str | None = None  # the CA that signed the server's certificate (else the system's)
    cert_file: str | None = None  # a client certificate, for mutual TLS
    key_file: str | None = None
    timeout: Duration = 5.0
    retries: int = Field(1, ge=0, le=5)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _no_auth_header(cls, headers: dict[str, str]) -> dict[str, str]:
        # A secret in plain headers would escape the redactor: credentials have their own keys.
        for name in headers:
            if name.lower() in ("authorization", "proxy-authorization"):
                raise ValueError(f"{name!r}: use bearer_token or username/password, which are kept secret")
        return headers

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isfile(os.path.expanduser(value)):
            raise ValueError(f"{value}: file not found")
        return os.path.expanduser(value) if value is not None else None

    @model_validator(mode="after")
    def _pairs(self) -> PrometheusConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (basic auth)")
        if self.bearer_token is not None and self.username is not None:
            raise ValueError("bearer_token and username/password exclude each other: choose one")
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file (the client certificate)")
        return self


class PostgresConfig(Strict):
    dsn: Secret
    timeout: Duration = 5.0


class StateConfig(Strict):
    """`[state]`: the run's journal, evidence and lease in PostgreSQL, so a standby on another host can take over."""

    dsn: Secret
    service: str = Field("default", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")  # runs are keyed by service + version
    lease_ttl: Duration = Field(15.0, gt=0)
    renew_every: Duration | None = None  # default: lease_ttl / 3
    timeout: Duration = 5.0

    @model_validator(mode="after")
    def _renew_within_ttl(self) -> StateConfig:
        if self.renew_every is not None and not 0 < float(self.renew_every) < float(self.lease_ttl):
            raise ValueError("renew_every must be more than 0 and less than lease_ttl")
        return self

    @property
    def renew_interval(self) -> float:
        return float(self.renew_every) if self.renew_every is not None else float(self.lease_ttl) / 3


class PgBouncerConfig(Strict):
    admin_dsn: Secret  # the admin console: database "pgbouncer"
    timeout: Duration = 5.0


class ServiceConfig(Strict):
    canary_url: str
    stable_url: str | None = None
    # The canary's WebSocket endpoint (ws:// or wss://), for the blast radius' WS part.
    ws_url: str | None = None
    timeout: Duration = 5.0
    verify_tls: bool = True

    @field_validator("ws_url")
    @classmethod
    def _ws(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must be a ws:// or wss:// URL")
        return value


class AlertmanagerConfig(Strict):
    url: str
    timeout: Duration = 5.0


class EvidenceConfig(Strict):
    dir: str = "evidence"
    # Who may sign seals and sign-offs (ssh-keygen's ALLOWED SIGNERS format), relative to cockpit.toml:
    # `cockpit evidence verify` checks every signature in the folder against it.
    allowed_signers: str | None = None


class PlaybookConfig(Strict):
    file: str | None = None  # None: a playbook shipped with the cockpit, named by `name`
    name: str = "default"  # "default" (the seed's release) or "red" (any HTTP service's RED metrics)


class SignalConfig(Strict):
    """A golden signal: a PromQL query and its limit (absolute or relative to the baseline).

    Limits: `max` / `min` are absolute. `max_vs_baseline` is a factor on the value
    the preflight took as the baseline (1.10 = baseline + 10 %); with `max` set as
    well, `max` is a floor: limit = max(max, baseline * factor), so a baseline of
    0 does not make a single event a breach. A relative signal without a baseline
    value cannot be judged and is BLIND. In `query`, `{selector}` (the canary's
    label matchers), `{stable_selector}` and `{window}` (a PromQL duration the
    engine widens on low volume) are filled in before the query runs.
    """

    title: str = ""
    short: str = ""  # label in the war-room line, e.g. "p95"
    query: str
    unit: Literal["s", "ratio", "per_min", "count", ""] = ""
    max: float | None = None
    min: float | None = None
    max_vs_baseline: float | None = None  # e.g. 1.10: at most baseline + 10 %
    for_: Duration = Field(0.0, alias="for")
    # A query for the number of requests in {window}: fewer than the canary's
    # min_requests widen the window, then make the signal INSUFFICIENT.
    volume_query: str | None = None
    # The same signal on the stable track, for a baseline comparison.
    stable_query: str | None = None
    enabled: bool = True
    dry_run: bool = False
    # How the signal is judged. "sequential" (the default when the signal has a count form): from
    # counts over the run's own window, with anytime-valid bounds (cockpit.engine.sequential);
    # "threshold": the value of `query` against the limit, as a point estimate.
    judge: Literal["threshold", "sequential"] | None = None
    # The count form of a rate: bad events and requests, counter increases over {window}.
    events_query: str | None = None
    requests_query: str | None = None
    # The count form of a latency quantile: cumulative histogram buckets by `le` over {window};
    # `max` limits the `quantile` (0.95 for a p95).
    buckets_query: str | None = None
    quantile: float | None = Field(None, gt=0, lt=1)
    # The canary's rate may be at most this many times the stable track's (a count test, per stage).
    max_vs_stable: float | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _has_limit(self) -> SignalConfig:
        if self.max is None and self.min is None and self.max_vs_baseline is None and self.max_vs_stable is None:
            raise ValueError("a signal needs a limit: max, min, max_vs_baseline or max_vs_stable")
        return self

    @model_validator(mode="after")
    def _count_form(self) -> SignalConfig:
        rate = self.events_query is not None or self.requests_query is not None
        if rate and (self.events_query is None or self.requests_query is None):
            raise ValueError("events_query and requests_query go together (the count form of a rate)")
        if (self.buckets_query is None) != (self.quantile is None):
            raise ValueError("buckets_query and quantile go together (the count form of a latency quantile)")
        if rate and self.buckets_query is not None:
            raise ValueError("a signal has one count form: events_query/requests_query or buckets_query")
        if self.judge == "sequential" and not self.counted:
            raise ValueError('judge = "sequential" needs a count form: events_query and requests_query, '
                             'or buckets_query and quantile')
        if self.judge == "sequential" and self.min is not None:
            raise ValueError('judge = "sequential" judges upper limits (max, max_vs_baseline, max_vs_stable); '
                             'a `min` needs judge = "threshold"')
        if self.max_vs_stable is not None and not self.counted:
            raise ValueError("max_vs_stable is judged from counts: add events_query and requests_query "
                             "(or buckets_query and quantile)")
        return self

    @property
    def counted(self) -> bool:
        """Whether the signal has a count form (a rate's events and requests, or a histogram's buckets)."""
        return self.events_query is not None or self.buckets_query is not None

    @property
    def judge_rule(self) -> Literal["threshold", "sequential"]:
        """The rule that judges it: the one named, else sequential when it has a count form (and no `min`)."""
        if self.judge is not None:
            return self.judge
        return "sequential" if self.counted and self.min is None else "threshold"


class TriggerConfig(Strict):
    """A rollback trigger: fires while its PromQL returns a sample, for its `for` duration."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    expr: str
    for_: Duration = Field(0.0, alias="for")
    action: Literal["rollback", "hold", "warn"] = "rollback"
    auto: bool = False  # immediate, no human in the loop
    group: Literal["standard", "enhanced", "auto_guard", "enrichment", "custom"] = "custom"
    description: str = ""
    enabled: bool = True
    dry_run: bool = False
    # The signal this trigger restates as an alert rule. While that signal is judged by the
    # sequential rule, the canary leaves the threshold to it (the expression is not asked: a
    # ratio of a few dozen requests is noise); exported rules keep the expression as a warning.
    signal: str | None = None

    def follows(self, config: CockpitConfig) -> str | None:
        """The signal whose sequential judgement stands in for this trigger in the canary, or None."""
        followed = config.signals.get(self.signal) if self.signal else None
        if followed is None or not followed.enabled or followed.judge_rule != "sequential":
            return None
        return self.signal


class StageConfig(Strict):
    weight: float = Field(gt=0, le=100)
    hold: Duration


class CanaryConfig(Strict):
    evaluate_every: Duration = 15.0
    stages: list[StageConfig] = [
        StageConfig(weight=1, hold=900),
        StageConfig(weight=5, hold=900),
        StageConfig(weight=25, hold=900),
        StageConfig(weight=50, hold=900),
        StageConfig(weight=100, hold=1800),
    ]
    hold_extension: Duration = 900.0
    max_holds: int = Field(2, ge=0)
    window: Duration = 60.0  # what {window} starts as in signal queries
    min_requests: int = Field(50, ge=0)
    trend_window: Duration = 300.0
    min_trend_samples: int = Field(4, ge=2)
    blind_limit: int = Field(4, ge=1)  # consecutive BLIND evaluations before blind_action
    blind_for: Duration = Field(60.0, gt=0)  # or blind this long, whichever comes first (a slow backend stretches evaluations)
    blind_action: Literal["hold", "rollback"] = "rollback"
    alerts_action_label: str = "cockpit_action"  # Prometheus alerts carrying it act as triggers
    # Label matchers that pick the canary / stable track: what {selector} and
    # {stable_selector} become in signal queries and trigger expressions.
    selector: str = 'track="canary"'
    stable_selector: str = 'track="stable"'
    # How far {window} may widen on low volume (None: up to the stage's elapsed time).
    max_window: Duration | None = None
    # A run is judged only on its own traffic: every window is cut to the time since its first
    # shift. Shorter than this (two scrape intervals) a window holds no data yet: the signals
    # read INSUFFICIENT and the triggers wait, so the first seconds never count as blind.
    min_window: Duration = 30.0
    # Kayenta-style: the canary's samples against the stable track's (Mann-Whitney U);
    # only judged with at least min_comparison_samples on each side.
    compare_with_stable: bool = False
    min_comparison_samples: int = Field(20, ge=3)
    comparison_alpha: float = Field(0.01, gt=0, lt=1)
    # The sequential rule's error: the chance of rolling back a canary that is within the limits
    # of its sequentially judged signals, over the whole run, every evaluation included.
    alpha: float = Field(0.01, gt=0, lt=0.5)
    # After a rollback, keep sampling this long to record when the signals recovered.
    recovery_window: Duration = 300.0
    # The control socket is owner-only (0600); a group name makes it 0660 for that group.
    control_group: str | None = None

    @field_validator("stages")
    @classmethod
    def _ascending(cls, stages: list[StageConfig]) -> list[StageConfig]:
        if not stages:
            raise ValueError("at least one stage is needed")
        weights = [s.weight for s in stages]
        if weights != sorted(weights) or len(set(weights)) != len(weights):
            raise ValueError("stage weights must strictly increase")
        return stages


_HAPROXY_NAME = r"^[A-Za-z0-9_.:-]+$"  # names go onto a runtime API line: no spaces, no ";" (a second command)


class HAProxyConfig(Strict):
    """HAProxy's runtime API: the admin socket, and the backend's stable and canary servers."""

    socket: str  # `stats socket PATH level admin` in haproxy.cfg's global section
    backend: str = Field(pattern=_HAPROXY_NAME)
    stable_server: str = Field("stable", pattern=_HAPROXY_NAME)
    canary_server: str = Field("canary", pattern=_HAPROXY_NAME)


class TrafficConfig(Strict):
    """How traffic moves: argument lists ({weight}, {version} are filled in), a webhook or a preset.

    After every shift and rollback the weight is read back (read_weight, weight_query,
    or the preset's own) until it matches or read_timeout passes: a mismatch fails the move.
    """

    set_weight: list[str] | None = None
    rollback: list[str] | None = None
    webhook: str | None = None
    preset: Literal["haproxy"] | None = None
    haproxy: HAProxyConfig | None = None
    retries: int = Field(3, ge=0, le=10)
    backoff: Duration = 1.0
    timeout: Duration = 30.0
    read_weight: list[str] | None = None  # argv printing the current canary weight in percent
    weight_query: str | None = None  # PromQL returning it
    prometheus: PrometheusConfig | None = None  # where weight_query runs; [prometheus] when not set
    read_timeout: Duration = 30.0
    read_interval: Duration = 1.0
    read_tolerance: float = Field(0.0, ge=0)  # percentage points a read-back may differ by

    @field_validator("set_weight", "rollback", "read_weight")
    @classmethod
    def _argv(cls, argv: list[str] | None) -> list[str] | None:
        if argv is not None and (not argv or not argv[0]):
            raise ValueError("must be a non-empty argument list, e.g. [\"kubectl\", \"annotate\", …]")
        return argv

    @model_validator(mode="after")
    def _one_way_each(self) -> TrafficConfig:
        if self.read_weight is not None and self.weight_query is not None:
            raise ValueError("read_weight and weight_query both read the weight back: keep one")
        if self.weight_query is not None and self.prometheus is None:
            raise ValueError("weight_query needs a Prometheus: add [prometheus] url (or [traffic.prometheus])")
        if self.preset == "haproxy":
            if self.haproxy is None:
                raise ValueError('preset "haproxy" needs [traffic.haproxy] socket, backend, stable_server, canary_server')
            taken = [k for k in ("set_weight", "rollback", "webhook", "read_weight", "weight_query") if getattr(self, k)]
            if taken:
                raise ValueError(f'preset "haproxy" moves and reads the weights itself: remove traffic.{taken[0]}')
        elif self.haproxy is not None:
            raise ValueError('[traffic.haproxy] is only used with preset = "haproxy"')
        return self


class MilestoneConfig(Strict):
    name: str
    at: str  # relative to T-0: "-30m", "0", "+15m", "+24h"

    @field_validator("at")
    @classmethod
    def _offset(cls, value: str) -> str:
        parse_offset(value)
        return value


class RunOfShowConfig(Strict):
    milestones: list[MilestoneConfig] = []


# Events a [[notify]] webhook can ask for: the canary journal's, and the first night's hourly summary.
NOTIFY_EVENTS = tuple(e.value for e in NOTIFIABLE)
DEFAULT_NOTIFY_EVENTS = [e.value for e in (Event.STAGE_STARTED, Event.HOLD, Event.ROLLBACK_STARTED, Event.ROLLBACK_DONE,
                                           Event.CANARY_DONE, Event.LEASE_TAKEN, Event.HOURLY_SUMMARY)]


PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"  # its Events API v2
# A rollback pages, a failed rollback pages again, recovered signals resolve (cockpit.run.pagerduty).
PAGERDUTY_EVENTS = [e.value for e in (Event.ROLLBACK_STARTED, Event.ROLLBACK_DONE, Event.SIGNALS_RECOVERED)]


class NotifyConfig(Strict):
    """A webhook events are posted to: plain JSON, Slack-compatible {"text": ...}, or PagerDuty Events API v2."""

    url: str
    name: str = ""  # shown in reports instead of the URL (a Slack webhook URL is itself a secret)
    format: Literal["json", "slack", "pagerduty"] = "json"
    routing_key: Secret | None = None  # PagerDuty's integration key (a secret)
    events: list[str] = list(DEFAULT_NOTIFY_EVENTS)
    timeout: Duration = 5.0
    retries: int = Field(3, ge=0, le=10)
    backoff: Duration = 1.0  # doubled after each failed attempt
    bearer_token: Secret | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="before")
    @classmethod
    def _pagerduty_defaults(cls, data: Any) -> Any:
        # PagerDuty has one well-known URL and pages only for rollbacks unless told otherwise.
        if isinstance(data, dict) and data.get("format") == "pagerduty":
            data = {"url": PAGERDUTY_URL, "events": list(PAGERDUTY_EVENTS), **data}
        return data

    @model_validator(mode="after")
    def _routing_key(self) -> NotifyConfig:
        if self.format == "pagerduty" and self.routing_key is None:
            raise ValueError('format = "pagerduty" needs routing_key (e.g. "${PD_ROUTING_KEY}")')
        if self.format != "pagerduty" and self.routing_key is not None:
            raise ValueError('routing_key is for format = "pagerduty" only')
        return self

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str]) -> list[str]:
        unknown = [e for e in events if e not in NOTIFY_EVENTS]
        if unknown:
            raise ValueError(f"unknown event {unknown[0]!r} (one of: {', '.join(NOTIFY_EVENTS)})")
        return events


class FirstNightConfig(Strict):
    """[first_night]: how the night after a promoted canary starts, and how long it is."""

    # "manual": `cockpit first-night VERSION` starts it. "auto": the canary process that promoted the release
    # goes on into the night itself (T+90 → T+24h needs nobody awake), holding the run lock throughout.
    start: Literal["manual", "auto"] = "manual"
    hours: int = Field(24, ge=1, le=168)
    hour_length: Duration = Field(3600.0, gt=0)


class RunbooksConfig(Strict):
    """[runbooks]: a team's own folder of runbooks (NAME.md), each overriding the shipped one of that name."""

    dir: str | None = None  # relative to the config file's folder


class TuiConfig(Strict):
    """The cockpit screen's defaults (flags override them)."""

    theme: Literal["dark", "light", "contrast", "16"] = "dark"
    low_color: bool = False  # the 16-colour theme, for terminals or links that show few colours
    mouse: bool = True


class RoleConfig(Strict):
    """A sign-off role (the seed's "Approved By"): it signs GO or NO-GO with initials; `required` ones must sign GO."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str
    required: bool = True


class CockpitConfig(Strict):
    prometheus: PrometheusConfig | None = None
    postgres: PostgresConfig | None = None
    pgbouncer: PgBouncerConfig | None = None
    state: StateConfig | None = None
    service: ServiceConfig | None = None
    alertmanager: AlertmanagerConfig | None = None
    evidence: EvidenceConfig = EvidenceConfig()
    playbook: PlaybookConfig = PlaybookConfig()
    canary: CanaryConfig = CanaryConfig()
    traffic: TrafficConfig = TrafficConfig()
    run_of_show: RunOfShowConfig = RunOfShowConfig()
    first_night: FirstNightConfig = FirstNightConfig()
    runbooks: RunbooksConfig = RunbooksConfig()
    tui: TuiConfig = TuiConfig()
    notify: list[NotifyConfig] = []
    signals: dict[str, SignalConfig] = {}
    triggers: list[TriggerConfig] = []
    checks: list[CheckSpec] = []
    roles: list[RoleConfig] = []

    @model_validator(mode="before")
    @classmethod
    def _weight_query_prometheus(cls, data: Any) -> Any:
        # weight_query runs on [prometheus] unless [traffic.prometheus] names another one.
        traffic = data.get("traffic") if isinstance(data, dict) else None
        if isinstance(traffic, dict) and traffic.get("weight_query") and "prometheus" not in traffic and data.get("prometheus"):
            data = {**data, "traffic": {**traffic, "prometheus": data["prometheus"]}}
        return data

    @model_validator(mode="after")
    def _followed_signals(self) -> CockpitConfig:
        for index, trigger in enumerate(self.triggers):
            if trigger.signal is not None and trigger.signal not in self.signals:
                raise ValueError(f"triggers[{index}].signal: {trigger.signal!r} is not a signal "
                                 f"(one of {', '.join(sorted(self.signals)) or 'none'})")
        return self

    @field_validator("checks")
    @classmethod
    def _unique_ids(cls, checks: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for check in checks:
            if check.id in seen:
                raise ValueError(f"check id {check.id!r} appears twice")
            seen.add(check.id)
        return checks

    def redactor(self) -> Redactor:
        """A redactor that knows every secret in this configuration."""
        redactor = Redactor()
        for dsn in (self.postgres and self.postgres.dsn, self.pgbouncer and self.pgbouncer.admin_dsn,
                    self.state and self.state.dsn):
            if secret_text(dsn) is not None:
                redactor.add(dsn_password(secret_text(dsn)))
        for prometheus in (self.prometheus, self.traffic.prometheus):
            for secret in (prometheus.bearer_token, prometheus.password) if prometheus else ():
                if secret_text(secret) is not None:
                    redactor.add(secret_text(secret))
        for hook in self.notify:  # a webhook URL (Slack's) and its token are secrets
            if hook.url != PAGERDUTY_URL:  # the public endpoint is no secret: masking it hides where pages went
                redactor.add(hook.url)
            for secret in (hook.bearer_token, hook.routing_key):
                if secret_text(secret) is not None:
                    redactor.add(secret_text(secret))
        return redactor

    def enabled_checks(self, phase: str | None = None) -> list[Any]:
        return [c for c in self.checks if c.enabled and (phase is None or c.phase == phase)]

    def enabled_signals(self) -> dict[str, SignalConfig]:
        return {name: s for name, s in self.signals.items() if s.enabled}


# ---------------------------------------------------------------- loading


def _substitute_env(value: Any, path: str, file: str) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{file}: {path}: environment variable {name} is not set")
            return os.environ[name]

        if _LAZY_SECRET_KEY.match(path):
            unset = [name for name in _ENV_REF.findall(value) if name not in os.environ]
            if unset:  # the command that connects with it says so, naming the file, the key and the variable
                return f"{_UNSET}{file}: {path}: environment variable {unset[0]} is not set"
        return _ENV_REF.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute_env(v, f"{path}.{k}" if path else k, file) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, f"{path}[{i}]", file) for i, v in enumerate(value)]
    return value


def _item_key(item: Any) -> str | None:
    if isinstance(item, dict):
        key = item.get("id", item.get("name"))
        return key if isinstance(key, str) else None
    return None


def merge_tables(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge TOML data: tables by key, arrays of tables by their id/name, the rest replaced."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = merge_tables(old, value)
        elif (
            isinstance(old, list)
            and isinstance(value, list)
            and value
            and all(_item_key(v) for v in value)
            and all(_item_key(o) for o in old)
        ):
            items = {_item_key(o): o for o in old}
            order = [_item_key(o) for o in old]
            for item in value:
                name = _item_key(item)
                if name in items:
                    items[name] = merge_tables(items[name], item)
                else:
                    items[name] = item
                    order.append(name)
            merged[key] = [items[n] for n in order]
        else:
            merged[key] = value
    return merged


def read_toml(path: Path | Traversable, label: str) -> dict[str, Any]:
    """A TOML file's tables; ConfigError (one line, naming `label`) when it cannot be read or parsed."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{label}: is a directory, not a TOML file") from None
    except PermissionError:
        raise ConfigError(f"{label}: permission denied") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: TOML syntax error: {exc}") from None


def default_playbook(name: str = "default") -> dict[str, Any]:
    """A playbook shipped with the cockpit (`[playbook] name`): "default" (the seed's) or "red" (any HTTP service)."""
    text = resources.files("cockpit.playbooks").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _error_path(data: dict[str, Any], loc: tuple[Any, ...], kinds: Sequence[str]) -> str:
    """A readable key path; items of checks/triggers are named by their id/name."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            child = node[item] if isinstance(node, list) and item < len(node) else None
            parts.append(f"[{_item_key(child) or item}]")
            node = child
            continue
        # pydantic adds union branch names ('sql', 'function-after[...]') that are not keys
        if item in kinds or "[" in item or (isinstance(node, dict) and "kind" in node and item == node["kind"]):
            continue
        name = item.rstrip("_")  # for_ is spelt "for" in TOML
        parts.append(f".{name}" if parts else name)
        node = node.get(name) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _phrase(error: dict[str, Any], kinds: Sequence[str] | None, noun: str) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required value is missing"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        if kinds is not None:
            return f"{ctx.get('tag')!r} is not a {noun} (one of: {', '.join(kinds)})"
        return f"{ctx.get('tag')!r} is not a known {ctx.get('discriminator', 'kind').strip(chr(39))} (one of: {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        if kinds is not None:
            return f"kind is missing (one of: {', '.join(kinds)})"
        return "kind is missing (every check needs kind = \"...\")"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def validation_message(exc: ValidationError, data: dict[str, Any], label: str, *,
                       kinds: Sequence[str] | None = None, noun: str = "kind") -> str:
    """One line for a failed validation: the file, the key, what is wrong (and how many more problems).

    kinds: the `kind` values of the data's tagged union (default: the check kinds, listed as pydantic lists them);
    noun: what a kind is called in the message ("fault kind").
    """
    errors = exc.errors()
    # An unknown key explains a "missing" one next to it (a typo), so it is reported first.
    errors.sort(key=lambda e: e.get("type") != "extra_forbidden")
    error = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    path = _error_path(data, error["loc"], CHECK_KINDS if kinds is None else kinds)
    if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        path += ".kind"
    return f"{label}: {path}: {_phrase(error, kinds, noun)}{more}"


def validate_config(data: dict[str, Any], label: str) -> CockpitConfig:
    """Validate merged config data; a ConfigError names the file and the key."""
    try:
        config = CockpitConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, data, label)) from None
    if config.traffic.preset == "haproxy":
        # HAProxy's weights are whole numbers: say so now, not when the stage's shift fails.
        for index, stage in enumerate(config.canary.stages):
            if stage.weight != int(stage.weight):
                raise ConfigError(f"{label}: canary.stages[{index}].weight: {stage.weight:g} is not a whole percentage "
                                  '(preset "haproxy" sets whole weights)')
    return config


def load_config(path: str | Path | None, base_dir: Path | None = None) -> CockpitConfig:
    """Load cockpit.toml over its playbook. Raises ConfigError with a one-line message."""
    user: dict[str, Any] = {}
    label = str(path) if path is not None else "(built-in defaults)"
    if path is not None:
        user = _substitute_env(read_toml(Path(path), label), "", label)
    playbook_file = (user.get("playbook") or {}).get("file") if isinstance(user.get("playbook"), dict) else None
    if playbook_file:
        root = Path(path).parent if path is not None else (base_dir or Path.cwd())
        playbook_path = (root / playbook_file) if not Path(playbook_file).is_absolute() else Path(playbook_file)
        base = _substitute_env(read_toml(playbook_path, str(playbook_path)), "", str(playbook_path))
    else:
        name = (user.get("playbook") or {}).get("name", "default") if isinstance(user.get("playbook"), dict) else "default"
        if name not in SHIPPED_PLAYBOOKS:
            raise ConfigError(f"{label}: playbook.name: {name!r} is not a shipped playbook "
                              f"({', '.join(SHIPPED_PLAYBOOKS)}; or set playbook.file)")
        base = default_playbook(name)
    return validate_config(merge_tables(_own_queries(base, user), user), label)


_COUNT_KEYS = ("events_query", "requests_query", "buckets_query", "quantile")


def _own_queries(base: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """The playbook without the count form of a signal whose `query` the user replaced and whose counts they did not.

    The playbook's counts read the playbook's metrics: judging a team's own query by them would judge
    something else than the screen shows. Such a signal is judged by the threshold rule on its query.
    """
    signals, own = base.get("signals"), user.get("signals")
    if not isinstance(signals, dict) or not isinstance(own, dict):
        return base
    trimmed = dict(signals)
    for name, table in own.items():
        inherited = trimmed.get(name)
        if (isinstance(table, dict) and isinstance(inherited, dict) and "query" in table
                and not any(key in table for key in _COUNT_KEYS)):
            trimmed[name] = {k: v for k, v in inherited.items() if k not in _COUNT_KEYS and k != "max_vs_stable"}
    return {**base, "signals": trimmed}
