"""The overview diagram: cloud > VPC/network > zone/region > subnet boxes, placed from the plan,
with the official icons embedded."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from helpers.plans import example_plan
from helpers.tools import require_tool
from looper_infra.reports.overview import (
    ICONS,
    INTERNET_ICON,
    embed_images,
    icon_dir,
    overview_svg,
    to_overview_dot,
)


def _placed(dot: str) -> dict[str, list[tuple[str, ...]]]:
    """{node label's first line: [the cluster labels around it, outermost first]}."""
    stack: list[str] = []
    found: dict[str, list[tuple[str, ...]]] = {}
    for line in dot.splitlines():
        if (m := re.search(r'subgraph "cluster_[^"]+" \{ label="([^"]*)"', line)):
            stack.append(m.group(1))
        elif line.strip() == "}" and stack:
            stack.pop()
        elif (m := re.match(r'\s+n\d+ \[label="([^"\\]+)\\n', line)):
            found.setdefault(m.group(1), []).append(tuple(stack))
    return found


def test_v4_places_groups_balancers_and_the_database_in_their_subnets_per_zone() -> None:
    dot = to_overview_dot(example_plan("v4-dev"))
    placed = _placed(dot)
    vpc = "VPC vpc-vpc 10.1.0.0/16"
    assert placed["workers-group"] == [
        ("AWS", vpc, "zone ap-northeast-2a", "private 10.1.16.0/20"),
        ("AWS", vpc, "zone ap-northeast-2c", "private 10.1.32.0/20")]
    assert [p[-1] for p in placed["app-lb-nlb"]] == ["public 10.1.0.0/24", "public 10.1.1.0/24"]
    assert [p[-1] for p in placed["db-instance"]] == ["data 10.1.8.0/24", "data 10.1.9.0/24"]
    assert placed["openvpn-instance"] == [
        ("AWS", "VPC access-vpc-vpc 10.2.0.0/16", "zone ap-northeast-2a", "public 10.2.0.0/24")]
    assert placed["gcp-gpu-node-vm-instance"] == [
        ("GCP", "network looper-dev-gcp", "region asia-northeast3", "looper-dev-gcp-nodes 10.0.0.0/20")]
    # the request path starts at the public load balancer only (the API balancer is internal)
    entries = re.findall(r"internet -> (n\d+)", dot)
    assert len(entries) == 1
    assert re.search(rf'{entries[0]} \[label="app-lb-nlb\\nload balancer"\]', dot)


def test_v3_places_the_db_vm_in_the_db_subnet_of_its_network() -> None:
    placed = _placed(to_overview_dot(example_plan("v3-dev")))
    assert placed["db-instance"] == [("GCP", "network looper-dev-vpc", "region asia-northeast3",
                                      "looper-dev-vpc-db 10.0.2.0/24")]


def test_v3_https_front_end_reaches_the_instance_group_in_the_app_subnet() -> None:
    dot = to_overview_dot(example_plan("v3-dev"))
    placed = _placed(dot)
    assert placed["app-group-group"] == [("GCP", "network looper-dev-vpc", "region asia-northeast3",
                                          "looper-dev-vpc-app 10.0.1.0/24")]
    assert placed["lb-https"] == [("GCP",)] and placed["lb-http"] == [("GCP",)]
    ids = {label: nid for nid, label in re.findall(r'(n\d+) \[label="([^"\\]+)\\n', dot)}
    assert f"internet -> {ids['lb-https']} " in dot and f"internet -> {ids['lb-http']} " in dot
    # HTTPS goes through the backend to the group; HTTP only redirects (no backend)
    assert re.findall(r"(n\d+) -> (n\d+) \[", dot) == [(ids["lb-https"], ids["app-group-group"])]


def test_every_drawn_type_has_an_official_icon_that_the_diagrams_package_ships() -> None:
    icons = icon_dir()
    assert all((icons / path).is_file() for path in [*ICONS.values(), INTERNET_ICON])
    dot = to_overview_dot(example_plan("v4-dev"), icons=icons)
    images = dict(re.findall(r'(n\d+) \[label="[^"]*", image="([^"]+)"', dot))
    ids = {label: nid for nid, label in re.findall(r'(n\d+) \[label="([^"\\]+)\\n', dot)}
    assert images[ids["db-instance"]] == str(icons / "aws/database/rds.png")
    assert images[ids["workers-group"]] == str(icons / "aws/compute/ec2-auto-scaling.png")
    assert images[ids["app-lb-nlb"]] == str(icons / "aws/network/elb-network-load-balancer.png")
    assert images[ids["gcp-gpu-node-vm-instance"]] == str(icons / "gcp/compute/compute-engine.png")
    assert f'internet [label="Internet", image="{icons / INTERNET_ICON}"' in dot


def test_the_svg_embeds_each_icon_and_links_no_file() -> None:
    require_tool("dot")
    svg = overview_svg(example_plan("v3-dev"))
    hrefs = re.findall(r'href="([^"]*)"', svg)
    # Internet, two front ends, the instance group and the DB VM: five icons, all inline PNGs
    assert len(hrefs) == 5 and all(h.startswith("data:image/png;base64,") for h in hrefs)
    for h in hrefs:
        assert base64.b64decode(h.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(icon_dir()) not in svg


def test_embedding_refuses_a_file_outside_the_icon_directory(tmp_path: Path) -> None:
    other = tmp_path / "secret.png"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match="unexpected file"):
        embed_images(f'<image xlink:href="{other}"/>', icon_dir())


def test_v4_platform_draws_its_workloads_per_namespace_in_the_cluster_and_its_buckets() -> None:
    placed = _placed(to_overview_dot(example_plan("v4-platform-dev")))
    assert placed["redis-statefulset"] == [("Kubernetes cluster", "namespace looper-data")]
    assert placed["observability-loki"] == [("Kubernetes cluster", "namespace monitoring")]
    assert placed["observability-tempo-bucket"] == [("AWS",)]
