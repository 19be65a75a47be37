"""OpenVPN rendering: goldens, the real validators (cloud-init schema, shellcheck), no secrets.

Golden files live in ``golden/``; regenerate them with ``LOOPER_UPDATE_GOLDEN=1 pytest``.
The end-to-end behaviour of these configs is in test_openvpn_e2e.py.
"""

from __future__ import annotations

import gzip
import py_compile
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from helpers.tools import (
    assert_matches_golden,
    assert_shellcheck_clean,
    assert_valid_cloud_config,
    require_tool,
)
from looper_infra.bootstrap.openvpn import (
    HELPER_PATH,
    OPENVPN_APT_VERSION,
    SERVER_PATHS,
    SETUP_SCRIPT_PATH,
    USER_DATA_LIMIT,
    OpenVpnServerSpec,
    client_profile,
    openvpn_ccd_files,
    openvpn_server_files,
    reachable_cidrs,
    render_openvpn_server_cloud_config,
    render_openvpn_server_conf,
    static_key_v1,
)
from looper_infra.components.vpn_pki import certificate_revocation_list

GOLDEN_DIR = Path(__file__).parent / "golden"
BASE = {"region": "ap-northeast-2", "secret_id": "looper-vpn/dev/server",
        "log_group_name": "/looper/openvpn/looper-dev-vpn"}
SPECS = {
    # peering mode: only the K8s VPC is reachable
    "openvpn_peering": OpenVpnServerSpec(
        users=("alice", "bob"), push_cidrs=reachable_cidrs(k8s_vpc_cidr="10.1.0.0/16",
                                                           gcp_cidrs=("10.0.0.0/16",), transit_gateway=False),
        revoked=("dave", "erin"), **BASE),
    # transit-gateway mode: GCP too
    "openvpn_transit": OpenVpnServerSpec(
        users=("carol",), push_cidrs=reachable_cidrs(k8s_vpc_cidr="10.1.0.0/16", gcp_cidrs=("10.0.0.0/16",),
                                                     transit_gateway=True),
        pool_cidr="10.9.0.0/24", **BASE),
}
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|Static key V1")


def directives(conf: str) -> list[str]:
    return [line.strip() for line in conf.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("case", sorted(SPECS))
def test_goldens(case: str) -> None:
    spec = SPECS[case]
    assert_matches_golden(render_openvpn_server_conf(spec), GOLDEN_DIR / f"{case}.server.conf")
    assert_matches_golden(render_openvpn_server_cloud_config(spec), GOLDEN_DIR / f"{case}.cloud-config.yaml")


def test_server_conf_has_every_required_setting_and_no_compression() -> None:
    lines = directives(render_openvpn_server_conf(SPECS["openvpn_peering"]))
    for required in ("dev tun", "proto udp", "port 1194", "topology subnet", "server 10.8.0.0 255.255.255.0",
                     "data-ciphers AES-256-GCM", "tls-version-min 1.2", "allow-compression no",
                     "verify-client-cert require", "remote-cert-tls client", "ccd-exclusive",
                     "crl-verify /etc/openvpn/server/crl.pem",
                     "client-config-dir /etc/openvpn/server/ccd",
                     "tls-crypt /etc/openvpn/server/tls-crypt.key",
                     "user nobody", "group nogroup", "persist-key", "persist-tun", "keepalive 10 60",
                     "status /var/log/openvpn/status.log 30", "log-append /var/log/openvpn/server.log"):
        assert required in lines, required
    assert not [line for line in lines if line.startswith(("comp-lzo", "compress", "cipher "))]


def test_routes_pushed_are_exactly_the_reachable_networks() -> None:
    def pushed(spec: OpenVpnServerSpec) -> list[str]:
        return [line for line in directives(render_openvpn_server_conf(spec)) if line.startswith("push")]

    # peering is non-transitive: GCP is not pushed without a transit gateway
    assert pushed(SPECS["openvpn_peering"]) == ['push "route 10.1.0.0 255.255.0.0"']
    assert pushed(SPECS["openvpn_transit"]) == ['push "route 10.1.0.0 255.255.0.0"',
                                                'push "route 10.0.0.0 255.255.0.0"']
    assert reachable_cidrs(k8s_vpc_cidr=None, gcp_cidrs=("10.0.0.0/16",), transit_gateway=False) == ()


def test_ccd_files_are_exactly_the_configured_users() -> None:
    files = openvpn_server_files(SPECS["openvpn_peering"])
    staged = sorted(p.rsplit("/", 1)[1] for p in files if p.startswith(SERVER_PATHS["ccd_staging"] + "/"))
    assert staged == ["alice", "bob"] == sorted(openvpn_ccd_files(SPECS["openvpn_peering"]))
    # the setup script deletes ccd files of users no longer staged
    assert 'rm -f -- "$file"' in files[SETUP_SCRIPT_PATH]


@pytest.mark.parametrize("case", sorted(SPECS))
def test_cloud_config_is_valid_small_and_holds_no_secret(case: str, tmp_path: Path) -> None:
    text = render_openvpn_server_cloud_config(SPECS[case])
    assert_valid_cloud_config(text, tmp_path)
    assert len(gzip.compress(text.encode(), 9, mtime=0)) < USER_DATA_LIMIT
    assert not PRIVATE_KEY.search(text)
    doc = yaml.safe_load(text)
    assert doc["runcmd"][-1] == [SETUP_SCRIPT_PATH]
    assert "openvpn=${OPENVPN_VERSION}" in text and f"readonly OPENVPN_VERSION={OPENVPN_APT_VERSION}" in text


def test_setup_script_passes_shellcheck_and_helper_compiles(tmp_path: Path) -> None:
    files = openvpn_server_files(SPECS["openvpn_transit"])
    script, helper = tmp_path / "looper-openvpn", tmp_path / "looper-openvpn-aws.py"
    script.write_text(files[SETUP_SCRIPT_PATH], encoding="utf-8")
    helper.write_text(files[HELPER_PATH], encoding="utf-8")
    assert_shellcheck_clean(script)
    py_compile.compile(str(helper), doraise=True)
    # the helper accepts what the program stores (and only that) for each secret key
    namespace: dict[str, object] = {"__name__": "looper_openvpn_aws"}
    exec(compile(files[HELPER_PATH], "looper-openvpn-aws", "exec"), namespace)  # noqa: S102 (our file)
    checks = namespace["TLS"]
    assert isinstance(checks, dict)
    assert checks["tls_crypt"][2].match(static_key_v1("3c" * 256).strip())
    assert not checks["tls_crypt"][2].match(static_key_v1("3c" * 256).strip()[:-40])
    assert checks["server_key"][2].match("-----BEGIN EC PRIVATE KEY-----")
    # the CRL: world-readable (OpenVPN re-reads it as nobody), and only a CRL
    assert checks["crl_pem"][:2] == ("crl.pem", 0o644)
    assert checks["crl_pem"][2].match("-----BEGIN X509 CRL-----") and not checks["crl_pem"][2].match(
        "-----BEGIN CERTIFICATE-----")
    text = files[SETUP_SCRIPT_PATH]
    # SNAT of the pool, forwarding only to the pushed networks, then a drop
    assert 'iptables -t nat -A LOOPER-VPN-NAT -s "$POOL" -d "$cidr" -j MASQUERADE' in text
    assert text.index('-d "$cidr" -j ACCEPT') < text.index("-i tun+ -j DROP")
    assert "readonly PUSH_CIDRS=(10.1.0.0/16 10.0.0.0/16)" in text


# What config does not guarantee (the users' names, duplicates, the region and the networks'
# overlaps it does: tests/config/test_v4.py).
@pytest.mark.parametrize(("change", "field"), [
    ({"users": ()}, "users"),
    ({"push_cidrs": ("0.0.0.0/0",)}, "push_cidrs[0]"), ({"push_cidrs": ("10.1.0.0/16", "8.8.8.0/24")},
                                                        "push_cidrs[1]"),
    ({"pool_cidr": "8.8.8.0/24"}, "pool_cidr"), ({"pool_cidr": "10.8.0.0/30"}, "pool_cidr"),
])
def test_spec_rejects_what_config_does_not_guarantee(change: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"users": ("alice",), "push_cidrs": ("10.1.0.0/16",), **BASE, **change}
    with pytest.raises(ValueError, match=re.escape(f"{field}:")):
        OpenVpnServerSpec(**values)  # type: ignore[arg-type]


def test_openvpn_pin_is_an_apt_version_for_noble() -> None:
    assert re.fullmatch(r"[0-9][A-Za-z0-9.+~:-]*", OPENVPN_APT_VERSION)
    assert "ubuntu0.24.04" in OPENVPN_APT_VERSION


def test_static_key_v1_format() -> None:
    key = static_key_v1("ab" * 256)
    body = key.split("-----BEGIN OpenVPN Static key V1-----\n")[1].split("-----END")[0].split()
    assert len(body) == 16 and all(len(line) == 32 for line in body)
    with pytest.raises(ValueError, match="256 bytes"):
        static_key_v1("ab" * 255)


# --- client profiles ---------------------------------------------------------------------------

def _cert(cn: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey,
          eku: list[x509.ObjectIdentifier], ca: bool = False) -> x509.Certificate:
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def pki() -> dict[str, str]:
    ca_key, user_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test VPN CA")])
    ca = _cert("test VPN CA", ca_key, ca_name, ca_key, [], ca=True)
    return {
        "ca": _pem(ca), "key": _key_pem(user_key), "other_key": _key_pem(other_key),
        "alice": _pem(_cert("alice", user_key, ca_name, ca_key, [ExtendedKeyUsageOID.CLIENT_AUTH])),
        "alice_server_eku": _pem(_cert("alice", user_key, ca_name, ca_key,
                                       [ExtendedKeyUsageOID.SERVER_AUTH])),
        "alice_self": _pem(_cert("alice", user_key, ca_name, user_key, [ExtendedKeyUsageOID.CLIENT_AUTH])),
        "tls_crypt": static_key_v1("0f" * 256),
    }


def test_client_profile_inlines_everything_and_pins_the_server(pki: dict[str, str]) -> None:
    text = client_profile("alice", "203.0.113.10", pki["ca"], pki["alice"], pki["key"], pki["tls_crypt"])
    lines = directives(text)
    for required in ("client", "dev tun", "proto udp", "remote 203.0.113.10 1194", "remote-cert-tls server",
                     "verify-x509-name looper-openvpn-server name", "data-ciphers AES-256-GCM",
                     "tls-version-min 1.2", "allow-compression no", "nobind"):
        assert required in lines, required
    for block, content in (("ca", pki["ca"]), ("cert", pki["alice"]), ("key", pki["key"]),
                           ("tls-crypt", pki["tls_crypt"])):
        assert f"<{block}>\n{content.strip()}\n</{block}>" in text
    assert not [line for line in lines if line.startswith(("comp-lzo", "compress"))]


@pytest.mark.parametrize(("user", "cert", "key", "message"), [
    ("bob", "alice", "key", "common name 'alice' is not the user 'bob'"),
    ("alice", "alice_server_eku", "key", "no extended key usage clientAuth"),
    ("alice", "alice_self", "key", "not issued by ca_pem"),
    ("alice", "alice", "other_key", "key_pem: not the key of cert_pem"),
    ("alice", "alice", "key", "server_host: 'vpn.example.com\\nup /bin/sh' is not a host name"),
])
def test_client_profile_refuses_mismatched_material(pki: dict[str, str], user: str, cert: str, key: str,
                                                    message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        host = "vpn.example.com\nup /bin/sh" if "server_host" in message else "vpn.example.com"
        client_profile(user, host, pki["ca"], pki[cert], pki[key], pki["tls_crypt"])


# --- the setup script's CRL check (real openssl, a stub helper) --------------------------------

def _crl_check(tmp_path: Path, spec: OpenVpnServerSpec, ca_pem: str,
               crl_pem: str) -> subprocess.CompletedProcess[str]:
    """Run the rendered script's `fetch_checked` with a helper that "fetches" ca_pem and crl_pem."""
    server_dir = tmp_path / "server"
    server_dir.mkdir(exist_ok=True)
    (tmp_path / "ca.pem").write_text(ca_pem, encoding="utf-8")
    (tmp_path / "crl.pem").write_text(crl_pem, encoding="utf-8")
    helper = tmp_path / "helper"
    helper.write_text(f'#!/bin/sh\ncp {tmp_path}/ca.pem "$4/ca.crt" && cp {tmp_path}/crl.pem "$4/crl.pem"\n',
                      encoding="utf-8")
    helper.chmod(0o755)
    script = openvpn_server_files(spec)[SETUP_SCRIPT_PATH]
    for key, value in (("helper", str(helper)), ("crl", f"{server_dir}/crl.pem"),
                       ("ca", f"{server_dir}/ca.crt"), ("server_dir", str(server_dir))):
        script = script.replace(f"={SERVER_PATHS[key]}\n", f"={value}\n", 1)
    script = script[:script.index("if ! main; then")] + "fetch_checked\n"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=15, check=False)


def test_setup_refuses_a_crl_not_matching_the_revoked_users(tmp_path: Path) -> None:
    require_tool("openssl")
    ca_key, other_key, user_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test VPN CA")])
    ca = _pem(_cert("test VPN CA", ca_key, ca_name, ca_key, [], ca=True))
    other = _pem(_cert("other CA", other_key, ca_name, other_key, [], ca=True))
    dave, erin = (_pem(_cert(u, user_key, ca_name, ca_key, [ExtendedKeyUsageOID.CLIENT_AUTH]))
                  for u in ("dave", "erin"))
    spec = SPECS["openvpn_peering"]
    assert spec.revoked == ("dave", "erin")
    both = certificate_revocation_list(_key_pem(ca_key), ca, [dave, erin])
    ok = _crl_check(tmp_path, spec, ca, both)
    assert ok.returncode == 0, ok.stderr
    # an older secret version (one revocation short) is refused, so `retry` fetches again
    stale = _crl_check(tmp_path, spec, ca, certificate_revocation_list(_key_pem(ca_key), ca, [dave]))
    assert stale.returncode == 1 and "CRL lists 1 certificate(s), expected 2" in stale.stderr
    # a CRL another key signed is refused
    forged = _crl_check(tmp_path, spec, other, both)
    assert forged.returncode == 1 and "CRL not signed by the CA" in forged.stderr
