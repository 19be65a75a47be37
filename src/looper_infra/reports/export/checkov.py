"""Run checkov on the Terraform-plan export of an offline plan, with the reviewed waivers.

checkov is not a dependency of the package (its own pins clash with ours); it is looked up
in the project's `.venv-checkov` (made by `scripts/install --test-tools`), then on PATH. It
always runs with `--skip-download`, so no network is touched.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from looper_infra.reports.export.terraform_plan import to_terraform_plan

CHECKOV_VERSION = "3.3.30"
WAIVERS_FILE = "checkov-waivers.yaml"
#: waivers of checkov's kubernetes framework on the manifests a plan renders (stage v4-platform)
K8S_WAIVERS_FILE = "k8s-waivers.yaml"
WAIVER_STATUSES = ("accepted", "fix-pending")


class CheckovMissing(RuntimeError):
    pass


class CheckovFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Waiver:
    check: str
    resources: tuple[str, ...]
    stacks: tuple[str, ...]
    status: str
    reason: str
    fix: str | None = None

    def covers(self, check: str, address: str, stack: str) -> bool:
        return (self.check == check
                and any(fnmatch.fnmatchcase(address, p) for p in self.resources)
                and any(fnmatch.fnmatchcase(stack, p) for p in self.stacks))


@dataclass(frozen=True)
class Finding:
    """One failed checkov check on one exported resource."""

    check: str
    name: str
    address: str
    waiver: Waiver | None

    @property
    def waived(self) -> bool:
        return self.waiver is not None


def find_checkov(project_dir: Path | None) -> str:
    if project_dir is not None:
        local = project_dir / ".venv-checkov" / "bin" / "checkov"
        if local.exists():
            return str(local)
    found = shutil.which("checkov")
    if found:
        return found
    raise CheckovMissing(
        "checkov is not installed: run `scripts/install --test-tools` (makes .venv-checkov with "
        f"checkov=={CHECKOV_VERSION}) or put checkov on PATH")


def load_waivers(path: Path) -> list[Waiver]:
    """The reviewed waivers; raises ValueError naming every malformed entry."""
    if not path.is_file():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    waivers: list[Waiver] = []
    for i, w in enumerate(doc.get("waivers") or []):
        missing = {"check", "resources", "stacks", "status", "reason"} - set(w)
        if missing:
            problems.append(f"waivers[{i}]: missing {', '.join(sorted(missing))}")
            continue
        if w["status"] not in WAIVER_STATUSES:
            problems.append(f"waivers[{i}].status: {w['status']!r} is not one of {WAIVER_STATUSES}")
        if w["status"] == "fix-pending" and not w.get("fix"):
            problems.append(f"waivers[{i}].fix: a fix-pending waiver says what the fix is")
        waivers.append(Waiver(check=w["check"], resources=tuple(w["resources"]),
                              stacks=tuple(w["stacks"]), status=w["status"],
                              reason=" ".join(str(w["reason"]).split()), fix=w.get("fix")))
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return waivers


def run_checkov(doc: dict[str, Any], executable: str, workdir: Path) -> dict[str, Any]:
    """checkov's terraform_plan report on the document (written to `workdir`)."""
    path = workdir / "export.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return _run(executable, ["-f", str(path)], "terraform_plan", workdir)


def run_checkov_kubernetes(manifest_dir: Path, executable: str, workdir: Path) -> dict[str, Any]:
    """checkov's kubernetes report on the manifests under `manifest_dir`."""
    return run_checkov_dir(manifest_dir, "kubernetes", executable, workdir)


def run_checkov_dir(directory: Path, framework: str, executable: str, workdir: Path) -> dict[str, Any]:
    """checkov's `framework` report on every file under `directory` (one run, one start-up)."""
    return _run(executable, ["-d", str(directory)], framework, workdir)


def _run(executable: str, target: list[str], framework: str, workdir: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [executable, *target, "--framework", framework, "--skip-download", "--output", "json", "--quiet"],
        capture_output=True, text=True, timeout=600, check=False, cwd=workdir,
    )
    if proc.returncode not in (0, 1):  # 1 only means "a check failed"
        raise CheckovFailed(f"checkov exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise CheckovFailed(f"checkov printed no JSON report: {proc.stdout[-500:]!r}") from exc
    if isinstance(report, list):  # one report per framework
        report = next((r for r in report if r.get("check_type") == framework), {})
    if not isinstance(report, dict) or "summary" not in report:
        raise CheckovFailed(f"checkov report has no {framework} summary")
    return report


def evaluated(report: dict[str, Any]) -> int:
    summary = report.get("summary", {})
    return int(summary.get("resource_count") or 0)


def findings(report: dict[str, Any], stack: str, waivers: list[Waiver]) -> list[Finding]:
    out = []
    for c in report.get("results", {}).get("failed_checks", []):
        waiver = next((w for w in waivers if w.covers(c["check_id"], c["resource"], stack)), None)
        out.append(Finding(check=c["check_id"], name=c.get("check_name", ""),
                           address=c["resource"], waiver=waiver))
    return sorted(out, key=lambda f: (f.check, f.address))


@dataclass(frozen=True)
class ScanResult:
    resources: int
    passed: int
    findings: list[Finding]

    @property
    def unwaived(self) -> list[Finding]:
        return [f for f in self.findings if not f.waived]


def scan(plan: Any, stack: str, project_dir: Path | None) -> ScanResult:
    """Export the plan, run checkov on it (and on its Kubernetes manifests when it has any), and
    match failures against the waivers files (checkov-waivers.yaml, k8s-waivers.yaml)."""
    from looper_infra.reports.export.k8s_manifests import write_manifests

    executable = find_checkov(project_dir)
    waivers = load_waivers(project_dir / WAIVERS_FILE) if project_dir else []
    k8s_waivers = (load_waivers(project_dir / K8S_WAIVERS_FILE)
                   if project_dir and (project_dir / K8S_WAIVERS_FILE).is_file() else [])
    with tempfile.TemporaryDirectory(prefix="looper-checkov-") as tmp:
        report = run_checkov(to_terraform_plan(plan), executable, Path(tmp))
        manifests = write_manifests(plan, Path(tmp) / "manifests")
        k8s_report = (run_checkov_kubernetes(Path(tmp) / "manifests", executable, Path(tmp))
                      if manifests else None)
    if evaluated(report) == 0:
        raise CheckovFailed("checkov evaluated 0 resources of the export (it did not read it)")
    resources, passed = evaluated(report), int(report["summary"].get("passed", 0))
    found = findings(report, stack, waivers)
    if k8s_report is not None:
        if evaluated(k8s_report) == 0:
            raise CheckovFailed(f"checkov evaluated none of the {len(manifests)} Kubernetes manifests")
        resources += evaluated(k8s_report)
        passed += int(k8s_report["summary"].get("passed", 0))
        found += findings(k8s_report, stack, k8s_waivers)
    return ScanResult(resources=resources, passed=passed, findings=found)
