"""The node's user data: goldens for every case, EC2 and GCE limits, no secrets, valid
cloud-config, the files each role writes.

Golden files live in ``tests/bootstrap/golden/``; regenerate them with ``LOOPER_UPDATE_GOLDEN=1 pytest``.
"""

from __future__ import annotations

import base64
import gzip
import re
from pathlib import Path

import pytest

from helpers.k8s_node import (
    AWS_ROLES,
    CONTROL_PLANE,
    GCP,
    GOLDEN_DIR,
    GPU_WORKERS,
    PRIVATE_KEY_MARKER,
    SPECS,
    TOKEN_SHAPE,
    cloud_config,
    script,
    written,
)
from helpers.tools import (
    assert_matches_golden,
    assert_valid_cloud_config,
)
from looper_infra.bootstrap.k8s_node import (
    GCE_METADATA_VALUE_LIMIT,
    K8S_AWS_HELPER_PATH,
    K8S_CONF_DIR,
    K8S_GCP_HELPER_PATH,
    K8S_SETUP_SCRIPT_PATH,
    USER_DATA_LIMIT,
    K8sNodeBootstrap,
    k8s_node_files,
    k8s_node_user_data,
    render_k8s_node_cloud_config,
    render_k8s_node_gce_user_data,
    render_k8s_node_user_data,
)
from looper_infra.bootstrap.k8s_node.bundle import bundle_files, with_bundle

# --- goldens, size, validity, no secrets ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_matches_golden(name: str) -> None:
    assert_matches_golden(cloud_config(name), GOLDEN_DIR / f"{name}.cloud-config.yaml")


@pytest.mark.parametrize("name", AWS_ROLES)
def test_user_data_fits_ec2_and_decompresses_to_the_cloud_config(name: str) -> None:
    data = k8s_node_user_data(SPECS[name])
    assert len(data) < USER_DATA_LIMIT == 16384
    assert gzip.decompress(data).decode("utf-8") == cloud_config(name)
    assert base64.b64decode(render_k8s_node_user_data(SPECS[name])) == data
    assert k8s_node_user_data(SPECS[name]) == data  # deterministic (gzip mtime 0)


def test_gce_user_data_is_plain_text_within_the_metadata_limit() -> None:
    text = render_k8s_node_gce_user_data(SPECS[GCP])
    assert text == render_k8s_node_cloud_config(SPECS[GCP])
    assert text.startswith("#cloud-config\n")
    assert len(text.encode("utf-8")) <= GCE_METADATA_VALUE_LIMIT == 256 * 1024
    with pytest.raises(ValueError, match="secret_backend"):
        render_k8s_node_gce_user_data(SPECS["k8s_aws_gpu_worker"])
    # the AWS GPU worker still fits EC2's 16 KB (gzip)
    assert len(k8s_node_user_data(SPECS["k8s_aws_gpu_worker"])) < 16 * 1024


@pytest.mark.parametrize("name", AWS_ROLES)
def test_user_data_holds_no_secret(name: str) -> None:
    text = cloud_config(name)
    assert not PRIVATE_KEY_MARKER.search(text)
    assert not TOKEN_SHAPE.search(text)
    assert "password" not in text.lower()
    assert "set -x" not in text
    # secrets are named, and the markers filled at boot are all there is
    spec = SPECS[name]
    secret_id = spec.control_plane_secret_id if spec.is_control_plane else spec.join_secret_id
    assert secret_id in written(name)[K8S_SETUP_SCRIPT_PATH]["content"]
    assert '"@@token@@"' in written(name)[f"{K8S_CONF_DIR}/kubeadm-join.yaml"]["content"]


@pytest.mark.parametrize("name", GPU_WORKERS)
def test_gpu_user_data_holds_no_secret_only_its_name(name: str) -> None:
    text = render_k8s_node_cloud_config(SPECS[name])
    assert not TOKEN_SHAPE.search(text)
    assert "PRIVATE KEY" not in text and "set -x" not in text
    assert f"readonly JOIN_SECRET_ID={SPECS[name].join_secret_id}" in script(name)
    assert '"@@token@@"' in written(name)[f"{K8S_CONF_DIR}/kubeadm-join.yaml"]["content"]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_passes_cloud_init_schema(name: str, tmp_path: Path) -> None:
    assert_valid_cloud_config(cloud_config(name), tmp_path)


# --- files per role ---------------------------------------------------------------------------


def test_files_modes_and_roles() -> None:
    init, join, worker = (
        written(n) for n in ("k8s_control_plane_init", "k8s_control_plane_join", "k8s_worker"))
    for files in (init, join, worker):
        assert files[K8S_SETUP_SCRIPT_PATH]["permissions"] == "0755"
        assert files[f"{K8S_CONF_DIR}/kubeadm-join.yaml"]["permissions"] == "0600"
    for path in (f"{K8S_CONF_DIR}/kubeadm-init.yaml", f"{K8S_CONF_DIR}/encryption-config.yaml",
                 "/etc/kubernetes/audit/policy.yaml"):
        assert init[path]["permissions"] == join[path]["permissions"] == "0600"
        assert path not in worker
    # every control plane carries Calico's Installation and script (one bundle per cluster); only
    # the init node runs it; only 3 control planes re-upload certificates
    for files in (init, join):
        assert f"{K8S_CONF_DIR}/calico-installation.yaml" in files
        assert "/usr/local/sbin/looper-k8s-calico" in files
    assert "\n  /usr/local/sbin/looper-k8s-calico apply\n" in init[K8S_SETUP_SCRIPT_PATH]["content"]
    assert "looper-k8s-calico" not in join[K8S_SETUP_SCRIPT_PATH]["content"]
    timer = "/etc/systemd/system/looper-k8s-upload-certs.timer"
    assert timer not in init and timer not in worker
    assert "OnUnitActiveSec=1h" in join[timer]["content"]  # certificates live 2 h
    assert "ExecStart=/usr/local/sbin/looper-k8s-node upload-certs" in join[
        "/etc/systemd/system/looper-k8s-upload-certs.service"]["content"]


def test_host_preparation_files() -> None:
    files = written("k8s_worker")
    assert files["/etc/modules-load.d/looper-k8s.conf"]["content"].split("\n")[1:3] == [
        "overlay", "br_netfilter"]
    sysctls = dict(
        line.split(" = ") for line in files["/etc/sysctl.d/90-looper-k8s.conf"]["content"].splitlines()
        if line and not line.startswith("#")
    )
    assert sysctls["net.ipv4.ip_forward"] == sysctls["net.bridge.bridge-nf-call-iptables"] == "1"
    # what kubelet's protectKernelDefaults requires
    assert sysctls["vm.overcommit_memory"] == "1" and sysctls["kernel.panic"] == "10"
    crio = files["/etc/crio/crio.conf.d/90-looper.conf"]["content"]
    hooks = re.search(r"hooks_dir = \[(.*?)\]", crio, re.S)
    assert hooks is not None
    assert re.findall(r'"([^"]+)"', hooks[1]) == [
        "/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d"]
    assert 'cgroup_manager = "systemd"' in crio


def test_crio_hooks_dir_includes_the_gpu_operators() -> None:
    crio = written(GCP)["/etc/crio/crio.conf.d/90-looper.conf"]["content"]
    hooks = re.search(r"hooks_dir = \[(.*?)\]", crio, re.S)
    assert hooks is not None
    assert "/usr/share/containers/oci/hooks.d" in re.findall(r'"([^"]+)"', hooks[1])
    assert "install -m 0755 -d /usr/share/containers/oci/hooks.d" in script()


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


def test_five_control_planes_keep_their_certificates_uploaded() -> None:
    spec = with_bundle(K8sNodeBootstrap(**CONTROL_PLANE, control_plane_count=5))  # 1, 3 or 5
    assert "/etc/systemd/system/looper-k8s-upload-certs.timer" in bundle_files(spec)
    files = k8s_node_files(spec)
    assert "systemctl enable --now looper-k8s-upload-certs.timer" in files[K8S_SETUP_SCRIPT_PATH]
