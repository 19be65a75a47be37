"""The v3 DB VM's cloud-init user data: goldens, validity, secrets by name, the data disk.

Golden files live in ``golden/``; regenerate them with ``LOOPER_UPDATE_GOLDEN=1 pytest``.
The setup script is run for real under bash in a fake root, with stub executables (one
Python stub, dispatching on its name) for everything that would touch the system, the disk
or the network: apt-get, apt-mark, blkid, curl, docker, dpkg, findmnt, gpg, mkfs.ext4,
mount, systemctl. The stubs record their argv; the fake disk's filesystem and mount state
live in files, so a second run sees what the first one did.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers.db_vm import DEFAULT_SPEC, PASSWORD_SECRET, TOKEN_SECRET
from helpers.tools import (
    assert_matches_golden,
    assert_shellcheck_clean,
    assert_valid_cloud_config,
    require_tool,
)
from looper_infra.bootstrap import db_vm, render_app_vm_setup_script, versions
from looper_infra.bootstrap.app_vm_shell import reference_startup
from looper_infra.bootstrap.db_vm import (
    DB_BACKUP_SCRIPT_PATH,
    DB_RESTORE_SCRIPT_PATH,
    DB_VM_SETUP_SCRIPT_PATH,
    DbVmStartup,
    render_db_vm_cloud_config,
)

GOLDEN_DIR = Path(__file__).parent / "golden"
CUSTOM_SPEC = DbVmStartup(
    project="acme-prod-123456",
    data_disk_device_name="pg-ssd-1",
    postgres_db="looper_prod",
    postgres_user="looper_app",
    postgres_password_secret="projects/123456789012/secrets/db_password",
    chroma_token_secret="projects/123456789012/secrets/chroma_token",
    backup_bucket="acme.looper.backups",
    app_subnet_cidr="10.20.0.0/20",
    chroma_port=8100,
    mount_point="/srv/looper-data",
    backup_on_calendar="Mon..Fri *-*-* 02:15:00",
    postgres_image="postgres:17.11-bookworm",
    chroma_image="ghcr.io/chroma-core/chroma:0.6.3@sha256:" + "ab" * 32,
)
SPECS = {"db_vm_default": DEFAULT_SPEC, "db_vm_custom": CUSTOM_SPEC}
SCRIPTS = (DB_VM_SETUP_SCRIPT_PATH, DB_BACKUP_SCRIPT_PATH, DB_RESTORE_SCRIPT_PATH)

STUBBED = ("apt-get", "apt-mark", "blkid", "curl", "docker", "dpkg", "findmnt", "gpg",
           "mkfs.ext4", "mount", "systemctl")
APP_VM_STEPS = ("prerequisites", "docker-apt-repo", "docker-engine", "ops-agent")


# --- helpers ----------------------------------------------------------------------------------


@cache
def rendered(spec: DbVmStartup) -> str:
    return render_db_vm_cloud_config(spec)


@cache
def written_files(document: str) -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(document)
    assert isinstance(doc, dict)
    return {entry["path"]: entry for entry in doc["write_files"]}


def content(document: str, path: str) -> str:
    text = written_files(document)[path]["content"]
    assert isinstance(text, str)
    return text


STUB = r"""#!/usr/bin/env bash
# Test stub for the DB VM setup, dispatching on its name. Appends its argv to $STUB_LOG
# (fields NUL-terminated, a record ends with a newline), fails its first $STUB_FAIL_<NAME>
# calls, and fakes what the setup reads: dpkg/gpg output, the metadata token, Secret
# Manager answers (values in $STUB_STATE/secrets/<name with / as _>), and one disk whose
# blkid fields ($STUB_STATE/disk) and mount state ($STUB_STATE/mounted) are files.
set -euo pipefail
me="${0##*/}"
{ printf '%s\0' "$me" "$@"; printf '\n'; } >>"$STUB_LOG"
counter="${STUB_STATE}/${me}.count"
calls=1
[[ ! -f "$counter" ]] || calls=$(( $(<"$counter") + 1 ))
echo "$calls" >"$counter"
limit="STUB_FAIL_${me//[.-]/_}"
limit="${limit^^}"
(( calls > ${!limit:-0} )) || exit 1
disk="${STUB_STATE}/disk"
mounted="${STUB_STATE}/mounted"
url="${*: -1}"
out=""
headers=""
while (( $# > 1 )); do
  case "$1" in
    --output) out="$2"; shift ;;
    --header) if [[ "$2" == @* ]]; then headers+="$(<"${2#@}")"$'\n'; else headers+="$2"$'\n'; fi; shift ;;
  esac
  shift
done
case "$me" in
  dpkg) echo amd64 ;;
  gpg) echo "fpr:::::::::${STUB_GPG_FINGERPRINT}:" ;;
  curl)
    case "$url" in
      */gpg) echo "FAKE DOCKER KEY" >"$out" ;;
      */add-google-cloud-ops-agent-repo.sh) printf '#!/usr/bin/env bash\n' >"$out" ;;
      */service-accounts/default/token)
        grep -qx 'Metadata-Flavor: Google' <<<"$headers" || exit 22
        printf '{"access_token": "stub-token", "expires_in": 3599}' >"$out" ;;
      */versions/latest:access)
        grep -qx 'Authorization: Bearer stub-token' <<<"$headers" || exit 22
        name="${url#*/v1/}"
        name="${name%/versions/latest:access}"
        data="$(base64 -w0 <"${STUB_STATE}/secrets/${name//\//_}")"
        printf '{"name": "%s/versions/3", "payload": {"data": "%s"}}' "$name" "$data" >"$out" ;;
    esac ;;
  blkid)
    [[ -z "${STUB_BLKID_EXIT:-}" ]] || exit "$STUB_BLKID_EXIT"
    [[ -f "$disk" ]] || exit 2  # nothing at all on the device
    cat "$disk" ;;
  mkfs.ext4)
    printf 'DEVNAME=%s\nUUID=0f3c6d5e-1111-4222-8333-944455556666\nBLOCK_SIZE=4096\nTYPE=ext4\n' \
      "$url" >"$disk" ;;
  mount) sed -n 's/^DEVNAME=//p' "$disk" >"$mounted" ;;
  findmnt)
    [[ -f "$mounted" ]] || exit 1
    cat "$mounted" ;;
  docker)
    [[ "$url" != --dbname=postgres ]] || cat >>"${STUB_STATE}/docker-stdin"
    [[ "$url" != --dbname=looper || -z "${STUB_PG_DOWN:-}" ]] || exit 2 ;;
esac
[[ "$url" != */heartbeat || -z "${STUB_CHROMA_DOWN:-}" ]] || exit 7
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    calls: list[list[str]]

    def commands(self, name: str) -> list[list[str]]:
        return [call[1:] for call in self.calls if call[0] == name]

    def result(self) -> str:
        lines = [line for line in self.stdout.splitlines() if line.startswith("looper: db ")]
        assert lines, self.stdout
        return lines[-1]


class FakeVm:
    """A fake root with the rendered files, a fake data disk and stubbed commands."""

    def __init__(self, base: Path, spec: DbVmStartup = DEFAULT_SPEC) -> None:
        self.spec = spec
        self.document = rendered(spec)
        self.root, self.bin, self.state = base / "root", base / "bin", base / "stub-state"
        self.log = base / "calls.log"
        for directory in (self.root, self.bin, self.state):
            directory.mkdir(parents=True)
        for path, entry in written_files(self.document).items():
            target = self.root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(entry["content"], encoding="utf-8")
        (self.root / "etc/os-release").write_text("VERSION_CODENAME=noble\nID=ubuntu\n")
        (self.root / "etc/fstab").write_text("LABEL=cloudimg-rootfs / ext4 defaults 0 1\n")
        self.by_id = self.root / "dev/disk/by-id"
        self.by_id.mkdir(parents=True)
        self.device = self.by_id / f"google-{spec.data_disk_device_name}"
        self.device.write_bytes(b"")
        for name in STUBBED:
            (self.bin / name).write_text(STUB)
            (self.bin / name).chmod(0o755)
        (self.bin / "python3").symlink_to(sys.executable)  # as fast as the VM's python3
        self.secrets = {
            spec.postgres_password_secret: "pw-" + secrets.token_urlsafe(24) + "'\"$`\\",
            spec.chroma_token_secret: "tok-" + secrets.token_hex(24),
        }
        self.script = self.root / DB_VM_SETUP_SCRIPT_PATH.lstrip("/")

    @property
    def state_dir(self) -> Path:
        return self.root / "var/lib/looper"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "etc/looper/secrets"

    @property
    def mount_point(self) -> Path:
        return self.root / "mnt/data"

    @property
    def fstab(self) -> str:
        return (self.root / "etc/fstab").read_text()

    def disk(self, **fields: str) -> None:
        """Put something on the fake disk (the fields `blkid --output export` prints)."""
        (self.state / "disk").write_text("".join(f"{k}={v}\n" for k, v in fields.items()))

    def reboot(self) -> None:
        (self.state / "mounted").unlink(missing_ok=True)

    def run(self, **extra_env: str) -> Run:
        self.log.write_text("")
        for counter in self.state.glob("*.count"):
            counter.unlink()
        (self.state / "secrets").mkdir(exist_ok=True)
        for name, value in self.secrets.items():
            (self.state / "secrets" / name.replace("/", "_")).write_text(value)
        env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root / "root"),
            "LANG": "C.UTF-8",
            "STUB_LOG": str(self.log),
            "STUB_STATE": str(self.state),
            "STUB_GPG_FINGERPRINT": versions.DOCKER_APT_KEY_FINGERPRINT,
            "LOOPER_STATE_DIR": str(self.state_dir),
            "LOOPER_CONFIG_DIR": str(self.root / "etc/looper"),
            "LOOPER_SECRETS_DIR": str(self.secrets_dir),
            "LOOPER_MOUNT_POINT": str(self.mount_point),
            "LOOPER_DISK_BY_ID_DIR": str(self.by_id),
            "LOOPER_FSTAB": str(self.root / "etc/fstab"),
            "LOOPER_KEYRING_DIR": str(self.root / "etc/apt/keyrings"),
            "LOOPER_APT_SOURCES_DIR": str(self.root / "etc/apt/sources.list.d"),
            "LOOPER_OS_RELEASE": str(self.root / "etc/os-release"),
            "LOOPER_METADATA_URL": "http://metadata.test",
            "LOOPER_SECRET_MANAGER_URL": "https://secretmanager.test",
            "LOOPER_RETRY_DELAY": "0",
            "LOOPER_HEALTH_INTERVAL": "0",
            "LOOPER_HEALTH_ATTEMPTS": "3",
            **extra_env,
        }
        proc = subprocess.run(
            [require_tool("bash"), str(self.script)], cwd=self.root, env=env,
            capture_output=True, text=True, timeout=60, check=False,
        )
        calls = [record.split("\0") for record in self.log.read_text().split("\0\n") if record]
        return Run(proc.returncode, proc.stdout + proc.stderr, calls)


@pytest.fixture
def vm(tmp_path: Path) -> FakeVm:
    return FakeVm(tmp_path)


# --- 1. goldens -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_matches_golden(name: str) -> None:
    assert_matches_golden(rendered(SPECS[name]), GOLDEN_DIR / f"{name}.cloud-config.yaml")


def test_rendering_is_deterministic() -> None:
    assert render_db_vm_cloud_config(CUSTOM_SPEC) == render_db_vm_cloud_config(CUSTOM_SPEC)


# --- 2. valid cloud-config, clean scripts ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_passes_cloud_init_schema(name: str, tmp_path: Path) -> None:
    text = rendered(SPECS[name])
    assert text.startswith("#cloud-config\n")
    assert len(text.encode()) < 256 * 1024  # Compute Engine's limit of one metadata value
    assert_valid_cloud_config(text, tmp_path)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_embedded_scripts_pass_shellcheck(name: str, tmp_path: Path) -> None:
    document = rendered(SPECS[name])
    paths = []
    for script in SCRIPTS:
        text = content(document, script)
        assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
        paths.append(tmp_path / script.rsplit("/", 1)[-1])
        paths[-1].write_text(text, encoding="utf-8")
    assert_shellcheck_clean(*paths)


def test_documents_wire_the_services_together() -> None:
    document = rendered(CUSTOM_SPEC)
    files = written_files(document)
    assert {files[p]["permissions"] for p in SCRIPTS} == {"0755"}
    doc = yaml.safe_load(document)
    assert doc["runcmd"] == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "looper-db-setup.service"],
        [DB_VM_SETUP_SCRIPT_PATH],
    ]
    setup_unit = files["/etc/systemd/system/looper-db-setup.service"]["content"]
    assert f"ExecStart={DB_VM_SETUP_SCRIPT_PATH}\n" in setup_unit
    backup_unit = files["/etc/systemd/system/looper-db-backup.service"]["content"]
    assert f"ExecStart={DB_BACKUP_SCRIPT_PATH}\n" in backup_unit
    assert "Type=oneshot\n" in backup_unit
    timer = files["/etc/systemd/system/looper-db-backup.timer"]["content"]
    assert "OnCalendar=Mon..Fri *-*-* 02:15:00\n" in timer and "Persistent=true\n" in timer

    compose = yaml.safe_load(files["/etc/looper/compose.yaml"]["content"])
    postgres, chroma = compose["services"]["postgres"], compose["services"]["chroma"]
    assert postgres["image"] == "postgres:17.11-bookworm"
    assert postgres["ports"] == ["5432:5432"]
    assert postgres["environment"]["POSTGRES_DB"] == "looper_prod"
    assert "hba_file=/etc/postgresql/pg_hba.conf" in postgres["command"]
    mounts = {v["target"]: v for v in postgres["volumes"]}
    assert mounts["/var/lib/postgresql/data"]["source"] == "/srv/looper-data/postgres"
    assert mounts["/etc/postgresql/pg_hba.conf"]["source"] == "/etc/looper/pg_hba.conf"
    assert chroma["ports"] == ["8100:8000"]
    assert chroma["volumes"][0]["source"] == "/srv/looper-data/chroma"
    assert chroma["volumes"][0]["target"] == "/chroma/chroma"
    assert chroma["environment"]["CHROMA_SERVER_AUTHN_PROVIDER"] == (
        "chromadb.auth.token_authn.TokenAuthenticationServerProvider"
    )
    for service in (postgres, chroma):
        assert service["restart"] == "unless-stopped"
        assert service["env_file"][0]["format"] == "raw"
        assert service["env_file"][0]["path"].startswith("/etc/looper/secrets/")
        # an unmounted data disk must stop the containers, not start empty databases
        assert all(v["bind"]["create_host_path"] is False for v in service["volumes"])

    hba_lines = [line.split() for line in files["/etc/looper/pg_hba.conf"]["content"].splitlines()
                 if line and not line.startswith("#")]
    assert hba_lines == [
        ["local", "all", "all", "trust"],
        ["host", "looper_prod", "looper_app", "10.20.0.0/20", "scram-sha-256"],
    ]


def test_default_images_are_pinned() -> None:
    assert re.fullmatch(r"postgres:17\.[0-9]+", db_vm.POSTGRES_IMAGE)
    assert re.fullmatch(r"chromadb/chroma:0\.6\.[0-9]+", db_vm.CHROMA_IMAGE)
    assert DEFAULT_SPEC.postgres_image == db_vm.POSTGRES_IMAGE
    assert DEFAULT_SPEC.chroma_image == db_vm.CHROMA_IMAGE


# --- 3. Docker exactly as on the app VM ----------------------------------------------------------


def test_docker_install_is_the_app_vm_code() -> None:
    setup = content(rendered(DEFAULT_SPEC), DB_VM_SETUP_SCRIPT_PATH)
    app = render_app_vm_setup_script(reference_startup())
    for function in ("retry", "step", "add_docker_apt_repo", "install_docker_engine",
                     "install_ops_agent", "check_os", "pull_images"):
        body = re.search(rf"^{function}\(\) \{{.*?^\}}\n", app, re.MULTILINE | re.DOTALL)
        assert body, function
        assert body[0] in setup, function
    for pin in (versions.DOCKER_CE_VERSION, versions.CONTAINERD_IO_VERSION, versions.OPS_AGENT_VERSION,
                versions.DOCKER_COMPOSE_PLUGIN_VERSION, versions.DOCKER_APT_KEY_FINGERPRINT):
        assert pin in setup
    # each definition once; none of the app's own (domain, Caddy, app health) came along
    assert len(re.findall(r"^retry\(\) \{", setup, re.MULTILINE)) == 1
    for app_only in ("verify_app", "CADDY_IMAGE", "DOMAIN=", "APP_PORT"):
        assert app_only not in setup


# --- 4. secrets: fetched by name, never in the user data or the log --------------------------------


def test_cloud_config_names_secrets_but_holds_no_value() -> None:
    document = rendered(DEFAULT_SPEC)
    setup = content(document, DB_VM_SETUP_SCRIPT_PATH)
    assert f"readonly POSTGRES_PASSWORD_SECRET={PASSWORD_SECRET}\n" in setup
    assert f"readonly CHROMA_TOKEN_SECRET={TOKEN_SECRET}\n" in setup
    assert "/versions/latest:access" in setup
    assert "computeMetadata/v1/instance/service-accounts/default/token" in setup
    assert "gcloud" not in re.sub(r"#.*", "", setup)  # curl + REST, no gcloud dependency
    # nothing that could carry a value: no password/token assignment, no env file content
    for pattern in (r"POSTGRES_PASSWORD=\S", r"CHROMA_SERVER_AUTHN_CREDENTIALS=\S",
                    r"PASSWORD: ", r"Bearer [A-Za-z0-9]"):
        assert not re.search(pattern, document), pattern


def test_secrets_reach_root_only_files_and_never_argv_or_log(vm: FakeVm) -> None:
    run = vm.run()
    assert run.returncode == 0, run.stdout
    assert run.result().startswith("looper: db ready: PostgreSQL on port 5432")
    fetched = [c[-1] for c in run.commands("curl") if c[-1].endswith(":access")]
    assert fetched == [
        f"https://secretmanager.test/v1/{PASSWORD_SECRET}/versions/latest:access",
        f"https://secretmanager.test/v1/{TOKEN_SECRET}/versions/latest:access",
    ]
    password, token = vm.secrets[PASSWORD_SECRET], vm.secrets[TOKEN_SECRET]
    for value in (password, token, "stub-token"):
        assert value not in run.stdout
        assert value not in vm.log.read_text()  # no argv of any command
        assert value not in vm.document
    assert oct(vm.secrets_dir.stat().st_mode & 0o777) == "0o700"
    for file in vm.secrets_dir.iterdir():
        assert oct(file.stat().st_mode & 0o777) == "0o600", file
    assert (vm.secrets_dir / "postgres.env").read_text() == f"POSTGRES_PASSWORD={password}\n"
    assert (vm.secrets_dir / "chroma.env").read_text() == (
        f"CHROMA_SERVER_AUTHN_CREDENTIALS={token}\n"
    )
    # the password reaches PostgreSQL (rotation) as SQL on stdin, quotes doubled
    sql = (vm.state / "docker-stdin").read_text()
    assert "SET log_statement = 'none';" in sql
    assert f"ALTER ROLE \"looper\" PASSWORD '{password.replace(chr(39), chr(39) * 2)}';" in sql
    assert not list(vm.state_dir.glob("tmp.*")), "temporary files (tokens) must be removed"


@pytest.mark.parametrize("value", ["trailing-newline\n", "", "two\nlines"])
def test_unusable_secret_fails_without_printing_it(vm: FakeVm, value: str) -> None:
    vm.secrets[PASSWORD_SECRET] = value
    run = vm.run()
    assert run.returncode != 0
    assert run.result() == (
        f"looper: db FAILED: secret {PASSWORD_SECRET} is not one non-empty line without "
        "NUL; add a version without a trailing newline"
    )
    assert not (vm.secrets_dir / "postgres-password").exists()
    if value.strip():
        assert value.strip().split("\n")[0] not in run.stdout


def test_token_must_be_printable_ascii(vm: FakeVm) -> None:
    vm.secrets[TOKEN_SECRET] = "has space"
    run = vm.run()
    assert run.returncode != 0
    assert f"secret {TOKEN_SECRET} is not one non-empty line without NUL, printable ASCII" \
        in run.result()


# --- 5. the data disk: formatted only when blank, never again -----------------------------------


def test_blank_disk_is_formatted_once_and_mounted_by_uuid(vm: FakeVm) -> None:
    first = vm.run()
    assert first.returncode == 0, first.stdout
    assert first.commands("mkfs.ext4") == [[
        "-q", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0,discard",
        "-L", "looper-data", str(vm.device),
    ]]
    uuid = "0f3c6d5e-1111-4222-8333-944455556666"
    entry = f"UUID={uuid} {vm.mount_point} ext4 discard,defaults,nofail 0 2\n"
    assert vm.fstab.endswith(entry)
    assert first.commands("mount") == [["--", str(vm.mount_point)]]
    for name in ("postgres", "chroma", "backup-work"):
        path = vm.mount_point / name
        assert path.is_dir() and oct(path.stat().st_mode & 0o777) == "0o700"
    assert "looper: data disk ready on" in first.stdout

    vm.reboot()  # unmounted again, the filesystem stays
    second = vm.run()
    assert second.returncode == 0, second.stdout
    assert second.commands("mkfs.ext4") == []
    assert second.commands("mount") == [["--", str(vm.mount_point)]]
    assert vm.fstab.count(uuid) == 1
    assert "already holds an ext4 filesystem: keeping it" in second.stdout

    third = vm.run()  # still mounted: nothing to do
    assert third.returncode == 0 and third.commands("mount") == []
    assert third.commands("mkfs.ext4") == []


def test_disk_with_a_filesystem_is_never_formatted(vm: FakeVm) -> None:
    vm.disk(DEVNAME=str(vm.device), UUID="aaaa-bbbb", TYPE="ext4", LABEL="old-data")
    run = vm.run()
    assert run.returncode == 0, run.stdout
    assert run.commands("mkfs.ext4") == []
    assert f"UUID=aaaa-bbbb {vm.mount_point} ext4 discard,defaults,nofail 0 2\n" in vm.fstab


@pytest.mark.parametrize(
    ("fields", "blkid_exit", "reason"),
    [
        ({"PTUUID": "1234", "PTTYPE": "gpt"}, None, "holds no filesystem but is not blank"),
        (None, "4", "blkid could not probe"),
        ({"UUID": "cccc", "TYPE": "xfs"}, None, "holds 'xfs' (UUID 'cccc'), expected ext4"),
    ],
)
def test_disk_that_is_not_blank_is_never_formatted(
    vm: FakeVm, fields: dict[str, str] | None, blkid_exit: str | None, reason: str
) -> None:
    if fields is not None:
        vm.disk(**fields)
    extra = {"STUB_BLKID_EXIT": blkid_exit} if blkid_exit else {}
    run = vm.run(**extra)
    assert run.returncode != 0
    assert run.result().startswith("looper: db FAILED: ") and reason in run.result()
    assert run.commands("mkfs.ext4") == []
    assert run.commands("mount") == []
    assert run.commands("docker") == []


def test_missing_disk_fails_after_a_bounded_wait(vm: FakeVm) -> None:
    vm.device.unlink()
    run = vm.run()
    assert run.returncode != 0
    assert "no data disk at" in run.result() and "device name 'looper-data'" in run.result()
    assert run.commands("blkid") == []


def test_fstab_entry_for_another_device_is_not_overridden(vm: FakeVm) -> None:
    (vm.root / "etc/fstab").write_text(f"/dev/sdz1 {vm.mount_point} ext4 defaults 0 2\n")
    run = vm.run()
    assert run.returncode != 0
    assert f"mounts '/dev/sdz1' on {vm.mount_point}, not the data disk" in run.result()
    assert run.commands("mount") == []


def test_something_else_mounted_on_the_mount_point_is_refused(vm: FakeVm) -> None:
    vm.disk(DEVNAME=str(vm.device), UUID="aaaa-bbbb", TYPE="ext4")
    (vm.state / "mounted").write_text("/dev/sdz\n")
    run = vm.run()
    assert run.returncode != 0
    assert run.result() == (
        f"looper: db FAILED: {vm.mount_point} has '/dev/sdz' mounted, not the data disk "
        f"{vm.device}"
    )
    assert run.commands("mount") == [] and run.commands("docker") == []


# --- 6. idempotent setup, bounded retries -----------------------------------------------------------


def test_setup_is_idempotent(vm: FakeVm) -> None:
    first = vm.run()
    assert first.returncode == 0, first.stdout
    installs = [c for c in first.commands("apt-get") if "install" in c]
    assert len(installs) == 1 and installs[0][-4:] == [
        f"docker-ce={versions.DOCKER_CE_VERSION}",
        f"docker-ce-cli={versions.DOCKER_CE_CLI_VERSION}",
        f"containerd.io={versions.CONTAINERD_IO_VERSION}",
        f"docker-compose-plugin={versions.DOCKER_COMPOSE_PLUGIN_VERSION}",
    ]
    docker = first.commands("docker")
    compose = str(vm.root / "etc/looper/compose.yaml")
    assert ["compose", "--file", compose, "pull", "--quiet"] in docker
    assert ["compose", "--file", compose, "up", "--detach", "--remove-orphans"] in docker
    assert first.commands("apt-mark") == [
        ["hold", "docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"],
        ["hold", "google-cloud-ops-agent"],
    ]
    assert ["enable", "--now", "looper-db-backup.timer"] in first.commands("systemctl")
    assert (vm.state_dir / "ready").is_file()

    second = vm.run()
    assert second.returncode == 0, second.stdout
    for step in (*APP_VM_STEPS, "pull-images"):
        assert f"looper: step {step}: already done, skipping" in second.stdout
    for name in ("apt-get", "apt-mark", "gpg", "dpkg", "mkfs.ext4"):
        assert second.commands(name) == [], name
    assert [c for c in second.commands("docker") if "pull" in c] == []
    assert len([c for c in second.commands("docker") if "up" in c]) == 1
    # secrets are fetched again at every run (rotation applies at the next boot)
    assert len([c for c in second.commands("curl") if c[-1].endswith(":access")]) == 2


def test_secret_fetch_is_retried_with_a_bound(vm: FakeVm) -> None:
    flaky = vm.run(STUB_FAIL_CURL="3")  # the docker key download takes the first failures
    assert flaky.returncode == 0, flaky.stdout
    assert "attempt 1/8 failed" in flaky.stdout

    broken = vm.run(STUB_FAIL_CURL="1000", LOOPER_RETRY_ATTEMPTS="2")
    assert broken.returncode != 0
    assert broken.result() == "looper: db FAILED: step 'secrets' exited with status 1 " \
        "(see the lines above)"
    assert len(broken.commands("curl")) == 2  # token fetches, bounded; no secret request
    assert broken.commands("docker") == []


@pytest.mark.parametrize(
    ("stub_env", "reason"),
    [
        ({"STUB_PG_DOWN": "1"}, "PostgreSQL is not accepting connections after 3 attempts"),
        ({"STUB_CHROMA_DOWN": "1"}, "ChromaDB does not answer on port 8000 after 3 attempts"),
    ],
)
def test_unhealthy_database_is_reported(vm: FakeVm, stub_env: dict[str, str], reason: str) -> None:
    run = vm.run(**stub_env)
    assert run.returncode != 0
    assert run.result().startswith(f"looper: db FAILED: {reason}")
    assert not (vm.state_dir / "ready").exists()
    assert ["enable", "--now", "looper-db-backup.timer"] not in run.commands("systemctl")


# --- 7. what config cannot guarantee ---------------------------------------------------------------
# (everything else the spec holds is validated by config: tests/config/test_v3.py)


def test_reserved_role_and_port_clash_are_refused_together() -> None:
    with pytest.raises(ValueError) as caught:
        replace(DEFAULT_SPEC, postgres_user="pg_looper", chroma_port=5432)
    assert str(caught.value) == (
        "invalid DbVmStartup: postgres_user: 'pg_looper': PostgreSQL reserves role names pg_*; "
        "chroma_port: 5432 is PostgreSQL's port"
    )
