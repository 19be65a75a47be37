"""AWS validators (and the GCP side of the AWS<->GCP HA VPN). Same model as policies/gcp.py.

Declarations the validators read (set by the components, visible in the plan):

* ``looper/public-entry = "true"`` tag on a security group or a load balancer: a declared public
  entry point (the AWS twin of GCP's ``-web`` network tag). Only these may take traffic from the
  internet, and only on tcp 80/443 and udp 1194; SSH never.
* ``looper/single-az = "<reason>"`` tag on a VPC, an Auto Scaling group or an instance: it is
  single-AZ on purpose (e.g. the dedicated Kafka node). The zone checks skip it and an advisory
  policy reports it, so the exception stays visible.
* ``role = "control-plane"`` tag on an Auto Scaling group: one control plane (each group has one
  subnet, so one AZ). The groups are judged together: a production stack needs an odd number, at
  least 3, in at least 3 AZs; a non-production stack with fewer reports it as a cost option.
* ``looper/etcd-backups = "<cluster>/"`` tag on a bucket: where the control planes put etcd
  snapshots. A production stack with control planes needs one, versioned, SSE-KMS encrypted,
  keeping ``daily/`` snapshots at least 7 days.
* An Auto Scaling group that is not a control plane is a node group: it needs an
  ``autoscaling:EC2_INSTANCE_TERMINATING`` lifecycle hook (a node is drained before it goes; a
  replacement control plane must not wait on a drain through the API server it replaces).
* A production stack is one whose stack name is ``prod``/``production`` or ends in ``-prod``
  (``v4-prod``), or whose ``env`` tag (resource tags or the aws provider's default tags) is
  ``prod``/``production``: the same ``env`` the GCP stages put in their labels.

Several checks join resources (a rule to its security group, a listener to its load balancer, a
public access block to its bucket). Joins follow the property dependencies Pulumi records (the
URNs an input's value came from); `LinkedResource` carries them. Without them, a join falls
back to matching names; a rule that cannot be joined is treated as not being on a public entry
point (secure by default).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from looper_infra.facts.etcd import BACKUP_BUCKET_TAG, DAILY_PREFIX
from looper_infra.policies.model import Resource, ResourcePolicy, StackPolicy

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
ASG = "aws:autoscaling/group:Group"
LIFECYCLE_HOOK = "aws:autoscaling/lifecycleHook:LifecycleHook"
SQS_QUEUE = "aws:sqs/queue:Queue"
SM_SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 (a type token)
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
DB_INSTANCE = "aws:rds/instance:Instance"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
AWS_PROVIDER = "pulumi:providers:aws"
GCP_HA_VPN_GATEWAY = "gcp:compute/haVpnGateway:HaVpnGateway"
GCP_VPN_TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel"
GCP_ROUTER_INTERFACE = "gcp:compute/routerInterface:RouterInterface"
GCP_ROUTER_PEER = "gcp:compute/routerPeer:RouterPeer"

PUBLIC_ENTRY_TAG = "looper/public-entry"
SINGLE_AZ_TAG = "looper/single-az"
ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
#: (protocol, port) a declared public entry point may open to the internet.
PUBLIC_PORTS = frozenset({("tcp", 80), ("tcp", 443), ("udp", 1194)})
#: ELB security policies whose minimum protocol is TLS 1.2 (TLS13-1-2-*, TLS13-1-3-*, TLS-1-2-*,
#: FS-1-2-*), per AWS's "Security policies for your Network Load Balancer" table. Not allowed:
#: ELBSecurityPolicy-2016-08 (the API default, TLS 1.0), TLS13-1-0/1-1, TLS-1-1, FS-2018-06.
TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-[A-Za-z0-9-]+\Z")
TLS_PROTOCOLS = frozenset({"TLS", "HTTPS"})
ADMIN_POLICY_ARNS = frozenset({"arn:aws:iam::aws:policy/AdministratorAccess"})
MIN_BACKUP_DAYS = 7
#: etcd snapshots a production cluster keeps at least this long (its `daily/` expiration)
MIN_ETCD_SNAPSHOT_DAYS = 7
#: a production control plane: an odd number of members, at least this many, in as many AZs
MIN_CONTROL_PLANES = 3
CONTROL_PLANE_ROLE = "control-plane"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
HA_VPN_TUNNELS = 4
_PROD = re.compile(r"(^|-)prod(uction)?\Z")
_PROD_ENV = frozenset({"prod", "production"})


@dataclass(frozen=True)
class LinkedResource(Resource):
    """A resource view that also knows which resources fed each input (input -> URNs)."""

    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)


# --- small helpers -----------------------------------------------------------------------------

def tags_of(r: Resource) -> dict[str, str]:
    """`tags` (map, or the Auto Scaling group's list of {key, value}) merged over `tagsAll`."""
    out: dict[str, str] = {}
    for key in ("tagsAll", "tags"):
        value = r.props.get(key)
        if isinstance(value, Mapping):
            out.update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, list):
            out.update({str(t.get("key")): str(t.get("value")) for t in value if isinstance(t, Mapping)})
    return out


def is_public_entry(r: Resource | None) -> bool:
    return r is not None and tags_of(r).get(PUBLIC_ENTRY_TAG, "").lower() == "true"


def single_az_reason(r: Resource) -> str | None:
    return tags_of(r).get(SINGLE_AZ_TAG) or None


def _truthy(value: Any) -> bool:
    """Booleans as Pulumi passes them; some AWS inputs are strings (`ebs.encrypted: "true"`)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _int(value: Any, default: int) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def stack_of(urn: str) -> str:
    """`urn:pulumi:v4-prod::looper::...` -> `v4-prod`."""
    parts = urn.split("::", 1)[0].split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "urn" else ""


def _provider_env(r: Resource) -> str:
    default_tags = r.props.get("defaultTags")
    if isinstance(default_tags, str):  # provider inputs reach the engine JSON-encoded
        try:
            default_tags = json.loads(default_tags)
        except ValueError:
            default_tags = None
    tags = default_tags.get("tags") if isinstance(default_tags, Mapping) else None
    return str(tags.get("env", "")) if isinstance(tags, Mapping) else ""


def is_production(resources: Sequence[Resource]) -> bool:
    """The stack name says prod, or an env tag (resource or provider default tags) does."""
    for r in resources:
        if _PROD.search(stack_of(r.urn)):  # regex-guard: search (a suffix of the stack name)
            return True
        env = _provider_env(r) if r.type == AWS_PROVIDER else tags_of(r).get("env", "")
        if env.lower() in _PROD_ENV:
            return True
    return False


class _Index:
    """Joins between resources: by recorded property dependency, else by name."""

    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def sources(self, r: Resource, prop: str, type_: str,
                names: tuple[str, ...] = ("name",)) -> list[Resource]:
        """The `type_` resources whose outputs fed input `prop` of `r`."""
        deps: Mapping[str, Sequence[str]] = getattr(r, "property_dependencies", None) or {}
        found = [self.by_urn[u] for u in deps.get(prop, ()) if u in self.by_urn
                 and self.by_urn[u].type == type_]
        if found:
            return found
        value = r.props.get(prop)
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
        return [t for t in self.of_type(type_)
                if any(t.props.get(n) and any(v == str(t.props[n]) or v.endswith(f"/{t.props[n]}")
                                              for v in values) for n in names)]

    def azs(self, r: Resource, prop: str) -> set[str]:
        """Availability zones of the subnets input `prop` of `r` names."""
        return {str(s.props["availabilityZone"]) for s in self.sources(r, prop, SUBNET)
                if s.props.get("availabilityZone")}


# --- security groups -------------------------------------------------------------------------

def _protocol(value: Any) -> str:
    p = str(value if value is not None else "-1").lower()
    return {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(p, p)


def internet_ingress_findings(protocol: Any, from_port: Any, to_port: Any, public: bool) -> list[str]:
    """Messages for one ingress permission whose source is 0.0.0.0/0 or ::/0."""
    proto = _protocol(protocol)
    lo, hi = _int(from_port, 0), _int(to_port, 65535)
    if proto in ("tcp", "udp") and lo <= 0 and hi <= 0:  # -1/-1 or 0/0: every port
        lo, hi = 0, 65535
    found: list[str] = []
    if proto == "all" or (proto == "tcp" and lo <= 22 <= hi):
        found.append("SSH (or every port) open to the internet")
    elif not (lo == hi and (proto, lo) in PUBLIC_PORTS):
        ports = "" if proto.startswith("icmp") else f" {lo}" if lo == hi else f" {lo}-{hi}"
        found.append(f"{proto}{ports} open to the internet (only tcp 80/443 and udp 1194 may be)")
    if not public:
        found.append(f"internet ingress on a security group that is not a declared public entry point "
                     f"(tag {PUBLIC_ENTRY_TAG}=true)")
    return found


def sg_inline_internet_ingress(r: Resource) -> Iterable[str]:
    public = is_public_entry(r)
    for rule in r.props.get("ingress") or []:
        sources = set(rule.get("cidrBlocks") or []) | set(rule.get("ipv6CidrBlocks") or [])
        if ANYWHERE & sources:
            yield from internet_ingress_findings(rule.get("protocol"), rule.get("fromPort"),
                                                 rule.get("toPort"), public)


def default_sg_closed(r: Resource) -> Iterable[str]:
    if r.props.get("ingress") or r.props.get("egress"):
        yield "the VPC's default security group must have no rules (attach dedicated groups)"


def sg_rule_internet_ingress(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    idx = _Index(resources)
    for rule in idx.of_type(INGRESS_RULE):
        if not ({rule.props.get("cidrIpv4"), rule.props.get("cidrIpv6")} & ANYWHERE):
            continue
        groups = idx.sources(rule, "securityGroupId", SECURITY_GROUP)
        public = bool(groups) and all(is_public_entry(g) for g in groups)
        for message in internet_ingress_findings(rule.props.get("ipProtocol"), rule.props.get("fromPort"),
                                                 rule.props.get("toPort"), public):
            yield rule.urn, message


# --- EC2: disks and metadata -----------------------------------------------------------------

def ebs_encrypted(r: Resource) -> Iterable[str]:
    if r.type == LAUNCH_TEMPLATE:
        mappings = r.props.get("blockDeviceMappings") or []
        if not mappings:
            yield "no block device mapping: the root volume's encryption is left to the AMI"
        for m in mappings:
            if m.get("noDevice") or m.get("virtualName"):
                continue
            if not _truthy((m.get("ebs") or {}).get("encrypted")):
                yield f"EBS volume {m.get('deviceName', '?')} is not encrypted"
        return
    root = r.props.get("rootBlockDevice")
    if root is None and r.props.get("launchTemplate"):
        pass  # the root volume comes from the launch template, checked on its own
    elif not _truthy((root or {}).get("encrypted")):
        yield "root volume is not encrypted (rootBlockDevice.encrypted)"
    for d in r.props.get("ebsBlockDevices") or []:
        if not _truthy(d.get("encrypted")):
            yield f"EBS volume {d.get('deviceName', '?')} is not encrypted"


def imdsv2_required(r: Resource) -> Iterable[str]:
    meta = r.props.get("metadataOptions") or {}
    if meta.get("httpEndpoint") == "disabled":
        return
    if meta.get("httpTokens") != "required":
        yield "IMDSv2 not enforced: metadataOptions.httpTokens must be \"required\""


# --- RDS -----------------------------------------------------------------------------------------

def rds_hardening(r: Resource) -> Iterable[str]:
    if not _truthy(r.props.get("storageEncrypted")):
        yield "storage is not encrypted (cannot be turned on later)"
    if _truthy(r.props.get("publiclyAccessible")):
        yield "the database is publicly accessible"
    days = _int(r.props.get("backupRetentionPeriod"), 0)
    if days < MIN_BACKUP_DAYS:
        yield f"backups kept {days} day(s): at least {MIN_BACKUP_DAYS}"


def _resilience_gaps(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """What a production stack must have and a throwaway stack may skip (a named cost option)."""
    idx = _Index(resources)
    for db in idx.of_type(DB_INSTANCE):
        if not _truthy(db.props.get("multiAz")):
            yield db.urn, "RDS without Multi-AZ (no standby in another AZ)"
        if not _truthy(db.props.get("deletionProtection")):
            yield db.urn, "RDS without deletion protection"
    subnet_azs = {str(s.props["availabilityZone"]) for s in idx.of_type(SUBNET)
                  if s.props.get("availabilityZone")}
    nats = idx.of_type(NAT_GATEWAY)
    nat_azs: set[str] = set().union(*(idx.azs(n, "subnetId") for n in nats)) if nats else set()
    if nats and subnet_azs and len(nat_azs) < len(subnet_azs):
        missing = ", ".join(sorted(subnet_azs - nat_azs))
        yield nats[0].urn, f"NAT gateways not in every AZ (none in {missing}): one AZ's outage cuts egress"
    yield from _control_plane_gaps(idx)


def control_plane_groups(idx: _Index) -> list[Resource]:
    """Auto Scaling groups of control planes (tag role=control-plane), one per member."""
    return [g for g in idx.of_type(ASG) if tags_of(g).get("role") == CONTROL_PLANE_ROLE]


def _control_plane_gaps(idx: _Index) -> Iterable[tuple[str, str]]:
    """An HA control plane: odd count >= 3 over >= 3 AZs, and etcd snapshots kept >= 7 days."""
    groups = control_plane_groups(idx)
    if not groups:
        return
    count = len(groups)
    azs: set[str] = set()
    for g in groups:
        azs |= idx.azs(g, "vpcZoneIdentifiers") | {str(z) for z in g.props.get("availabilityZones") or []}
    if count < MIN_CONTROL_PLANES or count % 2 == 0:
        yield groups[0].urn, (f"{count} control plane(s): etcd keeps quorum through the loss of one member "
                              f"only with an odd number, at least {MIN_CONTROL_PLANES} (no HA)")
    elif len(azs) < MIN_CONTROL_PLANES:
        yield groups[0].urn, (f"{count} control planes in {len(azs)} availability zone(s): at least "
                              f"{MIN_CONTROL_PLANES}, so one zone's outage keeps etcd quorum")
    buckets = [b for b in idx.of_type(BUCKET) if tags_of(b).get(BACKUP_BUCKET_TAG)]
    if not buckets:
        yield groups[0].urn, f"no etcd snapshot bucket (a bucket tagged {BACKUP_BUCKET_TAG})"
    for bucket in buckets:
        yield from ((bucket.urn, m) for m in _etcd_bucket_gaps(idx, bucket))


def _of_bucket(idx: _Index, bucket: Resource, type_: str) -> list[Resource]:
    return [r for r in idx.of_type(type_) if bucket in idx.sources(r, "bucket", BUCKET, ("bucket",))]


def _etcd_bucket_gaps(idx: _Index, bucket: Resource) -> Iterable[str]:
    versioning = _of_bucket(idx, bucket, BUCKET_VERSIONING)
    if not any((v.props.get("versioningConfiguration") or {}).get("status") == "Enabled" for v in versioning):
        yield "etcd snapshot bucket without versioning (an overwritten snapshot is lost)"
    algorithms = {str((rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
                  for sse in _of_bucket(idx, bucket, BUCKET_SSE) for rule in sse.props.get("rules") or []}
    if not algorithms & {"aws:kms", "aws:kms:dsse"}:
        yield "etcd snapshot bucket not encrypted with a KMS key (SSE-KMS)"
    prefix = tags_of(bucket).get(BACKUP_BUCKET_TAG, "")
    for lifecycle in _of_bucket(idx, bucket, BUCKET_LIFECYCLE):
        for rule in lifecycle.props.get("rules") or []:
            scope = str((rule.get("filter") or {}).get("prefix") or rule.get("prefix") or "")
            days = (rule.get("expiration") or {}).get("days")
            # a rule over the daily snapshots, or over all of them (the cluster's prefix or the bucket)
            covers_daily = f"{prefix}{DAILY_PREFIX}".startswith(scope)
            if (str(rule.get("status", "Enabled")) == "Enabled" and covers_daily and days is not None
                    and _int(days, 0) < MIN_ETCD_SNAPSHOT_DAYS):
                where = scope or "the whole bucket"
                yield (f"etcd snapshots under {where} expire after {_int(days, 0)} day(s): keep daily "
                       f"snapshots at least {MIN_ETCD_SNAPSHOT_DAYS}")


def production_resilience(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    if is_production(resources):
        yield from _resilience_gaps(resources)


def cost_options(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    if not is_production(resources):
        for urn, message in _resilience_gaps(resources):
            yield urn, f"cost option in a non-production stack: {message}"


# --- S3 --------------------------------------------------------------------------------------------

_PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def s3_private_encrypted(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    idx = _Index(resources)
    blocks = idx.of_type(BUCKET_PUBLIC_ACCESS_BLOCK)
    sses = idx.of_type(BUCKET_SSE)
    for bucket in idx.of_type(BUCKET):
        mine = [b for b in blocks if bucket in idx.sources(b, "bucket", BUCKET, ("bucket",))]
        if not mine:
            yield bucket.urn, "no BucketPublicAccessBlock"
        for b in mine:
            off = [f for f in _PAB_FLAGS if not _truthy(b.props.get(f))]
            if off:
                yield bucket.urn, f"public access block leaves {', '.join(off)} off"
        inline = bucket.props.get("serverSideEncryptionConfiguration")
        if not inline and not any(bucket in idx.sources(s, "bucket", BUCKET, ("bucket",)) for s in sses):
            yield bucket.urn, "no server-side encryption configuration"


# --- load balancers ----------------------------------------------------------------------------

def listener_tls_policy(r: Resource) -> Iterable[str]:
    if str(r.props.get("protocol", "")).upper() not in TLS_PROTOCOLS:
        return
    policy = r.props.get("sslPolicy")
    if not policy:
        yield "TLS listener without sslPolicy: the API default ELBSecurityPolicy-2016-08 allows TLS 1.0"
    elif not TLS12_POLICY.match(str(policy)):
        yield f"sslPolicy {policy} allows TLS older than 1.2"


def plain_listeners(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """No plaintext listener except port 80 (or OpenVPN's udp 1194) of a declared public entry point.

    A TCP listener on an internal load balancer may carry TLS end to end (the API server's
    6443); plain HTTP is never allowed there.
    """
    idx = _Index(resources)
    for listener in idx.of_type(LISTENER):
        protocol = str(listener.props.get("protocol", "")).upper() or "HTTP"  # AWS default: HTTP
        if protocol in TLS_PROTOCOLS:
            continue
        lbs = idx.sources(listener, "loadBalancerArn", LOAD_BALANCER)
        internal = bool(lbs) and all(_truthy(lb.props.get("internal")) for lb in lbs)
        if internal:
            if protocol == "HTTP":
                yield listener.urn, "plain HTTP listener (use HTTPS, or TCP passthrough to a TLS target)"
            continue
        port = _int(listener.props.get("port"), -1)
        allowed = (protocol in ("TCP", "HTTP") and port == 80) or (protocol == "UDP" and port == 1194)
        if not allowed:
            yield listener.urn, (f"plain {protocol} listener on port {port} of an internet-facing load "
                                 "balancer (only 80, redirecting to TLS)")
        elif not (lbs and all(is_public_entry(lb) for lb in lbs)):
            yield listener.urn, (f"plain {protocol} listener on a load balancer that is not a declared "
                                 f"public entry point (tag {PUBLIC_ENTRY_TAG}=true)")


# --- zones -----------------------------------------------------------------------------------------

def ha_zones(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    idx = _Index(resources)
    by_vpc: dict[str, tuple[Resource | None, set[str]]] = {}
    for s in idx.of_type(SUBNET):
        vpcs = idx.sources(s, "vpcId", VPC)
        key = vpcs[0].urn if vpcs else str(s.props.get("vpcId", "?"))
        entry = by_vpc.setdefault(key, (vpcs[0] if vpcs else None, set()))
        if s.props.get("availabilityZone"):
            entry[1].add(str(s.props["availabilityZone"]))
    for key, (vpc, azs) in by_vpc.items():
        if (vpc is None or not single_az_reason(vpc)) and len(azs) < 2:
            yield (vpc.urn if vpc else key), "the VPC's subnets span fewer than 2 availability zones"
    control_planes = control_plane_groups(idx)
    for asg in idx.of_type(ASG):
        if asg in control_planes:
            continue  # one AZ each by design: judged together below
        azs = idx.azs(asg, "vpcZoneIdentifiers") | set(asg.props.get("availabilityZones") or [])
        if not single_az_reason(asg) and len(azs) < 2:
            yield asg.urn, "an Auto Scaling group spans at least 2 availability zones"
    cp_azs: set[str] = set().union(*(idx.azs(g, "vpcZoneIdentifiers") for g in control_planes))
    if len(control_planes) >= 2 and len(cp_azs) < 2:
        yield control_planes[0].urn, (f"{len(control_planes)} control planes all in one availability zone")
    by_role: dict[str, list[Resource]] = {}
    for i in idx.of_type(INSTANCE):
        if i.props.get("iamInstanceProfile") and not single_az_reason(i):
            by_role.setdefault(str(i.props["iamInstanceProfile"]), []).append(i)
    for role, instances in by_role.items():
        azs = set()
        for i in instances:
            azs |= idx.azs(i, "subnetId") | ({str(i.props["availabilityZone"])}
                                              if i.props.get("availabilityZone") else set())
        if len(instances) >= 2 and len(azs) < 2:
            yield instances[0].urn, (f"{len(instances)} instances of profile {role} all in one availability "
                                     "zone")
    for group in idx.of_type(DB_SUBNET_GROUP):
        ids = group.props.get("subnetIds") or []
        azs = idx.azs(group, "subnetIds")
        if len(ids) < 2 or (azs and len(azs) < 2):
            yield group.urn, "an RDS subnet group spans at least 2 subnets in 2 availability zones"


def node_groups_drain(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """Every node group (an Auto Scaling group that is not a control plane) has a termination
    lifecycle hook, joined by `autoscalingGroupName`."""
    idx = _Index(resources)
    control_planes = control_plane_groups(idx)
    hooked = {g.urn for hook in idx.of_type(LIFECYCLE_HOOK)
              if hook.props.get("lifecycleTransition") == TERMINATING
              for g in idx.sources(hook, "autoscalingGroupName", ASG)}
    for group in idx.of_type(ASG):
        if group not in control_planes and group.urn not in hooked:
            yield group.urn, (f"node group without a {TERMINATING} lifecycle hook: its nodes are terminated "
                              "without a drain")


def sqs_kms(r: Resource) -> Iterable[str]:
    if not r.props.get("kmsMasterKeyId"):
        yield "SQS queue not encrypted with a KMS key (kmsMasterKeyId)"


#: what Secrets Manager falls back to without a kmsKeyId: the account's AWS managed key
AWS_MANAGED_SECRETS_KEY = "alias/aws/secretsmanager"


def _customer_key(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not value.endswith(AWS_MANAGED_SECRETS_KEY)


def secrets_cmk(r: Resource) -> Iterable[str]:
    """Secrets Manager secrets, and the master secret RDS keeps there, use a customer managed key."""
    if r.type == SM_SECRET and not _customer_key(r.props.get("kmsKeyId")):
        yield ("Secrets Manager secret without a customer managed KMS key (kmsKeyId): it would use the "
               "account's aws/secretsmanager key, whose policy no one here controls")
    elif r.type == DB_INSTANCE and _truthy(r.props.get("manageMasterUserPassword")) \
            and not _customer_key(r.props.get("masterUserSecretKmsKeyId")):
        yield ("RDS-managed master user secret without a customer managed KMS key "
               "(masterUserSecretKmsKeyId; it cannot be changed after creation)")


def declared_single_az(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    for r in resources:
        if r.type in (VPC, ASG, INSTANCE):
            reason = single_az_reason(r)
            if reason:
                yield r.urn, f"single availability zone by declaration: {reason}"


def ha_vpn(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """GCP HA VPN at 99.99%: 4 tunnels per HA gateway, each with a router interface and a BGP peer."""
    idx = _Index(resources)
    for gw in idx.of_type(GCP_HA_VPN_GATEWAY):
        tunnels = [t for t in idx.of_type(GCP_VPN_TUNNEL)
                   if gw in idx.sources(t, "vpnGateway", GCP_HA_VPN_GATEWAY)]
        if len(tunnels) != HA_VPN_TUNNELS:
            yield gw.urn, f"HA VPN gateway with {len(tunnels)} tunnel(s): 4 for 99.99% to AWS"
        for t in tunnels:
            interfaces = [i for i in idx.of_type(GCP_ROUTER_INTERFACE)
                          if t in idx.sources(i, "vpnTunnel", GCP_VPN_TUNNEL)]
            peers = [p for p in idx.of_type(GCP_ROUTER_PEER)
                     if any(i in idx.sources(p, "interface", GCP_ROUTER_INTERFACE) for i in interfaces)]
            if not peers:
                yield t.urn, "VPN tunnel without a Cloud Router interface and BGP peer"


# --- IAM ---------------------------------------------------------------------------------------------

def _statements(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    found = document.get("Statement") or []
    return [s for s in (found if isinstance(found, list) else [found]) if isinstance(s, Mapping)]


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []


def admin_statements(document: Any) -> list[str]:
    """Messages for Allow statements granting Action "*" on Resource "*"."""
    return ["policy allows Action \"*\" on Resource \"*\" (administrator)"
            for s in _statements(document)
            if s.get("Effect", "Allow") == "Allow" and "*" in _as_list(s.get("Action"))
            and "*" in _as_list(s.get("Resource"))]


def iam_no_admin(r: Resource) -> Iterable[str]:
    if r.type == ROLE_POLICY:
        yield from admin_statements(r.props.get("policy"))
    elif r.type == ROLE:
        for p in r.props.get("inlinePolicies") or []:
            yield from admin_statements(p.get("policy"))
    elif r.type == ROLE_POLICY_ATTACHMENT and r.props.get("policyArn") in ADMIN_POLICY_ARNS:
        yield f"{r.props['policyArn']} attached"


def _resource_policy(name: str, description: str, types: tuple[str, ...],
                     check: Callable[[Resource], Iterable[str]]) -> ResourcePolicy:
    return ResourcePolicy(name, description, "mandatory", types, check)


RESOURCE_POLICIES = (
    _resource_policy("aws-sg-no-internet-ingress", "Security groups: internet ingress only tcp 80/443 "
                     "and udp 1194 on declared public entry points; never SSH",
                     (SECURITY_GROUP,), sg_inline_internet_ingress),
    _resource_policy("aws-default-sg-closed", "The VPC default security group has no rules",
                     (DEFAULT_SECURITY_GROUP,), default_sg_closed),
    _resource_policy("aws-ebs-encrypted", "EBS volumes of instances and launch templates are encrypted",
                     (INSTANCE, LAUNCH_TEMPLATE), ebs_encrypted),
    _resource_policy("aws-imdsv2", "Instances and launch templates require IMDSv2 tokens",
                     (INSTANCE, LAUNCH_TEMPLATE), imdsv2_required),
    _resource_policy("aws-rds-hardening", "RDS: encrypted storage, not public, backups kept >= 7 days",
                     (DB_INSTANCE,), rds_hardening),
    _resource_policy("aws-lb-tls12", "TLS/HTTPS listeners use a TLS 1.2+ security policy",
                     (LISTENER,), listener_tls_policy),
    _resource_policy("aws-sqs-kms", "SQS queues are encrypted with a KMS key", (SQS_QUEUE,), sqs_kms),
    _resource_policy("aws-secrets-cmk", "Secrets Manager secrets (and RDS-managed master secrets) are "
                     "encrypted with a customer managed KMS key", (SM_SECRET, DB_INSTANCE), secrets_cmk),
    _resource_policy("aws-iam-no-admin", "No Action \"*\" on Resource \"*\"; no AdministratorAccess",
                     (ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT), iam_no_admin),
)
STACK_POLICIES = (
    StackPolicy("aws-sg-rule-no-internet-ingress", "Security group rules: internet ingress only tcp "
                "80/443 and udp 1194 on declared public entry points; never SSH", "mandatory",
                sg_rule_internet_ingress),
    StackPolicy("aws-lb-no-plain-listeners", "No plaintext listener except port 80 of a declared "
                "public entry point", "mandatory", plain_listeners),
    StackPolicy("aws-s3-private-encrypted", "Every bucket has a full public access block and "
                "server-side encryption", "mandatory", s3_private_encrypted),
    StackPolicy("aws-ha-zones", "Subnets, Auto Scaling groups, instance sets and RDS subnet groups "
                "span at least 2 availability zones", "mandatory", ha_zones),
    StackPolicy("aws-node-groups-drain", "Node groups (Auto Scaling groups other than control planes) have "
                "a termination lifecycle hook", "mandatory", node_groups_drain),
    StackPolicy("aws-ha-vpn", "GCP HA VPN: 4 tunnels, each with a BGP peer", "mandatory", ha_vpn),
    StackPolicy("aws-production-resilience", "Production: RDS Multi-AZ with deletion protection, a "
                "NAT gateway per AZ, an odd number (>= 3) of control planes over >= 3 AZs, etcd snapshots "
                "versioned, SSE-KMS, kept >= 7 days", "mandatory", production_resilience),
    StackPolicy("aws-cost-options", "Non-production stacks: resilience traded for cost, reported",
                "advisory", cost_options),
    StackPolicy("aws-declared-single-az", "Resources declared single-AZ, reported", "advisory",
                declared_single_az),
)
