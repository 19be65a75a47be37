"""The pure HA VPN rules: inside CIDRs, ASNs, pre-shared keys, ciphers, wiring, GCP firewall data."""

from __future__ import annotations

import string
from collections import Counter
from ipaddress import IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from looper_infra.rules import ha_vpn
from looper_infra.rules.ha_vpn import AWS_RESERVED_INSIDE_CIDRS, LINK_LOCAL, TUNNELS

# AWS's list (EC2 API VpnTunnelOptionsSpecification.TunnelInsideCidr), written out independently
AWS_RESERVED = ["169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30", "169.254.4.0/30",
                "169.254.5.0/30", "169.254.169.252/30"]

# --- inside CIDRs ----------------------------------------------------------------------------------


def test_reserved_list_is_awss() -> None:
    assert sorted(map(str, AWS_RESERVED_INSIDE_CIDRS)) == sorted(AWS_RESERVED)


@pytest.mark.parametrize(("cidr", "problem"), [
    ("169.254.21.0/30", None),
    ("169.254.6.0/30", None),                  # right after the reserved block
    ("169.254.5.4/30", None),                  # only 169.254.5.0/30 of that /24 is reserved
    ("169.254.169.248/30", None),
    ("169.254.255.252/30", None),
    *[(c, "is reserved by AWS") for c in AWS_RESERVED],
    ("169.254.21.0/29", "is a /29; a tunnel inside CIDR is a /30"),
    ("169.254.21.0/31", "is a /31"),
    ("10.0.0.0/30", "is outside 169.254.0.0/16"),
    ("169.255.0.0/30", "is outside 169.254.0.0/16"),
    ("169.254.21.1/30", "is not an IPv4 network"),   # host bits set
    ("not-a-cidr", "is not an IPv4 network"),
])
def test_inside_cidr_table(cidr: str, problem: str | None) -> None:
    found = ha_vpn.inside_cidr_problem(cidr)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_inside_cidrs_must_be_unique_and_every_error_has_its_path() -> None:
    problems = ha_vpn.inside_cidr_problems({
        "a1": "169.254.21.0/30", "a2": "169.254.21.0/30", "b1": "169.254.1.0/30", "b2": "169.254.21.8/29"})
    assert problems == [
        "inside_cidrs.b1: 169.254.1.0/30 is reserved by AWS (169.254.0.0/30-169.254.5.0/30 and "
        "169.254.169.252/30)",
        "inside_cidrs.b2: 169.254.21.8/29 is a /29; a tunnel inside CIDR is a /30",
        "inside_cidrs.a2: 169.254.21.0/30 is also used by inside_cidrs.a1 (inside CIDRs are unique per "
        "AWS gateway)",
    ]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=LINK_LOCAL.num_addresses // 4 - 1))
def test_every_link_local_slash30_is_valid_unless_reserved(index: int) -> None:
    net = IPv4Network((int(LINK_LOCAL.network_address) + 4 * index, 30))
    assert (ha_vpn.inside_cidr_problem(str(net)) is None) == (str(net) not in AWS_RESERVED)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=32))
def test_anything_but_a_link_local_slash30_is_refused(address: int, prefix: int) -> None:
    net = IPv4Network((address, prefix), strict=False)
    if prefix == 30 and net.subnet_of(LINK_LOCAL):
        return
    assert ha_vpn.inside_cidr_problem(str(net)) is not None


def test_default_allocation_is_four_consecutive_valid_slash30s() -> None:
    defaults = ha_vpn.default_inside_cidrs()
    assert defaults == {"a1": "169.254.21.0/30", "a2": "169.254.21.4/30", "b1": "169.254.21.8/30",
                        "b2": "169.254.21.12/30"}
    assert ha_vpn.inside_cidr_problems(defaults) == []
    assert str(ha_vpn.aws_inside_address(defaults["a1"])) == "169.254.21.1"
    assert str(ha_vpn.customer_inside_address(defaults["a1"])) == "169.254.21.2"


def test_allocation_skips_reserved_and_taken_blocks() -> None:
    got = ha_vpn.allocate_inside_cidrs(["x", "y", "z"], start=IPv4Network("169.254.4.0/30"),
                                          taken=["169.254.4.4/30"])
    # 169.254.4.0/30 is reserved (a start there is skipped, not refused), .4.4 is taken
    assert got == {"x": "169.254.4.8/30", "y": "169.254.4.12/30", "z": "169.254.4.16/30"}
    got = ha_vpn.allocate_inside_cidrs(["x"], start=IPv4Network("169.254.5.0/30"))
    assert got == {"x": "169.254.5.4/30"}
    with pytest.raises(ValueError, match=r"start: 10\.0\.0\.0/30 is outside"):
        ha_vpn.allocate_inside_cidrs(["x"], start=IPv4Network("10.0.0.0/30"))
    with pytest.raises(ValueError, match="no free /30 left"):
        ha_vpn.allocate_inside_cidrs(["x", "y"], start=IPv4Network("169.254.255.252/30"))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=LINK_LOCAL.num_addresses // 4 - 64),
       st.lists(st.integers(min_value=0, max_value=LINK_LOCAL.num_addresses // 4 - 1), max_size=8),
       st.integers(min_value=1, max_value=8))
def test_allocation_always_gives_valid_unique_untaken_cidrs(start: int, taken_idx: list[int],
                                                            count: int) -> None:
    def slash30(i: int) -> IPv4Network:
        return IPv4Network((int(LINK_LOCAL.network_address) + 4 * i, 30))

    taken = [str(slash30(i)) for i in taken_idx]
    keys = [f"t{i}" for i in range(count)]
    got = ha_vpn.allocate_inside_cidrs(keys, start=slash30(start), taken=taken)
    assert list(got) == keys
    assert ha_vpn.inside_cidr_problems(got) == []
    assert not set(got.values()) & set(taken)
    assert all(IPv4Network(c).network_address >= slash30(start).network_address for c in got.values())


# --- ASNs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("router", "aws", "expected"), [
    (65010, 64512, []),
    (64512, 65534, []),
    (64512, 64512, ["aws_asn: equals cloud_router_asn (64512); the AWS side and the Cloud Router need "
                    "different ASNs for eBGP"]),
    (64511, 64512, ["cloud_router_asn: 64511 is not a private ASN (64512-65534)"]),
    (65010, 65535, ["aws_asn: 65535 is not a private ASN (64512-65534)"]),
    (7224, 7224, ["cloud_router_asn: 7224 is not a private ASN (64512-65534)",
                  "aws_asn: 7224 is not a private ASN (64512-65534)",
                  "aws_asn: equals cloud_router_asn (7224); the AWS side and the Cloud Router need "
                  "different ASNs for eBGP"]),
])
def test_asn_table(router: int, aws: int, expected: list[str]) -> None:
    assert ha_vpn.asn_problems(router, aws) == expected


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=2**32 - 1))
def test_asns_are_accepted_exactly_when_private_and_different(router: int, aws: int) -> None:
    ok = 64512 <= router <= 65534 and 64512 <= aws <= 65534 and router != aws
    assert (ha_vpn.asn_problems(router, aws) == []) == ok


# --- pre-shared keys --------------------------------------------------------------------------------

PSK_CHARS = string.ascii_letters + string.digits + "._"


@pytest.mark.parametrize(("psk", "problem"), [
    ("Abcdefgh", None),
    ("a" * 64, None),
    ("x.y_z.1234", None),
    ("1" + "a" * 7, None),                 # starting with a digit other than 0 is allowed
    ("Abcdefg", "8-64 characters, got 7"),
    ("A" * 65, "8-64 characters, got 65"),
    ("0abcdefgh", "must not start with 0"),
    ("abc-defgh", "may only contain"),
    ("abc defgh", "may only contain"),
    ("abcdéfgh", "may only contain"),
    ("abcdefgh\n", "may only contain"),
])
def test_psk_table(psk: str, problem: str | None) -> None:
    found = ha_vpn.psk_problem(psk)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
        assert psk not in found  # the message never repeats the key


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(PSK_CHARS + "-!@ é0\t"), max_size=70))
def test_psk_rule_matches_awss_wording(psk: str) -> None:
    ok = 8 <= len(psk) <= 64 and all(c in PSK_CHARS for c in psk) and not psk.startswith("0")
    assert (ha_vpn.psk_problem(psk) is None) == ok
    if not ok:
        with pytest.raises(ValueError, match=r"^psk\.a1: "):
            ha_vpn.check_psk(psk, "psk.a1")


@settings(max_examples=300)
@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=64)
       .filter(lambda s: any(c.isalpha() for c in s)))
def test_psk_from_random_output_is_a_valid_rotation(value: str) -> None:
    psk = ha_vpn.psk_from_random(value)
    assert ha_vpn.psk_problem(psk) is None
    assert psk[0].isalpha()
    assert Counter(psk) == Counter(value) and psk in value + value  # same characters, rotated


def test_psk_from_random_refuses_digits_only() -> None:
    with pytest.raises(ValueError, match="no letter"):
        ha_vpn.psk_from_random("0123456789")


# --- ciphers and wiring ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ha_vpn.CIPHER_SUITES))
def test_each_cipher_suite_names_the_same_algorithms_on_both_clouds(name: str) -> None:
    suite = ha_vpn.CIPHER_SUITES[name]
    assert ha_vpn.GCP_TO_AWS[suite.gcp_encryption] == suite.aws_encryption
    assert "256" in suite.aws_encryption
    if suite.gcp_integrity is not None:
        assert ha_vpn.GCP_TO_AWS[suite.gcp_integrity] == suite.aws_integrity
    else:
        assert "GCM" in suite.aws_encryption  # only AEAD ciphers drop integrity
    assert ha_vpn.GCP_TO_AWS[suite.gcp_prf] == suite.aws_integrity == "SHA2-256"
    assert ha_vpn.GCP_TO_AWS[suite.gcp_dh] == str(suite.dh_group)


def test_unknown_cipher_suite_is_refused() -> None:
    assert ha_vpn.cipher_problems("aes-cbc-256") == []
    assert ha_vpn.cipher_problems("3des") == ["cipher_suite: '3des' is not one of ['aes-cbc-256', "
                                                 "'aes-gcm-256']"]


def test_wiring_is_the_9999_topology() -> None:
    rows = {(t.key, t.gcp_interface, t.connection, t.aws_tunnel, t.external_interface)
            for t in TUNNELS.values()}
    assert rows == {("a1", 0, "a", 1, 0), ("a2", 0, "a", 2, 1), ("b1", 1, "b", 1, 2), ("b2", 1, "b", 2, 3)}
    assert ha_vpn.CONNECTIONS == {"a": 0, "b": 1}
    # every connection's tunnels leave from its own GCP interface
    for t in TUNNELS.values():
        assert t.gcp_interface == ha_vpn.CONNECTIONS[t.connection]


# --- GCP firewall rules ---------------------------------------------------------------------------

NODES = {"nodes-0": IPv4Network("10.1.10.0/24")}


def test_firewall_rules_allow_only_kubelet_vxlan_metrics_and_app_ports_from_aws() -> None:
    sources = {"k8s-vpc": IPv4Network("10.1.0.0/16"), "pods": IPv4Network("192.168.0.0/16")}
    rules = ha_vpn.gcp_from_aws_rules(aws_cidrs=sources, scraper_cidrs=NODES, target_tags=("k8s-node",),
                                      app_ports=(30443, 30080, 30080))
    assert {k: dict(r.allows) for k, r in rules.items()} == {
        "allow-aws-kubelet": {"tcp": (10250,)},
        "allow-aws-vxlan": {"udp": (4789,)},
        "allow-aws-metrics": {"tcp": (9100, 10249)},
        "allow-aws-app": {"tcp": (30080, 30443)},
    }
    for key, rule in rules.items():
        # scrapes leave the AWS node SNATed to its address (Calico natOutgoing): node subnets only
        assert rule.source_ranges == ((NODES["nodes-0"],) if key == "allow-aws-metrics"
                                      else tuple(sorted(sources.values())))
        assert rule.target_tags == ("k8s-node",) and rule.source_tags == ()
    assert "allow-aws-app" not in ha_vpn.gcp_from_aws_rules(aws_cidrs=sources, scraper_cidrs=NODES,
                                                            target_tags=("n",))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"aws_cidrs": {}, "scraper_cidrs": NODES}, "at least one AWS source"),
    ({"aws_cidrs": {"any": IPv4Network("0.0.0.0/0")}, "scraper_cidrs": NODES},
     "any: 0.0.0.0/0 is not a bounded"),
    ({"aws_cidrs": {"k8s": IPv4Network("10.1.0.0/16")}, "scraper_cidrs": {}}, "scraper_cidrs: at least one"),
    ({"aws_cidrs": {"k8s": IPv4Network("10.1.0.0/16")}, "scraper_cidrs": {"all": IPv4Network("0.0.0.0/0")}},
     r"scraper_cidrs\.all: 0\.0\.0\.0/0 is not a bounded"),
    ({"aws_cidrs": {"k8s": IPv4Network("10.1.0.0/16")}, "scraper_cidrs": NODES, "app_ports": (0,)},
     r"app_ports: \[0\]"),
])
def test_firewall_rules_refuse_open_or_missing_sources(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ha_vpn.gcp_from_aws_rules(target_tags=("n",), **kwargs)  # type: ignore[arg-type]


def test_parse_cidrs_names_the_bad_key() -> None:
    assert ha_vpn.parse_cidrs({"a": "10.0.0.0/8"}) == {"a": IPv4Network("10.0.0.0/8")}
    with pytest.raises(ValueError, match=r"^pods: 'x' is not"):
        ha_vpn.parse_cidrs({"pods": "x"})
