"""Backups in stage v4-platform, planned from the example stacks: the Velero bucket (SSE-KMS with our
key, versioning, public access blocked, owner-enforced, TLS only, lifecycle past the longest TTL),
the IRSA role (trusted by velero/velero only; the bucket, the key through S3, EBS snapshots of this
cluster only), the snapshot controller and class, and the schedules from config."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest
import yaml

from helpers.plans import example_values, plan_values
from looper_infra.bootstrap.k8s_versions import KUBERNETES_MINOR
from looper_infra.components.k8s.snapshots import crd_documents
from looper_infra.engine.plan import Plan
from looper_infra.facts.backups import SNAPSHOT_CONTROLLER_IMAGE, VELERO_AWS_PLUGIN_IMAGE
from looper_infra.facts.charts import CHARTS
from looper_infra.policies.evaluate import evaluate, resources_of

CLUSTER = "looper-dev-k8s"  # the fake cluster stack's cluster_name
BUCKET_NAME = "looper-dev-velero-123456789012"
SCHEDULE = "kubernetes:velero.io/v1:Schedule"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_values(example_values("v4-platform-dev"), stack="v4-platform-dev")


def named(plan: Plan, type_: str, name: str) -> dict[str, Any]:
    found = [r for r in plan.of_type(type_) if r.name == name]
    assert len(found) == 1, (type_, name, [r.name for r in plan.of_type(type_)])
    inputs: dict[str, Any] = found[0].inputs
    return inputs


def test_bucket_is_private_kms_encrypted_versioned_tls_only_and_expires_after_the_longest_ttl(
        plan: Plan) -> None:
    assert named(plan, "aws:s3/bucket:Bucket", "velero-bucket")["bucket"] == BUCKET_NAME
    block = named(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                  "velero-bucket-public-access-block")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    owner = named(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "velero-bucket-ownership")
    assert owner["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    sse_type = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    sse = named(plan, sse_type, "velero-bucket-encryption")["rules"][0]
    key = named(plan, "aws:kms/key:Key", "velero-bucket-key")
    assert key["enableKeyRotation"] is True
    by_default = sse["applyServerSideEncryptionByDefault"]
    assert by_default["sseAlgorithm"] == "aws:kms" and by_default["kmsMasterKeyId"].startswith("arn:aws:kms:")
    versioning = named(plan, "aws:s3/bucketVersioning:BucketVersioning", "velero-bucket-versioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    policy = json.loads(named(plan, "aws:s3/bucketPolicy:BucketPolicy", "velero-bucket-policy")["policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (rule,) = named(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                    "velero-bucket-lifecycle")["rules"]
    # default TTLs 336h (namespaces) and 720h (cluster resources): 30 days + a 7-day margin
    assert rule["expiration"]["days"] == 37
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 30


def test_role_is_trusted_by_velero_only_and_scoped_to_its_bucket_key_and_cluster(plan: Plan) -> None:
    role = named(plan, "aws:iam/role:Role", "velero-irsa-role")
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    subjects = {k: v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")}
    assert list(subjects.values()) == ["system:serviceaccount:velero:velero"]
    inline = json.loads(named(plan, "aws:iam/rolePolicy:RolePolicy", "velero-irsa-policy")["policy"])
    by_sid = {s["Sid"]: s for s in inline["Statement"]}
    assert by_sid["ListBackupBucket"]["Resource"] == [f"arn:aws:s3:::{BUCKET_NAME}"]
    assert by_sid["ReadWriteBackups"]["Resource"] == [f"arn:aws:s3:::{BUCKET_NAME}/*"]
    kms = by_sid["BucketKeyThroughS3"]
    assert kms["Resource"][0].startswith("arn:aws:kms:") and kms["Condition"]["StringEquals"] == {
        "kms:ViaService": "s3.ap-northeast-2.amazonaws.com"}
    ec2 = json.loads(named(plan, "aws:iam/rolePolicy:RolePolicy", "velero-irsa-ebs-snapshots")["policy"])
    ebs = {s["Sid"]: s for s in ec2["Statement"]}
    tag = f"kubernetes.io/cluster/{CLUSTER}"
    assert ebs["DescribeVolumesAndSnapshots"]["Resource"] == "*"
    assert all(a.startswith("ec2:Describe") for a in ebs["DescribeVolumesAndSnapshots"]["Action"])
    assert ebs["SnapshotClusterVolumes"]["Condition"] == {"StringEquals": {f"aws:ResourceTag/{tag}": "owned"}}
    assert ebs["SnapshotClusterVolumes"]["Resource"] == ["arn:aws:ec2:ap-northeast-2:123456789012:volume/*"]
    assert ebs["CreateClusterSnapshots"]["Condition"] == {"StringEquals": {f"aws:RequestTag/{tag}": "owned"}}
    assert ebs["TagSnapshotsOnCreate"]["Condition"] == {
        "StringEquals": {"ec2:CreateAction": "CreateSnapshot"}}
    delete = ebs["DeleteVeleroClusterSnapshots"]
    assert delete["Action"] == ["ec2:DeleteSnapshot"] and delete["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{tag}": "owned"},
        "Null": {"aws:ResourceTag/velero.io/backup": "false"}}
    # every Allow on "*" is read-only; everything else names resources
    for statement in [*inline["Statement"], *ec2["Statement"]]:
        if statement["Resource"] == "*":
            assert all(":Describe" in a for a in statement["Action"]), statement
    # the EBS CSI driver puts that very tag on the volumes and snapshots it creates
    ebs_values = named(plan, "kubernetes:helm.sh/v3:Release", "storage-ebs-csi")["values"]
    assert ebs_values["controller"]["k8sTagClusterId"] == CLUSTER


def test_velero_release_is_pinned_with_the_aws_plugin_web_identity_and_csi(plan: Plan) -> None:
    release = named(plan, "kubernetes:helm.sh/v3:Release", "velero-release")
    assert (release["chart"], release["version"]) == ("velero", CHARTS["velero"].version)
    assert release["namespace"] == "velero"
    v = release["values"]
    assert [c["image"] for c in v["initContainers"]] == [VELERO_AWS_PLUGIN_IMAGE]
    assert v["credentials"] == {"useSecret": False} and v["deployNodeAgent"] is False
    conf = v["configuration"]
    assert conf["features"] == "EnableCSI" and conf["defaultSnapshotMoveData"] is False
    (bsl,) = conf["backupStorageLocation"]
    assert (bsl["provider"], bsl["bucket"], bsl["default"]) == ("aws", BUCKET_NAME, True)
    assert bsl["config"]["kmsKeyId"].startswith("arn:aws:kms:")
    env = {e["name"]: e["value"] for e in conf["extraEnvVars"]}
    assert env["AWS_ROLE_ARN"].endswith(":role/looper-dev-velero")
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"].startswith(v["extraVolumeMounts"][0]["mountPath"])
    assert v["podSecurityContext"]["runAsNonRoot"] is True
    assert v["containerSecurityContext"]["allowPrivilegeEscalation"] is False
    namespace = named(plan, "kubernetes:core/v1:Namespace", "velero-namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_schedules_come_from_config_with_their_ttl(plan: Plan) -> None:
    schedules = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(SCHEDULE)}
    assert set(schedules) == {"daily", "cluster-resources"}
    daily, cluster = schedules["daily"], schedules["cluster-resources"]
    assert (daily["schedule"], daily["template"]["ttl"]) == ("0 3 * * *", "336h")
    assert daily["template"]["includedNamespaces"] == ["looper-data", "looper"]
    assert daily["template"]["snapshotVolumes"] is True
    assert daily["template"]["includeClusterResources"] is False
    assert (cluster["schedule"], cluster["template"]["ttl"]) == ("30 3 * * *", "720h")
    assert cluster["template"]["includeClusterResources"] is True
    assert cluster["template"]["snapshotVolumes"] is False
    assert all(r.inputs["metadata"]["namespace"] == "velero" for r in plan.of_type(SCHEDULE))


def test_schedules_and_namespaces_follow_the_stack_config() -> None:
    values = example_values("v4-platform-dev")
    values["backups"] = {"namespaces": ["looper-data"], "schedules": {
        "hourly": {"cron": "0 * * * *", "ttl": "48h"}, "weekly": {"cron": "0 4 * * 0", "ttl": "2160h"}}}
    plan = plan_values(values, stack="v4-platform-dev")
    schedules = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(SCHEDULE)}
    assert {n: (s["schedule"], s["template"]["ttl"]) for n, s in schedules.items()} == {
        "hourly": ("0 * * * *", "48h"), "weekly": ("0 4 * * 0", "2160h"),
        "cluster-resources": ("30 3 * * *", "720h")}
    assert schedules["hourly"]["template"]["includedNamespaces"] == ["looper-data"]
    (rule,) = named(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                    "velero-bucket-lifecycle")["rules"]
    assert rule["expiration"]["days"] == 90 + 7  # the weekly 2160h


def test_snapshot_class_and_controller(plan: Plan) -> None:
    cls = named(plan, "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass", "snapshots-class")
    assert (cls["driver"], cls["deletionPolicy"]) == ("ebs.csi.aws.com", "Delete")
    assert cls["metadata"]["labels"]["velero.io/csi-volumesnapshot-class"] == "true"
    crds = {r.inputs["metadata"]["name"] for r in plan.of_type(
        "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")}
    assert crds == {f"{plural}.snapshot.storage.k8s.io"
                    for plural in ("volumesnapshotclasses", "volumesnapshotcontents", "volumesnapshots")}
    deployment = named(plan, "kubernetes:apps/v1:Deployment", "snapshots-controller")
    assert deployment["metadata"]["namespace"] == "kube-system" and deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == SNAPSHOT_CONTROLLER_IMAGE and "--leader-election=true" in container["args"]


def test_the_snapshot_class_is_valid_against_the_vendored_crd(plan: Plan) -> None:
    import jsonschema

    crd = next(d for d in crd_documents() if d["spec"]["names"]["kind"] == "VolumeSnapshotClass")
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
    cls = named(plan, "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass", "snapshots-class")
    jsonschema.validate(cls, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**cls, "deletionPolicy": "Keep"}, schema)
    for crd_doc in crd_documents():  # the CRDs themselves are valid apiextensions/v1 objects
        kubernetes_validate.validate(yaml.safe_load(yaml.safe_dump(crd_doc)), KUBERNETES_MINOR, strict=True)


def test_disabled_backups_build_nothing_and_the_policy_pack_reports_it() -> None:
    values = example_values("v4-platform-dev")
    values["backups"] = {"enabled": False}
    plan = plan_values(values, stack="v4-platform-dev")
    assert not plan.of_type(SCHEDULE) and not [r for r in plan.resources if "velero" in r.name]
    found = [v for v in evaluate(resources_of(plan)) if v.policy == "k8s-backups-scheduled"]
    # one finding per StatefulSet with volumes (Redis, ChromaDB, Kafka), advisory
    assert {v.urn.rsplit("::", 1)[1] for v in found} == {"redis-statefulset", "chromadb-statefulset",
                                                           "kafka-statefulset"}
    assert all(v.level == "advisory" and "backups.enabled" in v.message for v in found)


def test_enabled_backups_are_not_reported(plan: Plan) -> None:
    assert [v for v in evaluate(resources_of(plan)) if v.policy == "k8s-backups-scheduled"] == []
