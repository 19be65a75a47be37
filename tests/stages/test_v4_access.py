"""Stage v4, private access and multi-cloud: OpenVPN access VPC, peering / transit gateway, the
AWS<->GCP HA VPN with BGP, and the GPU nodes, on the example stacks (dev: peering, prod: transit
gateway + AWS GPU group)."""

from __future__ import annotations

import base64
import gzip
import ipaddress
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from typer.testing import CliRunner

from helpers.plans import ROOT, example_values, issues_of, plan_values
from looper_infra.bootstrap.k8s_node import GPU_TAINT
from looper_infra.cli import app
from looper_infra.engine import deploy
from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.rules import ha_vpn

TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel"
PEER = "gcp:compute/routerPeer:RouterPeer"
IFACE = "gcp:compute/routerInterface:RouterInterface"
EXTERNAL = "gcp:compute/externalVpnGateway:ExternalVpnGateway"
CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
CGW = "aws:ec2/customerGateway:CustomerGateway"
VGW = "aws:ec2/vpnGateway:VpnGateway"
PROPAGATION = "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"
TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
ATTACH = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
ROUTE = "aws:ec2/route:Route"
RT = "aws:ec2/routeTable:RouteTable"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
LB = "aws:lb/loadBalancer:LoadBalancer"
GCE = "gcp:compute/instance:Instance"
FIREWALL = "gcp:compute/firewall:Firewall"
SG = "aws:ec2/securityGroup:SecurityGroup"
#: GCP tunnel key -> (AWS connection, AWS tunnel number, GCP interface, external gateway interface)
WIRING = {"a1": ("a", 1, 0, 0), "a2": ("a", 2, 0, 1), "b1": ("b", 1, 1, 2), "b2": ("b", 2, 1, 3)}


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> tuple[Plan, dict[str, Any]]:
    plan: Plan = request.getfixturevalue(f"v4_{request.param}_plan")
    return plan, example_values(f"v4-{request.param}")


def one(plan: Plan, type_: str, name: str) -> RecordedResource:
    (found,) = [r for r in plan.of_type(type_) if r.name == name]
    return found


def routes(plan: Plan) -> list[tuple[str, str, str]]:
    """(route table Name tag, destination, via) of every non-default route."""
    tables = {t.id: t.inputs["tags"]["Name"] for t in plan.of_type(RT)}
    found = []
    for r in plan.of_type(ROUTE):
        if r.inputs["destinationCidrBlock"] == "0.0.0.0/0":
            continue
        via = "peering" if r.inputs.get("vpcPeeringConnectionId") else (
            "tgw" if r.inputs.get("transitGatewayId") else "other")
        found.append((tables[r.inputs["routeTableId"]], r.inputs["destinationCidrBlock"], via))
    return sorted(found)


# --- HA VPN: the 99.99% topology --------------------------------------------------------------------

def test_four_tunnels_each_with_interface_and_bgp_peer(stack: tuple[Plan, dict[str, Any]]) -> None:
    plan, values = stack
    vpn = values["gcp"]["vpn"]
    (external,) = plan.of_type(EXTERNAL)
    assert external.inputs["redundancyType"] == "FOUR_IPS_REDUNDANCY"
    outside = {i["id"]: i["ipAddress"] for i in external.inputs["interfaces"]}
    conns = {c.name.rsplit("-", 1)[1]: c for c in plan.of_type(CONNECTION)}
    assert sorted(conns) == ["a", "b"] and len(plan.of_type(CGW)) == 2
    tunnels = {t.name.rsplit("-", 1)[1]: t for t in plan.of_type(TUNNEL)}
    assert sorted(tunnels) == sorted(WIRING)
    ifaces = {i.inputs["vpnTunnel"]: i for i in plan.of_type(IFACE)}
    peers = {p.inputs["interface"]: p for p in plan.of_type(PEER)}
    assert len(ifaces) == len(peers) == 4
    (router,) = [r for r in plan.of_type("gcp:compute/router:Router") if r.inputs.get("bgp")]
    assert router.inputs["bgp"]["asn"] == vpn["cloud_router_asn"]
    for key, (conn, n, gcp_if, ext_if) in WIRING.items():
        t, c = tunnels[key], conns[conn]
        assert (t.inputs["vpnGatewayInterface"], t.inputs["peerExternalGatewayInterface"]) == (gcp_if, ext_if)
        assert t.inputs["ikeVersion"] == 2
        # the external gateway's interface is this AWS tunnel's outside address
        assert outside[ext_if] == c.state[f"tunnel{n}Address"]
        inside = ipaddress.ip_network(c.inputs[f"tunnel{n}InsideCidr"])
        assert str(inside) == ha_vpn.default_inside_cidrs()[key]
        iface = ifaces[t.inputs["name"]]
        peer = peers[iface.inputs["name"]]
        assert iface.inputs["ipRange"] == f"{c.state[f'tunnel{n}CgwInsideAddress']}/30"
        assert peer.inputs["peerIpAddress"] == c.state[f"tunnel{n}VgwInsideAddress"]
        assert ipaddress.ip_address(peer.inputs["peerIpAddress"]) in inside
        assert peer.inputs["peerAsn"] == vpn["aws_asn"] != vpn["cloud_router_asn"]
        # one pre-shared key per tunnel: the same on both ends, secret in the plan, AWS-valid
        assert t.inputs["sharedSecret"] == "[secret]" == c.inputs[f"tunnel{n}PresharedKey"]
        assert t.state["sharedSecret"] == c.state[f"tunnel{n}PresharedKey"]
        assert ha_vpn.psk_problem(t.state["sharedSecret"]) is None
    assert len({t.state["sharedSecret"] for t in tunnels.values()}) == 4
    for cgw in plan.of_type(CGW):
        assert int(cgw.inputs["bgpAsn"]) == vpn["cloud_router_asn"]


def test_cipher_options_identical_on_both_ends(stack: tuple[Plan, dict[str, Any]]) -> None:
    plan, values = stack
    suite = ha_vpn.CIPHER_SUITES[values["gcp"]["vpn"]["cipher_suite"]]
    conns = {c.name.rsplit("-", 1)[1]: c for c in plan.of_type(CONNECTION)}
    for t in plan.of_type(TUNNEL):
        conn, n, _, _ = WIRING[t.name.rsplit("-", 1)[1]]
        aws = conns[conn].inputs
        cs = t.inputs["cipherSuite"]
        for phase in (1, 2):
            gcp = cs[f"phase{phase}"]
            assert [ha_vpn.GCP_TO_AWS[e] for e in gcp["encryptions"]] == \
                aws[f"tunnel{n}Phase{phase}EncryptionAlgorithms"] == [suite.aws_encryption]
            assert [ha_vpn.GCP_TO_AWS[i] for i in gcp["integrities"]] == \
                aws[f"tunnel{n}Phase{phase}IntegrityAlgorithms"]
            dh = gcp["dhs"] if phase == 1 else gcp["pfs"]
            assert [int(ha_vpn.GCP_TO_AWS[g]) for g in dh] == aws[f"tunnel{n}Phase{phase}DhGroupNumbers"] \
                == [suite.dh_group]
        assert aws[f"tunnel{n}IkeVersions"] == ["ikev2"]


# --- peering (dev) and transit gateway (prod) -----------------------------------------------------

def test_peering_mode_routes_exactly_the_two_cidrs_and_never_gcp(v4_dev_plan: Plan) -> None:
    plan, values = v4_dev_plan, example_values("v4-dev")
    k8s, access, gcp = (values["network"]["vpc_cidr"], values["openvpn"]["vpc_cidr"],
                        values["gcp"]["vpc_cidr"])
    assert len(plan.of_type(PEERING)) == 1
    assert plan.of_type(TGW) == [] and plan.of_type(ATTACH) == []
    got = routes(plan)
    assert got == sorted([("looper-dev-access-public", k8s, "peering")] + [
        (f"looper-dev-vpc-private-{az}", access, "peering") for az in values["aws"]["azs"]])
    assert not any(dest == gcp for _, dest, _ in got)
    # GCP's routes reach only the K8s private tables, through the VGW's BGP propagation
    (vgw,) = plan.of_type(VGW)
    assert int(vgw.inputs["amazonSideAsn"]) == values["gcp"]["vpn"]["aws_asn"]
    tables = {t.id: t.inputs["tags"]["Name"] for t in plan.of_type(RT)}
    assert sorted(tables[p.inputs["routeTableId"]] for p in plan.of_type(PROPAGATION)) == [
        f"looper-dev-vpc-private-{az}" for az in values["aws"]["azs"]]
    assert all(c.inputs["vpnGatewayId"] == vgw.id for c in plan.of_type(CONNECTION))
    # the VPN server pushes only what a client can reach
    assert plan.outputs["vpn_pushed_routes"] == [k8s]
    assert "allow-vpn-ssh" not in {f.name.removeprefix("gcp-firewall-") for f in plan.of_type(FIREWALL)}


def test_transit_mode_joins_both_vpcs_and_gcp(v4_prod_plan: Plan) -> None:
    plan, values = v4_prod_plan, example_values("v4-prod")
    k8s, access, gcp = (values["network"]["vpc_cidr"], values["openvpn"]["vpc_cidr"],
                        values["gcp"]["vpc_cidr"])
    (tgw,) = plan.of_type(TGW)
    assert tgw.inputs["vpnEcmpSupport"] == "enable"
    assert int(tgw.inputs["amazonSideAsn"]) == values["gcp"]["vpn"]["aws_asn"]
    assert len(plan.of_type(ATTACH)) == 2
    assert plan.of_type(PEERING) == [] and plan.of_type(VGW) == []
    assert all(c.inputs["transitGatewayId"] == tgw.id and "vpnGatewayId" not in c.inputs
               for c in plan.of_type(CONNECTION))
    expected = [("looper-prod-access-public", gcp, "tgw"), ("looper-prod-access-public", k8s, "tgw")]
    for az in values["aws"]["azs"]:
        table = f"looper-prod-vpc-private-{az}"
        expected += [(table, gcp, "tgw"), (table, access, "tgw")]
    assert routes(plan) == sorted(expected)
    assert plan.outputs["vpn_pushed_routes"] == [k8s, gcp]
    ssh = one(plan, FIREWALL, "gcp-firewall-allow-vpn-ssh").inputs
    assert ssh["sourceRanges"] == [access] and ssh["allows"] == [{"protocol": "tcp", "ports": ["22"]}]


def test_gcp_firewall_admits_only_the_cluster(stack: tuple[Plan, dict[str, Any]]) -> None:
    plan, values = stack
    allowed = {values["network"]["vpc_cidr"], values["cluster"]["pod_cidr"], values["openvpn"]["vpc_cidr"]}
    rules = {f.name.removeprefix("gcp-firewall-"): f.inputs for f in plan.of_type(FIREWALL)
             if f.name.startswith("gcp-firewall-")}
    assert rules["allow-aws-kubelet"]["allows"] == [{"protocol": "tcp", "ports": ["10250"]}]
    assert rules["allow-aws-vxlan"]["allows"] == [{"protocol": "udp", "ports": ["4789"]}]
    for name, rule in rules.items():
        assert rule["direction"] == "INGRESS" and rule["sourceRanges"], name
        assert set(rule["sourceRanges"]) <= allowed | set(values["network"]["private_cidrs"]), name


def test_prometheus_can_scrape_every_node_from_its_nodes_only(stack: tuple[Plan, dict[str, Any]]) -> None:
    """node-exporter (9100) and kube-proxy metrics (10249): on GCP from the AWS node subnets only
    (a pod's scrape of a node address is SNATed to its node: Calico natOutgoing), on AWS from
    the worker group (where Prometheus runs)."""
    plan, values = stack
    metrics = one(plan, FIREWALL, "gcp-firewall-allow-aws-metrics").inputs
    assert metrics["allows"] == [{"protocol": "tcp", "ports": ["9100", "10249"]}]
    assert metrics["sourceRanges"] == values["network"]["private_cidrs"]
    assert values["cluster"]["pod_cidr"] not in metrics["sourceRanges"]
    (node,) = plan.of_type(GCE)
    assert metrics["targetTags"] == node.inputs["tags"]
    groups = {r.id: r.name for r in plan.of_type(SG)}
    for port in (9100, 10249):
        sources = {(groups[r.inputs["securityGroupId"]],
                    groups.get(r.inputs.get("referencedSecurityGroupId")))
                   for r in plan.of_type(INGRESS)
                   if r.inputs["ipProtocol"] in ("tcp", "-1") and r.inputs.get("fromPort", 0) <= port
                   <= r.inputs.get("toPort", 65535)}
        assert sources == {("sg-control-plane", "sg-worker"), ("sg-worker", "sg-worker")}, port


# --- OpenVPN server ---------------------------------------------------------------------------------

def test_vpn_server_exposes_only_udp_1194_and_profiles_are_secret(stack: tuple[Plan, dict[str, Any]]) -> None:
    plan, values = stack
    server_rules = [r.inputs for r in plan.of_type(INGRESS) if "OpenVpnServer" in r.urn]
    assert [(r["ipProtocol"], r["fromPort"], r["cidrIpv4"]) for r in server_rules] == [
        ("udp", 1194, "0.0.0.0/0")]
    assert plan.outputs["vpn_profiles"] == {u: "[secret]" for u in values["openvpn"]["users"]}
    assert ipaddress.ip_address(plan.outputs["vpn_server_address"]).is_global
    # the K8s control planes accept the API and SSH from the access VPC, nothing wider
    access = values["openvpn"]["vpc_cidr"]
    from_access = {r.inputs["fromPort"] for r in plan.of_type(INGRESS) if r.inputs.get("cidrIpv4") == access}
    assert from_access == {22, 6443}


def _pem(plan: Plan, type_: str, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(one(plan, type_, name).state["certPem"].encode())


def _openvpn_user_data(plan: Plan) -> str:
    instance = one(plan, "aws:ec2/instance:Instance", "openvpn-instance")
    return gzip.decompress(base64.b64decode(instance.inputs["userDataBase64"])).decode()


def test_revoking_a_user_keeps_their_certificate_and_lists_it_in_the_servers_crl(v4_dev_plan: Plan) -> None:
    values = example_values("v4-dev")
    assert values["openvpn"]["users"] == ["alice", "bob"] and values["openvpn"]["revoked"] == []
    values["openvpn"].update(users=["alice"], revoked=["bob"])
    revoked = plan_values(values, stack="v4-dev")
    # bob moved from users to revoked: the same PKI resources (his certificate stays), no profile
    tls_names = {(r.type, r.name) for r in v4_dev_plan.resources if r.type.startswith("tls:")}
    assert {(r.type, r.name) for r in revoked.resources if r.type.startswith("tls:")} == tls_names
    assert sorted(revoked.outputs["vpn_profiles"]) == ["alice"]
    bob = _pem(revoked, "tls:index/locallySignedCert:LocallySignedCert", "vpn-pki-client-bob")
    for plan, serials in ((v4_dev_plan, []), (revoked, [bob.serial_number])):
        version = one(plan, "aws:secretsmanager/secretVersion:SecretVersion", "openvpn-secret-version")
        assert version.inputs["secretString"] == "[secret]"
        crl_pem = json.loads(version.state["secretString"])["crl_pem"]
        assert plan.outputs["vpn_crl_pem"] == crl_pem  # public
        crl = x509.load_pem_x509_crl(crl_pem.encode())
        ca = _pem(plan, "tls:index/selfSignedCert:SelfSignedCert", "vpn-pki-ca")
        assert crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())
        assert [r.serial_number for r in crl] == serials
    # the server checks every client against it, and the user data changes (the instance is
    # replaced and fetches the new list)
    before, after = _openvpn_user_data(v4_dev_plan), _openvpn_user_data(revoked)
    assert all("crl-verify /etc/openvpn/server/crl.pem" in text for text in (before, after))
    assert "readonly REVOKED_COUNT=0" in before and "readonly REVOKED_COUNT=1" in after


def test_revoked_user_also_active_exits_2_naming_the_field(tmp_path: Path) -> None:
    values = example_values("v4-dev")
    values["openvpn"].update(revoked=["bob", "Eve"])
    path = tmp_path / "Pulumi.v4-bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    proc = subprocess.run([sys.executable, "-m", "looper_infra", "plan", "v4", "--config", str(path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "looper:openvpn.revoked" in proc.stderr and "bob also in openvpn.users" in proc.stderr
    assert "'Eve' is not a user name" in proc.stderr and "Traceback" not in proc.stderr


# --- GPU nodes --------------------------------------------------------------------------------------

def _user_data(r: RecordedResource) -> str:
    raw = base64.b64decode(r.inputs["userData"])
    return gzip.decompress(raw).decode()


def test_gcp_gpu_node_is_private_and_joins_through_the_vpn(stack: tuple[Plan, dict[str, Any]]) -> None:
    plan, values = stack
    (vm,) = plan.of_type(GCE)
    assert all("accessConfigs" not in nic for nic in vm.inputs["networkInterfaces"])  # no public IP
    assert vm.inputs["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    assert vm.inputs["scheduling"]["onHostMaintenance"] == "TERMINATE"
    assert vm.inputs["metadata"]["enable-oslogin"] == "TRUE"
    text = vm.inputs["metadata"]["user-data"]
    assert not re.search(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b", text)  # names its secret, never holds it
    secret = f"looper-{values['env']}-gpu-k8s-join"
    assert re.search(rf"JOIN_SECRET_ID=projects/[a-z0-9-]+/secrets/{secret}\n", text)
    assert GPU_TAINT.split("=")[0] in text and "nvidia.com/gpu.present" in text
    # the API NLB answers on the fixed addresses the node pins in /etc/hosts
    (api,) = [lb for lb in plan.of_type(LB) if lb.inputs.get("internal")]
    pinned = [m["privateIpv4Address"] for m in api.inputs["subnetMappings"]]
    assert pinned == plan.outputs["api_server_addresses"]
    for cidr, ip in zip(values["network"]["private_cidrs"], pinned, strict=True):
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)
        assert ip in text


def test_aws_gpu_group_only_when_configured(v4_dev_plan: Plan, v4_prod_plan: Plan) -> None:
    assert "gpu" not in v4_dev_plan.outputs["node_asg_names"]
    assert v4_prod_plan.outputs["node_asg_names"]["gpu"] == "looper-prod-gpu"
    (lt,) = [r for r in v4_prod_plan.of_type(LT) if r.name == "gpu-lt-template"]
    assert lt.inputs["instanceType"] == "g4dn.xlarge"
    text = gzip.decompress(base64.b64decode(lt.inputs["userData"])).decode()
    assert '"looper/accelerator": "nvidia-t4"' in text or "looper/accelerator=nvidia-t4" in text
    assert "Tesla T4" in text and "nvidia.com/gpu" in text


# --- `looper vpn-profile` ---------------------------------------------------------------------------

PROFILE = "client\nremote 3.3.3.3 1194 udp\n<cert>\n...\n</cert>\n"


def test_vpn_profile_is_written_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def outputs(stack: str, project_dir: Path, **kwargs: Any) -> dict[str, Any]:
        seen.update(stack=stack, backend=kwargs.get("backend_url"))
        return {"vpn_profiles": {"alice": PROFILE, "bob": PROFILE.replace("3.3", "4.4")}}

    monkeypatch.setattr(deploy, "stack_outputs", outputs)
    target = tmp_path / "alice.ovpn"
    target.write_text("old")
    target.chmod(0o644)
    result = CliRunner().invoke(app, ["vpn-profile", "alice", "--stack", "v4-prod", "-o", str(target),
                                      "--project-dir", str(ROOT), "--backend", "file:///tmp/x"])
    assert result.exit_code == 0, result.output
    assert target.read_text() == PROFILE
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert seen == {"stack": "v4-prod", "backend": "file:///tmp/x"}
    assert "<cert>" not in result.output  # never printed

    missing = CliRunner().invoke(app, ["vpn-profile", "carol", "--stack", "v4-prod", "-o", str(target),
                                       "--project-dir", str(ROOT)])
    assert missing.exit_code == 1
    assert "no VPN user 'carol'" in missing.output and "alice, bob" in missing.output


def test_vpn_profile_errors_name_the_fix() -> None:
    with pytest.raises(deploy.DeployError, match="exports no VPN profiles"):
        deploy.vpn_profile({"kubeconfig": "x"}, "alice", "v1-dev")
    with pytest.raises(deploy.DeployError, match="not an OpenVPN profile"):
        deploy.vpn_profile({"vpn_profiles": {"alice": "nope"}}, "alice", "v4-dev")


def test_stack_outputs_needs_the_cli_and_passphrase_only(tmp_path: Path) -> None:
    class Stack:
        def outputs(self) -> dict[str, Any]:
            class Value:
                value, secret = {"alice": PROFILE}, True
            return {"vpn_profiles": Value()}

    calls: list[dict[str, str]] = []

    def select(stack: str, project_dir: Path, env: Any) -> Stack:
        calls.append(dict(env))
        return Stack()

    env = {"HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "x"}
    got = deploy.stack_outputs("v4-dev", tmp_path, environ=env, which=lambda _: "/usr/bin/pulumi",
                               select_stack=select)
    assert got == {"vpn_profiles": {"alice": PROFILE}}
    assert calls[0]["PULUMI_BACKEND_URL"] == f"file://{tmp_path}/.looper/state"
    with pytest.raises(deploy.DeployError, match="Pulumi CLI is not on PATH"):
        deploy.stack_outputs("v4-dev", tmp_path, environ=env, which=lambda _: None, select_stack=select)


# --- config -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda v: v["openvpn"].update(users=["alice", "alice"]), "looper:openvpn.users", "duplicate"),
        (lambda v: v["openvpn"].update(users=["Root!"]), "looper:openvpn.users", "not a user name"),
        (lambda v: v["openvpn"].update(admin_ssh_cidrs={"office": "0.0.0.0/0"}),
         "looper:openvpn.admin_ssh_cidrs", "too broad"),
        (lambda v: v["gcp"]["vpn"].update(cloud_router_asn=65535), "looper:gcp.vpn.cloud_router_asn",
         "private ASN"),
        (lambda v: v["gcp"]["vpn"].update(aws_asn=7224), "looper:gcp.vpn.aws_asn", "private ASN"),
        (lambda v: v["gcp"]["vpn"].update(inside_cidrs={"a1": "169.254.169.252/30", "a2": "169.254.30.4/30",
                                                        "b1": "169.254.30.4/30", "b2": "10.0.0.0/30"}),
         "looper:gcp.vpn.inside_cidrs", "reserved"),
        (lambda v: v["gcp"]["vpn"].update(inside_cidrs={"a1": "169.254.30.0/30"}),
         "looper:gcp.vpn.inside_cidrs", "one /30 per tunnel"),
        (lambda v: v["gcp"]["vpn"].update(cipher_suite="des"), "looper:gcp.vpn.cipher_suite", ""),
        (lambda v: v["gcp"].update(gpu_node={"machine_type": "g2-standard-24"}),
         "looper:gcp.gpu_node.machine_type", "2 L4 GPUs"),
        (lambda v: v.update(gpu_workers={"instance_type": "m7i.xlarge"}), "looper:gpu_workers.instance_type",
         "not an NVIDIA GPU instance type"),
    ],
)
def test_access_config_errors_name_their_field(mutate: Any, path: str, fragment: str) -> None:
    values = example_values("v4-dev")
    mutate(values)
    issues = issues_of(values)
    assert path in issues, issues
    assert fragment in issues[path]


def test_gcp_gpu_node_can_run_on_spot_capacity() -> None:
    from helpers.plans import plan_values
    from looper_infra.reports.pricing import estimate

    values = example_values("v4-dev")
    values["gcp"]["gpu_node"]["scheduling"] = {"provisioning_model": "SPOT", "automatic_restart": False,
                                               "termination_action": "STOP"}
    plan = plan_values(values, stack="v4-dev")
    (vm,) = plan.of_type(GCE)
    sched = vm.inputs["scheduling"]
    assert (sched["provisioningModel"], sched["automaticRestart"], sched["instanceTerminationAction"],
            sched["onHostMaintenance"]) == ("SPOT", False, "STOP", "TERMINATE")
    # the spot cost lever now reads as applied (nothing more to save)
    (lever,) = [lv for lv in estimate(plan).levers if lv.name == "spot GPU"]
    assert lever.applied and lever.monthly_saving == 0

    values["gcp"]["gpu_node"]["scheduling"] = {"provisioning_model": "SPOT", "automatic_restart": False}
    assert "looper:gcp.gpu_node.scheduling.termination_action" in issues_of(values)
