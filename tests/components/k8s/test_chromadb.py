"""ChromaDB: the pinned image on localhost only, behind an Envoy that checks the token."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from looper_infra.components.k8s.chromadb import (
    CHROMA_PORT,
    HEARTBEAT,
    PORT,
    ChromaDb,
    ChromaDbArgs,
    envoy_config,
)
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import IMAGES
from looper_infra.manifests.pods import Resources

RESOURCES = Resources("250m", "1Gi", "2", "4Gi")


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: ChromaDb("chromadb", ChromaDbArgs(
        namespace="looper-data", storage="20Gi", storage_class="gp3-retain", resources=RESOURCES,
        client_namespace="looper"), opts))


def containers(plan: Plan) -> dict[str, dict[str, Any]]:
    spec = plan.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def test_chroma_listens_on_localhost_and_only_envoy_has_a_port(plan: Plan) -> None:
    c = containers(plan)
    chroma, envoy = c["chromadb"], c["envoy"]
    assert (chroma["image"], envoy["image"]) == (IMAGES["chromadb"], IMAGES["envoy"])
    assert chroma["args"] == ["run", "--host", "127.0.0.1", "--port", str(CHROMA_PORT), "--path", "/data"]
    assert "ports" not in chroma
    assert envoy["ports"] == [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
    # both probed through Envoy's heartbeat (the one path Envoy lets through without the token)
    assert chroma["readinessProbe"]["httpGet"] == {"path": HEARTBEAT, "port": PORT}
    assert chroma["livenessProbe"]["httpGet"] == {"path": HEARTBEAT, "port": PORT}
    assert envoy["livenessProbe"]["tcpSocket"] == {"port": PORT}
    assert chroma["resources"] == RESOURCES.spec()
    assert all(x["securityContext"]["readOnlyRootFilesystem"] is True for x in c.values())
    pdb = plan.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_envoy_admits_the_token_header_and_the_heartbeat_only() -> None:
    doc = json.loads(envoy_config("t0ken"))
    listener = doc["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"]["port_value"] == PORT
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    policies = hcm["http_filters"][0]["typed_config"]["rules"]["policies"]
    assert policies["token"]["permissions"] == [
        {"header": {"name": "x-chroma-token", "string_match": {"exact": "t0ken"}}}]
    assert set(policies) == {"token", "heartbeat"}
    (upstream,) = doc["static_resources"]["clusters"]
    endpoint = upstream["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": CHROMA_PORT}


def test_the_token_is_in_secrets_only(plan: Plan) -> None:
    token = plan.one("random:index/randomPassword:RandomPassword").state["result"]
    secrets = {r.inputs["metadata"]["name"]: r for r in plan.of_type("kubernetes:core/v1:Secret")}
    assert secrets["chromadb"].inputs["metadata"]["namespace"] == "looper"
    assert secrets["chromadb"].state["stringData"] == {"token": token}
    assert secrets["chromadb-auth"].state["stringData"]["envoy.json"] == envoy_config(token)
    assert token not in json.dumps([r.inputs for r in plan.resources])


def test_chroma_persists_to_the_claimed_volume_and_nowhere_else(plan: Plan) -> None:
    spec = plan.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "gp3-retain"
    chroma = containers(plan)["chromadb"]
    mounts = {m["mountPath"]: m["name"] for m in chroma["volumeMounts"]}
    args = chroma["args"]
    persist = args[args.index("--path") + 1]
    env = {e["name"]: e["value"] for e in chroma["env"]}
    # the CLI flag and the environment name the same directory: the claim's mount point
    assert env["CHROMA_PERSIST_PATH"] == persist
    assert mounts.get(persist) == claim["metadata"]["name"]
    # no other mount shadows it or a part of it (the root filesystem is read-only besides)
    assert [p for p in mounts if p != persist and (persist.startswith(p.rstrip("/") + "/")
                                                   or p.startswith(persist.rstrip("/") + "/"))] == []
    pod = spec["template"]["spec"]
    assert all(v["name"] != claim["metadata"]["name"] for v in pod.get("volumes", []))
