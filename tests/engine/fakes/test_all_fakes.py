"""`all_fakes()`: each provider's fakes load on the first token of theirs a plan registers, so a
GCP-only plan never imports the AWS fakes and an AWS plan never the GCP ones; the fakes' data
tables are read only when a fake needs one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_REPORT = """
    def report():
        from looper_infra.engine.fakes import tables
        read = tables.table.cache_info().currsize if "looper_infra.engine.fakes.tables" in sys.modules else 0
        print("aws", "looper_infra.engine.fakes.aws" in sys.modules,
              "gcp", "looper_infra.engine.fakes.gcp" in sys.modules, "tables read", read, file=sys.stderr)
"""
_PROGRAM_CHECK = textwrap.dedent("""
    import sys
    from looper_infra.engine.mocks import MockContext
    from looper_infra.engine.plan import run_program
""" + _REPORT + """
    def gcp_only():
        from pulumi_gcp import serviceaccount
        serviceaccount.Account("sa", account_id="looper-app")

    def with_aws():
        from pulumi_aws import iam
        iam.Role("r", assume_role_policy="{}")

    def with_a_bucket():
        from pulumi_aws import s3
        s3.Bucket("b")

    plan = run_program(PROGRAM, stage="t", stack="unit", context=MockContext())
    state = plan.resources[-1].state
    print(state.get("email") or state.get("hostedZoneId") or state.get("arn"))
    report()
""")
_STAGE_CHECK = textwrap.dedent("""
    import atexit, sys
""" + _REPORT + """
    atexit.register(report)
    from looper_infra.cli import main
    main(["plan", "STAGE"])
""")


def _run(script: str, cwd: Path | None = None) -> tuple[str, str]:
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          check=False, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip(), proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(("program", "loaded", "answer"), [
    ("gcp_only", "aws False gcp True tables read 0", "looper-app@"),
    ("with_aws", "aws True gcp False tables read 0", "arn:aws:iam::"),
    ("with_a_bucket", "aws True gcp False tables read 1", "Z3W03O7B5YMIYP"),  # Seoul's S3 zone
])
def test_each_clouds_fakes_load_only_for_plans_with_its_types(program: str, loaded: str, answer: str) -> None:
    out, modules = _run(_PROGRAM_CHECK.replace("PROGRAM", program))
    assert modules == loaded
    # the fake answered (not the engine's bare echo): an e-mail, a role ARN, the region's hosted zone
    assert out.splitlines()[-1].startswith(answer), out


@pytest.mark.parametrize(("stage", "loaded"), [
    ("v1", "aws False gcp True tables read 0"),
    ("v4-platform", "aws True gcp False tables read 1"),
])
def test_stage_plans_load_only_their_clouds_fakes(stage: str, loaded: str, root: Path) -> None:
    _, modules = _run(_STAGE_CHECK.replace("STAGE", stage), cwd=root)
    assert modules == loaded
