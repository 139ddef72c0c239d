"""The README's traffic recipes: each loads as a config and renders the argument lists it documents.

No Kubernetes cluster runs here, so this is all that is checked for them: the
TOML in README.md's "Traffic systems" section, read from the file itself, loads
and fills in to exactly these commands (HAProxy is tested for real elsewhere).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from cockpit.config import validate_config
from cockpit.engine.haproxy import HAProxyRuntime
from cockpit.engine.read_back import CommandReader
from cockpit.engine.traffic import CommandTemplate, traffic_from_config

README = Path(__file__).resolve().parents[2] / "README.md"


def recipes() -> dict[str, str]:
    """Each `### name` of the Traffic systems section and its TOML block."""
    text = README.read_text()
    section = text[text.index("## Traffic systems"):]
    section = section[:section.index("\n## ", 1)]
    found: dict[str, str] = {}
    for part in section.split("\n### ")[1:]:
        name = part.splitlines()[0].strip()
        blocks = re.findall(r"```toml\n(.*?)```", part, re.S)
        assert len(blocks) == 1, f"### {name}: one TOML block expected"
        found[name] = blocks[0]
    return found


def adapter(name: str):
    config = validate_config(tomllib.loads(recipes()[name]), f"README.md ### {name}")
    traffic = traffic_from_config(config.traffic)
    assert traffic is not None
    return traffic


def argv(mover: CommandTemplate | CommandReader, action: str, weight: float) -> list[str]:
    command = mover.command if isinstance(mover, CommandReader) else mover
    return command.render(action, weight, "v1.4.0", 2)


def test_every_recipe_in_the_readme_is_checked():
    assert set(recipes()) == {"HAProxy", "nginx ingress", "Gateway API HTTPRoute", "Argo Rollouts"}


def test_nginx_ingress_annotates_the_canary_weight():
    traffic = adapter("nginx ingress")
    kubectl = ["kubectl", "-n", "shop", "annotate", "ingress", "web-canary", "--overwrite"]
    assert argv(traffic.shift_mover, "shift", 5) == [*kubectl, "nginx.ingress.kubernetes.io/canary-weight=5"]
    assert argv(traffic.rollback_mover, "rollback", 0) == [*kubectl, "nginx.ingress.kubernetes.io/canary-weight=0"]
    assert argv(traffic.reader, "read", 0) == [
        "kubectl", "-n", "shop", "get", "ingress", "web-canary", "-o",
        r"jsonpath={.metadata.annotations.nginx\.ingress\.kubernetes\.io/canary-weight}"]


def test_gateway_api_patches_both_backend_weights():
    traffic = adapter("Gateway API HTTPRoute")
    head = ["kubectl", "-n", "shop", "patch", "httproute", "web", "--type=json", "-p"]
    patch = ('[{"op": "replace", "path": "/spec/rules/0/backendRefs/0/weight", "value": %s}, '
             '{"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": %s}]')
    assert argv(traffic.shift_mover, "shift", 5) == [*head, patch % (95, 5)]
    assert traffic.rollback_mover is traffic.shift_mover  # the rollback is the same patch at 0
    assert argv(traffic.rollback_mover, "rollback", 0) == [*head, patch % (100, 0)]
    assert argv(traffic.reader, "read", 0) == [
        "kubectl", "-n", "shop", "get", "httproute", "web", "-o", "jsonpath={.spec.rules[0].backendRefs[1].weight}"]


def test_argo_rollouts_promotes_aborts_and_reads_the_status_weight():
    traffic = adapter("Argo Rollouts")
    assert argv(traffic.shift_mover, "shift", 5) == ["kubectl", "argo", "rollouts", "promote", "web", "-n", "shop"]
    assert argv(traffic.rollback_mover, "rollback", 0) == ["kubectl", "argo", "rollouts", "abort", "web", "-n", "shop"]
    assert argv(traffic.reader, "read", 0) == [
        "kubectl", "-n", "shop", "get", "rollout", "web", "-o", "jsonpath={.status.canary.weights.canary.weight}"]


def test_haproxy_recipe_loads_as_the_preset():
    traffic = adapter("HAProxy")
    assert isinstance(traffic.shift_mover, HAProxyRuntime) and traffic.reader.runtime is traffic.shift_mover
    assert traffic.shift_mover.config.socket == "/run/haproxy/admin.sock"
    assert traffic.describe() == ("shift: HAProxy /run/haproxy/admin.sock: set weight web/stable and web/canary; "
                                  "rollback: HAProxy /run/haproxy/admin.sock: set weight web/stable and web/canary; "
                                  "read back: HAProxy /run/haproxy/admin.sock: show servers state web")


@pytest.mark.parametrize("name", ["nginx ingress", "Gateway API HTTPRoute", "Argo Rollouts"])
def test_recipes_read_the_weight_back(name):
    assert isinstance(adapter(name).reader, CommandReader)
