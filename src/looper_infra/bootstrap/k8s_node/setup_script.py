"""``looper-k8s-node``, the node's idempotent bash setup script: host preparation, pinned
CRI-O and kubeadm packages, the secrets through the cloud helper, then init or join."""

from __future__ import annotations

from typing import Final

from looper_infra.bootstrap.app_vm_shell import check_defined_once, shell_code
from looper_infra.bootstrap.k8s_node.layout import CALICO_TIMER, ETCD_SNAPSHOT_TIMER, render_node_document
from looper_infra.bootstrap.k8s_node.lifecycle import lifecycle_unit_names
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap

#: VXLAN encapsulation overhead (the NIC must carry the Calico MTU plus this).
VXLAN_OVERHEAD: Final = 50
#: /etc/hosts block the setup script owns (API endpoint pinned to the NLB's private IPs).
HOSTS_BLOCK_BEGIN: Final = "# BEGIN looper-k8s api endpoint (managed by looper-k8s-node)"
HOSTS_BLOCK_END: Final = "# END looper-k8s api endpoint"
#: What the setup script takes from the app VM setup script (plus what those use).
_SHELL_ROOTS: Final = (
    "log", "require_count", "retry", "step", "check_os", "install_prerequisites",
    "add_apt_repo", "apt_get", "apt_install", "hold_packages", "download",
)
_TEMPLATE: Final = "k8s-node-setup.sh.j2"


def control_plane_timers(spec: K8sNodeBootstrap) -> tuple[str, ...]:
    """The timers a control plane enables once it is up (none on workers); the first control
    plane's Calico retry timer among them."""
    if not spec.is_control_plane:
        return ()
    lifecycle = tuple(unit for unit in lifecycle_unit_names(spec) if unit.endswith(".timer"))
    return (ETCD_SNAPSHOT_TIMER, *lifecycle, *((CALICO_TIMER,) if spec.init_node else ()))


def render_k8s_node_setup_script(spec: K8sNodeBootstrap) -> str:
    """``looper-k8s-node``, the idempotent bash setup script (a control plane's spec must
    carry its day-2 bundle's sha256: ``bundle.with_bundle``)."""
    if spec.is_control_plane and spec.bundle_sha256 is None:
        raise ValueError("bundle_sha256: a control plane's setup fetches its day-2 bundle by "
                         "sha256 (k8s_node.bundle.with_bundle)")
    script = render_node_document(
        _TEMPLATE, spec,
        app_vm=shell_code(_SHELL_ROOTS),
        hosts_block=(HOSTS_BLOCK_BEGIN, HOSTS_BLOCK_END),
        vxlan_overhead=VXLAN_OVERHEAD,
        control_plane_timers=control_plane_timers(spec),
        calico_timer=CALICO_TIMER,
    )
    return check_defined_once(script, _TEMPLATE)
