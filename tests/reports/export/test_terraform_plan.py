"""Terraform plan JSON export (looper_infra.reports.export) and the checkov scan of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers.export import (
    FIXTURES,
    Failure,
    failures,
    resource,
    run_checkov,
    tiny_plan,
    unwaived,
    waiver_gaps,
)
from helpers.plans import EXAMPLE_STACK_FILES, ROOT, example_values, plan_values
from helpers.tools import checkov_exe
from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.reports.export import TYPE_MAP, UnmappedType, checkov, to_terraform_plan
from looper_infra.reports.export.terraform_plan import terraform_values, unmapped_types

WAIVERS = ROOT / "checkov-waivers.yaml"
STACKS = [p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in EXAMPLE_STACK_FILES]

_plans: dict[str, Plan] = {}


def stack_plan(stack: str) -> Plan:
    if stack not in _plans:
        _plans[stack] = plan_values(example_values(stack), stack=stack)
    return _plans[stack]


def exported(plan: Plan) -> list[RecordedResource]:
    return [r for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")]


# --- the export ------------------------------------------------------------------------------------

def test_stacks_found() -> None:
    assert {"v1-dev", "v2-dev", "v3-dev"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_type_of_every_stack_is_mapped(stack: str) -> None:
    types = {r.type for r in exported(stack_plan(stack))}
    assert unmapped_types(types) == [], f"add these Pulumi types to TYPE_MAP ({stack})"
    to_terraform_plan(stack_plan(stack))  # does not raise


def test_type_map_targets_look_like_terraform_types() -> None:
    for pulumi_type, tf_type in TYPE_MAP.items():
        assert tf_type.startswith(("google_", "random_", "aws_", "tls_", "kubernetes_", "helm_")), pulumi_type
        assert tf_type == tf_type.lower() and " " not in tf_type
    assert TYPE_MAP["gcp:compute/instance:Instance"] == "google_compute_instance"
    assert TYPE_MAP["gcp:storage/bucket:Bucket"] == "google_storage_bucket"
    assert TYPE_MAP["random:index/randomPassword:RandomPassword"] == "random_password"


def test_unmapped_type_raises_naming_it() -> None:
    plan = tiny_plan(resource("gcp:foo/bar:Baz", "mystery", {}))
    with pytest.raises(UnmappedType, match=r"gcp:foo/bar:Baz") as info:
        to_terraform_plan(plan)
    assert info.value.type == "gcp:foo/bar:Baz"
    assert "mystery" in str(info.value)


def test_components_and_providers_are_not_exported() -> None:
    plan = tiny_plan(
        resource("pulumi:providers:gcp", "gcp", {"project": "p"}),
        resource("looper:gcp:Network", "network", {}, custom=False),
        resource("gcp:compute/network:Network", "network-vpc", {"name": "vpc"}),
    )
    doc = to_terraform_plan(plan)
    assert [r["address"] for r in doc["resource_changes"]] == ["google_compute_network.network-vpc"]


def test_v3_dev_document_shape() -> None:
    plan = stack_plan("v3-dev")
    doc = to_terraform_plan(plan)
    assert {"format_version", "terraform_version", "planned_values", "resource_changes",
            "configuration"} <= doc.keys()
    planned = doc["planned_values"]["root_module"]["resources"]
    changes = doc["resource_changes"]
    configured = doc["configuration"]["root_module"]["resources"]
    count = len(exported(plan))
    assert count > 0
    assert len(planned) == len(changes) == len(configured) == count
    addresses = [r["address"] for r in planned]
    assert len(set(addresses)) == count
    assert [c["address"] for c in changes] == addresses == [c["address"] for c in configured]
    for r in planned:
        assert r["mode"] == "managed"
        assert r["address"] == f"{r['type']}.{r['name']}"
        assert r["provider_name"].startswith("registry.terraform.io/hashicorp/")
        assert isinstance(r["values"], dict)
    for c in changes:
        assert c["change"]["actions"] == ["create"]
        assert isinstance(c["change"]["after"], dict)
    json.dumps(doc)  # serializable


def test_values_follow_the_terraform_schema() -> None:
    values = terraform_values({
        "machineType": "e2-small",
        "bootDisk": {"initializeParams": {"image": "ubuntu"}, "autoDelete": True},
        "networkInterfaces": [{"subnetwork": "s", "accessConfigs": [{"natIp": "1.2.3.4"}]}],
        "attachedDisks": [{"source": "d"}],
        "guestAccelerators": [{"type": "nvidia-l4", "count": 1}],
        "shieldedInstanceConfig": {"enableVtpm": True},
        "metadata": {"block-project-ssh-keys": "TRUE"},
        "labels": {"role": "app"},
        "allows": [{"protocol": "tcp", "ports": ["22"]}],
        "lifecycleRules": [{"condition": {"age": 30}, "action": {"type": "Delete"}}],
        "versioning": {"enabled": True},
        "secretData": "[secret]",
    })
    assert values == {
        "machine_type": "e2-small",
        "boot_disk": [{"initialize_params": [{"image": "ubuntu"}], "auto_delete": True}],
        "network_interface": [{"subnetwork": "s", "access_config": [{"nat_ip": "1.2.3.4"}]}],
        "attached_disk": [{"source": "d"}],
        "guest_accelerator": [{"type": "nvidia-l4", "count": 1}],
        "shielded_instance_config": [{"enable_vtpm": True}],
        "metadata": {"block-project-ssh-keys": "TRUE"},
        "labels": {"role": "app"},
        "allow": [{"protocol": "tcp", "ports": ["22"]}],
        "lifecycle_rule": [{"condition": [{"age": 30}], "action": [{"type": "Delete"}]}],
        "versioning": [{"enabled": True}],
        "secret_data": "[secret]",
    }


def test_secrets_stay_redacted_in_the_export() -> None:
    text = json.dumps(to_terraform_plan(stack_plan("v3-dev")))
    assert '"secret_data": "[secret]"' in text
    for r in stack_plan("v3-dev").resources:
        for key, value in r.state.items():
            if key in ("result", "secretData") and isinstance(value, str) and len(value) >= 16:
                assert value not in text


def test_references_come_from_property_dependencies() -> None:
    doc = to_terraform_plan(stack_plan("v3-dev"))
    by_address = {r["address"]: r for r in doc["configuration"]["root_module"]["resources"]}
    firewall = by_address["google_compute_firewall.firewall-allow-ssh-iap"]
    assert "google_compute_network.network-vpc" in firewall["expressions"]["network"]["references"]


# --- checkov -----------------------------------------------------------------------------------------

evaluated = checkov.evaluated


def test_checkov_reads_the_v3_dev_export(tmp_path: Path) -> None:
    report = run_checkov(to_terraform_plan(stack_plan("v3-dev")), tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    assert evaluated(report) > 0
    assert report["summary"]["resource_count"] == len(exported(stack_plan("v3-dev")))


def test_checkov_flags_the_known_bad_fixture(tmp_path: Path) -> None:
    fixture = json.loads((FIXTURES / "known-bad.json").read_text(encoding="utf-8"))
    plan = tiny_plan(*(resource(r["type"], r["name"], r["inputs"]) for r in fixture["resources"]))
    report = run_checkov(to_terraform_plan(plan), tmp_path)
    assert evaluated(report) > 0
    expected = {(check, address) for check, address in fixture["expected_failures"].items()}
    assert expected <= failures(report), sorted(expected - failures(report))


@pytest.fixture(scope="module")
def failures_without_waivers(tmp_path_factory: pytest.TempPathFactory) -> list[Failure]:
    """One checkov run over every example stack's export (checkov's start-up dominates a per-stack
    run), with no waiver: (stack, check, address) of every failed check."""
    tmp_path = tmp_path_factory.mktemp("checkov")
    for stack in STACKS:
        (tmp_path / f"{stack}.json").write_text(json.dumps(to_terraform_plan(stack_plan(stack))),
                                                encoding="utf-8")
    report = checkov.run_checkov_dir(tmp_path, "terraform_plan", checkov_exe(), tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    assert evaluated(report) == sum(len(exported(stack_plan(s))) for s in STACKS)
    found = [(Path(c["file_path"]).stem, c["check_id"], c["resource"])
             for c in report["results"]["failed_checks"]]
    assert {stack for stack, _, _ in found} <= set(STACKS)
    return found


def test_example_stacks_have_no_unwaived_checkov_failures(failures_without_waivers: list[Failure]) -> None:
    waivers = checkov.load_waivers(WAIVERS)
    assert all(w.reason for w in waivers)
    assert unwaived(waivers, failures_without_waivers) == [], \
        "fix these or waive them in checkov-waivers.yaml"


def test_every_waived_check_fails_without_its_waiver(failures_without_waivers: list[Failure]) -> None:
    """Each waiver's check fails on each resource pattern and in each stack pattern it names; a
    waiver (or a pattern of one) that matches nothing is to be removed."""
    gaps = waiver_gaps(checkov.load_waivers(WAIVERS), failures_without_waivers)
    assert gaps == [], "these waivers (or patterns) match nothing any more: remove them"


def test_waiver_gaps_name_what_matches_nothing() -> None:
    waiver = checkov.Waiver(check="CKV_X", resources=("aws_lb.a", "aws_lb.gone-*"), stacks=("v4-*", "v9-*"),
                            status="accepted", reason="r")
    found: list[Failure] = [("v4-dev", "CKV_X", "aws_lb.a"), ("v4-dev", "CKV_Y", "aws_lb.gone-1"),
                            ("v9-dev", "CKV_X", "aws_lb.b")]
    assert waiver_gaps([waiver], found) == ["CKV_X: resource 'aws_lb.gone-*' does not fail",
                                            "CKV_X: stack 'v9-*' does not fail"]
    assert unwaived([waiver], found) == ["v4-dev: CKV_Y aws_lb.gone-1", "v9-dev: CKV_X aws_lb.b"]
    assert waiver_gaps([waiver], [*found, ("v9-prod", "CKV_X", "aws_lb.gone-2")]) == []


def test_malformed_waivers_are_rejected_naming_each(tmp_path: Path) -> None:
    bad = tmp_path / "w.yaml"
    bad.write_text(yaml.safe_dump({"waivers": [
        {"check": "CKV_X", "resources": ["*"], "stacks": ["*"], "status": "maybe", "reason": "r"},
        {"check": "CKV_Y", "resources": ["*"], "stacks": ["*"], "status": "fix-pending", "reason": "r"},
        {"check": "CKV_Z"},
    ]}), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        checkov.load_waivers(bad)
    text = str(info.value)
    assert "waivers[0].status" in text and "waivers[1].fix" in text and "waivers[2]: missing" in text


def test_cli_check_with_checkov_merges_findings() -> None:
    checkov_exe()
    from typer.testing import CliRunner

    from looper_infra.cli import app

    result = CliRunner().invoke(app, ["check", "v1", "--scanner", "checkov", "--json",
                                      "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["checkov"]["resources"] == len(exported(stack_plan("v1-dev")))
    assert doc["checkov"]["failed"] == doc["checkov"]["waived"] > 0
    ckv = [v for v in doc["violations"] if v["scanner"] == "checkov"]
    assert {v["level"] for v in ckv} == {"advisory"}
    assert any(v["policy"] == "CKV_GCP_40" and "waived:" in v["message"] for v in ckv)


def test_cli_check_fails_on_an_unwaived_checkov_finding(tmp_path: Path) -> None:
    checkov_exe()
    from typer.testing import CliRunner

    from looper_infra.cli import app

    project = tmp_path / "proj"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.v1-dev.yaml"):
        (project / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    if (ROOT / ".venv-checkov").exists():
        (project / ".venv-checkov").symlink_to(ROOT / ".venv-checkov")
    (project / "checkov-waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "v1", "--scanner", "checkov", "--json",
                                      "--project-dir", str(project)])
    assert result.exit_code == 3, result.output
    mandatory = {v["policy"] for v in json.loads(result.stdout)["violations"] if v["level"] == "mandatory"}
    assert "CKV_GCP_40" in mandatory


def test_cli_export_writes_terraform_plan(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from looper_infra.cli import app

    out = tmp_path / "v1.tfplan.json"
    result = CliRunner().invoke(app, ["export", "v1", "--format", "terraform-plan", "-o", str(out),
                                      "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    types = {r["type"] for r in doc["resource_changes"]}
    assert {"google_compute_instance", "google_compute_firewall", "google_compute_network"} <= types
