"""The drill's traffic command: move the simulated canary's weight, as a real traffic command would.

    python -m cockpit.drill.traffic --url http://127.0.0.1:PORT set-weight 25
    python -m cockpit.drill.traffic --url http://127.0.0.1:PORT rollback

The drill configures it as [traffic] set_weight / rollback, so a drill goes
through the same argv traffic adapter (retries, timeouts, evidence) as a real
release. Exit 0 done, 1 the simulator refused or could not be reached, 2 bad
arguments. Standard library only: it starts in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

TIMEOUT_S = 5.0


def post(url: str, path: str, body: dict[str, object], timeout: float = TIMEOUT_S) -> dict[str, object]:
    """POST JSON to the simulator; the decoded answer, or OSError / ValueError with one line."""
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:200]
        raise ValueError(f"the simulator answered HTTP {exc.code}: {detail}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cockpit.drill.traffic", description="Move the DRILL simulator's canary weight.")
    parser.add_argument("--url", required=True, help="the simulator, e.g. http://127.0.0.1:9500")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S)
    sub = parser.add_subparsers(dest="action", required=True)
    shift = sub.add_parser("set-weight", help="send this share of the traffic to the canary")
    shift.add_argument("weight", type=float)
    sub.add_parser("rollback", help="weight 0: the canary back on the stable build")
    args = parser.parse_args(argv)
    try:
        if args.action == "set-weight":
            if not 0 <= args.weight <= 100:
                print(f"DRILL traffic: weight {args.weight:g} is not between 0 and 100", file=sys.stderr)
                return 2
            answer = post(args.url, "/weight", {"weight": args.weight}, args.timeout)
            print(f"DRILL traffic: canary weight {answer.get('weight')}%")
        else:
            answer = post(args.url, "/rollback", {}, args.timeout)
            print(f"DRILL traffic: rolled back, canary weight {answer.get('weight')}%")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        print(f"DRILL traffic: cannot {args.action} at {args.url}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
