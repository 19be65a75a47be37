"""Stack config of stage v4: kubeadm Kubernetes on AWS EC2 across AZs, RDS Multi-AZ, NLB + TLS, IRSA."""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from itertools import combinations
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from looper_infra import rds_windows
from looper_infra.config.base import Cidr, Fqdn, Strict
from looper_infra.config.gcp import check_labels

Env = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,11}$")]

#: AWS regions the stage is written and priced for; others are errors, not guesses.
AWS_REGIONS = (
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ap-south-1", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
    "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_DB_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+$")
_CERT_ARN = re.compile(r"^arn:aws:acm:([a-z0-9-]+):(\d{12}):certificate/[0-9a-f-]{36}$")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_MAINT = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-"
                    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NODE_PORT_RANGE = (30000, 32767)
#: Largest Calico VXLAN MTU that fits through the AWS<->GCP VPN (AWS VPN MTU <= 1446, minus
#: VXLAN's 50 bytes, with margin for IPsec overhead variation): DESIGN.md says <= 1350.
VPN_SAFE_MTU = 1350


def _instance_type(v: str) -> str:
    if not _INSTANCE_TYPE.match(v):
        raise ValueError(f"{v!r} is not an EC2 instance type (e.g. m7i.large)")
    return v


InstanceType = Annotated[str, AfterValidator(_instance_type)]


class AwsSettings(Strict):
    """Where the stage is built."""

    region: str = Field(description="AWS region (e.g. ap-northeast-2).")
    account_id: str = Field(
        pattern=r"^\d{12}$",
        description="AWS account ID; the provider refuses credentials of any other account.")
    azs: list[str] = Field(
        min_length=2, max_length=6,
        description="Availability zones (at least 2, in the region), e.g. [ap-northeast-2a, "
        "ap-northeast-2c].")

    @field_validator("region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        if v not in AWS_REGIONS:
            raise ValueError(f"unsupported AWS region {v!r} (one of {', '.join(AWS_REGIONS)})")
        return v

    @field_validator("azs")
    @classmethod
    def _azs_in_region(cls, v: list[str], info: ValidationInfo) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("availability zones must be distinct")
        region = info.data.get("region")
        if region:
            bad = [z for z in v if not re.fullmatch(re.escape(region) + r"[a-z]", z)]
            if bad:
                raise ValueError(f"{', '.join(bad)} not in region {region} (expected e.g. {region}a)")
        return v


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

    @field_validator("flow_log_retention_days")
    @classmethod
    def _cw_retention(cls, v: int) -> int:
        allowed = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                   2557, 2922, 3288, 3653)
        if v not in allowed:
            raise ValueError(f"CloudWatch Logs accepts only {allowed}")
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
        True, description="EC2 termination protection on the control-plane instances.")

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

    @field_validator("desired", "max_size")
    @classmethod
    def _ordered(cls, v: int, info: ValidationInfo) -> int:
        low = info.data.get("min_size")
        if low is not None and v < low:
            raise ValueError(f"{info.field_name} {v} is below min_size {low}")
        if info.field_name == "max_size":
            desired = info.data.get("desired")
            if desired is not None and v < desired:
                raise ValueError(f"max_size {v} is below desired {desired}")
        return v


class KafkaNode(Strict):
    """The dedicated Kafka node: an ASG of one in one AZ, tainted dedicated=kafka:NoSchedule."""

    instance_type: InstanceType = Field("r7i.large", description="Kafka node EC2 type.")
    volume_gb: int = Field(200, ge=30, le=16000, description="Root volume (gp3).")
    az: str = Field(description="Availability zone of the Kafka node (one of aws.azs).")


class Database(Strict):
    """RDS PostgreSQL."""

    engine_version: str = Field(
        "17.6", pattern=r"^1[4-9]\.\d{1,2}$", description="PostgreSQL engine version (exact minor).")
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
        if not _MAINT.match(v):
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


class AwsAccess(Strict):
    """Networks outside the K8s VPC that reach the cluster privately."""

    vpn_vpc_cidr: Cidr | None = Field(
        IPv4Network("10.2.0.0/16"),
        description="OpenVPN access VPC: reaches the API server (6443) and SSH (22). Null: none.")
    gcp_vpc_cidr: Cidr | None = Field(
        IPv4Network("10.0.0.0/16"),
        description="GCP VPC of the GPU node (over the HA VPN): API server, kubelet, VXLAN. Null: none.")


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
    access: AwsAccess = Field(default_factory=AwsAccess)

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
        if self.access.vpn_vpc_cidr:
            networks.append(("access.vpn_vpc_cidr", self.access.vpn_vpc_cidr))
        if self.access.gcp_vpc_cidr:
            networks.append(("access.gcp_vpc_cidr", self.access.gcp_vpc_cidr))
        for (pa, a), (pb, b) in combinations(networks, 2):
            if a.overlaps(b):
                issues.append((pb, f"{b} overlaps {pa} ({a})"))
        if self.kafka_node.az not in azs:
            issues.append(("kafka_node.az",
                           f"{self.kafka_node.az!r} is not one of aws.azs ({', '.join(azs)})"))
        if self.access.gcp_vpc_cidr and self.cluster.calico_mtu > VPN_SAFE_MTU:
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
        return issues
