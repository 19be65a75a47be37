"""Stage v1: one GCP VM serving the app over HTTPS (see single_vm for the diagram)."""

from __future__ import annotations

from looper_infra.config.v1 import V1Config
from looper_infra.stages.single_vm import build


def program(cfg: V1Config) -> None:
    build(cfg)
