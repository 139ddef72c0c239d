#!/usr/bin/env bash
# Installs what the tests need (PostgreSQL, pgBouncer, Prometheus + promtool, HAProxy, tmux; a
# virtualenv with the cockpit and its test tools), checks the import contracts and the engine's
# types, and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
command -v pgbouncer >/dev/null || missing+=(pgbouncer)
command -v tmux >/dev/null || missing+=(tmux)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
command -v runuser >/dev/null || missing+=(util-linux)
command -v openssl >/dev/null || missing+=(openssl)
command -v ssh-keygen >/dev/null && command -v ssh-agent >/dev/null || missing+=(openssh-client)   # signed evidence
[ -x /usr/sbin/chronyd ] || missing+=(chrony)
command -v chromium >/dev/null || missing+=(chromium)   # cockpit serve in a real browser
command -v shellcheck >/dev/null || missing+=(shellcheck)  # actionlint checks exported CI scripts with it
command -v zsh >/dev/null || missing+=(zsh)              # zsh -n on `cockpit completion zsh`
command -v fish >/dev/null || missing+=(fish)            # fish -n on `cockpit completion fish`
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,web]' 'playwright>=1.40'
# The house first (a broken layer, a lint error or an engine type error fails the run before the suite
# starts): lint-imports, seeing app/ widgets/ screens/ themes/ as the cockpit.* packages they install as;
# ruff over the whole tree; mypy on the engine.
.venv/bin/python -m tests.import_graph --no-logo
.venv/bin/ruff check --quiet .
.venv/bin/mypy cockpit/engine
export TEXTUAL_ANIMATIONS=none
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
