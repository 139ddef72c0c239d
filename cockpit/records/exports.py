"""The cockpit's guard in the team's other tools: a Prometheus rules file, promtool tests for it, a Grafana dashboard.

Every expression is rendered exactly as the cockpit sends it (TriggerBoard.render,
render_query at the [canary] window), so an alert in Prometheus and a decision in
the cockpit rest on the same PromQL. Output is deterministic: the same config
gives the same bytes, so the files diff cleanly in a repository.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from cockpit.clock import SystemClock
from cockpit.config import CockpitConfig, SignalConfig, TriggerConfig, default_playbook
from cockpit.engine.promql_text import promql_duration, render_query
from cockpit.engine.signals import SignalBoard
from cockpit.engine.triggers import TriggerBoard

TRIGGER_GROUP = "cockpit_triggers"
SIGNAL_GROUP = "cockpit_signal_limits"
SIGNAL_LIMIT_SUFFIX = "_limit"
# TriggerBoard.alert_reading reads this label value as an auto (immediate) rollback.
AUTO_ROLLBACK = "immediate"


# ---------------------------------------------------------------- a tiny YAML emitter

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")  # runs-on, timeout-minutes: plain in YAML


def yaml_scalar(value: Any) -> str:
    """A YAML scalar: strings double-quoted and JSON-escaped (valid YAML), numbers as JSON, booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} as a number")
        return json.dumps(value)
    if value is None:
        return "null"
    text = json.dumps(str(value), ensure_ascii=False)
    # JSON leaves DEL, C1 controls and the BOM raw; YAML wants them escaped.
    return "".join(f"\\u{ord(ch):04x}" if 0x7F <= ord(ch) <= 0x9F or ord(ch) in (0xFEFF, 0xFFFE, 0xFFFF) else ch for ch in text)


def _block_safe(ch: str) -> bool:
    """Whether a literal block holds `ch` as it is (no escapes exist there)."""
    code = ord(ch)
    if ch in "\n\t":
        return True
    return code >= 0x20 and not 0x7F <= code <= 0x9F and code not in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)


def block_scalar(value: Any, indent: int) -> list[str] | None:
    """A multi-line string as a YAML literal block (`|` or `|-`), one line per line; None when it cannot be one.

    Reviewers read a multi-line PromQL expression the way it was written instead
    of one JSON-escaped line. Text a literal block cannot hold exactly (control
    characters, a first line starting with a space, several trailing newlines,
    a carriage return) stays a quoted scalar.
    """
    if not isinstance(value, str) or "\n" not in value.rstrip("\n"):
        return None
    body, chomp = (value[:-1], "|") if value.endswith("\n") else (value, "|-")
    if body.endswith("\n") or body.startswith((" ", "\t")) or not all(map(_block_safe, body)):
        return None
    pad = " " * indent
    return [chomp, *[(pad + line) if line else "" for line in body.split("\n")]]


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else yaml_scalar(key)


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block YAML for dicts (string keys), lists and scalars; ends with a newline."""
    return "\n".join(_lines(value, indent)) + "\n"


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        out: list[str] = []
        for key, item in value.items():
            block = block_scalar(item, indent + 2)
            if isinstance(item, (dict, list)) and item:
                out.append(f"{pad}{_key(str(key))}:")
                out.extend(_lines(item, indent + 2))
            elif block is not None:
                out.append(f"{pad}{_key(str(key))}: {block[0]}")
                out.extend(block[1:])
            else:
                out.append(f"{pad}{_key(str(key))}: {_inline(item)}")
        return out
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        out = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = _lines(item, indent + 2)
                out.append(f"{pad}- {inner[0].lstrip()}")
                out.extend(inner[1:])
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [pad + yaml_scalar(value)]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return yaml_scalar(value)


def _comment(text: str) -> str:
    return "# " + " ".join(text.split())


# ---------------------------------------------------------------- rules


def _template_safe(text: str) -> str:
    """Prometheus expands annotations as Go templates: a literal `{{` must not start one."""
    return text.replace("{{", '{{ "{{" }}')


@dataclass
class ExportedRule:
    """One alerting rule, with what produced it."""

    alert: str
    expr: str
    for_s: float
    labels: dict[str, str]
    annotations: dict[str, str]  # as meant (the file carries them template-escaped)
    kind: str  # "trigger" | "signal"
    source: str  # the trigger's or signal's name

    def as_rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_s > 0:
            rule["for"] = promql_duration(self.for_s)
        rule["labels"] = dict(self.labels)
        rule["annotations"] = {k: _template_safe(v) for k, v in self.annotations.items()}
        return rule


@dataclass
class RuleExport:
    """The rules of one export, what was left out and why, ready to write as YAML."""

    triggers: list[ExportedRule] = field(default_factory=list)
    signals: list[ExportedRule] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: why"
    interval: str = "15s"
    header: list[str] = field(default_factory=list)

    @property
    def rules(self) -> list[ExportedRule]:
        return self.triggers + self.signals

    def document(self) -> dict[str, Any]:
        groups = []
        for name, rules in ((TRIGGER_GROUP, self.triggers), (SIGNAL_GROUP, self.signals)):
            if rules:
                groups.append({"name": name, "interval": self.interval, "rules": [r.as_rule() for r in rules]})
        return {"groups": groups}

    def yaml(self) -> str:
        lines = [_comment(text) for text in self.header]
        lines += [_comment(f"skipped {text}") for text in self.skipped]
        head = "\n".join(lines) + "\n" if lines else ""
        return head + to_yaml(self.document())


def _action_label(trigger: TriggerConfig, config: CockpitConfig) -> str:
    # A trigger that restates a sequentially judged signal only warns as an alert: in the canary the
    # signal's counts decide, and a cockpit reading the alerts API must not act on the bare threshold.
    if trigger.follows(config) is not None:
        return "warn"
    return AUTO_ROLLBACK if trigger.auto and trigger.action == "rollback" else trigger.action


def signal_expr(signal: SignalConfig, upper: float | None, lower: float | None, config: CockpitConfig) -> str:
    """The signal's query at the [canary] window, compared with its limits: returns a sample while breached."""
    query = render_query(signal.query, config.canary.window, config.canary)
    parts = []
    if upper is not None:
        parts.append(f"({query}) > {_number(upper)}")
    if lower is not None:
        parts.append(f"({query}) < {_number(lower)}")
    return " or ".join(parts)


def _number(value: float) -> str:
    """A PromQL number literal that round-trips the float exactly (no exponent for whole numbers)."""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def export_rules(config: CockpitConfig, baseline: dict[str, float | None] | None = None, label: str = "") -> RuleExport:
    """Enabled triggers as alerting rules, then every enabled signal's limit as `<signal>_limit`."""
    canary = config.canary
    action_key = canary.alerts_action_label or "cockpit_action"
    board = TriggerBoard(config, None, SystemClock())
    export = RuleExport(interval=promql_duration(canary.evaluate_every))
    export.header = [
        f"Generated by `cockpit export rules`{' from ' + label if label else ''}: do not edit, export again.",
        f"Labels: {action_key} = rollback | hold | warn | {AUTO_ROLLBACK} (an auto-trigger: immediate rollback).",
        f"A cockpit reading Prometheus alerts acts on {action_key}: load this file where the cockpit does not "
        "also evaluate the same triggers, or the reasons list each twice.",
    ]
    for trigger in config.triggers:
        if not trigger.enabled:
            continue
        description = trigger.description or f"cockpit trigger {trigger.name}"
        export.triggers.append(
            ExportedRule(
                alert=trigger.name,
                expr=board.render(trigger).strip(),
                for_s=float(trigger.for_),
                labels={action_key: _action_label(trigger, config), "cockpit_auto": "true" if trigger.auto else "false", "group": trigger.group},
                annotations={
                    "summary": f"{trigger.name}: {'auto ' if trigger.auto else ''}{trigger.action}"
                    + (" (dry-run in the cockpit)" if trigger.dry_run else ""),
                    "description": description,
                },
                kind="trigger",
                source=trigger.name,
            )
        )
    limits = SignalBoard(config, None, SystemClock(), baseline)
    for name, signal in config.enabled_signals().items():
        found = limits.limits(name, signal)
        if found.missing is not None:
            export.skipped.append(
                f"{name}{SIGNAL_LIMIT_SUFFIX}: {found.missing}; pass --baseline-version VERSION to use its baseline_<v>.json"
            )
            continue
        if found.upper is None and found.lower is None:
            export.skipped.append(f"{name}{SIGNAL_LIMIT_SUFFIX}: no limit")
            continue
        title = signal.title or name
        bounds = " and ".join(
            text for text in (
                f"at most {_number(found.upper)}" if found.upper is not None else "",
                f"at least {_number(found.lower)}" if found.lower is not None else "",
            ) if text
        )
        relative = f" (baseline x {signal.max_vs_baseline:g})" if signal.max_vs_baseline is not None else ""
        export.signals.append(
            ExportedRule(
                alert=f"{name}{SIGNAL_LIMIT_SUFFIX}",
                expr=signal_expr(signal, found.upper, found.lower, config),
                for_s=float(signal.for_),
                labels={action_key: "rollback", "cockpit_auto": "false", "group": "signal"},
                annotations={
                    "summary": f"{title} outside its limit",
                    "description": f"{title}: {bounds}{relative}{' ' + signal.unit if signal.unit else ''}",
                },
                kind="signal",
                source=name,
            )
        )
    return export


# ---------------------------------------------------------------- promtool tests


@dataclass
class RuleTests:
    """Generated `promtool test rules` cases and what they cover."""

    document: dict[str, Any]
    proven: list[str]  # rules shown to fire on the bad series and stay quiet on the good ones
    untested: list[str]  # "alert: why" — rules the synthetic data cannot speak for

    def yaml(self) -> str:
        lines = [
            _comment("Generated by `cockpit export rules --tests`: run `promtool test rules` on this file."),
            _comment(f"{len(self.proven)} rules proven to fire on bad series and stay quiet on good ones."),
        ]
        lines += [_comment(f"untested {text}") for text in self.untested]
        return "\n".join(lines) + "\n" + to_yaml(self.document)


def _defaults() -> tuple[dict[str, str], dict[str, str]]:
    """The default playbook's trigger expressions and signal queries: the synthetic table was built for them."""
    data = default_playbook()
    triggers = {t["name"]: t["expr"] for t in data.get("triggers", []) if "name" in t and "expr" in t}
    signals = {name: s["query"] for name, s in (data.get("signals") or {}).items() if "query" in s}
    return triggers, signals


def _breaches(value: float, bounds: tuple[float | None, float | None]) -> bool:
    upper, lower = bounds
    return (upper is not None and value > upper) or (lower is not None and value < lower)


def _too_close(value: float, bounds: tuple[float | None, float | None]) -> bool:
    return any(b is not None and math.isclose(value, b, rel_tol=1e-9, abs_tol=1e-12) for b in bounds)


def rule_tests(
    config: CockpitConfig,
    export: RuleExport,
    rules_file: str,
    baseline: dict[str, float | None] | None = None,
) -> RuleTests:
    """Test cases over the synthetic series: every covered rule fires on the bad ones and not on the good ones.

    Covered: default-playbook triggers and signals whose expression is unchanged
    (the synthetic series were built for those). A signal's expectation follows
    its configured limit: if the bad value does not cross it, the rule is listed
    as untested rather than expected to fire.
    """
    from cockpit.playbooks import synthetic

    default_triggers, default_signals = _defaults()
    untested: list[str] = []
    try:
        synthetic.series(True, config.canary.selector, config.canary.stable_selector)
    except ValueError as exc:
        untested = [f"{r.alert}: {exc}" for r in export.rules]
        return RuleTests({"rule_files": [rules_file], "evaluation_interval": synthetic.INTERVAL, "tests": []}, [], untested)

    limits = SignalBoard(config, None, SystemClock(), baseline)
    expected: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    proven: list[str] = []

    def expect(rule: ExportedRule, fires: dict[bool, bool]) -> None:
        for bad in (True, False):
            alerts = [{"exp_labels": dict(rule.labels), "exp_annotations": dict(rule.annotations)}] if fires[bad] else []
            expected[bad].append({"eval_time": synthetic.EVAL_TIME, "alertname": rule.alert, "exp_alerts": alerts})

    triggers = {t.name: t for t in config.triggers}
    for rule in export.triggers:
        trigger = triggers[rule.source]
        if rule.source not in synthetic.TRIGGERS or default_triggers.get(rule.source) != trigger.expr:
            untested.append(f"{rule.alert}: not a default-playbook trigger with its default expression")
            continue
        if rule.for_s > synthetic.MAX_FOR_SECONDS:
            untested.append(f"{rule.alert}: its `for` is longer than the synthetic series")
            continue
        expect(rule, {True: True, False: False})
        proven.append(rule.alert)
    for rule in export.signals:
        signal = config.signals[rule.source]
        if rule.source not in synthetic.SIGNAL_VALUES[True] or default_signals.get(rule.source) != signal.query:
            untested.append(f"{rule.alert}: not a default-playbook signal with its default query")
            continue
        if rule.for_s > synthetic.MAX_FOR_SECONDS:
            untested.append(f"{rule.alert}: its `for` is longer than the synthetic series")
            continue
        found = limits.limits(rule.source, signal)
        bounds = (found.upper, found.lower)
        values = {bad: synthetic.SIGNAL_VALUES[bad][rule.source] for bad in (True, False)}
        if any(_too_close(v, bounds) for v in values.values()):
            untested.append(f"{rule.alert}: a synthetic value sits on the limit")
            continue
        fires = {bad: _breaches(values[bad], bounds) for bad in (True, False)}
        expect(rule, fires)  # checked either way: the rule must do what its limit says
        if fires[True] and not fires[False]:
            proven.append(rule.alert)
        else:
            untested.append(
                f"{rule.alert}: the synthetic values ({values[True]:g} bad, {values[False]:g} good) do not "
                "straddle its configured limit, so the test checks it stays as it is but cannot show a breach firing"
            )

    tests = []
    for bad in (True, False):
        if not expected[bad]:
            continue
        tests.append(
            {
                "name": "bad service: every covered rule fires" if bad else "healthy service: no covered rule fires",
                "interval": synthetic.INTERVAL,
                "input_series": synthetic.series(bad, config.canary.selector, config.canary.stable_selector),
                "alert_rule_test": expected[bad],
            }
        )
    document = {"rule_files": [rules_file], "evaluation_interval": synthetic.INTERVAL, "tests": tests}
    return RuleTests(document, proven, untested)


def relative_path(target: str, start_dir: str) -> str:
    """`target` as promtool resolves rule_files: relative to the test file's folder."""
    return os.path.relpath(os.path.abspath(target), os.path.abspath(start_dir))


# ---------------------------------------------------------------- Grafana

GRAFANA_UNITS = {"s": "s", "ratio": "percentunit", "per_min": "suffix:/min", "count": "short", "": "none"}
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}


def _thresholds(upper: float | None, lower: float | None) -> dict[str, Any]:
    """Green inside the limits, red outside; a step's value is where its colour starts."""
    steps: list[dict[str, Any]] = []
    if lower is not None:
        steps.append({"color": "red", "value": None})
        steps.append({"color": "green", "value": lower})
    else:
        steps.append({"color": "green", "value": None})
    if upper is not None:
        steps.append({"color": "red", "value": upper})
    return {"mode": "absolute", "steps": steps}


def grafana_dashboard(config: CockpitConfig, baseline: dict[str, float | None] | None = None) -> dict[str, Any]:
    """A dashboard with one timeseries panel per enabled golden signal, its limit drawn as a threshold."""
    canary = config.canary
    limits = SignalBoard(config, None, SystemClock(), baseline)
    stable_view = canary.model_copy(update={"selector": canary.stable_selector})
    panels = []
    for index, (name, signal) in enumerate(config.enabled_signals().items()):
        found = limits.limits(name, signal)
        upper, lower = (None, signal.min) if found.missing is not None else (found.upper, found.lower)
        limit_text = (
            found.missing
            if found.missing is not None
            else " and ".join(
                t for t in (f"max {_number(upper)}" if upper is not None else "", f"min {_number(lower)}" if lower is not None else "") if t
            )
        )
        targets = [
            {"datasource": DATASOURCE, "expr": render_query(signal.query, canary.window, canary), "legendFormat": "canary", "refId": "A"}
        ]
        stable_expr = render_query(signal.stable_query or signal.query, canary.window, canary if signal.stable_query else stable_view)
        if stable_expr != targets[0]["expr"]:  # the stable track beside the canary, when the query can tell them apart
            targets.append({"datasource": DATASOURCE, "expr": stable_expr, "legendFormat": "stable", "refId": "B"})
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": signal.title or name,
                "description": f"cockpit signal {name}; limit: {limit_text}" + (" (dry-run in the cockpit)" if signal.dry_run else ""),
                "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "fieldConfig": {
                    "defaults": {
                        "unit": GRAFANA_UNITS.get(signal.unit, "none"),
                        "thresholds": _thresholds(upper, lower),
                        "custom": {"thresholdsStyle": {"mode": "line+area"}, "lineWidth": 2, "fillOpacity": 0},
                        "color": {"mode": "palette-classic"},
                    },
                    "overrides": [],
                },
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
                "targets": targets,
            }
        )
    return {
        "__inputs": [
            {"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}
        ],
        "annotations": {"list": []},
        "editable": True,
        "graphTooltip": 1,
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["cockpit", "canary", "golden-signals"],
        "templating": {
            "list": [
                {
                    "name": "DS_PROMETHEUS",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "options": [],
                }
            ]
        },
        "time": {"from": "now-3h", "to": "now"},
        "timezone": "utc",
        "title": "Release Cockpit — golden signals",
        "uid": "cockpit-golden-signals",
        "version": 1,
    }


def grafana_json(config: CockpitConfig, baseline: dict[str, float | None] | None = None) -> str:
    return json.dumps(grafana_dashboard(config, baseline), indent=2, ensure_ascii=False) + "\n"
