"""The Pulumi program (`__main__.py` at the project root calls `main`).

Reads the stack config once from the language host, validates it with the
same models `looper plan` uses, and runs the configured stage.
"""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import get_config_env

from looper_infra.config import ConfigError, validate_mapping
from looper_infra.config.loader import values_from_pulumi_runtime
from looper_infra.config.stack_names import stack_warnings
from looper_infra.stages import load_program


def main() -> None:
    source = f"Pulumi.{pulumi.get_stack()}.yaml"
    try:
        cfg = validate_mapping(values_from_pulumi_runtime(get_config_env()), source)
    except ConfigError as err:
        raise pulumi.RunError(str(err)) from None
    stage = str(cfg.stage)  # type: ignore[attr-defined]
    for warning in stack_warnings(pulumi.get_stack(), stage, getattr(cfg, "env", None)):
        pulumi.log.warn(warning)
    load_program(stage)(cfg)
