"""The GPU VM's cloud-init user data (stage v2): goldens, validity, and the setup script's
GPU steps run for real under bash with stubbed system commands.

It reuses the v1 tests rather than copying them: the v1 golden, ``cloud-init schema`` and
shellcheck tests run unchanged on the GPU specs, and the v1 harness (``FakeRoot``: a fake
root holding the rendered files, stub executables on PATH that record their argv) gets its
stub extended with what the GPU steps call: nvidia-smi, nvidia-ctk, apt-cache, uname,
modprobe, and per-repository signing keys. Golden files:
``golden/gpu_vm_*.cloud-config.yaml``, regenerated only with ``LOOPER_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from helpers.app_vm import (  # the v1 harness
    STUB,
    STUBBED_COMMANDS,
    FakeRoot,
    Run,
    check_golden,
    check_shellcheck,
    check_valid,
    compose_of,
    result_line,
    written_files,
)
from looper_infra.bootstrap import (
    APP_VM_GPU_GUEST_ATTRIBUTE,
    AppVmStartup,
    GpuSetup,
    render_app_vm_cloud_config,
    render_app_vm_setup_script,
    render_gpu_ops_agent_config,
    versions,
)

GPU_SPEC = AppVmStartup(
    domain="gpu.looper.example.com",
    acme_email="ops@example.com",
    app_image="ghcr.io/acme/looper-gpu-api:2.0.1",
    app_port=8000,
    health_path="/healthz",
    app_env={"MODEL_DIR": "/models"},
    gpu=GpuSetup(count=1),
)
GPU_SPEC_4X_NO_TOOLKIT = replace(GPU_SPEC, gpu=GpuSetup(count=4, install_cuda_toolkit=False))
SPECS = {"gpu_vm_l4x1": GPU_SPEC, "gpu_vm_l4x4_no_toolkit": GPU_SPEC_4X_NO_TOOLKIT}

GUEST_ATTRIBUTE_URL = "http://metadata.test/computeMetadata/v1/instance/guest-attributes/looper/gpu"
DRIVER_PACKAGES = (
    f"linux-modules-nvidia-{versions.NVIDIA_DRIVER_BRANCH}-server-gcp",
    f"nvidia-headless-no-dkms-{versions.NVIDIA_DRIVER_BRANCH}-server={versions.NVIDIA_DRIVER_VERSION}",
    f"nvidia-utils-{versions.NVIDIA_DRIVER_BRANCH}-server={versions.NVIDIA_DRIVER_VERSION}",
)
CTK = versions.NVIDIA_CONTAINER_TOOLKIT_VERSION
CTK_PACKAGES = (
    f"nvidia-container-toolkit={CTK}",
    f"nvidia-container-toolkit-base={CTK}",
    f"libnvidia-container-tools={CTK}",
    f"libnvidia-container1={CTK}",
)
CUDA_TOOLKIT = f"cuda-toolkit-12-9={versions.CUDA_TOOLKIT_VERSION}"
DCGM = f"datacenter-gpu-manager={versions.DCGM_VERSION}"
GPU_STEPS = (
    "nvidia-driver", "cuda-apt-repo", "cuda-toolkit", "nvidia-container-toolkit-apt-repo",
    "nvidia-container-toolkit", "dcgm", "ops-agent-gpu-config", "cuda-image",
)

# The v1 stub with its three forks per call (basename, tr, cat) done by bash builtins: the
# GPU runs make ~50 stub calls each; behaviour is unchanged.
_FORK_FREE = {
    'name="${STUB_NAME:-$(basename "$0")}"': 'name="${STUB_NAME:-${0##*/}}"',
    "var=\"STUB_FAIL_$(printf '%s' \"$name\" | tr 'a-z.-' 'A-Z__')\"":
        'upper="${name^^}"; var="STUB_FAIL_${upper//[.-]/_}"',
    'count=$(( $(cat "$count_file" 2>/dev/null || echo 0) + 1 ))':
        'count=0; if [[ -f "$count_file" ]]; then read -r count <"$count_file"; fi\n'
        "count=$((count + 1))",
}


def _fork_free(stub: str) -> str:
    for old, new in _FORK_FREE.items():
        assert stub.count(old) == 1, f"the v1 stub changed; update _FORK_FREE: {old}"
        stub = stub.replace(old, new)
    return stub


# Appended to the v1 stub, whose curl branch already parsed $out and $url.
GPU_STUB = _fork_free(STUB) + r"""
case "$name" in
  curl)
    if [[ -n "$out" && "$url" == *.pub ]]; then
      echo "FAKE KEY ${STUB_CUDA_FINGERPRINT}" >"$out"
    elif [[ -n "$out" && "$url" == */gpgkey ]]; then
      echo "FAKE KEY ${STUB_CTK_FINGERPRINT}" >"$out"
    fi
    ;;
  gpg)
    read -r _ _ fingerprint <"${!#}" || true
    if [[ -n "${fingerprint:-}" ]]; then echo "fpr:::::::::${fingerprint}:"; fi
    ;;
  nvidia-smi)
    if [[ "$*" == *--query-gpu=name* ]]; then tr ',' '\n' <<<"$STUB_GPUS"; fi
    ;;
  uname) echo "$STUB_KERNEL" ;;
  apt-cache)
    if [[ -n "${STUB_APT_MISSING:-}" && "$*" == *"$STUB_APT_MISSING"* ]]; then
      echo "E: Version not found" >&2; exit 100
    fi
    ;;
  docker)
    if [[ "${1:-}" == run && -n "${STUB_DOCKER_RUN_FAIL:-}" ]]; then
      echo "could not select device driver \"\" with capabilities: [[gpu]]" >&2; exit 125
    fi
    ;;
esac
"""
GPU_STUBBED_COMMANDS = (*STUBBED_COMMANDS, "nvidia-smi", "nvidia-ctk", "apt-cache", "uname", "modprobe")


class GpuFakeRoot(FakeRoot):
    """The v1 fake root plus the GPU stubs, a boot id that a "reboot" changes, and the GPU
    paths (apt preferences, Ops Agent config, guest attribute URL) redirected."""

    def __init__(self, base: Path, document: str) -> None:
        super().__init__(base, document)
        for name in GPU_STUBBED_COMMANDS:
            stub = self.bin / name
            stub.write_text(GPU_STUB)
            stub.chmod(0o755)
        self.boot_id = base / "boot_id"
        self.boot_id.write_text("boot-1\n")
        self.ops_agent_config = self.root / "etc/google-cloud-ops-agent/config.yaml"

    def reboot(self) -> None:
        boot = int(self.boot_id.read_text().strip().removeprefix("boot-"))
        self.boot_id.write_text(f"boot-{boot + 1}\n")

    @property
    def reboot_pending(self) -> Path:
        return self.state_dir / "steps/nvidia-driver.reboot-pending"

    def run(self, **extra_env: str) -> Run:
        env = {
            "LOOPER_APT_PREFERENCES_DIR": str(self.root / "etc/apt/preferences.d"),
            "LOOPER_OPS_AGENT_CONFIG": str(self.ops_agent_config),
            "LOOPER_BOOT_ID_FILE": str(self.boot_id),
            "LOOPER_GUEST_ATTRIBUTE_URL": GUEST_ATTRIBUTE_URL,
            "STUB_CUDA_FINGERPRINT": versions.CUDA_APT_KEY_FINGERPRINT,
            "STUB_CTK_FINGERPRINT": versions.NVIDIA_CONTAINER_TOOLKIT_KEY_FINGERPRINT,
            "STUB_GPUS": "NVIDIA L4",
            "STUB_KERNEL": "6.17.0-1021-gcp",
            **extra_env,
        }
        return super().run(**env)


def installs(run: Run) -> list[list[str]]:
    return [c for c in run.commands("apt-get") if "install" in c]


def installed(run: Run, package: str) -> int:
    """How many `apt-get install` calls named ``package`` (exact PACKAGE=VERSION spec)."""
    return sum(package in call for call in installs(run))


def published(run: Run) -> list[str]:
    """The values PUT to the guest attribute, in order."""
    return [
        call[call.index("--data-binary") + 1]
        for call in run.commands("curl")
        if call[-1] == GUEST_ATTRIBUTE_URL and "PUT" in call
    ]


def gpu_line(run: Run) -> str:
    lines = [line for line in run.stdout.splitlines() if line.startswith("looper: gpu ")]
    assert lines, run.stdout
    return lines[-1]


def fake(tmp_path: Path, spec: AppVmStartup = GPU_SPEC) -> GpuFakeRoot:
    return GpuFakeRoot(tmp_path, render_app_vm_cloud_config(spec))


# --- 1. goldens, valid cloud-config, shellcheck: the v1 checks, run on the GPU specs ----------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gpu_cloud_config_matches_golden(name: str) -> None:
    check_golden(name, SPECS[name])  # golden/<name>.cloud-config.yaml


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gpu_cloud_config_is_valid(name: str, tmp_path: Path) -> None:
    rendered = check_valid(SPECS[name], tmp_path)  # includes `cloud-init schema`
    assert written_files(rendered)["/etc/looper/ops-agent.yaml"]["permissions"] == "0644"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gpu_setup_script_passes_shellcheck(name: str, tmp_path: Path) -> None:
    check_shellcheck(SPECS[name], tmp_path)


# --- 2. one render path ------------------------------------------------------------------------


def test_gpu_script_is_the_v1_script_plus_gpu_lines() -> None:
    """Reuse, not a copy: the v1 script's lines all appear, in order, in the GPU script;
    only the two header lines naming the template differ."""
    v1 = render_app_vm_setup_script(replace(GPU_SPEC, gpu=None)).splitlines()
    gpu = render_app_vm_setup_script(GPU_SPEC).splitlines()
    ops = difflib.SequenceMatcher(a=v1, b=gpu, autojunk=False).get_opcodes()
    changed = [(tag, v1[i1:i2]) for tag, i1, i2, _, _ in ops if tag in ("replace", "delete")]
    assert [tag for tag, _ in changed] == ["replace", "replace"], changed
    assert changed[0][1][0].startswith("# Looper app VM setup")
    assert changed[1][1][0].startswith("# templates/app-vm-setup.sh.j2")
    assert sum(line.startswith("retry() {") for line in gpu) == 1


def test_without_gpu_nothing_nvidia_is_rendered() -> None:
    text = render_app_vm_cloud_config(replace(GPU_SPEC, gpu=None)).lower()
    assert "nvidia" not in text and "dcgm" not in text
    assert "/etc/looper/ops-agent.yaml" not in text


def test_compose_gives_the_app_every_gpu() -> None:
    services = compose_of(render_app_vm_cloud_config(GPU_SPEC))["services"]
    assert services["app"]["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}
    ]
    assert "deploy" not in services["caddy"]
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]  # the v1 part is intact


def test_ops_agent_config_adds_dcgm_to_host_metrics() -> None:
    text = render_gpu_ops_agent_config(GPU_SPEC.gpu)  # type: ignore[arg-type]
    assert written_files(render_app_vm_cloud_config(GPU_SPEC))["/etc/looper/ops-agent.yaml"][
        "content"
    ] == text
    metrics = yaml.safe_load(text)["metrics"]
    assert metrics["receivers"]["dcgm"] == {
        "type": "dcgm", "collection_interval": "60s", "receiver_version": 2,
    }
    assert metrics["receivers"]["hostmetrics"]["type"] == "hostmetrics"
    assert metrics["service"]["pipelines"] == {
        "default_pipeline": {"receivers": ["hostmetrics"]},
        "dcgm": {"receivers": ["dcgm"]},
    }


# --- 3. the GPU steps, run ---------------------------------------------------------------------


def test_first_run_installs_each_gpu_component_once_then_skips(tmp_path: Path) -> None:
    root = fake(tmp_path)

    first = root.run()
    assert first.returncode == 0, first.stdout
    assert gpu_line(first) == "looper: gpu ready (1 x NVIDIA L4)"
    assert result_line(first).startswith("looper: app ready")
    assert first.stdout.index("looper: gpu ready") < first.stdout.index("looper: app ready")
    driver = [c for c in installs(first) if DRIVER_PACKAGES[1] in c]
    assert len(driver) == 1 and driver[0][-3:] == list(DRIVER_PACKAGES)
    for package in (CUDA_TOOLKIT, DCGM, *CTK_PACKAGES):
        assert installed(first, package) == 1, package
    assert len(installs(first)) == 5  # docker, driver, CUDA toolkit, container toolkit, DCGM
    holds = first.commands("apt-mark")
    assert ["hold", "cuda-toolkit-12-9"] in holds
    assert ["hold", "datacenter-gpu-manager"] in holds
    assert ["hold", "nvidia-container-toolkit", "nvidia-container-toolkit-base",
            "libnvidia-container-tools", "libnvidia-container1"] in holds
    assert not any("nvidia-utils-580-server" in c for c in holds)  # the driver is not held
    assert first.commands("nvidia-ctk") == [["runtime", "configure", "--runtime=docker"]]
    systemctl = first.commands("systemctl")
    assert ["restart", "docker.service"] in systemctl
    assert ["enable", "--now", "nvidia-dcgm.service"] in systemctl
    assert ["restart", "google-cloud-ops-agent"] in systemctl
    assert ["reboot"] not in systemctl  # the driver answered at once
    assert ["run", "--rm", "--gpus", "all", versions.CUDA_BASE_IMAGE, "nvidia-smi"] in (
        first.commands("docker")
    )
    # repositories: fingerprint-checked keys, flat deb822 sources, no drivers from NVIDIA's repo
    sources = root.root / "etc/apt/sources.list.d"
    cuda = (sources / "cuda.sources").read_text()
    assert f"URIs: {versions.CUDA_APT_URL}/\nSuites: /\nArchitectures: amd64\n" in cuda
    assert "Components" not in cuda
    ctk = (sources / "nvidia-container-toolkit.sources").read_text()
    assert f"URIs: {versions.NVIDIA_CONTAINER_TOOLKIT_APT_URL}\n" in ctk
    assert "Signed-By: " + str(root.root / "etc/apt/keyrings/nvidia-container-toolkit.asc") in ctk
    pref = (root.root / "etc/apt/preferences.d/looper-no-cuda-repo-drivers.pref").read_text()
    assert "Pin: origin developer.download.nvidia.com\nPin-Priority: -1\n" in pref
    # the Ops Agent config with the dcgm receiver is in place
    assert root.ops_agent_config.read_text() == render_gpu_ops_agent_config(GpuSetup(count=1))
    assert published(first) == ["ready: 1 x NVIDIA L4"]
    put = next(c for c in first.commands("curl") if c[-1] == GUEST_ATTRIBUTE_URL)
    assert put[put.index("--request") + 1] == "PUT"
    assert put[put.index("--header") + 1] == "Metadata-Flavor: Google"
    for step in GPU_STEPS:
        assert (root.state_dir / "steps" / f"{step}.done").is_file(), step
    assert (root.state_dir / "gpu-ready").is_file()

    second = root.run()
    assert second.returncode == 0, second.stdout
    assert gpu_line(second) == "looper: gpu ready (1 x NVIDIA L4)"
    assert installs(second) == [] and second.commands("apt-mark") == []
    assert second.commands("nvidia-ctk") == [] and second.commands("apt-cache") == []
    for step in GPU_STEPS:
        assert f"looper: step {step}: already done, skipping" in second.stdout


def test_driver_needing_a_reboot_is_installed_once(tmp_path: Path) -> None:
    """nvidia-smi cannot reach the driver right after the install: record the pending
    reboot, reboot; the boot-time re-run must not reinstall the driver, clears the marker
    and carries on to "gpu ready"."""
    root = fake(tmp_path)

    first = root.run(STUB_FAIL_NVIDIA_SMI="1000")  # modules not loadable until a reboot
    assert first.returncode == 0, first.stdout
    assert installed(first, DRIVER_PACKAGES[1]) == 1
    assert root.reboot_pending.read_text() == "boot-1\n"
    assert "looper: gpu driver installed, reboot pending" in first.stdout
    assert first.commands("systemctl")[-1] == ["reboot"]
    assert published(first) == [
        f"rebooting: NVIDIA driver {versions.NVIDIA_DRIVER_VERSION} installed, loads at boot"
    ]
    assert installed(first, DCGM) == 0 and installed(first, CTK_PACKAGES[0]) == 0
    assert first.commands("docker") == []  # the app waits for the GPU
    assert "looper: app " not in first.stdout

    # run again before the reboot happened (e.g. by hand): still no reinstall, reboot again
    again = root.run(STUB_FAIL_NVIDIA_SMI="1000")
    assert again.returncode == 0, again.stdout
    assert installs(again) == []
    assert again.commands("systemctl") == [["reboot"]]
    assert root.reboot_pending.is_file()

    root.reboot()
    after = root.run()  # looper-setup.service at boot; the driver now answers
    assert after.returncode == 0, after.stdout
    assert installed(after, DRIVER_PACKAGES[1]) == 0, "the driver must not be reinstalled"
    assert "looper: step nvidia-driver: already done, skipping" in after.stdout
    assert not root.reboot_pending.exists()
    assert "cleared" in after.stdout
    assert ["reboot"] not in after.commands("systemctl")
    for package in (CUDA_TOOLKIT, DCGM, CTK_PACKAGES[0]):
        assert installed(after, package) == 1, package
    assert gpu_line(after) == "looper: gpu ready (1 x NVIDIA L4)"
    assert result_line(after).startswith("looper: app ready")
    assert published(after) == ["ready: 1 x NVIDIA L4"]


def test_driver_still_unreachable_after_the_reboot_fails_without_rebooting_again(
    tmp_path: Path,
) -> None:
    root = fake(tmp_path)
    assert root.run(STUB_FAIL_NVIDIA_SMI="1000").returncode == 0
    root.reboot()
    broken = root.run(STUB_FAIL_NVIDIA_SMI="1000")
    assert broken.returncode != 0
    assert ["reboot"] not in broken.commands("systemctl")
    assert result_line(broken).startswith(
        "looper: app FAILED: gpu nvidia-smi cannot talk to the NVIDIA driver"
    )
    assert installed(broken, DRIVER_PACKAGES[1]) == 0


@pytest.mark.parametrize(
    ("gpus", "expected"),
    [
        ("NVIDIA L4,NVIDIA L4", "expected 1 x NVIDIA L4, nvidia-smi lists 2 x NVIDIA L4"),
        ("Tesla T4",
         "expected 1 x NVIDIA L4, nvidia-smi lists 0 x NVIDIA L4 and other GPUs: Tesla T4"),
    ],
    ids=["too-many", "wrong-model"],
)
def test_gpu_count_or_model_mismatch_fails_clearly(
    tmp_path: Path, gpus: str, expected: str
) -> None:
    root = fake(tmp_path)
    run = root.run(STUB_GPUS=gpus)
    assert run.returncode != 0
    assert result_line(run) == f"looper: app FAILED: gpu {expected}"
    assert published(run) == [f"failed: {expected}"]
    assert not [c for c in run.commands("docker") if "up" in c]  # the app is not started
    assert not (root.state_dir / "gpu-ready").exists()


def test_missing_gpu_fails_and_no_toolkit_means_none_installed(tmp_path: Path) -> None:
    root = fake(tmp_path, GPU_SPEC_4X_NO_TOOLKIT)
    run = root.run(STUB_GPUS="NVIDIA L4,NVIDIA L4,NVIDIA L4")
    assert run.returncode != 0
    assert result_line(run) == (
        "looper: app FAILED: gpu expected 4 x NVIDIA L4, nvidia-smi lists 3 x NVIDIA L4"
    )
    assert installed(run, DCGM) == 1
    assert not any("cuda-toolkit" in arg for c in installs(run) for arg in c)
    assert not (root.state_dir / "steps/cuda-toolkit.done").exists()


def test_container_without_gpu_access_fails_clearly(tmp_path: Path) -> None:
    run = fake(tmp_path).run(STUB_DOCKER_RUN_FAIL="1")
    assert run.returncode != 0
    assert result_line(run) == (
        "looper: app FAILED: gpu a container cannot use the GPUs: docker run --rm --gpus all "
        f"{versions.CUDA_BASE_IMAGE} nvidia-smi failed"
    )


def test_unpublished_driver_version_fails_fast(tmp_path: Path) -> None:
    root = fake(tmp_path)
    run = root.run(STUB_APT_MISSING=DRIVER_PACKAGES[1])
    assert run.returncode != 0
    assert result_line(run) == (
        f"looper: app FAILED: gpu apt has no {DRIVER_PACKAGES[1]} (not published for Ubuntu "
        "noble, or superseded): update its pin in looper_infra.bootstrap.versions"
    )
    assert installed(run, DRIVER_PACKAGES[1]) == 0
    assert "attempt 1/8 failed" not in run.stdout  # no retries for a version that won't appear
    assert not (root.state_dir / "steps/nvidia-driver.done").exists()


def test_wrong_cuda_repository_key_is_rejected(tmp_path: Path) -> None:
    root = fake(tmp_path)
    run = root.run(STUB_CUDA_FINGERPRINT="0" * 40)
    assert run.returncode != 0
    assert result_line(run).startswith(
        "looper: app FAILED: NVIDIA's CUDA apt signing key has fingerprint(s) "
    )
    assert not (root.root / "etc/apt/keyrings/cuda.asc").exists()
    assert installed(run, CUDA_TOOLKIT) == 0
    assert published(run) == ["failed: step 'cuda-apt-repo' exited with status 1"]


def test_kernel_without_signed_modules_is_rejected(tmp_path: Path) -> None:
    run = fake(tmp_path).run(STUB_KERNEL="6.8.0-90-generic")
    assert run.returncode != 0
    assert result_line(run).startswith(
        "looper: app FAILED: gpu kernel 6.8.0-90-generic is not Ubuntu's gcp flavour"
    )
    assert installed(run, DRIVER_PACKAGES[1]) == 0


def test_any_failure_is_published_as_the_gpu_status(tmp_path: Path) -> None:
    run = fake(tmp_path).run(STUB_FAIL_APT_GET="1000", LOOPER_RETRY_ATTEMPTS="2")
    assert run.returncode != 0
    assert published(run) == ["failed: step 'docker-engine' exited with status 1"]


def test_guest_attribute_defaults_to_the_metadata_server() -> None:
    default_url = (
        "http://metadata.google.internal/computeMetadata/v1/instance/guest-attributes/"
        + APP_VM_GPU_GUEST_ATTRIBUTE
    )
    assert f"readonly DEFAULT_GUEST_ATTRIBUTE_URL={default_url}\n" in render_app_vm_setup_script(
        GPU_SPEC
    )


# --- 4. defaults (the pins themselves: test_versions.py) ------------------------------------


def test_gpu_setup_defaults_are_the_pins() -> None:
    gpu = GpuSetup(count=2)
    assert (gpu.model, gpu.install_cuda_toolkit) == ("NVIDIA L4", True)
    assert gpu.driver_version == versions.NVIDIA_DRIVER_VERSION
    assert gpu.cuda_toolkit_package == "cuda-toolkit-12-9"
    assert gpu.dcgm_version == versions.DCGM_VERSION
    assert gpu.cuda_image == versions.CUDA_BASE_IMAGE
    hash(replace(GPU_SPEC, gpu=gpu))
