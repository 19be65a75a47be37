"""AWS <-> GCP HA VPN as data (pure): tunnel wiring, inside CIDRs, ASNs, pre-shared keys, ciphers,
and the GCP firewall rules for traffic arriving from AWS.

The 99.99% topology (Google's "Create HA VPN connections to AWS"): one HA VPN gateway with two
interfaces, two AWS VPN connections (A and B, two tunnels each), an external VPN gateway with
FOUR_IPS_REDUNDANCY whose interfaces 0/1 are connection A's tunnel outside addresses and 2/3
connection B's, and four IKEv2 tunnels::

    key  GCP interface  AWS tunnel  external gateway interface
    a1   0              A tunnel 1  0
    a2   0              A tunnel 2  1
    b1   1              B tunnel 1  2
    b2   1              B tunnel 2  3

AWS numbers the inside /30 of each tunnel as: network, AWS side (.1), customer side (.2),
broadcast; the Cloud Router interface takes the customer side, its BGP peer is the AWS side.

Constraints below are AWS's (EC2 API `VpnTunnelOptionsSpecification`: TunnelInsideCidr and
PreSharedKey) and the rules for ASNs in docs/architecture.md (16-bit private, Cloud Router != AWS side); AWS
is the stricter end for PSKs (Cloud VPN takes any printable shared secret).
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from looper_infra.rules.gcp_firewall import FirewallRule

#: Where every tunnel inside CIDR lives, and its size.
LINK_LOCAL = IPv4Network("169.254.0.0/16")
INSIDE_PREFIX = 30
#: /30s AWS refuses as a tunnel inside CIDR (EC2 API reference, VpnTunnelOptionsSpecification,
#: TunnelInsideCidr: "The following CIDR blocks are reserved and cannot be used").
AWS_RESERVED_INSIDE_CIDRS: tuple[IPv4Network, ...] = (
    *(IPv4Network(f"169.254.{i}.0/30") for i in range(6)),
    IPv4Network("169.254.169.252/30"),
)
#: 16-bit private ASNs (RFC 6996); both the Cloud Router and the AWS gateway take one of these.
PRIVATE_ASN_MIN, PRIVATE_ASN_MAX = 64512, 65534
#: AWS pre-shared key: 8-64 characters of [A-Za-z0-9._], not starting with 0.
PSK_ALPHABET = frozenset(string.ascii_letters + string.digits + "._")
PSK_MIN, PSK_MAX = 8, 64
_PSK = re.compile(r"[A-Za-z0-9._]+")

#: Largest Calico VXLAN MTU that fits through the AWS<->GCP VPN (docs/architecture.md: Cloud VPN 1460,
#: AWS VPN <= 1446, IPsec overhead, VXLAN 50 bytes). The config and the node bootstrap check it.
CALICO_MTU_MAX: int = 1350

#: GCP Cloud Router ASN ("A") and AWS gateway ASN ("B") defaults; they must differ.
DEFAULT_CLOUD_ROUTER_ASN = 65010
DEFAULT_AWS_ASN = 64512


@dataclass(frozen=True)
class Tunnel:
    """One of the four tunnels: which GCP interface, AWS connection/tunnel and peer interface."""

    key: str
    gcp_interface: int
    connection: str
    aws_tunnel: int
    external_interface: int


#: The wiring of the 99.99% topology, keyed by tunnel (see the module docstring).
TUNNELS: dict[str, Tunnel] = {
    "a1": Tunnel("a1", gcp_interface=0, connection="a", aws_tunnel=1, external_interface=0),
    "a2": Tunnel("a2", gcp_interface=0, connection="a", aws_tunnel=2, external_interface=1),
    "b1": Tunnel("b1", gcp_interface=1, connection="b", aws_tunnel=1, external_interface=2),
    "b2": Tunnel("b2", gcp_interface=1, connection="b", aws_tunnel=2, external_interface=3),
}
#: AWS VPN connection -> the GCP HA VPN interface its customer gateway stands for.
CONNECTIONS: dict[str, int] = {"a": 0, "b": 1}

#: Default inside CIDRs: four consecutive /30s clear of AWS's reserved blocks.
DEFAULT_INSIDE_BASE = IPv4Network("169.254.21.0/30")


# --- inside CIDRs -------------------------------------------------------------------------------

def inside_cidr_problem(value: str) -> str | None:
    """Why AWS would refuse `value` as a tunnel inside CIDR (None when it is acceptable)."""
    try:
        net = IPv4Network(value)
    except ValueError as exc:
        return f"{value!r} is not an IPv4 network ({exc})"
    if net.prefixlen != INSIDE_PREFIX:
        return f"{net} is a /{net.prefixlen}; a tunnel inside CIDR is a /{INSIDE_PREFIX}"
    if not net.subnet_of(LINK_LOCAL):
        return f"{net} is outside {LINK_LOCAL}"
    if net in AWS_RESERVED_INSIDE_CIDRS:
        return f"{net} is reserved by AWS (169.254.0.0/30-169.254.5.0/30 and 169.254.169.252/30)"
    return None


def inside_cidr_problems(cidrs: Mapping[str, str], path: str = "inside_cidrs") -> list[str]:
    """Every problem of a set of tunnel inside CIDRs (one gateway's), each with its field path."""
    errors: list[str] = []
    valid: dict[str, IPv4Network] = {}
    for key, value in cidrs.items():
        problem = inside_cidr_problem(value)
        if problem:
            errors.append(f"{path}.{key}: {problem}")
        else:
            valid[key] = IPv4Network(value)
    seen: dict[IPv4Network, str] = {}
    for key, net in valid.items():
        if net in seen:
            errors.append(f"{path}.{key}: {net} is also used by {path}.{seen[net]} "
                          "(inside CIDRs are unique per AWS gateway)")
        else:
            seen[net] = key
    return errors


def allocate_inside_cidrs(keys: Iterable[str] = TUNNELS, *, start: IPv4Network = DEFAULT_INSIDE_BASE,
                          taken: Iterable[str] = ()) -> dict[str, str]:
    """Consecutive acceptable /30s from `start` on, one per key, skipping reserved and taken ones."""
    problem = inside_cidr_problem(str(start)) if start not in AWS_RESERVED_INSIDE_CIDRS else None
    if problem:
        raise ValueError(f"start: {problem}")
    used = {IPv4Network(t) for t in taken}
    result: dict[str, str] = {}
    candidate = int(start.network_address)
    end = int(LINK_LOCAL.broadcast_address)
    for key in keys:
        while True:
            if candidate + 3 > end:
                raise ValueError(f"no free /30 left in {LINK_LOCAL} after {start}")
            net = IPv4Network((candidate, 30))
            candidate += 4
            if net not in AWS_RESERVED_INSIDE_CIDRS and net not in used:
                break
        used.add(net)
        result[key] = str(net)
    return result


def default_inside_cidrs() -> dict[str, str]:
    """The four tunnels' default inside CIDRs: 169.254.21.0/30, .4/30, .8/30, .12/30."""
    return allocate_inside_cidrs(TUNNELS)


def aws_inside_address(cidr: str) -> IPv4Address:
    """The AWS (VGW/TGW) side of a tunnel: the first host of its /30; the BGP peer of GCP."""
    return IPv4Network(cidr)[1]


def customer_inside_address(cidr: str) -> IPv4Address:
    """The customer (Cloud Router) side of a tunnel: the second host of its /30."""
    return IPv4Network(cidr)[2]


# --- ASNs ---------------------------------------------------------------------------------------

def is_private_asn(asn: int) -> bool:
    return PRIVATE_ASN_MIN <= asn <= PRIVATE_ASN_MAX


def asn_problems(cloud_router_asn: int, aws_asn: int, *, cloud_router_path: str = "cloud_router_asn",
                 aws_path: str = "aws_asn") -> list[str]:
    """The customer-gateway ASN is the Cloud Router's; the AWS gateway's must differ; both private."""
    errors = [f"{path}: {asn} is not a private ASN ({PRIVATE_ASN_MIN}-{PRIVATE_ASN_MAX})"
              for path, asn in ((cloud_router_path, cloud_router_asn), (aws_path, aws_asn))
              if not is_private_asn(asn)]
    if cloud_router_asn == aws_asn:
        errors.append(f"{aws_path}: equals {cloud_router_path} ({aws_asn}); the AWS side and the Cloud "
                      "Router need different ASNs for eBGP")
    return errors


# --- pre-shared keys ----------------------------------------------------------------------------

def psk_problem(psk: str) -> str | None:
    """Why AWS would refuse `psk` (None when acceptable); never echoes the key itself."""
    if not PSK_MIN <= len(psk) <= PSK_MAX:
        return f"a pre-shared key is {PSK_MIN}-{PSK_MAX} characters, got {len(psk)}"
    if not _PSK.fullmatch(psk):  # fullmatch: `$` would let a trailing newline through
        return "a pre-shared key may only contain letters, digits, '.' and '_'"
    if psk.startswith("0"):
        return "a pre-shared key must not start with 0"
    return None


def check_psk(psk: str, path: str = "psk") -> str:
    """`psk` unchanged when AWS accepts it; ValueError (without the key) otherwise."""
    problem = psk_problem(psk)
    if problem:
        raise ValueError(f"{path}: {problem}")
    return psk


def psk_from_random(value: str, path: str = "psk") -> str:
    """A RandomPassword result (letters and digits) made to start with a letter, then checked.

    The string is rotated to its first letter: every character is kept (no entropy is spent on
    a fixed prefix) and the result never starts with `0`.
    """
    first = next((i for i, c in enumerate(value) if c.isascii() and c.isalpha()), None)
    if first is None:
        raise ValueError(f"{path}: the random value has no letter to start the key with")
    return check_psk(value[first:] + value[:first], path)


# --- ciphers ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CipherSuite:
    """One cipher per role, spelled the way each cloud's API wants it.

    AWS: EC2 `VpnTunnelOptionsSpecification` (Phase1/2EncryptionAlgorithms, IntegrityAlgorithms,
    DHGroupNumbers). GCP: `VpnTunnel.cipherSuite` (phase1 encryption/integrity/prf/dh, phase2
    encryption/integrity/pfs), the names of Cloud VPN's "Supported IKE ciphers" page.
    """

    aws_encryption: str
    gcp_encryption: str
    aws_integrity: str
    #: None for AEAD ciphers (GCM carries its own integrity)
    gcp_integrity: str | None
    gcp_prf: str
    dh_group: int

    @property
    def gcp_dh(self) -> str:
        return f"Group-{self.dh_group}"


#: The suites offered; each pins one algorithm per role so both ends always select the same one.
CIPHER_SUITES: dict[str, CipherSuite] = {
    "aes-cbc-256": CipherSuite(aws_encryption="AES256", gcp_encryption="AES-CBC-256",
                               aws_integrity="SHA2-256", gcp_integrity="HMAC-SHA2-256-128",
                               gcp_prf="PRF-HMAC-SHA2-256", dh_group=14),
    "aes-gcm-256": CipherSuite(aws_encryption="AES256-GCM-16", gcp_encryption="AES-GCM-16-256",
                               aws_integrity="SHA2-256", gcp_integrity=None,
                               gcp_prf="PRF-HMAC-SHA2-256", dh_group=14),
}
DEFAULT_CIPHER_SUITE = "aes-cbc-256"
#: GCP cipher names -> the AWS name of the same algorithm (to compare both ends of a tunnel).
GCP_TO_AWS: dict[str, str] = {
    "AES-CBC-256": "AES256", "AES-GCM-16-256": "AES256-GCM-16",
    "HMAC-SHA2-256-128": "SHA2-256", "PRF-HMAC-SHA2-256": "SHA2-256",
    "Group-14": "14",
}


def cipher_problems(suite: str, path: str = "cipher_suite") -> list[str]:
    if suite not in CIPHER_SUITES:
        return [f"{path}: {suite!r} is not one of {sorted(CIPHER_SUITES)}"]
    return []


# --- GCP firewall: what the cluster needs from AWS ----------------------------------------------

KUBELET = 10250
CALICO_VXLAN = 4789
#: what Prometheus scrapes on a node's own address (kube-prometheus-stack's node-exporter, hostNetwork;
#: kube-proxy's metricsBindAddress 0.0.0.0:10249 in bootstrap/templates/k8s-kubeadm.yaml.j2)
NODE_EXPORTER = 9100
KUBE_PROXY_METRICS = 10249


def _bounded(field: str, cidrs: Mapping[str, IPv4Network]) -> None:
    for key, net in cidrs.items():
        if not isinstance(net, IPv4Network) or net.prefixlen == 0:
            raise ValueError(f"{field}.{key}: {net} is not a bounded IPv4 network")


def gcp_from_aws_rules(*, aws_cidrs: Mapping[str, IPv4Network], scraper_cidrs: Mapping[str, IPv4Network],
                       target_tags: tuple[str, ...],
                       app_ports: tuple[int, ...] = ()) -> dict[str, FirewallRule]:
    """Ingress to the GCP cluster nodes from AWS, over the VPN: kubelet, VXLAN, node metrics, the
    app ports.

    `aws_cidrs` names the sources of kubelet, VXLAN and app traffic (the K8s VPC and the pod CIDR).
    `scraper_cidrs` names the sources of Prometheus's scrapes of node-exporter (9100) and kube-proxy
    metrics (10249): the AWS *node* subnets, not the pod CIDR. Prometheus runs in a pod, but a
    scrape of a node address leaves its AWS node masqueraded to that node's address: the Calico
    pool has `natOutgoing: Enabled` (bootstrap/templates/k8s-calico-installation.yaml.j2) and a
    node address lies outside every Calico pool. (Un-NATed pod addresses could not cross anyway:
    EC2's source/destination check and the VPC route tables know no pod routes.)
    API server access goes the other way (GCP node -> AWS), so it needs no GCP ingress rule.
    """
    if not aws_cidrs:
        raise ValueError("aws_cidrs: at least one AWS source range is required")
    if not scraper_cidrs:
        raise ValueError("scraper_cidrs: at least one AWS node subnet is required")
    _bounded("aws_cidrs", aws_cidrs)
    _bounded("scraper_cidrs", scraper_cidrs)
    bad = [p for p in app_ports if not 1 <= p <= 65535]
    if bad:
        raise ValueError(f"app_ports: {bad} are not TCP ports")
    sources = tuple(net for _, net in sorted(aws_cidrs.items()))
    names = ", ".join(f"{k}={v}" for k, v in sorted(aws_cidrs.items()))
    rules = {
        "allow-aws-kubelet": FirewallRule(
            description=f"Kubelet API ({KUBELET}/tcp) from the AWS cluster over the VPN: {names}",
            allows={"tcp": (KUBELET,)}, source_ranges=sources, target_tags=target_tags),
        "allow-aws-vxlan": FirewallRule(
            description=f"Calico VXLAN ({CALICO_VXLAN}/udp) from the AWS cluster over the VPN: {names}",
            allows={"udp": (CALICO_VXLAN,)}, source_ranges=sources, target_tags=target_tags),
        "allow-aws-metrics": FirewallRule(
            description=f"Prometheus scrapes of node-exporter ({NODE_EXPORTER}/tcp) and kube-proxy metrics "
            f"({KUBE_PROXY_METRICS}/tcp) from the AWS node subnets over the VPN (pod traffic is SNATed "
            f"to its node): {', '.join(f'{k}={v}' for k, v in sorted(scraper_cidrs.items()))}",
            allows={"tcp": (NODE_EXPORTER, KUBE_PROXY_METRICS)},
            source_ranges=tuple(net for _, net in sorted(scraper_cidrs.items())), target_tags=target_tags),
    }
    if app_ports:
        rules["allow-aws-app"] = FirewallRule(
            description=f"Application ports {sorted(set(app_ports))} from the AWS cluster over the VPN: "
            f"{names}",
            allows={"tcp": tuple(sorted(set(app_ports)))}, source_ranges=sources, target_tags=target_tags)
    return rules


def parse_cidrs(values: Mapping[str, str]) -> dict[str, IPv4Network]:
    """`{name: "10.1.0.0/16"}` -> networks (ValueError naming the key when one does not parse)."""
    out: dict[str, IPv4Network] = {}
    for key, value in values.items():
        try:
            out[key] = ipaddress.IPv4Network(value)
        except ValueError as exc:
            raise ValueError(f"{key}: {value!r} is not an IPv4 network ({exc})") from exc
    return out
