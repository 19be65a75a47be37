"""Where `looper plan STAGE` spends its CPU time, phase by phase, in one process.

plan_bench.py gives the whole-process ratio; this says which phase to look at:

    .venv/bin/python benchmarks/plan_phases.py v4 [--runs 3]

Phases, in the order they run: the Pulumi SDK import, the typed provider classes the
plan registers (what bare_program.py also pays), the CLI's and config's imports, the
stack file, the plan itself (provider classes already imported, so: our components,
fakes, rendering and the SDK's engine work), the JSON document. CPU seconds (user +
system), which other load on the machine skews less than wall time; also the time the
cyclic garbage collector took, per generation. Each run is a fresh process. (Here the
provider classes are imported before the engine runs, so the collections they cause
fall outside the engine's batched GC, unlike in `looper plan`.)
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("pulumi", "providers", "cli_imports", "config", "plan", "json")


sys.path.insert(0, str(Path(__file__).resolve().parent))
from bare_program import _module_of  # noqa: E402 (the same typed classes the floor touches)


def _child(stage: str, by_type: dict[str, int]) -> dict[str, Any]:
    """One measured plan (runs in the child process)."""
    gc_s = [0.0, 0.0, 0.0]
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.process_time())
        elif started:
            gc_s[info["generation"]] += time.process_time() - started.pop()

    gc.callbacks.append(on_gc)
    marks = [time.process_time()]
    import pulumi.runtime.mocks  # noqa: F401

    marks.append(time.process_time())
    for token in by_type:
        found = _module_of(token)
        if found:
            getattr(importlib.import_module(found[0]), found[1])
    marks.append(time.process_time())
    import looper_infra.cli  # noqa: F401
    from looper_infra.config import load_stack_file
    from looper_infra.engine.plan import plan_stage
    from looper_infra.stages import load_program

    marks.append(time.process_time())
    cfg = load_stack_file(ROOT / f"Pulumi.{stage}-dev.yaml", stage=stage)
    marks.append(time.process_time())
    plan = plan_stage(cfg, load_program(stage), stack=f"{stage}-dev")
    marks.append(time.process_time())
    json.dumps(plan.to_document(), indent=2)
    marks.append(time.process_time())
    phases = {p: marks[i + 1] - marks[i] for i, p in enumerate(PHASES)}
    return {"phases": phases, "total": marks[-1] - marks[0], "gc": gc_s,
            "resources": len(plan.resources)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_child(args.stage, json.loads(args.child))))
        return 0
    plan = subprocess.run([sys.executable, "-m", "looper_infra", "plan", args.stage, "--json"],
                          cwd=ROOT, check=True, capture_output=True, text=True)
    by_type = json.loads(plan.stdout)["summary"]["by_type"]
    runs = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, __file__, args.stage, "--child", json.dumps(by_type)],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out))
    print(f"{args.stage}: {runs[0]['resources']} resources, CPU seconds, median of {args.runs} runs")
    for phase in PHASES:
        print(f"  {phase:12s} {statistics.median(r['phases'][phase] for r in runs):7.3f}")
    print(f"  {'total':12s} {statistics.median(r['total'] for r in runs):7.3f}")
    gc_med = [statistics.median(r["gc"][g] for r in runs) for g in range(3)]
    print(f"  cyclic GC    {sum(gc_med):7.3f} (generations 0/1/2: "
          + " / ".join(f"{g:.3f}" for g in gc_med) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
