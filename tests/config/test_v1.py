"""Config models: the examples load; bad input reports every error with its path."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.plans import EXAMPLE_STACK_FILES, example_values, issues_of
from looper_infra.config import ConfigError, V1Config, load_stack_file, validate_mapping


@pytest.mark.parametrize("path", EXAMPLE_STACK_FILES, ids=lambda p: p.name)
def test_every_example_stack_loads(path: Path) -> None:
    cfg = load_stack_file(path)
    stage = path.name.split(".")[1].rsplit("-", 1)[0]  # v4-platform-dev -> v4-platform
    assert cfg.stage == stage  # type: ignore[attr-defined]
    if stage.startswith("v4"):  # AWS (Seoul); the platform stack needs no AZs
        assert cfg.aws.region == "ap-northeast-2"  # type: ignore[attr-defined]
        assert all(z.startswith("ap-northeast-2") for z in cfg.aws.azs)  # type: ignore[attr-defined]
        return
    assert cfg.gcp.region == "asia-northeast3"  # type: ignore[attr-defined]
    assert cfg.gcp.zone.startswith("asia-northeast3-")  # type: ignore[attr-defined]


def test_dev_and_prod_differ_only_in_sizes_and_protection() -> None:
    dev, prod = example_values("v1-dev"), example_values("v1-prod")
    assert dev["vm"]["deletion_protection"] is False and prod["vm"]["deletion_protection"] is True
    differing = {k for k in dev if dev[k] != prod[k]}
    assert differing == {"env", "gcp", "vm", "dns"}
    assert {k for k in dev["vm"] if dev["vm"][k] != prod["vm"][k]} == {
        "machine_type", "boot_disk_gb", "deletion_protection"}


def test_three_different_mistakes_are_all_reported_with_paths() -> None:
    values = example_values()
    values["gcp"]["zone"] = "us-central1-a"
    values["network"]["subnets"]["app"]["cidr"] = "10.0.1.0/33"
    values["access"]["admin_ssh_cidrs"] = {"anyone": "0.0.0.0/0"}
    issues = issues_of(values)
    assert set(issues) == {
        "looper:gcp.zone", "looper:network.subnets.app.cidr", "looper:access.admin_ssh_cidrs"}
    assert "not in region 'asia-northeast3'" in issues["looper:gcp.zone"]
    assert "allow_ssh_from_internet" in issues["looper:access.admin_ssh_cidrs"]


def test_internet_ssh_needs_the_named_opt_in() -> None:
    values = example_values()
    values["access"] = {"admin_ssh_cidrs": {"anyone": "0.0.0.0/0"},
                        "allow_ssh_from_internet": True}
    cfg = validate_mapping(values, "test")
    assert cfg.access.admin_ssh_cidrs["anyone"] == IPv4Network("0.0.0.0/0")


@pytest.mark.parametrize(
    ("section", "key", "value", "path", "fragment"),
    [
        ("network", "subnets", {"app": {"cidr": "10.0.1.0/24"}, "db": {"cidr": "10.0.1.128/25"}},
         "looper:network.subnets", "overlap"),
        ("network", "subnets", {"app": {"cidr": "8.8.8.0/24"}}, "looper:network.subnets.app.cidr",
         "RFC 1918"),
        ("network", "subnets", {"app": {"cidr": "10.0.1.1/24"}}, "looper:network.subnets.app.cidr",
         "host bits"),
        ("vm", "machine_type", "e2-micro", "looper:vm.machine_type", "shared-core"),
        ("vm", "machine_type", "g2-standard-4", "looper:vm.machine_type", "family"),
        ("vm", "machine_type", "n2-standard-128", "looper:vm.machine_type", "vCPU"),
        ("vm", "machine_type", "big-box", "looper:vm.machine_type", "machine type"),
        ("vm", "boot_disk_gb", 10, "looper:vm.boot_disk_gb", "out of range"),
        ("vm", "boot_disk_gb", 5000, "looper:vm.boot_disk_gb", "out of range"),
        ("vm", "image", "debian-cloud/debian-12", "looper:vm.image", "Ubuntu LTS"),
        ("dns", "domain", "not a domain", "looper:dns.domain", "fully-qualified"),
        ("dns", "domain", "Upper.Example.com", "looper:dns.domain", "lowercase"),
        ("dns", "managed_zone", "Bad_Zone", "looper:dns.managed_zone", "managed zone name"),
        ("dns", "zone_dns_name", "other.org", "looper:dns.zone_dns_name", "not inside zone"),
        ("gcp", "region", "mars-central1", "looper:gcp.region", "unknown GCP region"),
        ("gcp", "project", "X", "looper:gcp.project", "project ID"),
        ("app", "image", "nginx", "looper:app.image", "pinned"),
        ("app", "image", "nginx:latest", "looper:app.image", "latest"),
        ("app", "acme_email", "nobody", "looper:app.acme_email", "e-mail"),
        ("app", "port", 80, "looper:app.port", "greater than or equal"),
        ("app", "port", 65536, "looper:app.port", "less than or equal"),
        # the health path reaches the Caddyfile, compose and the setup script: URL path characters only
        ("app", "health_path", "/a b", "looper:app.health_path", "pattern"),
        ("app", "health_path", "/$(id)", "looper:app.health_path", "pattern"),
        ("app", "health_path", "health", "looper:app.health_path", "pattern"),
        ("app", "env", {"OK": "1", "lower-case": "x"}, "looper:app.env.lower-case.[key]", "pattern"),
        ("app", "surprise", 1, "looper:app.surprise", "unknown key"),
    ],
)
def test_bad_field_is_reported_at_its_path(
    section: str, key: str, value: Any, path: str, fragment: str
) -> None:
    values = example_values()
    values[section][key] = value
    issues = issues_of(values)
    assert path in issues, issues
    assert fragment in issues[path]


def test_vm_subnet_must_exist() -> None:
    values = example_values()
    values["vm"]["subnet"] = "db"
    with pytest.raises(ConfigError) as info:
        validate_mapping(values, "test")
    assert [(i.path, i.message) for i in info.value.issues] == [
        ("looper:vm.subnet", "'db' is not a key of network.subnets (app)")]


def test_stage_and_namespace_errors(tmp_path: Path) -> None:
    doc = {"config": {"looper:stage": "v1", "gcp:project": "x", "looper:gcp": {"secure": "v1:x"}},
           "tags": {}}
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as info:
        load_stack_file(path)
    paths = {i.path for i in info.value.issues}
    # namespace problems and the model's own errors are reported together
    assert paths == {"gcp:project", "looper:gcp", "tags", "looper:env", "looper:network",
                     "looper:dns", "looper:app"}


def test_stage_mismatch_and_unknown_stage() -> None:
    values = example_values()
    with pytest.raises(ConfigError, match="builds 'v1', not 'v3'"):
        validate_mapping(values, "test", stage="v3")
    values["stage"] = "v9"
    assert "unknown or unimplemented stage" in issues_of(values)["looper:stage"]


def test_missing_sections_are_each_reported() -> None:
    issues = issues_of({"stage": "v1", "env": "dev"})
    assert {"looper:gcp", "looper:network", "looper:dns", "looper:app"} <= set(issues)
    assert all(issues[p] == "required" for p in ("looper:gcp", "looper:dns"))


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(["us-central1-a", "europe-west1-b", "asia-northeast1-a",
                             "asia-northeast3-d", "asia-northeast3"]),
       cidr=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 32)))
def test_property_bad_zone_and_cidr_each_reported(zone: str, cidr: tuple[int, int, int]) -> None:
    a, b, prefix = cidr
    net = f"{a}.{b}.0.0/{prefix}"
    values = example_values()
    values["gcp"]["zone"] = zone
    values["network"]["subnets"]["app"]["cidr"] = net
    issues = issues_of(values)
    assert "looper:gcp.zone" in issues
    try:
        parsed = IPv4Network(net)
        good = (parsed.subnet_of(IPv4Network("10.0.0.0/8")) or parsed.subnet_of(
            IPv4Network("172.16.0.0/12")) or parsed.subnet_of(IPv4Network("192.168.0.0/16"))
        ) and 8 <= parsed.prefixlen <= 29
    except ValueError:
        good = False
    assert ("looper:network.subnets.app.cidr" in issues) == (not good)


@settings(max_examples=40, deadline=None)
@given(junk=st.dictionaries(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
                            st.integers(), min_size=1, max_size=4))
def test_property_unknown_keys_always_rejected(junk: dict[str, int]) -> None:
    values = example_values()
    known = set(V1Config.model_fields["vm"].annotation.model_fields)  # type: ignore[union-attr]
    extra = {k: v for k, v in junk.items() if k not in known}
    if not extra:
        return
    values["vm"].update(extra)
    issues = issues_of(values)
    for key in extra:
        assert issues[f"looper:vm.{key}"] == "unknown key"
