"""Stage v3 under recording mocks: HA app tier, complete LB chain, private data tier, backups."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml

from helpers.plans import example_values, plan_values
from looper_infra.engine.plan import Plan
from looper_infra.policies.evaluate import evaluate, resources_of


@pytest.fixture(scope="module")
def dev() -> Plan:
    return plan_values(example_values("v3-dev"), stack="v3-dev")


def test_regional_mig_with_autoscaler_autohealing_and_update_policy(dev: Plan) -> None:
    mig = dev.one("gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager").inputs
    assert mig["distributionPolicyZones"] == ["asia-northeast3-a", "asia-northeast3-b",
                                              "asia-northeast3-c"]
    assert mig["autoHealingPolicies"]["initialDelaySec"] == 600
    policy = mig["updatePolicy"]
    assert (policy["type"], policy["maxSurgeFixed"], policy["maxUnavailableFixed"]) == (
        "PROACTIVE", 3, 0)
    assert mig["namedPorts"] == [{"name": "http", "port": 8080}]
    template = dev.one("gcp:compute/instanceTemplate:InstanceTemplate")
    assert mig["versions"][0]["instanceTemplate"] == template.state["selfLink"]
    scaler = dev.one("gcp:compute/regionAutoscaler:RegionAutoscaler").inputs["autoscalingPolicy"]
    assert (scaler["minReplicas"], scaler["maxReplicas"]) == (2, 4)
    assert scaler["cpuUtilization"]["target"] == 0.6
    hcs = {h.inputs["name"]: h.inputs for h in dev.of_type("gcp:compute/healthCheck:HealthCheck")}
    assert hcs["looper-dev-app-autohealing"]["httpHealthCheck"] == {"port": 8080,
                                                                   "requestPath": "/health"}


def test_lb_chain_is_complete(dev: Plan) -> None:
    backend = dev.one("gcp:compute/backendService:BackendService").inputs
    assert backend["loadBalancingScheme"] == "EXTERNAL_MANAGED"
    assert backend["enableCdn"] is True and backend["cdnPolicy"]["cacheMode"] == "CACHE_ALL_STATIC"
    assert backend["logConfig"] == {"enable": True, "sampleRate": 1}
    assert backend["backends"][0]["group"].endswith("/instanceGroups/looper-dev-app")
    maps = {m.inputs["name"]: m.inputs for m in dev.of_type("gcp:compute/uRLMap:URLMap")}
    assert maps["looper-dev-lb-http-redirect"]["defaultUrlRedirect"]["httpsRedirect"] is True
    assert "defaultService" in maps["looper-dev-lb-https"]
    cert = dev.one("gcp:compute/managedSslCertificate:ManagedSslCertificate").inputs
    assert cert["managed"]["domains"] == ["dev.looper.example.com"]
    ssl = dev.one("gcp:compute/sSLPolicy:SSLPolicy").inputs
    assert (ssl["profile"], ssl["minTlsVersion"]) == ("MODERN", "TLS_1_2")
    proxy = dev.one("gcp:compute/targetHttpsProxy:TargetHttpsProxy").inputs
    assert proxy["sslPolicy"].endswith("/sslPolicies/looper-dev-lb-ssl")
    rules = {r.inputs["portRange"]: r.inputs
             for r in dev.of_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")}
    assert set(rules) == {"80", "443"}
    address = dev.one("gcp:compute/globalAddress:GlobalAddress")
    assert {r["ipAddress"] for r in rules.values()} == {address.id}
    record = dev.one("gcp:dns/recordSet:RecordSet").inputs
    assert record["rrdatas"] == [dev.outputs["lb_ip"]] == [address.state["address"]]


def test_no_vm_has_an_external_ip(dev: Plan) -> None:
    for vm in dev.of_type("gcp:compute/instance:Instance"):
        assert all("accessConfigs" not in nic for nic in vm.inputs["networkInterfaces"])
    template = dev.one("gcp:compute/instanceTemplate:InstanceTemplate").inputs
    assert all("accessConfigs" not in nic for nic in template["networkInterfaces"])
    assert dev.one("gcp:compute/routerNat:RouterNat").inputs[
        "sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"


def test_firewall_sources_exactly(dev: Plan) -> None:
    rules = {r.inputs["name"]: r.inputs for r in dev.of_type("gcp:compute/firewall:Firewall")}
    assert set(rules) == {"looper-dev-fw-allow-lb-to-app", "looper-dev-fw-allow-app-to-db",
                          "looper-dev-fw-allow-ssh-iap"}
    lb = rules["looper-dev-fw-allow-lb-to-app"]
    assert lb["sourceRanges"] == ["35.191.0.0/16", "130.211.0.0/22"]
    assert lb["allows"] == [{"protocol": "tcp", "ports": ["8080"]}]
    db = rules["looper-dev-fw-allow-app-to-db"]
    assert "sourceRanges" not in db and db["sourceTags"] == ["looper-dev-app"]
    assert db["targetTags"] == ["looper-dev-db"]
    assert db["allows"] == [{"protocol": "tcp", "ports": ["5432", "8000"]}]
    assert rules["looper-dev-fw-allow-ssh-iap"]["sourceRanges"] == ["35.235.240.0/20"]


def test_least_privilege_identities(dev: Plan) -> None:
    bindings = [(b.inputs["role"], b.inputs["member"])
                for b in dev.of_type("gcp:projects/iAMMember:IAMMember")]
    assert sorted({role for role, _ in bindings}) == ["roles/logging.logWriter",
                                                       "roles/monitoring.metricWriter"]
    # the DB VM's identity may add backups and nothing else: exactly objectCreator on the bucket
    bucket_iam = dev.one("gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert bucket_iam["role"] == "roles/storage.objectCreator"
    assert bucket_iam["member"].startswith("serviceAccount:looper-dev-db@")
    accessors = dev.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert len(accessors) == 4
    assert {a.inputs["role"] for a in accessors} == {"roles/secretmanager.secretAccessor"}


def test_db_credentials_only_as_secrets(dev: Plan) -> None:
    versions = dev.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert [v.inputs["secretData"] for v in versions] == ["[secret]", "[secret]"]
    document = json.dumps(dev.to_document())
    for password in dev.of_type("random:index/randomPassword:RandomPassword"):
        assert password.state["result"] not in document
    db_vm = next(v for v in dev.of_type("gcp:compute/instance:Instance")
                 if v.inputs["name"] == "looper-dev-db")
    assert "secrets/looper-dev-db-password" in db_vm.inputs["metadata"]["user-data"]


def test_data_tier(dev: Plan) -> None:
    disk = dev.one("gcp:compute/disk:Disk").inputs
    assert (disk["type"], disk["size"], disk["zone"]) == ("pd-ssd", 50, "asia-northeast3-a")
    schedule = dev.one("gcp:compute/resourcePolicy:ResourcePolicy").inputs["snapshotSchedulePolicy"]
    assert schedule["retentionPolicy"]["maxRetentionDays"] == 7
    assert schedule["schedule"]["dailySchedule"]["daysInCycle"] == 1
    db_vm = next(v for v in dev.of_type("gcp:compute/instance:Instance")
                 if v.inputs["name"] == "looper-dev-db").inputs
    assert db_vm["attachedDisks"][0]["deviceName"] == "looper-data"
    # Secret Manager only takes cloud-platform: the dedicated account's grants are the limit
    assert db_vm["serviceAccount"]["scopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    assert db_vm["serviceAccount"]["email"].startswith("looper-dev-db@")
    assert db_vm["networkInterfaces"][0]["networkIp"] == dev.outputs["db_internal_ip"]
    bucket = dev.one("gcp:storage/bucket:Bucket").inputs
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    # write-once for 30 days (unlocked in dev), deleted a day later; nothing to version
    assert bucket["retentionPolicy"] == {"retentionPeriod": str(30 * 86400), "isLocked": False}
    assert bucket["versioning"] == {"enabled": False}
    assert [r["condition"]["age"] for r in bucket["lifecycleRules"]] == [31]


def test_prod_backups_are_locked_and_read_by_operators_only(planner: Callable[..., Plan]) -> None:
    plan = planner(example_values("v3-prod"), stack="v3-prod")
    bucket = plan.one("gcp:storage/bucket:Bucket").inputs
    assert bucket["retentionPolicy"] == {"retentionPeriod": str(30 * 86400), "isLocked": True}
    grants = sorted((g.inputs["role"], g.inputs["member"].split("@")[0])
                    for g in plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember"))
    assert grants == [("roles/storage.objectCreator", "serviceAccount:looper-prod-db"),
                      ("roles/storage.objectViewer", "group:looper-ops")]


def test_prod_enables_cloud_armor_and_protects_data(planner: Callable[..., Plan]) -> None:
    plan = planner(example_values("v3-prod"), stack="v3-prod")
    armor = plan.one("gcp:compute/securityPolicy:SecurityPolicy")
    backend = plan.one("gcp:compute/backendService:BackendService").inputs
    assert backend["securityPolicy"] == armor.id
    log4shell = [r for r in armor.inputs["rules"]
                 if "cve-canary" in r.get("match", {}).get("expr", {}).get("expression", "")]
    assert [(r["action"], r["preview"]) for r in log4shell] == [("deny(403)", False)]
    assert plan.one("gcp:compute/disk:Disk").protect is True


def test_outputs(dev: Plan) -> None:
    out = dev.outputs
    assert out["url"] == "https://dev.looper.example.com"
    assert out["backup_bucket"] == "looper-dev-000000-db-backups"
    assert out["ssh_db"].endswith("--tunnel-through-iap")


def test_gpu_app_tier(planner: Callable[..., Plan]) -> None:
    values = example_values("v3-dev")
    values["app_tier"].update(machine_type="g2-standard-4", gpu={"type": "nvidia-l4", "count": 1},
                              zones=["asia-northeast3-a", "asia-northeast3-b"], max_surge=2,
                              boot_disk_gb=150)
    plan = planner(values)
    template = plan.one("gcp:compute/instanceTemplate:InstanceTemplate").inputs
    assert template["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    assert template["scheduling"]["onHostMaintenance"] == "TERMINATE"
    user_data = template["metadata"]["user-data"]
    files = {f["path"]: f["content"] for f in yaml.safe_load(user_data)["write_files"]}
    compose = yaml.safe_load(files["/etc/looper/compose.yaml"])
    assert set(compose["services"]) == {"app"}  # the LB terminates TLS: no Caddy
    assert compose["services"]["app"]["deploy"]["resources"]["reservations"]["devices"][0][
        "driver"] == "nvidia"
    assert "/etc/looper/Caddyfile" not in files
    assert "nvidia-smi" in files["/usr/local/sbin/looper-setup"]
    mig = plan.one("gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager").inputs
    assert mig["distributionPolicyZones"] == ["asia-northeast3-a", "asia-northeast3-b"]


def test_the_program_reads_as_its_tiers(dev: Plan) -> None:
    top = sorted((r.type, r.name) for r in dev.resources
                 if not r.custom and "pulumi:pulumi:Stack" in (r.parent or ""))
    assert top == [("looper:gcp:AppTier", "app-tier"), ("looper:gcp:CloudNat", "nat"),
                   ("looper:gcp:DbTier", "db-tier"), ("looper:gcp:Firewall", "firewall"),
                   ("looper:gcp:Network", "network"), ("looper:gcp:ServiceAccount", "app-identity"),
                   ("looper:gcp:WebFront", "web-front")]
    children = {r.name: r.parent for r in dev.resources if not r.custom}
    tier_of = {r.urn: r.name for r in dev.resources if r.name in ("app-tier", "db-tier", "web-front")}
    assert {n: tier_of[children[n]] for n in ("db-identity", "db-password", "chroma-token", "backups",
                                               "db-data", "db-ip", "db", "app-template", "app-group",
                                               "lb", "dns")} == {
        **dict.fromkeys(("db-identity", "db-password", "chroma-token", "backups", "db-data", "db-ip",
                         "db"), "db-tier"),
        "app-template": "app-tier", "app-group": "app-tier", "lb": "web-front", "dns": "web-front"}


@pytest.mark.parametrize("stack", ["v3-dev", "v3-prod"])
def test_rolling_updates_replace_instances_without_losing_capacity(
        planner: Callable[..., Plan], stack: str) -> None:
    """A new template rolls out surge-first: each zone gets its substitute before an old VM
    goes (maxUnavailable 0), and a regional group's fixed surge is >= its zone count."""
    plan = planner(example_values(stack), stack=stack)
    mig = plan.one("gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager").inputs
    policy, zones = mig["updatePolicy"], mig["distributionPolicyZones"]
    assert (policy["type"], policy["minimalAction"], policy["replacementMethod"]) == (
        "PROACTIVE", "REPLACE", "SUBSTITUTE")
    assert policy["maxUnavailableFixed"] == 0
    assert policy["maxSurgeFixed"] >= len(zones) >= 2
    # "available" means healthy on the autohealing check: a surged VM counts only once it serves
    assert mig["autoHealingPolicies"]["healthCheck"]
    assert [v for v in evaluate(resources_of(plan)) if v.policy == "gcp-rolling-update-capacity"] == []


def test_a_rollout_that_takes_vms_down_is_reported(planner: Callable[..., Plan]) -> None:
    values = example_values("v3-dev")
    values["app_tier"].update(max_surge=0, max_unavailable=3)
    found = [v for v in evaluate(resources_of(planner(values))) if v.policy == "gcp-rolling-update-capacity"]
    assert [(v.level, v.message) for v in found] == [
        ("advisory", "rolling updates take up to 3 VM(s) out of service at once (max_unavailable > 0)")]
