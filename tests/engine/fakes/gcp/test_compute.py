"""GCP instances: self links in their zone, internal addresses from their subnetwork, external
ones from the Google-owned pool."""

from __future__ import annotations

from ipaddress import IPv4Address

from looper_infra.engine.fakes.gcp import compute, network
from looper_infra.engine.fakes.gcp.addresses import EXTERNAL_POOL
from looper_infra.engine.fakes.gcp.ids import API
from looper_infra.engine.mocks import MockContext


def test_instance_addresses_come_from_its_subnetwork_and_the_external_pool() -> None:
    c = MockContext(project="p-1", region="asia-northeast3", zone="asia-northeast3-b")
    subnet = network.subnetwork("app", {"name": "app", "ipCidrRange": "10.0.1.0/24", "network": "net"}, c)
    assert subnet["selfLink"] == f"{API}/projects/p-1/regions/asia-northeast3/subnetworks/app"
    assert subnet["gatewayAddress"] == "10.0.1.1"
    vms = [compute.instance(f"vm{i}", {"name": f"vm{i}", "networkInterfaces": [
        {"subnetwork": subnet["selfLink"], "accessConfigs": [{}]}]}, c) for i in range(2)]
    nics = [vm["networkInterfaces"][0] for vm in vms]
    assert [n["networkIp"] for n in nics] == ["10.0.1.2", "10.0.1.3"]  # the first usable hosts, in turn
    external = [IPv4Address(n["accessConfigs"][0]["natIp"]) for n in nics]
    assert external[0] != external[1] and all(ip in EXTERNAL_POOL for ip in external)
    assert vms[0]["id"] == "projects/p-1/zones/asia-northeast3-b/instances/vm0" and nics[0]["name"] == "nic0"
    internal = network.address("db-ip", {"name": "db-ip", "addressType": "INTERNAL", "subnetwork": "app"}, c)
    assert internal["address"] == "10.0.1.4"


def test_a_managed_instance_group_points_at_its_instance_group() -> None:
    mig = compute.region_instance_group_manager("web", {"name": "web"}, MockContext(project="p-1"))
    assert mig["selfLink"].endswith("/projects/p-1/regions/asia-northeast3/instanceGroupManagers/web")
    assert mig["instanceGroup"].endswith("/projects/p-1/regions/asia-northeast3/instanceGroups/web")
