"""The Examples section at the end of every command's `--help`, in one place.

cockpit.cli.build_parser puts each command's lines into its parser's epilog; a
test runs every line through the real parser, so an example cannot name a flag
that no longer exists.
"""

from __future__ import annotations

import argparse

EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": ("cockpit init", "cockpit init --playbook red ~/.config/cockpit/cockpit.toml"),
    "config": ("cockpit config path", "COCKPIT_CONFIG=/etc/cockpit/prod.toml cockpit config path"),
    "completion": ("cockpit completion bash > ~/.local/share/bash-completion/completions/cockpit",
                   "cockpit completion zsh > ~/.zfunc/_cockpit",
                   "cockpit completion fish > ~/.config/fish/completions/cockpit.fish"),
    "preflight": ("cockpit preflight v1.4.0", "cockpit preflight v1.4.0 --json > preflight.json"),
    "redteam": ("cockpit redteam v1.4.0", "cockpit redteam v1.4.0 --evidence-dir /srv/evidence"),
    "blast-radius": ("cockpit blast-radius https://canary.example.internal/ v1.4.0 30",),
    "artifacts": ("cockpit artifacts", "cockpit artifacts v1.4.0 --json"),
    "check": ("cockpit check preflight.pg_bloat", "cockpit check preflight.time_drift --version v1.4.0"),
    "checks": ("cockpit checks", "cockpit checks --config staging.toml"),
    "evidence": ("cockpit evidence verify v1.4.0", "cockpit evidence seal v1.4.0",
                 'cockpit evidence seal v1.4.0 --reseal --reason "flags file fixed after review" --by AB',
                 "cockpit evidence seal v1.4.0 --by AB --sign ~/.ssh/id_ed25519",
                 "cockpit evidence verify v1.4.0 --evidence-dir ev --allowed-signers allowed_signers"),
    "go": ("cockpit go v1.4.0", "cockpit go v1.4.0 --json"),
    "signoff": ("cockpit signoff v1.4.0 --role security --go --by AB",
                'cockpit signoff v1.4.0 --role cto --no-go --by CD --note "wait for the DB fix"',
                "cockpit signoff v1.4.0 --role security --go --by SE --sign ~/.ssh/id_ed25519.pub"),
    "accept": ('cockpit accept v1.4.0 preflight.time_drift --by AB --reason "NTP peer known slow; drift within 0.2s"',),
    "seal": ("cockpit seal v1.4.0 --by AB", "cockpit seal v1.4.0 --by AB --sign ~/.ssh/id_ed25519"),
    "tick": ('cockpit tick gonogo.oncall v1.4.0 --initials AB --note "Ayşe + Bob"',),
    "canary": ("cockpit canary v1.4.0 --headless --events -", "cockpit canary v1.4.0 --detach --ic AB",
               "cockpit canary v1.4.0 --headless --dry-traffic", "cockpit canary v1.4.0 --headless --strict",
               'cockpit canary v1.4.0 --headless --without-go --reason "hotfix, CTO on the bridge" --by AB',
               "cockpit canary v1.4.0 --headless --standby"),
    "signals": ("cockpit signals probe", "cockpit signals probe v1.4.0 --strict", "cockpit signals probe --json"),
    "ctl": ("cockpit ctl v1.4.0 status", "cockpit ctl v1.4.0 status --from-state", 'cockpit ctl v1.4.0 rollback --reason "p95 climbing" --by AB',
            'cockpit ctl v1.4.0 note "DB failover drill at 14:30"', 'cockpit ctl v1.4.0 note "metrics flat" --call GO --by AB'),
    "tui": ("cockpit tui v1.4.0", "cockpit tui --config cockpit.toml v1.4.0 --t0 +30m --by AB",
            "cockpit tui --drill latency_spike"),
    "attach": ("cockpit attach v1.4.0", "cockpit attach v1.4.0 --theme light --no-mouse",
               "cockpit attach v1.4.0 --from-state --config cockpit.toml"),
    "watch": ("cockpit watch v1.4.0", "cockpit watch v1.4.0 --low-color"),
    "serve": ("cockpit serve v1.4.0", "cockpit serve v1.4.0 --port 8765"),
    "drill": ("cockpit drill", "cockpit drill latency_spike --headless", "cockpit drill --list"),
    "first-night": ("cockpit first-night v1.4.0", "cockpit first-night v1.4.0 --hours 2 --hour-length 5m",
                    "cockpit first-night v1.4.0 --standby"),
    "export": ("cockpit export rules --out cockpit-rules.yml --tests cockpit-rules.test.yml",
               "cockpit export grafana --out dashboard.json",
               "cockpit export ci --github --out .github/workflows/canary-release.yml",
               "cockpit export ci --gitlab --out .gitlab-ci.yml"),
    "replay": ("cockpit replay --from=-2h --to now --step 15s",),
    "oneliner": ("cockpit oneliner v1.4.0 --lang tr",),
    "rca": ("cockpit rca v1.4.0",),
    "state": ("cockpit state init", "cockpit state init --config cockpit.toml"),
    "runs": ("cockpit runs", "cockpit runs --json --limit 20"),
    "runbook": ("cockpit runbook", "cockpit runbook rollback-by-hand", "cockpit runbook db-restore --config cockpit.toml"),
    "report": ("cockpit report v1.4.0 --out release.md",),
    "import": ("cockpit import analysis success-rate.yaml >> cockpit.toml",
               "cockpit import analysis flagger-metrics.yaml"),
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the Examples epilog as written (one command a line); every other text is wrapped as usual."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("Examples:"):
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def add_examples(command: str, parser: argparse.ArgumentParser) -> None:
    """Put `command`'s examples at the end of its help (a command without any is left as it is)."""
    lines = EXAMPLES.get(command)
    if lines:
        parser.epilog = "Examples:\n" + "\n".join(f"  {line}" for line in lines)
        parser.formatter_class = HelpFormatter
