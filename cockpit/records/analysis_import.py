"""Argo Rollouts AnalysisTemplates and Flagger MetricTemplates (Prometheus provider) as the cockpit's `[signals.*]`.

What maps, and how:
  query             the template's PromQL; `{{ interval }}` becomes `{window}`; label matchers whose
                    whole value is a placeholder (`destination_service=~"{{args.service-name}}"`,
                    `destination_workload="{{ target }}"`) become one `{selector}` at the end of their
                    matcher list — the cockpit's selector is what names the canary. Any other
                    placeholder is left as it is, with a warning.
  successCondition  `result[0] >= 0.95` → min = 0.95, `result[0] < 200` → max = 200 (`&&` of two
                    bounds both); a failureCondition is the inverse. Anything else is unsupported.
  thresholdRange    Flagger's min / max, from the Canary in the same file that references the template.
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
    notes: list[str] = field(default_factory=list)  # written as comments above the table


@dataclass
class AnalysisImport:
    source: str
    signals: list[ImportedSignal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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


def bounds(condition: str, where: str, invert: bool = False) -> tuple[float | None, float | None]:
    """(min, max) from `result[0] >= 0.95`-shaped conditions joined by `&&`; ConfigError naming what is unsupported."""
    low: float | None = None
    high: float | None = None
    for part in condition.split("&&"):
        found = _BOUND.match(part)
        if found:
            op, number = found.group(1), float(found.group(2))
        else:
            flipped = _FLIPPED.match(part)
            if not flipped:
                raise ConfigError(
                    f"{where}: condition {condition.strip()!r} is not supported "
                    "(only result[0] compared with a number, joined by &&)"
                )
            op, number = _MIRROR[flipped.group(2)], float(flipped.group(1))
        if invert:
            if "&&" in condition:
                raise ConfigError(f"{where}: failureCondition {condition.strip()!r} is not supported (one comparison only)")
            op = _NEGATE[op]
        if op.startswith(">"):
            low = number
        else:
            high = number
    return low, high


def _duration(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _argo(doc: dict[str, Any], file: str, result: AnalysisImport) -> None:
    template = (doc.get("metadata") or {}).get("name", "?")
    for metric in (doc.get("spec") or {}).get("metrics") or []:
        name = str(metric.get("name", "?"))
        where = f"{file}: metric {name!r}"
        provider = metric.get("provider") or {}
        kinds = [k for k in provider if k != "prometheus"]
        if "prometheus" not in provider:
            raise ConfigError(f"{where}: provider {', '.join(kinds) or 'none'} is not supported (only prometheus)")
        query = str((provider["prometheus"] or {}).get("query") or "")
        if not query.strip():
            raise ConfigError(f"{where}: the prometheus provider has no query")
        warnings: list[str] = []
        signal = ImportedSignal(signal_name(name), name, convert_query(query, warnings.append))
        if metric.get("successCondition"):
            signal.min, signal.max = bounds(str(metric["successCondition"]), where)
            if metric.get("failureCondition"):
                warnings.append(f"failureCondition {metric['failureCondition']!r} ignored: successCondition sets the limits")
        elif metric.get("failureCondition"):
            signal.min, signal.max = bounds(str(metric["failureCondition"]), where, invert=True)
        else:
            raise ConfigError(f"{where}: no successCondition or failureCondition: nothing to limit")
        interval = _duration(metric.get("interval"), f"{where}: interval")
        limit = int(metric.get("failureLimit") or 0)
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
        result.warnings.extend(f"{name}: {w}" for w in warnings)
        result.signals.append(signal)


def _flagger(doc: dict[str, Any], canaries: list[dict[str, Any]], file: str, result: AnalysisImport) -> None:
    template = str((doc.get("metadata") or {}).get("name", "?"))
    spec = doc.get("spec") or {}
    where = f"{file}: metric {template!r}"
    kind = str((spec.get("provider") or {}).get("type") or "none")
    if kind != "prometheus":
        raise ConfigError(f"{where}: provider {kind} is not supported (only prometheus)")
    uses = [
        (canary, metric)
        for canary in canaries
        for metric in ((canary.get("spec") or {}).get("analysis") or {}).get("metrics") or []
        if ((metric.get("templateRef") or {}).get("name")) == template
    ]
    if not uses:
        raise ConfigError(f"{where}: no thresholdRange: add the Canary whose analysis.metrics references it to the same file")
    canary, metric = uses[0]
    limits = metric.get("thresholdRange") or {}
    if limits.get("min") is None and limits.get("max") is None:
        raise ConfigError(f"{where}: the Canary's thresholdRange has neither min nor max")
    warnings: list[str] = []
    query = convert_query(str(spec.get("query") or ""), warnings.append)
    signal = ImportedSignal(signal_name(template), str(metric.get("name") or template), query)
    signal.min = float(limits["min"]) if limits.get("min") is not None else None
    signal.max = float(limits["max"]) if limits.get("max") is not None else None
    analysis = (canary.get("spec") or {}).get("analysis") or {}
    every = _duration(analysis.get("interval"), f"{where}: analysis.interval")
    window = _duration(metric.get("interval"), f"{where}: interval")
    signal.notes.append(f"from Flagger MetricTemplate {template!r}, Canary metric {signal.title!r}")
    if window:
        signal.notes.append(f"Flagger's window ({{{{ interval }}}}) was {format_duration(window)}: the cockpit's is [canary] window")
    threshold = int(analysis.get("threshold") or 0)
    if threshold > 1 and every:
        signal.for_s = (threshold - 1) * every
        signal.notes.append(f"for = (threshold {threshold} - 1) x analysis.interval {format_duration(every)}")
    result.warnings.extend(f"{template}: {w}" for w in warnings)
    result.signals.append(signal)


def read_analysis(path: Path) -> AnalysisImport:
    """The signals of every AnalysisTemplate / MetricTemplate in a YAML file; ConfigError (one line) when it cannot be."""
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
            _argo(doc, file, result)
        elif doc.get("kind") == "MetricTemplate":
            _flagger(doc, canaries, file, result)
    if not result.signals:
        raise ConfigError(f"{file}: no AnalysisTemplate, ClusterAnalysisTemplate or MetricTemplate with metrics in it")
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
        if signal.min is not None:
            lines.append(f"min = {_number(signal.min)}")
        if signal.max is not None:
            lines.append(f"max = {_number(signal.max)}")
        if signal.for_s:
            lines.append(f'for = "{format_duration(signal.for_s)}"')
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what we print must parse; a bug here is ours, not the user's
    return text
