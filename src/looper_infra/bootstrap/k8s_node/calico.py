"""Calico's Installation resource: VXLAN, the pod CIDR and the explicit MTU (the operator
manifest itself is fetched at its pinned URL by the init node)."""

from __future__ import annotations

from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.k8s_node.layout import render_node_document
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap


def render_k8s_calico_manifests(spec: K8sNodeBootstrap) -> str:
    """Calico's Installation CR (the operator manifest itself is fetched at its pinned URL)."""
    return render_node_document(
        "k8s-calico-installation.yaml.j2", spec, calico_version=k8s_versions.CALICO_VERSION
    )
