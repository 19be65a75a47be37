"""AppServer under recording mocks: the public VM, its own identity, address and DNS record."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pulumi
import pytest
import yaml

from looper_infra.components.base import InvalidArgs
from looper_infra.components.gcp.app_container import AppContainer
from looper_infra.components.gcp.app_server import AppServer, AppServerArgs, GpuSpec
from looper_infra.components.gcp.dns_record import DnsZone
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.vm import BootDisk, Machine
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

PROJECT = "looper-offline"
SUBNET = "projects/looper-offline/regions/asia-northeast3/subnetworks/looper-dev-vpc-app"
INSTANCE = "gcp:compute/instance:Instance"
ADDRESS = "gcp:compute/address:Address"
RECORD = "gcp:dns/recordSet:RecordSet"


def server_args(**changes: Any) -> AppServerArgs:
    args = AppServerArgs(
        placement=Placement(PROJECT, "asia-northeast3", "looper", "dev"), zone="asia-northeast3-a",
        subnetwork=SUBNET,
        machine=Machine("e2-standard-2", BootDisk("ubuntu-os-cloud/ubuntu-2404-lts-amd64", 30)),
        app=AppContainer("ghcr.io/example/app:1.0", 8080, "/health", {"LOG_LEVEL": "info"}),
        domain="dev.looper.example.com", acme_email="ops@example.com",
        network_tags=("looper-dev-web", "looper-dev-ssh"), dns=DnsZone("looper-example-com", 300))
    return replace(args, **changes)


def plan_of(args: AppServerArgs) -> Plan:
    def program() -> None:
        server = AppServer("app-server", args)
        pulumi.export("address", server.address)

    return run_program(program, stage="test", stack="test", context=MockContext(project=PROJECT))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of(server_args())


def test_public_vm_on_its_static_address_with_caddy(plan: Plan) -> None:
    vm = plan.one(INSTANCE).inputs
    assert (vm["name"], vm["zone"], vm["machineType"]) == ("looper-dev-app", "asia-northeast3-a",
                                                           "e2-standard-2")
    [nic] = vm["networkInterfaces"]
    assert nic["subnetwork"] == SUBNET
    assert nic["accessConfigs"] == [{"natIp": plan.outputs["address"], "networkTier": "PREMIUM"}]
    assert plan.one(ADDRESS).inputs["addressType"] == "EXTERNAL"
    assert vm["tags"] == ["looper-dev-web", "looper-dev-ssh"]
    assert vm["labels"] == {"role": "app"}
    assert vm["scheduling"]["onHostMaintenance"] == "MIGRATE" and "guestAccelerators" not in vm
    assert vm["shieldedInstanceConfig"]["enableSecureBoot"] is True
    doc = yaml.safe_load(vm["metadata"]["user-data"])
    files = {f["path"]: f["content"] for f in doc["write_files"]}
    assert "dev.looper.example.com" in files["/etc/looper/Caddyfile"]
    assert "ghcr.io/example/app:1.0" in files["/etc/looper/compose.yaml"]


def test_own_identity_writes_logs_and_metrics_only(plan: Plan) -> None:
    account = plan.one("gcp:serviceaccount/account:Account")
    assert account.inputs["accountId"] == "looper-dev-vm"
    roles = sorted(b.inputs["role"] for b in plan.of_type("gcp:projects/iAMMember:IAMMember"))
    assert roles == ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
    assert plan.one(INSTANCE).inputs["serviceAccount"]["email"] == account.state["email"]


def test_dns_record_points_at_the_address(plan: Plan) -> None:
    record = plan.one(RECORD).inputs
    assert (record["name"], record["type"], record["ttl"]) == ("dev.looper.example.com.", "A", 300)
    assert record["managedZone"] == "looper-example-com"
    assert record["rrdatas"] == [plan.outputs["address"]]
    assert plan_of(server_args(dns=None)).of_type(RECORD) == []


def test_gpu_server_stops_for_maintenance_and_may_be_spot() -> None:
    gpu = GpuSpec("nvidia-l4", 1, install_cuda_toolkit=False, provisioning_model="SPOT",
                  automatic_restart=False, termination_action="STOP", secure_boot=False)
    vm = plan_of(server_args(gpu=gpu)).one(INSTANCE).inputs
    assert vm["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    sched = vm["scheduling"]
    assert (sched["onHostMaintenance"], sched["provisioningModel"], sched["preemptible"]) == (
        "TERMINATE", "SPOT", True)
    assert (sched["automaticRestart"], sched["instanceTerminationAction"]) == (False, "STOP")
    assert vm["shieldedInstanceConfig"]["enableSecureBoot"] is False
    assert vm["labels"] == {"role": "gpu-app"}
    assert "nvidia" in vm["metadata"]["user-data"].lower()


def test_bad_args_are_refused_with_every_problem_at_once() -> None:
    args = server_args(placement=Placement(PROJECT, "asia-northeast3", "looperlooperloop", "productionenv"),
                       network_tags=())
    with pytest.raises(InvalidArgs) as info:
        plan_of(args)
    gc.collect()  # the failed program's futures
    assert info.value.problems == (
        "placement: service account ID 'looperlooperloop-productionenv-vm' is not 6-30 "
        "lowercase letters, digits or '-' starting with a letter",
        "network_tags: at least one (the firewall admits traffic by tag)")
