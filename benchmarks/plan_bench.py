"""Benchmark `looper plan`: whole-process time and peak memory per stage, against the floor.

For each implemented stage:
  * `looper plan STAGE --json` in a fresh process (median of --runs), peak RSS;
  * the bare mocked program (bare_program.py) with the same provider modules and
    the same resources by type, registered through their typed classes, in a fresh
    process (median of --runs); also its --untyped variant, reported for comparison;
  * overhead = looper / bare (target <= 1.3, against the typed floor), peak RSS
    (target <= 500 MB);
  * the longest dependency chain of the planned graph.
And once: the engine's cost per extra resource (target <= 15 ms), from two
in-process plans of a synthetic program with 50 and 250 resources.

    .venv/bin/python benchmarks/plan_bench.py [--stage v4 ...] [--runs 5] [--json results.json]
Exits 1 when a target is missed. Other work on the machine skews the ratio (the two
programs do not suffer alike): the load averages before and after are printed and
recorded; compare figures taken at similar load, and prefer --runs 5. On a VM whose
CPU speed varies run to run (one deterministic program: 3.6-5.2 s of CPU here), use
--instructions: it counts instructions under valgrind instead (one run of each, minutes
per stage), a ratio that does not move with the machine's load or speed.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO, TARGET_RSS_MB, TARGET_PER_RESOURCE_MS = 1.3, 500, 15.0


def _timed(cmd: list[str]) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS (MB), stdout and CPU seconds (user + system) of one child process."""
    # output goes to files, not pipes: a plan larger than a pipe buffer would block the child
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out_f, stderr=err_f, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return elapsed, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def longest_chain(doc: dict[str, Any]) -> int:
    deps = {r["urn"]: r["dependencies"] for r in doc["resources"]}
    memo: dict[str, int] = {}

    def depth(urn: str) -> int:
        if urn not in memo:
            memo[urn] = 1 + max((depth(d) for d in deps.get(urn, ()) if d in deps), default=0)
        return memo[urn]

    return max((depth(u) for u in deps), default=0)


def _looper_cmd(stage: str) -> list[str]:
    return [sys.executable, "-m", "looper_infra", "plan", stage, "--json"]


def bench_stage(stage: str, runs: int) -> dict[str, Any]:
    looper_cmd = _looper_cmd(stage)
    first = _timed(looper_cmd)  # also gives the resources by type for the bare program
    doc = json.loads(first[2])
    by_type = json.dumps(doc["summary"]["by_type"])
    floors = {"typed": [sys.executable, str(ROOT / "benchmarks" / "bare_program.py"), by_type],
              "untyped": [sys.executable, str(ROOT / "benchmarks" / "bare_program.py"), "--untyped",
                          by_type]}
    # interleaved (floors, looper, floors, looper...): a burst of load elsewhere on the machine
    # then slows all alike instead of only whichever ran during it; the first looper run
    # (cold file cache) only serves the resource counts
    looper_runs: list[tuple[float, float, str, float]] = []
    floor_runs: dict[str, list[tuple[float, float, str, float]]] = {k: [] for k in floors}
    for _ in range(runs):
        for kind, cmd in floors.items():
            floor_runs[kind].append(_timed(cmd))
        looper_runs.append(_timed(looper_cmd))
    looper_s = statistics.median(r[0] for r in looper_runs)
    looper_cpu = statistics.median(r[3] for r in looper_runs)
    result: dict[str, Any] = {
        "stage": stage,
        "resources": doc["summary"]["resources"],
        "looper_plan_s": round(looper_s, 3),
        "looper_plan_cpu_s": round(looper_cpu, 3),
    }
    for kind, timed in floor_runs.items():
        prefix = "" if kind == "typed" else "untyped_"
        bare_s = statistics.median(r[0] for r in timed)
        bare_cpu = statistics.median(r[3] for r in timed)
        result[f"{prefix}bare_program_s"] = round(bare_s, 3)
        result[f"{prefix}overhead_ratio"] = round(looper_s / bare_s, 3)
        # CPU seconds (user + system) suffer less from other load than wall time: a second opinion
        result[f"{prefix}bare_program_cpu_s"] = round(bare_cpu, 3)
        result[f"{prefix}cpu_ratio"] = round(looper_cpu / bare_cpu, 3)
    result["peak_rss_mb"] = round(max(r[1] for r in [first, *looper_runs]), 1)
    result["longest_dependency_chain"] = longest_chain(doc)
    return result


def instructions(cmd: list[str]) -> int:
    """Instructions one run of `cmd` executes (valgrind's callgrind, "I refs"): unlike time, the
    same on a busy or an idle machine, and on a fast or a slow one. About 50x slower than a run."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                          cwd=ROOT, capture_output=True, text=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"{' '.join(cmd)} failed under valgrind:\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def instruction_ratio(stage: str) -> dict[str, Any]:
    """Instructions of `looper plan STAGE` over those of the typed floor (both runs in parallel)."""
    from concurrent.futures import ThreadPoolExecutor

    looper_cmd = _looper_cmd(stage)
    by_type = json.dumps(json.loads(_timed(looper_cmd)[2])["summary"]["by_type"])
    floor_cmd = [sys.executable, str(ROOT / "benchmarks" / "bare_program.py"), by_type]
    with ThreadPoolExecutor(2) as pool:
        looper_ir, floor_ir = pool.map(instructions, [looper_cmd, floor_cmd])
    return {"stage": stage, "looper_instructions": looper_ir, "bare_program_instructions": floor_ir,
            "instruction_ratio": round(looper_ir / floor_ir, 3)}


def depends_on_uses() -> list[str]:
    """`depends_on` naming a whole component, seen while planning every example stack.

    DESIGN.md: a dependency on a component waits for all of its children and serialises the
    deploy graph; dependencies come from data. `depends_on` one resource (an ordering the data
    cannot express, e.g. CRDs from a Helm release before a custom resource) is not flagged.
    The SDK expands a component to its children before the engine sees it, so this watches the
    ResourceOptions the program builds.
    """
    import inspect

    sys.path.insert(0, str(ROOT / "src"))
    import pulumi

    from looper_infra.config import load_stack_file
    from looper_infra.config.stack_names import require_stack_name, stack_from_file_name
    from looper_infra.engine.plan import plan_stage
    from looper_infra.stages import load_program

    found: set[str] = set()
    original = pulumi.ResourceOptions.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        deps = kwargs.get("depends_on") or []
        deps = deps if isinstance(deps, list) else [deps]
        if any(isinstance(d, pulumi.ComponentResource) for d in deps):
            caller = inspect.stack()[1]
            path = Path(caller.filename).resolve()
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            found.add(f"{where}:{caller.lineno}: {(caller.code_context or [''])[0].strip()}")

    pulumi.ResourceOptions.__init__ = spy  # type: ignore[method-assign]
    try:
        for stack_file in sorted(ROOT.glob("Pulumi.*.yaml")):
            stack = require_stack_name(stack_from_file_name(stack_file.name) or "", str(stack_file))
            cfg = load_stack_file(stack_file)
            plan_stage(cfg, load_program(str(cfg.model_dump()["stage"])), stack=stack)
    finally:
        pulumi.ResourceOptions.__init__ = original  # type: ignore[method-assign]
    return sorted(found)


def per_resource_ms() -> float:
    sys.path.insert(0, str(ROOT / "src"))
    import pulumi
    from pulumi_gcp import compute

    from looper_infra.engine.mocks import MockContext
    from looper_infra.engine.plan import run_program

    def program(n: int) -> None:
        net = compute.Network("net", auto_create_subnetworks=False)
        for i in range(n - 1):
            compute.Firewall(f"fw{i}", network=net.id, source_ranges=["10.0.0.0/8"],
                             allows=[compute.FirewallAllowArgs(protocol="tcp", ports=["22"])])
        pulumi.export("n", n)

    def timed(n: int) -> float:
        start = time.perf_counter()
        plan = run_program(lambda: program(n), stage="bench", stack=f"bench{n}",
                           context=MockContext())
        assert len(plan.resources) == n
        return time.perf_counter() - start

    timed(10)  # warm-up: imports and first-call costs
    small, large = min(timed(50) for _ in range(2)), min(timed(250) for _ in range(2))
    return (large - small) / 200 * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stage", action="append", dest="stages", metavar="STAGE",
                        help="only this stage (repeatable; default: every implemented stage)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--instructions", action="store_true",
                        help="instead: count the instructions of looper and of the typed floor under "
                             "valgrind, one run each (slow: minutes per stage), and their ratio")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from looper_infra.stages import STAGES

    # as scripts/install leaves the tree: pip byte-compiled the floor's modules (site-packages)
    # at install time; with PYTHONDONTWRITEBYTECODE set, an uncompiled source tree would make
    # every looper run compile its own modules again, a cost no installed looper pays
    compileall.compile_dir(ROOT / "src" / "looper_infra", quiet=1)
    stages = args.stages or [s.name for s in STAGES.values() if s.implemented]
    if args.instructions:
        counted = [instruction_ratio(s) for s in stages]
        for r in counted:
            print(f"{r['stage']}: looper plan {r['looper_instructions']:,} instructions, bare "
                  f"{r['bare_program_instructions']:,}, ratio x{r['instruction_ratio']} "
                  f"(target <= {TARGET_RATIO})")
        if args.json:
            args.json.write_text(json.dumps({"instructions": counted}, indent=2) + "\n")
        return 1 if any(r["instruction_ratio"] > TARGET_RATIO for r in counted) else 0
    load_before = os.getloadavg()
    results: dict[str, Any] = {"stages": [bench_stage(s, args.runs) for s in stages],
                               "engine_ms_per_resource": round(per_resource_ms(), 2)}
    results["load_average"] = {"before": [round(x, 2) for x in load_before],
                               "after": [round(x, 2) for x in os.getloadavg()]}
    print(f"load average (1/5/15 min) before {results['load_average']['before']}, "
          f"after {results['load_average']['after']} on {os.cpu_count()} CPUs")
    failures = []
    for r in results["stages"]:
        print(f"{r['stage']}: {r['resources']} resources, looper plan {r['looper_plan_s']} s, "
              f"bare {r['bare_program_s']} s, overhead x{r['overhead_ratio']} "
              f"(target <= {TARGET_RATIO}; CPU {r['looper_plan_cpu_s']} / {r['bare_program_cpu_s']} s "
              f"= x{r['cpu_ratio']}; untyped floor {r['untyped_bare_program_s']} s, "
              f"x{r['untyped_overhead_ratio']}), peak RSS {r['peak_rss_mb']} MB "
              f"(target <= {TARGET_RSS_MB}), longest dependency chain "
              f"{r['longest_dependency_chain']}")
        if r["overhead_ratio"] > TARGET_RATIO:
            failures.append(f"{r['stage']}: overhead x{r['overhead_ratio']}")
        if r["peak_rss_mb"] > TARGET_RSS_MB:
            failures.append(f"{r['stage']}: peak RSS {r['peak_rss_mb']} MB")
    results["depends_on"] = depends_on_uses()
    print(f"depends_on a whole component, in every example stack's plan: {len(results['depends_on'])}")
    for use in results["depends_on"]:
        print(f"  {use}")
        failures.append(f"depends_on: {use}")
    per = results["engine_ms_per_resource"]
    print(f"engine: {per} ms per extra resource (target <= {TARGET_PER_RESOURCE_MS})")
    if per > TARGET_PER_RESOURCE_MS:
        failures.append(f"{per} ms per resource")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    for f in failures:
        print(f"MISSED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
