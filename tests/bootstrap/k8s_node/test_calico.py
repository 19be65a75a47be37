"""Calico's Installation: VXLAN, the pod CIDR, the explicit MTU."""

from __future__ import annotations

from helpers.k8s_node import (
    CONTROL_PLANE,
    SPECS,
    docs,
)
from looper_infra.bootstrap.k8s_node import (
    K8sNodeBootstrap,
    render_k8s_calico_manifests,
)


def test_calico_installation() -> None:
    spec = SPECS["k8s_control_plane_init"]
    installation = docs(render_k8s_calico_manifests(spec))["Installation"]
    assert installation["apiVersion"] == "operator.tigera.io/v1"
    assert installation["metadata"]["name"] == "default"
    network = installation["spec"]["calicoNetwork"]
    assert network["mtu"] == 1350 and network["bgp"] == "Disabled"
    assert network["ipPools"] == [{
        "name": "default-ipv4-ippool", "cidr": "192.168.0.0/16", "blockSize": 26,
        "encapsulation": "VXLAN", "natOutgoing": "Enabled", "nodeSelector": "all()"}]
    other = K8sNodeBootstrap(**{**CONTROL_PLANE, "calico_mtu": 1400, "pod_cidr": "172.20.0.0/16"},
                             init_node=True)
    network = docs(render_k8s_calico_manifests(other))["Installation"]["spec"]["calicoNetwork"]
    assert network["mtu"] == 1400 and network["ipPools"][0]["cidr"] == "172.20.0.0/16"
