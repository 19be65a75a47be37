"""kubeadm's documents: InitConfiguration, ClusterConfiguration, KubeletConfiguration and
KubeProxyConfiguration for ``kubeadm init``, JoinConfiguration for every node."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from looper_infra.bootstrap.k8s_node.api_server import API_SERVER_VOLUMES, api_server_args
from looper_infra.bootstrap.k8s_node.layout import render_node_document
from looper_infra.bootstrap.k8s_node.spec import API_SERVER_PORT, K8sNodeBootstrap

#: CRI-O's socket (kubeadm nodeRegistration.criSocket, kubelet containerRuntimeEndpoint).
CRI_SOCKET: Final = "unix:///var/run/crio/crio.sock"
#: Kubelet graceful node shutdown (KubeletConfiguration shutdownGracePeriod, of which the last
#: ``critical_pods`` go to critical pods): 30 s in all, the most Ubuntu's logind allows (the
#: template says why).
SHUTDOWN_GRACE: Final = MappingProxyType({"grace_period": "30s", "critical_pods": "10s"})


def _kubeadm(spec: K8sNodeBootstrap, mode: str) -> str:
    return render_node_document(
        "k8s-kubeadm.yaml.j2", spec,
        mode=mode,
        cri_socket=CRI_SOCKET,
        api_port=API_SERVER_PORT,
        taints=spec.taints,
        node_labels=spec.node_labels_arg,
        api_server_args=api_server_args(spec) if mode == "init" else (),
        api_server_volumes=API_SERVER_VOLUMES,
        discovery_timeout="1m0s",
        shutdown=SHUTDOWN_GRACE,
    )


def render_k8s_kubeadm_init_config(spec: K8sNodeBootstrap) -> str:
    """``kubeadm init`` documents (control planes): InitConfiguration, ClusterConfiguration,
    KubeletConfiguration, KubeProxyConfiguration, with @@markers@@ for token, certificate
    key and instance facts."""
    if not spec.is_control_plane:
        raise ValueError("role: only a control plane has a kubeadm init configuration")
    return _kubeadm(spec, "init")


def render_k8s_kubeadm_join_config(spec: K8sNodeBootstrap) -> str:
    """The JoinConfiguration of the node (with ``controlPlane`` on control planes)."""
    return _kubeadm(spec, "join-control-plane" if spec.is_control_plane else "join")
