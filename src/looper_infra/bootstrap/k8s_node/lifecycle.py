"""A control plane's day-2 files: the control-plane cloud helper ``looper-k8s-cp`` (S3, EC2,
Secrets Manager writes, CloudWatch Logs; it extends the AWS node helper), the
``looper-k8s-lifecycle`` script (certificate expiry metrics and renewal, join token rotation,
audit log shipping, dead-Node cleanup), ``looper-k8s-nodes`` (the dead-Node cleanup: Nodes
whose ``aws:///`` instance is terminated, without a cloud controller manager) and the systemd
timers that run them."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from looper_infra.bootstrap.k8s_node.layout import (
    AUDIT_SHIP_TIMER,
    CERTS_TIMER,
    K8S_CP_HELPER_PATH,
    K8S_LIFECYCLE_SCRIPT_PATH,
    K8S_NODES_SCRIPT_PATH,
    NAMES,
    PRUNE_NODES_DELAY,
    PRUNE_NODES_MINUTES,
    PRUNE_NODES_TIMER,
    TOKEN_TIMER,
    render_node_document,
)
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap
from looper_infra.bootstrap.render import File, macro_file, template_module

#: The day-2 script the timers run.
K8S_LIFECYCLE_PATH: Final = K8S_LIFECYCLE_SCRIPT_PATH
#: kubeadm-managed leaf certificates are renewed when fewer days than this are left.
CERT_RENEW_DAYS: Final = 30
#: A Node whose aws:/// instance EC2 does not know (terminated over an hour ago) is deleted only
#: when the Node is at least this old (seconds): EC2's answers may lag a new instance.
UNKNOWN_INSTANCE_MIN_AGE: Final = 600
#: The textfile the dead-Node cleanup writes its metrics to.
DEAD_NODES_METRICS_FILE: Final = "looper_k8s_dead_nodes.prom"
_UNIT_DIR: Final = "/etc/systemd/system"
#: unit file name: the macro of k8s-cp-lifecycle.units.j2 that writes it
_UNITS: Final = {
    CERTS_TIMER.replace(".timer", ".service"): "certs_service",
    CERTS_TIMER: "certs_timer",
    TOKEN_TIMER.replace(".timer", ".service"): "token_service",
    TOKEN_TIMER: "token_timer",
    PRUNE_NODES_TIMER.replace(".timer", ".service"): "prune_service",
    PRUNE_NODES_TIMER: "prune_timer",
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


def render_k8s_nodes_script(spec: K8sNodeBootstrap) -> str:
    """``looper-k8s-nodes prune REGION KUBECONFIG TEXTFILE_DIR`` (Python standard library; EC2
    through ``looper-k8s-cp``): deletes the Nodes whose EC2 instance is gone."""
    _require_control_plane(spec)
    return render_node_document(
        "k8s-cp-nodes.py.j2", spec, cp_helper=K8S_CP_HELPER_PATH,
        unknown_min_age=UNKNOWN_INSTANCE_MIN_AGE, metrics_file=DEAD_NODES_METRICS_FILE,
    )


#: What the units template needs besides the names.
UNITS_CONTEXT: Final = {
    "lifecycle": K8S_LIFECYCLE_PATH,
    "prune": {"minutes": PRUNE_NODES_MINUTES, "delay": PRUNE_NODES_DELAY},
}


@cache
def _units() -> Any:
    return template_module("k8s-cp-lifecycle.units.j2", {"names": NAMES, **UNITS_CONTEXT})


def lifecycle_unit_names(spec: K8sNodeBootstrap) -> tuple[str, ...]:
    """The units of :func:`lifecycle_files` (the timers are the ones to enable)."""
    return tuple({**_UNITS, **(_AUDIT_UNITS if spec.audit_log_group else {})})


def lifecycle_files(spec: K8sNodeBootstrap) -> dict[str, File]:
    """Control-plane day-2 files: script, services and timers (the audit shipping units only
    with ``spec.audit_log_group``); the helper ``looper-k8s-cp`` is the control plane's node
    helper (user data), these go into the day-2 bundle."""
    units = _units()
    files = {K8S_LIFECYCLE_PATH: File(render_k8s_lifecycle_script(spec), "0755"),
             K8S_NODES_SCRIPT_PATH: File(render_k8s_nodes_script(spec), "0755")}
    for name, macro in {**_UNITS, **(_AUDIT_UNITS if spec.audit_log_group else {})}.items():
        files[f"{_UNIT_DIR}/{name}"] = macro_file(getattr(units, macro))
    return files
