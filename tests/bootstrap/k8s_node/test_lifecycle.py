"""``looper-k8s-lifecycle`` and its timers: the rendered script run with fake ``kubeadm``,
``crictl``, ``kubectl`` and cloud helpers (small scripts printing what the real ones print and
recording their argv), the real openssl on a real kubelet certificate, shellcheck on the
script and ``systemd-analyze verify`` on the units."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers.k8s_node import SPECS
from helpers.tools import assert_matches_golden, assert_shellcheck_clean, require_tool
from looper_infra.bootstrap.k8s_node import k8s_node_files
from looper_infra.bootstrap.k8s_node.lifecycle import (
    K8S_CP_HELPER_PATH,
    K8S_LIFECYCLE_PATH,
    K8S_NODES_SCRIPT_PATH,
    UNITS_CONTEXT,
    lifecycle_files,
    lifecycle_unit_names,
    render_k8s_lifecycle_script,
)
from looper_infra.bootstrap.render import template_module

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SPEC = dataclasses.replace(SPECS["k8s_control_plane_init"], audit_log_group="/looper/dev/k8s-audit")
OLD_TOKEN = "abcdef.0123456789abcdef"
NEW_TOKEN = "zyxwvu.9876543210zyxwvu"
NOW = time.time()

FAKE_KUBEADM = f"""#!{sys.executable}
import json, os, stat, sys
d = os.environ["FAKE_DIR"]
with open(os.path.join(d, "calls"), "a") as log:
    log.write("kubeadm " + " ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if args[:2] == ["certs", "check-expiration"]:
    print("[check-expiration] Reading configuration from the cluster...")
    print(open(os.path.join(d, "expiration.json")).read())
elif args[:3] == ["certs", "renew", "all"]:
    info = json.load(open(os.path.join(d, "expiration.json")))
    for cert in info["certificates"]:
        if not cert["externallyManaged"]:
            cert["expirationDate"] = "2031-01-01T00:00:00Z"
    json.dump(info, open(os.path.join(d, "expiration.json"), "w"))
    print("[renew] certificates renewed")
elif args[:2] == ["token", "list"]:
    print(open(os.path.join(d, "tokens.json")).read())
elif args[:2] == ["token", "create"]:  # stdout must be a private file, never the journal
    out = os.fstat(1)
    mode = f"{{stat.S_ISREG(out.st_mode)}} {{oct(out.st_mode & 0o777)}}"
    open(os.path.join(d, "token-stdout"), "w").write(mode)
    print("{NEW_TOKEN}")
else:
    sys.exit("unexpected " + " ".join(args))
"""
FAKE_TOOL = f"""#!{sys.executable}
import os, sys
name = os.path.basename(sys.argv[0])
with open(os.path.join(os.environ["FAKE_DIR"], "calls"), "a") as log:
    log.write(name + " " + " ".join(sys.argv[1:]) + "\\n")
if name == "crictl" and sys.argv[1] == "pods":
    print("sandbox-" + sys.argv[sys.argv.index("--name") + 1])
if name == "cp-helper" and sys.argv[1] == "secret":
    open(sys.argv[4], "w").write(open(os.path.join(os.environ["FAKE_DIR"], "join.json")).read())
if name == "cp-helper" and sys.argv[1] == "put-secret":
    d = os.environ["FAKE_DIR"]
    open(os.path.join(d, "put-secret.json"), "w").write(open(sys.argv[4]).read())
    open(os.path.join(d, "put-secret.mode"), "w").write(oct(os.stat(sys.argv[4]).st_mode & 0o777))
if name == "cp-helper" and sys.argv[1] == "identity":
    open(sys.argv[2], "w").write('{{"node_name": "ip-10-1-16-23.ap-northeast-2.compute.internal"}}')
"""


def stamp(days: float) -> str:
    moment = datetime.datetime.fromtimestamp(NOW + days * 86400, datetime.UTC).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def expiration(apiserver_days: float, external_days: float = 300, ca_days: float = 3000) -> dict[str, Any]:
    """What ``kubeadm certs check-expiration -o json`` prints (output.kubeadm.k8s.io)."""
    def cert(name: str, days: float, ca: str = "ca", external: bool = False) -> dict[str, Any]:
        return {"name": name, "expirationDate": stamp(days), "residualTime": int(days * 86400e9),
                "certificateAuthority": ca, "externallyManaged": external, "missing": False}
    return {
        "kind": "CertificateExpirationInfo", "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
        "certificates": [cert("admin.conf", 300), cert("apiserver", apiserver_days),
                         cert("etcd-server", 300, "etcd-ca"),
                         cert("front-proxy-client", external_days, "front-proxy-ca", external=True),
                         {"name": "super-admin.conf", "missing": True, "externallyManaged": False}],
        "certificateAuthorities": [
            {"name": "ca", "expirationDate": stamp(ca_days), "residualTime": 1,
             "externallyManaged": False}],
    }


def kubelet_cert(path: Path, days: int) -> int:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "system:node:ip-10-1-16-23")])
    end = datetime.datetime.fromtimestamp(int(NOW) + days * 86400, datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(end - datetime.timedelta(days=400)).not_valid_after(end)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return int(end.timestamp())


class Node:
    """A temp dir standing in for the node: fakes, state, textfile dir, /etc/kubernetes."""

    def __init__(self, root: Path, spec: Any = SPEC) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        for name, text in {"kubeadm": FAKE_KUBEADM, "crictl": FAKE_TOOL, "kubectl": FAKE_TOOL,
                           "cp-helper": FAKE_TOOL}.items():
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        (root / "etc").mkdir()
        (root / "etc" / "admin.conf").write_text("apiVersion: v1\nkind: Config\n")
        self.script = root / "looper-k8s-lifecycle"
        self.script.write_text(render_k8s_lifecycle_script(spec))
        self.kubelet_end = kubelet_cert(root / "kubelet.pem", 200)
        self.env = {
            **os.environ, "FAKE_DIR": str(root), "PATH": f"{self.bin}:{os.environ['PATH']}",
            "LOOPER_CP_HELPER": str(self.bin / "cp-helper"),
            "LOOPER_TEXTFILE_DIR": str(root / "textfile"), "LOOPER_K8S_STATE_DIR": str(root / "state"),
            "LOOPER_K8S_ETC": str(root / "etc"), "LOOPER_KUBELET_CERT": str(root / "kubelet.pem"),
            "LOOPER_ROOT_KUBECONFIG": str(root / "home" / ".kube" / "config"),
        }

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(self.script), command], capture_output=True, text=True,
                              env=self.env, timeout=60, check=False)

    def calls(self) -> list[str]:
        path = self.root / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def metrics(self) -> dict[str, int]:
        path = self.root / "textfile" / "looper_k8s_certificates.prom"
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert not list(path.parent.glob("*.tmp"))
        values = {}
        for line in path.read_text().splitlines():
            if not line.startswith("#"):
                series, value = line.split(" ")
                assert series.startswith("looper_k8s_certificate_expiry_timestamp_seconds{certificate=")
                values[series.split('"')[1]] = int(value)
        return values


def test_certificates_far_from_expiry_give_metrics_and_no_renewal(tmp_path: Path) -> None:
    node = Node(tmp_path)
    # a CA and an externally managed leaf close to expiry are not kubeadm's to renew
    (tmp_path / "expiration.json").write_text(json.dumps(expiration(200, external_days=3, ca_days=5)))
    proc = node.run("renew-certs")
    assert proc.returncode == 0, proc.stderr
    assert node.calls() == ["kubeadm certs check-expiration -o json"]
    metrics = node.metrics()
    assert set(metrics) == {"admin.conf", "apiserver", "etcd-server", "front-proxy-client", "ca",
                            "kubelet-client-current"}
    assert metrics["apiserver"] == int(datetime.datetime.strptime(
        stamp(200), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp())
    assert metrics["kubelet-client-current"] == node.kubelet_end
    assert not (tmp_path / "home").exists()


def test_a_leaf_under_30_days_is_renewed_and_static_pods_restarted(tmp_path: Path) -> None:
    node = Node(tmp_path)
    (tmp_path / "expiration.json").write_text(json.dumps(expiration(29)))
    proc = node.run("renew-certs")
    assert proc.returncode == 0, proc.stderr
    calls = node.calls()
    assert calls[:2] == ["kubeadm certs check-expiration -o json", "kubeadm certs renew all"]
    stops = [c for c in calls if c.startswith("crictl stopp")]
    assert stops == [f"crictl stopp sandbox-{c}" for c in
                     ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")]
    assert f"kubectl --kubeconfig {tmp_path}/etc/admin.conf get --raw /livez" in calls
    assert calls.index(stops[-1]) < calls.index(
        f"kubectl --kubeconfig {tmp_path}/etc/admin.conf get --raw /livez")
    kubeconfig = tmp_path / "home" / ".kube" / "config"
    assert kubeconfig.read_text() == (tmp_path / "etc" / "admin.conf").read_text()
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert node.metrics()["apiserver"] == 1924992000  # 2031-01-01: the renewed date
    assert "renewing" in proc.stderr and "certificates renewed" in proc.stderr


def tokens(expires_in_hours: float | None, token: str = OLD_TOKEN) -> str:
    """``kubeadm token list -o json``: one output.kubeadm.k8s.io BootstrapToken object per token."""
    other = {"kind": "BootstrapToken", "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
             "token": "qqqqqq.qqqqqqqqqqqqqqqq", "expires": stamp(0.5),
             "usages": ["authentication", "signing"]}
    mine = {**other, "token": token, "description": "looper join token"}
    if expires_in_hours is not None:
        mine["expires"] = stamp(expires_in_hours / 24)
    else:
        mine.pop("expires")
    return json.dumps(other, indent=4) + "\n" + json.dumps(mine, indent=4) + "\n"


@pytest.mark.parametrize("listing, rotates", [
    (tokens(20), False),  # more than half of the 24 h TTL left
    (tokens(None), False),  # never expires
    (tokens(11), True),
    (tokens(20, token="zzzzzz.zzzzzzzzzzzzzzzz"), True),  # ours is unknown to the cluster
])
def test_token_rotation_before_half_the_ttl(tmp_path: Path, listing: str, rotates: bool) -> None:
    node = Node(tmp_path)
    (tmp_path / "join.json").write_text(json.dumps({"token": OLD_TOKEN}))
    (tmp_path / "tokens.json").write_text(listing)
    proc = node.run("rotate-token")
    assert proc.returncode == 0, proc.stderr
    calls = node.calls()
    assert calls[0].startswith("cp-helper secret ap-northeast-2 looper-dev/k8s/join /")
    assert "kubeadm token list -o json" in calls
    for secret in (OLD_TOKEN, NEW_TOKEN):
        assert secret not in proc.stdout + proc.stderr + "\n".join(calls)  # never in argv or logs
    if not rotates:
        assert not any("token create" in c or "put-secret" in c for c in calls)
        assert not (tmp_path / "put-secret.json").exists()
        return
    assert "kubeadm token create --ttl 24h --description looper join token (looper-k8s-lifecycle)" in calls
    assert json.loads((tmp_path / "put-secret.json").read_text()) == {"token": NEW_TOKEN}
    assert (tmp_path / "put-secret.mode").read_text() == "0o600"
    assert (tmp_path / "token-stdout").read_text() == "True 0o600"
    assert proc.stdout == ""
    assert "rotated (expires " in proc.stderr


def test_ship_audit_only_with_a_log_group(tmp_path: Path) -> None:
    node = Node(tmp_path)
    audit_log = Path("/var/log/kubernetes/audit/audit.log")
    script = node.script.read_text()
    assert f"readonly AUDIT_LOG={audit_log}" in script
    # the rendered log path, pointed at a temp file for the test
    node.script.write_text(script.replace(f"readonly AUDIT_LOG={audit_log}",
                                          f"readonly AUDIT_LOG={tmp_path}/audit.log"))
    assert node.run("ship-audit").returncode == 0 and node.calls() == []  # no log yet
    (tmp_path / "audit.log").write_text("{}\n")
    proc = node.run("ship-audit")
    assert proc.returncode == 0, proc.stderr
    assert node.calls()[-1] == (
        f"cp-helper ship-logs ap-northeast-2 /looper/dev/k8s-audit "
        f"ip-10-1-16-23.ap-northeast-2.compute.internal {tmp_path}/audit.log "
        f"{tmp_path}/state/audit-ship.json")
    (tmp_path / "plain").mkdir()
    plain = Node(tmp_path / "plain", dataclasses.replace(SPEC, audit_log_group=None))
    proc = plain.run("ship-audit")
    assert proc.returncode == 0 and "no audit log group" in proc.stderr and plain.calls() == []


def test_files_units_golden_and_size(tmp_path: Path) -> None:
    files = lifecycle_files(SPEC)
    assert lifecycle_unit_names(SPEC) == ("looper-k8s-certs.service", "looper-k8s-certs.timer",
                                          "looper-k8s-token.service", "looper-k8s-token.timer",
                                          "looper-k8s-prune-nodes.service", "looper-k8s-prune-nodes.timer",
                                          "looper-k8s-audit-ship.service", "looper-k8s-audit-ship.timer")
    # the helper is the control plane's node helper (user data); these go into its bundle
    assert set(files) == {K8S_LIFECYCLE_PATH, K8S_NODES_SCRIPT_PATH,
                          *(f"/etc/systemd/system/{n}" for n in lifecycle_unit_names(SPEC))}
    assert files[K8S_NODES_SCRIPT_PATH].mode == "0755"
    plain = lifecycle_files(dataclasses.replace(SPEC, audit_log_group=None))
    assert not any("audit-ship" in path for path in plain)
    assert files[K8S_LIFECYCLE_PATH].mode == "0755"
    assert k8s_node_files(SPECS["k8s_control_plane_init"])[K8S_CP_HELPER_PATH]
    timers = {path.rsplit("/", 1)[1]: f.content for path, f in files.items() if path.endswith(".timer")}
    assert "OnCalendar=daily\n" in timers["looper-k8s-certs.timer"]
    assert "OnCalendar=hourly\n" in timers["looper-k8s-token.timer"]
    assert "OnCalendar=minutely\n" in timers["looper-k8s-audit-ship.timer"]
    # every PRUNE_NODES_MINUTES (5), up to PRUNE_NODES_DELAY (1 min) later
    assert "OnCalendar=*:0/5\nRandomizedDelaySec=1min\n" in timers["looper-k8s-prune-nodes.timer"]
    prune = files["/etc/systemd/system/looper-k8s-prune-nodes.service"].content
    assert f"ExecStart={K8S_LIFECYCLE_PATH} prune-nodes\n" in prune
    assert "ConditionPathExists=/etc/kubernetes/admin.conf" in prune
    assert all("Persistent=true" in t and "RandomizedDelaySec=" in t for t in timers.values())
    for path, file in files.items():
        assert_matches_golden(file.content, GOLDEN / f"k8s_cp_lifecycle{path.replace('/', '_')}")
    with pytest.raises(ValueError, match="control planes only"):
        lifecycle_files(SPECS["k8s_worker"])


def test_script_passes_shellcheck_and_units_verify(tmp_path: Path) -> None:
    script = tmp_path / "looper-k8s-lifecycle"
    script.write_text(render_k8s_lifecycle_script(SPEC))
    script.chmod(0o755)
    assert_shellcheck_clean(script)
    units = template_module("k8s-cp-lifecycle.units.j2", {
        **UNITS_CONTEXT, "names": {"setup_unit": "looper-k8s-node.service"}, "lifecycle": str(script)})
    names = []
    for name, macro in (("certs", "certs"), ("token", "token"), ("audit-ship", "audit"),
                        ("prune-nodes", "prune")):
        for kind in ("service", "timer"):
            unit = tmp_path / f"looper-k8s-{name}.{kind}"
            unit.write_text(str(getattr(units, f"{macro}_{kind}")()).strip() + "\n")
            names.append(str(unit))
    proc = subprocess.run([require_tool("systemd-analyze"), "verify", "--man=no", *names],
                          capture_output=True, text=True, timeout=60, check=False)
    problems = [line for line in proc.stderr.splitlines() if "looper-k8s-" in line]
    assert proc.returncode == 0 and not problems, proc.stderr


def test_a_failing_kubeadm_fails_the_run_without_metrics_or_renewal(tmp_path: Path) -> None:
    node = Node(tmp_path)  # no expiration.json: the fake kubeadm fails
    proc = node.run("renew-certs")
    assert proc.returncode != 0
    assert node.calls() == ["kubeadm certs check-expiration -o json"]
    assert not (tmp_path / "textfile" / "looper_k8s_certificates.prom").exists()
