"""OpenVPN for real: the rendered server config and client profiles, in two network namespaces.

The certificates and the tls-crypt key come from the `VpnPki` component run under the offline
mocks (its tls/random fakes make real ECDSA keys and certificates, shaped as pulumi-tls would
make them); the client profiles are the component's own `profiles(...)` outputs. A veth pair
joins a server namespace (198.18.0.1/30) and a client namespace (198.18.0.2/30): no traffic
leaves them. The server runs with exactly `render_openvpn_server_conf`'s output (only the
file locations point into a temporary directory).

Checked: a configured user connects, pings the server's tunnel address and receives exactly
the configured routes; a user with a valid certificate but no ccd file (removed from the
config) is refused; a revoked user (still valid certificate, and a ccd file here so that only
the CRL can refuse them) is refused by `crl-verify` while a configured user connects, and is
admitted once the running server re-reads an empty CRL (so the CRL did it, an empty CRL is
valid, and the file is readable after OpenVPN dropped to nobody); a certificate from another
CA is refused. Needs root, `ip` and `openvpn` (`scripts/install --test-tools`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pytest

from helpers.tools import require_tool
from looper_infra.bootstrap.openvpn import (
    SERVER_PATHS,
    OpenVpnServerSpec,
    client_profile,
    openvpn_ccd_files,
    reachable_cidrs,
    render_openvpn_ccd,
    render_openvpn_server_conf,
)
from looper_infra.components.vpn_pki import VpnPki, VpnPkiArgs, certificate_revocation_list
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import run_program

SERVER_ADDR, CLIENT_ADDR = "198.18.0.1", "198.18.0.2"
#: transit-gateway mode: the K8s VPC and GCP are both reachable
PUSHED = reachable_cidrs(k8s_vpc_cidr="10.1.0.0/16", gcp_cidrs=("10.0.0.0/16",), transit_gateway=True)
CONNECTED = "Initialization Sequence Completed"
STEP_TIMEOUT = 12.0
#: ICMP echo to argv[1] from a raw socket (no iputils needed): exit 0 on a matching reply.
PING = """
import os, select, socket, struct, sys, time
def csum(b):
    b += b"\\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF
ident, dest = os.getpid() & 0xFFFF, sys.argv[1]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for seq in range(1, 4):
    body = b"looper-openvpn-e2e"
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    sock.sendto(struct.pack("!BBHHH", 8, 0, csum(head + body), ident, seq) + body, (dest, 0))
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if not select.select([sock], [], [], deadline - time.monotonic())[0]:
            break
        data, addr = sock.recvfrom(2048)
        ihl = (data[0] & 0x0F) * 4
        kind, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if addr[0] == dest and kind == 0 and rid == ident and rseq == seq:
            print("reply from", dest)
            sys.exit(0)
sys.exit(1)
"""


@dataclass(frozen=True)
class Material:
    server: dict[str, str]
    profiles: dict[str, str]
    #: revoked user -> the profile they still hold (made before the revocation)
    revoked_profiles: dict[str, str]
    #: the CA key (for an empty CRL signed by the same CA)
    ca_key: str


def pki_material(users: tuple[str, ...], organization: str, revoked: tuple[str, ...] = ()) -> Material:
    """The server secret values and every user's profile, as the component computes them."""
    captured: dict[str, dict[str, str]] = {"server": {}, "profiles": {}, "revoked": {}}

    def keep(kind: str, key: str) -> Callable[[str], None]:
        return lambda value: captured[kind].__setitem__(key, value)

    def program() -> None:
        pki = VpnPki("vpn-pki", VpnPkiArgs(users=users, organization=organization, revoked=revoked))
        for key, value in pki.server_secret_values().items():
            value.apply(keep("server", key))
        for user, profile in pki.profiles(SERVER_ADDR).items():
            profile.apply(keep("profiles", user))
        for user, creds in pki.revoked.items():
            pulumi.Output.all(pki.ca_cert_pem, creds.cert_pem, creds.key_pem, pki.tls_crypt_key).apply(
                lambda v, user=user: keep("revoked", user)(client_profile(user, SERVER_ADDR, *v)))
        pulumi.export("users", sorted(users))

    plan = run_program(program, stage="test", stack="test", context=MockContext())
    ca_key = plan.named("tls:index/privateKey:PrivateKey", "vpn-pki-ca-key").state["privateKeyPem"]
    return Material(captured["server"], captured["profiles"], captured["revoked"], ca_key)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=15, check=True)


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.fail("the OpenVPN end-to-end test needs root (network namespaces, tun devices)")
    return {"ip": require_tool("ip"), "openvpn": require_tool("openvpn")}


@pytest.fixture(scope="module")
def namespaces(tools: dict[str, str]) -> Iterator[tuple[str, str]]:
    tag = secrets.token_hex(3)
    server, client = f"lvpn-s-{tag}", f"lvpn-c-{tag}"
    ip = tools["ip"]
    created: list[str] = []
    try:
        for ns in (server, client):
            _run(ip, "netns", "add", ns)
            created.append(ns)
            _run(ip, "-n", ns, "link", "set", "lo", "up")
        _run(ip, "-n", server, "link", "add", "veth-s", "type", "veth", "peer", "name", "veth-c",
             "netns", client)
        _run(ip, "-n", server, "addr", "add", f"{SERVER_ADDR}/30", "dev", "veth-s")
        _run(ip, "-n", client, "addr", "add", f"{CLIENT_ADDR}/30", "dev", "veth-c")
        _run(ip, "-n", server, "link", "set", "veth-s", "up")
        _run(ip, "-n", client, "link", "set", "veth-c", "up")
        yield server, client
    finally:
        for ns in created:
            subprocess.run([ip, "netns", "del", ns], capture_output=True, timeout=15, check=False)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # not under pytest's 0700 tmp root: the server reads ccd files after dropping to nobody
    path = Path(tempfile.mkdtemp(prefix="looper-openvpn-e2e-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def material() -> Material:
    # bob has a valid certificate of our CA but was removed from the config (no ccd file);
    # carol was revoked (her certificate is in the CRL)
    return pki_material(("alice", "bob"), "looper-e2e", revoked=("carol",))


@pytest.fixture(scope="module")
def foreign() -> Material:
    return pki_material(("mallory",), "somebody-else")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_for(predicate: Callable[[], bool], timeout: float = STEP_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@dataclass
class Server:
    spec: OpenVpnServerSpec
    log: Path
    status: Path
    namespace: str


@pytest.fixture(scope="module")
def server(tools: dict[str, str], namespaces: tuple[str, str], workdir: Path,
           material: Material) -> Iterator[Server]:
    server_ns, _ = namespaces
    d = workdir / "server"
    (d / "ccd").mkdir(parents=True)
    d.chmod(0o755)
    (d / "ccd").chmod(0o755)
    # modes as looper-openvpn-aws writes them
    files = {"ca.crt": ("ca_crt", 0o644), "server.crt": ("server_crt", 0o644),
             "server.key": ("server_key", 0o600), "tls-crypt.key": ("tls_crypt", 0o600),
             "crl.pem": ("crl_pem", 0o644)}
    for name, (key, mode) in files.items():
        (d / name).write_text(material.server[key], encoding="utf-8")
        (d / name).chmod(mode)
    paths = {**SERVER_PATHS, "ca": str(d / "ca.crt"), "cert": str(d / "server.crt"),
             "key": str(d / "server.key"), "tls_crypt": str(d / "tls-crypt.key"), "ccd": str(d / "ccd"),
             "crl": str(d / "crl.pem"),
             "log": str(d / "server.log"), "status": str(d / "status.log")}
    spec = OpenVpnServerSpec(users=("alice",), push_cidrs=PUSHED, region="ap-northeast-2",
                             secret_id="looper-vpn/e2e/server", log_group_name="/looper/openvpn/e2e",
                             status_interval_sec=1, paths=paths, revoked=("carol",))
    # carol's ccd file too (the real server has none): only the CRL may refuse her here
    ccd = {**openvpn_ccd_files(spec), "carol": render_openvpn_ccd("carol")}
    for user, text in ccd.items():
        (d / "ccd" / user).write_text(text, encoding="utf-8")
        (d / "ccd" / user).chmod(0o644)
    conf = d / "server.conf"
    conf.write_text(render_openvpn_server_conf(spec), encoding="utf-8")
    out = (d / "stdout.log").open("wb")
    command = [tools["ip"], "netns", "exec", server_ns, tools["openvpn"], "--config", str(conf)]
    proc = subprocess.Popen(command,
                            stdout=out, stderr=subprocess.STDOUT, cwd=d)
    log = d / "server.log"
    try:
        started = _wait_for(lambda: CONNECTED in _read(log) or proc.poll() is not None)
        assert started and proc.poll() is None, (
            f"the server did not start:\n{_read(log)}\n{_read(d / 'stdout.log')}")
        yield Server(spec, log, d / "status.log", server_ns)
    finally:
        _stop(proc)
        out.close()


@dataclass
class ClientRun:
    log: str
    connected: bool
    routes: list[dict[str, str]]
    ping: subprocess.CompletedProcess[str] | None


def _connect(tools: dict[str, str], namespaces: tuple[str, str], workdir: Path, name: str,
             profile: str, *, done: Callable[[str], bool], ping: bool = False) -> ClientRun:
    _, client_ns = namespaces
    d = workdir / f"client-{name}"
    d.mkdir(mode=0o700)
    (d / "profile.ovpn").write_text(profile, encoding="utf-8")
    (d / "profile.ovpn").chmod(0o600)
    log = d / "client.log"
    proc = subprocess.Popen([tools["ip"], "netns", "exec", client_ns, tools["openvpn"],
                             "--config", str(d / "profile.ovpn"), "--log", str(log)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)
    try:
        _wait_for(lambda: done(_read(log)) or proc.poll() is not None)
        connected = CONNECTED in _read(log)
        routes = json.loads(_run(tools["ip"], "-n", client_ns, "-4", "-j", "route", "show").stdout or "[]")
        result = None
        if ping and connected:
            result = subprocess.run(
                [tools["ip"], "netns", "exec", client_ns, sys.executable, "-c", PING, "10.8.0.1"],
                capture_output=True, text=True, timeout=15, check=False)
        return ClientRun(_read(log), connected, routes, result)
    finally:
        _stop(proc)
        _wait_for(lambda: not any(r.get("dev", "").startswith("tun") for r in json.loads(
            _run(tools["ip"], "-n", client_ns, "-4", "-j", "route", "show").stdout or "[]")), 5)


def _tunnel_routes(routes: list[dict[str, str]]) -> set[str]:
    """Destinations routed through the tunnel via the server (the pushed routes)."""
    return {str(ipaddress.IPv4Network(r["dst"])) for r in routes
            if r.get("dev", "").startswith("tun") and r.get("gateway") == "10.8.0.1"}


def test_configured_user_connects_pings_and_gets_exactly_the_reachable_routes(
        tools: dict[str, str], namespaces: tuple[str, str], workdir: Path, server: Server,
        material: Material) -> None:
    run = _connect(tools, namespaces, workdir, "alice", material.profiles["alice"],
                   done=lambda log: CONNECTED in log, ping=True)
    assert run.connected, run.log
    assert run.ping is not None and run.ping.returncode == 0, run.ping.stdout if run.ping else run.log
    assert _tunnel_routes(run.routes) == set(PUSHED) == {"10.1.0.0/16", "10.0.0.0/16"}
    # the data channel is the configured cipher, the control channel TLS >= 1.2
    assert "Data Channel: cipher 'AES-256-GCM'" in run.log
    assert "Control Channel: TLSv1.3" in run.log or "Control Channel: TLSv1.2" in run.log
    server_log = _read(server.log)
    assert "alice" in server_log and "VERIFY OK: depth=0" in server_log
    # the status file the log shipper sends to CloudWatch lists the client
    assert _wait_for(lambda: "CLIENT_LIST,alice" in _read(server.status), 5), _read(server.status)


def test_user_removed_from_config_is_refused(tools: dict[str, str], namespaces: tuple[str, str],
                                             workdir: Path, server: Server, material: Material) -> None:
    marker = "client-config-dir authentication failed for common name 'bob'"
    run = _connect(tools, namespaces, workdir, "bob", material.profiles["bob"],
                   done=lambda log: "AUTH_FAILED" in log or CONNECTED in log)
    assert not run.connected, run.log
    assert "AUTH_FAILED" in run.log
    assert _tunnel_routes(run.routes) == set()
    assert marker in _read(server.log)


def test_revoked_user_is_refused_by_the_crl_while_a_user_connects(
        tools: dict[str, str], namespaces: tuple[str, str], workdir: Path, server: Server,
        material: Material) -> None:
    crl = Path(server.spec.paths["crl"])
    assert stat.S_IMODE(crl.stat().st_mode) == 0o644
    before = _read(server.log).count("certificate revoked")
    run = _connect(tools, namespaces, workdir, "carol", material.revoked_profiles["carol"],
                   done=lambda log: CONNECTED in log
                   or _read(server.log).count("certificate revoked") > before)
    assert not run.connected, run.log
    assert _tunnel_routes(run.routes) == set()
    # OpenSSL's verdict on carol's certificate, as the server logs it
    assert _read(server.log).count("certificate revoked") > before, _read(server.log)[-3000:]
    # the CRL refuses only the revoked: alice, right after, connects
    alice = _connect(tools, namespaces, workdir, "alice-after-carol", material.profiles["alice"],
                     done=lambda log: CONNECTED in log)
    assert alice.connected, alice.log
    # an empty CRL of the same CA, swapped in while the server runs (as nobody): re-read at the
    # next connection, and carol (who has a ccd file here) is admitted
    original = crl.read_text(encoding="utf-8")
    empty = certificate_revocation_list(material.ca_key, material.server["ca_crt"], [])
    try:
        replacement = crl.with_suffix(".new")
        replacement.write_text(empty, encoding="utf-8")
        replacement.chmod(0o644)
        replacement.replace(crl)
        again = _connect(tools, namespaces, workdir, "carol-unrevoked", material.revoked_profiles["carol"],
                         done=lambda log: CONNECTED in log or "AUTH_FAILED" in log)
        assert again.connected, again.log + _read(server.log)[-3000:]
    finally:
        crl.write_text(original, encoding="utf-8")
        crl.chmod(0o644)


def test_certificate_of_another_ca_is_refused(tools: dict[str, str], namespaces: tuple[str, str],
                                              workdir: Path, server: Server, material: Material,
                                              foreign: Material) -> None:
    # mallory trusts our CA and even has our tls-crypt key (both could leak from any profile):
    # the server's check of her certificate alone must refuse her
    profile = foreign.profiles["mallory"]
    for block, ours in (("ca", material.server["ca_crt"]), ("tls-crypt", material.server["tls_crypt"])):
        start, end = f"<{block}>\n", f"</{block}>"
        head, tail = profile.index(start) + len(start), profile.index(end)
        profile = profile[:head] + ours.strip() + "\n" + profile[tail:]
    assert "BEGIN CERTIFICATE" in profile and foreign.server["ca_crt"].strip() not in profile
    before = _read(server.log).count("VERIFY ERROR")
    run = _connect(tools, namespaces, workdir, "mallory", profile,
                   done=lambda _log: _read(server.log).count("VERIFY ERROR") > before)
    assert not run.connected, run.log
    assert _read(server.log).count("VERIFY ERROR") > before, run.log
    assert _tunnel_routes(run.routes) == set()


def test_server_files_stay_private(server: Server) -> None:
    key = Path(server.spec.paths["key"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
