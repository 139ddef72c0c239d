"""Argo Rollouts AnalysisTemplates and Flagger MetricTemplates (Prometheus provider) as the cockpit's `[signals.*]`.

What maps, and how:
  query             the template's PromQL; `{{ interval }}` becomes `{window}`; label matchers whose
                    whole value is a placeholder (`destination_service=~"{{args.service-name}}"`,
                    `destination_workload="{{ target }}"`) become one `{selector}` at the end of their
                    matcher list — the cockpit's selector is what names the canary. Any other
                    placeholder is left as it is, with a warning.
  successCondition  `result[0] >= 0.95` → min = 0.95, `result[0] < 200` → max = 200 (`&&` of two
                    bounds both: `result[0] >= A && result[0] <= B` is min and max); a failureCondition
                    is the inverse. The no-data idioms are read too: `isNaN(result[0]) || X` and
                    `len(result) == 0 || X` (no data passes in Argo) and `len(result) > 0 && X`
                    (no data fails): here no data is BLIND, never PROCEED, and the signal's blind
                    handling ([canary] blind_limit, blind_action) decides; a comment says so.
  thresholdRange    Flagger's min / max, from the Canary in the same file that references the template.
  builtins          Flagger's `request-success-rate` and `request-duration` (a Canary's metric without a
                    templateRef) become signals built on the RED playbook's error_rate and p95_latency
                    queries (cockpit/playbooks/red.toml): the success rate's percentage as a ratio, the
                    duration's P99 in milliseconds as seconds.

A metric that does not map is skipped with the reason (`AnalysisImport.skipped`); the rest is
imported. Only a file that is not YAML, holds no template, or of which nothing maps is an error.
  interval          a hint in a comment: the cockpit evaluates every `[canary] evaluate_every`.
  failureLimit      for = failureLimit x interval (Argo); Flagger's analysis.threshold: (threshold - 1) x interval.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.config_file import ConfigError
from cockpit.durations import parse_duration
from cockpit.errors import CockpitError
from cockpit.format import format_duration

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_INTERVAL = {"interval"}  # Flagger's analysis window; the cockpit's {window}
_MATCHER_LIST = re.compile(r"\{([^{}]*)\}")
_MATCHER = re.compile(r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(?:,|$)""")
_BOUND = re.compile(r"^\s*(?:result\[0\]|result)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
_FLIPPED = re.compile(r"^\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(>=|<=|>|<)\s*(?:result\[0\]|result)\s*$")
_MIRROR = {">=": "<=", "<=": ">=", ">": "<", "<": ">"}
_NEGATE = {">=": "<", "<=": ">", ">": "<=", "<": ">="}


@dataclass
class ImportedSignal:
    """One signal to write, with the notes that go beside it."""

    name: str
    title: str
    query: str
    min: float | None = None
    max: float | None = None
    for_s: float = 0.0
    unit: str = ""
    notes: list[str] = field(default_factory=list)  # written as comments above the table
    warnings: list[str] = field(default_factory=list)  # said on stderr


@dataclass(frozen=True)
class SkippedMetric:
    """A metric that does not map: its name, the condition it had, and why it was left out."""

    name: str
    condition: str
    why: str


@dataclass
class AnalysisImport:
    source: str
    signals: list[ImportedSignal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[SkippedMetric] = field(default_factory=list)

    def add(self, signal: ImportedSignal) -> None:
        self.signals.append(signal)
        self.warnings.extend(signal.warnings)

    @property
    def metrics(self) -> int:
        """How many metrics the file had (imported and skipped)."""
        return len(self.signals) + len(self.skipped)


class Unmappable(CockpitError):
    """One metric cannot become a signal (the rest of the file still can): the reason, in a few words.

    Caught per metric and turned into a SkippedMetric; only "nothing maps" reaches the person (ConfigError).
    """


def signal_name(text: str) -> str:
    """A signal name the cockpit's tables, rules and screens take: lower snake case, starting with a letter."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "imported"
    return name if name[0].isalpha() else f"m_{name}"


def convert_query(query: str, warn: Callable[[str], None]) -> str:
    """The template's PromQL with its placeholders turned into {window} / {selector} where they map."""
    slots: list[str] = []

    def hold(match: re.Match[str]) -> str:
        slots.append(match.group(1))
        return f"\x00{len(slots) - 1}\x00"

    text = _PLACEHOLDER.sub(hold, query.strip())
    slot = re.compile(r"^([\"'`])\x00(\d+)\x00\1$")
    folded: list[str] = []

    def matchers(match: re.Match[str]) -> str:
        body = match.group(1)
        kept: list[str] = []
        dropped: list[str] = []
        position = 0
        for found in _MATCHER.finditer(body):
            if found.start() != position:
                return match.group(0)  # not a plain matcher list (a regex we do not read): leave it
            position = found.end()
            label, op, value = found.group(1), found.group(2), found.group(3)
            held = slot.match(value)
            if held and op in ("=", "=~") and slots[int(held.group(2))] not in _INTERVAL:
                dropped.append(f"{label}{op}{value[0]}{{{{{slots[int(held.group(2))]}}}}}{value[0]}")
            else:
                kept.append(f"{label}{op}{value}")
        if position != len(body) or not dropped:
            return match.group(0)
        folded.extend(dropped)
        return "{" + ",".join([*kept, "{selector}"]) + "}"

    text = _MATCHER_LIST.sub(matchers, text)
    if folded:
        warn(
            f"{', '.join(dict.fromkeys(folded))} became {{selector}}: set [canary] selector (and stable_selector) "
            "to the label matchers of the canary (and of the stable track)"
        )
    left: list[str] = []

    def restore(match: re.Match[str]) -> str:
        name = slots[int(match.group(1))]
        if name in _INTERVAL:
            return "{window}"
        left.append(name)
        return "{{" + name + "}}"

    text = re.sub(r"\x00(\d+)\x00", restore, text)
    if left:
        warn(f"placeholder(s) {', '.join('{{' + n + '}}' for n in dict.fromkeys(left))} left as they are: replace them by hand")
    if "{selector}" not in text:
        warn("the query has no {selector}: it reads canary and stable alike")
    return text


_NO_DATA_PASSES = re.compile(r"^\s*(?:isNaN\(\s*result\[0\]\s*\)|len\(\s*result\s*\)\s*==\s*0)\s*$")
_DATA_NEEDED = re.compile(r"^\s*(?:len\(\s*result\s*\)\s*(?:>\s*0|>=\s*1|!=\s*0)|!\s*isNaN\(\s*result\[0\]\s*\))\s*$")
_SUPPORTED = "only result[0] compared with numbers, joined by &&, and the isNaN / len(result) idioms"


def _no_data_note(condition_kind: str, passes: bool) -> str:
    said = "passes" if passes else "fails"
    return (f"Argo's {condition_kind}: no data {said}; here no data is BLIND and never PROCEED: "
            "the signal's blind handling ([canary] blind_limit, blind_action) decides")


def condition_limits(condition: str, invert: bool = False) -> tuple[float | None, float | None, list[str]]:
    """(min, max, notes) from an Argo condition; Unmappable with the reason when it does not map.

    `X || isNaN(result[0])` / `X || len(result) == 0` and `len(result) > 0 && X` say what no data
    means to Argo; the cockpit never passes on no data (BLIND), so they leave X and a note.
    """
    kind = "failureCondition" if invert else "successCondition"
    text = condition.strip()
    notes: list[str] = []
    either = text.split("||")
    if len(either) > 1:
        rest = [part for part in either if not _NO_DATA_PASSES.match(part)]
        if len(rest) != 1 or "||" in rest[0]:
            raise Unmappable(f"condition {text!r} is not supported ({_SUPPORTED})")
        notes.append(_no_data_note(kind, passes=not invert))
        text = rest[0].strip()
    parts = text.split("&&")
    needed = [part for part in parts if _DATA_NEEDED.match(part)]
    if needed:
        parts = [part for part in parts if not _DATA_NEEDED.match(part)]
        if not parts:
            raise Unmappable(f"condition {condition.strip()!r} only asks for data: nothing to limit")
        if not notes:
            notes.append(_no_data_note(kind, passes=invert))
    if invert and len(parts) > 1:
        raise Unmappable(f"failureCondition {condition.strip()!r} is not supported (one comparison only)")
    low: float | None = None
    high: float | None = None
    for part in parts:
        found = _BOUND.match(part)
        if found:
            op, number = found.group(1), float(found.group(2))
        else:
            flipped = _FLIPPED.match(part)
            if not flipped:
                raise Unmappable(f"condition {condition.strip()!r} is not supported ({_SUPPORTED})")
            op, number = _MIRROR[flipped.group(2)], float(flipped.group(1))
        if invert:
            op = _NEGATE[op]
        if op.startswith(">"):
            low = number
        else:
            high = number
    return low, high, notes


def _duration(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise Unmappable(f"{where}: {exc}") from None


def _condition_of(metric: dict[str, Any]) -> str:
    for key in ("successCondition", "failureCondition"):
        if metric.get(key):
            return f"{key}: {metric[key]}"
    return "no condition"


def _argo_metric(doc: dict[str, Any], metric: dict[str, Any], template: str) -> ImportedSignal:
    """One Argo metric as a signal; Unmappable when it cannot be one."""
    name = str(metric.get("name", "?"))
    provider = metric.get("provider") or {}
    kinds = [k for k in provider if k != "prometheus"]
    if "prometheus" not in provider:
        raise Unmappable(f"provider {', '.join(kinds) or 'none'} is not supported (only prometheus)")
    query = str((provider["prometheus"] or {}).get("query") or "")
    if not query.strip():
        raise Unmappable("the prometheus provider has no query")
    warnings: list[str] = []
    signal = ImportedSignal(signal_name(name), name, convert_query(query, warnings.append))
    if metric.get("successCondition"):
        signal.min, signal.max, notes = condition_limits(str(metric["successCondition"]))
        if metric.get("failureCondition"):
            warnings.append(f"failureCondition {metric['failureCondition']!r} ignored: successCondition sets the limits")
    elif metric.get("failureCondition"):
        signal.min, signal.max, notes = condition_limits(str(metric["failureCondition"]), invert=True)
    else:
        raise Unmappable("no successCondition or failureCondition: nothing to limit")
    interval = _duration(metric.get("interval"), "interval")
    limit = int(metric.get("failureLimit") or 0)
    signal.notes.extend(notes)
    if interval:
        signal.notes.append(f"Argo measures every {format_duration(interval)}: the cockpit evaluates every [canary] evaluate_every")
    if limit and interval:
        signal.for_s = limit * interval
        signal.notes.append(f"for = failureLimit {limit} x interval {format_duration(interval)}")
    elif limit:
        warnings.append(f"failureLimit {limit} without an interval: no `for` set")
    for key in ("count", "initialDelay", "consecutiveErrorLimit", "inconclusiveLimit"):
        if key in metric:
            signal.notes.append(f"Argo {key} = {metric[key]} has no counterpart here")
    signal.notes.insert(0, f"from Argo Rollouts {doc.get('kind')} {template!r}, metric {name!r}")
    signal.warnings = [f"{name}: {w}" for w in warnings]
    return signal


def _argo(doc: dict[str, Any], result: AnalysisImport) -> None:
    template = str((doc.get("metadata") or {}).get("name", "?"))
    for metric in (doc.get("spec") or {}).get("metrics") or []:
        if not isinstance(metric, dict):
            result.skipped.append(SkippedMetric("?", "-", "not a mapping"))
            continue
        try:
            result.add(_argo_metric(doc, metric, template))
        except Unmappable as exc:
            result.skipped.append(SkippedMetric(str(metric.get("name", "?")), _condition_of(metric), str(exc)))


def _analysis_timing(signal: ImportedSignal, canary: dict[str, Any], metric: dict[str, Any]) -> None:
    """Flagger's window and threshold as notes and `for` (shared by templates and builtins)."""
    analysis = (canary.get("spec") or {}).get("analysis") or {}
    every = _duration(analysis.get("interval"), "analysis.interval")
    window = _duration(metric.get("interval"), "interval")
    if window:
        signal.notes.append(f"Flagger's window ({{{{ interval }}}}) was {format_duration(window)}: the cockpit's is [canary] window")
    threshold = int(analysis.get("threshold") or 0)
    if threshold > 1 and every:
        signal.for_s = (threshold - 1) * every
        signal.notes.append(f"for = (threshold {threshold} - 1) x analysis.interval {format_duration(every)}")


def _threshold_range(metric: dict[str, Any]) -> tuple[float | None, float | None]:
    limits = metric.get("thresholdRange") or {}
    if not isinstance(limits, dict) or (limits.get("min") is None and limits.get("max") is None):
        raise Unmappable("the Canary's thresholdRange has neither min nor max")
    try:
        return (float(limits["min"]) if limits.get("min") is not None else None,
                float(limits["max"]) if limits.get("max") is not None else None)
    except (TypeError, ValueError):
        raise Unmappable(f"thresholdRange {limits} is not numbers") from None


def _flagger_metric(doc: dict[str, Any], canaries: list[dict[str, Any]]) -> ImportedSignal:
    template = str((doc.get("metadata") or {}).get("name", "?"))
    spec = doc.get("spec") or {}
    kind = str((spec.get("provider") or {}).get("type") or "none")
    if kind != "prometheus":
        raise Unmappable(f"provider {kind} is not supported (only prometheus)")
    uses = [
        (canary, metric)
        for canary in canaries
        for metric in ((canary.get("spec") or {}).get("analysis") or {}).get("metrics") or []
        if isinstance(metric, dict) and ((metric.get("templateRef") or {}).get("name")) == template
    ]
    if not uses:
        raise Unmappable("no thresholdRange: add the Canary whose analysis.metrics references it to the same file")
    canary, metric = uses[0]
    low, high = _threshold_range(metric)
    warnings: list[str] = []
    query = convert_query(str(spec.get("query") or ""), warnings.append)
    signal = ImportedSignal(signal_name(template), str(metric.get("name") or template), query, min=low, max=high)
    signal.notes.append(f"from Flagger MetricTemplate {template!r}, Canary metric {signal.title!r}")
    _analysis_timing(signal, canary, metric)
    signal.warnings = [f"{template}: {w}" for w in warnings]
    return signal


def _flagger(doc: dict[str, Any], canaries: list[dict[str, Any]], result: AnalysisImport) -> None:
    try:
        result.add(_flagger_metric(doc, canaries))
    except Unmappable as exc:
        name = str((doc.get("metadata") or {}).get("name", "?"))
        result.skipped.append(SkippedMetric(name, "thresholdRange of the Canary that references it", str(exc)))


# Flagger's builtin metrics (no MetricTemplate): what each one measures, in the RED playbook's terms.
FLAGGER_BUILTINS = ("request-success-rate", "request-duration")


def _red_queries() -> dict[str, str]:
    from importlib import resources

    text = resources.files("cockpit.playbooks").joinpath("red.toml").read_text(encoding="utf-8")
    signals = tomllib.loads(text)["signals"]
    return {name: str(signals[name]["query"]) for name in ("error_rate", "p95_latency")}


def _builtin_metric(canary: dict[str, Any], metric: dict[str, Any]) -> ImportedSignal:
    """Flagger's request-success-rate / request-duration as a signal on the RED playbook's queries."""
    name = str(metric.get("name"))
    canary_name = str((canary.get("metadata") or {}).get("name", "?"))
    low, high = _threshold_range(metric)
    red = _red_queries()
    if name == "request-success-rate":
        # Flagger: the percentage of requests that are not 5xx; the RED error ratio is its complement.
        query = f"1 - ({red['error_rate']})"
        signal = ImportedSignal(signal_name(name), "Request success rate", query,
                                min=low / 100 if low is not None else None, max=high / 100 if high is not None else None)
        signal.unit = "ratio"
        shown = " ".join(f"{k} {v:g}%" for k, v in (("min", low), ("max", high)) if v is not None)
        signal.notes.append(f"Flagger's builtin request-success-rate (percent of non-5xx requests, thresholdRange {shown}) "
                            "as a ratio: 1 - the RED playbook's error_rate query")
    else:
        # Flagger's request-duration is the P99 in milliseconds; the RED playbook's latency query at the 0.99 quantile.
        query = red["p95_latency"].replace("histogram_quantile(0.95,", "histogram_quantile(0.99,", 1)
        if query == red["p95_latency"]:
            raise Unmappable("the RED playbook's p95_latency query is not a histogram_quantile(0.95, …) to take the P99 from")
        signal = ImportedSignal(signal_name(name), "Request duration P99", query,
                                min=low / 1000 if low is not None else None, max=high / 1000 if high is not None else None)
        signal.unit = "s"
        shown = " ".join(f"{k} {v:g}ms" for k, v in (("min", low), ("max", high)) if v is not None)
        signal.notes.append(f"Flagger's builtin request-duration (P99 in milliseconds, thresholdRange {shown}) in seconds: "
                            "the RED playbook's p95_latency query at the 0.99 quantile")
    signal.notes.insert(0, f"from Flagger Canary {canary_name!r}, builtin metric {name!r}")
    signal.notes.append("the RED playbook's metrics: http_requests_total and http_request_duration_seconds_bucket "
                        "(a mesh's own metrics, e.g. Istio's, need the query changed)")
    _analysis_timing(signal, canary, metric)
    return signal


def _builtins(canary: dict[str, Any], result: AnalysisImport) -> None:
    for metric in ((canary.get("spec") or {}).get("analysis") or {}).get("metrics") or []:
        if not isinstance(metric, dict) or metric.get("templateRef"):
            continue  # a template's use: read with its MetricTemplate
        name = str(metric.get("name", "?"))
        given = metric.get("thresholdRange")
        limits = ("thresholdRange " + " ".join(f"{k}={v}" for k, v in given.items())) if isinstance(given, dict) and given \
            else "no thresholdRange"
        if name not in FLAGGER_BUILTINS:
            why = (f"not one of Flagger's builtin metrics the cockpit maps ({', '.join(FLAGGER_BUILTINS)}) "
                   "and no templateRef")
            result.skipped.append(SkippedMetric(name, limits, why))
            continue
        try:
            result.add(_builtin_metric(canary, metric))
        except Unmappable as exc:
            result.skipped.append(SkippedMetric(name, limits, str(exc)))


def read_analysis(path: Path) -> AnalysisImport:
    """The signals of every template and Canary builtin in a YAML file, the metrics that do not map skipped with why.

    ConfigError (one line) when the file cannot be read as YAML, holds no template, or nothing in it maps.
    """
    import yaml

    file = str(path)
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except FileNotFoundError:
        raise ConfigError(f"{file}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read it: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{file}: YAML syntax error{at}: {getattr(exc, 'problem', None) or exc}") from None
    if not all(isinstance(d, dict) for d in docs):
        raise ConfigError(f"{file}: not Kubernetes resources (each YAML document must be a mapping)")
    result = AnalysisImport(file)
    canaries = [d for d in docs if d.get("kind") == "Canary"]
    for doc in docs:
        if doc.get("kind") in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
            _argo(doc, result)
        elif doc.get("kind") == "MetricTemplate":
            _flagger(doc, canaries, result)
        elif doc.get("kind") == "Canary":
            _builtins(doc, result)
    if not result.signals and not result.skipped:
        raise ConfigError(f"{file}: no AnalysisTemplate, ClusterAnalysisTemplate or MetricTemplate with metrics in it")
    if not result.signals:
        why = "; ".join(f"metric {m.name!r}: {m.why}" for m in result.skipped)
        raise ConfigError(f"{file}: nothing maps: {why}")
    names = [s.name for s in result.signals]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{file}: two metrics become the signal {name!r}: rename one")
    return result


def _toml_string(text: str) -> str:
    """A TOML string: a multi-line literal ('''...''') for PromQL that has lines, else a basic one."""
    if "\n" in text and "'''" not in text and not any(ord(c) < 0x20 and c not in "\n\t" for c in text):
        return "'''\n" + text + "'''"
    return json.dumps(text, ensure_ascii=False)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def to_toml(imported: AnalysisImport) -> str:
    """The `[signals.*]` tables, each with its notes as comments."""
    lines = [f"# Imported by `cockpit import analysis` from {imported.source}: check the queries and limits."]
    for signal in imported.signals:
        lines.append("")
        lines.extend(f"# {' '.join(note.split())}" for note in signal.notes)
        lines.append(f"[signals.{signal.name}]")
        lines.append(f"title = {_toml_string(signal.title)}")
        lines.append(f"query = {_toml_string(signal.query)}")
        if signal.unit:
            lines.append(f"unit = {_toml_string(signal.unit)}")
        if signal.min is not None:
            lines.append(f"min = {_number(signal.min)}")
        if signal.max is not None:
            lines.append(f"max = {_number(signal.max)}")
        if signal.for_s:
            lines.append(f'for = "{format_duration(signal.for_s)}"')
        # The template's condition is on one value of its query: that is the threshold rule. Counts over the
        # run (the sequential rule) need the query's count form, which a template does not have.
        lines.append('judge = "threshold"  # sequential: add events_query + requests_query (or buckets_query + '
                     'quantile) and remove this line')
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what we print must parse; a bug here is ours, not the user's
    return text
