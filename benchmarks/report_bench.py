"""`looper report --all` against ten single `looper plan` runs (issue 20: target <= 0.6x).

`looper report` plans every example stack in one process and writes every artefact (plan,
findings, Terraform export, cost, diagram via Graphviz, summary, HTML); the baseline is one
fresh `looper plan STAGE --stack STACK --json` process per stack, which is what a CI job
calling the single verbs pays at least once per stack (it pays it again for check, cost,
export and diagram). Best of --repeat runs for each side. Usage:
    PYTHONPATH=src .venv/bin/python benchmarks/report_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOOPER = [sys.executable, "-m", "looper_infra"]


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from looper_infra.core.project import stack_file, stage_named_by
    from looper_infra.reports.report import example_stacks

    stacks = [(stage_named_by(stack_file(ROOT, s)), s) for s in example_stacks(ROOT)]
    singles, reports = [], []
    for _ in range(args.repeat):
        singles.append(sum(_timed([*LOOPER, "plan", str(stage), "--stack", stack, "--json"])
                           for stage, stack in stacks))
        with tempfile.TemporaryDirectory() as out:
            reports.append(_timed([*LOOPER, "report", "--all", "-o", out]))
    single, report = min(singles), min(reports)
    print(f"{len(stacks)} stacks; best of {args.repeat}")
    print(f"sum of single `looper plan --json` runs: {single:6.2f} s")
    print(f"`looper report --all` (every artefact):  {report:6.2f} s")
    print(f"ratio: {report / single:.2f} (target <= 0.60)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
