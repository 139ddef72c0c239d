"""The operator's commands on a live canary run, as they arrive over the control socket.

status answers at once; note, hold, resume and promote are journaled and
applied at once; rollback interrupts whatever the stage was doing (a running
shift command is killed) and answers once the rollback command has run. A
promotion is refused while the stage's last sample has a failing, blind or
firing signal: a promotion never rests on one.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from cockpit.engine.model import Action, Reason
from cockpit.events import Event
from cockpit.format import format_weight
from cockpit.run.canary_rollback import Ending
from cockpit.run.warroom_log import IC_CALLS

if TYPE_CHECKING:
    from cockpit.run.canary import CanaryRun


class OperatorDesk:
    """Answers the control socket's requests for one canary run."""

    def __init__(self, run: CanaryRun) -> None:
        self.run = run

    def status(self) -> dict[str, Any]:
        """Where the run stands, for `cockpit ctl VERSION status` and the TUI."""
        current = self.run.state.current
        now = self.run.clock.now()
        last = self.run.state.last_decision
        held = self.run.state.operator_hold
        return {
            "version": self.run.version,
            "pid": os.getpid(),
            "phase": self.run.phase,
            "now": now,
            "t0": self.run.state.t0,
            "stage": current.stage if current else 0,
            "stages": len(self.run.plan),
            "weight": current.weight if current else 0.0,
            "stage_started_at": current.started_at if current else None,
            "ends_at": current.ends_at if current else None,
            "time_left_s": round(max(0.0, current.ends_at - now), 3) if current else None,
            "holds_used": current.holds_used if current else 0,
            "max_holds": self.run.canary.max_holds,
            "held_by": held.get("by") if held else None,
            "last_decision": {
                "action": last.get("action"),
                "at": last.get("at", last.get("ts")),
                "reasons": [r.get("message") for r in (last.get("reasons") or [])[:6]],
            } if last else None,
            "drill": self.run.drill,
            "dry_traffic": self.run.dry_traffic,
            "seq": self.run.journal.last_seq if self.run.journal else 0,
            "journal": str(self.run.journal_path),
        }

    def _promote_refusal(self, stage: int) -> str | None:
        last = self.run.state.last_sample
        if last is None or last.get("stage") != stage or last.get("phase") == "recovery":
            return "no evaluation in this stage yet: wait for the first sample before promoting"
        bad = [f"{n} {d.get('state')}" for n, d in (last.get("signals") or {}).items()
               if not d.get("dry_run") and d.get("state") in ("FAIL", "BREACHING", "BLIND")]
        active = [n for n, d in (last.get("triggers") or {}).items()
                  if not d.get("dry_run") and d.get("active") and d.get("action") in ("rollback", "hold")]
        if bad or active:
            return f"refused: {', '.join(bad + active)}: a promotion never rests on a failing, blind or firing signal"
        return None

    async def on_command(self, request: dict[str, Any], peer: Any) -> dict[str, Any]:
        """Apply one operator's request; the reply says what was done or why not."""
        command = request["command"]
        who = peer.user + (f" ({str(request['by'])[:40]})" if request.get("by") else "")
        text = " ".join(str(request.get("reason") or request.get("text") or "").split())[:500]
        if command == "status":
            return {"ok": True, "status": self.status()}
        if self.run.phase in ("finishing", "done"):
            return {"ok": False, "error": f"the run is finished ({self.run.phase}): nothing to {command}"}
        stage, weight = self.run._where()
        if command == "note" and request.get("call") is not None:
            return self._ic_call(stage, weight, who, str(request["call"]), text)
        if command == "note":
            if not text:
                return {"ok": False, "error": "a note needs text"}
            self.run.emit(Event.NOTE, stage=stage, weight=weight, text=text, by=who)
            self.run.evidence.warroom_event(stage, weight, f"NOTE {who}: {text}")
            return {"ok": True, "message": "note recorded"}
        if self.run.phase in ("rolling_back", "recovering"):
            if command == "rollback":
                return await self._rollback_reply("already rolling back", request)
            return {"ok": False, "error": f"the run is rolling back: {command} is not possible now"}
        if command == "rollback":
            return await self._rollback_now(stage, weight, who, text or "manual rollback", request)
        if command == "hold":
            return self._operator_hold(stage, weight, who, text)
        if command == "resume":
            if self.run.state.operator_hold is None:
                return {"ok": False, "error": "the stage is not held by an operator"}
            self.run.emit(Event.OPERATOR, stage=stage, weight=weight, command="resume", by=who, reason=text)
            self.run.evidence.warroom_event(stage, weight, f"RESUME by {who}" + (f": {text}" if text else ""))
            self.run.wake.set()
            return {"ok": True, "message": f"resumed stage {stage}"}
        if command == "promote":
            if self.run.phase != "stage":
                return {"ok": False, "error": f"no stage is running ({self.run.phase}): try again in a moment"}
            refusal = self._promote_refusal(stage)
            if refusal:
                return {"ok": False, "error": refusal}
            self.run.emit(Event.OPERATOR, stage=stage, weight=weight, command="promote", by=who, reason=text)
            self.run.evidence.warroom_event(stage, weight, f"PROMOTE NOW by {who}" + (f": {text}" if text else ""))
            self.run.promote_by = who
            self.run.wake.set()
            return {"ok": True, "message": f"stage {stage} ({format_weight(weight)}) ends now; moving on"}
        return {"ok": False, "error": f"unknown command {command!r}"}

    def _ic_call(self, stage: int, weight: float, who: str, call: str, text: str) -> dict[str, Any]:
        """The IC's own call, journaled beside the engine's decision: it holds nothing and moves no traffic."""
        call = call.strip().upper()
        if call not in IC_CALLS:
            return {"ok": False, "error": f"unknown call {call!r} (use one of {', '.join(IC_CALLS)})"}
        self.run.emit(Event.IC_CALL, stage=stage, weight=weight, call=call, by=who, reason=text)
        ic = self.run.state.ic
        self.run.evidence.warroom_event(stage, weight, f"IC CALL {call} by {who}" + (f" (IC {ic})" if ic else "")
                                        + (f": {text}" if text else ""))
        return {"ok": True, "message": f"IC call {call} recorded for stage {stage}; the engine still decides"
                + (" (a ROLLBACK call moves no traffic: `cockpit ctl V rollback` does)" if call == "ROLLBACK" else "")}

    def _operator_hold(self, stage: int, weight: float, who: str, text: str) -> dict[str, Any]:
        held = self.run.state.operator_hold
        if held is not None:
            return {"ok": True, "message": f"already held by {held.get('by')}"}
        self.run.emit(Event.OPERATOR, stage=stage, weight=weight, command="hold", by=who, reason=text)
        current = self.run.state.stages.get(stage)
        message = f"held by {who}" + (f": {text}" if text else "") + ": the stage waits for `resume`"
        self.run.emit(Event.HOLD, stage=stage, weight=weight, until=None, holds_used=current.holds_used if current else 0,
                  reasons=[Reason("operator", who, message).as_dict()], by=who)
        self.run.evidence.warroom_event(stage, weight, f"HOLD by {who}" + (f": {text}" if text else ""))
        self.run.say(f"stage {stage} {message}", loud=True)
        return {"ok": True, "message": f"stage {stage} held: it will not proceed until `resume` (limits still roll back)"}

    async def _rollback_now(self, stage: int, weight: float, who: str, reason: str, request: dict[str, Any]) -> dict[str, Any]:
        now, perf = self.run.clock.now(), time.perf_counter()
        reasons = [Reason("operator", who, f"manual rollback by {who}: {reason}").as_dict()]
        self.run.emit(Event.OPERATOR, stage=stage, weight=weight, command="rollback", by=who, reason=reason)
        self.run.emit(Event.DECISION, stage=stage, weight=weight, action=Action.ROLLBACK.value, reasons=reasons, at=now, operator=True)
        self.run.phase = "rolling_back"
        if self.run.operator_rollback is not None and not self.run.operator_rollback.done():
            self.run.operator_rollback.set_result(Ending("rollback", reasons, now, Action.ROLLBACK.value, perf))
        return await self._rollback_reply("rollback started", request)

    async def _rollback_reply(self, message: str, request: dict[str, Any]) -> dict[str, Any]:
        """Answer once the rollback command has run (or after `wait` seconds, saying it still runs)."""
        wait = request.get("wait", 30)
        wait = float(wait) if isinstance(wait, (int, float)) and not isinstance(wait, bool) else 30.0
        if self.run.rollback_finished is None:
            return {"ok": True, "message": message}
        try:
            done = await asyncio.wait_for(asyncio.shield(self.run.rollback_finished), timeout=max(0.0, wait))
        except TimeoutError:
            return {"ok": True, "message": f"{message}; the rollback command is still running"}
        keys = ("ok", "attempts", "decided_at", "command_started_at", "command_ended_at", "decision_to_command_ms", "error")
        rollback = {k: done.get(k) for k in keys}
        if done.get("ok"):
            return {"ok": True, "message": f"{message}; rollback done", "rollback": rollback}
        return {"ok": False, "error": f"rollback FAILED: {done.get('error')}", "rollback": rollback}
