"""``looper-k8s-node``: shellcheck, pinned and held packages, the init/join flow, the GPU host
driver; its /etc/hosts pinning and MTU check run for real in bash on temporary files.
"""

from __future__ import annotations

import hashlib
import io
import py_compile
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from helpers.k8s_node import (
    CONTROL_PLANE,
    ENDPOINT,
    GCP,
    GCP_WORKER,
    SPECS,
    script,
    shell_function,
    written,
)
from helpers.tools import (
    assert_shellcheck_clean,
    require_tool,
)
from looper_infra.bootstrap import k8s_versions, versions
from looper_infra.bootstrap.k8s_node import (
    HOSTS_BLOCK_BEGIN,
    HOSTS_BLOCK_END,
    K8S_SETUP_SCRIPT_PATH,
    K8sNodeBootstrap,
    k8s_node_files,
)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_scripts_pass_shellcheck_and_helper_compiles(name: str, tmp_path: Path) -> None:
    path = tmp_path / "looper-k8s-node"
    path.write_text(script(name), encoding="utf-8")
    assert_shellcheck_clean(path)
    helper_path = SPECS[name].helper_path
    helper = tmp_path / "helper.py"
    helper.write_text(written(name)[helper_path]["content"], encoding="utf-8")
    py_compile.compile(str(helper), doraise=True)
    assert written(name)[helper_path]["permissions"] == "0755"


def test_packages_are_pinned_held_and_from_verified_repos() -> None:
    script = written("k8s_worker")[K8S_SETUP_SCRIPT_PATH]["content"]
    for value in (k8s_versions.KUBERNETES_APT_VERSION, k8s_versions.CRIO_APT_VERSION,
                  k8s_versions.KUBERNETES_APT_KEY_FINGERPRINT, k8s_versions.CRIO_APT_KEY_FINGERPRINT,
                  f"https://pkgs.k8s.io/core:/stable:/v{k8s_versions.KUBERNETES_MINOR}/deb/",
                  f"isv:/cri-o:/stable:/v{k8s_versions.KUBERNETES_MINOR}/deb/"):
        assert value in script
    for package in ("cri-o=${CRIO_APT_VERSION}", "kubelet=${KUBERNETES_APT_VERSION}",
                    "kubeadm=${KUBERNETES_APT_VERSION}", "kubectl=${KUBERNETES_APT_VERSION}"):
        assert f'"{package}"' in script
    assert 'hold_packages "${packages[@]}"' in script
    assert "swapoff --all" in script
    assert k8s_versions.KUBERNETES_APT_VERSION.startswith(k8s_versions.KUBERNETES_VERSION + "-")
    assert k8s_versions.CRIO_APT_VERSION.startswith(k8s_versions.KUBERNETES_MINOR + ".")


def test_control_plane_flow_and_worker_bounded_join() -> None:
    cp = written("k8s_control_plane_init")[K8S_SETUP_SCRIPT_PATH]["content"]
    assert "--cacert \"${PKI_DIR}/ca.crt\" \"https://${API_ENDPOINT}/livez\"" in cp
    assert "readonly INIT_NODE=true" in cp
    assert "init --config \"${TMP_DIR}/kubeadm-init.yaml\" --upload-certs" in cp
    assert "--skip-token-print --skip-certificate-key-print" in cp  # nothing secret in logs
    assert "CALICO" not in cp.replace("CALICO_MTU", "")  # Calico's pins travel in the bundle
    assert "install -m 0600 \"$ADMIN_KUBECONFIG\" /root/.kube/config" in cp
    joining = written("k8s_control_plane_join")[K8S_SETUP_SCRIPT_PATH]["content"]
    assert "readonly INIT_NODE=false" in joining
    assert "systemctl enable --now looper-k8s-upload-certs.timer" in joining
    worker = written("k8s_worker")[K8S_SETUP_SCRIPT_PATH]["content"]
    assert "kubeadm_logged init" not in worker and "INIT_NODE" not in worker
    assert 'readonly JOIN_ATTEMPTS="${LOOPER_JOIN_ATTEMPTS:-60}"' in worker
    assert 'fail "could not join ${API_ENDPOINT} after ${JOIN_ATTEMPTS} attempts"' in worker


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


def test_versions_are_pinned_like_the_aws_nodes() -> None:
    gcp, aws = script(GCP), script("k8s_aws_gpu_worker")
    for line in ("readonly KUBERNETES_APT_VERSION=", "readonly CRIO_APT_VERSION=",
                 "readonly KUBERNETES_APT_KEY_FINGERPRINT=", "readonly CRIO_APT_KEY_FINGERPRINT="):
        [mine] = [x for x in gcp.splitlines() if x.startswith(line)]
        assert mine in aws.splitlines()
    assert 'hold_packages "${packages[@]}"' in gcp


# --- MTU and endpoint resolution, run in bash -------------------------------------------------


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


def test_control_planes_repair_membership_before_join_and_restore_after_init() -> None:
    """A replacement removes the dead etcd member before `kubeadm join`; the init node looks for
    a snapshot before `kubeadm init` (an S3 error stops it: `retry`, then fail) and restores it
    right after (Calico comes later, at every boot); the join token comes from the (rotated) join secret."""
    cp = written("k8s_control_plane_init")[K8S_SETUP_SCRIPT_PATH]["content"]
    flow = cp[cp.index("bring_up_control_plane() {"):cp.index("root_kubeconfig() {")]
    assert flow.index("repair_etcd_membership") < flow.index("join --config")
    assert flow.index("retry find_snapshot") < flow.index("init --config") \
        < flow.index('restore-kubeadm "$snapshot" "$NODE_NAME" "https://${NODE_IP}:2380"')
    assert 'if [[ -n "$snapshot" ]]; then' in flow  # no snapshot: a new cluster
    repair = cp[cp.index("repair_etcd_membership() {"):cp.index("prepare_control_plane_files() {")]
    assert '--running "$running"' in repair and '--self "$NODE_NAME"' in repair
    assert 'if [[ -n "$ip" && "$name" != "$NODE_NAME" ]]' in repair  # itself is no endpoint
    assert '"${TMP_DIR}/secret.json" \\\n    "${TMP_DIR}/join.json"' in cp  # join token last
    assert "systemctl enable --now looper-etcd-snapshot.timer looper-k8s-certs.timer " \
           "looper-k8s-token.timer looper-k8s-prune-nodes.timer looper-k8s-audit-ship.timer " \
           "looper-k8s-calico.timer\n" in cp
    worker = written("k8s_worker")[K8S_SETUP_SCRIPT_PATH]["content"]
    for absent in ("repair_etcd_membership", "ETCD_SCRIPT", "join.json", ".timer"):
        assert absent not in worker


def test_a_control_plane_needs_etcd_backup_and_its_bundle() -> None:
    with pytest.raises(ValueError, match="etcd_backup: a control plane needs one"):
        K8sNodeBootstrap(**{**CONTROL_PLANE, "etcd_backup": None}, init_node=True)
    with pytest.raises(ValueError, match="bundle_sha256"):
        k8s_node_files(K8sNodeBootstrap(**CONTROL_PLANE, init_node=True))


def test_day_2_bundle_is_fetched_by_its_sha256_before_bring_up() -> None:
    spec = SPECS["k8s_control_plane_init"]
    cp = written("k8s_control_plane_init")[K8S_SETUP_SCRIPT_PATH]["content"]
    assert f"readonly BUNDLE_SHA256={spec.bundle_sha256}" in cp
    assert f"readonly BUNDLE_KEY=looper-dev/bootstrap/{spec.bundle_sha256}.tar.gz" in cp
    setup = cp[cp.index("\nsetup() {"):]
    assert setup.index("fetch_identity") < setup.index("install_bundle") < setup.index("bring_up")
    assert 'if [[ "${sum%% *}" != "$BUNDLE_SHA256" ]]; then' in cp


# --- crictl: the pinned cri-tools release, checked by sha256, run in bash ------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_node_installs_the_pinned_crictl(name: str) -> None:
    text = script(name)
    row = k8s_versions.release(SPECS[name].kubernetes_version)
    assert row.crictl_version.startswith(f"{row.minor}.")  # cri-tools follows the minor
    assert f"readonly CRICTL_URL={row.crictl_url}\n" in text
    assert row.crictl_url == ("https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.36.0/"
                              "crictl-v1.36.0-linux-amd64.tar.gz")
    assert f"readonly CRICTL_SHA256={k8s_versions.CRICTL_SHA256}\n" in text
    assert re.fullmatch(r"[0-9a-f]{64}", row.crictl_sha256)
    setup = text[text.index("\nsetup() {"):]
    assert setup.index("install_k8s_packages") < setup.index('step crictl "$CRICTL_SHA256" install_crictl')


@pytest.mark.parametrize("tampered", [False, True])
def test_crictl_is_unpacked_only_when_its_sha256_matches(tmp_path: Path, tampered: bool) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = b"#!/bin/sh\necho crictl\n"
        info = tarfile.TarInfo("crictl")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    release = tmp_path / "release.tar.gz"
    release.write_bytes(raw.getvalue())
    pinned = hashlib.sha256(raw.getvalue()).hexdigest()
    if tampered:
        release.write_bytes(raw.getvalue() + b"\0")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    function = shell_function(script("k8s_worker"), "install_crictl").replace(
        "--directory /usr/local/bin", f"--directory {bin_dir}")
    body = "\n".join([
        readonly_line(script("k8s_worker"), "CRICTL_URL"), f"CRICTL_SHA256={pinned}",
        f"TMP_DIR={tmp_path}", 'retry() { "$@"; }', f'download() {{ cp -- {release} "$2"; }}',
        function, "install_crictl",
    ])
    proc = run_bash(body)
    if tampered:
        assert proc.returncode == 1
        assert "crictl-v1.36.0-linux-amd64.tar.gz has sha256 " in proc.stdout
        assert f"expected {pinned}" in proc.stdout
        assert not (bin_dir / "crictl").exists()
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (bin_dir / "crictl").read_bytes() == b"#!/bin/sh\necho crictl\n"
