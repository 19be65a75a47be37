"""Stage v1 under recording mocks: every resource, with the properties that matter."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import yaml

from helpers.plans import example_values
from looper_infra.engine.plan import Plan

INSTANCE = "gcp:compute/instance:Instance"
FIREWALL = "gcp:compute/firewall:Firewall"


def test_every_cloud_resource_uses_the_explicit_provider(v1_dev_plan: Plan) -> None:
    provider = v1_dev_plan.one("pulumi:providers:gcp")
    assert provider.inputs["project"] == "looper-dev-000000"
    assert provider.inputs["region"] == "asia-northeast3"
    labels = yaml.safe_load(provider.inputs["defaultLabels"])
    assert labels == {"app": "looper", "env": "dev", "stack": "v1-dev", "managed-by": "pulumi"}
    for res in v1_dev_plan.resources:
        if res.custom and not res.type.startswith("pulumi:providers:"):
            assert res.provider == provider.urn, res.urn


def test_network_is_custom_mode_with_flow_logs(v1_dev_plan: Plan) -> None:
    vpc = v1_dev_plan.one("gcp:compute/network:Network")
    assert vpc.inputs["autoCreateSubnetworks"] is False
    assert vpc.inputs["name"] == "looper-dev-vpc"
    subnet = v1_dev_plan.one("gcp:compute/subnetwork:Subnetwork")
    assert subnet.inputs["ipCidrRange"] == "10.0.1.0/24"
    assert subnet.inputs["privateIpGoogleAccess"] is True
    assert subnet.inputs["logConfig"]["aggregationInterval"] == "INTERVAL_5_SEC"
    assert subnet.inputs["logConfig"]["flowSampling"] == 0.5
    assert vpc.urn in subnet.dependencies


def firewall_rules(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in plan.of_type(FIREWALL)}


def test_firewall_web_from_anywhere_ssh_only_from_iap(v1_dev_plan: Plan) -> None:
    rules = firewall_rules(v1_dev_plan)
    assert set(rules) == {"looper-dev-fw-allow-web", "looper-dev-fw-allow-ssh-iap"}
    web, ssh = rules["looper-dev-fw-allow-web"], rules["looper-dev-fw-allow-ssh-iap"]
    assert web["allows"] == [{"protocol": "tcp", "ports": ["80", "443"]},
                             {"protocol": "udp", "ports": ["443"]}]
    assert web["sourceRanges"] == ["0.0.0.0/0"] and web["targetTags"] == ["looper-dev-web"]
    assert ssh["allows"] == [{"protocol": "tcp", "ports": ["22"]}]
    assert ssh["sourceRanges"] == ["35.235.240.0/20"] and ssh["targetTags"] == ["looper-dev-ssh"]
    for rule in rules.values():
        assert rule["direction"] == "INGRESS"
        assert rule["sourceRanges"], "a GCP firewall without source_ranges means 0.0.0.0/0"
        assert rule["logConfig"] == {"metadata": "INCLUDE_ALL_METADATA"}
        assert rule["network"].endswith("/global/networks/looper-dev-vpc")


def test_named_admin_cidrs_get_their_own_ssh_rule(planner: Callable[..., Plan]) -> None:
    values = example_values()
    values["access"]["admin_ssh_cidrs"] = {"office": "203.0.113.0/24", "vpn": "198.51.100.7/32"}
    rules = firewall_rules(planner(values))
    admin = rules["looper-dev-fw-allow-ssh-admin"]
    assert admin["sourceRanges"] == ["203.0.113.0/24", "198.51.100.7/32"]
    assert admin["allows"] == [{"protocol": "tcp", "ports": ["22"]}]
    assert "office=203.0.113.0/24" in admin["description"]
    assert all("0.0.0.0/0" not in r["sourceRanges"] for n, r in rules.items() if "ssh" in n)


def test_dedicated_service_account_with_only_log_and_metric_roles(v1_dev_plan: Plan) -> None:
    account = v1_dev_plan.one("gcp:serviceaccount/account:Account")
    assert account.inputs["accountId"] == "looper-dev-vm"
    roles = sorted(r.inputs["role"] for r in v1_dev_plan.of_type("gcp:projects/iAMMember:IAMMember"))
    assert roles == ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
    email = "looper-dev-vm@looper-dev-000000.iam.gserviceaccount.com"
    for binding in v1_dev_plan.of_type("gcp:projects/iAMMember:IAMMember"):
        assert binding.inputs["member"] == f"serviceAccount:{email}"
        assert account.urn in binding.dependencies


def test_vm_is_hardened(v1_dev_plan: Plan) -> None:
    vm = v1_dev_plan.one(INSTANCE).inputs
    assert vm["name"] == "looper-dev-app" and vm["zone"] == "asia-northeast3-a"
    assert vm["machineType"] == "e2-standard-2"
    assert vm["shieldedInstanceConfig"] == {
        "enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True}
    md = vm["metadata"]
    assert md["enable-oslogin"] == "TRUE"
    assert md["block-project-ssh-keys"] == "TRUE"
    assert md["serial-port-enable"] == "FALSE"
    assert md["user-data"].startswith("#cloud-config")
    sa = vm["serviceAccount"]
    assert sa["email"] == "looper-dev-vm@looper-dev-000000.iam.gserviceaccount.com"
    assert "-compute@developer.gserviceaccount.com" not in sa["email"]
    assert sorted(sa["scopes"]) == ["https://www.googleapis.com/auth/logging.write",
                                    "https://www.googleapis.com/auth/monitoring.write"]
    disk = vm["bootDisk"]["initializeParams"]
    assert disk == {"image": "ubuntu-os-cloud/ubuntu-2404-lts-amd64", "size": 30,
                    "type": "pd-balanced"}
    assert vm["tags"] == ["looper-dev-web", "looper-dev-ssh"]
    assert vm["deletionProtection"] is False
    assert vm["scheduling"]["onHostMaintenance"] == "MIGRATE"
    assert vm["scheduling"]["provisioningModel"] == "STANDARD"


def test_changed_startup_automation_replaces_the_vm(v1_dev_plan: Plan) -> None:
    # cloud-init runs once per instance; a fixed name needs delete-before-replace
    instance = v1_dev_plan.one(INSTANCE)
    assert instance.replace_on_changes == ["metadata"]
    assert instance.delete_before_replace is True


def test_vm_uses_the_static_ip_and_its_subnet(v1_dev_plan: Plan) -> None:
    instance = v1_dev_plan.one(INSTANCE)
    address = v1_dev_plan.one("gcp:compute/address:Address")
    nic = instance.inputs["networkInterfaces"][0]
    assert nic["subnetwork"].endswith("/regions/asia-northeast3/subnetworks/looper-dev-vpc-app")
    assert nic["accessConfigs"][0]["natIp"] == v1_dev_plan.outputs["external_ip"]
    assert address.inputs["addressType"] == "EXTERNAL"
    assert address.urn in instance.dependencies
    internal = IPv4Address(v1_dev_plan.outputs["internal_ip"])
    assert internal in IPv4Network("10.0.1.0/24")
    assert internal != IPv4Address("10.0.1.1"), "the gateway address is never handed out"


def test_prod_protects_the_vm(planner: Callable[..., Plan]) -> None:
    plan = planner(example_values("v1-prod"), stack="v1-prod")
    vm = plan.one(INSTANCE).inputs
    assert vm["deletionProtection"] is True
    assert vm["machineType"] == "e2-standard-4"
    assert vm["bootDisk"]["initializeParams"]["size"] == 50


def test_dns_record_points_at_the_static_ip(v1_dev_plan: Plan) -> None:
    record = v1_dev_plan.one("gcp:dns/recordSet:RecordSet")
    assert record.inputs["name"] == "dev.looper.example.com."
    assert record.inputs["type"] == "A" and record.inputs["ttl"] == 300
    assert record.inputs["managedZone"] == "looper-example-com"
    assert record.inputs["rrdatas"] == [v1_dev_plan.outputs["external_ip"]]


def test_no_dns_record_without_a_managed_zone(planner: Callable[..., Plan]) -> None:
    values = example_values()
    del values["dns"]["managed_zone"], values["dns"]["zone_dns_name"]
    plan = planner(values)
    assert plan.of_type("gcp:dns/recordSet:RecordSet") == []
    assert plan.outputs["dns_managed"] is False


def test_outputs(v1_dev_plan: Plan) -> None:
    out = v1_dev_plan.outputs
    assert out["url"] == "https://dev.looper.example.com"
    IPv4Address(out["external_ip"])
    assert out["ssh_command"] == (
        "gcloud compute ssh looper-dev-app --zone asia-northeast3-a "
        "--project looper-dev-000000 --tunnel-through-iap")


def test_plan_document_matches_the_contract(v1_dev_plan: Plan) -> None:
    doc = v1_dev_plan.to_document()
    assert doc["format"] == "looper-plan/1"
    assert (doc["stage"], doc["stack"], doc["project"]) == ("v1", "v1-dev", "looper")
    assert doc["summary"]["resources"] == len(doc["resources"]) == 18
    urns = {r["urn"] for r in doc["resources"]}
    server = "urn:pulumi:v1-dev::looper::looper:gcp:AppServer::app-server"
    for r in doc["resources"]:
        assert set(r) == {"urn", "type", "name", "parent", "provider", "custom", "inputs",
                          "dependencies", "aliases"}
        # what moved under the app server answers to its old top-level URN (no replacement)
        if "looper:gcp:AppServer$" in r["urn"]:
            old = r["urn"].replace("looper:gcp:AppServer$", "", 1)
            assert old in r["aliases"], r["urn"]
        else:
            assert r["aliases"] == [], r["urn"]
        assert r["urn"].startswith("urn:pulumi:v1-dev::looper::")
        assert r["urn"].endswith("::" + r["name"])
        assert set(r["dependencies"]) <= urns
        if r["parent"] and "pulumi:pulumi:Stack" not in r["parent"]:
            assert r["parent"] in urns
    # component children are named under their component's type, as the engine does
    assert ("urn:pulumi:v1-dev::looper::looper:gcp:AppServer$looper:gcp:Vm$gcp:compute/instance:"
            "Instance::app-instance") in urns
    moved = ("looper:gcp:Vm", "looper:gcp:StaticIp", "looper:gcp:ServiceAccount", "looper:gcp:DnsRecord")
    assert {r["parent"] for r in doc["resources"] if r["type"] in moved} == {server}
