"""Policy validators: compliant, violating and missing-property cases; `looper check`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers.plans import EXAMPLE_STACK_FILES, example_values, plan_values
from looper_infra import cli
from looper_infra.engine.plan import Plan
from looper_infra.policies import gcp
from looper_infra.policies.evaluate import evaluate, resources_of
from looper_infra.policies.model import Resource

HARDENED = {
    "shieldedInstanceConfig": {"enableSecureBoot": True, "enableVtpm": True,
                               "enableIntegrityMonitoring": True},
    "metadata": {"enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE"},
    "serviceAccount": {"email": "vm@p.iam.gserviceaccount.com",
                       "scopes": ["https://www.googleapis.com/auth/logging.write"]},
    "networkInterfaces": [{"subnetwork": "s"}],
    "tags": ["looper-dev-app"],
}


def res(type_: str, **props: Any) -> Resource:
    return Resource(type_, "r", f"urn:pulumi:s::p::{type_}::r", props)


def messages(check: Callable[[Resource], Any], r: Resource) -> list[str]:
    return list(check(r))


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["443"]}],
          "targetTags": ["x-web"]}, []),
        ({"sourceRanges": ["35.235.240.0/20"], "allows": [{"protocol": "tcp", "ports": ["22"]}],
          "targetTags": ["x-ssh"]}, []),
        ({"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["22"]}],
          "targetTags": ["x-web"]}, ["SSH (or every port) open to the internet"]),
        ({"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp"}], "targetTags": ["x-web"]},
         ["SSH (or every port) open to the internet"]),
        ({"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["5432"]}],
          "targetTags": ["x-web"]}, ["ports 5432 open to the internet (only 80/443/1194 may be)"]),
        ({"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["443"]}],
          "targetTags": ["x-db"]},
         ["internet ingress must target declared public entry points (the -web tag) only"]),
        ({"sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["80"]}]},
         ["internet ingress must target declared public entry points (the -web tag) only"]),
    ],
)
def test_internet_ingress(props: dict[str, Any], expected: list[str]) -> None:
    assert messages(gcp.firewall_internet_ingress, res(gcp.FIREWALL, **props)) == expected


def test_firewall_sources_explicit() -> None:
    assert messages(gcp.firewall_explicit_sources, res(gcp.FIREWALL, sourceTags=["a"])) == []
    assert messages(gcp.firewall_explicit_sources, res(gcp.FIREWALL, allows=[])) == [
        "ingress rule without sources: GCP reads that as 0.0.0.0/0"]
    assert messages(gcp.firewall_explicit_sources,
                    res(gcp.FIREWALL, direction="EGRESS")) == []


def test_spot_capacity_is_reported_as_advisory() -> None:
    instance, vm_spot_capacity = gcp.INSTANCE, gcp.vm_spot_capacity
    spot = res(instance, scheduling={"provisioningModel": "SPOT", "instanceTerminationAction": "DELETE"})
    (message,) = vm_spot_capacity(spot)
    assert "SPOT" in message and "DELETEs" in message
    assert list(vm_spot_capacity(res(instance, scheduling={"provisioningModel": "STANDARD"}))) == []
    assert list(vm_spot_capacity(res(instance))) == []  # no scheduling: standard capacity
    (policy,) = [p for p in gcp.RESOURCE_POLICIES if p.name == "gcp-spot-capacity"]
    assert policy.level == "advisory"


def test_vm_hardening_and_identity() -> None:
    good = res(gcp.INSTANCE, **HARDENED)
    assert messages(gcp.vm_hardening, good) == [] and messages(gcp.vm_identity, good) == []
    bare = res(gcp.INSTANCE)
    assert messages(gcp.vm_hardening, bare) == [
        "Shielded VM: enableVtpm is not on", "Shielded VM: enableIntegrityMonitoring is not on",
        "Shielded VM: Secure Boot is off", "OS Login is not enabled (metadata enable-oslogin)",
        "project-wide SSH keys are not blocked"]
    assert messages(gcp.vm_identity, bare) == [
        "no service account: the VM falls back to the default compute account"]
    broad = res(gcp.INSTANCE, **{**HARDENED, "serviceAccount": {
        "email": "123-compute@developer.gserviceaccount.com",
        "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}})
    assert messages(gcp.vm_identity, broad) == [
        "uses the default compute service account",
        "broad OAuth scopes on the default account: https://www.googleapis.com/auth/cloud-platform"]
    dedicated = res(gcp.INSTANCE, **{**HARDENED, "serviceAccount": {
        "email": "looper-dev-db@p.iam.gserviceaccount.com",
        "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}})
    assert messages(gcp.vm_identity, dedicated) == []


def test_external_ip_only_on_public_entry_points() -> None:
    nic = [{"subnetwork": "s", "accessConfigs": [{"natIp": "1.2.3.4"}]}]
    assert messages(gcp.vm_external_ip, res(gcp.INSTANCE, networkInterfaces=nic,
                                            tags=["looper-dev-web"])) == []
    assert messages(gcp.vm_external_ip, res(gcp.INSTANCE, networkInterfaces=nic,
                                            tags=["looper-dev-db"])) == [
        "external IP on a VM that is not a declared public entry point"]


def test_bucket_tls_roles_and_zones() -> None:
    assert messages(gcp.bucket_private, res(gcp.BUCKET, publicAccessPrevention="enforced",
                                            uniformBucketLevelAccess=True)) == []
    assert len(messages(gcp.bucket_private, res(gcp.BUCKET))) == 2
    assert messages(gcp.ssl_policy_tls, res(gcp.SSL_POLICY, minTlsVersion="TLS_1_2")) == []
    assert messages(gcp.ssl_policy_tls, res(gcp.SSL_POLICY)) == [
        "minimum TLS version TLS_1_0 (default) < 1.2"]
    assert messages(gcp.project_roles, res(gcp.PROJECT_IAM, role="roles/editor")) == [
        "project-wide roles/editor is too broad"]
    one_zone = res(gcp.MIG, distributionPolicyZones=["a"])
    assert [m for _, m in gcp.ha_zones([one_zone])] == [
        "a highly available group spans at least 2 zones"]


def test_an_unlocked_backup_retention_is_reported_in_production_only() -> None:
    def bucket(stack: str, **props: Any) -> Resource:
        return Resource(gcp.BUCKET, "b", f"urn:pulumi:{stack}::looper::{gcp.BUCKET}::b", props)

    unlocked = {"retentionPolicy": {"retentionPeriod": "2592000", "isLocked": False}}
    assert [m for _, m in gcp.backup_retention_locked([bucket("v3-prod", **unlocked)])] == [
        "retention policy (2592000 s) is not locked in a production stack: set "
        "backups.lock_retention (irreversible)"]
    # prod by label too; locked, dev, or no retention policy at all: nothing to report
    labelled = bucket("x", labels={"env": "prod"}, **unlocked)
    assert len(list(gcp.backup_retention_locked([labelled]))) == 1
    locked = {"retentionPolicy": {"retentionPeriod": "2592000", "isLocked": True}}
    assert list(gcp.backup_retention_locked([bucket("v3-prod", **locked)])) == []
    assert list(gcp.backup_retention_locked([bucket("v3-dev", **unlocked)])) == []
    assert list(gcp.backup_retention_locked([bucket("v3-prod")])) == []


#: single NAT and unprotected RDS (cost options), the Kafka node in one AZ (declared); one
#: Kafka broker whose topics have one replica (not durable)
EXPECTED_DEV_ADVISORIES: dict[str, set[str]] = {"v4": {"aws-cost-options", "aws-declared-single-az"},
                                                 "v2": {"gcp-spot-capacity"},
                                                 # one Kafka broker, 1-replica topics, one AI pod
                                                 "v4-platform": {"k8s-kafka-brokers-durable",
                                                                 "k8s-kafka-topics-replicated",
                                                                 "k8s-app-single-replica"}}


@pytest.mark.parametrize("path", EXAMPLE_STACK_FILES, ids=lambda p: p.name)
def test_every_shipped_example_plans_and_passes_every_policy(path: Any) -> None:
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    plan = plan_values(example_values(stack), stack=stack)
    assert plan.stage == stack.rsplit("-", 1)[0]
    assert len(plan.resources) > 10
    violations = evaluate(resources_of(plan))
    assert [v for v in violations if v.level == "mandatory"] == []
    if stack.endswith("-prod"):
        # production stacks use no weaker named option; only declared single-AZ parts are listed
        assert {v.policy for v in violations} <= {"aws-declared-single-az"}
    else:
        # each weaker setting a dev stack opts into is reported, by name, as advisory
        assert {v.policy for v in violations} <= EXPECTED_DEV_ADVISORIES.get(stack.rsplit("-", 1)[0], set())


def test_opt_in_internet_ssh_is_reported_by_check(planner: Callable[..., Plan]) -> None:
    values = example_values()
    values["access"] = {"allow_ssh_from_internet": True, "admin_ssh_cidrs": {"all": "0.0.0.0/0"}}
    plan = planner(values)
    violations = evaluate(resources_of(plan))
    assert [(v.policy, v.message) for v in violations] == [
        ("gcp-no-internet-ingress", "SSH (or every port) open to the internet"),
        ("gcp-no-internet-ingress",
         "internet ingress must target declared public entry points (the -web tag) only")]
    assert plan.warnings and "open to the internet" in plan.warnings[0]


def test_looper_check_exit_codes(tmp_path: Any) -> None:
    import yaml

    runner = CliRunner()
    ok = runner.invoke(cli.app, ["check", "v1", "--json"])
    assert ok.exit_code == 0, ok.output
    assert '"violations": []' in ok.output
    values = example_values()
    values["access"] = {"allow_ssh_from_internet": True, "admin_ssh_cidrs": {"all": "0.0.0.0/0"}}
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    bad = runner.invoke(cli.app, ["check", "v1", "--config", str(path), "--json"])
    assert bad.exit_code == 3
    policies = {v["policy"] for v in json.loads(bad.stdout)["violations"]}
    assert policies == {"gcp-no-internet-ingress"}


def test_pulumi_policy_pack_wraps_the_same_validators() -> None:
    from pulumi_policy import EnforcementLevel, ResourceValidationArgs

    from looper_infra.policies.evaluate import RESOURCE_POLICIES
    from looper_infra.policies.pulumi_pack import _resource_policy

    policy = next(p for p in RESOURCE_POLICIES if p.name == "gcp-no-internet-ingress")
    wrapped = _resource_policy(policy)
    assert wrapped.enforcement_level == EnforcementLevel.MANDATORY
    reported: list[tuple[str, str | None]] = []
    args = ResourceValidationArgs(
        gcp.FIREWALL, {"sourceRanges": ["0.0.0.0/0"], "targetTags": ["x-web"],
                       "allows": [{"protocol": "tcp", "ports": ["22"]}]},
        "urn:fw", "fw", None, None)  # type: ignore[arg-type]
    validate = wrapped.validate[0] if isinstance(wrapped.validate, list) else wrapped.validate
    assert validate is not None
    validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert reported == [("SSH (or every port) open to the internet", "urn:fw")]
