"""Stack config of stage v4: kubeadm Kubernetes on AWS EC2 across AZs, RDS Multi-AZ, NLB + TLS, IRSA."""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from itertools import combinations, islice, pairwise
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from looper_infra.bootstrap import k8s_versions  # the verified release table (data only)
from looper_infra.config.aws import AwsSettings, Env, az_problem
from looper_infra.config.base import Cidr, Fqdn, Strict
from looper_infra.config.gcp import GcpSettings, check_labels
from looper_infra.config.gpu import Scheduling
from looper_infra.core import naming
from looper_infra.facts import rds_windows
from looper_infra.facts.cloudwatch import CW_RETENTION_DAYS
from looper_infra.facts.etcd import SNAPSHOT_KEY
from looper_infra.facts.gpu import G2_GPU_COUNTS, L4_ZONES, L4_ZONES_AS_OF
from looper_infra.facts.openvpn import user_problem
from looper_infra.rules import ha_vpn

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+\Z")
_DB_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+\Z")
_CERT_ARN = re.compile(r"^arn:aws:acm:([a-z0-9-]+):([0-9]{12}):certificate/[0-9a-f-]{36}\Z")
_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]\Z")
_MAINT = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-"
                    r"(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]\Z")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NODE_PORT_RANGE = (30000, 32767)
#: Largest Calico VXLAN MTU across the AWS<->GCP VPN (one fact, in rules.ha_vpn).
VPN_SAFE_MTU = ha_vpn.CALICO_MTU_MAX


def _cw_retention(v: int) -> int:
    if v not in CW_RETENTION_DAYS:
        raise ValueError(f"CloudWatch Logs accepts only {CW_RETENTION_DAYS}")
    return v


def _ordered_sizes(v: int, info: ValidationInfo) -> int:
    low = info.data.get("min_size")
    if low is not None and v < low:
        raise ValueError(f"{info.field_name} {v} is below min_size {low}")
    if info.field_name == "max_size":
        desired = info.data.get("desired")
        if desired is not None and v < desired:
            raise ValueError(f"max_size {v} is below desired {desired}")
    return v


def _instance_type(v: str) -> str:
    if not _INSTANCE_TYPE.match(v):
        raise ValueError(f"{v!r} is not an EC2 instance type (e.g. m7i.large)")
    return v


InstanceType = Annotated[str, AfterValidator(_instance_type)]


class AwsNetwork(Strict):
    """The K8s VPC: three subnet tiers, one subnet per AZ each (lists aligned with aws.azs)."""

    vpc_cidr: Cidr = Field(IPv4Network("10.1.0.0/16"), description="K8s VPC CIDR.")
    public_cidrs: list[Cidr] = Field(description="Public subnets (NAT gateways, load balancers), one per AZ.")
    private_cidrs: list[Cidr] = Field(description="Private subnets of the Kubernetes nodes, one per AZ.")
    data_cidrs: list[Cidr] = Field(description="Private subnets of RDS, one per AZ (no internet route).")
    nat: Literal["per-az", "single"] = Field(
        "per-az", description="NAT gateway per AZ (HA), or `single` (cost option: one AZ's outage cuts "
        "every node's egress; reported by looper check).")
    flow_log_retention_days: int = Field(
        90, description="Days VPC flow logs are kept in CloudWatch Logs.")

    _retention = field_validator("flow_log_retention_days")(_cw_retention)


class EtcdBackups(Strict):
    """etcd snapshots of the control planes to S3 (SSE-KMS, versioned; the nodes cannot delete)."""

    interval_minutes: int = Field(60, ge=5, le=1440, description="Minutes between etcd snapshots.")
    keep_recent_days: int = Field(
        2, ge=1, le=35, description="Days the `hourly/` snapshots are kept (also the Object Lock retention).")
    keep_daily_days: int = Field(30, ge=1, le=3650, description="Days the `daily/` snapshots are kept.")
    object_lock: bool = Field(
        False, description="S3 Object Lock (governance mode, keep_recent_days): only at bucket creation; "
        "turning it on later replaces the bucket.")
    restore_snapshot: str | None = Field(
        None, description="Snapshot key (`<cluster>/hourly|daily/...db`) a control plane restores when "
        "none answers; null: the latest.")

    @field_validator("restore_snapshot")
    @classmethod
    def _snapshot_key(cls, v: str | None) -> str | None:
        if v is not None and not SNAPSHOT_KEY.fullmatch(v):
            raise ValueError(f"{v!r} is not a snapshot key (<cluster>/hourly/<YYYYmmddTHHMMSSZ>-<node>.db or "
                             "<cluster>/daily/<YYYYmmdd>-<node>.db)")
        return v


class Cluster(Strict):
    """The kubeadm control plane and the cluster networks."""

    control_plane_count: int = Field(
        1, description="Control-plane nodes: 1, or 3/5 for stacked-etcd HA (odd: etcd quorum).")
    control_plane_instance_type: InstanceType = Field("m7i.large", description="Control-plane EC2 type.")
    control_plane_volume_gb: int = Field(50, ge=30, le=1000, description="Control-plane root volume (gp3).")
    pod_cidr: Cidr = Field(IPv4Network("192.168.0.0/16"), description="Pod network (Calico IP pool).")
    service_cidr: Cidr = Field(IPv4Network("10.96.0.0/12"), description="Service network.")
    calico_mtu: int = Field(
        VPN_SAFE_MTU, ge=1200, le=8951,
        description=f"Calico VXLAN MTU, explicit (auto-detection sees only the local 9001 NIC); at most "
        f"{VPN_SAFE_MTU} when GCP nodes join over the VPN.")
    termination_protection: bool = Field(
        True, description="Deletion protection of the API and app NLBs and EC2 termination "
        "protection of the OpenVPN server (control planes are auto scaling groups of one, "
        "which must be able to replace their instance).")
    etcd_backups: EtcdBackups = Field(default_factory=EtcdBackups)
    bootstrap_token_ttl_hours: int = Field(
        24, ge=1, le=168, description="Lifetime of the kubeadm bootstrap tokens the control planes mint.")
    audit_log_retention_days: int = Field(
        365, description="Days the Kubernetes audit log is kept in CloudWatch Logs.")
    control_plane_health_grace_seconds: int = Field(
        1200, ge=300, le=3600,
        description="Seconds a new control plane has to join before its Auto Scaling group replaces it.")
    kubernetes_version: str = Field(
        k8s_versions.KUBERNETES_VERSION,
        description="Kubernetes release of the control planes (and the cluster): a row of the verified "
        "pins in looper_infra.bootstrap.k8s_versions. Raise it one minor at a time; new control "
        "planes then upgrade the cluster (docs/runbooks/kubernetes-upgrade.md).")
    node_kubernetes_version: str | None = Field(
        None,
        description="Kubernetes release of every other kubelet (workers, Kafka, GPU pools, the GCP node): "
        "the control planes' or one minor older, never newer; null: the control planes'.")

    _audit_retention = field_validator("audit_log_retention_days")(_cw_retention)

    @field_validator("kubernetes_version", "node_kubernetes_version")
    @classmethod
    def _pinned(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                k8s_versions.release(v)
            except (KeyError, ValueError) as error:
                raise ValueError(str(error.args[0])) from None
        return v

    @property
    def effective_node_kubernetes_version(self) -> str:
        """The kubelets' release: ``node_kubernetes_version``, or the control planes'."""
        return self.node_kubernetes_version or self.kubernetes_version

    def version_skew_issue(self) -> str | None:
        """Why the kubelets' release cannot run against the control planes', or None.

        Kubernetes allows a kubelet up to three minors older than kube-apiserver and never
        newer (kubernetes.io/releases/version-skew-policy). This cluster allows one: kubeadm
        joins nodes with their own kubeadm, and kubeadm's skew policy wants the join binary
        to match the cluster's (create-cluster-kubeadm "kubeadm's skew against kubeadm"), so
        a lag is a short upgrade window, not a state to keep; one minor also keeps every
        upgrade a single step of one minor for control planes and nodes alike.
        """
        cp, node = k8s_versions.minor_number(self.kubernetes_version), \
            k8s_versions.minor_number(self.effective_node_kubernetes_version)
        if node > cp:
            return (f"{self.effective_node_kubernetes_version} is newer than the control planes' "
                    f"{self.kubernetes_version}: kubelets may lag kube-apiserver, never lead it")
        if cp - node > 1:
            return (f"{self.effective_node_kubernetes_version} is {cp - node} minors behind the control "
                    f"planes' {self.kubernetes_version}: at most one (upgrade nodes right after the "
                    "control planes)")
        return None

    @field_validator("control_plane_count")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v not in (1, 3, 5):
            raise ValueError(f"{v} control planes: must be odd (1, 3 or 5) for etcd quorum")
        return v

    @field_validator("service_cidr")
    @classmethod
    def _sizes(cls, v: IPv4Network) -> IPv4Network:
        if v.prefixlen > 24 or v.prefixlen < 12:
            raise ValueError(f"service CIDR {v} must be between /12 and /24")
        return v

    @field_validator("pod_cidr")
    @classmethod
    def _pod_size(cls, v: IPv4Network) -> IPv4Network:
        if v.prefixlen > 20:
            raise ValueError(f"pod CIDR {v} is too small (at most /20: Calico gives each node a /26)")
        return v


class Workers(Strict):
    """General worker nodes: an Auto Scaling Group across the private subnets."""

    instance_type: InstanceType = Field("m7i.xlarge", description="Worker EC2 type.")
    volume_gb: int = Field(100, ge=30, le=4000, description="Worker root volume (gp3).")
    min_size: int = Field(2, ge=1, le=100, description="ASG minimum (at least 1).")
    desired: int = Field(2, ge=1, le=100, description="ASG desired capacity (min <= desired <= max).")
    max_size: int = Field(6, ge=1, le=200, description="ASG maximum.")

    _ordered = field_validator("desired", "max_size")(_ordered_sizes)


class KafkaNode(Strict):
    """The dedicated Kafka nodes: one ASG of one node per AZ, tainted dedicated=kafka:NoSchedule.

    Each broker's volume lives in its node's AZ, so each AZ has its own group (a group of one
    replaces its node in the same AZ). `count: 1` is the non-durable dev shape (one broker)."""

    instance_type: InstanceType = Field("r7i.large", description="Kafka node EC2 type.")
    volume_gb: int = Field(200, ge=30, le=16000, description="Root volume (gp3).")
    az: str = Field(description="Availability zone of the first Kafka node (one of aws.azs); with count 3 "
                    "the next two zones of aws.azs get the others.")
    count: Literal[1, 3] = Field(
        description="Kafka nodes, one per AZ: 3 (three brokers, replication factor 3; needs 3 AZs) or 1 "
        "(one broker, no replication: dev only).")

    def zones(self, azs: list[str]) -> list[str]:
        """The AZ of each Kafka node: `az` first (today's group), then the other zones in order."""
        return [self.az, *[z for z in azs if z != self.az]][:self.count]


class Database(Strict):
    """RDS PostgreSQL."""

    engine_version: str = Field(
        "17.6", pattern=r"^1[4-9]\.[0-9]{1,2}$", description="PostgreSQL engine version (exact minor).")
    instance_class: str = Field("db.m7g.large", description="RDS instance class.")
    allocated_storage_gb: int = Field(100, ge=20, le=65536, description="gp3 storage.")
    max_allocated_storage_gb: int = Field(
        500, ge=20, le=65536, description="Storage autoscaling ceiling (>= allocated).")
    multi_az: bool = Field(
        True, description="Synchronous standby in another AZ. `false` is a named cost option "
        "(reported by looper check).")
    backup_retention_days: int = Field(7, ge=7, le=35, description="Automated backups kept (>= 7).")
    backup_window: str = Field("17:00-18:00", description="Daily backup window, UTC (hh:mm-hh:mm).")
    maintenance_window: str = Field(
        "sun:18:30-sun:19:30", description="Weekly maintenance window, UTC (ddd:hh:mm-ddd:hh:mm).")
    deletion_protection: bool = Field(
        True, description="Refuse deletion; `false` only for throwaway stacks (reported).")
    final_snapshot: bool = Field(
        True, description="Take a final snapshot on deletion; `false` only for throwaway stacks.")
    performance_insights: bool = Field(True, description="Performance Insights (7 days, free tier).")
    monitoring_interval_sec: Literal[0, 1, 5, 10, 15, 30, 60] = Field(
        60, description="Enhanced Monitoring interval (0 = off).")
    db_name: str = Field("looper", pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Initial database.")
    username: str = Field("looper", pattern=r"^[a-z][a-z0-9_]{0,15}$", description="Master user name.")

    @field_validator("instance_class")
    @classmethod
    def _class(cls, v: str) -> str:
        if not _DB_CLASS.match(v):
            raise ValueError(f"{v!r} is not an RDS instance class (e.g. db.m7g.large)")
        return v

    @field_validator("max_allocated_storage_gb")
    @classmethod
    def _ceiling(cls, v: int, info: ValidationInfo) -> int:
        low = info.data.get("allocated_storage_gb")
        if low is not None and v < low:
            raise ValueError(f"{v} is below allocated_storage_gb {low}")
        return v

    @field_validator("backup_window")
    @classmethod
    def _backup_window(cls, v: str) -> str:
        if not _WINDOW.match(v):
            raise ValueError(f"{v!r} is not hh:mm-hh:mm (UTC)")
        start, end = (_minutes(x) for x in v.split("-"))
        if (end - start) % 1440 < 30:
            raise ValueError("the backup window must be at least 30 minutes")
        return v

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_window(cls, v: str) -> str:
        if not _MAINT.fullmatch(v):
            raise ValueError(f"{v!r} is not ddd:hh:mm-ddd:hh:mm (UTC), e.g. sun:18:30-sun:19:30")
        start, end = (_week_minutes(x) for x in v.split("-"))
        if (end - start) % (7 * 1440) < 30:
            raise ValueError("the maintenance window must be at least 30 minutes")
        return v

    def windows_overlap(self) -> bool:
        return rds_windows.windows_overlap(self.backup_window, self.maintenance_window)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _week_minutes(dhhmm: str) -> int:
    d, h, m = dhhmm.split(":")
    return _DAYS.index(d) * 1440 + int(h) * 60 + int(m)


class Ingress(Strict):
    """The internet-facing application NLB: TLS 443 and TCP 80 to the ingress controller's NodePorts."""

    domain: Fqdn = Field(description="Public host name of the app (Route53 alias to the NLB).")
    hosted_zone_id: str = Field(pattern=r"^Z[A-Z0-9]{1,32}$",
                                description="Route53 hosted zone of the domain.")
    certificate_arn: str | None = Field(
        None, description="ACM certificate to use; unset: one is created and DNS-validated in Route53.")
    http_node_port: int = Field(30080, description="Ingress controller NodePort behind TLS 443.")
    redirect_node_port: int = Field(
        30081, description="Ingress controller NodePort behind TCP 80 (redirects to HTTPS).")

    @field_validator("certificate_arn")
    @classmethod
    def _arn(cls, v: str | None) -> str | None:
        if v is not None and not _CERT_ARN.match(v):
            raise ValueError(f"{v!r} is not an ACM certificate ARN")
        return v

    @field_validator("http_node_port", "redirect_node_port")
    @classmethod
    def _node_port(cls, v: int, info: ValidationInfo) -> int:
        lo, hi = NODE_PORT_RANGE
        if not lo <= v <= hi:
            raise ValueError(f"{v} is outside the NodePort range {lo}-{hi}")
        if info.field_name == "redirect_node_port" and v == info.data.get("http_node_port"):
            raise ValueError("must differ from http_node_port")
        return v


class OpenVpn(Strict):
    """The OpenVPN access VPC: how operators reach the private cluster (API server, SSH)."""

    vpc_cidr: Cidr = Field(IPv4Network("10.2.0.0/16"), description="Access VPC CIDR (its own VPC).")
    public_cidrs: list[Cidr] | None = Field(
        None, description="Public subnets of the access VPC, one per AZ in aws.azs order; unset: the "
        "first /24s of vpc_cidr.")
    users: list[str] = Field(
        default_factory=list,
        description="VPN users: one client certificate and .ovpn profile each (`looper vpn-profile USER`). "
        "Removing a user locks them out (ccd-exclusive) and deletes their certificate; move them to "
        "`revoked` instead to revoke it too.")
    revoked: list[str] = Field(
        default_factory=list,
        description="Revoked VPN users (former `users`, moved here in the same change): their certificates "
        "are kept and listed in the server's certificate revocation list (crl-verify), they get no "
        "profile and no ccd file. A name cannot be in both lists. Taking a name off this list "
        "un-revokes its old certificate: give a returning user a new name.")
    client_cidrs: list[Cidr] = Field(
        default_factory=lambda: [IPv4Network("0.0.0.0/0")],
        description="Who may reach UDP 1194 (road-warrior clients: the internet by default; the policy "
        "pack allows 1194 on the VPN server only).")
    admin_ssh_cidrs: dict[str, Cidr] = Field(
        default_factory=dict,
        description="SSH to the VPN server, by name -> CIDR (at most a /16 each). None by default: use "
        "AWS Systems Manager Session Manager.")
    pool_cidr: Cidr = Field(IPv4Network("10.8.0.0/24"), description="VPN client address pool (SNATed to the "
                            "server's address, so the cluster sees the access VPC).")
    instance_type: InstanceType = Field("t3.small", description="VPN server EC2 type.")
    log_retention_days: int = Field(
        365, description="Days the connection/status logs (who connected when, from where) are kept in "
        "CloudWatch Logs.")

    @field_validator("users", "revoked")
    @classmethod
    def _users(cls, v: list[str], info: ValidationInfo) -> list[str]:
        bad = [p for u in v if (p := user_problem(u))]
        dupes = sorted({u for u in v if v.count(u) > 1})
        if dupes:
            bad.append(f"duplicate {info.field_name}: {', '.join(dupes)}")
        active = (info.data.get("users") or []) if info.field_name == "revoked" else []
        both = sorted(set(active) & set(v))
        if both:
            bad.append(f"{', '.join(both)} also in openvpn.users (a user is active or revoked)")
        if bad:
            raise ValueError("; ".join(bad))
        return v

    @field_validator("admin_ssh_cidrs")
    @classmethod
    def _ssh(cls, v: dict[str, IPv4Network]) -> dict[str, IPv4Network]:
        bad = [f"{k}: {c} is too broad for SSH (at most a /16)" for k, c in v.items() if c.prefixlen < 16]
        bad += [f"key {k!r}: lowercase letters, digits, '-'" for k in v
                if not re.match(r"^[a-z0-9][a-z0-9-]{0,30}\Z", k)]
        if bad:
            raise ValueError("; ".join(bad))
        return v

    _retention = field_validator("log_retention_days")(_cw_retention)

    def effective_public_cidrs(self, azs: int) -> list[IPv4Network]:
        """The configured subnets, or the first /24s of vpc_cidr (fewer when it is too small)."""
        if self.public_cidrs is not None:
            return list(self.public_cidrs)
        return list(islice(self.vpc_cidr.subnets(new_prefix=max(24, self.vpc_cidr.prefixlen)), azs))


class Connectivity(Strict):
    """How the access VPC, the K8s VPC and GCP are joined."""

    mode: Literal["peering", "transit-gateway"] = Field(
        "peering",
        description="`peering`: access VPC <-> K8s VPC peering, and the HA VPN ends on a virtual private "
        "gateway of the K8s VPC; VPN clients reach the K8s VPC only (peering is non-transitive, so no "
        "route to GCP is created from the access VPC). `transit-gateway`: a TGW attaches both VPCs and the "
        "GCP VPN (ECMP over the 4 tunnels); VPN clients reach GCP too.")


class HybridVpn(Strict):
    """The AWS <-> GCP HA VPN (4 IKEv2 tunnels with BGP, 99.99% topology)."""

    cloud_router_asn: int = Field(
        ha_vpn.DEFAULT_CLOUD_ROUTER_ASN,
        description="GCP Cloud Router ASN (= the AWS customer gateways' ASN), private 64512-65534.")
    aws_asn: int = Field(
        ha_vpn.DEFAULT_AWS_ASN,
        description="Amazon-side ASN of the VGW or transit gateway, private and != cloud_router_asn.")
    inside_cidrs: dict[str, str] = Field(
        default_factory=ha_vpn.default_inside_cidrs,
        description="Tunnel inside /30 per tunnel key (a1, a2, b1, b2), in 169.254.0.0/16, not AWS-reserved "
        "(169.254.0-5.0/30, 169.254.169.252/30), unique.")
    cipher_suite: Literal["aes-cbc-256", "aes-gcm-256"] = Field(
        "aes-cbc-256",
        description="One cipher set pinned on both ends (IKEv2, AES-256, SHA2-256, DH group 14).")

    @field_validator("cloud_router_asn", "aws_asn")
    @classmethod
    def _private(cls, v: int, info: ValidationInfo) -> int:
        if not ha_vpn.is_private_asn(v):
            raise ValueError(f"{v} is not a 16-bit private ASN ({ha_vpn.PRIVATE_ASN_MIN}-"
                             f"{ha_vpn.PRIVATE_ASN_MAX})")
        if info.field_name == "aws_asn" and v == info.data.get("cloud_router_asn"):
            raise ValueError(f"must differ from cloud_router_asn {v} (BGP needs two autonomous systems)")
        return v

    @field_validator("inside_cidrs")
    @classmethod
    def _inside(cls, v: dict[str, str]) -> dict[str, str]:
        errors = []
        if set(v) != set(ha_vpn.TUNNELS):
            errors.append(f"one /30 per tunnel {sorted(ha_vpn.TUNNELS)}, got {sorted(v)}")
        errors += [e.removeprefix("inside_cidrs.") for e in ha_vpn.inside_cidr_problems(v)]
        if errors:
            raise ValueError("; ".join(errors))
        return v


class GcpGpuNodeConfig(Strict):
    """The L4 GPU worker on GCP that joins the AWS cluster over the VPN."""

    machine_type: str = Field("g2-standard-4", description="G2 machine type with one L4 (g2-standard-4..32).")
    boot_disk_gb: int = Field(200, ge=100, le=4000, description="Boot disk (pd-balanced): driver, images.")
    scheduling: Scheduling = Field(
        default_factory=Scheduling, description="STANDARD (default) or SPOT capacity (a named cost "
        "option: a preempted node leaves the cluster until it is started again).")

    @field_validator("machine_type")
    @classmethod
    def _g2(cls, v: str) -> str:
        count = G2_GPU_COUNTS.get(v)
        if count is None:
            raise ValueError(f"{v!r} is not a G2 machine type (L4 is G2 only)")
        if count != 1:
            raise ValueError(f"{v} has {count} L4 GPUs; a node has one")
        return v


class GcpSide(GcpSettings):
    """The GCP side: a VPC with Cloud NAT, the HA VPN to AWS and the L4 GPU node."""

    vpc_cidr: Cidr = Field(IPv4Network("10.0.0.0/16"), description="GCP VPC range (advertised over BGP).")
    subnet_cidr: Cidr = Field(IPv4Network("10.0.0.0/20"),
                              description="Subnet of the GPU node(s), inside vpc_cidr.")
    vpn: HybridVpn = Field(default_factory=HybridVpn)
    gpu_node: GcpGpuNodeConfig | None = Field(
        default_factory=GcpGpuNodeConfig, description="The L4 GPU worker; null: none (VPN only).")


#: EC2 NVIDIA GPU families a worker may use -> (looper/accelerator label, the GPU's name as
#: nvidia-smi prints it: the node joins once that many of them answer). AWS "Accelerated
#: computing instances" specifications.
AWS_GPU_FAMILIES: dict[str, tuple[str, str]] = {
    "g4dn": ("nvidia-t4", "Tesla T4"),
    "g5": ("nvidia-a10g", "NVIDIA A10G"),
    "g6": ("nvidia-l4", "NVIDIA L4"),
    "g6e": ("nvidia-l40s", "NVIDIA L40S"),
    "p3": ("nvidia-v100", "Tesla V100-SXM2-16GB"),
}
#: Sizes with more than one GPU (every other size of these families has one).
AWS_MULTI_GPU: dict[str, int] = {
    "g4dn.12xlarge": 4, "g4dn.metal": 8, "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
    "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8, "g6e.12xlarge": 4, "g6e.24xlarge": 4,
    "g6e.48xlarge": 8, "p3.8xlarge": 4, "p3.16xlarge": 8,
}


class AwsGpuWorkers(Strict):
    """Optional AWS GPU node group: an ASG joining like the workers, GPU-labelled and tainted."""

    instance_type: InstanceType = Field(
        "g4dn.xlarge", description=f"EC2 NVIDIA GPU type ({', '.join(AWS_GPU_FAMILIES)} families).")
    volume_gb: int = Field(200, ge=100, le=4000, description="Root volume (gp3).")
    min_size: int = Field(1, ge=0, le=20, description="ASG minimum.")
    desired: int = Field(1, ge=0, le=20, description="ASG desired capacity.")
    max_size: int = Field(2, ge=1, le=50, description="ASG maximum.")

    @field_validator("instance_type")
    @classmethod
    def _family(cls, v: str) -> str:
        if v.split(".")[0] not in AWS_GPU_FAMILIES:
            raise ValueError(f"{v} is not an NVIDIA GPU instance type ({', '.join(AWS_GPU_FAMILIES)})")
        return v

    @property
    def accelerator(self) -> str:
        return AWS_GPU_FAMILIES[self.instance_type.split(".")[0]][0]

    @property
    def gpu_model(self) -> str:
        return AWS_GPU_FAMILIES[self.instance_type.split(".")[0]][1]

    @property
    def gpus_per_node(self) -> int:
        return AWS_MULTI_GPU.get(self.instance_type, 1)

    _ordered = field_validator("desired", "max_size")(_ordered_sizes)


#: the instance refresh's checkpoint delay AWS accepts (seconds)
CHECKPOINT_DELAY_MAX = 172800


class InstanceRefresh(Strict):
    """How a changed launch template rolls a node pool (EC2 Auto Scaling instance refresh)."""

    min_healthy_percentage: int = Field(
        90, ge=50, le=100,
        description="Share of a pool's desired capacity kept in service while its nodes are replaced "
        "(50-100; 100 replaces one node at a time). The single Kafka node is replaced terminate-first.")
    checkpoint_percentages: list[int] = Field(
        default_factory=lambda: [50, 100],
        description="Shares of the pool replaced before the refresh pauses for checkpoint_delay_seconds "
        "(strictly ascending, 1-100, the last 100).")
    checkpoint_delay_seconds: int = Field(
        600, ge=0, le=CHECKPOINT_DELAY_MAX,
        description="Seconds the refresh waits at each checkpoint (time to spot a bad node image).")

    @field_validator("checkpoint_percentages")
    @classmethod
    def _checkpoints(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("at least one checkpoint (the last is 100)")
        bad = [p for p in v if not 1 <= p <= 100]
        if bad:
            raise ValueError(f"{bad}: each checkpoint is a percentage 1-100")
        if any(b <= a for a, b in pairwise(v)):
            raise ValueError(f"{v} is not strictly ascending")
        if v[-1] != 100:
            raise ValueError(f"{v} ends at {v[-1]}: the last checkpoint is 100 (every node replaced)")
        return v


class NodeLifecycle(Strict):
    """How nodes leave: drained before their Auto Scaling group terminates them, pools rolled by
    instance refresh (docs/runbooks/node-lifecycle.md)."""

    drain_timeout_seconds: int = Field(
        300, ge=60, le=3600,
        description="Seconds the node termination handler has to cordon and drain a node before the "
        "Auto Scaling group goes on terminating it (60-3600); the groups' termination lifecycle hooks "
        "wait this long plus a margin.")
    instance_refresh: InstanceRefresh = Field(default_factory=InstanceRefresh)


class V4Config(Strict):
    """Stage v4: kubeadm Kubernetes on AWS EC2 across AZs, RDS Multi-AZ, NLB + TLS, IRSA."""

    stage: Literal["v4"] = Field(description="Architecture stage this stack builds.")
    env: Env = Field(description="Environment name used in names and tags (e.g. dev, prod).")
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,15}$")] = Field(
        "looper", description="Prefix of every cloud resource name.")
    labels: Annotated[dict[str, str], AfterValidator(check_labels)] = Field(
        default_factory=dict, description="Extra tags on every resource.")
    aws: AwsSettings
    network: AwsNetwork
    cluster: Cluster = Field(default_factory=Cluster)
    workers: Workers = Field(default_factory=Workers)
    kafka_node: KafkaNode
    database: Database = Field(default_factory=Database)
    ingress: Ingress
    openvpn: OpenVpn | None = Field(
        default_factory=OpenVpn, description="OpenVPN access VPC; null: none (no private operator access).")
    connectivity: Connectivity = Field(default_factory=Connectivity)
    gcp: GcpSide | None = Field(
        None, description="GCP side (HA VPN with BGP, GPU node); null: AWS only.")
    gpu_workers: AwsGpuWorkers | None = Field(None, description="AWS GPU node group; null: none.")
    node_lifecycle: NodeLifecycle = Field(
        default_factory=NodeLifecycle,
        description="Node draining on termination and pool rolling (termination handler queue, lifecycle "
        "hooks, instance refresh).")

    @property
    def vpn_cidrs(self) -> tuple[str, ...]:
        return (str(self.openvpn.vpc_cidr),) if self.openvpn else ()

    @property
    def gcp_cidrs(self) -> tuple[str, ...]:
        return (str(self.gcp.vpc_cidr),) if self.gcp else ()

    def api_server_addresses(self) -> tuple[str, ...]:
        """Fixed private IPs of the internal API NLB, one per private subnet (AZ order).

        Pinned so that a GCP node can reach the API through the VPN without resolving an AWS
        internal name: the 6th address from the top of each subnet (AWS reserves the first 4
        and the last; instances get addresses from the bottom first).
        """
        return tuple(str(c.broadcast_address - 6) for c in self.network.private_cidrs)

    def cross_issues(self) -> list[tuple[str, str]]:
        issues: list[tuple[str, str]] = []
        azs, net = self.aws.azs, self.network
        for key in ("public_cidrs", "private_cidrs", "data_cidrs"):
            cidrs: list[IPv4Network] = getattr(net, key)
            if len(cidrs) != len(azs):
                issues.append((f"network.{key}", f"{len(cidrs)} subnet(s) for {len(azs)} AZs: one per "
                                                 "AZ, in aws.azs order"))
            for i, c in enumerate(cidrs):
                if not c.subnet_of(net.vpc_cidr):
                    issues.append((f"network.{key}[{i}]", f"{c} is not inside vpc_cidr {net.vpc_cidr}"))
                elif c.prefixlen > 28:
                    issues.append((f"network.{key}[{i}]", f"{c}: AWS subnets are /16 to /28"))
        named = [(f"network.{k}[{i}]", c) for k in ("public_cidrs", "private_cidrs", "data_cidrs")
                 for i, c in enumerate(getattr(net, k))]
        for (pa, a), (pb, b) in combinations(named, 2):
            if a.overlaps(b):
                issues.append((pb, f"{b} overlaps {pa} ({a})"))
        networks = [("network.vpc_cidr", net.vpc_cidr), ("cluster.pod_cidr", self.cluster.pod_cidr),
                    ("cluster.service_cidr", self.cluster.service_cidr)]
        if self.openvpn:
            networks.append(("openvpn.vpc_cidr", self.openvpn.vpc_cidr))
            networks.append(("openvpn.pool_cidr", self.openvpn.pool_cidr))
        if self.gcp:
            networks.append(("gcp.vpc_cidr", self.gcp.vpc_cidr))
        for (pa, a), (pb, b) in combinations(networks, 2):
            if a.overlaps(b):
                issues.append((pb, f"{b} overlaps {pa} ({a})"))
        if self.kafka_node.az not in azs:
            wrong = az_problem(self.kafka_node.az, self.aws.region)
            issues.append(("kafka_node.az", (f"{wrong}; it is " if wrong else f"{self.kafka_node.az!r} is ")
                           + f"not one of aws.azs ({', '.join(azs)})"))
        if self.kafka_node.count > len(azs):
            issues.append(("kafka_node.count", f"{self.kafka_node.count} Kafka nodes need as many AZs (one "
                                               f"each); aws.azs has {len(azs)}"))
        issues += self._access_issues()
        skew = self.cluster.version_skew_issue() if self.cluster.node_kubernetes_version else None
        if skew:
            issues.append(("cluster.node_kubernetes_version", skew))
        if self.gcp and self.cluster.calico_mtu > VPN_SAFE_MTU:
            issues.append(("cluster.calico_mtu", f"{self.cluster.calico_mtu} does not fit through the "
                                                 f"AWS<->GCP VPN with VXLAN: at most {VPN_SAFE_MTU}"))
        arn = self.ingress.certificate_arn
        if arn:
            m = _CERT_ARN.match(arn)
            if m and m.group(1) != self.aws.region:
                issues.append(("ingress.certificate_arn", f"certificate is in {m.group(1)}; an NLB needs "
                                                          f"one in {self.aws.region}"))
        if self.database.windows_overlap():
            issues.append(("database.maintenance_window", "overlaps the backup window"))
        snapshot = self.cluster.etcd_backups.restore_snapshot
        cluster = naming.name(self.name_prefix, self.env, "k8s")
        if snapshot and not snapshot.startswith(f"{cluster}/"):
            # the control-plane role may read its own cluster's prefix only
            issues.append(("cluster.etcd_backups.restore_snapshot",
                           f"{snapshot!r} is not a snapshot of this cluster (keys start with {cluster}/)"))
        return issues

    def _access_issues(self) -> list[tuple[str, str]]:
        issues: list[tuple[str, str]] = []
        azs = self.aws.azs
        if self.openvpn:
            o = self.openvpn
            publics = o.effective_public_cidrs(len(azs))
            if len(publics) != len(azs):
                where = "" if o.public_cidrs is not None else f" (the /24s of {o.vpc_cidr})"
                issues.append(("openvpn.public_cidrs", f"{len(publics)} subnet(s) for {len(azs)} AZs{where}"))
            for i, c in enumerate(publics):
                if not c.subnet_of(o.vpc_cidr):
                    issues.append((f"openvpn.public_cidrs[{i}]", f"{c} is not inside vpc_cidr {o.vpc_cidr}"))
            if not 16 <= o.vpc_cidr.prefixlen <= 24 or not o.vpc_cidr.is_private:
                issues.append(("openvpn.vpc_cidr", f"{o.vpc_cidr} must be a private /16-/24"))
        if self.connectivity.mode == "transit-gateway" and not self.openvpn and not self.gcp:
            issues.append(("connectivity.mode", "a transit gateway joins the access VPC and GCP: neither is "
                                                "configured"))
        if self.gcp:
            g = self.gcp
            if not g.subnet_cidr.subnet_of(g.vpc_cidr):
                issues.append(("gcp.subnet_cidr", f"{g.subnet_cidr} is not inside vpc_cidr {g.vpc_cidr}"))
            if g.gpu_node is not None:
                zones = L4_ZONES.get(g.region, ())
                if g.zone not in zones:
                    known = ", ".join(zones) or f"none in {g.region}"
                    issues.append(("gcp.zone", f"{g.zone!r} has no NVIDIA L4 GPUs (zones as of "
                                               f"{L4_ZONES_AS_OF}: {known})"))
        return issues
