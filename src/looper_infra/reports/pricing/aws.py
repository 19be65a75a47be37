"""AWS pricers, one per resource type, and the AWS types that cost nothing by themselves.

A resource's region is its own, else the aws provider's. Usage-based charges that come with a
priced resource (NAT and endpoint data processing, NLB capacity units, log ingestion, RDS backup
storage, CloudFront transfer) are listed with their unit price, never added to the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from looper_infra.engine.mocks import RecordedResource
from looper_infra.reports.pricing.model import PlanPricing, Pricer, Unpriced
from looper_infra.reports.pricing.registry import IN_CLUSTER, REGISTRY, prices

PROVIDER = "pulumi:providers:aws"
INSTANCE = "aws:ec2/instance:Instance"
ASG = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NAT = "aws:ec2/natGateway:NatGateway"
DB = "aws:rds/instance:Instance"
SUBNET = "aws:ec2/subnet:Subnet"
K8S_STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
IAM_IS_FREE = "IAM is free"

# Resource types with no charge of their own (what they carry is priced on another line).
FREE_TYPES: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "VPCs are free",
    SUBNET: "subnets are free",
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
    LAUNCH_TEMPLATE: "templates are free; instances priced on the group line",
    "aws:cloudfront/cachePolicy:CachePolicy": "cache policies are free (requests are usage)",
    "aws:iam/role:Role": IAM_IS_FREE,
    "aws:iam/rolePolicy:RolePolicy": IAM_IS_FREE,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": IAM_IS_FREE,
    "aws:iam/instanceProfile:InstanceProfile": IAM_IS_FREE,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": IAM_IS_FREE,
    "aws:iam/policy:Policy": IAM_IS_FREE,
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
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration":
        "bucket settings are free (locked versions are storage)",
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
    "aws:autoscaling/lifecycleHook:LifecycleHook": "lifecycle hooks are free",
    "aws:cloudwatch/eventRule:EventRule": "rules matching AWS service events on the default bus are free",
    "aws:cloudwatch/eventTarget:EventTarget": "targets are free (AWS service events are delivered free)",
    "aws:sqs/queue:Queue": "SQS bills requests (usage; the first million a month are free): node events "
                           "are a few a day",
    "aws:sqs/queuePolicy:QueuePolicy": "queue settings are free",
}
REGISTRY.add_free(FREE_TYPES)


def market(inputs: dict[str, Any]) -> str:
    """SPOT for an instance or launch template on the Spot market, else STANDARD (On-Demand)."""
    options = (inputs.get("instanceMarketOptions") or {}).get("marketType")
    return "SPOT" if str(options).lower() == "spot" else "STANDARD"


def instance_key(pr: Pricer, region: str, instance_type: str, model: str) -> str:
    key = f"{region}/ec2/{instance_type}/{model}"
    if key not in pr.prices:
        raise Unpriced(f"no {model} price for instance type {instance_type!r} in {region}")
    return key


def gp3_volumes(mappings: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(device, GiB) of the gp3 volumes; anything the snapshot cannot price is an error."""
    out = []
    for m in mappings:
        ebs = m.get("ebs") if "ebs" in m else m
        if not isinstance(ebs, dict) or m.get("noDevice") or m.get("virtualName"):
            continue
        size, vtype = ebs.get("volumeSize"), str(ebs.get("volumeType") or "")
        if not size:
            raise Unpriced(f"volume {m.get('deviceName', '?')} has no size (the AMI decides)")
        if vtype != "gp3":
            device = m.get("deviceName", "?")
            raise Unpriced(f"volume type {vtype or 'unset'!r} of {device} is not priced")
        out.append((str(m.get("deviceName") or "root"), float(size)))
    return out


@dataclass
class AwsPlan:
    """The plan as the AWS pricers see it: the provider's region and lookups across resources."""

    resources: list[RecordedResource]
    by_urn: dict[str, RecordedResource]
    default_region: str | None

    @classmethod
    def of(cls, resources: list[RecordedResource]) -> AwsPlan:
        return cls(resources, {r.urn: r for r in resources},
                   next((str(r.inputs["region"]) for r in resources
                         if r.type == PROVIDER and r.inputs.get("region")), None))

    def region(self, r: RecordedResource) -> str:
        region = r.inputs.get("region") or self.default_region
        if not region:
            raise Unpriced("no AWS region (neither the resource nor its provider sets one)")
        return str(region)

    def source(self, r: RecordedResource, prop: str, type_: str) -> RecordedResource | None:
        """The `type_` resource input `prop` of `r` came from (recorded property dependency)."""
        for urn in r.property_dependencies.get(prop, []):
            found = self.by_urn.get(urn)
            if found is not None and found.type == type_:
                return found
        return None

    def launch_template(self, user: RecordedResource) -> RecordedResource | None:
        """The launch template an instance or auto scaling group launches from."""
        lt = self.source(user, "launchTemplate", LAUNCH_TEMPLATE)
        if lt is None:
            spec = user.inputs.get("launchTemplate") or {}
            # no dependency recorded: match the id the offline mocks give, or the template's name
            lt = next((t for t in self.resources if t.type == LAUNCH_TEMPLATE and (
                spec.get("id") in (f"{t.name}-id", t.id)
                or (spec.get("name") and spec.get("name") == t.inputs.get("name")))), None)
        return lt


# --- compute ------------------------------------------------------------------------------------
@prices(INSTANCE)
def instance(pricing: PlanPricing, r: RecordedResource) -> None:
    """An EC2 instance and its gp3 volumes (its own, or those its launch template maps)."""
    aws, inp = pricing.facts(AwsPlan.of), r.inputs
    region = aws.region(r)
    lt = aws.launch_template(r) if inp.get("launchTemplate") else None
    t = lt.inputs if lt is not None else {}
    it = str(inp.get("instanceType") or t.get("instanceType"))
    model = market(inp if "instanceMarketOptions" in inp or not t else t)
    if inp.get("rootBlockDevice") is None and t.get("blockDeviceMappings"):
        # launched from a template that maps the root volume (and any others)
        disks = gp3_volumes([*t["blockDeviceMappings"], *(inp.get("ebsBlockDevices") or [])])
    else:
        disks = gp3_volumes([{"deviceName": "root", **(inp.get("rootBlockDevice") or {})},
                             *(inp.get("ebsBlockDevices") or [])])
    pricing.add_priced(r, f"{it} ({model})", pricing.h, "hour", instance_key(pricing.pr, region, it, model))
    for device, size in disks:
        pricing.add_priced(r, f"EBS gp3 {size:g} GiB ({device})", size, "GB-month", f"{region}/ebs/gp3")


def group_capacity(group: RecordedResource) -> float:
    """The instances a group runs when it is not scaling: desired capacity, else its minimum."""
    return float(group.inputs.get("desiredCapacity") or group.inputs.get("minSize") or 0)


@prices(ASG)
def group(pricing: PlanPricing, r: RecordedResource) -> None:
    """An auto scaling group: its launch template's instance and volumes, at desired and max size."""
    aws, h = pricing.facts(AwsPlan.of), pricing.h
    region = aws.region(r)
    lt = aws.launch_template(r)
    if lt is None:
        raise Unpriced("cannot find the group's launch template")
    t = lt.inputs
    lo = group_capacity(r)
    hi = float(r.inputs.get("maxSize") or lo)
    it, model = str(t.get("instanceType")), market(t)
    disks = gp3_volumes(t.get("blockDeviceMappings") or [])
    if not disks:
        raise Unpriced("the launch template maps no volume (the AMI decides its size)")
    key = instance_key(pricing.pr, region, it, model)
    pricing.add_priced(r, f"{lo:g}-{hi:g} x {it} ({model}), priced at desired", lo * h, "instance-hour", key,
                       hi * h)
    for device, size in disks:
        pricing.add_priced(r, f"{lo:g}-{hi:g} x EBS gp3 {size:g} GiB ({device})", lo * size, "GB-month",
                           f"{region}/ebs/gp3", hi * size)


@prices(K8S_STATEFUL_SET)
def volume_claims(pricing: PlanPricing, r: RecordedResource) -> None:
    """A StatefulSet's claim templates: the EBS gp3 volumes the CSI driver creates, per replica.

    The stack's StorageClasses are gp3 (stage v4-platform); the region is the aws provider's.
    """
    spec = r.inputs.get("spec") or {}
    claims = spec.get("volumeClaimTemplates") or []
    if not claims:
        pricing.free(r, IN_CLUSTER)
        return
    replicas = int(spec.get("replicas", 1))
    region = pricing.facts(AwsPlan.of).region(r)
    for claim in claims:
        size_text = str(((claim.get("spec") or {}).get("resources") or {}).get("requests", {})
                        .get("storage", ""))
        if not size_text.endswith(("Gi", "Ti")) or not size_text[:-2].isdigit():
            raise Unpriced(f"volume claim size {size_text!r} is not in Gi/Ti")
        gib = int(size_text[:-2]) * (1024 if size_text.endswith("Ti") else 1)
        name = (claim.get("metadata") or {}).get("name", "?")
        pricing.add_priced(r, f"{replicas} x EBS gp3 {gib:g} GiB (claim {name})", replicas * gib,
                           "GB-month", f"{region}/ebs/gp3")


# --- database -----------------------------------------------------------------------------------
@prices(DB)
def db(pricing: PlanPricing, r: RecordedResource) -> None:
    """RDS PostgreSQL on gp3 storage; Multi-AZ is two instances and two copies of the storage."""
    inp, region = r.inputs, pricing.facts(AwsPlan.of).region(r)
    engine, cls = str(inp.get("engine") or "postgres"), str(inp.get("instanceClass"))
    if engine != "postgres":
        raise Unpriced(f"engine {engine!r} is not priced (PostgreSQL only)")
    key = f"{region}/rds/postgres/{cls}"
    if key not in pricing.pr.prices:
        raise Unpriced(f"no price for DB instance class {cls!r} in {region}")
    if str(inp.get("storageType") or "gp2") != "gp3":
        raise Unpriced(f"storage type {inp.get('storageType') or 'gp2 (default)'!r} is not priced")
    copies = 2 if inp.get("multiAz") is True else 1
    az = "Multi-AZ (2 x Single-AZ)" if copies == 2 else "Single-AZ"
    size = float(inp.get("allocatedStorage") or 0)
    pricing.add_priced(r, f"RDS PostgreSQL {cls} {az}", copies * pricing.h, "instance-hour", key)
    pricing.add_priced(r, f"RDS gp3 {size:g} GB {az}", copies * size, "GB-month", f"{region}/rds/gp3")
    pricing.usage(r, "RDS backup storage beyond the provisioned size", "GB-month", f"{region}/rds/backup")


# --- networking ---------------------------------------------------------------------------------
@prices(NAT)
def nat_gateway(pricing: PlanPricing, r: RecordedResource) -> None:
    region = pricing.facts(AwsPlan.of).region(r)
    pricing.add_priced(r, "NAT gateway", pricing.h, "hour", f"{region}/nat/hour")
    pricing.usage(r, "NAT gateway data processing", "GB", f"{region}/nat/gb")


@prices("aws:ec2/vpnConnection:VpnConnection")
def vpn_connection(pricing: PlanPricing, r: RecordedResource) -> None:
    """A Site-to-Site VPN connection, plus its transit gateway attachment when it ends on one."""
    region, h = pricing.facts(AwsPlan.of).region(r), pricing.h
    pricing.add_priced(r, "Site-to-Site VPN connection (2 tunnels)", h, "connection-hour",
                       f"{region}/vpn/connection-hour")
    if r.inputs.get("transitGatewayId"):
        pricing.add_priced(r, "transit gateway VPN attachment", h, "attachment-hour",
                           f"{region}/tgw/attachment-hour")
        pricing.usage(r, "transit gateway data processing", "GB", f"{region}/tgw/gb")


@prices("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
def transit_vpc_attachment(pricing: PlanPricing, r: RecordedResource) -> None:
    region = pricing.facts(AwsPlan.of).region(r)
    pricing.add_priced(r, "transit gateway VPC attachment", pricing.h, "attachment-hour",
                       f"{region}/tgw/attachment-hour")
    pricing.usage(r, "transit gateway data processing", "GB", f"{region}/tgw/gb")


@prices("aws:ec2/eip:Eip")
def elastic_ip(pricing: PlanPricing, r: RecordedResource) -> None:
    pricing.add_priced(r, "public IPv4 address (Elastic IP)", pricing.h, "hour",
                       f"{pricing.facts(AwsPlan.of).region(r)}/ip/public-ipv4")


@prices("aws:lb/loadBalancer:LoadBalancer")
def load_balancer(pricing: PlanPricing, r: RecordedResource) -> None:
    """A Network Load Balancer, and the public IPv4 address it holds per AZ when internet-facing."""
    inp, h = r.inputs, pricing.h
    region, kind = pricing.facts(AwsPlan.of).region(r), str(inp.get("loadBalancerType") or "application")
    if kind != "network":
        raise Unpriced(f"{kind} load balancers are not priced (network only)")
    pricing.add_priced(r, "Network Load Balancer", h, "hour", f"{region}/nlb/hour")
    if inp.get("internal") is not True:
        azs = len(inp.get("subnets") or inp.get("subnetMappings") or [])
        pricing.add_priced(r, f"public IPv4 addresses of an internet-facing NLB ({azs} AZ)", azs * h,
                           "hour", f"{region}/ip/public-ipv4")
    pricing.usage(r, "NLB capacity units (NLCU)", "NLCU-hour", f"{region}/nlb/lcu")


@prices("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(pricing: PlanPricing, r: RecordedResource) -> None:
    """Interface endpoints per AZ; gateway endpoints (S3, DynamoDB) are free."""
    inp, region = r.inputs, pricing.facts(AwsPlan.of).region(r)
    if str(inp.get("vpcEndpointType") or "Gateway") == "Gateway":
        pricing.free(r, "gateway endpoints (S3, DynamoDB) are free")
        return
    if str(inp.get("vpcEndpointType")) != "Interface":
        raise Unpriced(f"{inp.get('vpcEndpointType')} endpoints are not priced")
    azs = len(inp.get("subnetIds") or [])
    name = str(inp.get("serviceName", "")).rsplit(".", 1)[-1]
    pricing.add_priced(r, f"interface endpoint {name} in {azs} AZ", azs * pricing.h, "AZ-hour",
                       f"{region}/vpce/interface/hour")
    pricing.usage(r, "interface endpoint data processing", "GB", f"{region}/vpce/interface/gb")


# --- secrets, keys, logs, storage, CDN -----------------------------------------------------------
@prices("aws:secretsmanager/secret:Secret")
def secret(pricing: PlanPricing, r: RecordedResource) -> None:
    pricing.add_priced(r, "Secrets Manager secret", 1, "secret-month",
                       f"{pricing.facts(AwsPlan.of).region(r)}/secretsmanager/secret")


@prices("aws:kms/key:Key")
def kms_key(pricing: PlanPricing, r: RecordedResource) -> None:
    pricing.add_priced(r, "KMS customer managed key", 1, "key-month",
                       f"{pricing.facts(AwsPlan.of).region(r)}/kms/key")


@prices("aws:cloudwatch/logGroup:LogGroup")
def log_group(pricing: PlanPricing, r: RecordedResource) -> None:
    key, gb = f"{pricing.facts(AwsPlan.of).region(r)}/logs/ingest", pricing.assumptions.log_ingest_gb
    pricing.add_priced(r, f"CloudWatch Logs ingestion, {gb:g} GB assumed (usage-based)", gb, "GB", key)
    pricing.usage(r, "CloudWatch Logs ingestion", "GB", key)


@prices("aws:s3/bucket:Bucket")
def bucket(pricing: PlanPricing, r: RecordedResource) -> None:
    gb = pricing.assumptions.bucket_gb
    pricing.add_priced(r, f"S3 Standard storage, {gb:g} GB assumed (usage-based)", gb, "GB-month",
                       f"{pricing.facts(AwsPlan.of).region(r)}/s3/standard")


@prices("aws:cloudfront/distribution:Distribution")
def cloudfront_distribution(pricing: PlanPricing, r: RecordedResource) -> None:
    key, gb = "global/cloudfront/data-out", pricing.assumptions.cloudfront_gb
    pricing.add_priced(r, f"CloudFront transfer out, {gb:g} GB assumed (usage-based)", gb, "GB", key)
    pricing.usage(r, "CloudFront data transfer out (requests extra)", "GB", key)
