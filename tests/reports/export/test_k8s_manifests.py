"""Stage v4-platform manifests, rendered from the offline plan, checked by the real tools.

Every Kubernetes object the program applies is validated against the pinned Kubernetes
minor's schemas (kubernetes-validate, strict: unknown fields are errors), and checkov's
kubernetes framework scans them with the waivers of k8s-waivers.yaml. Helm releases are not
objects and cannot be rendered offline (no chart archives): their values are tested in
tests/stages/test_v4_platform.py.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from helpers.export import Failure, unwaived, waiver_gaps
from helpers.plans import ROOT, example_values, plan_values
from helpers.tools import checkov_exe
from looper_infra.bootstrap.k8s_versions import KUBERNETES_MINOR
from looper_infra.engine.plan import Plan
from looper_infra.reports.export import checkov
from looper_infra.reports.export.k8s_manifests import (
    MASKED_ANNOTATION,
    api_version_kind,
    manifests_from_plan,
    write_manifests,
)

STACKS = ("v4-platform-dev", "v4-platform-prod")
#: custom resources: kubernetes-validate ships only the built-in API schemas
NOT_VALIDATABLE = {"ClusterSecretStore": "External Secrets CRD (external-secrets.io/v1), not built in",
                   "ExternalSecret": "External Secrets CRD (external-secrets.io/v1), not built in",
                   "Schedule": "Velero CRD (velero.io/v1), installed by its chart",
                   # CRDs vendored in tests/fixtures/crds and src/looper_infra/manifests/crds: their
                   # objects are validated against those schemas in tests/stages/test_crd_schemas.py
                   "VolumeSnapshotClass": "CSI snapshot CRD (snapshot.storage.k8s.io/v1), vendored",
                   **{k: "Gateway API CRD (gateway.networking.k8s.io/v1), vendored"
                      for k in ("Gateway", "GatewayClass", "HTTPRoute")},
                   "EnvoyProxy": "Envoy Gateway CRD (gateway.envoyproxy.io/v1alpha1), not built in",
                   **{k: "Argo CD CRD (argoproj.io/v1alpha1), vendored (GitOps mode only)"
                      for k in ("AppProject", "Application")}}
#: the kinds only the GitOps example (v4-platform-dev) has
GITOPS_ONLY = {"AppProject", "Application"}
WAIVERS = ROOT / "k8s-waivers.yaml"


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {s: plan_values(example_values(s), stack=s) for s in STACKS}


def test_type_tokens_map_to_api_versions() -> None:
    assert api_version_kind("kubernetes:apps/v1:StatefulSet") == ("apps/v1", "StatefulSet")
    assert api_version_kind("kubernetes:core/v1:Service") == ("v1", "Service")
    assert api_version_kind("kubernetes:networking.k8s.io/v1:NetworkPolicy") == (
        "networking.k8s.io/v1", "NetworkPolicy")
    with pytest.raises(ValueError, match="not a kubernetes resource type"):
        api_version_kind("aws:s3/bucket:Bucket")


def test_manifests_are_the_objects_not_releases_nor_the_provider(plans: dict[str, Plan]) -> None:
    plan = plans["v4-platform-dev"]
    objs = manifests_from_plan(plan)
    expected = [r for r in plan.resources if r.type.startswith("kubernetes:") and r.custom
                and r.type != "kubernetes:helm.sh/v3:Release" and not r.type.endswith("Patch")]
    assert len(objs) == len(expected) > 40
    kinds = Counter(o["kind"] for o in objs)
    assert kinds["StatefulSet"] == 3 and kinds["ClusterSecretStore"] == 1 and "Release" not in kinds
    # a patch is the fields it sets on a chart's object, not an object (the handler's token volume)
    assert plan.of_type("kubernetes:apps/v1:DeploymentPatch") and "DeploymentPatch" not in kinds
    store = next(o for o in objs if o["kind"] == "ClusterSecretStore")
    assert store["apiVersion"] == "external-secrets.io/v1"
    secrets = [o for o in objs if o["kind"] == "Secret"]
    assert secrets and all(o["stringData"] == {} for o in secrets)  # values never leave the plan
    assert all(o["metadata"]["annotations"][MASKED_ANNOTATION] == "stringData" for o in secrets)


def test_rendering_leaves_the_plan_as_planned() -> None:
    plan = plan_values(example_values("v4-platform-prod"), stack="v4-platform-prod")
    before = copy.deepcopy([r.inputs for r in plan.resources])
    secrets = [o for o in manifests_from_plan(plan) if o["kind"] == "Secret"]
    assert secrets and all(MASKED_ANNOTATION in o["metadata"]["annotations"] for o in secrets)
    assert [r.inputs for r in plan.resources] == before  # the masked Secrets' metadata is a copy
    # a caller changing a rendered object (nested fields included) changes no planned input
    for obj in manifests_from_plan(plan):
        obj["metadata"].setdefault("labels", {})["changed-by"] = "caller"
    assert [r.inputs for r in plan.resources] == before


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_validates_against_the_pinned_kubernetes(plans: dict[str, Plan],
                                                              stack: str) -> None:
    checked, skipped = 0, Counter[str]()
    for obj in manifests_from_plan(plans[stack]):
        if obj["kind"] in NOT_VALIDATABLE:
            skipped[obj["kind"]] += 1
            continue
        kubernetes_validate.validate(obj, KUBERNETES_MINOR, strict=True)
        checked += 1
    assert checked > 40
    # only custom resources are skipped
    assert set(skipped) == set(NOT_VALIDATABLE) - (set() if stack == "v4-platform-dev" else GITOPS_ONLY)


def test_strict_validation_rejects_an_unknown_field() -> None:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                           "data": {}, "surprise": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, KUBERNETES_MINOR, strict=True)


def test_checkov_finds_nothing_unwaived(plans: dict[str, Plan], tmp_path: Path) -> None:
    for stack, plan in plans.items():
        paths = write_manifests(plan, tmp_path / stack)
        assert all(yaml.safe_load(p.read_text()) for p in paths)
    report = checkov.run_checkov_dir(tmp_path, "kubernetes", checkov_exe(), tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 300  # it really scanned the workloads
    waivers = checkov.load_waivers(WAIVERS)
    found: list[Failure] = []
    for c in report["results"]["failed_checks"]:
        stack = next((p for p in Path(c["file_path"]).parts if p in STACKS), None)
        assert stack is not None, c["file_path"]
        found.append((stack, c["check_id"], c["resource"]))
    assert unwaived(waivers, found) == [], "fix these or waive them in k8s-waivers.yaml"
    # checkov ran without waivers: each one's check fails on every pattern it names
    assert waiver_gaps(waivers, found) == [], \
        "these waivers (or patterns) match nothing any more: remove them"


def test_looper_check_scans_the_manifests_too(plans: dict[str, Plan]) -> None:
    """`looper check v4-platform --scanner checkov` = the export and the rendered manifests."""
    checkov_exe()
    result = checkov.scan(plans["v4-platform-prod"], "v4-platform-prod", ROOT)
    # the manifests' findings ("<Kind>.<namespace>.<name>"); the export's kubernetes_* resources
    # get CKV_K8S_ checks of the terraform framework too (waived in checkov-waivers.yaml)
    k8s = [f for f in result.findings if f.check.startswith("CKV_K8S_")
           and not f.address.startswith("kubernetes_")]
    assert k8s, "the kubernetes framework ran on the manifests"
    # the Terraform view of a typed Deployment is checked by checkov's Terraform K8S checks: those
    # waivers live with the other Terraform ones (checkov-waivers.yaml)
    waivers = checkov.load_waivers(WAIVERS) + checkov.load_waivers(ROOT / "checkov-waivers.yaml")
    assert all(f.waiver is not None and f.waiver in waivers for f in k8s)
    assert result.unwaived == []
    kinds = {f.address.split(".", 1)[0] for f in k8s}
    assert "StatefulSet" in kinds
