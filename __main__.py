"""Pulumi entry point: run the stage configured by `looper:stage` in this stack."""

from looper_infra.program import main

main()
