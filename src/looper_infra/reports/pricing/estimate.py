"""Monthly cost estimate of an offline plan, priced from the shipped price snapshot.

Nothing is guessed: a resource whose price is not in the snapshot (unknown
machine type, unknown region, unknown resource type) is listed in
`Estimate.unpriced` instead of being priced.  Usage-based charges (egress,
load-balancer data processing, NAT data processing, GCS operations) are not
part of the estimate; storage whose size the plan cannot know (bucket
contents) is priced at `Assumptions.bucket_gb`.  On AWS the usage-based charges
that come with a priced resource (NAT and endpoint data processing, NLB capacity
units, log ingestion, RDS backup storage, CloudFront transfer) are listed in
`Estimate.usage` with their unit price, never added to the total.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from looper_infra.engine.mocks import RecordedResource

SNAPSHOT_PATH = Path(__file__).with_name("snapshot.json")

# Resource types that Google does not bill for by themselves.
FREE_TYPES: dict[str, str] = {
    "gcp:compute/network:Network": "VPC networks are free",
    "gcp:compute/subnetwork:Subnetwork": "subnets are free",
    "gcp:compute/firewall:Firewall": "VPC firewall rules are free",
    "gcp:compute/router:Router": "Cloud Router without BGP sessions is free (NAT priced separately)",
    "gcp:compute/healthCheck:HealthCheck": "health checks are free",
    "gcp:compute/uRLMap:URLMap": "URL maps are free (priced via forwarding rules)",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "target proxies are free",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "target proxies are free",
    "gcp:compute/sSLPolicy:SSLPolicy": "SSL policies are free",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "Google-managed certificates are free",
    "gcp:compute/backendService:BackendService": "backend services are free (LB priced via forwarding rules)",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
        "the group is free; its instances are priced on the group line",
    "gcp:compute/instanceGroupManager:InstanceGroupManager":
        "the group is free; its instances are priced on the group line",
    "gcp:compute/regionAutoscaler:RegionAutoscaler": "autoscalers are free",
    "gcp:compute/autoscaler:Autoscaler": "autoscalers are free",
    "gcp:compute/instanceTemplate:InstanceTemplate": "templates are free; instances priced on the group line",
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate":
        "templates are free; instances priced on the group line",
    "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment": "attachments are free",
    "gcp:projects/iAMMember:IAMMember": "IAM is free",
    "gcp:projects/iAMBinding:IAMBinding": "IAM is free",
    "gcp:serviceaccount/account:Account": "service accounts are free",
    "gcp:secretmanager/secret:Secret": "secrets are billed per active version (see SecretVersion)",
    "gcp:secretmanager/secretIamMember:SecretIamMember": "IAM is free",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "IAM is free",
    "gcp:dns/recordSet:RecordSet": "record sets within an existing managed zone are free",
    "gcp:projects/service:Service": "enabling an API is free",
    "random:index/randomPassword:RandomPassword": "not a cloud resource",
    "random:index/randomId:RandomId": "not a cloud resource",
    "random:index/randomString:RandomString": "not a cloud resource",
    "random:index/randomBytes:RandomBytes": "not a cloud resource",
    "tls:index/privateKey:PrivateKey": "not a cloud resource",
    "tls:index/selfSignedCert:SelfSignedCert": "not a cloud resource",
    "tls:index/locallySignedCert:LocallySignedCert": "not a cloud resource",
    "tls:index/certRequest:CertRequest": "not a cloud resource",
    # AWS: no charge of their own (what they carry is priced on another line)
    "aws:ec2/vpc:Vpc": "VPCs are free",
    "aws:ec2/subnet:Subnet": "subnets are free",
    "aws:ec2/internetGateway:InternetGateway": "internet gateways are free (data transfer is usage)",
    "aws:ec2/routeTable:RouteTable": "route tables are free",
    "aws:ec2/route:Route": "routes are free",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "route table associations are free",
    "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation": "route table associations are free",
    "aws:ec2/flowLog:FlowLog": "flow logs are billed as log ingestion on their log group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups are free",
    "aws:ec2/securityGroup:SecurityGroup": "security groups are free",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security group rules are free",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security group rules are free",
    "aws:ec2/launchTemplate:LaunchTemplate": "templates are free; instances priced on the group line",
    "aws:cloudfront/cachePolicy:CachePolicy": "cache policies are free (requests are usage)",
    "aws:iam/role:Role": "IAM is free",
    "aws:iam/rolePolicy:RolePolicy": "IAM is free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM is free",
    "aws:iam/instanceProfile:InstanceProfile": "IAM is free",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "IAM is free",
    "aws:iam/policy:Policy": "IAM is free",
    "aws:lb/targetGroup:TargetGroup": "target groups are free (priced on the load balancer line)",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": "target registrations are free",
    "aws:lb/listener:Listener": "listeners are free (capacity units are usage on the load balancer)",
    "aws:acm/certificate:Certificate": "public ACM certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": "validation is free",
    "aws:route53/record:Record": "records in an existing hosted zone are free (alias queries to AWS "
                                 "resources too; other queries are usage)",
    "aws:rds/subnetGroup:SubnetGroup": "DB subnet groups are free",
    "aws:rds/parameterGroup:ParameterGroup": "DB parameter groups are free",
    "aws:kms/alias:Alias": "aliases are free (the key is priced)",
    "aws:secretsmanager/secretVersion:SecretVersion": "Secrets Manager bills per secret, not per version",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket settings are free",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket settings are free",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "bucket settings are free (SSE-S3; SSE-KMS requests are billed on the key as usage)",
    "aws:s3/bucketVersioning:BucketVersioning": "bucket settings are free (old versions are storage)",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket settings are free",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
        "bucket settings are free (transitions and expirations are usage)",
    "aws:s3/bucketObjectv2:BucketObjectv2": "objects are storage, priced on the bucket line",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "origin access controls are free",
    "aws:ec2/vpnGateway:VpnGateway": "a virtual private gateway has no charge of its own (connections do)",
    "aws:ec2/customerGateway:CustomerGateway": "customer gateways are free",
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": "peering is free (cross-AZ/region transfer is "
                                                          "usage)",
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": "route propagation is free",
    "aws:ec2transitgateway/transitGateway:TransitGateway": "a transit gateway has no charge of its own "
                                                           "(attachments and data are billed)",
    "aws:ec2/eipAssociation:EipAssociation": "associations are free (the address is priced on the EIP)",
    "gcp:compute/haVpnGateway:HaVpnGateway": "the HA VPN gateway has no charge of its own (tunnels do)",
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": "external VPN gateways are free",
    "gcp:compute/routerInterface:RouterInterface": "Cloud Router interfaces are free",
    "gcp:compute/routerPeer:RouterPeer": "Cloud Router BGP sessions for Cloud VPN are free",
}

AWS_PROVIDER = "pulumi:providers:aws"
AWS_INSTANCE = "aws:ec2/instance:Instance"
AWS_ASG = "aws:autoscaling/group:Group"
AWS_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AWS_NAT = "aws:ec2/natGateway:NatGateway"
AWS_DB = "aws:rds/instance:Instance"
K8S_PREFIX = "kubernetes:"
K8S_STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"


@dataclass
class Assumptions:
    hours_per_month: float = 730.0
    bucket_gb: float = 0.0  # stored GiB per bucket (usage-based; unknown to a plan)
    snapshot_fraction: float = 1.0  # snapshot storage as a fraction of the scheduled disks' size
    log_ingest_gb: float = 0.0  # CloudWatch Logs GB ingested per log group per month (usage-based)
    cloudfront_gb: float = 0.0  # CloudFront GB transferred out per distribution per month (usage-based)


@dataclass
class LineItem:
    urn: str
    type: str
    what: str
    quantity: float
    unit: str
    unit_price: float  # USD per `unit`
    monthly: float  # USD per month (at min replicas for groups)
    price_key: str
    monthly_max: float | None = None  # groups: cost at max replicas


@dataclass
class UsageCharge:
    """A charge that depends on traffic or requests: its unit price, never added to the total."""

    urn: str
    type: str
    what: str
    unit: str
    unit_price: float
    price_key: str


@dataclass
class Lever:
    name: str
    urn: str
    description: str
    monthly_saving: float
    applied: bool = False  # already in effect in the plan (saving shown is 0)


@dataclass
class Estimate:
    stage: str
    stack: str
    currency: str
    hours_per_month: float
    items: list[LineItem] = field(default_factory=list)
    free: list[tuple[str, str, str]] = field(default_factory=list)  # (urn, type, why)
    unpriced: list[tuple[str, str, str]] = field(default_factory=list)  # (urn, type, reason)
    levers: list[Lever] = field(default_factory=list)
    assumptions: Assumptions = field(default_factory=Assumptions)
    usage: list[UsageCharge] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(i.monthly for i in self.items)

    @property
    def total_max(self) -> float:
        return sum(i.monthly if i.monthly_max is None else i.monthly_max for i in self.items)


class _Unpriced(Exception):
    pass


@lru_cache(maxsize=1)
def load_snapshot(path: str | None = None) -> dict[str, Any]:
    """The price snapshot document (cached)."""
    p = Path(path) if path else SNAPSHOT_PATH
    doc: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return doc


class _Pricer:
    def __init__(self, snapshot: dict[str, Any], assumptions: Assumptions) -> None:
        self.prices: dict[str, dict[str, Any]] = snapshot["prices"]
        self.machines: dict[str, dict[str, Any]] = snapshot["machine_types"]
        self.snapshot_aws_types: dict[str, dict[str, Any]] = snapshot.get("aws_instance_types", {})
        self.a = assumptions

    def price(self, key: str) -> float:
        entry = self.prices.get(key)
        if entry is None:
            raise _Unpriced(f"no price for {key!r} in the snapshot")
        return float(entry["price"])

    def machine_hourly(self, machine_type: str, region: str, model: str) -> tuple[float, str]:
        """(USD/hour, price key summary) of a machine type incl. bundled GPUs."""
        shape = self.machines.get(machine_type)
        if shape is None:
            raise _Unpriced(f"unknown machine type {machine_type!r}")
        family = machine_type.split("-", 1)[0]
        model = "SPOT" if model == "SPOT" else "STANDARD"
        hourly = shape["vcpus"] * self.price(f"{region}/compute/{family}/vcpu/{model}")
        hourly += shape["memory_gb"] * self.price(f"{region}/compute/{family}/ram/{model}")
        key = f"{region}/compute/{family}/*/{model}"
        if shape.get("gpus"):
            hourly += shape["gpus"] * self.price(f"{region}/gpu/{shape['gpu']}/{model}")
            key += f" + {region}/gpu/{shape['gpu']}/{model}"
        return hourly, key

    def extra_gpus_hourly(self, machine_type: str, accelerators: list[Any], region: str,
                          model: str) -> float:
        """GPUs attached on top of a machine type that does not bundle them (e.g. N1 + T4)."""
        shape = self.machines.get(machine_type) or {}
        if shape.get("gpus"):
            return 0.0  # accelerator-optimized: guestAccelerators describe the bundled GPUs
        model = "SPOT" if model == "SPOT" else "STANDARD"
        return sum(int(a.get("count", 1)) * self.price(f"{region}/gpu/{a.get('type')}/{model}")
                   for a in accelerators or [])

    def disk_monthly(self, disk_type: str, size_gb: float, region: str) -> tuple[float, str]:
        key = f"{region}/disk/{disk_type}"
        return size_gb * self.price(key), key


def _region_of(inputs: dict[str, Any], default: str | None) -> str | None:
    if inputs.get("region"):
        return str(inputs["region"])
    zone = inputs.get("zone")
    if zone:
        return str(zone).rsplit("-", 1)[0]
    return default


def _model(inputs: dict[str, Any]) -> str:
    sched = inputs.get("scheduling") or {}
    if sched.get("provisioningModel") == "SPOT" or sched.get("preemptible"):
        return "SPOT"
    return "STANDARD"


def _has_external_ip(inputs: dict[str, Any]) -> bool:
    return any(ni.get("accessConfigs") for ni in inputs.get("networkInterfaces") or [])


def _is_db(r: RecordedResource) -> bool:
    name = str(r.inputs.get("name", r.name))
    tags = [str(t) for t in r.inputs.get("tags") or []]
    return bool(re.search(r"(^|-)db($|-)", name)) or any(t.endswith("-db") for t in tags)


def _smaller(machine_type: str, machines: dict[str, Any]) -> str | None:
    m = re.fullmatch(r"([a-z0-9]+-[a-z]+)-(\d+)", machine_type)
    if not m:
        return None
    prefix, n = m.group(1), int(m.group(2))
    sizes = sorted(int(k.rsplit("-", 1)[1]) for k in machines if re.fullmatch(rf"{prefix}-\d+", k))
    smaller = [s for s in sizes if s < n]
    return f"{prefix}-{smaller[-1]}" if smaller else None


def _aws_model(inputs: dict[str, Any]) -> str:
    market = (inputs.get("instanceMarketOptions") or {}).get("marketType")
    return "SPOT" if str(market).lower() == "spot" else "STANDARD"


class _AwsPricer:
    """Line items of the AWS resources of one plan (region: the resource's, else the provider's)."""

    def __init__(self, pr: _Pricer, est: Estimate, resources: list[RecordedResource]) -> None:
        self.pr, self.est, self.h, self.a = pr, est, est.hours_per_month, est.assumptions
        self.resources = resources
        self.by_urn = {r.urn: r for r in resources}
        self.default_region = next((str(r.inputs["region"]) for r in resources
                                    if r.type == AWS_PROVIDER and r.inputs.get("region")), None)

    def region(self, r: RecordedResource) -> str:
        region = r.inputs.get("region") or self.default_region
        if not region:
            raise _Unpriced("no AWS region (neither the resource nor its provider sets one)")
        return str(region)

    def add(self, r: RecordedResource, what: str, qty: float, unit: str, key: str,
            qty_max: float | None = None) -> None:
        unit_price = self.pr.price(key)
        self.est.items.append(LineItem(r.urn, r.type, what, qty, unit, unit_price, qty * unit_price, key,
                                       None if qty_max is None else qty_max * unit_price))

    def usage(self, r: RecordedResource, what: str, unit: str, key: str) -> None:
        self.est.usage.append(UsageCharge(r.urn, r.type, what, unit, self.pr.price(key), key))

    def volume_claims(self, r: RecordedResource) -> None:
        """A StatefulSet's claim templates: the EBS gp3 volumes the CSI driver creates, per replica.

        The stack's StorageClasses are gp3 (stage v4-platform); the region is the aws provider's.
        """
        spec = r.inputs.get("spec") or {}
        claims = spec.get("volumeClaimTemplates") or []
        if not claims:
            self.est.free.append((r.urn, r.type, "in-cluster object: runs on the v4 cluster's nodes"))
            return
        replicas = int(spec.get("replicas", 1))
        region = self.region(r)
        for claim in claims:
            size_text = str(((claim.get("spec") or {}).get("resources") or {}).get("requests", {})
                            .get("storage", ""))
            if not size_text.endswith(("Gi", "Ti")) or not size_text[:-2].isdigit():
                raise _Unpriced(f"volume claim size {size_text!r} is not in Gi/Ti")
            gib = int(size_text[:-2]) * (1024 if size_text.endswith("Ti") else 1)
            name = (claim.get("metadata") or {}).get("name", "?")
            self.add(r, f"{replicas} x EBS gp3 {gib:g} GiB (claim {name})", replicas * gib, "GB-month",
                     f"{region}/ebs/gp3")

    def instance_key(self, region: str, instance_type: str, model: str) -> str:
        key = f"{region}/ec2/{instance_type}/{model}"
        if key not in self.pr.prices:
            raise _Unpriced(f"no {model} price for instance type {instance_type!r} in {region}")
        return key

    def source(self, r: RecordedResource, prop: str, type_: str) -> RecordedResource | None:
        """The `type_` resource input `prop` of `r` came from (recorded property dependency)."""
        for urn in r.property_dependencies.get(prop, []):
            found = self.by_urn.get(urn)
            if found is not None and found.type == type_:
                return found
        return None

    def volumes(self, mappings: list[dict[str, Any]]) -> list[tuple[str, float]]:
        """(device, GiB) of the gp3 volumes; anything the snapshot cannot price is an error."""
        out = []
        for m in mappings:
            ebs = m.get("ebs") if "ebs" in m else m
            if not isinstance(ebs, dict) or m.get("noDevice") or m.get("virtualName"):
                continue
            size, vtype = ebs.get("volumeSize"), str(ebs.get("volumeType") or "")
            if not size:
                raise _Unpriced(f"volume {m.get('deviceName', '?')} has no size (the AMI decides)")
            if vtype != "gp3":
                device = m.get("deviceName", "?")
                raise _Unpriced(f"volume type {vtype or 'unset'!r} of {device} is not priced")
            out.append((str(m.get("deviceName") or "root"), float(size)))
        return out

    def instance(self, r: RecordedResource) -> None:
        inp, region = r.inputs, self.region(r)
        lt = self.launch_template(r) if inp.get("launchTemplate") else None
        t = lt.inputs if lt is not None else {}
        it = str(inp.get("instanceType") or t.get("instanceType"))
        model = _aws_model(inp if "instanceMarketOptions" in inp or not t else t)
        if inp.get("rootBlockDevice") is None and t.get("blockDeviceMappings"):
            # launched from a template that maps the root volume (and any others)
            disks = self.volumes([*t["blockDeviceMappings"], *(inp.get("ebsBlockDevices") or [])])
        else:
            disks = self.volumes([{"deviceName": "root", **(inp.get("rootBlockDevice") or {})},
                                  *(inp.get("ebsBlockDevices") or [])])
        self.add(r, f"{it} ({model})", self.h, "hour", self.instance_key(region, it, model))
        for device, size in disks:
            self.add(r, f"EBS gp3 {size:g} GiB ({device})", size, "GB-month", f"{region}/ebs/gp3")

    def launch_template(self, group: RecordedResource) -> RecordedResource | None:
        lt = self.source(group, "launchTemplate", AWS_LAUNCH_TEMPLATE)
        if lt is None:
            spec = group.inputs.get("launchTemplate") or {}
            # no dependency recorded: match the id the offline mocks give, or the template's name
            lt = next((t for t in self.resources if t.type == AWS_LAUNCH_TEMPLATE and (
                spec.get("id") in (f"{t.name}-id", t.id)
                or (spec.get("name") and spec.get("name") == t.inputs.get("name")))), None)
        return lt

    def group(self, r: RecordedResource) -> None:
        inp, region = r.inputs, self.region(r)
        lt = self.launch_template(r)
        if lt is None:
            raise _Unpriced("cannot find the group's launch template")
        t = lt.inputs
        lo = float(inp.get("desiredCapacity") or inp.get("minSize") or 0)
        hi = float(inp.get("maxSize") or lo)
        it, model = str(t.get("instanceType")), _aws_model(t)
        disks = self.volumes(t.get("blockDeviceMappings") or [])
        if not disks:
            raise _Unpriced("the launch template maps no volume (the AMI decides its size)")
        key = self.instance_key(region, it, model)
        self.add(r, f"{lo:g}-{hi:g} x {it} ({model}), priced at desired", lo * self.h, "instance-hour", key,
                 hi * self.h)
        for device, size in disks:
            self.add(r, f"{lo:g}-{hi:g} x EBS gp3 {size:g} GiB ({device})", lo * size, "GB-month",
                     f"{region}/ebs/gp3", hi * size)

    def db(self, r: RecordedResource) -> None:
        inp, region = r.inputs, self.region(r)
        engine, cls = str(inp.get("engine") or "postgres"), str(inp.get("instanceClass"))
        if engine != "postgres":
            raise _Unpriced(f"engine {engine!r} is not priced (PostgreSQL only)")
        key = f"{region}/rds/postgres/{cls}"
        if key not in self.pr.prices:
            raise _Unpriced(f"no price for DB instance class {cls!r} in {region}")
        if str(inp.get("storageType") or "gp2") != "gp3":
            raise _Unpriced(f"storage type {inp.get('storageType') or 'gp2 (default)'!r} is not priced")
        copies = 2 if inp.get("multiAz") is True else 1
        az = "Multi-AZ (2 x Single-AZ)" if copies == 2 else "Single-AZ"
        size = float(inp.get("allocatedStorage") or 0)
        self.add(r, f"RDS PostgreSQL {cls} {az}", copies * self.h, "instance-hour", key)
        self.add(r, f"RDS gp3 {size:g} GB {az}", copies * size, "GB-month", f"{region}/rds/gp3")
        self.usage(r, "RDS backup storage beyond the provisioned size", "GB-month", f"{region}/rds/backup")

    def other(self, r: RecordedResource) -> None:
        inp, typ = r.inputs, r.type
        if typ == AWS_NAT:
            region = self.region(r)
            self.add(r, "NAT gateway", self.h, "hour", f"{region}/nat/hour")
            self.usage(r, "NAT gateway data processing", "GB", f"{region}/nat/gb")
        elif typ == "aws:ec2/vpnConnection:VpnConnection":
            region = self.region(r)
            self.add(r, "Site-to-Site VPN connection (2 tunnels)", self.h, "connection-hour",
                     f"{region}/vpn/connection-hour")
            if inp.get("transitGatewayId"):
                self.add(r, "transit gateway VPN attachment", self.h, "attachment-hour",
                         f"{region}/tgw/attachment-hour")
                self.usage(r, "transit gateway data processing", "GB", f"{region}/tgw/gb")
        elif typ == "aws:ec2transitgateway/vpcAttachment:VpcAttachment":
            region = self.region(r)
            self.add(r, "transit gateway VPC attachment", self.h, "attachment-hour",
                     f"{region}/tgw/attachment-hour")
            self.usage(r, "transit gateway data processing", "GB", f"{region}/tgw/gb")
        elif typ == "aws:ec2/eip:Eip":
            self.add(r, "public IPv4 address (Elastic IP)", self.h, "hour",
                     f"{self.region(r)}/ip/public-ipv4")
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            region, kind = self.region(r), str(inp.get("loadBalancerType") or "application")
            if kind != "network":
                raise _Unpriced(f"{kind} load balancers are not priced (network only)")
            self.add(r, "Network Load Balancer", self.h, "hour", f"{region}/nlb/hour")
            if inp.get("internal") is not True:
                azs = len(inp.get("subnets") or inp.get("subnetMappings") or [])
                self.add(r, f"public IPv4 addresses of an internet-facing NLB ({azs} AZ)", azs * self.h,
                         "hour", f"{region}/ip/public-ipv4")
            self.usage(r, "NLB capacity units (NLCU)", "NLCU-hour", f"{region}/nlb/lcu")
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            region = self.region(r)
            if str(inp.get("vpcEndpointType") or "Gateway") == "Gateway":
                self.est.free.append((r.urn, typ, "gateway endpoints (S3, DynamoDB) are free"))
                return
            if str(inp.get("vpcEndpointType")) != "Interface":
                raise _Unpriced(f"{inp.get('vpcEndpointType')} endpoints are not priced")
            azs = len(inp.get("subnetIds") or [])
            name = str(inp.get("serviceName", "")).rsplit(".", 1)[-1]
            self.add(r, f"interface endpoint {name} in {azs} AZ", azs * self.h, "AZ-hour",
                     f"{region}/vpce/interface/hour")
            self.usage(r, "interface endpoint data processing", "GB", f"{region}/vpce/interface/gb")
        elif typ == "aws:secretsmanager/secret:Secret":
            self.add(r, "Secrets Manager secret", 1, "secret-month",
                     f"{self.region(r)}/secretsmanager/secret")
        elif typ == "aws:kms/key:Key":
            self.add(r, "KMS customer managed key", 1, "key-month", f"{self.region(r)}/kms/key")
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            key = f"{self.region(r)}/logs/ingest"
            self.add(r, f"CloudWatch Logs ingestion, {self.a.log_ingest_gb:g} GB assumed (usage-based)",
                     self.a.log_ingest_gb, "GB", key)
            self.usage(r, "CloudWatch Logs ingestion", "GB", key)
        elif typ == "aws:s3/bucket:Bucket":
            self.add(r, f"S3 Standard storage, {self.a.bucket_gb:g} GB assumed (usage-based)",
                     self.a.bucket_gb, "GB-month", f"{self.region(r)}/s3/standard")
        elif typ == "aws:cloudfront/distribution:Distribution":
            key = "global/cloudfront/data-out"
            self.add(r, f"CloudFront transfer out, {self.a.cloudfront_gb:g} GB assumed (usage-based)",
                     self.a.cloudfront_gb, "GB", key)
            self.usage(r, "CloudFront data transfer out (requests extra)", "GB", key)
        else:
            raise _Unpriced(f"no pricing rule for resource type {typ}")

    def price(self, r: RecordedResource) -> None:
        if r.type == AWS_INSTANCE:
            self.instance(r)
        elif r.type == AWS_ASG:
            self.group(r)
        elif r.type == AWS_DB:
            self.db(r)
        else:
            self.other(r)

    def levers(self) -> list[Lever]:
        h, out = self.h, []
        unpriced = {u[0] for u in self.est.unpriced}
        priced = [r for r in self.resources if r.custom and r.urn not in unpriced]
        nats = [r for r in priced if r.type == AWS_NAT]
        if nats:
            region = self.region(nats[0])
            per_nat = self.pr.price(f"{region}/nat/hour") + (
                self.pr.price(f"{region}/ip/public-ipv4") if nats[0].inputs.get("allocationId") else 0.0)
            azs = {str(s.inputs["availabilityZone"]) for s in self.resources
                   if s.type == "aws:ec2/subnet:Subnet" and s.inputs.get("availabilityZone")}
            if len(nats) > 1:
                out.append(Lever("single NAT gateway", nats[0].urn,
                                 f"{len(nats)} -> 1 NAT gateway (an AZ outage then cuts every AZ's egress; "
                                 "cross-AZ traffic is charged)", (len(nats) - 1) * per_nat * h))
            elif len(azs) > 1:
                out.append(Lever("single NAT gateway", nats[0].urn,
                                 f"one NAT gateway already serves {len(azs)} AZs", 0.0, applied=True))
        for db in (r for r in priced if r.type == AWS_DB):
            region, cls = self.region(db), str(db.inputs.get("instanceClass"))
            prefix = f"{region}/rds/postgres/"
            classes = {k.removeprefix(prefix): float(v["price"]) for k, v in self.pr.prices.items()
                       if k.startswith(prefix)}
            cheaper = sorted((p, c) for c, p in classes.items() if p < classes.get(cls, 0.0))
            if cheaper:
                price, smaller = cheaper[-1]
                copies = 2 if db.inputs.get("multiAz") is True else 1
                out.append(Lever("smaller DB class", db.urn, f"{cls} -> {smaller}",
                                 (classes[cls] - price) * copies * h))
        for r in priced:
            count, inp = 1.0, r.inputs
            if r.type == AWS_ASG:
                lt = self.launch_template(r)
                if lt is None:
                    continue
                count, inp = float(r.inputs.get("desiredCapacity") or r.inputs.get("minSize") or 0), lt.inputs
            elif r.type != AWS_INSTANCE:
                continue
            it = str(inp.get("instanceType"))
            shape = self.pr.snapshot_aws_types.get(it) or {}
            spot_key = f"{self.region(r)}/ec2/{it}/SPOT"
            if not shape.get("gpus") or spot_key not in self.pr.prices:
                continue
            od = self.pr.price(f"{self.region(r)}/ec2/{it}/STANDARD")
            sp = self.pr.price(spot_key)
            if _aws_model(inp) == "SPOT":
                out.append(Lever("spot GPU", r.urn, f"{count:g} x {it} already run as Spot (saves "
                                 f"{(od - sp) * count * h:.2f}/month against On-Demand)", 0.0, applied=True))
            else:
                out.append(Lever("spot GPU", r.urn, f"run {count:g} x {it} as Spot: {od * count * h:.2f} "
                                 f"-> {sp * count * h:.2f} per month (can be interrupted with 2 minutes' "
                                 "notice; Spot prices vary)", (od - sp) * count * h))
        return out


def estimate(plan: Any, *, assumptions: Assumptions | None = None,
             snapshot: dict[str, Any] | None = None) -> Estimate:
    """Price every resource of `plan` (a `looper_infra.engine.plan.Plan`)."""
    a = assumptions or Assumptions()
    snap = snapshot or load_snapshot()
    pr = _Pricer(snap, a)
    h = a.hours_per_month
    est = Estimate(stage=getattr(plan, "stage", "?"), stack=getattr(plan, "stack", "?"),
                   currency=str(snap.get("currency", "USD")), hours_per_month=h, assumptions=a)
    resources: list[RecordedResource] = list(plan.resources)

    provider_region: str | None = None
    for r in resources:
        if r.type == "pulumi:providers:gcp" and r.inputs.get("region"):
            provider_region = str(r.inputs["region"])

    by_name: dict[tuple[str, str], RecordedResource] = {}
    for r in resources:
        if r.inputs.get("name"):
            by_name[(r.type, str(r.inputs["name"]))] = r

    instances = [r for r in resources if r.type == "gcp:compute/instance:Instance"]
    aws = _AwsPricer(pr, est, resources)
    nat_vms: dict[str, float] = {}  # region -> VMs without external IPs (min)
    nat_vms_max: dict[str, float] = {}

    def add(r: RecordedResource, what: str, qty: float, unit: str, unit_price: float, key: str,
            monthly_max: float | None = None) -> None:
        est.items.append(LineItem(r.urn, r.type, what, qty, unit, unit_price, qty * unit_price, key,
                                  monthly_max))

    def price_instance(r: RecordedResource) -> None:
        inp = r.inputs
        region = _region_of(inp, provider_region)
        if region is None:
            raise _Unpriced("no region or zone")
        mt, model = str(inp.get("machineType")), _model(inp)
        hourly, key = pr.machine_hourly(mt, region, model)
        hourly += pr.extra_gpus_hourly(mt, inp.get("guestAccelerators") or [], region, model)
        params = (inp.get("bootDisk") or {}).get("initializeParams") or {}
        disk_cost, disk_key = pr.disk_monthly(str(params.get("type", "pd-standard")),
                                              float(params.get("size", 10)), region)
        add(r, f"{mt} ({model})", h, "hour", hourly, key)
        add(r, f"boot disk {params.get('size', 10)} GiB {params.get('type', 'pd-standard')}",
            float(params.get("size", 10)), "GiB-month", disk_cost / float(params.get("size", 10)), disk_key)
        if not _has_external_ip(inp):
            nat_vms[region] = nat_vms.get(region, 0) + 1
            nat_vms_max[region] = nat_vms_max.get(region, 0) + 1

    def price_group(r: RecordedResource) -> None:
        inp = r.inputs
        region = _region_of(inp, provider_region)
        if region is None:
            raise _Unpriced("no region")
        tmpl_url = str(((inp.get("versions") or [{}])[0]).get("instanceTemplate", ""))
        tmpl_name = tmpl_url.rsplit("/", 1)[-1]
        templates = [t for t in resources if t.type == "gcp:compute/instanceTemplate:InstanceTemplate"
                     and (t.inputs.get("name") == tmpl_name
                          or (t.inputs.get("namePrefix") and tmpl_name.startswith(t.inputs["namePrefix"])))]
        if len(templates) != 1:
            raise _Unpriced(f"cannot find the instance template {tmpl_name!r}")
        t = templates[0].inputs
        lo = hi = float(inp.get("targetSize") or 0)
        scalers = ("gcp:compute/regionAutoscaler:RegionAutoscaler", "gcp:compute/autoscaler:Autoscaler")
        suffix = f"/instanceGroupManagers/{inp.get('name')}"
        for s in resources:
            if s.type in scalers and str(s.inputs.get("target", "")).endswith(suffix):
                pol = s.inputs.get("autoscalingPolicy") or {}
                lo, hi = float(pol.get("minReplicas", 0)), float(pol.get("maxReplicas", 0))
        mt, model = str(t.get("machineType")), _model(t)
        hourly, key = pr.machine_hourly(mt, region, model)
        hourly += pr.extra_gpus_hourly(mt, t.get("guestAccelerators") or [], region, model)
        add(r, f"{lo:g}-{hi:g} x {mt} ({model}), priced at min", lo * h, "instance-hour", hourly, key,
            monthly_max=hi * h * hourly)
        for d in t.get("disks") or []:
            size = float(d.get("diskSizeGb", 10))
            dtype = str(d.get("diskType", "pd-standard"))
            _, dkey = pr.disk_monthly(dtype, size, region)
            unit = pr.price(dkey)
            add(r, f"{lo:g}-{hi:g} x disk {size:g} GiB {dtype}", lo * size, "GiB-month", unit, dkey,
                monthly_max=hi * size * unit)
        if not _has_external_ip(t):
            nat_vms[region] = nat_vms.get(region, 0) + lo
            nat_vms_max[region] = nat_vms_max.get(region, 0) + hi

    fwd_rules = 0

    def price_other(r: RecordedResource) -> None:
        nonlocal fwd_rules
        inp, typ = r.inputs, r.type
        region = _region_of(inp, provider_region)
        if typ == "gcp:compute/disk:Disk":
            if region is None:
                raise _Unpriced("no region or zone")
            size = float(inp.get("size", 10))
            _, key = pr.disk_monthly(str(inp.get("type", "pd-standard")), size, region)
            add(r, f"disk {size:g} GiB {inp.get('type', 'pd-standard')}", size, "GiB-month",
                pr.price(key), key)
        elif typ == "gcp:compute/address:Address":
            if region is None:
                raise _Unpriced("no region")
            if inp.get("addressType") == "INTERNAL":
                key = f"{region}/ip/internal"
                add(r, "internal static IP", h, "hour", pr.price(key), key)
                return
            users = [i for i in instances if r.urn in i.dependencies and _has_external_ip(i.inputs)]
            if not users:
                key, what = f"{region}/ip/external/idle", "external static IP (not attached to a VM)"
            elif _model(users[0].inputs) == "SPOT":
                key, what = f"{region}/ip/external/in-use-spot-vm", "external static IP on a Spot VM"
            else:
                key, what = f"{region}/ip/external/in-use-standard-vm", "external static IP on a VM"
            add(r, what, h, "hour", pr.price(key), key)
        elif typ == "gcp:compute/globalAddress:GlobalAddress":
            name = str(inp.get("name", ""))
            used = any(f.type == "gcp:compute/globalForwardingRule:GlobalForwardingRule"
                       and str(f.inputs.get("ipAddress", "")).endswith(f"/{name}") for f in resources)
            key = "global/ip/external/forwarding-rule" if used else "global/ip/external/idle"
            add(r, "global static IP" + (" on forwarding rules" if used else " (unused)"), h, "hour",
                pr.price(key), key)
        elif typ == "gcp:compute/globalForwardingRule:GlobalForwardingRule":
            fwd_rules += 1
            if fwd_rules == 1:
                key = "global/lb/forwarding-rule/first-5"
                add(r, "forwarding rules 1-5 (billed together)", h, "hour", pr.price(key), key)
            elif fwd_rules <= 5:
                key = "global/lb/forwarding-rule/first-5"
                add(r, f"forwarding rule #{fwd_rules} (within the first-5 charge)", h, "hour", 0.0, key)
            else:
                key = "global/lb/forwarding-rule/additional"
                add(r, f"forwarding rule #{fwd_rules}", h, "hour", pr.price(key), key)
        elif typ == "gcp:compute/vPNTunnel:VPNTunnel":
            region = inp.get("region") or region
            if region is None:
                raise _Unpriced("no region")
            key = f"{region}/vpn/tunnel-hour"
            add(r, "Cloud VPN tunnel (HA VPN)", h, "tunnel-hour", pr.price(key), key)
        elif typ == "gcp:compute/routerNat:RouterNat":
            if region is None:
                raise _Unpriced("no region")
            per_vm, cap = pr.price(f"{region}/nat/per-vm"), pr.price(f"{region}/nat/cap")
            lo, hi = nat_vms.get(region, 0), nat_vms_max.get(region, 0)
            hourly_lo, hourly_hi = min(lo * per_vm, cap), min(hi * per_vm, cap)
            est.items.append(LineItem(
                r.urn, typ, f"Cloud NAT gateway, {lo:g}-{hi:g} VMs (data processing not included)",
                h, "hour", hourly_lo, hourly_lo * h, f"{region}/nat/per-vm", hourly_hi * h))
        elif typ == "gcp:storage/bucket:Bucket":
            loc = str(inp.get("location", "")).lower()
            cls = str(inp.get("storageClass", "STANDARD")).lower()
            key = f"{loc}/gcs/{cls}"
            add(r, f"GCS {cls} storage, {a.bucket_gb:g} GiB assumed (usage-based)", a.bucket_gb,
                "GiB-month", pr.price(key), key)
        elif typ == "gcp:secretmanager/secretVersion:SecretVersion":
            key = "global/secretmanager/active-version"
            add(r, "Secret Manager active version", 1, "version-month", pr.price(key), key)
        elif typ == "gcp:compute/resourcePolicy:ResourcePolicy":
            if not inp.get("snapshotSchedulePolicy"):
                est.free.append((r.urn, typ, "resource policies without snapshots are free"))
                return
            if region is None:
                raise _Unpriced("no region")
            name = str(inp.get("name", ""))
            size = 0.0
            for att in resources:
                if (att.type == "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment"
                        and att.inputs.get("name") == name):
                    disk = by_name.get(("gcp:compute/disk:Disk", str(att.inputs.get("disk"))))
                    size += float(disk.inputs.get("size", 0)) if disk else 0.0
            qty = size * a.snapshot_fraction
            key = f"{region}/snapshot/standard"
            add(r, f"snapshot storage ~{qty:g} GiB (one full copy of the scheduled disks)", qty,
                "GiB-month", pr.price(key), key)
        elif typ == "gcp:compute/securityPolicy:SecurityPolicy":
            add(r, "Cloud Armor policy", 1, "policy-month", pr.price("global/armor/policy"),
                "global/armor/policy")
            rules = len(inp.get("rules") or [])
            add(r, f"Cloud Armor rules ({rules})", rules, "rule-month", pr.price("global/armor/rule"),
                "global/armor/rule")
        elif typ == "gcp:monitoring/alertPolicy:AlertPolicy":
            n = len(inp.get("conditions") or [])
            key = "global/monitoring/alert-condition"
            add(r, f"alerting conditions ({n})", n, "condition-month", pr.price(key), key)
        else:
            raise _Unpriced(f"no pricing rule for resource type {typ}")

    # Instances and groups first: NAT needs their VM counts.  (URNs are not unique in a
    # plan -- two components of one type have same-named children -- so go by position.)
    first = ("gcp:compute/instance:Instance",
             "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager")
    ordered = sorted(range(len(resources)), key=lambda n: (resources[n].type not in first,
                                                           resources[n].type != first[0], n))
    for r in (resources[n] for n in ordered):
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue  # component resources and providers are not billed
        mark, usage_mark = len(est.items), len(est.usage)
        try:
            if r.type == "gcp:compute/instance:Instance":
                price_instance(r)
            elif r.type == "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
                price_group(r)
                est.free.append((r.urn, r.type, FREE_TYPES[r.type]))
            elif r.type in FREE_TYPES:
                est.free.append((r.urn, r.type, FREE_TYPES[r.type]))
            elif r.type.startswith("aws:"):
                aws.price(r)
            elif r.type == K8S_STATEFUL_SET:
                aws.volume_claims(r)
            elif r.type.startswith(K8S_PREFIX):
                # Kubernetes objects and Helm releases run on the nodes and volumes stage v4
                # prices; an object costs nothing by itself
                est.free.append((r.urn, r.type, "in-cluster object: runs on the v4 cluster's nodes"))
            else:
                price_other(r)
        except _Unpriced as exc:
            del est.items[mark:]
            del est.usage[usage_mark:]
            est.unpriced.append((r.urn, r.type, str(exc)))

    est.levers = _levers(est, resources, pr, provider_region) + aws.levers()
    return est


def _levers(est: Estimate, resources: list[RecordedResource], pr: _Pricer,
            provider_region: str | None) -> list[Lever]:
    h = est.hours_per_month
    levers: list[Lever] = []
    unpriced = {u[0] for u in est.unpriced}
    for r in resources:
        if r.type != "gcp:compute/instance:Instance" or r.urn in unpriced:
            continue
        inp = r.inputs
        region = _region_of(inp, provider_region) or ""
        mt = str(inp.get("machineType"))
        shape = pr.machines.get(mt) or {}
        has_gpu = bool(shape.get("gpus") or inp.get("guestAccelerators"))
        try:
            if has_gpu:
                od = pr.machine_hourly(mt, region, "STANDARD")[0] + pr.extra_gpus_hourly(
                    mt, inp.get("guestAccelerators") or [], region, "STANDARD")
                sp = pr.machine_hourly(mt, region, "SPOT")[0] + pr.extra_gpus_hourly(
                    mt, inp.get("guestAccelerators") or [], region, "SPOT")
                if _model(inp) == "SPOT":
                    levers.append(Lever("spot GPU", r.urn,
                                        f"{mt} already runs as SPOT (saves {(od - sp) * h:.2f}/month "
                                        "against STANDARD)", 0.0, applied=True))
                else:
                    levers.append(Lever("spot GPU", r.urn,
                                        f"run {mt} as SPOT: {od * h:.2f} -> {sp * h:.2f} per month "
                                        "(preemptible; can be stopped at any time)", (od - sp) * h))
            if _is_db(r):
                smaller = _smaller(mt, pr.machines)
                if smaller:
                    model = _model(inp)
                    now = pr.machine_hourly(mt, region, model)[0]
                    less = pr.machine_hourly(smaller, region, model)[0]
                    levers.append(Lever("smaller DB machine", r.urn,
                                        f"{mt} -> {smaller}", (now - less) * h))
        except _Unpriced:
            continue
    for item in est.items:
        if (item.type == "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
                and item.unit == "instance-hour"):
            group = next(r for r in resources if r.urn == item.urn)
            zones = len(group.inputs.get("distributionPolicyZones") or [])
            replicas = item.quantity / h
            if zones and replicas > zones:
                per_replica = sum(i.monthly for i in est.items if i.urn == item.urn) / replicas
                levers.append(Lever("min replicas at zone count", item.urn,
                                    f"min replicas {replicas:g} -> {zones} (one per zone)",
                                    (replicas - zones) * per_replica))
    return levers


def to_json(est: Estimate) -> str:
    """The estimate as a JSON document (`looper-estimate/1`)."""
    doc = {
        "format": "looper-estimate/1",
        "stage": est.stage,
        "stack": est.stack,
        "currency": est.currency,
        "hours_per_month": est.hours_per_month,
        "total_monthly": round(est.total, 2),
        "total_monthly_max": round(est.total_max, 2),
        "items": [asdict(i) for i in est.items],
        "free": [{"urn": u, "type": t, "why": w} for u, t, w in est.free],
        "unpriced": [{"urn": u, "type": t, "reason": w} for u, t, w in est.unpriced],
        "levers": [asdict(lv) for lv in est.levers],
        "usage": [asdict(u) for u in est.usage],
        "assumptions": asdict(est.assumptions),
    }
    return json.dumps(doc, indent=2)


def format_table(est: Estimate) -> str:
    """A plain-text table of the estimate."""
    rows = [("resource", "what", "quantity", "unit price", "monthly")]
    for i in est.items:
        name = i.urn.rsplit("::", 1)[-1]
        kind = i.type.rsplit(":", 1)[-1]
        monthly = f"{i.monthly:,.2f}"
        if i.monthly_max is not None and abs(i.monthly_max - i.monthly) > 1e-9:
            monthly += f" (max {i.monthly_max:,.2f})"
        rows.append((f"{kind}/{name}", i.what, f"{i.quantity:g} {i.unit}", f"{i.unit_price:.6g}", monthly))
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    lines = ["  ".join(cell.ljust(w) if c < 4 else cell for c, (cell, w) in enumerate(zip(row, widths,
                                                                                         strict=True)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    total = f"TOTAL {est.currency}/month ({est.hours_per_month:g} h): {est.total:,.2f}"
    if abs(est.total_max - est.total) > 1e-9:
        total += f" (at max replicas {est.total_max:,.2f})"
    lines.append(total)
    lines.append(f"free resources: {len(est.free)}")
    if est.unpriced:
        lines.append("UNPRICED (not in the total):")
        lines += [f"  {u}  [{t}]  {why}" for u, t, why in est.unpriced]
    if est.usage:
        lines.append("usage-based, not in the total:")
        lines += [f"  {u.urn.rsplit('::', 1)[-1]}: {u.what} {u.unit_price:.6g}/{u.unit}" for u in est.usage]
    if est.levers:
        lines.append("cost levers:")
        for lv in est.levers:
            state = "already applied" if lv.applied else f"saves {lv.monthly_saving:,.2f}/month"
            lines.append(f"  - {lv.name}: {lv.description} ({state})")
    return "\n".join(lines)
