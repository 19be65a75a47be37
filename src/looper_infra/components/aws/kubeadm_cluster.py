"""A self-built kubeadm cluster on EC2 that bootstraps itself, and how nodes join it.

    KubeadmCluster
      ClusterPki           CA, service-account key, admin certificate, bootstrap token, keys
      IrsaIssuer           OIDC discovery + JWKS (private S3 behind CloudFront), IAM OIDC provider
      secrets key          customer managed KMS key of both secrets (usable only through Secrets
                           Manager, by the roles below that read them)
      JsonSecret x2        control-plane material; the join token (every node may read it)
      NodeRole x2          control plane (both secrets), worker (the join secret only)
      ApiLoadBalancer      internal NLB, TCP 6443, instance targets, fixed private IPs per AZ
      EtcdBackupBucket     etcd snapshots (own KMS key, versioned, lifecycle) + the day-2 bundle
      AuditLogGroup        API server audit log in CloudWatch Logs (own KMS key, retention)
      ControlPlaneNodes    1, 3 or 5 auto scaling groups of one, one per AZ; slot 0 may run
                           `kubeadm init` (and restore the latest snapshot when the cluster existed)
      IrsaRole x2          External Secrets (looper/<env>/* only), the EBS CSI controller

Trust chain (docs/architecture.md): Pulumi generates every key and the token; they go to
Secrets Manager; user data only names the secrets and pins the CA by the hash computed here.
`node_user_data` renders the same bootstrap for every node of the cluster (control planes here,
node pools through it), so a pool never repeats the cluster's facts.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.k8s_node import (
    EtcdBackup,
    K8sGpuWorker,
    K8sNodeBootstrap,
    render_k8s_node_cloud_config,
)
from looper_infra.bootstrap.k8s_node.bundle import bundle_sha256, control_plane_bundle
from looper_infra.components.aws.audit_logs import AuditLogGroup, AuditLogGroupArgs, audit_log_group_name
from looper_infra.components.aws.control_planes import ControlPlaneNodes, ControlPlaneNodesArgs
from looper_infra.components.aws.etcd_backups import (
    EtcdBackupBucket,
    EtcdBackupBucketArgs,
    etcd_backup_bucket_name,
)
from looper_infra.components.aws.iam import NodeRole, NodeRoleArgs
from looper_infra.components.aws.irsa import IrsaIssuer, IrsaIssuerArgs, IrsaRole, IrsaRoleArgs
from looper_infra.components.aws.nlb import ApiLoadBalancer, ApiLoadBalancerArgs
from looper_infra.components.aws.node_launch_template import NodeLaunchTemplateArgs
from looper_infra.components.aws.provider import partition
from looper_infra.components.aws.secrets import (
    JsonSecret,
    JsonSecretArgs,
    secrets_key,
    use_through_secrets_manager,
)
from looper_infra.components.base import Component, moved_from_root
from looper_infra.components.k8s.pki import ClusterPki, ClusterPkiArgs
from looper_infra.core.naming import name as cloud_name
from looper_infra.facts import v4_contract

#: Ubuntu 24.04 LTS (amd64, gp3), resolved by EC2 at launch from Canonical's public SSM parameter:
#: a replaced node always boots the current patched image, with no AMI id to maintain.
UBUNTU_AMI = "resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
ECR_READ = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"


@dataclass(frozen=True)
class ClusterPlacement:
    """Where the cluster lives in the K8s VPC (outputs of the Vpc and SecurityGroups components)."""

    vpc_id: pulumi.Input[str]
    #: private subnets, one per AZ: control plane i goes to subnet i % AZs, the API NLB spans all
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    control_plane_security_group_id: pulumi.Input[str]
    api_lb_security_group_id: pulumi.Input[str]
    #: the API NLB's fixed private IPs, one per AZ in subnet order (pinned in every node's /etc/hosts)
    api_server_addresses: tuple[str, ...]


@dataclass(frozen=True)
class ControlPlaneSpec:
    count: int = 1
    instance_type: str = "m7i.large"
    volume_gb: int = 50
    #: the control planes' (and the cluster's) Kubernetes release, a row of k8s_versions.RELEASES
    kubernetes_version: str = k8s_versions.KUBERNETES_VERSION


@dataclass(frozen=True)
class ControlPlaneRecovery:
    """How the control plane outlives its machines (docs/runbooks/control-plane-dr.md)."""

    snapshot_interval_minutes: int = 60
    keep_recent_days: int = 2
    keep_daily_days: int = 30
    #: S3 Object Lock (governance) on the snapshots
    object_lock: bool = False
    #: a snapshot key the init node restores instead of the latest (when nothing answers)
    restore_snapshot: str | None = None
    bootstrap_token_ttl_hours: int = 24
    audit_log_retention_days: int = 365
    #: seconds before the API target group's health may replace a new control plane
    health_grace_seconds: int = 1200


@dataclass(frozen=True)
class PodNetwork:
    pod_cidr: str = "192.168.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    #: Calico MTU, explicit (VXLAN, and at most 1350 across the VPN)
    calico_mtu: int = 1350


@dataclass(frozen=True)
class KubeadmClusterArgs:
    #: cloud names are `<name_prefix>-<env>-<role>`, e.g. `looper-dev-k8s`
    name_prefix: str
    env: str
    region: str
    account_id: str
    placement: ClusterPlacement
    control_planes: ControlPlaneSpec = field(default_factory=ControlPlaneSpec)
    network: PodNetwork = field(default_factory=PodNetwork)
    recovery: ControlPlaneRecovery = field(default_factory=ControlPlaneRecovery)
    #: NLB deletion protection (control planes are ASGs of one: no EC2 termination protection)
    termination_protection: bool = True
    image_id: str = UBUNTU_AMI
    #: every other kubelet's release (the pools' launch templates); None: the control planes'
    node_kubernetes_version: str | None = None

    @property
    def node_version(self) -> str:
        return self.node_kubernetes_version or self.control_planes.kubernetes_version

    def problems(self) -> list[str]:
        addresses = self.placement.api_server_addresses
        if addresses and len(set(addresses)) != len(addresses):
            return [f"placement.api_server_addresses: duplicates in {list(addresses)}"]
        return []


@dataclass(frozen=True)
class NodeKind:
    """What distinguishes a pool's nodes when they join: labels, taints, GPUs."""

    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()
    gpu: K8sGpuWorker | None = None


class KubeadmCluster(Component):
    cluster_name: str
    pki: ClusterPki
    issuer: IrsaIssuer
    api_lb: ApiLoadBalancer
    control_planes: ControlPlaneNodes
    worker_role: NodeRole
    #: the IRSA roles of the platform's controllers (facts.v4_contract)
    external_secrets_role: IrsaRole
    ebs_csi_role: IrsaRole
    #: https://<API NLB>:6443
    api_endpoint: pulumi.Output[str]
    #: the admin kubeconfig (a secret)
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: KubeadmClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:KubeadmCluster", name, args, opts)
        self._args = args
        self.cluster_name = self._cloud_name("k8s")
        # Every part below was a top-level component of stage v4 before this one existed:
        # `moved` keeps the deployed resources (their URNs gain this component's type).
        moved = moved_from_root(self.child_opts)
        self.pki = ClusterPki("pki", ClusterPkiArgs(cluster_name=self.cluster_name), moved)
        self.issuer = IrsaIssuer("irsa", IrsaIssuerArgs(
            name_prefix=self._cloud_name("oidc"), bucket_name=f"{self._cloud_name('oidc')}-{args.account_id}",
            sa_public_key_pem=self.pki.sa_public_key_pem), moved)
        self._recovery_stores(self.child_opts)
        self._secrets(moved)
        self._load_balancer(moved)
        self._control_planes(moved)
        self._platform_roles(moved)
        self.api_endpoint = self.api_lb.dns_name.apply(lambda h: f"https://{h}:6443")
        self.kubeconfig = self.pki.kubeconfig(cluster_name=self.cluster_name, server=self.api_endpoint)
        self.register_outputs({"api_endpoint": self.api_endpoint, "kubeconfig": self.kubeconfig,
                               "control_plane_groups": self.control_planes.group_names})

    def _cloud_name(self, role: str) -> str:
        return cloud_name(self._args.name_prefix, self._args.env, role)

    def _recovery_stores(self, opts: pulumi.ResourceOptions) -> None:
        """The snapshot bucket (also the day-2 bundle's home) and the audit log group."""
        args, rec = self._args, self._args.recovery
        self.snapshot_prefix = f"{self.cluster_name}/"
        self.backups = EtcdBackupBucket("etcd-backups", EtcdBackupBucketArgs(
            bucket_name=etcd_backup_bucket_name(args.name_prefix, args.env, args.account_id),
            account_id=args.account_id, cluster_prefix=self.snapshot_prefix, partition=partition(args.region),
            keep_recent_days=rec.keep_recent_days, keep_daily_days=rec.keep_daily_days,
            object_lock=rec.object_lock), opts)
        self.audit_logs = AuditLogGroup("audit-logs", AuditLogGroupArgs(
            name=audit_log_group_name(args.name_prefix, args.env), region=args.region,
            account_id=args.account_id, retention_days=rec.audit_log_retention_days,
            partition=partition(args.region)), opts)

    def _secrets(self, opts: pulumi.ResourceOptions) -> None:
        args, env, pki = self._args, self._args.env, self.pki
        self.control_plane_secret_name = v4_contract.cluster_secret_name(env, "control-plane")
        self.join_secret_name = v4_contract.cluster_secret_name(env, "join")
        # one key for every secret of this cluster/env (the OpenVPN server's too: secrets_key_arn)
        key = secrets_key("secrets", alias=self._cloud_name("secrets"), partition=partition(args.region),
                          region=args.region, account_id=args.account_id,
                          tags={"Name": self._cloud_name("secrets")}, opts=self.child_opts)
        self.secrets_key_arn: pulumi.Output[str] = key.arn

        def decrypt(*, write: bool = False) -> dict[str, object]:
            return use_through_secrets_manager(key.arn, args.region, args.account_id, write=write)

        cp_secret = JsonSecret("cp-secret", JsonSecretArgs(
            name=self.control_plane_secret_name, kms_key_id=key.arn,
            description=f"{self.cluster_name}: control-plane bootstrap material",
            values={"ca_crt": pki.ca_cert_pem, "ca_key": pki.ca_key_pem, "sa_key": pki.sa_private_key_pem,
                    "sa_pub": pki.sa_public_key_pem, "token": pki.bootstrap_token,
                    "certificate_key": pki.certificate_key, "encryption_key": pki.encryption_key,
                    "etcd_ca_crt": pki.etcd_ca_cert_pem, "etcd_ca_key": pki.etcd_ca_key_pem}), opts)
        # the control planes rotate the token (bounded TTL) and write it here: Pulumi sets the
        # first value only
        join_secret = JsonSecret("join-secret", JsonSecretArgs(
            name=self.join_secret_name, kms_key_id=key.arn,
            description=f"{self.cluster_name}: node join token",
            values={"token": pki.bootstrap_token}, rotated_in_place=True), opts)
        self.control_plane_role = NodeRole("cp-role", NodeRoleArgs(
            name=self._cloud_name("control-plane"), secret_arns=(cp_secret.arn, join_secret.arn),
            managed_policy_arns=(ECR_READ, SSM_CORE),
            extra_statements=(
                *self.backups.writer_statements(self.snapshot_prefix),
                *self.audit_logs.writer_statements(),
                {"Sid": "RotateJoinToken", "Effect": "Allow", "Action": "secretsmanager:PutSecretValue",
                 "Resource": join_secret.arn},
                # reads both secrets, writes the join token (GenerateDataKey)
                decrypt(write=True),
                # a replacement lists the running control planes (etcd membership repair), the
                # dead-Node cleanup (looper-k8s-nodes) reads instance states; DescribeInstances
                # takes no resource-level conditions
                {"Sid": "FindControlPlanes", "Effect": "Allow", "Action": "ec2:DescribeInstances",
                 "Resource": "*"},
            )), opts)
        self.worker_role = NodeRole("worker-role", NodeRoleArgs(
            name=self._cloud_name("worker"), secret_arns=(join_secret.arn,),
            managed_policy_arns=(ECR_READ, SSM_CORE), extra_statements=(decrypt(),)), opts)

    def _load_balancer(self, opts: pulumi.ResourceOptions) -> None:
        placement = self._args.placement
        self.api_lb = ApiLoadBalancer("api-lb", ApiLoadBalancerArgs(
            name=self._cloud_name("api"), vpc_id=placement.vpc_id, subnet_ids=placement.private_subnet_ids,
            security_group_id=placement.api_lb_security_group_id,
            private_ips=placement.api_server_addresses,
            deletion_protection=self._args.termination_protection), opts)

    def _control_planes(self, opts: pulumi.ResourceOptions) -> None:
        args, cp = self._args, self._args.control_planes
        bundle = self._bundle(opts)
        self.control_planes = ControlPlaneNodes("control-plane", ControlPlaneNodesArgs(
            name_prefix=self._cloud_name("cp"), count=cp.count, image_id=args.image_id,
            instance_type=cp.instance_type, subnet_ids=args.placement.private_subnet_ids,
            security_group_ids=(args.placement.control_plane_security_group_id,),
            instance_profile=self.control_plane_role.instance_profile_name, volume_gb=cp.volume_gb,
            user_data=[self._control_plane_user_data(init=i == 0, bundle_key=bundle.key)
                       for i in range(cp.count)],
            api_target_group_arn=self.api_lb.target_group_arn, gzip_user_data=True,
            health_check_grace_period_sec=args.recovery.health_grace_seconds,
            cluster_name=self.cluster_name), opts)

    def _bundle(self, opts: pulumi.ResourceOptions) -> aws.s3.BucketObjectv2:
        """The control planes' day-2 bundle (bootstrap.k8s_node.bundle) in the snapshot bucket,
        under a key named by its sha256; user data names that key and checks the sum."""
        data = self._spec_values().apply(
            lambda v: control_plane_bundle(self._control_plane_spec(v, init=False)))
        return aws.s3.BucketObjectv2(
            "cp-bundle", bucket=self.backups.bucket,
            key=data.apply(lambda b: f"{self.snapshot_prefix}bootstrap/{bundle_sha256(b)}.tar.gz"),
            content_base64=data.apply(lambda b: base64.b64encode(b).decode("ascii")),
            content_type="application/gzip", server_side_encryption="aws:kms",
            kms_key_id=self.backups.kms_key_arn, checksum_algorithm="SHA256",
            opts=self.child_opts)

    def _platform_roles(self, opts: pulumi.ResourceOptions) -> None:
        args, eso, ebs = self._args, v4_contract.EXTERNAL_SECRETS, v4_contract.EBS_CSI_CONTROLLER
        secrets = f"arn:aws:secretsmanager:{args.region}:{args.account_id}:secret:" \
                  f"{v4_contract.app_secret_prefix(args.env)}*"
        self.external_secrets_role = IrsaRole("eso-role", IrsaRoleArgs(
            name=self._cloud_name("external-secrets"), provider_arn=self.issuer.provider_arn,
            issuer_host=self.issuer.issuer_host, namespace=eso.namespace, service_account=eso.name,
            statements=[{"Effect": "Allow",
                         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                         "Resource": secrets},
                        # the app secrets are encrypted with the cluster's secrets key
                        use_through_secrets_manager(self.secrets_key_arn, args.region, args.account_id)]),
            opts)
        # the EBS CSI controller calls EC2 through IRSA: pods cannot reach the node role (IMDS
        # hop limit 1), so nodes need no EBS rights
        self.ebs_csi_role = IrsaRole("ebs-csi-role", IrsaRoleArgs(
            name=self._cloud_name("ebs-csi"), provider_arn=self.issuer.provider_arn,
            issuer_host=self.issuer.issuer_host, namespace=ebs.namespace, service_account=ebs.name,
            managed_policy_arns=(EBS_CSI_POLICY,)), opts)

    def _spec_values(self) -> pulumi.Output[list[str]]:
        """API NLB name, CA hash, issuer, snapshot bucket, its key: what a control plane's spec needs."""
        return pulumi.Output.all(self.api_lb.dns_name, self.pki.ca_cert_hash, self.issuer.issuer,
                                 self.backups.bucket, self.backups.kms_key_arn).apply(
            lambda v: [str(x) for x in v])

    def _spec(self, endpoint: str, ca_hash: str, *, kind: NodeKind | None = None,
              control_plane: tuple[str, str, str] | None = None, init: bool = False) -> K8sNodeBootstrap:
        """A node's bootstrap; `control_plane` = (issuer, snapshot bucket, its KMS key ARN)."""
        args, net, rec, kind = self._args, self._args.network, self._args.recovery, kind or NodeKind()
        issuer, bucket, key = control_plane or (None, None, None)
        return K8sNodeBootstrap(
            role="control-plane" if control_plane else "worker",
            cluster_name=self.cluster_name, control_plane_endpoint=endpoint, ca_cert_hash=ca_hash,
            pod_cidr=net.pod_cidr, service_cidr=net.service_cidr, calico_mtu=net.calico_mtu,
            region=args.region, secret_backend="aws",  # noqa: S106 (a backend name, not a secret)
            join_secret_id=self.join_secret_name,
            control_plane_secret_id=self.control_plane_secret_name if control_plane else None,
            service_account_issuer=issuer,
            init_node=init, control_plane_count=args.control_planes.count,
            node_labels=dict(kind.labels), node_taints=kind.taints, gpu=kind.gpu,
            api_server_addresses=args.placement.api_server_addresses,
            etcd_backup=EtcdBackup(
                bucket=bucket, prefix=self.snapshot_prefix, kms_key_arn=key,
                interval_minutes=rec.snapshot_interval_minutes, restore_key=rec.restore_snapshot,
            ) if bucket and key else None,
            bootstrap_token_ttl_hours=rec.bootstrap_token_ttl_hours,
            audit_log_group=audit_log_group_name(args.name_prefix, args.env) if control_plane else None,
            kubernetes_version=args.control_planes.kubernetes_version if control_plane else args.node_version)

    def _control_plane_spec(self, v: list[str], *, init: bool) -> K8sNodeBootstrap:
        return self._spec(v[0], v[1], control_plane=(v[2], v[3], v[4]), init=init)

    def _worker_user_data(self, kind: NodeKind | None) -> pulumi.Output[str]:
        return pulumi.Output.all(self.api_lb.dns_name, self.pki.ca_cert_hash).apply(
            lambda v: render_k8s_node_cloud_config(self._spec(str(v[0]), str(v[1]), kind=kind)))

    def _control_plane_user_data(self, *, init: bool, bundle_key: pulumi.Output[str]) -> pulumi.Output[str]:
        def render(v: list[str], key: str) -> str:
            spec = self._control_plane_spec(v, init=init)
            sha = bundle_sha256(control_plane_bundle(spec))
            if not key.endswith(f"/{sha}.tar.gz"):  # the object uploaded is this bundle
                raise ValueError(f"bundle key {key!r} does not name bundle {sha}")
            return render_k8s_node_cloud_config(dataclasses.replace(spec, bundle_sha256=sha))

        return pulumi.Output.all(self._spec_values(), bundle_key).apply(lambda v: render(v[0], str(v[1])))

    def node_template(self, *, name_prefix: str, node_role: str, instance_type: str, volume_gb: int,
                      security_group_ids: Sequence[pulumi.Input[str]],
                      kind: NodeKind | None = None) -> NodeLaunchTemplateArgs:
        """A worker launch template that joins this cluster (for a NodePool)."""
        return NodeLaunchTemplateArgs(
            name_prefix=name_prefix, image_id=self._args.image_id, instance_type=instance_type,
            instance_profile=self.worker_role.instance_profile_name,
            security_group_ids=tuple(security_group_ids), user_data=self._worker_user_data(kind),
            volume_gb=volume_gb, node_role=node_role, gzip_user_data=True)
