"""The drill's traffic command against a real simulator on loopback: weights move, rollbacks revert, failures say so."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from cockpit.drill import traffic
from cockpit.drill.scenario import load_scenario
from cockpit.drill.simulator import Simulator
from tests.services import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def simulator():
    sim = Simulator(load_scenario("latency_spike")).start()
    yield sim
    sim.stop()


def state(sim: Simulator) -> dict:
    with urllib.request.urlopen(f"{sim.url}/state", timeout=2) as response:
        return json.load(response)


def test_set_weight_and_rollback_as_argv_commands(simulator):
    base = [sys.executable, "-m", "cockpit.drill.traffic", "--url", simulator.url]
    done = subprocess.run([*base, "set-weight", "25"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "DRILL traffic: canary weight 25.0%" in done.stdout
    assert state(simulator)["weight"] == 25
    wait_until(lambda: state(simulator)["faults"][0]["started_at"], 2, "the fault to start on the next tick")
    done = subprocess.run([*base, "rollback"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "rolled back" in done.stdout
    now = state(simulator)
    assert now["weight"] == 0 and now["rolled_back"] and now["faults"][0]["ended_by"] == "rollback"


def test_bad_weight_and_unreachable_simulator(simulator, capsys):
    assert traffic.main(["--url", simulator.url, "set-weight", "150"]) == 2
    assert "not between 0 and 100" in capsys.readouterr().err
    url = simulator.url
    simulator.stop()
    assert traffic.main(["--url", url, "--timeout", "2", "rollback"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"DRILL traffic: cannot rollback at {url}") and "\n" == err[-1] and err.count("\n") == 1


def test_the_simulator_refuses_a_bad_weight_body(simulator):
    request = urllib.request.Request(f"{simulator.url}/weight", data=b'{"weight": "lots"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=2)
    assert caught.value.code == 400
    assert simulator.weight == 0
