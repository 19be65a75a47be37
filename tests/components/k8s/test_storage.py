"""Block storage: the pinned EBS CSI driver with the IRSA-trusted controller, two encrypted gp3 classes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from looper_infra.components.k8s.storage import BlockStorage, BlockStorageArgs, Gp3Volumes
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS
from looper_infra.facts.v4_contract import EBS_CSI_CONTROLLER

ROLE = "arn:aws:iam::123456789012:role/looper-dev-ebs-csi"
KEY = "arn:aws:kms:ap-northeast-2:123456789012:key/0123abcd-0123-abcd-0123-0123456789ab"
SC = "kubernetes:storage.k8s.io/v1:StorageClass"


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: BlockStorage("storage", BlockStorageArgs(
        region="ap-northeast-2", controller_role_arn=ROLE,
        volumes=Gp3Volumes(iops=6000, throughput=500, kms_key_arn=KEY)), opts))


def test_driver_is_pinned_and_its_controller_assumes_the_role_it_is_trusted_for(plan: Plan) -> None:
    release = plan.one("kubernetes:helm.sh/v3:Release")
    pin = CHARTS["aws-ebs-csi-driver"]
    assert (release.inputs["chart"], release.inputs["version"]) == (pin.chart, pin.version)
    assert release.inputs["namespace"] == EBS_CSI_CONTROLLER.namespace
    controller = release.inputs["values"]["controller"]
    assert controller["serviceAccount"]["name"] == EBS_CSI_CONTROLLER.name
    assert controller["replicaCount"] == 2 and controller["region"] == "ap-northeast-2"
    env = {e["name"]: e["value"] for e in controller["env"]}
    assert env["AWS_ROLE_ARN"] == ROLE
    (volume,) = controller["volumes"]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    node = release.inputs["values"]["node"]
    assert node["hostNetwork"] is True and node["tolerateAllTaints"] is True
    assert release.inputs["values"]["storageClasses"] == []


def test_classes_are_encrypted_gp3_bound_at_scheduling_after_the_driver(plan: Plan) -> None:
    driver = plan.one("kubernetes:helm.sh/v3:Release")
    classes = {r.inputs["metadata"]["name"]: r for r in plan.of_type(SC)}
    assert set(classes) == {"gp3", "gp3-retain"}
    for name, r in classes.items():
        c = r.inputs
        assert c["parameters"] == {"type": "gp3", "encrypted": "true", "iops": "6000", "throughput": "500",
                                   "csi.storage.k8s.io/fstype": "ext4", "kmsKeyId": KEY}
        assert c["provisioner"] == "ebs.csi.aws.com" and c["volumeBindingMode"] == "WaitForFirstConsumer"
        assert c["allowVolumeExpansion"] is True and driver.urn in r.dependencies
        default = c["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
        expected = {"gp3": ("Delete", "true"), "gp3-retain": ("Retain", "false")}[name]
        assert (c["reclaimPolicy"], default) == expected


def test_without_a_customer_key_the_volumes_use_the_accounts_ebs_key() -> None:
    assert "kmsKeyId" not in Gp3Volumes().parameters()
    assert Gp3Volumes().parameters()["iops"] == "3000"
