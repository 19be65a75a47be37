"""The offline engine: what it records, how it masks secrets, realistic mock outputs."""

from __future__ import annotations

import hashlib
import json
from ipaddress import IPv4Address, IPv4Network

import pulumi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from looper_infra.engine.mocks import MockContext, mask
from looper_infra.engine.plan import run_program

SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


def test_mask_replaces_secrets_and_unknowns_at_any_depth() -> None:
    raw = {"a": {**SECRET_SIG, "value": "hunter2"},
           "b": [1, {"c": {**SECRET_SIG, "value": {"k": "v"}}}],
           "d": "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "e": "plain"}
    assert mask(raw) == {"a": "[secret]", "b": [1, {"c": "[secret]"}], "d": "[unknown]",
                         "e": "plain"}


class _Thing(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:Thing", name)
        from pulumi_random import RandomPassword

        self.password = RandomPassword("pw", length=24, special=False,
                                       opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def _program() -> None:
    from pulumi_tls import PrivateKey, SelfSignedCert

    thing = _Thing("thing")
    key = PrivateKey("ca-key", algorithm="ECDSA", ecdsa_curve="P256")
    cert = SelfSignedCert(
        "ca", private_key_pem=key.private_key_pem, is_ca_certificate=True,
        validity_period_hours=24, allowed_uses=["cert_signing"],
        subject={"common_name": "looper-ca"},
        opts=pulumi.ResourceOptions(depends_on=[thing]))

    def ca_hash(pem: str) -> str:
        spki = x509.load_pem_x509_certificate(pem.encode()).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "sha256:" + hashlib.sha256(spki).hexdigest()

    pulumi.export("ca_hash", cert.cert_pem.apply(ca_hash))
    pulumi.export("password", thing.password.result)
    pulumi.export("plain", "visible")


def test_records_graph_masks_secrets_and_runs_real_crypto() -> None:
    plan = run_program(_program, stage="t", stack="unit", context=MockContext())
    by_name = {r.name: r for r in plan.resources}
    # parents and explicit + data dependencies are what the engine receives; depends_on a
    # component expands to the component's custom children, as the engine waits for them
    assert by_name["pw"].parent == by_name["thing"].urn
    assert by_name["pw"].urn in by_name["ca"].dependencies
    assert by_name["ca-key"].urn in by_name["ca"].dependencies
    assert by_name["ca"].inputs["privateKeyPem"] == "[secret]"
    assert by_name["thing"].custom is False and by_name["ca"].custom is True
    # a secret output never appears in clear, anywhere in the document
    document = json.dumps(plan.to_document())
    real_password = by_name["pw"].state["result"]
    assert len(real_password) == 24 and real_password not in document
    assert "PRIVATE KEY" not in document
    assert plan.outputs["password"] == "[secret]"
    assert plan.outputs["plain"] == "visible"
    # the CA hash was computed from a real certificate
    pem = by_name["ca"].state["certPem"]
    spki = x509.load_pem_x509_certificate(pem.encode()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert plan.outputs["ca_hash"] == "sha256:" + hashlib.sha256(spki).hexdigest()


def _two_vms() -> None:
    from pulumi_gcp import compute

    net = compute.Network("net", auto_create_subnetworks=False)
    sub = compute.Subnetwork("sub", network=net.id, ip_cidr_range="192.168.5.0/29")
    for i in range(3):
        vm = compute.Instance(
            f"vm{i}", machine_type="e2-small",
            boot_disk=compute.InstanceBootDiskArgs(
                initialize_params=compute.InstanceBootDiskInitializeParamsArgs(image="x")),
            network_interfaces=[compute.InstanceNetworkInterfaceArgs(subnetwork=sub.self_link)])
        pulumi.export(f"ip{i}", vm.network_interfaces[0].network_ip)


def test_internal_addresses_come_from_the_subnet_without_reuse() -> None:
    plan = run_program(_two_vms, stage="t", stack="unit",
                       context=MockContext(project="p-123456", region="europe-west1",
                                           zone="europe-west1-b"))
    ips = [IPv4Address(plan.outputs[f"ip{i}"]) for i in range(3)]
    assert len(set(ips)) == 3
    net = IPv4Network("192.168.5.0/29")
    # GCP reserves network, gateway and the last two addresses
    assert all(ip in net and ip not in (net[0], net[1], net[-2], net[-1]) for ip in ips)
    sub = next(r for r in plan.resources if r.name == "sub")
    assert sub.state["selfLink"] == ("https://www.googleapis.com/compute/v1/projects/p-123456/"
                                     "regions/europe-west1/subnetworks/" + sub.state["name"])


class _Pair(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:Pair", name)
        from pulumi_random import RandomId

        RandomId("id", byte_length=4, opts=pulumi.ResourceOptions(parent=self))  # same URN twice
        self.register_outputs({})


def test_duplicate_urns_fail_the_plan_as_they_fail_a_deployment() -> None:
    import pytest

    from looper_infra.engine.mocks import DuplicateUrn

    def program() -> None:
        _Pair("a")
        _Pair("b")

    with pytest.raises(DuplicateUrn, match=r"duplicate resource URN "
                       r"urn:pulumi:unit::looper::test:index:Pair\$random:index/randomId:RandomId::id"):
        run_program(program, stage="t", stack="unit", context=MockContext())


def test_plans_list_resources_in_one_reproducible_tree_order() -> None:
    """Registrations finish in no fixed order; the plan lists parents first, siblings by URN."""
    from helpers.plans import example_values, plan_values

    first, second = (plan_values(example_values("v3-dev"), stack="v3-dev") for _ in range(2))
    assert [r.urn for r in first.resources] == [r.urn for r in second.resources]
    position = {r.urn: i for i, r in enumerate(first.resources)}
    for r in first.resources:
        if r.parent in position:
            assert position[r.parent] < position[r.urn], r.urn


def test_dependencies_do_not_follow_the_hash_seed() -> None:
    """The SDK hands dependencies over from a set; two processes with other hash seeds must still
    write the same plan (a diff of two plans would otherwise show changes that are not there)."""
    import os
    import subprocess
    import sys

    def graph(seed: str) -> list[tuple[str, list[str]]]:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-m", "looper_infra", "plan", "v3", "--stack", "v3-dev",
                              "--json"], env=env, capture_output=True, text=True, check=True).stdout
        return [(r["urn"], r["dependencies"]) for r in json.loads(out)["resources"]]

    first, second = graph("1"), graph("2")
    assert any(len(deps) > 2 for _, deps in first)
    assert first == second


def test_plan_document_carries_the_warnings() -> None:
    from helpers.plans import example_values, plan_values

    values = example_values("v1-dev")
    values["access"]["allow_ssh_from_internet"] = True
    values["access"]["admin_ssh_cidrs"] = {"anywhere": "0.0.0.0/0"}
    doc = plan_values(values).to_document()
    assert any("SSH is open to the internet" in w for w in doc["warnings"])


def test_named_finds_exactly_one_resource_of_a_type_and_name() -> None:
    def program() -> None:
        from pulumi_random import RandomPassword, RandomString

        RandomPassword("a", length=8)
        RandomPassword("b", length=9)
        RandomString("a", length=10)

    plan = run_program(program, stage="test", stack="test", context=MockContext())
    assert plan.named("random:index/randomPassword:RandomPassword", "b").inputs["length"] == 9
    assert plan.named("random:index/randomString:RandomString", "a").inputs["length"] == 10
    with pytest.raises(LookupError, match="named 'c', found 0"):
        plan.named("random:index/randomPassword:RandomPassword", "c")
