"""Security-group rules of the v4 AWS cluster as data (pure): what may reach which role, and from where.

One security group per role; a rule's source is another role's group or a CIDR.
Roles:

- ``control-plane``: kubeadm control-plane nodes (API server, etcd, scheduler, controller-manager)
- ``worker``: every other node (app, Kafka, GPU); Prometheus runs here
- ``api-nlb``: the internal NLB in front of the API servers
- ``app-nlb``: the internet-facing application NLB (TLS), the only public entry point
- ``rds``: the PostgreSQL instance

The table assumes Calico's VXLAN backend with encapsulation always on (``vxlanMode: Always``):
pod-to-pod traffic between nodes is then UDP 4789 between node addresses, which these rules
allow; raw pod IPs would be dropped here (and by EC2's source/destination check). BGP 179 is
unused. Kubernetes NodePorts (30000-32767) are closed except the configured ingress NodePorts,
and those only from the application NLB's group (which works with client IP preservation on:
the NLB's group is what the target's group sees); the NLB's health checks reach kube-proxy's
health port (10256) on the workers, from the same group.

An NLB has a security group of its own (it can only be given one at creation), so its
targets reference that group instead of client CIDRs.

`check_internet_exposure` is the invariant every table must keep: no source outside RFC 1918
except the application NLB's ports 80/443.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Literal, get_args

from looper_infra.core.cidr import ANYWHERE, is_private
from looper_infra.rules.gcp_firewall import PUBLIC_WEB_PORTS

Role = Literal["control-plane", "worker", "api-nlb", "app-nlb", "rds"]
ROLES: tuple[Role, ...] = get_args(Role)
NODE_ROLES: tuple[Role, ...] = ("control-plane", "worker")
#: "-1" is every protocol (and every port) in EC2's API
Protocol = Literal["tcp", "udp", "-1"]

#: The description of each role's group (EC2 cannot change it without replacing the group).
ROLE_DESCRIPTIONS: dict[Role, str] = {
    "control-plane": "Looper Kubernetes control-plane nodes",
    "worker": "Looper Kubernetes worker nodes (app, Kafka, GPU)",
    "api-nlb": "Looper internal Kubernetes API load balancer",
    "app-nlb": "Looper internet-facing application load balancer",
    "rds": "Looper PostgreSQL (RDS)",
}

#: Tag of a group that is a declared public entry point (the policy pack reports internet ingress
#: on any group without it); only the application NLB's group carries it.
PUBLIC_ENTRY_TAG = "looper/public-entry"

# --- ports (kubeadm defaults, Calico, PostgreSQL) --------------------------------------------
SSH = 22
API_SERVER = 6443
ETCD_CLIENT, ETCD_PEER = 2379, 2380
ETCD_METRICS = 2381
KUBELET = 10250
KUBE_PROXY_METRICS = 10249
#: kube-proxy's health server (`/healthz`, `/livez`; healthzBindAddress 0.0.0.0:10256, the default):
#: the app NLB's target health check, which the worker group's ELB health follows
KUBE_PROXY_HEALTH = 10256
CONTROLLER_MANAGER = 10257
SCHEDULER = 10259
NODE_EXPORTER = 9100
CALICO_VXLAN = 4789
CALICO_TYPHA = 5473
POSTGRES = 5432
HTTPS = 443
NODE_PORT_RANGE = (30000, 32767)

#: What EC2 accepts in a rule description ("&" is refused for group references, so never used).
_DESCRIPTION = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=;{}!$*]{1,255}\Z")

Source = Role | IPv4Network


def _check_rule(description: str, protocol: str, from_port: int, to_port: int,
                peers: Sequence[object]) -> list[str]:
    errors = []
    if not _DESCRIPTION.match(description):
        errors.append(f"description {description!r} has characters EC2 refuses or is too long")
    if protocol not in get_args(Protocol):
        errors.append(f"protocol {protocol!r} is not one of {get_args(Protocol)}")
    if protocol == "-1":
        if (from_port, to_port) != (0, 65535):
            errors.append("an all-protocols rule covers every port: use 0-65535")
    elif not 0 <= from_port <= to_port <= 65535:
        errors.append(f"ports {from_port}-{to_port} are not a range within 0-65535")
    if sum(p is not None for p in peers) != 1:
        errors.append("a rule names exactly one peer: a role or a CIDR")
    return errors


def _slug(peer: Source) -> str:
    return str(peer).replace("/", "-") if isinstance(peer, IPv4Network) else str(peer)


def _ports(protocol: str, from_port: int, to_port: int) -> str:
    if protocol == "-1":
        return "all"
    return f"{protocol}-{from_port}" + (f"-{to_port}" if to_port != from_port else "")


@dataclass(frozen=True)
class SgRule:
    """One ingress rule: `protocol` ports `from_port`-`to_port` from a role's group or a CIDR."""

    description: str
    protocol: Protocol
    from_port: int
    to_port: int
    source_role: Role | None = None
    source_cidr: IPv4Network | None = None

    def __post_init__(self) -> None:
        errors = _check_rule(self.description, self.protocol, self.from_port, self.to_port,
                             (self.source_role, self.source_cidr))
        if self.source_role is not None and self.source_role not in ROLES:
            errors.append(f"unknown source role {self.source_role!r}")
        if errors:
            raise ValueError(f"{self.description}: " + "; ".join(errors))

    @property
    def source(self) -> Source:
        return self.source_role if self.source_role is not None else self.source_cidr  # type: ignore[return-value]

    @property
    def key(self) -> str:
        """Stable per role: `tcp-6443-from-worker`, `udp-4789-from-10.0.2.0-24`."""
        return f"{_ports(self.protocol, self.from_port, self.to_port)}-from-{_slug(self.source)}"

    def covers(self, protocol: str, port: int) -> bool:
        return self.protocol == "-1" or (
            self.protocol == protocol and self.from_port <= port <= self.to_port)


@dataclass(frozen=True)
class SgEgressRule:
    """One egress rule: to a role's group or a CIDR."""

    description: str
    protocol: Protocol
    from_port: int
    to_port: int
    dest_role: Role | None = None
    dest_cidr: IPv4Network | None = None

    def __post_init__(self) -> None:
        errors = _check_rule(self.description, self.protocol, self.from_port, self.to_port,
                             (self.dest_role, self.dest_cidr))
        if self.dest_role is not None and self.dest_role not in ROLES:
            errors.append(f"unknown destination role {self.dest_role!r}")
        if errors:
            raise ValueError(f"{self.description}: " + "; ".join(errors))

    @property
    def dest(self) -> Source:
        return self.dest_role if self.dest_role is not None else self.dest_cidr  # type: ignore[return-value]

    @property
    def key(self) -> str:
        return f"{_ports(self.protocol, self.from_port, self.to_port)}-to-{_slug(self.dest)}"


def _describe(peer: Source, labels: dict[str, str]) -> str:
    if isinstance(peer, IPv4Network):
        return f"{labels.get(str(peer), 'network')} {peer}"
    return f"{peer} group"


def _ingress(purpose: str, protocol: Protocol, ports: int | tuple[int, int],
             sources: Iterable[Source], labels: dict[str, str]) -> list[SgRule]:
    lo, hi = (ports, ports) if isinstance(ports, int) else ports
    rules = []
    for src in sources:
        description = f"{purpose} from {_describe(src, labels)}"
        if isinstance(src, IPv4Network):
            rules.append(SgRule(description, protocol, lo, hi, source_cidr=src))
        else:
            rules.append(SgRule(description, protocol, lo, hi, source_role=src))
    return rules


def _networks(field: str, values: Sequence[IPv4Network | str], errors: list[str],
              *, private: bool) -> tuple[IPv4Network, ...]:
    nets: list[IPv4Network] = []
    for i, value in enumerate(values):
        try:
            net = ipaddress.IPv4Network(value)
        except ValueError as exc:
            errors.append(f"{field}[{i}]: {value!r} is not an IPv4 network ({exc})")
            continue
        if private and not is_private(net):
            errors.append(f"{field}[{i}]: {net} is not inside RFC 1918 space "
                          "(SSH, the API server and node ports are never opened to the internet)")
        nets.append(net)
    return tuple(dict.fromkeys(nets))


def _node_ports(node_ports: Sequence[int], errors: list[str]) -> tuple[int, ...]:
    if not node_ports:
        errors.append("node_ports: at least one ingress NodePort is required")
    for i, port in enumerate(node_ports):
        if isinstance(port, bool) or not isinstance(port, int) or not (
                NODE_PORT_RANGE[0] <= port <= NODE_PORT_RANGE[1]):
            errors.append(f"node_ports[{i}]: {port!r} is not a NodePort "
                          f"({NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]})")
    if len(set(node_ports)) != len(node_ports):
        errors.append("node_ports: duplicate ports")
    return tuple(node_ports)


@dataclass(frozen=True)
class _Inputs:
    vpn: tuple[IPv4Network, ...]
    gcp: tuple[IPv4Network, ...]
    node_ports: tuple[int, ...]
    public: tuple[IPv4Network, ...]
    labels: dict[str, str]


def _inputs(vpn_cidrs: Sequence[IPv4Network | str], gcp_cidrs: Sequence[IPv4Network | str],
            node_ports: Sequence[int], public_cidrs: Sequence[IPv4Network | str]) -> _Inputs:
    errors: list[str] = []
    vpn = _networks("vpn_cidrs", vpn_cidrs, errors, private=True)
    gcp = _networks("gcp_cidrs", gcp_cidrs, errors, private=True)
    public = _networks("public_cidrs", public_cidrs, errors, private=False)
    if not public:
        errors.append("public_cidrs: the application load balancer needs at least one source")
    ports = _node_ports(node_ports, errors)
    shared = set(vpn) & set(gcp)
    if shared:
        errors.append(f"vpn_cidrs and gcp_cidrs both list {sorted(map(str, shared))}")
    if errors:
        raise ValueError("; ".join(errors))
    labels = {**{str(n): "VPN" for n in vpn}, **{str(n): "GCP nodes" for n in gcp},
              **{str(n): "clients" for n in public}}
    labels[str(ANYWHERE)] = "internet"
    return _Inputs(vpn, gcp, ports, public, labels)


def rules_for(
    role: Role,
    *,
    vpn_cidrs: Sequence[IPv4Network | str],
    gcp_cidrs: Sequence[IPv4Network | str],
    node_ports: Sequence[int],
    public_cidrs: Sequence[IPv4Network | str] = (ANYWHERE,),
) -> tuple[SgRule, ...]:
    """The ingress rules of `role`'s security group.

    `vpn_cidrs`: where administrators arrive from (the OpenVPN VPC and/or its client range):
    SSH and the API server. `gcp_cidrs`: the GCP node range behind the site-to-site VPN
    (a GPU node that joins the cluster): API server, VXLAN, Typha. `node_ports`: the ingress
    controller's NodePorts behind the application NLB. `public_cidrs`: who may use the
    application NLB (80/443; the internet by default, as it is the declared public entry point).
    Raises ValueError on bad inputs or a rule that would break `check_internet_exposure`.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {ROLES}")
    x = _inputs(vpn_cidrs, gcp_cidrs, node_ports, public_cidrs)
    lb = x.labels
    nodes: tuple[Source, ...] = NODE_ROLES
    rules: list[SgRule] = []
    if role in NODE_ROLES:
        if role == "control-plane":
            rules += _ingress("Kubernetes API server", "tcp", API_SERVER,
                              (*nodes, "api-nlb", *x.vpn, *x.gcp), lb)
            rules += _ingress("etcd client and peer", "tcp", (ETCD_CLIENT, ETCD_PEER),
                              ("control-plane",), lb)
            for purpose, port in (("kube-scheduler metrics", SCHEDULER),
                                  ("kube-controller-manager metrics", CONTROLLER_MANAGER),
                                  ("etcd metrics", ETCD_METRICS)):
                rules += _ingress(f"{purpose} (Prometheus)", "tcp", port, ("worker",), lb)
        rules += _ingress("kubelet API", "tcp", KUBELET, nodes, lb)
        rules += _ingress("kube-proxy metrics (Prometheus)", "tcp", KUBE_PROXY_METRICS, ("worker",), lb)
        rules += _ingress("node exporter (Prometheus)", "tcp", NODE_EXPORTER, ("worker",), lb)
        rules += _ingress("Calico VXLAN", "udp", CALICO_VXLAN, (*nodes, *x.gcp), lb)
        rules += _ingress("Calico Typha", "tcp", CALICO_TYPHA, (*nodes, *x.gcp), lb)
        if role == "worker":
            for port in x.node_ports:
                rules += _ingress(f"ingress NodePort {port}", "tcp", port, ("app-nlb",), lb)
            rules += _ingress("kube-proxy health (app NLB health check)", "tcp", KUBE_PROXY_HEALTH,
                              ("app-nlb",), lb)
        rules += _ingress("SSH", "tcp", SSH, x.vpn, lb)
    elif role == "api-nlb":
        rules += _ingress("Kubernetes API", "tcp", API_SERVER, (*nodes, *x.vpn, *x.gcp), lb)
    elif role == "app-nlb":
        for port in PUBLIC_WEB_PORTS:
            rules += _ingress(f"HTTP{'S' if port == HTTPS else ''}", "tcp", port, x.public, lb)
    elif role == "rds":
        rules += _ingress("PostgreSQL", "tcp", POSTGRES, ("worker",), lb)
    return _checked(role, tuple(rules))


def egress_for(role: Role, *, node_ports: Sequence[int]) -> tuple[SgEgressRule, ...]:
    """The egress rules of `role`'s group (EC2's default allow-all egress is not kept).

    Nodes reach everything (NAT gateways, VPC endpoints, the GCP node, RDS); each NLB only its
    targets; RDS nothing (answers to allowed connections need no rule).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {ROLES}")
    if role in NODE_ROLES:
        return (SgEgressRule("All outbound (NAT gateways, VPC endpoints, VPN)", "-1", 0, 65535,
                             dest_cidr=ANYWHERE),)
    if role == "api-nlb":
        return (SgEgressRule("Kubernetes API servers and their health checks", "tcp", API_SERVER,
                             API_SERVER, dest_role="control-plane"),)
    if role == "app-nlb":
        errors: list[str] = []
        ports = _node_ports(node_ports, errors)
        if errors:
            raise ValueError("; ".join(errors))
        return (*(SgEgressRule(f"ingress NodePort {p} and its health check", "tcp", p, p, dest_role="worker")
                  for p in ports),
                SgEgressRule("kube-proxy health of the workers (target health checks)", "tcp",
                             KUBE_PROXY_HEALTH, KUBE_PROXY_HEALTH, dest_role="worker"))
    return ()


def endpoint_rules(vpc_cidr: IPv4Network | str) -> tuple[SgRule, ...]:
    """Interface VPC endpoints: HTTPS from inside the VPC, nothing else."""
    errors: list[str] = []
    nets = _networks("vpc_cidr", (vpc_cidr,), errors, private=True)
    if errors:
        raise ValueError("; ".join(errors))
    net = nets[0]
    return (SgRule(f"HTTPS to AWS APIs from the VPC {net}", "tcp", HTTPS, HTTPS, source_cidr=net),)


def faces_internet(rules: Iterable[SgRule]) -> bool:
    """Whether any rule admits a source outside RFC 1918."""
    return any(r.source_cidr is not None and not is_private(r.source_cidr) for r in rules)


def check_internet_exposure(role: str, rules: Iterable[SgRule]) -> list[str]:
    """Every rule that lets a non-RFC 1918 source in, except the application NLB's 80/443."""
    problems = []
    for rule in rules:
        if rule.source_cidr is None or is_private(rule.source_cidr):
            continue
        allowed = role == "app-nlb" and rule.protocol == "tcp" and (
            rule.from_port == rule.to_port and rule.from_port in PUBLIC_WEB_PORTS)
        if not allowed:
            problems.append(f"{role}: {rule.key} opens {_ports(rule.protocol, rule.from_port, rule.to_port)}"
                            f" to {rule.source_cidr} (only the application NLB's 80/443 may face the "
                            "internet)")
    return problems


def _checked(role: str, rules: tuple[SgRule, ...]) -> tuple[SgRule, ...]:
    problems = check_internet_exposure(role, rules)
    keys = [r.key for r in rules]
    problems += [f"{role}: duplicate rule {k}" for k in sorted({k for k in keys if keys.count(k) > 1})]
    if problems:
        raise ValueError("; ".join(problems))
    return rules
