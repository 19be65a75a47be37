"""The deploy path: prerequisites, backend and the order of Automation API calls."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation import OpType, PreviewResult

from looper_infra.engine import deploy
from looper_infra.engine.deploy import DeployError, DeployRequest


def request(action: str = "up", yes: bool = True, **kw: Any) -> DeployRequest:
    return DeployRequest(action=action, stage=kw.pop("stage", "v1"), stack="v1-dev",
                         project_dir=Path("/proj"), yes=yes, **kw)


def ready_env(home: Path) -> dict[str, str]:
    creds = home / "adc.json"
    creds.write_text("{}")
    return {"HOME": str(home), "PULUMI_CONFIG_PASSPHRASE": "pw",
            "GOOGLE_APPLICATION_CREDENTIALS": str(creds)}


class FakeStack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def record(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return type("Result", (), {"outputs": {"url": "https://x"}})()
        return record


def run_with_fake(req: DeployRequest, env: Mapping[str, str], confirm: Any = None
                  ) -> tuple[FakeStack, dict[str, str]]:
    stack = FakeStack()
    seen: dict[str, str] = {}

    def select(r: DeployRequest, workspace: Mapping[str, str]) -> FakeStack:
        seen.update(workspace)
        return stack

    deploy.run(req, on_output=lambda _l: None, confirm=confirm, environ=env,
               which=lambda _n: "/usr/bin/pulumi", select_stack=select)
    return stack, seen


def test_prerequisites_name_every_missing_piece(tmp_path: Path) -> None:
    problems = deploy.check_prerequisites(request(stage="v4"), {"HOME": str(tmp_path)},
                                          which=lambda _n: None)
    text = "\n".join(problems)
    assert len(problems) == 4
    for needle in ("Pulumi CLI", "PULUMI_CONFIG_PASSPHRASE", "GCP credentials", "AWS credentials"):
        assert needle in text


def test_gcp_adc_file_counts_as_credentials(tmp_path: Path) -> None:
    adc = tmp_path / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text("{}")
    env = {"HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE_FILE": "/x"}
    assert deploy.check_prerequisites(request(), env, which=lambda _n: "/bin/pulumi") == []


def test_backend_precedence(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert deploy.resolve_backend(request(), env) == f"file://{tmp_path}/.looper/state"
    env["PULUMI_BACKEND_URL"] = "s3://bucket/state"
    assert deploy.resolve_backend(request(), env) == "s3://bucket/state"
    assert deploy.resolve_backend(request(backend_url="gs://b"), env) == "gs://b"


def test_up_with_yes_runs_up_only_and_creates_the_local_backend(tmp_path: Path) -> None:
    stack, workspace = run_with_fake(request(), ready_env(tmp_path))
    assert [c[0] for c in stack.calls] == ["up"]
    assert stack.calls[0][1]["show_secrets"] is False
    assert workspace["PULUMI_BACKEND_URL"] == f"file://{tmp_path}/.looper/state"
    state_dir = tmp_path / ".looper" / "state"
    assert state_dir.is_dir() and oct(state_dir.stat().st_mode & 0o777) == "0o700"


def test_up_without_yes_previews_then_asks(tmp_path: Path) -> None:
    questions: list[str] = []
    stack, _ = run_with_fake(request(yes=False), ready_env(tmp_path),
                             confirm=lambda q: questions.append(q) or True)
    assert [c[0] for c in stack.calls] == ["preview", "up"]
    assert questions == ["up stack v1-dev (v1)?"]


def test_declined_destroy_changes_nothing(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="cancelled"):
        run_with_fake(request("destroy", yes=False), ready_env(tmp_path), confirm=lambda _q: False)


def test_destroy_without_yes_or_terminal_refuses(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="pass --yes"):
        run_with_fake(request("destroy", yes=False), ready_env(tmp_path))


def test_preview_needs_no_confirmation(tmp_path: Path) -> None:
    stack, _ = run_with_fake(request("preview", yes=False), ready_env(tmp_path))
    assert [c[0] for c in stack.calls] == ["preview"]


class PreviewStack(FakeStack):
    """A stack whose preview reports `summary` (OpType values, as the Automation API returns)."""

    def __init__(self, summary: dict[Any, int]) -> None:
        super().__init__()
        self.summary = summary

    def preview(self, **kwargs: Any) -> Any:
        self.calls.append(("preview", kwargs))
        return PreviewResult(stdout="", stderr="", change_summary=self.summary)


def preview_with(summary: dict[Any, int], tmp_path: Path, expect_no_changes: bool) -> PreviewStack:
    stack = PreviewStack(summary)
    deploy.run(request("preview", yes=False, expect_no_changes=expect_no_changes),
               on_output=lambda _l: None, environ=ready_env(tmp_path),
               which=lambda _n: "/usr/bin/pulumi", select_stack=lambda _r, _w: stack)
    return stack


def test_expect_no_changes_refreshes_and_raises_drift_naming_the_changes(tmp_path: Path) -> None:
    drifted = {OpType.SAME: 40, OpType.UPDATE: 2, OpType.REPLACE: 1, OpType.READ: 3}
    with pytest.raises(deploy.Drift, match=r"v1-dev: the preview shows changes \(1 to replace, "
                                           r"2 to update\)") as caught:
        preview_with(drifted, tmp_path, expect_no_changes=True)
    assert caught.value.changes == {"update": 2, "replace": 1}
    # a clean preview (reads, refresh steps and zero counts are no change) passes
    clean = {OpType.SAME: 40, OpType.READ: 3, OpType.REFRESH: 43, OpType.CREATE: 0}
    stack = preview_with(clean, tmp_path, expect_no_changes=True)
    assert stack.calls == [("preview", {"on_output": stack.calls[0][1]["on_output"], "diff": True,
                                        "refresh": True})]


def test_a_plain_preview_with_changes_is_no_error_and_does_not_refresh(tmp_path: Path) -> None:
    stack = preview_with({OpType.CREATE: 17}, tmp_path, expect_no_changes=False)
    assert "refresh" not in stack.calls[0][1]


def test_expect_no_changes_is_a_preview_option_only() -> None:
    with pytest.raises(ValueError, match="expect_no_changes is a preview option"):
        request("up", expect_no_changes=True)


def test_unknown_action_is_rejected() -> None:
    with pytest.raises(ValueError, match="action must be one of"):
        request("apply")


# --- `looper up v4`: cluster, wait for the API, platform -------------------------------------------

def test_platform_stack_goes_with_a_v4_stack_that_has_one(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.v4-platform-prod.yaml").write_text("config: {}\n")
    assert deploy.platform_stack_for("v4-prod", tmp_path) == "v4-platform-prod"
    assert deploy.platform_stack_for("v4-dev", tmp_path) is None  # no stack file
    assert deploy.platform_stack_for("v3-prod", tmp_path) is None
    assert deploy.platform_stack_for("v4-platform-prod", tmp_path) is None


def test_wait_for_api_polls_until_ready_or_timeout() -> None:
    now = [0.0]
    answers = iter([False, False, True])
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    assert deploy.wait_for_api("kc", timeout=60, interval=10, probe=lambda _: next(answers),
                               sleep=sleep, clock=lambda: now[0])
    assert slept == [10, 10]
    now[0] = 0.0
    slept.clear()
    assert not deploy.wait_for_api("kc", timeout=25, interval=10, probe=lambda _: False,
                                   sleep=sleep, clock=lambda: now[0])
    assert slept == [10, 10]


def _pki() -> dict[str, Any]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (PEM strings)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def pem_key(k: ec.EllipticCurvePrivateKey) -> str:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()

    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, k: ec.EllipticCurvePrivateKey, issuer: tuple[str, Any] | None,
             usage: Any = None, ip: str | None = None) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(name(subject)).public_key(k.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
             .not_valid_after(now + datetime.timedelta(hours=1)))
        if issuer is None:
            b = b.issuer_name(name(subject)).add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                                           critical=True)
            return b.sign(k, hashes.SHA256())
        b = b.issuer_name(name(issuer[0])).add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if ip:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                critical=False)
        return b.sign(issuer[1], hashes.SHA256())

    def pem(c: x509.Certificate) -> str:
        return c.public_bytes(serialization.Encoding.PEM).decode()

    ca_key, server_key, client_key, other_key = key(), key(), key(), key()
    ca = cert("kubernetes", ca_key, None)
    other_ca = cert("someone-else", other_key, None)
    return {
        "ca": pem(ca), "other_ca": pem(other_ca),
        "server": pem(cert("apiserver", server_key, ("kubernetes", ca_key), ExtendedKeyUsageOID.SERVER_AUTH,
                           "127.0.0.1")),
        "server_key": pem_key(server_key),
        "client": pem(cert("looper-admin", client_key, ("kubernetes", ca_key),
                           ExtendedKeyUsageOID.CLIENT_AUTH)),
        "client_key": pem_key(client_key),
    }


def test_api_ready_speaks_mutual_tls_to_a_real_loopback_server(tmp_path: Path) -> None:
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from looper_infra.manifests.pki import kubeconfig

    pki = _pki()
    files = {}
    for k in ("ca", "server", "server_key"):
        files[k] = tmp_path / k
        files[k].write_text(pki[k])
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200 if self.path == "/readyz" else 404)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(files["server"], files["server_key"])
    ctx.load_verify_locations(files["ca"])
    ctx.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no answer
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        good = kubeconfig(cluster_name="c", server=url, ca_cert_pem=pki["ca"], client_cert_pem=pki["client"],
                          client_key_pem=pki["client_key"])
        assert deploy.api_ready(good)
        assert seen == ["/readyz"]
        # a server whose certificate is not from the pinned CA is not the cluster
        wrong_ca = kubeconfig(cluster_name="c", server=url, ca_cert_pem=pki["other_ca"],
                              client_cert_pem=pki["client"], client_key_pem=pki["client_key"])
        assert not deploy.api_ready(wrong_ca)
        assert seen == ["/readyz"]
    finally:
        server.shutdown()
        server.server_close()
    # nothing listening any more
    assert not deploy.api_ready(good, timeout=1)


def test_up_v4_applies_the_platform_stack_once_the_api_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from helpers.plans import ROOT
    from looper_infra.cli import app

    calls: list[tuple[str, str, str]] = []

    def run(req: DeployRequest, **kwargs: Any) -> dict[str, Any]:
        calls.append((req.action, req.stage, req.stack))
        return {"kubeconfig": type("Out", (), {"value": "KUBECONFIG", "secret": True})()}

    waited: list[str] = []
    monkeypatch.setattr(deploy, "run", run)
    monkeypatch.setattr(deploy, "wait_for_api", lambda kc, timeout: waited.append(kc) or True)
    result = CliRunner().invoke(app, ["up", "v4", "--stack", "v4-dev", "--yes", "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert calls == [("up", "v4", "v4-dev"), ("up", "v4-platform", "v4-platform-dev")]
    assert waited == ["KUBECONFIG"]

    calls.clear()
    monkeypatch.setattr(deploy, "wait_for_api", lambda kc, timeout: False)
    result = CliRunner().invoke(app, ["up", "v4", "--stack", "v4-dev", "--yes", "--project-dir", str(ROOT)])
    assert result.exit_code == 1
    assert calls == [("up", "v4", "v4-dev")]
    assert "looper up v4-platform --stack v4-platform-dev" in result.output


def test_a_v4_stack_without_gcp_needs_no_gcp_credentials(tmp_path: Path) -> None:
    from helpers.plans import example_values
    from looper_infra.config import validate_mapping

    env = {"HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "pw", "AWS_PROFILE": "looper"}
    with_gcp = validate_mapping(example_values("v4-dev"), "test")
    values = example_values("v4-dev")
    values["gcp"] = None
    aws_only = validate_mapping(values, "test")
    assert deploy.stack_clouds("v4", with_gcp) == ("aws", "gcp")
    assert deploy.stack_clouds("v4", aws_only) == ("aws",)

    def problems(cfg: Any) -> list[str]:
        req = DeployRequest(action="up", stage="v4", stack="v4-dev", project_dir=Path("/proj"),
                            clouds=deploy.stack_clouds("v4", cfg))
        return deploy.check_prerequisites(req, env, which=lambda _: "/usr/bin/pulumi")

    assert problems(aws_only) == []
    assert [p for p in problems(with_gcp) if "GCP" in p]
