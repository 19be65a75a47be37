"""The cloud helpers, for real. ``looper-k8s-aws``: its SigV4 signer against AWS's published
test vector, its Secrets Manager call against a loopback fake of IMDSv2 and Secrets Manager,
and its ``fill``/``pki`` commands on real keys, so the kubeadm documents are checked both as
rendered (markers) and as kubeadm would read them at boot. ``looper-k8s-gcp``: against a
loopback fake of the GCE metadata server and of Secret Manager's REST API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import stat
import threading
import types
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from helpers.k8s_node import (
    ENDPOINT,
    GCP,
    SECRET_NAME,
    SPECS,
    TOKEN,
    args,
    docs,
    kubelet_labels,
    run_helper,
    written,
)
from looper_infra.bootstrap.k8s_node import (
    K8S_CONF_DIR,
    K8sNodeBootstrap,
    k8s_node_files,
    render_k8s_aws_helper,
    render_k8s_encryption_config,
    render_k8s_gcp_helper,
)
from looper_infra.bootstrap.k8s_node.bundle import bundle_files

# --- the AWS helper ---------------------------------------------------------------------------


@cache
def helper_module() -> types.ModuleType:
    module = types.ModuleType("looper_k8s_aws")
    exec(compile(render_k8s_aws_helper(SPECS["k8s_worker"]), "looper-k8s-aws", "exec"), module.__dict__)  # noqa: S102
    return module


def test_sigv4_matches_the_aws_test_suite() -> None:
    # AWS SigV4 test suite "get-vanilla" (credentials AKIDEXAMPLE / wJalr...EXAMPLEKEY).
    headers = helper_module().sigv4(
        "GET", "example.amazonaws.com", "/",
        {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}, b"",
        ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
        "us-east-1", "service", "20150830T123600Z",
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def fake_secret() -> dict[str, str]:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    sa_key = ec.generate_private_key(ec.SECP256R1())
    pem = serialization.Encoding.PEM
    return {
        "ca_crt": ca.public_bytes(pem).decode(),
        "ca_key": ca_key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()).decode(),
        "sa_key": sa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()).decode(),
        "sa_pub": sa_key.public_key().public_bytes(
            pem, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "token": "abcdef.0123456789abcdef",
        "certificate_key": secrets.token_hex(32),
        "encryption_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }



def node_files(spec: K8sNodeBootstrap) -> dict[str, str]:
    """User data files plus, on a control plane, its bundle's (unpacked at boot)."""
    bundle = bundle_files(spec) if spec.is_control_plane else {}
    return {**k8s_node_files(spec), **{path: f.content for path, f in bundle.items()}}


AWS_IDENTITY = {"zone": "ap-northeast-2a", "region": "ap-northeast-2", "instance_type": "m7i.large",
            "node_ip": "10.1.16.23", "node_name": "ip-10-1-16-23.ap-northeast-2.compute.internal",
            "provider_id": "aws:///ap-northeast-2a/i-0123456789abcdef0"}


@pytest.fixture
def aws_helper(tmp_path: Path) -> Path:
    path = tmp_path / "looper-k8s-aws"
    path.write_text(render_k8s_aws_helper(SPECS["k8s_worker"]), encoding="utf-8")
    return path


def test_fill_and_pki_produce_what_kubeadm_reads(aws_helper: Path, tmp_path: Path) -> None:
    spec = SPECS["k8s_control_plane_join"]
    secret = fake_secret()
    (tmp_path / "secret.json").write_text(json.dumps(secret))
    (tmp_path / "identity.json").write_text(json.dumps(AWS_IDENTITY))
    files = node_files(spec)
    outputs = {}
    for name in ("kubeadm-init.yaml", "kubeadm-join.yaml", "encryption-config.yaml"):
        (tmp_path / f"{name}.tmpl").write_text(files[f"{K8S_CONF_DIR}/{name}"])
        proc = run_helper(aws_helper, "fill", str(tmp_path / f"{name}.tmpl"), str(tmp_path / name),
                          str(tmp_path / "identity.json"), str(tmp_path / "secret.json"))
        assert proc.returncode == 0, proc.stderr
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        outputs[name] = (tmp_path / name).read_text()
        assert "@@" not in outputs[name]
    init = docs(outputs["kubeadm-init.yaml"])
    assert init["InitConfiguration"]["bootstrapTokens"][0]["token"] == secret["token"]
    assert init["InitConfiguration"]["certificateKey"] == secret["certificate_key"]
    assert init["InitConfiguration"]["localAPIEndpoint"]["advertiseAddress"] == "10.1.16.23"
    join = docs(outputs["kubeadm-join.yaml"])["JoinConfiguration"]
    assert join["discovery"]["bootstrapToken"]["token"] == secret["token"]
    assert join["nodeRegistration"]["name"] == AWS_IDENTITY["node_name"]
    for registration in (join, init["InitConfiguration"]):
        assert args(registration["nodeRegistration"]["kubeletExtraArgs"])["provider-id"] == (
            "aws:///ap-northeast-2a/i-0123456789abcdef0")
    labels = args(join["nodeRegistration"]["kubeletExtraArgs"])["node-labels"]
    assert "topology.kubernetes.io/zone=ap-northeast-2a" in labels.split(",")
    assert "node.kubernetes.io/instance-type=m7i.large" in labels.split(",")
    enc = docs(outputs["encryption-config.yaml"])["EncryptionConfiguration"]
    key = enc["resources"][0]["providers"][0]["secretbox"]["keys"][0]["secret"]
    assert len(base64.b64decode(key)) == 32

    pki = tmp_path / "pki"
    proc = run_helper(aws_helper, "pki", str(tmp_path / "secret.json"), str(pki))
    assert proc.returncode == 0, proc.stderr
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in pki.iterdir()}
    assert modes == {"ca.crt": 0o644, "ca.key": 0o600, "sa.key": 0o600, "sa.pub": 0o644}
    # the discovery hash the program computes is the hash of this CA
    cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", "sha256:" + hashlib.sha256(spki).hexdigest())
    assert proc.stdout == "" and secret["token"] not in proc.stderr


@pytest.mark.parametrize("key, value", [
    # an instance fact (later files win: the bad value replaces the identity's)
    ("provider_id", "aws:///ap-northeast-2a/i-0123456789abcdef0\n--node-ip=1.2.3.4"),
    ("provider_id", "aws:///ap-northeast-2a/../i-0123"),
    ("token", "ABCDEF.0123456789abcdef"),
    ("certificate_key", "abc"),
    ("encryption_key", base64.b64encode(b"x" * 16).decode()),
])
def test_fill_rejects_malformed_secrets_without_printing_them(
    aws_helper: Path, tmp_path: Path, key: str, value: str
) -> None:
    secret = {**fake_secret(), key: value}
    (tmp_path / "secret.json").write_text(json.dumps(secret))
    (tmp_path / "identity.json").write_text(json.dumps(AWS_IDENTITY))
    template = tmp_path / "t.yaml"
    template.write_text(node_files(SPECS["k8s_control_plane_init"])[f"{K8S_CONF_DIR}/kubeadm-init.yaml"]
                        + render_k8s_encryption_config(SPECS["k8s_control_plane_init"]))
    proc = run_helper(aws_helper, "fill", str(template), str(tmp_path / "out"),
                      str(tmp_path / "identity.json"), str(tmp_path / "secret.json"))
    assert proc.returncode == 1
    assert key in proc.stderr and value not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


class LoopbackServer(BaseHTTPRequestHandler):
    """A quiet loopback HTTP handler with a one-call answer."""

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeAws(LoopbackServer):
    """IMDSv2 and Secrets Manager on loopback; records what it was sent."""

    secret_string: ClassVar[str] = ""
    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def do_PUT(self) -> None:
        self.seen.append(("PUT", self.path, dict(self.headers), b""))
        if self.path == "/latest/api/token" and self.headers["X-aws-ec2-metadata-token-ttl-seconds"]:
            self._answer(200, "imds-session")
        else:
            self._answer(400, "")

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path, dict(self.headers), b""))
        if self.headers.get("X-aws-ec2-metadata-token") != "imds-session":
            self._answer(401, "")  # IMDSv1 is off
            return
        answers = {
            "/latest/meta-data/iam/security-credentials/": "looper-dev-k8s-node\n",
            "/latest/meta-data/iam/security-credentials/looper-dev-k8s-node": json.dumps(
                {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "example-secret-key",
                 "Token": "session-token"}),
            "/latest/meta-data/placement/availability-zone": AWS_IDENTITY["zone"],
            "/latest/meta-data/placement/region": AWS_IDENTITY["region"],
            "/latest/meta-data/instance-type": AWS_IDENTITY["instance_type"],
            "/latest/meta-data/local-ipv4": AWS_IDENTITY["node_ip"],
            "/latest/meta-data/local-hostname": AWS_IDENTITY["node_name"],
            "/latest/meta-data/instance-id": "i-0123456789abcdef0",
        }
        self._answer(200, answers[self.path]) if self.path in answers else self._answer(404, "")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(("POST", self.path, dict(self.headers), body))
        self._answer(200, json.dumps({"Name": "x", "SecretString": self.secret_string}))


@pytest.fixture
def fake_aws() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAws)
    FakeAws.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_secret_and_identity_through_imdsv2_and_signed_requests(
    aws_helper: Path, tmp_path: Path, fake_aws: str
) -> None:
    secret = fake_secret()
    FakeAws.secret_string = json.dumps(secret)
    env = {"LOOPER_IMDS_URL": fake_aws, "LOOPER_SECRETS_ENDPOINT": fake_aws}
    out = tmp_path / "secret.json"
    proc = run_helper(aws_helper, "secret", "ap-northeast-2", "looper-dev/k8s/control-plane", str(out),
                      env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == secret
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert proc.stdout == "" and proc.stderr == ""
    [post] = [s for s in FakeAws.seen if s[0] == "POST"]
    headers = {k.lower(): v for k, v in post[2].items()}
    assert headers["x-amz-target"] == "secretsmanager.GetSecretValue"
    assert headers["x-amz-security-token"] == "session-token"
    assert re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/\d{8}/ap-northeast-2/secretsmanager/aws4_request, "
        r"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
        r"Signature=[0-9a-f]{64}", headers["authorization"])
    assert json.loads(post[3]) == {"SecretId": "looper-dev/k8s/control-plane"}
    # every metadata read carried the IMDSv2 session token
    gets = [{k.lower(): v for k, v in s[2].items()} for s in FakeAws.seen if s[0] == "GET"]
    assert gets and all(h.get("x-aws-ec2-metadata-token") == "imds-session" for h in gets), gets

    identity = tmp_path / "identity.json"
    proc = run_helper(aws_helper, "identity", str(identity), env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(identity.read_text()) == AWS_IDENTITY


# --- the GCP helper ---------------------------------------------------------------------------


GCP_IDENTITY = {"zone": "asia-northeast3-a", "region": "asia-northeast3", "instance_type": "g2-standard-4",
            "node_ip": "10.0.16.5",
            "node_name": "looper-dev-gpu-0.asia-northeast3-a.c.looper-dev.internal",
            "provider_id": "gce://looper-dev/asia-northeast3-a/looper-dev-gpu-0"}


class FakeGcp(LoopbackServer):
    """GCE metadata server and Secret Manager on loopback; records what it was sent."""

    payload: ClassVar[bytes] = b""
    status: ClassVar[int] = 200
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.seen.append((self.path, headers))
        if self.path.startswith("/computeMetadata/v1/"):
            if headers.get("metadata-flavor") != "Google":
                self._answer(403, "missing Metadata-Flavor")
                return
            answers = {
                "instance/service-accounts/default/token": json.dumps(
                    {"access_token": "ya29.fake-access-token", "expires_in": 3599, "token_type": "Bearer"}),
                "instance/zone": "projects/123456789012/zones/asia-northeast3-a",
                "instance/machine-type": "projects/123456789012/machineTypes/g2-standard-4",
                "instance/network-interfaces/0/ip": GCP_IDENTITY["node_ip"],
                "instance/hostname": GCP_IDENTITY["node_name"],
                "instance/name": "looper-dev-gpu-0",
                "project/project-id": "looper-dev",
            }
            key = self.path.removeprefix("/computeMetadata/v1/")
            self._answer(200, answers[key]) if key in answers else self._answer(404, "")
        elif self.path == f"/v1/{SECRET_NAME}/versions/latest:access":
            if headers.get("authorization") != "Bearer ya29.fake-access-token":
                self._answer(401, "")
            elif self.status != 200:
                self._answer(self.status, '{"error": {"status": "PERMISSION_DENIED"}}')
            else:
                self._answer(200, json.dumps({
                    "name": f"{SECRET_NAME}/versions/1",
                    "payload": {"data": base64.b64encode(self.payload).decode()}}))
        else:
            self._answer(404, "")


@pytest.fixture
def fake_gcp() -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGcp)
    FakeGcp.seen, FakeGcp.status = [], 200
    FakeGcp.payload = json.dumps({"token": TOKEN}).encode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield {"LOOPER_METADATA_URL": url, "LOOPER_SECRET_MANAGER_URL": url}
    finally:
        server.shutdown()


@pytest.fixture
def gcp_helper(tmp_path: Path) -> Path:
    path = tmp_path / "looper-k8s-gcp"
    path.write_text(render_k8s_gcp_helper(SPECS[GCP]), encoding="utf-8")
    return path


def test_helper_fetches_the_secret_with_the_metadata_token(
    gcp_helper: Path, tmp_path: Path, fake_gcp: dict[str, str]
) -> None:
    out = tmp_path / "secret.json"
    proc = run_helper(gcp_helper, "secret", SECRET_NAME, str(out), env=fake_gcp)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    assert json.loads(out.read_text()) == {"token": TOKEN}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    paths = [path for path, _ in FakeGcp.seen]
    assert paths == ["/computeMetadata/v1/instance/service-accounts/default/token",
                     f"/v1/{SECRET_NAME}/versions/latest:access"]
    assert FakeGcp.seen[0][1]["metadata-flavor"] == "Google"
    assert FakeGcp.seen[1][1]["authorization"] == "Bearer ya29.fake-access-token"
    assert "metadata-flavor" not in FakeGcp.seen[1][1]  # the token goes to Secret Manager only


def test_helper_identity_and_fill_give_kubeadm_its_join_config(
    gcp_helper: Path, tmp_path: Path, fake_gcp: dict[str, str]
) -> None:
    identity = tmp_path / "identity.json"
    proc = run_helper(gcp_helper, "identity", str(identity), env=fake_gcp)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(identity.read_text()) == GCP_IDENTITY
    assert all(h.get("metadata-flavor") == "Google" for _, h in FakeGcp.seen)
    secret = tmp_path / "secret.json"
    assert run_helper(gcp_helper, "secret", SECRET_NAME, str(secret), env=fake_gcp).returncode == 0
    template = tmp_path / "kubeadm-join.yaml.tmpl"
    template.write_text(written(GCP)[f"{K8S_CONF_DIR}/kubeadm-join.yaml"]["content"])
    out = tmp_path / "kubeadm-join.yaml"
    proc = run_helper(gcp_helper, "fill", str(template), str(out), str(identity), str(secret), env=fake_gcp)
    assert proc.returncode == 0, proc.stderr
    join = yaml.safe_load(out.read_text())
    assert join["discovery"]["bootstrapToken"]["token"] == TOKEN
    assert join["discovery"]["bootstrapToken"]["apiServerEndpoint"] == f"{ENDPOINT}:6443"
    assert join["nodeRegistration"]["name"] == GCP_IDENTITY["node_name"]
    labels = kubelet_labels(join)
    assert labels["topology.kubernetes.io/zone"] == "asia-northeast3-a"
    assert labels["topology.kubernetes.io/region"] == "asia-northeast3"
    assert labels["node.kubernetes.io/instance-type"] == "g2-standard-4"
    assert [a for a in join["nodeRegistration"]["kubeletExtraArgs"] if a["name"] == "node-ip"] == [
        {"name": "node-ip", "value": GCP_IDENTITY["node_ip"]}]
    # gce://<project>/<zone>/<instance name>: never aws:///, so the dead-Node cleanup skips it
    assert args(join["nodeRegistration"]["kubeletExtraArgs"])["provider-id"] == (
        "gce://looper-dev/asia-northeast3-a/looper-dev-gpu-0")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_helper_reports_a_denied_secret_without_a_value(
    gcp_helper: Path, tmp_path: Path, fake_gcp: dict[str, str]
) -> None:
    FakeGcp.status = 403
    out = tmp_path / "secret.json"
    proc = run_helper(gcp_helper, "secret", SECRET_NAME, str(out), env=fake_gcp)
    assert proc.returncode == 1
    assert "HTTP 403" in proc.stderr and "PERMISSION_DENIED" in proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout and not out.exists()
    proc = run_helper(gcp_helper, "secret", "looper-cluster/dev/join", str(out), env=fake_gcp)
    assert proc.returncode == 1 and "projects/P/secrets/S" in proc.stderr
