"""The release's written record, from its journal: the one-liner, the mini RCA draft, the release page.

One-liner (the seed's form; English and Turkish):
  v1.4.0 canary: 1%→100% all stages 8/8 metrics pass; rollback=0; p95=~140ms, 5xx=0.3%, …; event-loop p95=12ms, GC avg=8ms.
  v1.4.0 canary: 1%→25% rolled back at stage 3: p95_latency 412ms > 200ms; rollback=1; p95=~150ms, …
Each figure is the median of the signal's judged canary samples; a signal never
judged prints BLIND / INSUFFICIENT, one partly judged says how many samples were
not, and the "N/M metrics pass" count has every counted signal in M. A signal that
FAILed shows the value and limit that failed it first (the rollback's own reason,
else its last FAIL sample), then its median: a median never hides the breach.
Every word of the Turkish line is Turkish, state words included (BLIND -> VERİSİZ).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from cockpit.clock import iso_utc
from cockpit.events import Event
from cockpit.format import MISSING, format_clock, format_countdown, format_duration, format_value, format_weight
from cockpit.records.facts import NIGHT, Incident, ReleaseFacts, SignalFigure

# The seed's one-liner names the default playbook's signals its own way.
ONELINER_LABELS = {
    "p95_latency": "p95",
    "error_rate": "5xx",
    "ws_staleness": "ws_stale_p95",
    "risk_block_rate": "risk_block",
    "idempotency_conflicts": "idemp_conflict",
    "csp_violations": "csp_viol",
    "eventloop_lag": "event-loop p95",
    "gc_pause": "GC avg",
}
# Runtime signals come after a ";" in the seed's line, apart from the service's own.
RUNTIME_SIGNALS = ("eventloop_lag", "gc_pause")
APPROXIMATE = ("p95_latency",)  # the seed writes p95=~140ms: a median of p95s

LANGS = ("en", "tr")
_WORDS = {
    "en": {
        "all_pass": "all stages {n}/{m} metrics pass",
        "all_passed_but": "all stages passed; {n}/{m} metrics pass ({extra})",
        "rolled_back": "rolled back at stage {k}: {why}",
        "rollback_failed": "rollback FAILED at stage {k}: {why}",
        "aborted": "aborted at stage {k}: {why}",
        "running": "in progress at stage {k}",
        "trigger": "trigger {name} fired",
        "auto_trigger": "auto-trigger {name} fired",
        "blind": "{name} BLIND (no data)",
        "night_rollback": "first night: rolled back at hour {hour}",
        "not_judged": "{count}/{total} samples {state}",
        "failed_at": "{value} > {limit}",
        "median": "median {value}",
        "operator": "manual rollback by {name}",
        "without_go": "STARTED WITHOUT GO (by {by}: {reason})",
    },
    "tr": {
        "all_pass": "tüm aşamalar {n}/{m} metrik geçer",
        "all_passed_but": "tüm aşamalar geçti; {n}/{m} metrik geçer ({extra})",
        "rolled_back": "{k}. aşamada geri alındı: {why}",
        "rollback_failed": "{k}. aşamada geri alma BAŞARISIZ: {why}",
        "aborted": "{k}. aşamada durduruldu: {why}",
        "running": "{k}. aşamada sürüyor",
        "trigger": "tetikleyici {name} tetiklendi",
        "auto_trigger": "otomatik tetikleyici {name} tetiklendi",
        "blind": "{name} için veri yok",
        "night_rollback": "ilk gece: {hour}. saatte geri alındı",
        "not_judged": "{count}/{total} örnek {state}",
        "failed_at": "{value} > {limit}",
        "median": "medyan {value}",
        "operator": "{name} elle geri aldı",
        "without_go": "GO OLMADAN BAŞLATILDI ({by}: {reason})",
    },
}
# Status words as each language prints them; English keeps the cockpit's own words.
_STATES: dict[str, dict[str, str]] = {
    "en": {},
    "tr": {"PASS": "GEÇTİ", "FAIL": "BAŞARISIZ", "WARN": "UYARI", "BLIND": "VERİSİZ", "INSUFFICIENT": "YETERSİZ",
           "DRY-RUN": "DENEME"},
}


def oneliner_file(version: str) -> str:
    return f"release_oneliner_{version}.txt"


def rca_file(version: str) -> str:
    return f"mini_rca_{version}.md"


# ---------------------------------------------------------------- the one-liner


def figure_text(
    figure: SignalFigure,
    lang: str = "en",
    *,
    label: str | None = None,
    baseline: float | None = None,
    relative: bool = False,
    cause: tuple[float, float | None] | None = None,
) -> str:
    """`p95=~140ms`, `csp_viol=baseline+4%`, `ws_stale_p95=BLIND`, `5xx=0.3% (2/40 samples BLIND)`.

    A FAILed signal: `p95=412ms > 200ms (FAIL, median ~150ms)`, the failing value and limit from
    `cause` (the rollback's reason for it), else from its last FAIL sample.
    """
    words = _WORDS[lang]
    name = label or ONELINER_LABELS.get(figure.name, figure.name)
    verdict = figure.verdict
    if verdict in ("BLIND", "INSUFFICIENT"):
        return f"{name}={state_word(verdict, lang)}"
    median = figure.median
    assert median is not None  # judged values exist unless BLIND/INSUFFICIENT
    if relative and baseline is not None and baseline > 0:
        value = f"baseline{round((median / baseline - 1) * 100):+d}%"
    else:
        value = ("~" if figure.name in APPROXIMATE else "") + format_value(median, figure.unit)
    notes = [
        words["not_judged"].format(count=figure.states[state], total=figure.samples, state=state_word(state, lang))
        for state in ("BLIND", "INSUFFICIENT")
        if figure.states.get(state)
    ]
    failed = cause or figure.last_fail
    if verdict == "FAIL" and failed is not None:
        breach = _breach_text(failed[0], failed[1] if failed[1] is not None else figure.limit, figure.unit, lang)
        notes[:0] = [state_word("FAIL", lang), words["median"].format(value=value)]
        value = breach
    elif verdict != "PASS":
        notes.insert(0, state_word(verdict, lang))
    return f"{name}={value}" + (f" ({', '.join(notes)})" if notes else "")


def state_word(state: str, lang: str = "en") -> str:
    """A status word in the one-liner's language (`FAIL`, `BAŞARISIZ`); an unknown one as it is."""
    return _STATES[lang].get(state, state)


def _breach_text(value: float, limit: float | None, unit: str, lang: str) -> str:
    """`412ms > 200ms`: the value that failed a signal and the limit it failed (`<` under a floor)."""
    if limit is None:
        return format_value(value, unit)
    text = _WORDS[lang]["failed_at"].format(value=format_value(value, unit), limit=format_value(limit, unit))
    return text if value > limit else text.replace(" > ", " < ")


def failure_causes(facts: ReleaseFacts) -> dict[str, tuple[float, float | None]]:
    """Signal name -> (value, limit) the canary's rollback named it with, from rollback_started's reasons."""
    incident = facts.canary_incident
    causes: dict[str, tuple[float, float | None]] = {}
    for reason in incident.acting_reasons if incident is not None else []:
        value, limit = reason.get("value"), reason.get("limit")
        if reason.get("source") == "signal" and isinstance(value, (int, float)):
            causes.setdefault(str(reason.get("name")), (float(value), float(limit) if isinstance(limit, (int, float)) else None))
    return causes


def reason_text(reason: Mapping[str, Any], facts: ReleaseFacts, lang: str = "en") -> str:
    """A rollback reason in a few words: `p95_latency 412ms > 200ms`, `trigger x fired`."""
    words = _WORDS[lang]
    source = str(reason.get("source") or "")
    name = str(reason.get("name") or "")
    value, limit = reason.get("value"), reason.get("limit")
    if source == "signal" and isinstance(value, (int, float)) and isinstance(limit, (int, float)):
        figure = facts.signals.get(name)
        unit = figure.unit if figure is not None else ""
        return f"{name} {_breach_text(float(value), float(limit), unit, lang)}"
    if source in ("trigger", "alert"):
        auto = "auto" in str(reason.get("message") or "")
        return words["auto_trigger" if auto else "trigger"].format(name=name)
    if source == "blind":
        return words["blind"].format(name=name)
    if source == "operator":
        return words["operator"].format(name=name)
    return " ".join(str(reason.get("message") or name).split())


def release_oneliner(
    facts: ReleaseFacts,
    lang: str = "en",
    *,
    baseline: Mapping[str, float | None] | None = None,
    relative: Collection[str] = (),
    labels: Mapping[str, str] | None = None,
) -> str:
    """The release one-liner, every figure from the journal's canary samples."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: use one of {', '.join(LANGS)}")
    words = _WORDS[lang]
    first = format_weight(facts.weight_of(1)) if facts.stages or facts.plan else MISSING
    reached = facts.reached_stage
    span = f"{first}→{format_weight(facts.weight_of(reached))}"
    counted = facts.counted_signals
    incident = facts.canary_incident
    if facts.result == "promoted":
        passing = [f for f in counted if f.verdict == "PASS"]
        if len(passing) == len(counted):
            head = words["all_pass"].format(n=len(passing), m=len(counted))
        else:
            extra = _not_passing(counted, labels, lang)
            head = words["all_passed_but"].format(n=len(passing), m=len(counted), extra=extra)
    elif incident is not None:
        why = "; ".join(reason_text(r, facts, lang) for r in incident.acting_reasons[:2]) or MISSING
        key = "rolled_back" if incident.ok else "rollback_failed"
        if incident.ok is False and incident.done and incident.done.get("error"):
            why += f" ({incident.done.get('error')})"
        head = f"{span} " + words[key].format(k=incident.stage or reached, why=why)
        span = ""
    elif facts.result == "aborted":
        done = facts.done or {}
        why = str(done.get("error") or "; ".join(str(r.get("message")) for r in done.get("reasons") or []) or MISSING)
        head = f"{span} " + words["aborted"].format(k=reached, why=why)
        span = ""
    else:
        head = f"{span} " + words["running"].format(k=reached)
        span = ""
    rollbacks = sum(1 for i in facts.incidents if i.phase == "canary")
    causes = failure_causes(facts)
    service, runtime = [], []
    for figure in counted:
        text = figure_text(
            figure,
            lang,
            label=(labels or {}).get(figure.name),
            baseline=(baseline or {}).get(figure.name),
            relative=figure.name in relative,
            cause=causes.get(figure.name),
        )
        (runtime if figure.name in RUNTIME_SIGNALS else service).append(text)
    values = "; ".join(part for part in (", ".join(service), ", ".join(runtime)) if part)
    parts = [f"{facts.version} canary: " + (f"{span} {head}" if span else head), f"rollback={rollbacks}"]
    for override in facts.overrides[:1]:  # loud, right after the result: this run skipped the GO gate
        parts.insert(1, words["without_go"].format(by=override.get("by"), reason=override.get("reason")))
    if values:
        parts.append(values)
    for night in facts.night_incidents:
        if night.hour is not None:
            parts.append(words["night_rollback"].format(hour=f"{int(night.hour):02d}"))
    return "; ".join(parts) + "."


def _not_passing(counted: list[SignalFigure], labels: Mapping[str, str] | None, lang: str = "en") -> str:
    groups: dict[str, list[str]] = {}
    for figure in counted:
        if figure.verdict != "PASS":
            name = (labels or {}).get(figure.name) or ONELINER_LABELS.get(figure.name, figure.name)
            groups.setdefault(state_word(figure.verdict, lang), []).append(name)
    return ", ".join(f"{len(names)} {verdict}: {' '.join(names)}" for verdict, names in groups.items())


# ---------------------------------------------------------------- time


def _t_plus(ts: float, t0: float | None) -> str:
    """The canary clock at `ts` (T+MM:SS from its start), empty before a canary started."""
    return "" if t0 is None else format_countdown(ts - t0)


def _md(text: Any) -> str:
    """Text for a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


# ---------------------------------------------------------------- mini RCA


def incident_lines(incident: Incident, facts: ReleaseFacts) -> list[str]:
    """The facts of one rollback as Markdown bullets: what fired, detection, rollback timings."""
    where = (f"first night, hour {int(incident.hour):02d}" if incident.phase == NIGHT and incident.hour is not None
             else f"stage {incident.stage} ({format_weight(incident.weight)})")
    done = incident.done or {}
    outcome = ("rollback command succeeded" if incident.ok else
               "rollback command NOT recorded as done (interrupted?)" if incident.ok is None else
               f"rollback command FAILED: {done.get('error')}")
    lines = [
        f"- **Where:** {where}; {outcome}"
        + (f" after {done.get('attempts')} attempt(s)" if done.get("attempts") is not None else ""),
        f"- **Decision:** {str(incident.started.get('action') or 'rollback').replace('_', ' ')} at "
        f"{format_clock(incident.decided_at)} UTC",
        f"- **First seen bad:** {format_clock(incident.first_bad_at)} UTC ({incident.first_bad or 'unknown'})",
        f"- **Time to detect** (first bad sample → decision): {format_duration(incident.detect_s, 'measured')}",
        f"- **Time to roll back:** decision → command start {format_duration(incident.command_start_s, 'measured')}; "
        f"decision → command end {format_duration(incident.command_end_s, 'measured')}",
    ]
    wall = done.get("decision_to_command_wall_ms")
    if isinstance(wall, (int, float)):
        lines.append(f"- decision → command start measured in the cockpit process: {format_duration(wall / 1000, 'measured')}")
    if incident.recovered_at is not None and done.get("ts") is not None:
        lines.append(f"- **Recovered:** signals within limits {format_duration(incident.recovered_at - float(done['ts']), 'measured')} "
                     f"after the rollback ({format_clock(incident.recovered_at)} UTC)")
    elif incident.phase == "canary" and incident.ok:
        lines.append("- **Recovered:** not recorded within the recovery window")
    return lines


def reasons_table(incident: Incident, facts: ReleaseFacts) -> list[str]:
    rows = ["| source | name | value | limit | window | why |", "|---|---|---|---|---|---|"]
    for reason in incident.reasons:
        name = str(reason.get("name") or "")
        figure = facts.signals.get(name)
        unit = figure.unit if figure is not None else ""
        value = reason.get("value")
        limit = reason.get("limit")
        window = reason.get("window")
        rows.append(
            "| {} | {} | {} | {} | {} | {} |".format(
                _md(reason.get("source")) + (" (dry-run)" if reason.get("dry_run") else ""),
                _md(name),
                format_value(value, unit),
                format_value(limit, unit),
                format_duration(window) if isinstance(window, (int, float)) and window > 0 else MISSING,
                _md(reason.get("message") or ""),
            )
        )
    return rows


def timeline_table(facts: ReleaseFacts, limit: int = 200) -> list[str]:
    rows = ["| UTC | T+ | phase | what happened |", "|---|---|---|---|"]
    items = facts.timeline
    if len(items) > limit:
        items = items[: limit // 2] + [(items[limit // 2][0], "", f"… {len(items) - limit} entries left out …")] + items[-limit // 2 :]
    for ts, phase, text in items:
        rows.append(f"| {format_clock(ts)} | {_t_plus(ts, facts.t0)} | {phase.replace('_', ' ')} | {_md(text)} |")
    return rows


def override_lines(facts: ReleaseFacts) -> list[str]:
    """A run that started without GO, loudly: who, why, and what GO lacked."""
    lines = []
    for record in facts.overrides:
        missing = [str(m) for m in record.get("missing") or []]
        lines.append(f"- **⚠ STARTED WITHOUT GO** at {format_clock(record.get('ts'))} by {_md(record.get('by'))} "
                     f"({_md(record.get('user'))}): {_md(record.get('reason'))}"
                     + (f" — GO lacked {len(missing)} item(s): {_md('; '.join(missing[:3]))}" if missing else ""))
    return lines


def signoff_lines(signoffs: Sequence[Any], acceptances: Sequence[Any]) -> list[str]:
    """Who signed what (every signature, in order) and which results a person accepted, as Markdown."""
    lines = ["", "## Sign-offs", ""]
    if not signoffs:
        lines.append("No role signed.")
    else:
        lines += ["| role | signed | by | at | note |", "|---|---|---|---|---|"]
        for s in signoffs:
            lines.append(f"| {_md(s.role)} | {'GO' if s.go else '**NO-GO**'} | {_md(s.by)} | {_md(s.at)} | {_md(s.note)} |")
    if acceptances:
        lines += ["", "Accepted results (ACCEPTED, never PASS):", ""]
        lines += [f"- `{_md(a.check_id)}` {a.status} ACCEPTED by {_md(a.by)} at {_md(a.at)}: {_md(a.reason)}"
                  for a in acceptances]
    return lines


def rca_markdown(facts: ReleaseFacts, evidence_files: list[str], *, signoffs: Sequence[Any] | None = None,
                 acceptances: Sequence[Any] | None = None) -> str:
    """The mini RCA draft: summary, timeline, what fired, timings, evidence; cause and actions left to people."""
    lines = [f"# Mini RCA — {facts.version} (draft)", ""]
    date = iso_utc(facts.t0)[:10] if facts.t0 is not None else MISSING
    lines += [
        f"> Drafted by the cockpit from `journal.jsonl` ({facts.records} records, hash chain intact, head "
        f"`{facts.head[:16]}`). Times are UTC on {date}; T+ counts from the canary's start. "
        "Sections marked **✍ TO FILL IN** are for people: the cockpit knows what happened, not why.",
        "",
        "## Summary",
        "",
        f"- **Result:** {_result_words(facts)}",
    ]
    lines += override_lines(facts)
    incidents = facts.incidents
    if not incidents:
        lines.append("- **Rollbacks:** none; no trigger or signal decided a rollback.")
    for incident in incidents:
        what = ", ".join(f"{r.get('name')} ({r.get('source')})" for r in incident.acting_reasons[:4])
        lines.append(f"- **Rollback ({'first night' if incident.phase == NIGHT else 'canary'}):** fired by {what or MISSING}; "
                     f"detected in {format_duration(incident.detect_s, 'measured')}, traffic off the canary "
                     f"{format_duration(incident.command_end_s, 'measured')} after the decision")
    lines += signoff_lines(signoffs or [], acceptances or [])
    lines += ["", "## Timeline", ""] + timeline_table(facts)
    for number, incident in enumerate(incidents, start=1):
        title = "first night" if incident.phase == NIGHT else "canary"
        lines += ["", f"## Rollback {number} ({title}): what fired and how fast", ""]
        lines += incident_lines(incident, facts)
        lines += ["", "Reasons recorded with the decision:", ""] + reasons_table(incident, facts)
    fired = [t for t in facts.triggers_fired.values()]
    if fired:
        lines += ["", "## Triggers that fired during the canary", "", "| trigger | action | first firing | samples firing | active |",
                  "|---|---|---|---|---|"]
        for t in fired:
            action = f"{'auto ' if t.get('auto') else ''}{t.get('action')}" + (" (dry-run)" if t.get("dry_run") else "")
            lines.append(f"| {_md(t['name'])} | {_md(action)} | {format_clock(t.get('first_at'))} | {t.get('samples')} | "
                         f"{'yes' if t.get('active') else 'no'} |")
    lines += ["", "## Evidence", "", "Files in this release's evidence folder (hashes in `manifest.sha256`):", ""]
    lines += [f"- [{name}]({name})" for name in evidence_files] or ["- (none)"]
    lines += [
        "",
        "## Cause — ✍ TO FILL IN",
        "",
        "_What broke, and why the canary saw it here. Link the commit, the dashboard, the log lines._",
        "",
        "## Actions — ✍ TO FILL IN",
        "",
        "| action | owner | due |",
        "|---|---|---|",
        "|  |  |  |",
        "",
    ]
    return "\n".join(lines)


def _result_words(facts: ReleaseFacts) -> str:
    result = facts.result
    stage = facts.reached_stage
    where = f"stage {stage} ({format_weight(facts.weight_of(stage))})"
    if result == "promoted":
        text = f"PROMOTED: {len(facts.plan)} stages passed, at {format_weight(facts.weight_of(stage))}"
    elif result == "rolled_back":
        text = f"ROLLED BACK at {where}"
    elif result == "aborted":
        text = f"ABORTED at {where}: {(facts.done or {}).get('error') or MISSING}"
    else:
        text = f"RUNNING at {where} (no canary_done in the journal yet)"
    night = facts.night
    if night is not None:
        closed = len(night.closed)
        state = f"done, {night.done.get('verdict')}" if night.done else "in progress"
        text += f"; first night {state} ({closed}/{night.hours} hours closed)"
    return text


# ---------------------------------------------------------------- the release page


def check_file_summary(text: str) -> dict[str, Any]:
    """Counts per status and the non-PASS lines of a preflight.txt / redteam_<v>.txt."""
    statuses = ("PASS", "WARN", "FAIL", "UNKNOWN", "SKIPPED")
    counts: dict[str, int] = {}
    notable: list[str] = []
    overall = ""
    for line in text.splitlines():
        word = line.split(" ", 1)[0]
        if word in statuses:
            counts[word] = counts.get(word, 0) + 1
            if word != "PASS":
                notable.append(" ".join(line.split()))
        elif line.startswith("overall:"):
            overall = line.removeprefix("overall:").strip()
    return {"counts": counts, "notable": notable, "overall": overall}


def report_markdown(
    facts: ReleaseFacts,
    *,
    oneliner: str,
    evidence_files: list[str],
    checks: Mapping[str, str] | None = None,
    baseline: Mapping[str, float | None] | None = None,
    labels: Mapping[str, str] | None = None,
    signoffs: Sequence[Any] | None = None,
    acceptances: Sequence[Any] | None = None,
) -> str:
    """The whole release on one page, as Markdown (the terminal shows it through Rich)."""
    lines = [f"# Release {facts.version}", "", f"> {oneliner}", "", f"**Result:** {_result_words(facts)}", ""]
    if facts.overrides:
        lines += override_lines(facts) + [""]
    if facts.drill:
        lines += ["_This was a drill against the simulated service._", ""]
    for title, text in (checks or {}).items():
        summary = check_file_summary(text)
        counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items()) or "no results"
        lines += [f"## {title}", "", f"{counts}" + (f" — overall **{summary['overall']}**" if summary["overall"] else ""), ""]
        lines += [f"- `{_md(line)}`" for line in summary["notable"][:20]]
        if summary["notable"]:
            lines.append("")
    lines += signoff_lines(signoffs or [], acceptances or [])[1:] + [""]
    lines += ["## Stages", "", "| stage | weight | started | ran | holds | samples | decisions | result |",
              "|---|---|---|---|---|---|---|---|"]
    for number in sorted(facts.stages):
        stage = facts.stages[number]
        ran = (stage.ended_at - stage.started_at) if stage.ended_at is not None and stage.started_at is not None else None
        decisions = ", ".join(f"{n} {a}" for a, n in sorted(stage.decisions.items())) or "-"
        result = stage.result + (f" (promoted by {stage.promoted_by})" if stage.promoted_by else "")
        lines.append(f"| {number} | {format_weight(stage.weight)} | {format_clock(stage.started_at)} | "
                     f"{format_duration(ran, 'measured')} | {len(stage.holds)} | {stage.samples} | "
                     f"{_md(decisions)} | {_md(result)} |")
    notable = [d for d in facts.decisions if d.get("action") != "proceed" or d.get("phase") == NIGHT]
    lines += ["", "## Decisions", ""]
    if not facts.decisions:
        lines.append("No decision other than continue was journaled.")
    for decision in notable[:40] + ([] if notable else facts.decisions[:10]):
        reasons = [r for r in decision.get("reasons") or [] if isinstance(r, dict)]
        why = "; ".join(str(r.get("message")) for r in reasons[:3])
        lines.append(f"- {format_clock(decision.get('ts'))} {_t_plus(float(decision.get('ts') or 0), facts.t0)} stage "
                     f"{decision.get('stage')}: **{str(decision.get('action')).upper()}** {('— ' + _md(why)) if why else ''}")
    if len(notable) > 40:
        lines.append(f"- … {len(notable) - 40} more in the journal")
    lines += ["", "## Figures (canary samples)", "", "| signal | median | min | max | limit | baseline | verdict | samples |",
              "|---|---|---|---|---|---|---|---|"]
    for figure in facts.signals.values():
        def show(value: float | None, unit: str = figure.unit) -> str:
            return format_value(value, unit)

        base = (baseline or {}).get(figure.name)
        unjudged = ", ".join(f"{figure.states[s]} {s}" for s in ("BLIND", "INSUFFICIENT") if figure.states.get(s))
        name = (labels or {}).get(figure.name) or figure.name
        lines.append(f"| {_md(name)} | {show(figure.median)} | {show(figure.low)} | {show(figure.high)} | "
                     f"{show(figure.limit)} | {show(base)} | {figure.verdict} | {figure.samples}"
                     + (f" ({unjudged})" if unjudged else "") + " |")
    if facts.triggers_fired:
        lines += ["", "## Triggers that fired", "", "| trigger | action | first firing | samples | active |", "|---|---|---|---|---|"]
        for t in facts.triggers_fired.values():
            action = f"{'auto ' if t.get('auto') else ''}{t.get('action')}" + (" (dry-run)" if t.get("dry_run") else "")
            lines.append(f"| {_md(t['name'])} | {_md(action)} | {format_clock(t.get('first_at'))} | {t.get('samples')} | "
                         f"{'yes' if t.get('active') else 'no'} |")
    for incident in facts.incidents:
        lines += ["", f"## Rollback ({'first night' if incident.phase == NIGHT else 'canary'})", ""]
        lines += incident_lines(incident, facts)
    if facts.operator:
        lines += ["", "## Operator commands and notes", ""]
        for record in facts.operator[:40]:
            what = record.get("text") if record.get("event") == Event.NOTE else f"{record.get('command')}: {record.get('reason') or ''}"
            lines.append(f"- {format_clock(record.get('ts'))} {_md(record.get('by'))}: {_md(what)}")
    night = facts.night
    if night is not None:
        lines += ["", "## First night", ""]
        hours = night.hours or 0
        lines.append(f"{len(night.closed)}/{hours} hours closed"
                     + (f", back-filled from Prometheus history: {', '.join(f'{h:02d}' for h in night.backfilled)}" if night.backfilled else "")
                     + (f"; verdict **{night.done.get('verdict')}**" if night.done else "; still running"))
        lines += ["", "| hour | source | worst | triggers fired |", "|---|---|---|---|"]
        for record in night.closed:
            fired = ", ".join(sorted((record.get("triggers") or {}).keys())) or "-"
            source = "back-filled" if record.get("backfilled") else "live"
            lines.append(f"| {int(record.get('hour') or 0):02d} | {source} | {_md(record.get('worst') or MISSING)} | {_md(fired)} |")
        if night.done:
            lines += ["", f"Stability report: [{night.done.get('report')}]({night.done.get('report')})"]
    lines += ["", "## Evidence", ""] + ([f"- [{name}]({name})" for name in evidence_files] or ["- (none)"]) + [""]
    return "\n".join(lines)
