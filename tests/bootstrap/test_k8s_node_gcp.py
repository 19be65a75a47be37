"""GPU workers of the kubeadm cluster: on GCP (secret_backend "gcp", over the VPN) and on AWS.

Goldens live in ``golden/`` (regenerate with ``LOOPER_UPDATE_GOLDEN=1 pytest``). The GCP helper
(``looper-k8s-gcp``) runs for real against a loopback fake of the GCE metadata server and of
Secret Manager's REST API; the setup script's /etc/hosts pinning and MTU check run for real in
bash on temporary files.
"""

from __future__ import annotations

import base64
import json
import os
import py_compile
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from helpers.tools import (
    assert_matches_golden,
    assert_shellcheck_clean,
    assert_valid_cloud_config,
    require_tool,
)
from looper_infra.bootstrap import versions
from looper_infra.bootstrap.app_vm_shell import SHELL_FUNCTION
from looper_infra.bootstrap.k8s_node import (
    GCE_METADATA_VALUE_LIMIT,
    GPU_TAINT,
    HOSTS_BLOCK_BEGIN,
    HOSTS_BLOCK_END,
    K8S_AWS_HELPER_PATH,
    K8S_CONF_DIR,
    K8S_GCP_HELPER_PATH,
    K8S_SETUP_SCRIPT_PATH,
    VPN_CALICO_MTU_MAX,
    K8sGpuWorker,
    K8sNodeBootstrap,
    k8s_node_files,
    k8s_node_user_data,
    render_k8s_gcp_helper,
    render_k8s_kubeadm_join_config,
    render_k8s_node_cloud_config,
    render_k8s_node_gce_user_data,
)

GOLDEN_DIR = Path(__file__).parent / "golden"
ENDPOINT = "internal-looper-dev-api-0123456789abcdef.elb.ap-northeast-2.amazonaws.com"
HASH = "sha256:" + "3f" * 32
SECRET_NAME = "projects/123456789012/secrets/looper-dev-gpu-0-k8s-join"
ADDRESSES = ("10.1.16.10", "10.1.32.10")
TOKEN = "k8sgpu.z9y8x7w6v5u4t3s2"

GCP_WORKER: dict[str, Any] = {
    "role": "worker",
    "cluster_name": "looper-dev-k8s",
    "control_plane_endpoint": ENDPOINT,
    "ca_cert_hash": HASH,
    "pod_cidr": "192.168.0.0/16",
    "service_cidr": "10.96.0.0/12",
    "calico_mtu": 1350,
    "secret_backend": "gcp",
    "region": None,
    "join_secret_id": SECRET_NAME,
    "control_plane_secret_id": None,
    "service_account_issuer": None,
    "control_plane_count": 3,
    "api_server_addresses": ADDRESSES,
}
AWS_WORKER: dict[str, Any] = {
    **GCP_WORKER, "secret_backend": "aws", "region": "ap-northeast-2",
    "join_secret_id": "looper-cluster/dev/join", "api_server_addresses": (),
}
SPECS = {
    "k8s_gcp_gpu_worker": K8sNodeBootstrap(**GCP_WORKER, gpu=K8sGpuWorker(),
                                           node_labels={"looper/cloud": "gcp"}),
    "k8s_aws_gpu_worker": K8sNodeBootstrap(**AWS_WORKER, gpu=K8sGpuWorker(),
                                           node_labels={"looper/cloud": "aws"}),
}
GCP = "k8s_gcp_gpu_worker"
TOKEN_SHAPE = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")


@cache
def written(name: str) -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(render_k8s_node_cloud_config(SPECS[name]))
    return {entry["path"]: entry for entry in doc["write_files"]}


def script(name: str = GCP) -> str:
    return str(written(name)[K8S_SETUP_SCRIPT_PATH]["content"])


def join_config(name: str) -> dict[str, Any]:
    doc = yaml.safe_load(render_k8s_kubeadm_join_config(SPECS[name]))
    assert isinstance(doc, dict)
    return doc


def kubelet_labels(join: dict[str, Any]) -> dict[str, str]:
    [arg] = [a for a in join["nodeRegistration"]["kubeletExtraArgs"] if a["name"] == "node-labels"]
    return dict(item.split("=") for item in arg["value"].split(","))


# --- goldens, size, validity, no secrets --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_matches_golden(name: str) -> None:
    assert_matches_golden(render_k8s_node_cloud_config(SPECS[name]),
                          GOLDEN_DIR / f"{name}.cloud-config.yaml")


def test_gce_user_data_is_plain_text_within_the_metadata_limit() -> None:
    text = render_k8s_node_gce_user_data(SPECS[GCP])
    assert text == render_k8s_node_cloud_config(SPECS[GCP])
    assert text.startswith("#cloud-config\n")
    assert len(text.encode("utf-8")) <= GCE_METADATA_VALUE_LIMIT == 256 * 1024
    with pytest.raises(ValueError, match="secret_backend"):
        render_k8s_node_gce_user_data(SPECS["k8s_aws_gpu_worker"])
    # the AWS GPU worker still fits EC2's 16 KB (gzip)
    assert len(k8s_node_user_data(SPECS["k8s_aws_gpu_worker"])) < 16 * 1024


@pytest.mark.parametrize("name", sorted(SPECS))
def test_user_data_holds_no_secret_only_its_name(name: str) -> None:
    text = render_k8s_node_cloud_config(SPECS[name])
    assert not TOKEN_SHAPE.search(text)
    assert "PRIVATE KEY" not in text and "set -x" not in text
    assert f"readonly JOIN_SECRET_ID={SPECS[name].join_secret_id}" in script(name)
    assert '"@@token@@"' in written(name)[f"{K8S_CONF_DIR}/kubeadm-join.yaml"]["content"]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_passes_cloud_init_schema(name: str, tmp_path: Path) -> None:
    assert_valid_cloud_config(render_k8s_node_cloud_config(SPECS[name]), tmp_path)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_scripts_pass_shellcheck_and_helper_compiles(name: str, tmp_path: Path) -> None:
    path = tmp_path / "looper-k8s-node"
    path.write_text(script(name), encoding="utf-8")
    assert_shellcheck_clean(path)
    helper_path = K8S_GCP_HELPER_PATH if SPECS[name].on_gcp else K8S_AWS_HELPER_PATH
    helper = tmp_path / "helper.py"
    helper.write_text(written(name)[helper_path]["content"], encoding="utf-8")
    py_compile.compile(str(helper), doraise=True)
    assert written(name)[helper_path]["permissions"] == "0755"


def test_each_backend_installs_its_own_helper() -> None:
    gcp, aws = written(GCP), written("k8s_aws_gpu_worker")
    assert K8S_GCP_HELPER_PATH in gcp and K8S_AWS_HELPER_PATH not in gcp
    assert K8S_AWS_HELPER_PATH in aws and K8S_GCP_HELPER_PATH not in aws
    assert f"readonly HELPER={K8S_GCP_HELPER_PATH}" in script()
    assert 'retry "$HELPER" secret "$1" "${TMP_DIR}/$2.json"' in script()
    assert "REGION" not in script()  # Secret Manager is global
    helper = gcp[K8S_GCP_HELPER_PATH]["content"]
    assert "secretmanager.googleapis.com" in helper and "/versions/latest:access" in helper
    assert "amazonaws" not in helper and "sigv4" not in helper and "def cmd_pki" not in helper
    assert "GCP Secret Manager" in render_k8s_node_cloud_config(SPECS[GCP]).split("write_files")[0]


# --- labels, taints, driver, runtime -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gpu_labels_and_taint(name: str) -> None:
    join = join_config(name)
    labels = kubelet_labels(join)
    assert labels["nvidia.com/gpu.present"] == "true"
    assert labels["looper/accelerator"] == "nvidia-l4"
    assert labels["nvidia.com/gpu.deploy.driver"] == "false"  # the driver is on the host
    assert labels["looper/cloud"] == SPECS[name].secret_backend
    for key in ("topology.kubernetes.io/zone", "topology.kubernetes.io/region",
                "node.kubernetes.io/instance-type"):
        assert labels[key].startswith("@@")  # from instance metadata at join time
    assert join["nodeRegistration"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert GPU_TAINT == "nvidia.com/gpu=present:NoSchedule"
    # the caller's own taints come first, the GPU taint is not repeated
    both = K8sNodeBootstrap(**GCP_WORKER, gpu=K8sGpuWorker(),
                            node_taints=("dedicated=gpu:NoSchedule", GPU_TAINT))
    assert [t.key for t in both.taints] == ["dedicated", "nvidia.com/gpu"]


@pytest.mark.parametrize("name, flavour", [(GCP, "gcp"), ("k8s_aws_gpu_worker", "aws")])
def test_signed_host_driver_and_no_second_runtime(name: str, flavour: str) -> None:
    text = script(name)
    assert f"readonly KERNEL_FLAVOUR={flavour}" in text
    assert f"readonly NVIDIA_DRIVER_VERSION={versions.NVIDIA_DRIVER_VERSION}" in text
    assert '"linux-modules-nvidia-${NVIDIA_DRIVER_BRANCH}-server-${KERNEL_FLAVOUR}"' in text
    assert '"nvidia-headless-no-dkms-${NVIDIA_DRIVER_BRANCH}-server=${NVIDIA_DRIVER_VERSION}"' in text
    assert not re.search(r"nvidia-dkms|nvidia-driver-|cuda-drivers|nvidia-open", text)  # no DKMS builds
    # the GPU operator brings the toolkit: no host toolkit, no docker/containerd
    assert "nvidia-container-toolkit" not in text and "nvidia-ctk" not in text
    assert '"cri-o=${CRIO_APT_VERSION}"' in text
    # driver (and its reboot) before the secret is fetched and the node joins
    setup = text[text.index("\nsetup() {"):]
    order = [setup.index(s) for s in ("install_k8s_packages", "install_nvidia_driver",
                                      "reboot_if_driver_pending", "verify_gpu", "fetch_secret")]
    assert order == sorted(order)
    plain = K8sNodeBootstrap(**GCP_WORKER)
    assert "nvidia" not in k8s_node_files(plain)[K8S_SETUP_SCRIPT_PATH]


def test_crio_hooks_dir_includes_the_gpu_operators() -> None:
    crio = written(GCP)["/etc/crio/crio.conf.d/90-looper.conf"]["content"]
    hooks = re.search(r"hooks_dir = \[(.*?)\]", crio, re.S)
    assert hooks is not None
    assert "/usr/share/containers/oci/hooks.d" in re.findall(r'"([^"]+)"', hooks[1])
    assert "install -m 0755 -d /usr/share/containers/oci/hooks.d" in script()


def test_versions_are_pinned_like_the_aws_nodes() -> None:
    gcp, aws = script(GCP), script("k8s_aws_gpu_worker")
    for line in ("readonly KUBERNETES_APT_VERSION=", "readonly CRIO_APT_VERSION=",
                 "readonly KUBERNETES_APT_KEY_FINGERPRINT=", "readonly CRIO_APT_KEY_FINGERPRINT="):
        [mine] = [x for x in gcp.splitlines() if x.startswith(line)]
        assert mine in aws.splitlines()
    assert 'hold_packages "${packages[@]}"' in gcp


# --- MTU and endpoint resolution, run in bash ------------------------------------------------------


def shell_function(text: str, name: str) -> str:
    [found] = [m[0] for m in SHELL_FUNCTION.finditer(text) if m["name"] == name]
    return found


def readonly_line(text: str, name: str) -> str:
    [line] = [x for x in text.splitlines() if x.startswith(f"readonly {name}=")]
    return line


def run_bash(body: str) -> subprocess.CompletedProcess[str]:
    harness = "set -euo pipefail\nlog() { printf 'looper: %s\\n' \"$*\"; }\n" \
              "fail() { log \"k8s FAILED: $*\"; exit 1; }\n" + body
    return subprocess.run([require_tool("bash"), "-c", harness], capture_output=True, text=True,
                          timeout=60, check=False)


def test_api_endpoint_is_pinned_in_hosts_idempotently(tmp_path: Path) -> None:
    text = script()
    (tmp_path / "etc").mkdir()
    (tmp_path / "run").mkdir()
    hosts = tmp_path / "etc" / "hosts"
    hosts.write_text("127.0.0.1 localhost\n"
                     f"{HOSTS_BLOCK_BEGIN}\n10.9.9.9 {ENDPOINT}\n{HOSTS_BLOCK_END}\n"
                     "169.254.169.254 metadata.google.internal  # Added by Google\n")
    body = "\n".join([
        *(readonly_line(text, n) for n in ("API_HOST", "API_ADDRESSES", "HOSTS_BEGIN", "HOSTS_END")),
        f"HOSTS_FILE={hosts}", f"TMP_DIR={tmp_path / 'run'}",
        shell_function(text, "pin_api_endpoint"),
        "pin_api_endpoint", "pin_api_endpoint",
    ])
    proc = run_bash(body)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("looper: pinned ") == 1  # the second run changes nothing
    lines = hosts.read_text().splitlines()
    assert lines == [
        "127.0.0.1 localhost",
        "169.254.169.254 metadata.google.internal  # Added by Google",
        HOSTS_BLOCK_BEGIN, f"10.1.16.10 {ENDPOINT}", f"10.1.32.10 {ENDPOINT}", HOSTS_BLOCK_END,
    ]
    # the stale address is gone; setup pins before joining
    setup = text[text.index("\nsetup() {"):]
    assert setup.index("pin_api_endpoint") < setup.index("fetch_secret") < setup.index("bring_up")
    assert "pin_api_endpoint" not in script("k8s_aws_gpu_worker")  # AWS resolves it in the VPC


@pytest.mark.parametrize("mtu, ok", [(1460, True), (1400, True), (1399, False), (1300, False)])
def test_nic_must_carry_calico_mtu_plus_vxlan(tmp_path: Path, mtu: int, ok: bool) -> None:
    text = script()
    (tmp_path / "ens4").mkdir()
    (tmp_path / "ens4" / "mtu").write_text(f"{mtu}\n")
    body = "\n".join([
        readonly_line(text, "CALICO_MTU"), readonly_line(text, "VXLAN_OVERHEAD"),
        f"SYS_CLASS_NET={tmp_path}",
        "ip() { echo 'default via 10.0.0.1 dev ens4 proto dhcp src 10.0.0.5 metric 100'; }",
        shell_function(text, "check_mtu"), "check_mtu",
    ])
    proc = run_bash(body)
    assert (proc.returncode == 0) is ok, proc.stdout + proc.stderr
    if not ok:
        assert "Calico 1350 + VXLAN 50 needs 1400" in proc.stdout


def test_calico_mtu_must_fit_the_vpn() -> None:
    assert VPN_CALICO_MTU_MAX == 1350
    with pytest.raises(ValueError, match="calico_mtu: 1351 is too large across the AWS-GCP VPN"):
        K8sNodeBootstrap(**{**GCP_WORKER, "calico_mtu": 1351})
    K8sNodeBootstrap(**{**AWS_WORKER, "calico_mtu": 1351})  # an AWS node may differ


# --- the GCP helper, for real -----------------------------------------------------------------------

IDENTITY = {"zone": "asia-northeast3-a", "region": "asia-northeast3", "instance_type": "g2-standard-4",
            "node_ip": "10.0.16.5",
            "node_name": "looper-dev-gpu-0.asia-northeast3-a.c.looper-dev.internal"}


class FakeGcp(BaseHTTPRequestHandler):
    """GCE metadata server and Secret Manager on loopback; records what it was sent."""

    payload: ClassVar[bytes] = b""
    status: ClassVar[int] = 200
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
                "instance/network-interfaces/0/ip": IDENTITY["node_ip"],
                "instance/hostname": IDENTITY["node_name"],
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
def helper(tmp_path: Path) -> Path:
    path = tmp_path / "looper-k8s-gcp"
    path.write_text(render_k8s_gcp_helper(SPECS[GCP]), encoding="utf-8")
    return path


def run_helper(helper: Path, *argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(helper), *argv], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, **env})


def test_helper_fetches_the_secret_with_the_metadata_token(
    helper: Path, tmp_path: Path, fake_gcp: dict[str, str]
) -> None:
    out = tmp_path / "secret.json"
    proc = run_helper(helper, "secret", SECRET_NAME, str(out), env=fake_gcp)
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
    helper: Path, tmp_path: Path, fake_gcp: dict[str, str]
) -> None:
    identity = tmp_path / "identity.json"
    proc = run_helper(helper, "identity", str(identity), env=fake_gcp)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(identity.read_text()) == IDENTITY
    assert all(h.get("metadata-flavor") == "Google" for _, h in FakeGcp.seen)
    secret = tmp_path / "secret.json"
    assert run_helper(helper, "secret", SECRET_NAME, str(secret), env=fake_gcp).returncode == 0
    template = tmp_path / "kubeadm-join.yaml.tmpl"
    template.write_text(written(GCP)[f"{K8S_CONF_DIR}/kubeadm-join.yaml"]["content"])
    out = tmp_path / "kubeadm-join.yaml"
    proc = run_helper(helper, "fill", str(template), str(out), str(identity), str(secret), env=fake_gcp)
    assert proc.returncode == 0, proc.stderr
    join = yaml.safe_load(out.read_text())
    assert join["discovery"]["bootstrapToken"]["token"] == TOKEN
    assert join["discovery"]["bootstrapToken"]["apiServerEndpoint"] == f"{ENDPOINT}:6443"
    assert join["nodeRegistration"]["name"] == IDENTITY["node_name"]
    labels = kubelet_labels(join)
    assert labels["topology.kubernetes.io/zone"] == "asia-northeast3-a"
    assert labels["topology.kubernetes.io/region"] == "asia-northeast3"
    assert labels["node.kubernetes.io/instance-type"] == "g2-standard-4"
    assert [a for a in join["nodeRegistration"]["kubeletExtraArgs"] if a["name"] == "node-ip"] == [
        {"name": "node-ip", "value": IDENTITY["node_ip"]}]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_helper_reports_a_denied_secret_without_a_value(
    helper: Path, tmp_path: Path, fake_gcp: dict[str, str]
) -> None:
    FakeGcp.status = 403
    out = tmp_path / "secret.json"
    proc = run_helper(helper, "secret", SECRET_NAME, str(out), env=fake_gcp)
    assert proc.returncode == 1
    assert "HTTP 403" in proc.stderr and "PERMISSION_DENIED" in proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout and not out.exists()
    proc = run_helper(helper, "secret", "looper-cluster/dev/join", str(out), env=fake_gcp)
    assert proc.returncode == 1 and "projects/P/secrets/S" in proc.stderr
