"""The overview diagram: cloud > VPC/network > zone/region > subnet boxes, placed from the plan."""

from __future__ import annotations

import re

from helpers.plans import example_plan
from looper_infra.reports.overview import to_overview_dot


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
