"""Typed, validated models of the stack config (read once per run)."""

from typing import TYPE_CHECKING, Any

from looper_infra.config.errors import ConfigError, ConfigIssue
from looper_infra.config.loader import STAGE_MODELS, load_stack_file, validate_mapping

if TYPE_CHECKING:
    from looper_infra.config.v1 import V1Config
    from looper_infra.config.v2 import V2Config


def __getattr__(name: str) -> Any:
    """V1Config / V2Config on first use (a run loads only its own stage's model)."""
    if name in ("V1Config", "V2Config"):
        return STAGE_MODELS[name[:2].lower()]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "STAGE_MODELS",
    "ConfigError",
    "ConfigIssue",
    "V1Config",
    "V2Config",
    "load_stack_file",
    "validate_mapping",
]
