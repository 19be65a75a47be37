"""Realistic outputs for the AWS resources of stage v4 (pulumi-aws 7.x type tokens).

IDs, ARNs and DNS names follow the real formats, so program logic that parses
or routes on them runs as it would against AWS:

* IDs are `<prefix>-0` + 16 hex (`vpc-0…`, 17 hex after the dash), derived from
  a hash of the logical name: the same program gives the same plan.
* ARNs are `arn:aws:<service>:<region>:<account>:<resource>` with the region
  from the resource's own `region` input (pulumi-aws 7 has one on most
  resources) or `MockContext.aws_region`, and the account from
  `MockContext.aws_account`. (The region of an explicit provider is not
  visible to a mock: `Mocks.new_resource` is not told the provider.)
* Private addresses come from the subnet the resource sits in, skipping the
  four first and the last address AWS reserves, never twice; public ones from
  an Amazon-owned block. The start point is derived from the logical name, so
  addresses do not depend on the order in which resources register.
* Requests the AWS API rejects raise `ValueError` (a subnet outside its VPC or
  overlapping another, an RDS subnet group in one AZ, a VPN tunnel inside CIDR
  AWS refuses or reuses, a pre-shared key it refuses, a customer gateway with
  the ASN of the AWS side), so the offline plan fails where `pulumi up` would.

Pulumi auto-names (`<logical name>-<7 hex>`) with a stable hash instead of its
random suffix; `namePrefix` gets 26 digits as the provider's unique-id does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
import threading
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any, overload

from looper_infra.engine.fakes._inputs import fail, int_input
from looper_infra.engine.mocks import Fake, MockContext

# -- tables of real values -----------------------------------------------------------------------

#: Route 53 hosted zone of Network / Application Load Balancers per region
#: (terraform-provider-aws internal/service/elbv2 hosted zone maps, from AWS's "ELB endpoints" page).
NLB_ZONE_IDS: dict[str, str] = {
    "af-south-1": "Z203XCE67M25HM", "ap-east-1": "Z12Y7K3UBGUAD1", "ap-northeast-1": "Z31USIVHYNEOWT",
    "ap-northeast-2": "ZIBE1TIR4HY56", "ap-northeast-3": "Z1GWIQ4HH19I5X", "ap-south-1": "ZVDDRBQ08TROA",
    "ap-southeast-1": "ZKVM4W9LS7TM", "ap-southeast-2": "ZCT6FZBF4DROD", "ca-central-1": "Z2EPGBW3API2WT",
    "eu-central-1": "Z3F0SRJ5LGBH90", "eu-north-1": "Z1UDT6IFJ4EJM", "eu-south-1": "Z23146JA1KNAFP",
    "eu-west-1": "Z2IFOLAFXWLO4F", "eu-west-2": "ZD4D7Y8KGAS4G", "eu-west-3": "Z1CMS0P5QUZ6D5",
    "me-south-1": "Z3QSRYVP46NYYV", "sa-east-1": "ZTK26PT1VY4CU", "us-east-1": "Z26RNL4JYFTOTI",
    "us-east-2": "ZLMOA37VPKANP", "us-west-1": "Z24FKFUX50B4VW", "us-west-2": "Z18D5FSROUN65G",
}
ALB_ZONE_IDS: dict[str, str] = {
    "af-south-1": "Z268VQBMOI5EKX", "ap-east-1": "Z3DQVH9N71FHZ0", "ap-northeast-1": "Z14GRHDCWA56QT",
    "ap-northeast-2": "ZWKZPGTI48KDX", "ap-northeast-3": "Z5LXEXXYW11ES", "ap-south-1": "ZP97RAFLXTNZK",
    "ap-southeast-1": "Z1LMS91P8CMLE5", "ap-southeast-2": "Z1GM3OXH4ZPM65", "ca-central-1": "ZQSVJUPU6J1EY",
    "eu-central-1": "Z215JYRZR1TBD5", "eu-north-1": "Z23TAZ6LKFMNIO", "eu-south-1": "Z3ULH7SSC9OV64",
    "eu-west-1": "Z32O12XQLNTSW2", "eu-west-2": "ZHURV8PSTC4K8", "eu-west-3": "Z3Q77PNBQS71R4",
    "me-south-1": "ZS929ML54UICD", "sa-east-1": "Z2P70J7HTTTPLU", "us-east-1": "Z35SXDOTRQ7X7K",
    "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0", "us-west-2": "Z1H1FL5HABSF5",
}
#: Route 53 hosted zone of S3 per region (terraform-provider-aws internal/service/s3 hostedZoneIDsMap).
S3_ZONE_IDS: dict[str, str] = {
    "af-south-1": "Z83WF9RJE8B12", "ap-east-1": "ZNB98KWMFR0R6", "ap-northeast-1": "Z2M4EHUR26P7ZW",
    "ap-northeast-2": "Z3W03O7B5YMIYP", "ap-northeast-3": "Z2YQB5RD63NC85", "ap-south-1": "Z11RGJOFQNVJUP",
    "ap-southeast-1": "Z3O0J2DXBE1FTB", "ap-southeast-2": "Z1WCIGYICN2BYD", "ca-central-1": "Z1QDHH18159H29",
    "eu-central-1": "Z21DNDUVLTQW6Q", "eu-north-1": "Z3BAZG2TWCNX0D", "eu-south-1": "Z30OZKI7KPW7MI",
    "eu-west-1": "Z1BKCTXD74EZPE", "eu-west-2": "Z3GKZC51ZF0DB4", "eu-west-3": "Z3R1K369G5AVDG",
    "me-south-1": "Z1MPMWCPA7YB62", "sa-east-1": "Z7KQH4QJS55SO", "us-east-1": "Z3AQBSTGFYJSTF",
    "us-east-2": "Z2O1EMRO9K5GLX", "us-west-1": "Z2F56UZL2M1ACD", "us-west-2": "Z3BJ6K6RIION7M",
}
#: CloudFront's one hosted zone, for alias records to any distribution.
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
#: Public addresses: the region's EC2 block where known (AWS ip-ranges.json: 3.34.0.0/15 is
#: Seoul), else 3.0.0.0/8, which Amazon owns entirely (but is not tied to one region).
PUBLIC_POOLS: dict[str, IPv4Network] = {
    "ap-northeast-2": IPv4Network("3.34.0.0/15"),
    "us-east-1": IPv4Network("3.80.0.0/12"),
    "eu-west-1": IPv4Network("34.240.0.0/13"),
}
AMAZON_POOL = IPv4Network("3.0.0.0/8")
#: AWS reserves the network address and the next three (router, DNS, future) and the broadcast.
AWS_RESERVED_FIRST = 4
#: Tunnel inside CIDRs AWS refuses (AWS::EC2::VPNConnection VpnTunnelOptionsSpecification).
VPN_LINK_LOCAL = IPv4Network("169.254.0.0/16")
VPN_RESERVED_INSIDE: frozenset[IPv4Network] = frozenset(
    [IPv4Network(f"169.254.{i}.0/30") for i in range(6)] + [IPv4Network("169.254.169.252/30")])
DEFAULT_AMAZON_ASN = 64512
ENGINE_PORTS = {"postgres": 5432, "mysql": 3306, "mariadb": 3306, "oracle-ee": 1521, "sqlserver-ex": 1433}
#: a fixed creation time keeps plans reproducible
CREATED = "2025-01-01T00:00:00Z"
FLOW_LOG_FORMAT = ("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
                   "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}")

_HEX = "0123456789abcdef"
_UPPER_ALNUM = string.ascii_uppercase + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_DIRECTIONS = {"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
               "north": "n", "south": "s", "east": "e", "west": "w", "central": "c"}
_LOCK = threading.RLock()  # the engine registers resources from several threads


# -- deterministic values ------------------------------------------------------------------------

def _chars(alphabet: str, length: int, *seed: str) -> str:
    """`length` characters of `alphabet`, a pure function of the seed."""
    value = int.from_bytes(hashlib.sha512("\x1f".join(seed).encode()).digest(), "big")
    out = []
    for _ in range(length):
        value, index = divmod(value, len(alphabet))
        out.append(alphabet[index])
    return "".join(out)


def ec2_id(prefix: str, name: str) -> str:
    """A long-format EC2 ID: `vpc-0` + 16 hex."""
    return f"{prefix}-0{_chars(_HEX, 16, prefix, name)}"


def _uuid(*seed: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("\x1f".join(seed).encode()).digest()[:16], version=4))


def _unique_suffix(*seed: str) -> str:
    """The provider's `id.PrefixedUniqueId` suffix: 26 digits (a timestamp and a counter)."""
    return "2025" + _chars(string.digits, 22, *seed)


def _auto_name(name: str, inputs: Mapping[str, Any], key: str = "name", prefix_key: str = "namePrefix",
               max_length: int = 255, lower: bool = False) -> str:
    if inputs.get(key):
        return str(inputs[key])
    if inputs.get(prefix_key):
        return f"{inputs[prefix_key]}{_unique_suffix(prefix_key, name)}"
    base = (name.lower() if lower else name)[: max_length - 8]
    return f"{base}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"


def _region(inputs: Mapping[str, Any], ctx: MockContext) -> str:
    return str(inputs.get("region") or ctx.aws_region)


def arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def region_code(region: str) -> str:
    """`ap-northeast-2` -> `apne2`, the prefix of availability zone IDs."""
    *area, direction, number = region.split("-")
    return "".join(area) + _DIRECTIONS.get(direction, direction[:1]) + number


def az_id(az: str) -> str:
    """`ap-northeast-2a` -> `apne2-az1` (the letter-to-ID mapping varies per account in old regions)."""
    return f"{region_code(az[:-1])}-az{ord(az[-1]) - ord('a') + 1}"


def _az_from_id(region: str, zone_id: str) -> str:
    return region + chr(ord("a") + int(zone_id.rsplit("az", 1)[1]) - 1)


def _dashed(ip: str) -> str:
    return ip.replace(".", "-")


def private_dns(ip: str, region: str) -> str:
    # us-east-1 kept its original domain
    return f"ip-{_dashed(ip)}.ec2.internal" if region == "us-east-1" else \
        f"ip-{_dashed(ip)}.{region}.compute.internal"


def public_dns(ip: str, region: str) -> str:
    return f"ec2-{_dashed(ip)}.compute-1.amazonaws.com" if region == "us-east-1" else \
        f"ec2-{_dashed(ip)}.{region}.compute.amazonaws.com"


# -- what the fakes remember about each other (ctx.state) ----------------------------------------

def _registry(ctx: MockContext, kind: str) -> dict[str, Any]:
    return ctx.state.setdefault(f"aws_{kind}", {})  # type: ignore[no-any-return]


class _Hosts(Sequence[str]):
    """The addresses `first`..`last` of a subnet as strings, without building the list (a /16
    has 65k): `allocate_private` probes only a few of them."""

    def __init__(self, first: int, last: int) -> None:
        self._first, self._len = first, max(0, last - first + 1)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if not -self._len <= index < self._len:
            raise IndexError(index)
        return str(IPv4Address(self._first + index % self._len))


def _probe(candidates: Sequence[str], used: set[str], *seed: str) -> str | None:
    """The first free candidate from a start derived from the seed (order-independent)."""
    if not candidates:
        return None
    start = int.from_bytes(hashlib.sha256("\x1f".join(seed).encode()).digest()[:8], "big") % len(candidates)
    for offset in range(len(candidates)):
        candidate = candidates[(start + offset) % len(candidates)]
        if candidate not in used:
            used.add(candidate)
            return candidate
    return None


def _subnet(ctx: MockContext, subnet_id: Any, kind: str, name: str) -> dict[str, Any]:
    subnet = _registry(ctx, "subnets").get(str(subnet_id)) if subnet_id else None
    if subnet is None:
        raise fail("aws", kind, name, f"subnet {subnet_id!r} is not created by this program; the offline "
                   "plan cannot place the resource (no default VPC is used)")
    return subnet  # type: ignore[no-any-return]


def allocate_private(ctx: MockContext, subnet: dict[str, Any], name: str, kind: str,
                     wanted: str | None = None) -> str:
    net: IPv4Network = subnet["network"]
    with _LOCK:
        used: set[str] = subnet["used"]
        if wanted:
            reserved = {str(net[i]) for i in range(AWS_RESERVED_FIRST)} | {str(net[-1])}
            if IPv4Address(wanted) not in net or wanted in reserved:
                raise fail("aws", kind, name, f"address {wanted} is not a usable address of subnet {net}")
            if wanted in used:
                raise fail("aws", kind, name, f"address {wanted} is already in use in subnet {net}")
            used.add(wanted)
            return wanted
        # cidr.usable_hosts (the first AWS_RESERVED_FIRST reserved) stops before the broadcast
        # address; AWS also hands out the one before it
        hosts = _Hosts(int(net.network_address) + AWS_RESERVED_FIRST, int(net.broadcast_address) - 1)
        found = _probe(hosts, used, "private", name)
    if found is None:
        raise fail("aws", kind, name, f"subnet {net} has no free address left")
    return found


def allocate_public(ctx: MockContext, region: str, name: str) -> str:
    pool = PUBLIC_POOLS.get(region, AMAZON_POOL)
    with _LOCK:
        used: set[str] = ctx.state.setdefault("aws_public_ips", set())
        size = pool.num_addresses - 2
        start = int.from_bytes(hashlib.sha256(f"public\x1f{name}".encode()).digest()[:8], "big") % size
        for offset in range(size):
            candidate = str(pool[1 + (start + offset) % size])
            if candidate not in used:
                used.add(candidate)
                return candidate
    raise ValueError(f"no public address left in {pool}")


# -- ec2: network --------------------------------------------------------------------------------

def vpc(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    vid = ec2_id("vpc", name)
    state = {
        **inputs, "id": vid, "arn": arn("ec2", region, ctx.aws_account, f"vpc/{vid}"),
        "ownerId": ctx.aws_account, "region": region,
        "defaultSecurityGroupId": ec2_id("sg", f"{name}/default"),
        "defaultRouteTableId": ec2_id("rtb", f"{name}/main"),
        "mainRouteTableId": ec2_id("rtb", f"{name}/main"),
        "defaultNetworkAclId": ec2_id("acl", f"{name}/default"),
        "dhcpOptionsId": ec2_id("dopt", ctx.aws_account + region),
        "instanceTenancy": inputs.get("instanceTenancy") or "default",
        "enableDnsSupport": inputs.get("enableDnsSupport", True),
        "enableDnsHostnames": inputs.get("enableDnsHostnames", False),
        "enableNetworkAddressUsageMetrics": inputs.get("enableNetworkAddressUsageMetrics", False),
    }
    network = IPv4Network(str(inputs["cidrBlock"])) if inputs.get("cidrBlock") else None
    _registry(ctx, "vpcs")[vid] = {"network": network, "region": region,
                                   "defaultSecurityGroupId": state["defaultSecurityGroupId"]}
    return state


def subnet(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    sid = ec2_id("subnet", name)
    net = IPv4Network(str(inputs["cidrBlock"]))
    if not 16 <= net.prefixlen <= 28:
        raise fail("aws", "subnet", name, f"{net}: a subnet is between /16 and /28")
    owner = _registry(ctx, "vpcs").get(str(inputs.get("vpcId")))
    if owner and owner["network"] is not None and not net.subnet_of(owner["network"]):
        raise fail("aws", "subnet", name, f"{net} is outside its VPC's range {owner['network']}")
    with _LOCK:
        for other_id, other in _registry(ctx, "subnets").items():
            if other["vpcId"] == inputs.get("vpcId") and other["network"].overlaps(net):
                raise fail("aws", "subnet", name, f"{net} overlaps subnet {other_id} ({other['network']})")
        if inputs.get("availabilityZone"):
            az = str(inputs["availabilityZone"])
        elif inputs.get("availabilityZoneId"):
            az = _az_from_id(region, str(inputs["availabilityZoneId"]))
        else:
            az = f"{region}a"
        _registry(ctx, "subnets")[sid] = {
            "network": net, "az": az, "vpcId": inputs.get("vpcId"), "used": set(),
            "mapPublicIpOnLaunch": bool(inputs.get("mapPublicIpOnLaunch")),
            "hostnameType": inputs.get("privateDnsHostnameTypeOnLaunch") or "ip-name"}
    return {
        **inputs, "id": sid, "arn": arn("ec2", region, ctx.aws_account, f"subnet/{sid}"),
        "availabilityZone": az, "availabilityZoneId": az_id(az), "ownerId": ctx.aws_account,
        "region": region, "mapPublicIpOnLaunch": bool(inputs.get("mapPublicIpOnLaunch")),
        "assignIpv6AddressOnCreation": bool(inputs.get("assignIpv6AddressOnCreation")),
        "privateDnsHostnameTypeOnLaunch": inputs.get("privateDnsHostnameTypeOnLaunch") or "ip-name",
        "enableDns64": bool(inputs.get("enableDns64")), "ipv6Native": bool(inputs.get("ipv6Native")),
    }


def _ec2_resource(prefix: str, arn_type: str | None, owner: bool = True) -> Fake:
    """A plain EC2 resource: its ID, and its ARN / owner when the resource has them."""

    def fake(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
        region = _region(inputs, ctx)
        rid = ec2_id(prefix, name)
        state = {**inputs, "id": rid, "region": region}
        if arn_type:
            state["arn"] = arn("ec2", region, ctx.aws_account, f"{arn_type}/{rid}")
        if owner:
            state["ownerId"] = ctx.aws_account
        return state

    return fake


def route_table(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _ec2_resource("rtb", "route-table")(name, inputs, ctx)
    state.setdefault("routes", [])
    state.setdefault("propagatingVgws", [])
    return state


def route(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    destination = inputs.get("destinationCidrBlock") or inputs.get("destinationIpv6CidrBlock") or \
        inputs.get("destinationPrefixListId")
    return {**inputs, "id": f"{inputs['routeTableId']}_{destination}", "origin": "CreateRoute",
            "state": "active", "region": _region(inputs, ctx)}


def route_table_association(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": ec2_id("rtbassoc", name), "region": _region(inputs, ctx)}


def eip(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    alloc = ec2_id("eipalloc", name)
    ip = str(inputs.get("address") or allocate_public(ctx, region, name))
    _registry(ctx, "eips")[alloc] = ip
    return {**inputs, "id": alloc, "allocationId": alloc, "publicIp": ip, "publicDns": public_dns(ip, region),
            "arn": arn("ec2", region, ctx.aws_account, f"elastic-ip/{alloc}"), "domain": "vpc",
            "publicIpv4Pool": inputs.get("publicIpv4Pool") or "amazon", "networkBorderGroup": region,
            "region": region}


def nat_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    where = _subnet(ctx, inputs.get("subnetId"), "NatGateway", name)
    connectivity = inputs.get("connectivityType") or "public"
    state = {**inputs, "id": ec2_id("nat", name), "connectivityType": connectivity,
             "privateIp": allocate_private(ctx, where, name, "NatGateway", inputs.get("privateIp")),
             "networkInterfaceId": ec2_id("eni", f"{name}/nat"), "vpcId": where["vpcId"], "region": region}
    if connectivity == "public":
        alloc = str(inputs.get("allocationId") or "")
        state["publicIp"] = _registry(ctx, "eips").get(alloc) or allocate_public(ctx, region, name)
        state["associationId"] = ec2_id("eipassoc", name)
    return state


def flow_log(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _ec2_resource("fl", "vpc-flow-log", owner=False)(name, inputs, ctx)
    state.setdefault("logDestinationType", "cloud-watch-logs")
    state.setdefault("logFormat", FLOW_LOG_FORMAT)
    state.setdefault("maxAggregationInterval", 600)
    return state


def security_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _ec2_resource("sg", "security-group")(name, inputs, ctx)
    state["name"] = _auto_name(name, inputs)
    state.setdefault("description", "Managed by Pulumi")
    state.setdefault("ingress", [])
    state.setdefault("egress", [])
    state.setdefault("revokeRulesOnDelete", False)
    return state


def default_security_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    owner = _registry(ctx, "vpcs").get(str(inputs.get("vpcId")))
    sid = owner["defaultSecurityGroupId"] if owner else ec2_id("sg", f"{name}/default")
    return {"ingress": [], "egress": [], **inputs, "id": sid, "name": "default",
            "description": "default VPC security group", "ownerId": ctx.aws_account, "region": region,
            "arn": arn("ec2", region, ctx.aws_account, f"security-group/{sid}")}


def security_group_rule(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """vpc.SecurityGroupIngressRule / SecurityGroupEgressRule: one `sgr-` rule each."""
    region = _region(inputs, ctx)
    rid = ec2_id("sgr", name)
    return {**inputs, "id": rid, "securityGroupRuleId": rid, "region": region,
            "arn": arn("ec2", region, ctx.aws_account, f"security-group-rule/{rid}")}


def legacy_security_group_rule(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """ec2.SecurityGroupRule: the provider's `sgrule-<hash>` ID over an `sgr-` rule."""
    return {**inputs, "id": f"sgrule-{zlib.crc32(name.encode())}",
            "securityGroupRuleId": ec2_id("sgr", name), "region": _region(inputs, ctx)}


def _service_dns(service_name: str, region: str) -> str:
    # com.amazonaws.<region>.ecr.dkr -> dkr.ecr.<region>
    service = service_name.split(f".{region}.", 1)[-1]
    return ".".join(reversed(service.split("."))) + f".{region}"


def vpc_endpoint(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    eid = ec2_id("vpce", name)
    kind = inputs.get("vpcEndpointType") or "Gateway"
    state = {**inputs, "id": eid, "arn": arn("ec2", region, ctx.aws_account, f"vpc-endpoint/{eid}"),
             "vpcEndpointType": kind, "ownerId": ctx.aws_account, "state": "available",
             "requesterManaged": False, "ipAddressType": inputs.get("ipAddressType") or "ipv4",
             "region": region, "dnsEntries": [], "networkInterfaceIds": [],
             "privateDnsEnabled": bool(inputs.get("privateDnsEnabled"))}
    if kind == "Gateway":
        state["prefixListId"] = f"pl-{_chars(_HEX, 8, str(inputs.get('serviceName')), region)}"
        state["routeTableIds"] = list(inputs.get("routeTableIds") or [])
        return state
    service = _service_dns(str(inputs["serviceName"]), region)
    tag = _chars(_LOWER_ALNUM, 8, "vpce-dns", name)
    zone = "Z" + _chars(_UPPER_ALNUM, 13, "vpce-zone", region)
    entries = [{"dnsName": f"{eid}-{tag}.{service}.vpce.amazonaws.com", "hostedZoneId": zone}]
    for subnet_id in inputs.get("subnetIds") or []:
        az = _subnet(ctx, subnet_id, "VpcEndpoint", name)["az"]
        entries.append({"dnsName": f"{eid}-{tag}-{az}.{service}.vpce.amazonaws.com", "hostedZoneId": zone})
        state["networkInterfaceIds"].append(ec2_id("eni", f"{name}/{subnet_id}"))
    if state["privateDnsEnabled"]:
        entries.append({"dnsName": f"{service}.amazonaws.com",
                        "hostedZoneId": "Z" + _chars(_UPPER_ALNUM, 20, "vpce-private", name)})
    state["dnsEntries"] = entries
    state["dnsOptions"] = inputs.get("dnsOptions") or {"dnsRecordIpType": "ipv4",
                                                       "privateDnsOnlyForInboundResolverEndpoint": False}
    return state


def vpc_peering_connection(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    return {**inputs, "id": ec2_id("pcx", name), "region": region,
            "acceptStatus": "active" if inputs.get("autoAccept") else "pending-acceptance",
            "peerOwnerId": inputs.get("peerOwnerId") or ctx.aws_account,
            "peerRegion": inputs.get("peerRegion") or region}


def vpc_peering_connection_accepter(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": inputs["vpcPeeringConnectionId"], "acceptStatus": "active",
            "peerOwnerId": ctx.aws_account, "region": _region(inputs, ctx)}


# -- ec2: compute --------------------------------------------------------------------------------

def launch_template(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    lid = ec2_id("lt", name)
    template_name = _auto_name(name, inputs, max_length=128)
    nics = inputs.get("networkInterfaces") or []
    first = nics[0] if nics else {}
    _registry(ctx, "launch_templates")[lid] = _registry(ctx, "launch_templates")[template_name] = {
        "subnetId": first.get("subnetId"),
        "associatePublicIpAddress": first.get("associatePublicIpAddress")}
    return {**inputs, "id": lid, "name": template_name, "latestVersion": 1, "defaultVersion": 1,
            "arn": arn("ec2", region, ctx.aws_account, f"launch-template/{lid}"), "region": region}


def _public_ip_wanted(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return value is True or str(value).lower() == "true"  # launch templates carry "true"/"false"


def instance(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    iid = ec2_id("i", name)
    template: dict[str, Any] = {}
    if inputs.get("launchTemplate"):
        ref = inputs["launchTemplate"]
        template = _registry(ctx, "launch_templates").get(str(ref.get("id") or ref.get("name"))) or {}
    where = _subnet(ctx, inputs.get("subnetId") or template.get("subnetId"), "Instance", name)
    if inputs.get("availabilityZone") and inputs["availabilityZone"] != where["az"]:
        raise fail("aws", "Instance", name, f"availabilityZone {inputs['availabilityZone']} differs from "
                   f"its subnet's {where['az']}")
    ip = allocate_private(ctx, where, name, "Instance", inputs.get("privateIp"))
    dns = f"{iid}.{region}.compute.internal" if where["hostnameType"] == "resource-name" else \
        private_dns(ip, region)
    wanted = _public_ip_wanted(inputs.get("associatePublicIpAddress"))
    if wanted is None:
        wanted = _public_ip_wanted(template.get("associatePublicIpAddress"))
    has_public = where["mapPublicIpOnLaunch"] if wanted is None else wanted
    public_ip = allocate_public(ctx, region, name) if has_public else ""
    root = {"deviceName": "/dev/xvda", **(inputs.get("rootBlockDevice") or {}),
            "volumeId": ec2_id("vol", f"{name}/root")}
    return {
        **inputs, "id": iid, "arn": arn("ec2", region, ctx.aws_account, f"instance/{iid}"),
        "availabilityZone": where["az"], "subnetId": inputs.get("subnetId") or template.get("subnetId"),
        "privateIp": ip, "privateDns": dns, "publicIp": public_ip,
        "publicDns": public_dns(public_ip, region) if public_ip else "",
        "associatePublicIpAddress": bool(public_ip), "instanceState": "running",
        "primaryNetworkInterfaceId": ec2_id("eni", f"{name}/primary"), "rootBlockDevice": root,
        "tenancy": inputs.get("tenancy") or "default", "sourceDestCheck": inputs.get("sourceDestCheck", True),
        "region": region,
    }


# -- ec2: VPN and transit gateway ----------------------------------------------------------------

def vpn_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _ec2_resource("vgw", "vpn-gateway", owner=False)(name, inputs, ctx)
    asn = str(int(float(inputs.get("amazonSideAsn") or DEFAULT_AMAZON_ASN)))
    state["amazonSideAsn"] = asn
    _registry(ctx, "gateway_asns")[state["id"]] = asn
    return state


def customer_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _ec2_resource("cgw", "customer-gateway", owner=False)(name, inputs, ctx)
    if inputs.get("bgpAsn") is not None:
        _registry(ctx, "customer_asns")[state["id"]] = str(int(float(inputs["bgpAsn"])))
    state.setdefault("deviceName", "")
    return state


def _check_psk(name: str, key: str, psk: str) -> None:
    allowed = set(string.ascii_letters + string.digits + "._")
    if not 8 <= len(psk) <= 64 or not set(psk) <= allowed or psk.startswith("0"):
        raise fail("aws", "VpnConnection", name, f"{key}: a pre-shared key is 8-64 characters of "
                   "[A-Za-z0-9._] not starting with 0")


def _inside_cidr(name: str, key: str, value: Any, used: set[str]) -> IPv4Network:
    if value:
        net = IPv4Network(str(value))
        if net.prefixlen != 30 or not net.subnet_of(VPN_LINK_LOCAL) or net in VPN_RESERVED_INSIDE:
            raise fail("aws", "VpnConnection", name, f"{key} {net}: a tunnel inside CIDR is a /30 in "
                       "169.254.0.0/16 other than 169.254.0-5.0/30 and 169.254.169.252/30")
        if str(net) in used:
            raise fail("aws", "VpnConnection", name, f"{key} {net} is already used on this gateway")
        used.add(str(net))
        return net
    candidates = [str(IPv4Network((int(VPN_LINK_LOCAL.network_address) + 4 * i, 30)))
                  for i in range(VPN_LINK_LOCAL.num_addresses // 4)]
    free = [c for c in candidates if IPv4Network(c) not in VPN_RESERVED_INSIDE]
    picked = _probe(free, used, "inside", name, key)
    assert picked is not None  # 16k /30s
    return IPv4Network(picked)


def vpn_connection(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """Two tunnels: outside addresses from Amazon, inside addresses from each /30 (AWS .1, customer .2)."""
    region = _region(inputs, ctx)
    vid = ec2_id("vpn", name)
    gateway = str(inputs.get("vpnGatewayId") or inputs.get("transitGatewayId") or "")
    known_asn = _registry(ctx, "gateway_asns").get(gateway)
    asn = known_asn or str(DEFAULT_AMAZON_ASN)
    customer_asn = _registry(ctx, "customer_asns").get(str(inputs.get("customerGatewayId")))
    if inputs.get("vpnGatewayId") and known_asn is not None and customer_asn == known_asn:
        raise fail("aws", "VpnConnection", name, f"the customer gateway's ASN {asn} equals the virtual "
                   "private gateway's; they must differ")
    state: dict[str, Any] = {
        **inputs, "id": vid, "arn": arn("ec2", region, ctx.aws_account, f"vpn-connection/{vid}"),
        "type": inputs.get("type") or "ipsec.1", "region": region, "routes": [],
        "staticRoutesOnly": bool(inputs.get("staticRoutesOnly")),
        "tunnelInsideIpVersion": inputs.get("tunnelInsideIpVersion") or "ipv4",
    }
    with _LOCK:
        used: set[str] = _registry(ctx, "vpn_inside").setdefault(gateway, set())
        telemetry = []
        for n in (1, 2):
            t = f"tunnel{n}"
            inside = _inside_cidr(name, f"{t}InsideCidr", inputs.get(f"{t}InsideCidr"), used)
            psk = inputs.get(f"{t}PresharedKey")
            if psk:
                _check_psk(name, f"{t}PresharedKey", str(psk))
            else:  # AWS generates 32 characters; never starting with 0
                psk = "A" + _chars(string.ascii_letters + string.digits + "._", 31, "psk", name, t)
            outside = allocate_public(ctx, region, f"{name}/{t}")
            state.update({
                f"{t}Address": outside, f"{t}InsideCidr": str(inside),
                f"{t}VgwInsideAddress": str(inside[1]), f"{t}CgwInsideAddress": str(inside[2]),
                f"{t}PresharedKey": psk, f"{t}BgpAsn": asn, f"{t}BgpHoldtime": 30,
            })
            telemetry.append({"outsideIpAddress": outside, "status": "DOWN", "statusMessage": "",
                              "acceptedRouteCount": 0, "lastStatusChange": CREATED, "certificateArn": ""})
    state["vgwTelemetries"] = telemetry
    if inputs.get("transitGatewayId"):
        attachment = ec2_id("tgw-attach", f"{name}/vpn")
        state["transitGatewayAttachmentId"] = attachment
        _registry(ctx, "tgw_attachments")[attachment] = {"resourceId": vid, "resourceType": "vpn"}
    return state


def vpn_gateway_route_propagation(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['routeTableId']}_{inputs['vpnGatewayId']}",
            "region": _region(inputs, ctx)}


def vpn_connection_route(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['destinationCidrBlock']}:{inputs['vpnConnectionId']}",
            "region": _region(inputs, ctx)}


def transit_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _ec2_resource("tgw", "transit-gateway")(name, inputs, ctx)
    asn = int(float(inputs.get("amazonSideAsn") or DEFAULT_AMAZON_ASN))
    _registry(ctx, "gateway_asns")[state["id"]] = str(asn)
    defaults = {"amazonSideAsn": asn, "autoAcceptSharedAttachments": "disable",
                "defaultRouteTableAssociation": "enable", "defaultRouteTablePropagation": "enable",
                "dnsSupport": "enable", "vpnEcmpSupport": "enable", "multicastSupport": "disable",
                "securityGroupReferencingSupport": "disable"}
    state.update({k: inputs.get(k) or v for k, v in defaults.items()})
    default_table = ec2_id("tgw-rtb", f"{name}/default")
    state["associationDefaultRouteTableId"] = \
        default_table if state["defaultRouteTableAssociation"] == "enable" else ""
    state["propagationDefaultRouteTableId"] = \
        default_table if state["defaultRouteTablePropagation"] == "enable" else ""
    return state


def tgw_vpc_attachment(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _ec2_resource("tgw-attach", "transit-gateway-attachment", owner=False)(name, inputs, ctx)
    _registry(ctx, "tgw_attachments")[state["id"]] = {"resourceId": inputs.get("vpcId"),
                                                      "resourceType": "vpc"}
    defaults = {"dnsSupport": "enable", "ipv6Support": "disable", "applianceModeSupport": "disable",
                "securityGroupReferencingSupport": "enable",
                "transitGatewayDefaultRouteTableAssociation": True,
                "transitGatewayDefaultRouteTablePropagation": True}
    for key, value in defaults.items():
        state.setdefault(key, value)
    state["vpcOwnerId"] = ctx.aws_account
    return state


def tgw_route_table(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _ec2_resource("tgw-rtb", "transit-gateway-route-table", owner=False)(name, inputs, ctx)
    state.update({"defaultAssociationRouteTable": False, "defaultPropagationRouteTable": False})
    return state


def tgw_route_table_link(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """A transit gateway route table association or propagation: `<table>_<attachment>`."""
    attachment = str(inputs["transitGatewayAttachmentId"])
    target = _registry(ctx, "tgw_attachments").get(attachment, {})
    return {**inputs, "id": f"{inputs['transitGatewayRouteTableId']}_{attachment}",
            "resourceId": target.get("resourceId", ""), "resourceType": target.get("resourceType", ""),
            "region": _region(inputs, ctx)}


def tgw_route(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['transitGatewayRouteTableId']}_{inputs['destinationCidrBlock']}",
            "blackhole": bool(inputs.get("blackhole")), "region": _region(inputs, ctx)}


# -- iam -----------------------------------------------------------------------------------------

def _iam_path(inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("path") or "/")


def _iam_unique_id(prefix: str, name: str) -> str:
    return prefix + _chars(_UPPER_ALNUM, 17, prefix, name)


def role(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    role_name = _auto_name(name, inputs, max_length=64)
    path = _iam_path(inputs)
    return {**inputs, "id": role_name, "name": role_name, "path": path,
            "arn": f"arn:aws:iam::{ctx.aws_account}:role{path}{role_name}",
            "uniqueId": _iam_unique_id("AROA", role_name), "createDate": CREATED,
            "maxSessionDuration": inputs.get("maxSessionDuration") or 3600,
            "forceDetachPolicies": bool(inputs.get("forceDetachPolicies"))}


def policy(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    policy_name = _auto_name(name, inputs, max_length=128)
    path = _iam_path(inputs)
    policy_arn = f"arn:aws:iam::{ctx.aws_account}:policy{path}{policy_name}"
    return {**inputs, "id": policy_arn, "arn": policy_arn, "name": policy_name, "path": path,
            "policyId": _iam_unique_id("ANPA", policy_name), "attachmentCount": 0}


def instance_profile(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    profile_name = _auto_name(name, inputs, max_length=128)
    path = _iam_path(inputs)
    return {**inputs, "id": profile_name, "name": profile_name, "path": path,
            "arn": f"arn:aws:iam::{ctx.aws_account}:instance-profile{path}{profile_name}",
            "uniqueId": _iam_unique_id("AIPA", profile_name), "createDate": CREATED}


def role_policy(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    policy_name = _auto_name(name, inputs, max_length=128)
    return {**inputs, "id": f"{inputs['role']}:{policy_name}", "name": policy_name}


def role_policy_attachment(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['role']}-{_unique_suffix('attachment', name)}"}


def openid_connect_provider(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    url = str(inputs["url"])
    issuer = url.split("://", 1)[-1].rstrip("/")
    provider_arn = f"arn:aws:iam::{ctx.aws_account}:oidc-provider/{issuer}"
    thumbprints = inputs.get("thumbprintLists") or [hashlib.sha1(issuer.encode(), usedforsecurity=False)
                                                    .hexdigest()]
    return {**inputs, "id": provider_arn, "arn": provider_arn, "thumbprintLists": thumbprints}


# -- autoscaling, load balancing, certificates, DNS ----------------------------------------------

def autoscaling_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    group = _auto_name(name, inputs)
    subnets = _registry(ctx, "subnets")
    zones = sorted({subnets[s]["az"] for s in inputs.get("vpcZoneIdentifiers") or [] if s in subnets})
    return {
        **inputs, "id": group, "name": group,
        "arn": arn("autoscaling", region, ctx.aws_account,
                   f"autoScalingGroup:{_uuid('asg', name)}:autoScalingGroupName/{group}"),
        "availabilityZones": inputs.get("availabilityZones") or zones,
        "desiredCapacity": inputs.get("desiredCapacity", inputs.get("minSize")),
        "defaultCooldown": inputs.get("defaultCooldown", 300),
        "healthCheckType": inputs.get("healthCheckType") or "EC2",
        "healthCheckGracePeriod": inputs.get("healthCheckGracePeriod", 300),
        "serviceLinkedRoleArn": f"arn:aws:iam::{ctx.aws_account}:role/aws-service-role/"
                                "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        "predictedCapacity": 0, "warmPoolSize": 0, "region": region,
    }


def _zone_for(table: Mapping[str, str], region: str, what: str) -> str:
    zone = table.get(region)
    if zone is None:
        raise ValueError(f"the offline plan has no {what} hosted zone ID for region {region!r}; "
                         "add it to engine/fakes/aws.py from AWS's service endpoints page")
    return zone


def load_balancer(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    lb_name = _auto_name(name, inputs, max_length=32)
    kind = inputs.get("loadBalancerType") or "application"
    short = {"application": "app", "network": "net", "gateway": "gwy"}[kind]
    suffix = f"{short}/{lb_name}/{_chars(_HEX, 16, 'lb', name)}"
    internal = bool(inputs.get("internal"))
    if kind == "network":  # NLBs never get the "internal-" prefix
        dns = f"{lb_name}-{_chars(_HEX, 16, 'lb-dns', name)}.elb.{region}.amazonaws.com".lower()
        zone = _zone_for(NLB_ZONE_IDS, region, "Network Load Balancer")
    else:
        dns = (("internal-" if internal else "") + f"{lb_name}-{_chars(string.digits, 10, 'lb-dns', name)}"
               f".{region}.elb.amazonaws.com").lower()
        zone = _zone_for(ALB_ZONE_IDS, region, "Application Load Balancer")
    subnet_ids = list(inputs.get("subnets") or []) + [
        m.get("subnetId") for m in inputs.get("subnetMappings") or []]
    vpcs = {_registry(ctx, "subnets")[s]["vpcId"] for s in subnet_ids if s in _registry(ctx, "subnets")}
    lb_arn = arn("elasticloadbalancing", region, ctx.aws_account, f"loadbalancer/{suffix}")
    return {**inputs, "id": lb_arn, "arn": lb_arn, "arnSuffix": suffix, "name": lb_name,
            "loadBalancerType": kind, "internal": internal, "dnsName": dns, "zoneId": zone,
            "vpcId": next(iter(vpcs)) if len(vpcs) == 1 else inputs.get("vpcId", ""),
            "ipAddressType": inputs.get("ipAddressType") or "ipv4", "region": region}


def target_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    tg_name = _auto_name(name, inputs, max_length=32)
    suffix = f"targetgroup/{tg_name}/{_chars(_HEX, 16, 'tg', name)}"
    tg_arn = arn("elasticloadbalancing", region, ctx.aws_account, suffix)
    return {**inputs, "id": tg_arn, "arn": tg_arn, "arnSuffix": suffix, "name": tg_name,
            "targetType": inputs.get("targetType") or "instance", "loadBalancerArns": [],
            "ipAddressType": inputs.get("ipAddressType") or "ipv4", "region": region}


def target_group_attachment(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['targetGroupArn']}-{_unique_suffix('tga', name)}",
            "region": _region(inputs, ctx)}


def listener(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    lb_arn = str(inputs["loadBalancerArn"])
    head, sep, lb_suffix = lb_arn.partition(":loadbalancer/")
    if not sep:
        raise fail("aws", "Listener", name, f"loadBalancerArn {lb_arn!r} is not a load balancer ARN")
    listener_arn = f"{head}:listener/{lb_suffix}/{_chars(_HEX, 16, 'listener', name)}"
    return {**inputs, "id": listener_arn, "arn": listener_arn, "region": _region(inputs, ctx)}


def _validation_domain(domain: str) -> str:
    return domain[2:] if domain.startswith("*.") else domain  # a wildcard shares its base's record


def certificate(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    cert_arn = arn("acm", region, ctx.aws_account, f"certificate/{_uuid('acm', name)}")
    domains: list[str] = []
    for domain in [inputs.get("domainName"), *(inputs.get("subjectAlternativeNames") or [])]:
        if domain and domain not in domains:
            domains.append(str(domain))
    options = []
    if (inputs.get("validationMethod") or "").upper() == "DNS":
        for domain in domains:
            base = _validation_domain(domain)
            token = _chars(_HEX, 32, "acm-name", cert_arn, base)
            options.append({
                "domainName": domain, "resourceRecordName": f"_{token}.{base}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{_chars(_HEX, 32, 'acm-value', cert_arn, base)}."
                                       f"{_chars(string.ascii_lowercase, 10, 'acm-zone', region)}"
                                       ".acm-validations.aws."})
    return {**inputs, "id": cert_arn, "arn": cert_arn, "domainValidationOptions": options,
            "subjectAlternativeNames": domains[1:] if domains else [],
            "status": "PENDING_VALIDATION" if options else "ISSUED", "type": "AMAZON_ISSUED",
            "keyAlgorithm": inputs.get("keyAlgorithm") or "RSA_2048", "pendingRenewal": False,
            "renewalEligibility": "INELIGIBLE", "renewalSummaries": [], "validationEmails": [],
            "notBefore": "", "notAfter": "", "region": region}


def certificate_validation(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    # the provider's ID is the certificate's issue time
    return {**inputs, "id": "2025-01-01 00:00:00 +0000 UTC", "region": _region(inputs, ctx)}


def route53_zone(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    zone_id = "Z0" + _chars(_UPPER_ALNUM, 19, "zone", name)
    zone_name = str(inputs["name"]).rstrip(".").lower()
    _registry(ctx, "zones")[zone_id] = zone_name
    n = int(_chars(string.digits, 4, "ns", name))
    servers = [f"ns-{n % 2048}.awsdns-{n % 64:02d}.org",
               f"ns-{(n + 512) % 2048}.awsdns-{(n + 1) % 64:02d}.co.uk",
               f"ns-{(n + 1024) % 2048}.awsdns-{(n + 2) % 64:02d}.com",
               f"ns-{(n + 1536) % 2048}.awsdns-{(n + 3) % 64:02d}.net"]
    return {**inputs, "id": zone_id, "zoneId": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
            "nameServers": servers, "primaryNameServer": servers[0],
            "comment": inputs.get("comment") or "Managed by Pulumi"}


def route53_record(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    fqdn = str(inputs["name"]).rstrip(".").lower()
    zone = _registry(ctx, "zones").get(str(inputs.get("zoneId")))
    if zone and fqdn != zone and not fqdn.endswith(f".{zone}"):
        fqdn = f"{fqdn}.{zone}"  # the provider expands a name relative to its zone
    parts = [str(inputs["zoneId"]), fqdn, str(inputs["type"])]
    if inputs.get("setIdentifier"):
        parts.append(str(inputs["setIdentifier"]))
    return {**inputs, "id": "_".join(parts), "fqdn": fqdn}


# -- logs, keys, secrets -------------------------------------------------------------------------

def log_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    group = _auto_name(name, inputs, max_length=512)
    return {**inputs, "id": group, "name": group, "region": region,
            "arn": arn("logs", region, ctx.aws_account, f"log-group:{group}"),
            "logGroupClass": inputs.get("logGroupClass") or "STANDARD",
            "retentionInDays": inputs.get("retentionInDays", 0)}


def _key_arn(ctx: MockContext, region: str, ref: Any) -> str:
    """A KMS key ARN from a key ID or ARN (a key of this program, or one we can only name)."""
    text = str(ref)
    if text.startswith("arn:"):
        return text
    known = _registry(ctx, "kms_keys").get(text)
    return known or arn("kms", region, ctx.aws_account, text if text.startswith("alias/") else f"key/{text}")


def _aws_managed_key(ctx: MockContext, region: str, alias: str) -> str:
    return arn("kms", region, ctx.aws_account, f"key/{_uuid('aws-managed', ctx.aws_account, region, alias)}")


def kms_key(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    key_id = _uuid("kms", name)
    key_arn = arn("kms", region, ctx.aws_account, f"key/{key_id}")
    _registry(ctx, "kms_keys")[key_id] = key_arn
    default_policy = json.dumps({
        "Version": "2012-10-17", "Id": "key-default-1",
        "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                       "Principal": {"AWS": f"arn:aws:iam::{ctx.aws_account}:root"},
                       "Action": "kms:*", "Resource": "*"}]})
    rotation = bool(inputs.get("enableKeyRotation"))
    return {**inputs, "id": key_id, "keyId": key_id, "arn": key_arn, "region": region,
            "isEnabled": inputs.get("isEnabled", True),
            "keyUsage": inputs.get("keyUsage") or "ENCRYPT_DECRYPT",
            "customerMasterKeySpec": inputs.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT",
            "multiRegion": bool(inputs.get("multiRegion")), "enableKeyRotation": rotation,
            "rotationPeriodInDays": inputs.get("rotationPeriodInDays") or (365 if rotation else 0),
            "policy": inputs.get("policy") or default_policy}


def kms_alias(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    if inputs.get("name"):
        alias = str(inputs["name"])
    elif inputs.get("namePrefix"):
        alias = f"{inputs['namePrefix']}{_unique_suffix('alias', name)}"
    else:
        alias = "alias/" + _auto_name(name, {})
    return {**inputs, "id": alias, "name": alias, "arn": arn("kms", region, ctx.aws_account, alias),
            "targetKeyArn": _key_arn(ctx, region, inputs["targetKeyId"]), "region": region}


def secret(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    secret_name = _auto_name(name, inputs, max_length=512)
    suffix = _chars(string.ascii_letters + string.digits, 6, "secret", region, secret_name)
    secret_arn = arn("secretsmanager", region, ctx.aws_account, f"secret:{secret_name}-{suffix}")
    registry = _registry(ctx, "secrets")
    registry[secret_name] = registry[secret_arn] = secret_arn
    return {**inputs, "id": secret_arn, "arn": secret_arn, "name": secret_name, "region": region,
            "recoveryWindowInDays": inputs.get("recoveryWindowInDays", 30), "replicas": []}


def secret_version(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    ref = str(inputs["secretId"])
    secret_arn = _registry(ctx, "secrets").get(ref, ref)
    version = _uuid("secret-version", name)
    return {**inputs, "id": f"{secret_arn}|{version}", "arn": secret_arn, "versionId": version,
            "versionStages": inputs.get("versionStages") or ["AWSCURRENT"],
            "hasSecretStringWo": False, "region": _region(inputs, ctx)}


# -- rds -----------------------------------------------------------------------------------------

def db_subnet_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    group = _auto_name(name, inputs, lower=True).lower()
    subnets = _registry(ctx, "subnets")
    ids = [str(s) for s in inputs.get("subnetIds") or []]
    known = [subnets[s] for s in ids if s in subnets]
    zones = sorted({s["az"] for s in known})
    if len(known) == len(ids) and len(zones) < 2:
        raise fail("aws", "rds SubnetGroup", name, f"subnets cover {zones or 'no'} availability zone(s); "
                   "an RDS subnet group must cover at least 2")
    _registry(ctx, "db_subnet_groups")[group] = zones
    vpcs = {s["vpcId"] for s in known}
    return {**inputs, "id": group, "name": group, "region": region,
            "arn": arn("rds", region, ctx.aws_account, f"subgrp:{group}"),
            "vpcId": next(iter(vpcs)) if len(vpcs) == 1 else "", "supportedNetworkTypes": ["IPV4"]}


def db_parameter_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    group = _auto_name(name, inputs, lower=True).lower()
    return {**inputs, "id": group, "name": group, "region": region,
            "arn": arn("rds", region, ctx.aws_account, f"pg:{group}")}


def db_instance(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    identifier = _auto_name(name, inputs, key="identifier", prefix_key="identifierPrefix", max_length=63,
                            lower=True).lower()
    engine = str(inputs.get("engine") or "postgres")
    port = int_input("aws", "rds Instance", name, inputs, "port", ENGINE_PORTS.get(engine, 5432))
    # the middle label is per account and region (12 characters starting with "c")
    cluster = "c" + _chars(_LOWER_ALNUM, 11, "rds", ctx.aws_account, region)
    address = f"{identifier}.{cluster}.{region}.rds.amazonaws.com"
    zones = _registry(ctx, "db_subnet_groups").get(str(inputs.get("dbSubnetGroupName")), [])
    state: dict[str, Any] = {
        **inputs, "id": identifier, "identifier": identifier, "address": address, "port": port,
        "endpoint": f"{address}:{port}", "arn": arn("rds", region, ctx.aws_account, f"db:{identifier}"),
        "resourceId": "db-" + _chars(_UPPER_ALNUM, 26, "rds-resource", name), "status": "available",
        "engine": engine, "engineVersionActual": inputs.get("engineVersion") or "",
        "availabilityZone": inputs.get("availabilityZone") or (zones[0] if zones else f"{region}a"),
        "caCertIdentifier": inputs.get("caCertIdentifier") or "rds-ca-rsa2048-g1",
        "listenerEndpoints": [], "replicas": [], "latestRestorableTime": CREATED, "region": region,
    }
    if inputs.get("storageEncrypted"):
        state["kmsKeyId"] = _key_arn(ctx, region, inputs["kmsKeyId"]) if inputs.get("kmsKeyId") else \
            _aws_managed_key(ctx, region, "aws/rds")
    if inputs.get("manageMasterUserPassword"):
        secret_name = f"rds!db-{_uuid('rds-secret', identifier)}"
        suffix = _chars(string.ascii_letters + string.digits, 6, "secret", region, secret_name)
        key = inputs.get("masterUserSecretKmsKeyId")
        state["masterUserSecrets"] = [{
            "secretArn": arn("secretsmanager", region, ctx.aws_account, f"secret:{secret_name}-{suffix}"),
            "kmsKeyId": _key_arn(ctx, region, key) if key else
            _aws_managed_key(ctx, region, "aws/secretsmanager"),
            "secretStatus": "active"}]
    return state


# -- s3 and cloudfront ---------------------------------------------------------------------------

def bucket(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = _region(inputs, ctx)
    bucket_name = _auto_name(name, inputs, key="bucket", prefix_key="bucketPrefix", max_length=63,
                             lower=True).lower()
    return {**inputs, "id": bucket_name, "bucket": bucket_name, "arn": f"arn:aws:s3:::{bucket_name}",
            "bucketDomainName": f"{bucket_name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket_name}.s3.{region}.amazonaws.com",
            "hostedZoneId": _zone_for(S3_ZONE_IDS, region, "S3"), "region": region, "bucketRegion": region,
            "forceDestroy": bool(inputs.get("forceDestroy")), "objectLockEnabled": False}


def bucket_part(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """Per-bucket settings (access block, policy, encryption, versioning, ownership): ID = bucket."""
    return {**inputs, "id": str(inputs["bucket"]), "region": _region(inputs, ctx)}


def _object_bytes(inputs: Mapping[str, Any]) -> bytes | None:
    if inputs.get("content") is not None:
        return str(inputs["content"]).encode()
    if inputs.get("contentBase64") is not None:
        return base64.b64decode(str(inputs["contentBase64"]))
    source = inputs.get("source")
    text = getattr(source, "text", None)
    if isinstance(text, str):
        return text.encode()
    path = getattr(source, "path", None)
    if isinstance(path, str):
        with open(path, "rb") as handle:
            return handle.read()
    return None


def bucket_object(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    body = _object_bytes(inputs)
    key = str(inputs["key"])
    state = {**inputs, "id": key, "arn": f"arn:aws:s3:::{inputs['bucket']}/{key}",
             "contentType": inputs.get("contentType") or "application/octet-stream",
             "storageClass": inputs.get("storageClass") or "STANDARD",
             "serverSideEncryption": inputs.get("serverSideEncryption") or "AES256",
             "versionId": "", "region": _region(inputs, ctx)}
    if body is not None:  # S3's ETag of a single-part, non-KMS object is the MD5 of its bytes
        state["etag"] = hashlib.md5(body, usedforsecurity=False).hexdigest()
    return state


def distribution(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    did = "E" + _chars(_UPPER_ALNUM, 13, "cloudfront", name)
    return {**inputs, "id": did, "arn": f"arn:aws:cloudfront::{ctx.aws_account}:distribution/{did}",
            "domainName": f"d{_chars(_LOWER_ALNUM, 13, 'cloudfront-domain', name)}.cloudfront.net",
            "hostedZoneId": CLOUDFRONT_ZONE_ID, "etag": "E" + _chars(_UPPER_ALNUM, 13, "etag", name),
            "status": "Deployed", "callerReference": f"terraform-{_unique_suffix('cf', name)}",
            "lastModifiedTime": CREATED, "inProgressValidationBatches": 0,
            "trustedSigners": [{"enabled": False, "items": []}],
            "trustedKeyGroups": [{"enabled": False, "items": []}]}


def origin_access_control(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    oid = "E" + _chars(_UPPER_ALNUM, 13, "oac", name)
    return {**inputs, "id": oid, "name": _auto_name(name, inputs, max_length=64),
            "arn": f"arn:aws:cloudfront::{ctx.aws_account}:origin-access-control/{oid}",
            "etag": "E" + _chars(_UPPER_ALNUM, 13, "oac-etag", name)}


def cache_policy(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    pid = _uuid("cache-policy", name)
    return {**inputs, "id": pid, "name": _auto_name(name, inputs, max_length=128),
            "arn": f"arn:aws:cloudfront::{ctx.aws_account}:cache-policy/{pid}",
            "etag": "E" + _chars(_UPPER_ALNUM, 13, "cache-policy-etag", name)}


def provider(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return dict(inputs)


def _same(fake: Fake, tokens: Iterable[str]) -> dict[str, Fake]:
    return dict.fromkeys(tokens, fake)


FAKES: dict[str, Fake] = {
    "aws:ec2/vpc:Vpc": vpc,
    "aws:ec2/subnet:Subnet": subnet,
    "aws:ec2/internetGateway:InternetGateway": _ec2_resource("igw", "internet-gateway"),
    "aws:ec2/eip:Eip": eip,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/routeTable:RouteTable": route_table,
    "aws:ec2/route:Route": route,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": route_table_association,
    "aws:ec2/flowLog:FlowLog": flow_log,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": default_security_group,
    "aws:ec2/securityGroup:SecurityGroup": security_group,
    "aws:ec2/securityGroupRule:SecurityGroupRule": legacy_security_group_rule,
    **_same(security_group_rule, ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                                  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"]),
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:ec2/launchTemplate:LaunchTemplate": launch_template,
    "aws:ec2/instance:Instance": instance,
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": vpc_peering_connection,
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": vpc_peering_connection_accepter,
    "aws:ec2/vpnGateway:VpnGateway": vpn_gateway,
    "aws:ec2/customerGateway:CustomerGateway": customer_gateway,
    "aws:ec2/vpnConnection:VpnConnection": vpn_connection,
    "aws:ec2/vpnConnectionRoute:VpnConnectionRoute": vpn_connection_route,
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": vpn_gateway_route_propagation,
    "aws:ec2transitgateway/transitGateway:TransitGateway": transit_gateway,
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": tgw_vpc_attachment,
    "aws:ec2transitgateway/routeTable:RouteTable": tgw_route_table,
    **_same(tgw_route_table_link, [
        "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
        "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"]),
    "aws:ec2transitgateway/route:Route": tgw_route,
    "aws:iam/role:Role": role,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": role_policy_attachment,
    "aws:iam/policy:Policy": policy,
    "aws:iam/instanceProfile:InstanceProfile": instance_profile,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": openid_connect_provider,
    "aws:autoscaling/group:Group": autoscaling_group,
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:lb/targetGroup:TargetGroup": target_group,
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": target_group_attachment,
    "aws:lb/listener:Listener": listener,
    "aws:acm/certificate:Certificate": certificate,
    "aws:acm/certificateValidation:CertificateValidation": certificate_validation,
    "aws:route53/zone:Zone": route53_zone,
    "aws:route53/record:Record": route53_record,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:kms/key:Key": kms_key,
    "aws:kms/alias:Alias": kms_alias,
    "aws:secretsmanager/secret:Secret": secret,
    "aws:secretsmanager/secretVersion:SecretVersion": secret_version,
    "aws:rds/instance:Instance": db_instance,
    "aws:rds/subnetGroup:SubnetGroup": db_subnet_group,
    "aws:rds/parameterGroup:ParameterGroup": db_parameter_group,
    "aws:s3/bucket:Bucket": bucket,
    **_same(bucket_part, [
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls"]),
    "aws:s3/bucketObjectv2:BucketObjectv2": bucket_object,
    "aws:cloudfront/distribution:Distribution": distribution,
    "aws:cloudfront/originAccessControl:OriginAccessControl": origin_access_control,
    "aws:cloudfront/cachePolicy:CachePolicy": cache_policy,
    "pulumi:providers:aws": provider,
}
