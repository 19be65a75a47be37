"""The GCP foundation from plain values: v1-v3 under their names, v4's GCP side under its own."""

from __future__ import annotations

import pulumi
import yaml

from helpers.plans import baseline, example_values, normalize
from looper_infra.config import validate_mapping
from looper_infra.config.v4 import V4Config
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program
from looper_infra.stages.foundation import FoundationNames, gcp_foundation


def v4_gcp_foundation(stack: str) -> Plan:
    """What stage v4's GCP side builds, from the foundation (the names it deployed with)."""
    cfg = validate_mapping(example_values(stack), stack)
    assert isinstance(cfg, V4Config) and cfg.gcp is not None
    g = cfg.gcp

    def program() -> None:
        base = gcp_foundation(
            name_prefix=cfg.name_prefix, env=cfg.env, stack=pulumi.get_stack(), labels=cfg.labels,
            project=g.project, region=g.region, zone=g.zone, subnets={"nodes": str(g.subnet_cidr)},
            nat=True, names=FoundationNames(network="gcp-vpc", nat="gcp-nat", vpc_role="gcp"))
        pulumi.export("vpc", base.network.self_link)

    return run_program(program, stage="v4", stack=stack, context=MockContext(project=g.project))


def test_v4_can_build_its_gcp_side_on_the_foundation_without_replacing_anything() -> None:
    for stack in ("v4-dev", "v4-prod"):
        old, _ = baseline(stack)
        plan = v4_gcp_foundation(stack)
        now = {r.urn: r for r in plan.resources}
        foundation = {u: r for u, r in old.items()
                      if "::gcp-vpc" in u or "::gcp-nat" in u or u.endswith("::pulumi:providers:gcp::gcp")}
        assert len(foundation) == 7, sorted(foundation)
        assert set(now) == set(foundation)  # nothing more, nothing renamed
        for urn, before in foundation.items():
            assert (now[urn].type, now[urn].name) == (before.type, before.name)
            assert normalize(now[urn].inputs) == normalize(dict(before.inputs)), urn


def test_v1_v3_names_labels_and_optional_nat() -> None:
    def program(nat: bool) -> None:
        gcp_foundation(name_prefix="looper", env="dev", stack="v3-dev", labels={"team": "core"},
                       project="looper-dev-000000", region="asia-northeast3", zone="asia-northeast3-a",
                       subnets={"app": "10.0.1.0/24", "db": "10.0.2.0/24"}, nat=nat)

    plan = run_program(lambda: program(nat=True), stage="v3", stack="v3-dev", context=MockContext())
    names = {(r.type, r.name) for r in plan.resources}
    assert {("looper:gcp:Network", "network"), ("looper:gcp:CloudNat", "nat"),
            ("pulumi:providers:gcp", "gcp")} <= names
    assert plan.one("gcp:compute/network:Network").inputs["name"] == "looper-dev-vpc"
    assert plan.one("gcp:compute/router:Router").inputs["name"] == "looper-dev-vpc-router"
    assert plan.one("gcp:compute/routerNat:RouterNat").inputs["name"] == "looper-dev-vpc-nat"
    assert {s.inputs["logConfig"]["flowSampling"]
            for s in plan.of_type("gcp:compute/subnetwork:Subnetwork")} == {0.5}  # the default
    labels = yaml.safe_load(plan.one("pulumi:providers:gcp").inputs["defaultLabels"])
    assert labels == {"app": "looper", "env": "dev", "stack": "v3-dev", "managed-by": "pulumi",
                      "team": "core"}
    without = run_program(lambda: program(nat=False), stage="v1", stack="v1-dev", context=MockContext())
    assert without.of_type("looper:gcp:CloudNat") == []
