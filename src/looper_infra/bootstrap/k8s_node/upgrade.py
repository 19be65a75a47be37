"""``looper-k8s-upgrade``, a control plane's day-2 script that brings the cluster to its
Kubernetes release when it replaces a control plane of the previous one (join at the cluster's
release, then ``kubeadm upgrade apply`` under a lease; see the template's header for the
sources). It travels in the day-2 bundle: EC2 user data has no room for it."""

from __future__ import annotations

from typing import Final

from looper_infra.bootstrap.k8s_node.layout import K8S_UPGRADE_SCRIPT_PATH, render_node_document
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap
from looper_infra.bootstrap.render import File

#: The coordination.k8s.io Lease in kube-system that one upgrading control plane holds.
UPGRADE_LEASE: Final = "looper-k8s-upgrade"


def render_k8s_upgrade_script(spec: K8sNodeBootstrap) -> str:
    """``looper-k8s-upgrade pre-join JOIN_JSON | finish NODE_NAME`` (bash)."""
    if not spec.is_control_plane:
        raise ValueError("the upgrade script is for control planes only")
    return render_node_document("k8s-cp-upgrade.sh.j2", spec, previous=spec.upgrade_from, lease=UPGRADE_LEASE)


def upgrade_files(spec: K8sNodeBootstrap) -> dict[str, File]:
    """The day-2 bundle's upgrade script (control planes)."""
    return {K8S_UPGRADE_SCRIPT_PATH: File(render_k8s_upgrade_script(spec), "0755")}
