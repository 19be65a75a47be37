"""Typed, validated models of the stack config (read once per run)."""

from looper_infra.config.errors import ConfigError, ConfigIssue
from looper_infra.config.loader import STAGE_MODELS, load_stack_file, validate_mapping
from looper_infra.config.v1 import V1Config, V2Config

__all__ = [
    "STAGE_MODELS",
    "ConfigError",
    "ConfigIssue",
    "V1Config",
    "V2Config",
    "load_stack_file",
    "validate_mapping",
]
