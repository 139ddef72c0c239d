"""The cockpit's exceptions: one base, and the one kind whose exit code differs.

Every exception the cockpit raises on purpose derives from `CockpitError`; its text is already one
line for the person at the terminal (what, where, why; never a secret). The CLI catches the base
once, prints `cockpit: <text>` on stderr and exits with the error's `exit_code`: no traceback.

- `CockpitError` (exit 2): bad input, configuration or state the person has to fix
  (ConfigError, UsageError, BadVersion, a journal that changed, a run that cannot start...).
- `UnavailableError` (exit 3): a system the cockpit needs did not answer (a database, an NTP
  server, Prometheus, the run's control socket): nothing is known to be wrong with the release.

One signal is not an error: `LeaseLost` (cockpit.run.state_store) is a BaseException, like a
cancellation, because a controller that lost its run's lease must step down through every
`except Exception` on its way out (none may roll back "to be safe"); `cockpit canary` catches it by
name and exits 4.

A check that cannot look is not an exception: it is an UNKNOWN result with its reason. These
exceptions stop a command; the checks catch the source ones and turn them into results.
"""

from __future__ import annotations

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


class CockpitError(Exception):
    """Base of the cockpit's own exceptions: one line of text, and the exit code the CLI leaves with."""

    exit_code: int = EXIT_USAGE


class UnavailableError(CockpitError):
    """A system the cockpit needs could not be asked (database, NTP, Prometheus, control socket): exit 3."""

    exit_code = EXIT_UNAVAILABLE
