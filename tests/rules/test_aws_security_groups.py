"""The v4 security-group table, read as a table: who reaches which port of which role."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from looper_infra.rules import aws_security_groups
from looper_infra.rules.aws_security_groups import (
    ROLES,
    SgEgressRule,
    SgRule,
    check_internet_exposure,
    rules_for,
)

VPN_VPC, VPN_CLIENTS, GCP = "10.2.0.0/16", "10.8.0.0/24", "10.0.2.0/24"
NODE_PORTS = (30080, 30081)
CP, WORKER, API_NLB, APP_NLB, RDS = ROLES
NODES = {CP, WORKER}
ANY = "0.0.0.0/0"


def table(**overrides: object) -> dict[str, tuple[SgRule, ...]]:
    kwargs: dict[str, object] = {"vpn_cidrs": (VPN_VPC, VPN_CLIENTS), "gcp_cidrs": (GCP,),
                                 "node_ports": NODE_PORTS, **overrides}
    return {role: rules_for(role, **kwargs) for role in ROLES}  # type: ignore[arg-type]


def sources(rules: tuple[SgRule, ...], protocol: str, port: int) -> set[str]:
    return {str(r.source) for r in rules if r.covers(protocol, port)}


TABLE = table()


@pytest.mark.parametrize(("role", "protocol", "port", "expected"), [
    # control plane
    (CP, "tcp", 6443, {CP, WORKER, API_NLB, VPN_VPC, VPN_CLIENTS, GCP}),
    (CP, "tcp", 2379, {CP}),
    (CP, "tcp", 2380, {CP}),
    (CP, "tcp", 2381, {WORKER}),
    (CP, "tcp", 10250, {CP, WORKER}),
    (CP, "tcp", 10257, {WORKER}),
    (CP, "tcp", 10259, {WORKER}),
    (CP, "tcp", 10249, {WORKER}),
    (CP, "tcp", 9100, {WORKER}),
    (CP, "udp", 4789, {CP, WORKER, GCP}),
    (CP, "tcp", 5473, {CP, WORKER, GCP}),
    (CP, "tcp", 22, {VPN_VPC, VPN_CLIENTS}),
    (CP, "tcp", 30080, set()),
    (CP, "tcp", 179, set()),  # BGP is unused with VXLAN
    (CP, "udp", 53, set()),
    # workers (every non-control-plane node: app, Kafka, GPU)
    (WORKER, "tcp", 6443, set()),
    # kube-proxy's health port: only the app NLB's health checks
    (WORKER, "tcp", 10256, {APP_NLB}),
    (CP, "tcp", 10256, set()),
    (WORKER, "tcp", 2379, set()),
    (WORKER, "tcp", 10250, {CP, WORKER}),
    (WORKER, "tcp", 10249, {WORKER}),
    (WORKER, "tcp", 9100, {WORKER}),
    (WORKER, "tcp", 10257, set()),
    (WORKER, "udp", 4789, {CP, WORKER, GCP}),
    (WORKER, "tcp", 5473, {CP, WORKER, GCP}),
    (WORKER, "tcp", 30080, {APP_NLB}),
    (WORKER, "tcp", 30081, {APP_NLB}),
    (WORKER, "tcp", 30000, set()),
    (WORKER, "tcp", 30082, set()),
    (WORKER, "tcp", 32767, set()),
    (WORKER, "udp", 30080, set()),
    (WORKER, "tcp", 22, {VPN_VPC, VPN_CLIENTS}),
    (WORKER, "tcp", 80, set()),
    (WORKER, "tcp", 443, set()),
    (WORKER, "tcp", 5432, set()),
    # load balancers
    (API_NLB, "tcp", 6443, {CP, WORKER, VPN_VPC, VPN_CLIENTS, GCP}),
    (API_NLB, "tcp", 443, set()),
    (API_NLB, "tcp", 22, set()),
    (APP_NLB, "tcp", 443, {ANY}),
    (APP_NLB, "tcp", 80, {ANY}),
    (APP_NLB, "tcp", 30080, set()),
    (APP_NLB, "udp", 443, set()),
    (APP_NLB, "tcp", 22, set()),
    # database
    (RDS, "tcp", 5432, {WORKER}),
    (RDS, "tcp", 22, set()),
    (RDS, "tcp", 6443, set()),
])
def test_who_reaches_what(role: str, protocol: str, port: int, expected: set[str]) -> None:
    assert sources(TABLE[role], protocol, port) == expected


def test_no_rule_beyond_the_listed_ports() -> None:
    """Inventory per role: a rule added without a row above shows up here."""
    ports = {role: {(r.protocol, r.from_port, r.to_port) for r in rules} for role, rules in TABLE.items()}
    node_common = {("tcp", 10250, 10250), ("tcp", 10249, 10249), ("tcp", 9100, 9100),
                   ("udp", 4789, 4789), ("tcp", 5473, 5473), ("tcp", 22, 22)}
    assert ports[CP] == node_common | {("tcp", 6443, 6443), ("tcp", 2379, 2380), ("tcp", 2381, 2381),
                                       ("tcp", 10257, 10257), ("tcp", 10259, 10259)}
    assert ports[WORKER] == node_common | {("tcp", 30080, 30080), ("tcp", 30081, 30081),
                                           ("tcp", 10256, 10256)}
    assert ports[API_NLB] == {("tcp", 6443, 6443)}
    assert ports[APP_NLB] == {("tcp", 80, 80), ("tcp", 443, 443)}
    assert ports[RDS] == {("tcp", 5432, 5432)}


def test_only_the_app_nlb_faces_the_internet() -> None:
    for role, rules in TABLE.items():
        for rule in rules:
            if rule.source_cidr is not None and not rule.source_cidr.is_private:
                assert (role, rule.protocol, rule.from_port, rule.to_port) in {
                    (APP_NLB, "tcp", 80, 80), (APP_NLB, "tcp", 443, 443)}, rule
        assert check_internet_exposure(role, rules) == []


def test_etcd_only_from_control_planes_and_rds_only_from_workers() -> None:
    etcd = [r for rules in TABLE.values() for r in rules if r.covers("tcp", 2379) or r.covers("tcp", 2380)]
    assert etcd and all(r.source_role == CP for r in etcd)
    postgres = [(role, r) for role, rules in TABLE.items() for r in rules if r.covers("tcp", 5432)]
    assert [(role, r.source) for role, r in postgres] == [(RDS, WORKER)]
    assert all(r.source_role == WORKER for r in TABLE[RDS])


def test_vxlan_and_typha_from_the_gcp_node_range_both_node_roles() -> None:
    for role in NODES:
        assert GCP in sources(TABLE[role], "udp", 4789)
        assert GCP in sources(TABLE[role], "tcp", 5473)
    # ... and nothing else from GCP but the API server
    gcp_ports = {(role, r.protocol, r.from_port) for role, rules in TABLE.items() for r in rules
                 if str(r.source) == GCP}
    assert gcp_ports == {(CP, "tcp", 6443), (API_NLB, "tcp", 6443), (CP, "udp", 4789),
                         (WORKER, "udp", 4789), (CP, "tcp", 5473), (WORKER, "tcp", 5473)}


def test_node_port_range_is_closed_except_the_ingress_ports_from_the_app_nlb() -> None:
    lo, hi = aws_security_groups.NODE_PORT_RANGE
    for role, rules in TABLE.items():
        for rule in rules:
            if rule.to_port >= lo and rule.from_port <= hi:
                assert (role, rule.source, rule.from_port, rule.to_port) in {
                    (WORKER, APP_NLB, p, p) for p in NODE_PORTS}, rule


def test_ssh_only_from_the_vpn_and_absent_without_one() -> None:
    for role, rules in TABLE.items():
        ssh = sources(rules, "tcp", 22)
        assert ssh == ({VPN_VPC, VPN_CLIENTS} if role in NODES else set())
    without_vpn = table(vpn_cidrs=())
    assert all(not r.covers("tcp", 22) for rules in without_vpn.values() for r in rules)
    assert sources(without_vpn[CP], "tcp", 6443) == {CP, WORKER, API_NLB, GCP}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"vpn_cidrs": (ANY,)}, r"vpn_cidrs\[0\]: 0.0.0.0/0 is not inside RFC 1918"),
    ({"vpn_cidrs": ("203.0.113.0/24",)}, r"vpn_cidrs\[0\]: 203.0.113.0/24 is not inside RFC 1918"),
    ({"gcp_cidrs": ("0.0.0.0/1",)}, r"gcp_cidrs\[0\]: 0.0.0.0/1 is not inside RFC 1918"),
    ({"gcp_cidrs": ("10.0.2.1/24",)}, r"gcp_cidrs\[0\]: '10.0.2.1/24' is not an IPv4 network"),
    ({"vpn_cidrs": ("10.2.0.0/33",)}, r"vpn_cidrs\[0\]: '10.2.0.0/33' is not an IPv4 network"),
    ({"gcp_cidrs": (VPN_VPC,)}, r"vpn_cidrs and gcp_cidrs both list \['10.2.0.0/16'\]"),
    ({"node_ports": ()}, r"node_ports: at least one"),
    ({"node_ports": (8080, 30081)}, r"node_ports\[0\]: 8080 is not a NodePort \(30000-32767\)"),
    ({"node_ports": (30080, 30080)}, r"node_ports: duplicate ports"),
    ({"public_cidrs": ()}, r"public_cidrs: the application load balancer needs at least one source"),
])
def test_bad_inputs_raise(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        table(**overrides)


def test_every_error_is_reported_at_once() -> None:
    with pytest.raises(ValueError) as info:
        table(vpn_cidrs=(ANY,), node_ports=(80,))
    assert "vpn_cidrs[0]" in str(info.value) and "node_ports[0]" in str(info.value)


def test_unknown_role_raises() -> None:
    with pytest.raises(ValueError, match="unknown role 'bastion'"):
        rules_for("bastion", vpn_cidrs=(), gcp_cidrs=(), node_ports=NODE_PORTS)  # type: ignore[arg-type]


def test_a_restricted_public_range_stays_on_80_443() -> None:
    office = "198.51.100.0/24"
    rules = rules_for(APP_NLB, vpn_cidrs=(), gcp_cidrs=(), node_ports=NODE_PORTS, public_cidrs=(office,))
    assert {(r.from_port, str(r.source)) for r in rules} == {(80, office), (443, office)}


def test_internet_exposure_check_flags_what_the_table_never_builds() -> None:
    ssh_open = SgRule("SSH", "tcp", 22, 22, source_cidr=IPv4Network(ANY))
    odd_port = SgRule("alt", "tcp", 8443, 8443, source_cidr=IPv4Network("203.0.113.0/24"))
    web = SgRule("web", "tcp", 443, 443, source_cidr=IPv4Network(ANY))
    assert len(check_internet_exposure(WORKER, [ssh_open, web])) == 2
    assert len(check_internet_exposure(APP_NLB, [odd_port, web])) == 1
    assert check_internet_exposure(APP_NLB, [web]) == []
    assert check_internet_exposure(CP, [SgRule("vpn", "tcp", 22, 22,
                                                source_cidr=IPv4Network(VPN_VPC))]) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"source_role": WORKER, "source_cidr": IPv4Network(VPN_VPC)}, "exactly one peer"),
    ({}, "exactly one peer"),
    ({"source_role": "bastion"}, "unknown source role"),
    ({"source_role": WORKER, "from_port": 100, "to_port": 99}, "not a range"),
    ({"source_role": WORKER, "to_port": 70000}, "not a range"),
    ({"source_role": WORKER, "description": "kubelet -> node"}, "characters EC2 refuses"),
    ({"source_role": WORKER, "description": "a & b"}, "characters EC2 refuses"),
    ({"source_role": WORKER, "protocol": "-1"}, "every port"),
    ({"source_role": WORKER, "protocol": "icmp"}, "protocol 'icmp'"),
])
def test_a_rule_checks_itself(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"description": "x", "protocol": "tcp", "from_port": 10, "to_port": 10,
                                 **kwargs}
    with pytest.raises(ValueError, match=message):
        SgRule(**fields)  # type: ignore[arg-type]


def test_keys_are_stable_and_unique_per_role() -> None:
    reordered = table(vpn_cidrs=(VPN_CLIENTS, VPN_VPC))
    for role, rules in TABLE.items():
        keys = [r.key for r in rules]
        assert len(keys) == len(set(keys))
        assert set(keys) == {r.key for r in reordered[role]}
    assert "tcp-2379-2380-from-control-plane" in {r.key for r in TABLE[CP]}
    assert "udp-4789-from-10.0.2.0-24" in {r.key for r in TABLE[WORKER]}


def test_egress() -> None:
    def out(role: str) -> set[tuple[str, int, int, str]]:
        return {(r.protocol, r.from_port, r.to_port, str(r.dest))
                for r in aws_security_groups.egress_for(role, node_ports=NODE_PORTS)}  # type: ignore[arg-type]

    for node in NODES:
        assert out(node) == {("-1", 0, 65535, ANY)}
    assert out(API_NLB) == {("tcp", 6443, 6443, CP)}
    # the NodePorts, and kube-proxy's health port the target groups check (nlb.py)
    assert out(APP_NLB) == {("tcp", 30080, 30080, WORKER), ("tcp", 30081, 30081, WORKER),
                            ("tcp", 10256, 10256, WORKER)}
    assert out(RDS) == set()
    with pytest.raises(ValueError, match="node_ports"):
        aws_security_groups.egress_for(APP_NLB, node_ports=(80,))
    with pytest.raises(ValueError, match="exactly one peer"):
        SgEgressRule("x", "tcp", 1, 1)


def test_endpoint_rules_https_from_the_vpc_only() -> None:
    (rule,) = aws_security_groups.endpoint_rules("10.1.0.0/16")
    assert (rule.protocol, rule.from_port, rule.to_port, str(rule.source)) == ("tcp", 443, 443, "10.1.0.0/16")
    with pytest.raises(ValueError, match="RFC 1918"):
        aws_security_groups.endpoint_rules(ANY)
