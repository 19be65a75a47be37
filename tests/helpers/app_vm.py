"""The app VM harness: parse the rendered cloud-config, run its setup script in a fake root.

The setup script runs for real under bash, in a fake root with stub executables for every
command that would touch the system or the network (apt-get, apt-mark, curl, docker, dpkg,
gpg, systemctl); the stubs record their argv so the tests can assert what ran.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from helpers.tools import (
    assert_matches_golden,
    assert_shellcheck_clean,
    assert_valid_cloud_config,
    require_tool,
)
from looper_infra.bootstrap import (
    APP_VM_SETUP_SCRIPT_PATH,
    AppVmStartup,
    render_app_vm_cloud_config,
    versions,
)
from looper_infra.facts import app_image

#: The v1 app VM with the default app image (golden ``app_vm_default``).
DEFAULT_SPEC = AppVmStartup(
    domain="dev.looper.example.com",
    acme_email="ops@example.com",
    app_image=app_image.DEMO_APP_IMAGE,
    app_port=8080,
    health_path="/health",
)

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "bootstrap" / "golden"

STUBBED_COMMANDS = ("apt-get", "apt-mark", "curl", "docker", "dpkg", "gpg", "systemctl")
STEPS = ("prerequisites", "docker-apt-repo", "docker-engine", "ops-agent", "pull-images")


def parse(document: str) -> dict[str, Any]:
    doc = yaml.safe_load(document)
    assert isinstance(doc, dict)
    return doc


def written_files(document: str) -> dict[str, dict[str, Any]]:
    return {entry["path"]: entry for entry in parse(document)["write_files"]}


def setup_script(document: str) -> str:
    content = written_files(document)[APP_VM_SETUP_SCRIPT_PATH]["content"]
    assert isinstance(content, str)
    return content


def compose_of(document: str) -> dict[str, Any]:
    return parse(written_files(document)["/etc/looper/compose.yaml"]["content"])


STUB = r"""#!/usr/bin/env bash
# Test stub: records argv (fields split by \x1f, records by \x1e), fails the first
# $STUB_FAIL_<NAME> calls, fakes the little output the setup script reads.
set -euo pipefail
name="${STUB_NAME:-$(basename "$0")}"
var="STUB_FAIL_$(printf '%s' "$name" | tr 'a-z.-' 'A-Z__')"
count_file="$STUB_STATE/$name.count"
count=$(( $(cat "$count_file" 2>/dev/null || echo 0) + 1 ))
echo "$count" >"$count_file"
{ printf '%s' "$name"; for arg in "$@"; do printf '\x1f%s' "$arg"; done; printf '\x1e'; } >>"$STUB_LOG"
if (( count <= ${!var:-0} )); then
  exit 1
fi
case "$name" in
  dpkg) echo amd64 ;;
  gpg) echo "fpr:::::::::${STUB_GPG_FINGERPRINT}:" ;;
  curl)
    out=""; url=""; prev=""
    for arg in "$@"; do
      if [[ "$prev" == --output ]]; then out="$arg"; fi
      prev="$arg"; url="$arg"
    done
    if [[ -n "$out" && "$url" == */gpg ]]; then
      echo "FAKE DOCKER KEY" >"$out"
    elif [[ -n "$out" && "$url" == *add-google-cloud-ops-agent-repo.sh ]]; then
      printf '#!/usr/bin/env bash\nSTUB_NAME=ops-agent-repo-script exec "%s" "$@"\n' "$0" >"$out"
    fi
    ;;
esac
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    calls: list[list[str]]

    def commands(self, name: str) -> list[list[str]]:
        return [call[1:] for call in self.calls if call[0] == name]


class FakeRoot:
    """A fake filesystem root with the rendered files and stubbed system commands."""

    def __init__(self, base: Path, document: str) -> None:
        self.root = base / "root"
        self.bin = base / "bin"
        self.state = base / "stub-state"
        self.log = base / "calls.log"
        for directory in (self.root, self.bin, self.state):
            directory.mkdir(parents=True)
        for path, entry in written_files(document).items():
            target = self.root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(entry["content"], encoding="utf-8")
        (self.root / "etc/os-release").write_text(
            'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nVERSION_CODENAME=noble\nID=ubuntu\n'
        )
        for name in STUBBED_COMMANDS:
            stub = self.bin / name
            stub.write_text(STUB)
            stub.chmod(0o755)
        self.script = self.root / APP_VM_SETUP_SCRIPT_PATH.lstrip("/")

    @property
    def state_dir(self) -> Path:
        return self.root / "var/lib/looper"

    def run(self, **extra_env: str) -> Run:
        self.log.write_text("")
        for counter in self.state.glob("*.count"):
            counter.unlink()
        env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root / "root"),
            "LANG": "C.UTF-8",
            "STUB_LOG": str(self.log),
            "STUB_STATE": str(self.state),
            "STUB_GPG_FINGERPRINT": versions.DOCKER_APT_KEY_FINGERPRINT,
            "LOOPER_STATE_DIR": str(self.state_dir),
            "LOOPER_CONFIG_DIR": str(self.root / "etc/looper"),
            "LOOPER_KEYRING_DIR": str(self.root / "etc/apt/keyrings"),
            "LOOPER_APT_SOURCES_DIR": str(self.root / "etc/apt/sources.list.d"),
            "LOOPER_OS_RELEASE": str(self.root / "etc/os-release"),
            "LOOPER_RETRY_DELAY": "0",
            "LOOPER_HEALTH_INTERVAL": "0",
            "LOOPER_HEALTH_ATTEMPTS": "3",
            **extra_env,
        }
        proc = subprocess.run(
            [require_tool("bash"), str(self.script)],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        raw = self.log.read_text(encoding="utf-8")
        calls = [record.split("\x1f") for record in raw.split("\x1e") if record]
        return Run(proc.returncode, proc.stdout + proc.stderr, calls)


def result_line(run: Run) -> str:
    lines = [line for line in run.stdout.splitlines() if line.startswith("looper: app ")]
    assert lines, run.stdout
    return lines[-1]




def check_golden(name: str, spec: AppVmStartup) -> None:
    """The rendering equals golden/<name>.cloud-config.yaml (LOOPER_UPDATE_GOLDEN=1 rewrites it)."""
    assert_matches_golden(render_app_vm_cloud_config(spec), GOLDEN_DIR / f"{name}.cloud-config.yaml")


def check_valid(spec: AppVmStartup, workdir: Path) -> str:
    """The document runs the setup script through its unit and passes `cloud-init schema`."""
    rendered = render_app_vm_cloud_config(spec)
    assert rendered.startswith("#cloud-config\n")
    doc = parse(rendered)
    assert doc["runcmd"][-1] == [APP_VM_SETUP_SCRIPT_PATH]
    files = written_files(rendered)
    assert files[APP_VM_SETUP_SCRIPT_PATH]["permissions"] == "0755"
    assert "ExecStart=" + APP_VM_SETUP_SCRIPT_PATH in (
        files["/etc/systemd/system/looper-setup.service"]["content"]
    )
    assert_valid_cloud_config(rendered, workdir)
    return rendered


def check_shellcheck(spec: AppVmStartup, workdir: Path) -> None:
    path = workdir / "looper-setup"
    path.write_text(setup_script(render_app_vm_cloud_config(spec)), encoding="utf-8")
    assert_shellcheck_clean(path)
