"""AppTier under recording mocks: private app VMs in a regional group, told where the DB is."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pulumi
import pytest
import yaml

from looper_infra.components.base import InvalidArgs
from looper_infra.components.gcp.app_container import AppContainer
from looper_infra.components.gcp.app_tier import PORT_NAME, AppTier, AppTierArgs, Rollout, Scaling
from looper_infra.components.gcp.db_tier import DbConnection
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.vm import Accelerator, BootDisk, Machine
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

PROJECT = "looper-offline"
SUBNET = "projects/looper-offline/regions/asia-northeast3/subnetworks/looper-dev-vpc-app"
EMAIL = "looper-dev-app@looper-offline.iam.gserviceaccount.com"
ZONES = ("asia-northeast3-a", "asia-northeast3-b", "asia-northeast3-c")
TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"


def tier_args(**changes: Any) -> AppTierArgs:
    args = AppTierArgs(
        placement=Placement(PROJECT, "asia-northeast3", "looper", "dev"), subnetwork=SUBNET,
        service_account_email=EMAIL,
        app=AppContainer("ghcr.io/example/app:1.0", 8081, "/ready", {"LOG_LEVEL": "info"}),
        domain="dev.looper.example.com",
        database=DbConnection(
            host=pulumi.Output.from_input("10.0.2.7"), database="looper", user="app",
            password_secret=pulumi.Output.from_input("projects/p/secrets/looper-dev-db-password"),
            chroma_token_secret=pulumi.Output.from_input("projects/p/secrets/looper-dev-chroma-token"),
            chroma_port=8001),
        machine=Machine("e2-standard-4", BootDisk("ubuntu-os-cloud/ubuntu-2404-lts-amd64", 40)),
        zones=ZONES, network_tags=("looper-dev-app",),
        scaling=Scaling(min_replicas=3, max_replicas=9, cpu_target=0.7, cooldown_sec=120,
                        autohealing_initial_delay_sec=900),
        rollout=Rollout(max_surge=3, max_unavailable=0))
    return replace(args, **changes)


def plan_of(args: AppTierArgs) -> Plan:
    def program() -> None:
        backend = AppTier("app-tier", args).backend
        pulumi.export("backend", {"group": backend.instance_group, "port_name": backend.port_name,
                                  "port": backend.port, "health_path": backend.health_path})

    return run_program(program, stage="test", stack="test", context=MockContext(project=PROJECT))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of(tier_args())


def test_template_is_private_and_runs_the_app_behind_the_lb(plan: Plan) -> None:
    template = plan.one(TEMPLATE).inputs
    assert template["namePrefix"] == "looper-dev-app-" and template["machineType"] == "e2-standard-4"
    assert all("accessConfigs" not in nic for nic in template["networkInterfaces"])
    assert template["serviceAccount"]["email"] == EMAIL
    assert template["tags"] == ["looper-dev-app"]
    assert "guestAccelerators" not in template
    files = {f["path"]: f["content"]
             for f in yaml.safe_load(template["metadata"]["user-data"])["write_files"]}
    assert "/etc/looper/Caddyfile" not in files  # the load balancer terminates TLS
    env = yaml.safe_load(files["/etc/looper/compose.yaml"])["services"]["app"]["environment"]
    assert {k: env[k] for k in ("LOOPER_DB_HOST", "LOOPER_DB_PORT", "LOOPER_DB_USER",
                                "LOOPER_CHROMA_URL", "LOOPER_DB_PASSWORD_SECRET", "LOG_LEVEL")} == {
        "LOOPER_DB_HOST": "10.0.2.7", "LOOPER_DB_PORT": "5432", "LOOPER_DB_USER": "app",
        "LOOPER_CHROMA_URL": "http://10.0.2.7:8001",
        "LOOPER_DB_PASSWORD_SECRET": "projects/p/secrets/looper-dev-db-password", "LOG_LEVEL": "info"}


def test_regional_group_autoscaled_autohealed_and_served(plan: Plan) -> None:
    mig = plan.one(MIG).inputs
    assert mig["name"] == "looper-dev-app" and mig["distributionPolicyZones"] == list(ZONES)
    assert mig["namedPorts"] == [{"name": PORT_NAME, "port": 8081}]
    assert mig["autoHealingPolicies"]["initialDelaySec"] == 900
    assert (mig["updatePolicy"]["maxSurgeFixed"], mig["updatePolicy"]["maxUnavailableFixed"]) == (3, 0)
    assert mig["versions"][0]["instanceTemplate"] == plan.one(TEMPLATE).state["selfLink"]
    policy = plan.one("gcp:compute/regionAutoscaler:RegionAutoscaler").inputs["autoscalingPolicy"]
    assert (policy["minReplicas"], policy["maxReplicas"], policy["cooldownPeriod"]) == (3, 9, 120)
    assert policy["cpuUtilization"]["target"] == 0.7
    health = plan.one("gcp:compute/healthCheck:HealthCheck").inputs["httpHealthCheck"]
    assert health == {"port": 8081, "requestPath": "/ready"}
    backend = plan.outputs["backend"]
    assert (backend["port_name"], backend["port"], backend["health_path"]) == (PORT_NAME, 8081, "/ready")
    assert backend["group"].endswith("/instanceGroups/looper-dev-app")


def test_gpu_tier_stops_for_maintenance() -> None:
    g2 = Machine("g2-standard-4", BootDisk("ubuntu-os-cloud/ubuntu-2404-lts-amd64", 150))
    plan = plan_of(tier_args(gpu=Accelerator("nvidia-l4", 1), machine=g2))
    template = plan.one(TEMPLATE).inputs
    assert template["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    assert template["scheduling"]["onHostMaintenance"] == "TERMINATE"
    assert "nvidia-smi" in template["metadata"]["user-data"]


def test_bad_args_are_refused_with_every_problem_at_once() -> None:
    app = AppContainer("ghcr.io/example/app:1.0", env={"LOOPER_DB_HOST": "db", "LOOPER_CHROMA_URL": "x"})
    with pytest.raises(InvalidArgs) as info:
        plan_of(tier_args(app=app, network_tags=()))
    gc.collect()  # the failed program's futures
    assert info.value.problems == (
        "app.env.LOOPER_DB_HOST: set by the app tier (where the database is)",
        "app.env.LOOPER_CHROMA_URL: set by the app tier (where the database is)",
        "network_tags: at least one (the firewall admits the load balancer by tag)")
