"""Velero: backups of the cluster's objects and volumes, kept in S3, on schedules from config.

What it builds:

- an S3 bucket (made by `components.aws.s3.private_bucket`, as the observability buckets are):
  all four public access blocks, BucketOwnerEnforced, SSE-KMS with a customer-managed key made
  here (yearly rotation) and an S3 bucket key, versioning, a TLS-only bucket policy, and a
  lifecycle that expires objects `expire_days` after creation (the longest TTL plus a margin: a
  safety net behind Velero's own deletion) and previous versions after `noncurrent_days`;
- an IRSA role (`components.aws.irsa.IrsaRole`) trusted only by `velero/velero`'s tokens, allowed
  that bucket's objects, that key through S3, and EBS snapshots of this cluster only: CreateSnapshot
  on volumes carrying the cluster's ownership tag (`kubernetes.io/cluster/<cluster>` = `owned`, which
  the EBS CSI driver puts on the volumes and snapshots it creates: `k8sTagClusterId`, components/k8s/
  storage.py), CreateTags only while creating a snapshot, DeleteSnapshot only on snapshots carrying
  both that tag and Velero's `velero.io/backup` tag, DescribeVolumes/DescribeSnapshots on "*"
  (read-only; EC2 Describe* has no resource-level permissions);
- the `velero` namespace (Pod Security `restricted` enforced: no node agent, so no host access),
  the chart at the version of facts/charts.py with the images of facts/backups.py, the AWS plugin
  as an init container, credentials by web identity (projected token, no Secret), CSI snapshots on;
- one Velero `Schedule` per entry of `schedules`, each with its TTL;
- NetworkPolicies: default-deny ingress, Velero's metrics port from the monitoring namespace.

Volume data: CSI snapshots (EnableCSI; the VolumeSnapshotClass of components/k8s/snapshots.py),
not `snapshotMoveData`. The EBS CSI driver takes the EBS snapshots, which are independent of the
volume and stored regionally, so they survive the volume, its zone and a mistaken delete; they do
not survive the loss of the account or region. Moving the data into the bucket (the data mover)
needs the node agent, a privileged DaemonSet with the kubelet's pod directories mounted, which
would make the namespace `privileged`; that trade is left for a named option later. With CSI
snapshots Velero itself calls no EC2 API: the EC2 statements of its role are what its AWS plugin's
native snapshots need, scoped to this cluster, kept so a VolumeSnapshotLocation can be added
without an IAM change (docs/runbooks/backup-restore.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from looper_infra.components.aws.irsa import IrsaRole, IrsaRoleArgs
from looper_infra.components.aws.kms import customer_key
from looper_infra.components.aws.provider import partition
from looper_infra.components.aws.s3 import private_bucket, tls_only_policy
from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.components.k8s.namespaces import pod_security_labels
from looper_infra.facts.backups import VELERO_AWS_PLUGIN_IMAGE, VELERO_BACKUP_TAG, VELERO_IMAGE
from looper_infra.manifests.pods import Resources, container_security, metadata, pod_security
from looper_infra.manifests.web_identity import WebIdentity

NAMESPACE = "velero"
SERVICE_ACCOUNT = "velero"
STORAGE_LOCATION = "default"
METRICS_PORT = 8085
#: the user Velero runs as, set explicitly (`restricted` needs a non-root user; the image's own
#: user is not a documented number); fsGroup makes the plugins and scratch emptyDirs writable
VELERO_UID = 65532
#: seconds Helm waits for the release (image pulls, the CRD upgrade job)
HELM_TIMEOUT_SEC = 600
_NAME_LABEL = "kubernetes.io/metadata.name"
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")


def cluster_tag_key(cluster_name: str) -> str:
    """The ownership tag the EBS CSI driver puts on this cluster's volumes and snapshots."""
    return f"kubernetes.io/cluster/{cluster_name}"


@dataclass(frozen=True)
class BackupSchedule:
    #: 5-field cron (UTC)
    cron: str
    #: Go duration (`336h`)
    ttl: str
    #: namespaces backed up; empty: every namespace
    namespaces: tuple[str, ...] = ()
    #: cluster-scoped objects (CRDs, StorageClasses, RBAC, PVs) too
    cluster_resources: bool = False
    #: CSI snapshots of the namespaces' volumes
    snapshot_volumes: bool = True


@dataclass(frozen=True)
class VeleroArgs:
    #: prefix of bucket, key and role names, e.g. "looper-dev"
    name_prefix: str
    region: str
    account_id: str
    #: the IRSA issuer (the v4 stack's `oidc_provider_arn`, `oidc_issuer_host`)
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_host: pulumi.Input[str]
    #: the cluster's name (the v4 stack's `cluster_name`): its ownership tag scopes the EBS rights
    cluster_name: pulumi.Input[str]
    schedules: Mapping[str, BackupSchedule]
    #: days after which the bucket's lifecycle deletes an object (longer than every TTL)
    expire_days: int
    noncurrent_days: int = 30
    #: the VolumeSnapshotClass Velero uses (CsiSnapshots.snapshot_class): schedules wait for it
    snapshot_class: pulumi.Input[str] | None = None
    #: the namespace whose Prometheus scrapes Velero's metrics
    monitoring_namespace: str = "monitoring"
    resources: Resources = field(default_factory=lambda: Resources("100m", "128Mi", "1", "512Mi"))

    def bucket_name(self) -> str:
        """Globally unique: `looper-dev-velero-123456789012`."""
        return f"{self.name_prefix}-velero-{self.account_id}"

    def problems(self) -> list[str]:
        errors = []
        if not _BUCKET_NAME.match(self.bucket_name()):
            errors.append(f"name_prefix: bucket name {self.bucket_name()!r} is not an S3 bucket name")
        if not self.schedules:
            errors.append("schedules: at least one")
        errors += [f"schedules[{n!r}]: not a Kubernetes name"
                   for n in self.schedules if not _K8S_NAME.match(n)]
        if self.expire_days < 2:
            errors.append(f"expire_days: {self.expire_days} (at least 2)")
        return errors


def s3_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """Velero's object store: list the bucket; read, write, delete its objects, finish uploads."""
    return [
        {"Sid": "ListBackupBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket_arn]},
        {"Sid": "ReadWriteBackups", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts"],
         "Resource": [f"{bucket_arn}/*"]},
    ]


def kms_statement(key_arn: pulumi.Input[str], region: str) -> dict[str, Any]:
    """The bucket's key, only as S3 uses it on Velero's behalf."""
    return {"Sid": "BucketKeyThroughS3", "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"], "Resource": [key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}}


def ebs_statements(cluster_name: str, region: str, account_id: str) -> list[dict[str, Any]]:
    """EBS snapshots of this cluster's volumes only (by its ownership tag)."""
    arn = f"arn:{partition(region)}:ec2:{region}"
    tag = cluster_tag_key(cluster_name)
    return [
        {"Sid": "DescribeVolumesAndSnapshots", "Effect": "Allow",
         "Action": ["ec2:DescribeVolumes", "ec2:DescribeSnapshots"], "Resource": "*"},
        {"Sid": "SnapshotClusterVolumes", "Effect": "Allow", "Action": ["ec2:CreateSnapshot"],
         "Resource": [f"{arn}:{account_id}:volume/*"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{tag}": "owned"}}},
        {"Sid": "CreateClusterSnapshots", "Effect": "Allow", "Action": ["ec2:CreateSnapshot"],
         "Resource": [f"{arn}::snapshot/*"],
         "Condition": {"StringEquals": {f"aws:RequestTag/{tag}": "owned"}}},
        {"Sid": "TagSnapshotsOnCreate", "Effect": "Allow", "Action": ["ec2:CreateTags"],
         "Resource": [f"{arn}::snapshot/*"],
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSnapshot"}}},
        {"Sid": "DeleteVeleroClusterSnapshots", "Effect": "Allow", "Action": ["ec2:DeleteSnapshot"],
         "Resource": [f"{arn}::snapshot/*"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{tag}": "owned"},
                       "Null": {f"aws:ResourceTag/{VELERO_BACKUP_TAG}": "false"}}},
    ]


def velero_values(args: VeleroArgs, *, bucket: pulumi.Input[str], key_arn: pulumi.Input[str],
                  role_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Values of the velero chart: pinned images, web identity, one storage location, CSI on."""
    identity = WebIdentity(role_arn=role_arn, region=args.region)
    security = container_security()
    return {
        "image": {"repository": VELERO_IMAGE[0], "tag": VELERO_IMAGE[1], "pullPolicy": "IfNotPresent"},
        "initContainers": [{
            "name": "velero-plugin-for-aws", "image": VELERO_AWS_PLUGIN_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
            "securityContext": security, "resources": Resources("10m", "32Mi", "100m", "64Mi").spec()}],
        "podSecurityContext": pod_security(VELERO_UID),
        "containerSecurityContext": security,
        "resources": args.resources.spec(),
        "upgradeJobResources": Resources("50m", "64Mi", "200m", "256Mi").spec(),
        "credentials": {"useSecret": False},
        # the annotation documents the role; the token comes from the projected volume
        "serviceAccount": {"server": {
            "create": True, "name": SERVICE_ACCOUNT,
            "annotations": identity.service_account(SERVICE_ACCOUNT)["annotations"]}},
        "extraVolumes": identity.volumes(),
        "extraVolumeMounts": identity.mounts(),
        "backupsEnabled": True,
        # no VolumeSnapshotLocation: volumes are snapshotted through CSI, which needs none
        "snapshotsEnabled": False,
        "deployNodeAgent": False,
        "configuration": {
            "backupStorageLocation": [{
                "name": STORAGE_LOCATION, "provider": "aws", "bucket": bucket, "default": True,
                # objects are put with SSE-KMS and this key (the bucket's default too)
                "config": {"region": args.region, "kmsKeyId": key_arn}}],
            "features": "EnableCSI",
            "defaultSnapshotMoveData": False,
            "defaultVolumesToFsBackup": False,
            "extraEnvVars": identity.env(),
        },
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": False}},
        # our own Schedule objects (below), not the chart's
        "schedules": {},
    }


def schedule_spec(s: BackupSchedule) -> dict[str, Any]:
    """A Velero Schedule's spec: its cron and a backup template with the TTL."""
    template: dict[str, Any] = {
        "ttl": s.ttl, "storageLocation": STORAGE_LOCATION,
        "includedNamespaces": list(s.namespaces) or ["*"],
        "includeClusterResources": s.cluster_resources,
        "snapshotVolumes": s.snapshot_volumes, "snapshotMoveData": False,
        "csiSnapshotTimeout": "10m",
    }
    return {"schedule": s.cron, "useOwnerReferencesInBackup": False, "template": template}


def _constant(value: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    return lambda _: value


class Velero(Component):
    #: the backup bucket's name
    bucket: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    #: names of the Schedule objects
    schedules: list[str]
    _args: VeleroArgs

    def __init__(self, name: str, args: VeleroArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Velero", name, args, opts)
        child = self.child_opts
        a = self._args = args
        bucket_name = a.bucket_name()
        tags = {"Name": bucket_name, "looper/role": "velero"}
        key = customer_key(f"{name}-bucket", description=f"{bucket_name}: Velero backups (SSE-KMS)",
                           tags=tags, opts=child, alias=f"{a.name_prefix}-velero")
        bucket = self._bucket(name, bucket_name, key, tags)
        bucket_arn = f"arn:{partition(a.region)}:s3:::{bucket_name}"
        role = IrsaRole(f"{name}-irsa", IrsaRoleArgs(
            name=f"{a.name_prefix}-velero", provider_arn=a.oidc_provider_arn, issuer_host=a.oidc_issuer_host,
            namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
            statements=[*s3_statements(bucket_arn), kms_statement(key.arn, a.region)]), opts=child)
        # the condition keys name the cluster (a stack-reference output): the document waits for it
        ec2 = aws.iam.RolePolicy(
            f"{name}-irsa-ebs-snapshots", role=role.name, name=f"{a.name_prefix}-velero-ebs-snapshots",
            policy=pulumi.Output.from_input(a.cluster_name).apply(lambda n: json.dumps({
                "Version": "2012-10-17", "Statement": ebs_statements(str(n), a.region, a.account_id)})),
            opts=child)

        ns = k8s.core.v1.Namespace(f"{name}-namespace", metadata=metadata(
            NAMESPACE, None, pod_security_labels("restricted")), opts=child)
        namespace = ns.metadata.apply(lambda m: str(m.name))
        role_arn = pulumi.Output.all(role.arn, ec2.id).apply(lambda v: str(v[0]))
        release = pinned_release(
            f"{name}-release", "velero", namespace=namespace, timeout=HELM_TIMEOUT_SEC,
            values=velero_values(a, bucket=bucket.bucket, key_arn=key.arn, role_arn=role_arn), opts=child)
        self.schedules = self._schedules(name, a, namespace, release)
        self._network_policies(name, namespace, a.monitoring_namespace)

        self.bucket = bucket.bucket
        self.role_arn = role_arn
        self.register_outputs({"bucket": self.bucket, "role_arn": self.role_arn, "schedules": self.schedules})

    def _bucket(self, name: str, bucket_name: str, key: aws.kms.Key, tags: dict[str, str]) -> aws.s3.Bucket:
        a, child, s3 = self._args, self.child_opts, aws.s3
        prefix = f"{name}-bucket"
        bucket, block = private_bucket(prefix, prefix=prefix, bucket_name=bucket_name, tags=tags, opts=child,
                                       kms_key_arn=key.arn)
        versioning = s3.BucketVersioning(
            f"{prefix}-versioning", bucket=bucket.id,
            versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child)
        rule = s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-after-longest-ttl", status="Enabled",
            filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=s3.BucketLifecycleConfigurationRuleExpirationArgs(days=a.expire_days),
            noncurrent_version_expiration=s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=a.noncurrent_days),
            abort_incomplete_multipart_upload=s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=1))
        # noncurrent-version rules need versioning on first
        s3.BucketLifecycleConfiguration(f"{prefix}-lifecycle", bucket=bucket.id, rules=[rule],
                                        opts=child.merge(pulumi.ResourceOptions(depends_on=[versioning])))
        # the bucket name taken from the public access block: the block exists first
        s3.BucketPolicy(f"{prefix}-policy", bucket=block.bucket, policy=bucket.arn.apply(tls_only_policy),
                        opts=child)
        return bucket

    def _schedules(self, name: str, a: VeleroArgs, namespace: pulumi.Output[str],
                   release: k8s.helm.v3.Release) -> list[str]:
        # the Schedule CRD comes with the chart; the snapshots need the class (by data, when given)
        after = self.child_opts.merge(pulumi.ResourceOptions(depends_on=[release]))
        snapshot_class = pulumi.Output.from_input(a.snapshot_class) if a.snapshot_class is not None else None
        for key, s in a.schedules.items():
            spec: Any = schedule_spec(s)
            if snapshot_class is not None and s.snapshot_volumes:
                # Velero picks the class by its label; the schedule waits for it by data
                spec = snapshot_class.apply(_constant(spec))
            k8s.apiextensions.CustomResource(
                f"{name}-schedule-{key}", api_version="velero.io/v1", kind="Schedule",
                metadata=metadata(key, namespace), spec=spec, opts=after)
        return list(a.schedules)

    def _network_policies(self, name: str, namespace: pulumi.Output[str], monitoring: str) -> None:
        np, meta = k8s.networking.v1, k8s.meta.v1
        np.NetworkPolicy(f"{name}-netpol-default-deny-ingress",
                         metadata=metadata("default-deny-ingress", namespace),
                         spec=np.NetworkPolicySpecArgs(pod_selector=meta.LabelSelectorArgs(),
                                                       policy_types=["Ingress"]), opts=self.child_opts)
        np.NetworkPolicy(
            f"{name}-netpol-allow-metrics", metadata=metadata("allow-metrics-from-monitoring", namespace),
            spec=np.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": "velero"}),
                policy_types=["Ingress"],
                ingress=[np.NetworkPolicyIngressRuleArgs(
                    from_=[np.NetworkPolicyPeerArgs(namespace_selector=meta.LabelSelectorArgs(
                        match_labels={_NAME_LABEL: monitoring}))],
                    ports=[np.NetworkPolicyPortArgs(protocol="TCP", port=METRICS_PORT)])]),
            opts=self.child_opts)
