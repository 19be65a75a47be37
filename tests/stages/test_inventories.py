"""Every example stack matches its inventory (tests/stages/inventories/<stack>.yaml).

An inventory holds the resource counts by type, the inputs that make the stack secure and highly
available, and the outputs (tests/helpers/inventory.py). Any change to them fails here with the
paths that differ; after an intended change, regenerate:
`LOOPER_UPDATE_INVENTORIES=1 pytest tests/stages/test_inventories.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import helpers.inventory as inventory_module
from helpers.inventory import (
    INVENTORIES,
    UPDATE_ENV,
    assert_matches_inventory,
    differences,
    inventory,
    path_of,
    pick,
    references,
    render,
)
from helpers.plans import EXAMPLE_STACKS, example_plan, example_values, plan_values

FIREWALL = "gcp:compute/firewall:Firewall"
INSTANCE = "gcp:compute/instance:Instance"


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_plan_matches_inventory(stack: str) -> None:
    assert_matches_inventory(stack, example_plan(stack))


def test_one_inventory_per_example_stack() -> None:
    assert sorted(p.stem for p in INVENTORIES.glob("*.yaml")) == sorted(EXAMPLE_STACKS)


def test_a_changed_key_fact_is_reported_with_its_path() -> None:
    """v1-dev with SSH opened to the internet and a bigger machine: the comparison names both."""
    values = example_values("v1-dev")
    values["access"] = {"allow_ssh_from_internet": True, "admin_ssh_cidrs": {"anyone": "0.0.0.0/0"}}
    values["vm"]["machine_type"] = "e2-standard-8"
    committed = yaml.safe_load(path_of("v1-dev").read_text(encoding="utf-8"))
    diff = differences(committed, inventory(plan_values(values, stack="v1-dev")))
    ssh = f"values[{FIREWALL}][firewall-allow-ssh-admin]"
    assert diff == [
        f"~ counts[{FIREWALL}]: 2 -> 3",
        f"+ {ssh}[allows]: [{{'ports': ['22'], 'protocol': 'tcp'}}]",
        f"+ {ssh}[direction]: 'INGRESS'",
        f"+ {ssh}[priority]: 1000",
        f"+ {ssh}[sourceRanges]: ['0.0.0.0/0']",
        f"+ {ssh}[targetTags]: ['looper-dev-ssh']",
        f"~ values[{INSTANCE}][app-instance][machineType]: 'e2-standard-2' -> 'e2-standard-8'",
    ]


def test_failure_message_shows_what_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack test's assertion names the file, the path, both values and how to regenerate."""
    committed = yaml.safe_load(path_of("v1-dev").read_text(encoding="utf-8"))
    committed["values"][INSTANCE]["app-instance"]["deletionProtection"] = True
    monkeypatch.setattr(inventory_module, "INVENTORIES", tmp_path)
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    path_of("v1-dev").write_text(render("v1-dev", committed), encoding="utf-8")
    with pytest.raises(AssertionError) as failed:
        assert_matches_inventory("v1-dev", example_plan("v1-dev"))
    message = str(failed.value)
    assert f"~ values[{INSTANCE}][app-instance][deletionProtection]: True -> False" in message
    assert "v1-dev.yaml" in message and "LOOPER_UPDATE_INVENTORIES=1" in message


def test_a_fresh_plan_renders_the_same_inventory() -> None:
    """Resources register concurrently; nothing in the inventory depends on their order."""
    fresh = plan_values(example_values("v4-dev"), stack="v4-dev")
    assert render("v4-dev", inventory(fresh)) == render("v4-dev", inventory(example_plan("v4-dev")))


def test_pick_paths() -> None:
    inputs = {
        "a": {"b.c": {"d": 1}},
        "xs": [{"y": 1}, {"y": 2}, {"z": 3}],
        "tunnel1Cidr": "x",
        "tunnel2Cidr": "y",
        "doc": '{"S": [{"E": "Allow"}]}',
    }
    assert dict(pick(inputs, 'a."b.c".d')) == {'a."b.c".d': 1}
    assert dict(pick(inputs, "xs[].y")) == {"xs[].y": [1, 2]}
    assert dict(pick(inputs, "tunnel?Cidr")) == {"tunnel1Cidr": "x", "tunnel2Cidr": "y"}
    assert dict(pick(inputs, "doc.@json.S[].E")) == {"doc.S[].E": ["Allow"]}
    assert dict(pick(inputs, "missing.path")) == {}


def test_ids_are_shown_as_the_names_of_their_resources() -> None:
    plan = example_plan("v4-dev")
    refs = references(plan)
    sg = next(r for r in plan.resources if r.name == "endpoints-sg")
    assert refs[str(sg.id)] == "SecurityGroup/endpoints-sg"
    rules = inventory(plan)["values"]["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    https = rules["endpoints-sg-in-tcp-443-from-10.1.0.0-16"]
    assert https["securityGroupId"] == "ref:SecurityGroup/endpoints-sg"


def test_no_key_material_in_inventories() -> None:
    for path in INVENTORIES.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN" not in text and "PRIVATE KEY" not in text, path.name
        assert "secretString" not in text and "stringData" not in text, path.name


def test_secret_looking_text_is_refused() -> None:
    with pytest.raises(ValueError, match="secret-looking"):
        render("x", {"counts": {}, "values": {}, "outputs": {"key": "-----BEGIN RSA PRIVATE KEY-----"}})
