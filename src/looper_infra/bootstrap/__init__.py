"""VM bootstrap: cloud-init user data rendered from templates by pure functions."""

from typing import TYPE_CHECKING, Any

from looper_infra.bootstrap import versions

if TYPE_CHECKING:
    from looper_infra.bootstrap.app_vm import (
        APP_VM_CONFIG_DIR,
        APP_VM_GPU_GUEST_ATTRIBUTE,
        APP_VM_SETUP_SCRIPT_PATH,
        APP_VM_SETUP_UNIT,
        APP_VM_STATE_DIR,
        AppVmStartup,
        GpuSetup,
        render_app_vm_caddyfile,
        render_app_vm_cloud_config,
        render_app_vm_compose,
        render_app_vm_setup_script,
        render_gpu_ops_agent_config,
    )

def __getattr__(name: str) -> Any:
    """The app VM renderers on first use: config models import `versions` only, and need no jinja."""
    if name in __all__:
        from looper_infra.bootstrap import app_vm

        return getattr(app_vm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APP_VM_CONFIG_DIR",
    "APP_VM_GPU_GUEST_ATTRIBUTE",
    "APP_VM_SETUP_SCRIPT_PATH",
    "APP_VM_SETUP_UNIT",
    "APP_VM_STATE_DIR",
    "AppVmStartup",
    "GpuSetup",
    "render_app_vm_caddyfile",
    "render_app_vm_cloud_config",
    "render_app_vm_compose",
    "render_app_vm_setup_script",
    "render_gpu_ops_agent_config",
    "versions",
]
