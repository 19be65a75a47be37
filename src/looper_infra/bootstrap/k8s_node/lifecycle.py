"""A control plane's day-2 files: the control-plane cloud helper ``looper-k8s-cp`` (S3, EC2,
Secrets Manager writes, CloudWatch Logs; it extends the AWS node helper), the
``looper-k8s-lifecycle`` script (certificate expiry metrics and renewal, join token rotation,
audit log shipping) and the systemd timers that run it."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from looper_infra.bootstrap.k8s_node.layout import (
    AUDIT_SHIP_TIMER,
    CERTS_TIMER,
    K8S_CP_HELPER_PATH,
    K8S_LIFECYCLE_SCRIPT_PATH,
    NAMES,
    TOKEN_TIMER,
    render_node_document,
)
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap
from looper_infra.bootstrap.render import File, macro_file, template_module

#: The day-2 script the timers run.
K8S_LIFECYCLE_PATH: Final = K8S_LIFECYCLE_SCRIPT_PATH
#: kubeadm-managed leaf certificates are renewed when fewer days than this are left.
CERT_RENEW_DAYS: Final = 30
_UNIT_DIR: Final = "/etc/systemd/system"
#: unit file name: the macro of k8s-cp-lifecycle.units.j2 that writes it
_UNITS: Final = {
    CERTS_TIMER.replace(".timer", ".service"): "certs_service",
    CERTS_TIMER: "certs_timer",
    TOKEN_TIMER.replace(".timer", ".service"): "token_service",
    TOKEN_TIMER: "token_timer",
}
_AUDIT_UNITS: Final = {
    AUDIT_SHIP_TIMER.replace(".timer", ".service"): "audit_service",
    AUDIT_SHIP_TIMER: "audit_timer",
}


def _require_control_plane(spec: K8sNodeBootstrap) -> None:
    if not spec.is_control_plane or spec.on_gcp:
        raise ValueError("the lifecycle files are for AWS control planes only")


def render_k8s_cp_helper(spec: K8sNodeBootstrap) -> str:
    """``looper-k8s-cp``: ``looper-k8s-aws`` plus s3-put/get/latest, control-planes,
    put-secret and ship-logs."""
    _require_control_plane(spec)
    return render_node_document("k8s-node-cp.py.j2", spec)


def render_k8s_lifecycle_script(spec: K8sNodeBootstrap) -> str:
    """``looper-k8s-lifecycle renew-certs|rotate-token|ship-audit`` (bash)."""
    _require_control_plane(spec)
    return render_node_document(
        "k8s-cp-lifecycle.sh.j2", spec, cp_helper=K8S_CP_HELPER_PATH, renew_days=CERT_RENEW_DAYS
    )


@cache
def _units() -> Any:
    return template_module(
        "k8s-cp-lifecycle.units.j2", {"names": NAMES, "lifecycle": K8S_LIFECYCLE_PATH}
    )


def lifecycle_unit_names(spec: K8sNodeBootstrap) -> tuple[str, ...]:
    """The units of :func:`lifecycle_files` (the timers are the ones to enable)."""
    return tuple({**_UNITS, **(_AUDIT_UNITS if spec.audit_log_group else {})})


def lifecycle_files(spec: K8sNodeBootstrap) -> dict[str, File]:
    """Control-plane day-2 files: script, services and timers (the audit shipping units only
    with ``spec.audit_log_group``); the helper ``looper-k8s-cp`` is the control plane's node
    helper (user data), these go into the day-2 bundle."""
    units = _units()
    files = {K8S_LIFECYCLE_PATH: File(render_k8s_lifecycle_script(spec), "0755")}
    for name, macro in {**_UNITS, **(_AUDIT_UNITS if spec.audit_log_group else {})}.items():
        files[f"{_UNIT_DIR}/{name}"] = macro_file(getattr(units, macro))
    return files
