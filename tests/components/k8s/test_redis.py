"""Redis: the pinned official image, AOF on a retained volume, the password only in Secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from looper_infra.components.k8s.redis import Redis, RedisArgs, redis_conf
from looper_infra.engine.mocks import SECRET_MASK
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import IMAGES
from looper_infra.manifests.pods import Resources

RESOURCES = Resources("100m", "512Mi", "1", "1Gi")


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: Redis("redis", RedisArgs(
        namespace="looper-data", storage="8Gi", storage_class="gp3-retain", maxmemory_bytes=768 * 2**20,
        resources=RESOURCES, client_namespace="looper"), opts))


def pod(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = plan.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]
    return spec


def test_one_pinned_hardened_replica_with_probes_and_a_retained_volume(plan: Plan) -> None:
    spec = pod(plan)
    assert spec["replicas"] == 1
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "gp3-retain"
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    (c,) = spec["template"]["spec"]["containers"]
    assert c["image"] == IMAGES["redis"] and c["resources"] == RESOURCES.spec()
    assert c["ports"] == [{"name": "redis", "containerPort": 6379, "protocol": "TCP"}]
    assert "redis-cli -p 6379 ping" in c["readinessProbe"]["exec"]["command"][2]
    assert c["livenessProbe"]["tcpSocket"] == {"port": 6379}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["template"]["spec"]["securityContext"]["runAsUser"] == 999
    # one replica: a drain moves it (Redis is down meanwhile) instead of blocking forever
    pdb = plan.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_config_persists_and_bounds_memory_without_the_password(plan: Plan) -> None:
    conf = plan.one("kubernetes:core/v1:ConfigMap").inputs["data"]["redis.conf"]
    assert conf == redis_conf(768 * 2**20)
    for line in ("appendonly yes", "maxmemory 805306368", "include /etc/redis-auth/auth.conf"):
        assert line in conf.splitlines()
    assert "requirepass" not in conf


def test_the_password_reaches_redis_and_the_clients_as_secrets_only(plan: Plan) -> None:
    secrets = {r.inputs["metadata"]["name"]: r for r in plan.of_type("kubernetes:core/v1:Secret")}
    assert secrets["redis"].inputs["metadata"]["namespace"] == "looper"
    assert secrets["redis-auth"].inputs["metadata"]["namespace"] == "looper-data"
    password = plan.one("random:index/randomPassword:RandomPassword").state["result"]
    assert secrets["redis-auth"].state["stringData"]["auth.conf"] == f"requirepass {password}\n"
    assert secrets["redis"].state["stringData"] == {"password": password}
    assert all(s.inputs["stringData"] == SECRET_MASK for s in secrets.values())
