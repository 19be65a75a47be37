"""Calico on the cluster: the Installation resource (VXLAN, the pod CIDR, the explicit MTU) and
``looper-k8s-calico``, which applies the pinned operator CRDs, the Tigera operator and the
Installation server-side at every boot of the first control plane, with a retry timer. Both
travel in the control planes' day-2 bundle (EC2 user data has no room for them)."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.k8s_node.layout import (
    CALICO_PENDING,
    CALICO_TIMER,
    K8S_CALICO_SCRIPT_PATH,
    K8S_CONF_DIR,
    NAMES,
    render_node_document,
)
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap
from looper_infra.bootstrap.render import File, macro_file, template_module

#: Where the bundle puts the Installation (applied by looper-k8s-calico).
CALICO_INSTALLATION_PATH: Final = f"{K8S_CONF_DIR}/calico-installation.yaml"
CALICO_SERVICE: Final = CALICO_TIMER.replace(".timer", ".service")
#: The retry timer's period (minutes).
CALICO_RETRY_MINUTES: Final = 5
#: The pinned manifests (k8s_versions), in the order they are applied.
CALICO_PINS: Final = {
    "version": k8s_versions.CALICO_VERSION,
    "crds_url": k8s_versions.CALICO_CRDS_MANIFEST_URL,
    "crds_sha256": k8s_versions.CALICO_CRDS_MANIFEST_SHA256,
    "operator_url": k8s_versions.CALICO_OPERATOR_MANIFEST_URL,
    "operator_sha256": k8s_versions.CALICO_OPERATOR_MANIFEST_SHA256,
}


def render_k8s_calico_manifests(spec: K8sNodeBootstrap) -> str:
    """Calico's Installation CR (the operator manifests are fetched at their pinned URLs)."""
    return render_node_document(
        "k8s-calico-installation.yaml.j2", spec, calico_version=k8s_versions.CALICO_VERSION
    )


def render_k8s_calico_script(spec: K8sNodeBootstrap) -> str:
    """``looper-k8s-calico apply`` (bash)."""
    if not spec.is_control_plane:
        raise ValueError("looper-k8s-calico is for control planes only")
    return render_node_document(
        "k8s-cp-calico.sh.j2", spec, calico=CALICO_PINS, installation=CALICO_INSTALLATION_PATH,
        pending=CALICO_PENDING, timer=CALICO_TIMER,
    )


@cache
def _units() -> Any:
    return template_module("k8s-cp-calico.units.j2",
                           {"names": NAMES, "pending": CALICO_PENDING, "minutes": CALICO_RETRY_MINUTES})


def calico_files(spec: K8sNodeBootstrap) -> dict[str, File]:
    """The day-2 bundle's Calico files: the Installation, the script, the retry units."""
    units = _units()
    return {
        CALICO_INSTALLATION_PATH: File(render_k8s_calico_manifests(spec), "0644"),
        K8S_CALICO_SCRIPT_PATH: File(render_k8s_calico_script(spec), "0755"),
        f"/etc/systemd/system/{CALICO_SERVICE}": macro_file(units.service),
        f"/etc/systemd/system/{CALICO_TIMER}": macro_file(units.timer),
    }
