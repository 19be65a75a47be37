"""The node's cloud-init user data: every file it writes, the cloud-config document, and the
document as EC2 (gzip, base64, 16 KB) and GCE (plain text, 256 KB) take it."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any, Final

from looper_infra.bootstrap.k8s_node.api_server import render_k8s_audit_policy, render_k8s_encryption_config
from looper_infra.bootstrap.k8s_node.cloud_helpers import render_k8s_node_helper
from looper_infra.bootstrap.k8s_node.kubeadm import (
    render_k8s_kubeadm_init_config,
    render_k8s_kubeadm_join_config,
)
from looper_infra.bootstrap.k8s_node.layout import K8S_CONF_DIR, NAMES, PATHS, render_node_document
from looper_infra.bootstrap.k8s_node.setup_script import render_k8s_node_setup_script
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap
from looper_infra.bootstrap.render import File, check_embedding, macro_file, template_module

#: EC2 user data limit (bytes, before base64).
USER_DATA_LIMIT: Final = 16 * 1024
#: GCE limit of one metadata value (``user-data``), in bytes.
GCE_METADATA_VALUE_LIMIT: Final = 256 * 1024


@cache
def _units() -> Any:
    """systemd units, kernel modules, sysctls and the CRI-O drop-in (macros of one template)."""
    return template_module("k8s-node.units.j2", {"paths": PATHS, "names": NAMES})


def control_plane_config_files(spec: K8sNodeBootstrap) -> dict[str, File]:
    """A control plane's kubeadm, encryption and audit configs and the certificate
    upload timer: the same on every control plane of the cluster, so they travel in its day-2
    bundle (``bundle.py``) rather than in user data, which EC2 limits to 16 KB gzipped."""
    units = _units()
    conf = K8S_CONF_DIR
    files = {
        f"{conf}/kubeadm-join.yaml": File(render_k8s_kubeadm_join_config(spec), "0600"),
        f"{conf}/kubeadm-init.yaml": File(render_k8s_kubeadm_init_config(spec), "0600"),
        f"{conf}/encryption-config.yaml": File(render_k8s_encryption_config(spec), "0600"),
        PATHS["audit_policy"]: File(render_k8s_audit_policy(spec), "0600"),
    }
    if spec.control_plane_count > 1:
        files[PATHS["upload_certs_unit"]] = macro_file(units.upload_certs_unit)
        files[PATHS["upload_certs_timer"]] = macro_file(units.upload_certs_timer)
    return files


def _files(spec: K8sNodeBootstrap) -> dict[str, File]:
    units = _units()
    files = {
        PATHS["setup_script"]: File(render_k8s_node_setup_script(spec), "0755"),
        spec.helper_path: File(render_k8s_node_helper(spec), "0755"),
    }
    if not spec.is_control_plane:
        files[f"{K8S_CONF_DIR}/kubeadm-join.yaml"] = File(render_k8s_kubeadm_join_config(spec), "0600")
    files[PATHS["setup_unit"]] = macro_file(units.setup_unit)
    files[PATHS["modules"]] = macro_file(units.modules)
    files[PATHS["sysctls"]] = macro_file(units.sysctls)
    files[PATHS["crio_dropin"]] = macro_file(units.crio_dropin)
    return files


def k8s_node_files(spec: K8sNodeBootstrap) -> Mapping[str, str]:
    """Every file the user data writes (path -> content), for tests and reviews."""
    return MappingProxyType({path: f.content for path, f in _files(spec).items()})


def render_k8s_node_cloud_config(spec: K8sNodeBootstrap) -> str:
    """The node's cloud-init user data as text (``k8s-node.cloud-config.yaml.j2``)."""
    files = _files(spec)
    text = render_node_document("k8s-node.cloud-config.yaml.j2", spec, files=files)
    check_embedding(text, {path: f.content for path, f in files.items()})
    return text


def k8s_node_user_data(spec: K8sNodeBootstrap) -> bytes:
    """The user data as EC2 receives it: the cloud-config, gzip-compressed (cloud-init
    detects gzip), deterministic (mtime 0), checked against the 16 KB limit."""
    data = gzip.compress(render_k8s_node_cloud_config(spec).encode("utf-8"), 9, mtime=0)
    if len(data) >= USER_DATA_LIMIT:
        raise ValueError(f"user data is {len(data)} bytes gzipped; EC2 allows {USER_DATA_LIMIT}")
    return data


def render_k8s_node_user_data(spec: K8sNodeBootstrap) -> str:
    """Base64 of :func:`k8s_node_user_data` (gzip), as the EC2 API takes it: pass it as
    ``aws.ec2.LaunchTemplate(user_data=...)`` or ``aws.ec2.Instance(user_data_base64=...)``,
    never base64-encoded again. The 16 KB limit applies to the decoded bytes."""
    return base64.b64encode(k8s_node_user_data(spec)).decode("ascii")


def render_k8s_node_gce_user_data(spec: K8sNodeBootstrap) -> str:
    """The cloud-config as GCE metadata ``user-data`` takes it: plain text (a metadata value
    is a string; cloud-init reads it as is), checked against the 256 KB value limit."""
    if not spec.on_gcp:
        raise ValueError("secret_backend: GCE user data is for 'gcp' nodes")
    text = render_k8s_node_cloud_config(spec)
    size = len(text.encode("utf-8"))
    if size > GCE_METADATA_VALUE_LIMIT:
        raise ValueError(f"user data is {size} bytes; a GCE metadata value holds {GCE_METADATA_VALUE_LIMIT}")
    return text
