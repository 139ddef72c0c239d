"""The traffic command a test or bench gives the cockpit: set one app's canary weight on tests/traffic_service.py.

    python tests/traffic_weight.py SERVICE_URL APP WEIGHT      # [traffic] set_weight, with "{weight}"
    python tests/traffic_weight.py SERVICE_URL APP 0           # [traffic] rollback

Exit 0 when the service took the weight, 1 (and one line) when it did not: the cockpit journals it.
"""

from __future__ import annotations

import sys
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: traffic_weight.py SERVICE_URL APP WEIGHT", file=sys.stderr)
        return 2
    url, app, weight = argv
    request = urllib.request.Request(f"{url.rstrip('/')}/apps/{app}/weight", data=weight.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as failed:
        print(f"could not set {app}'s weight to {weight}: {failed}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
