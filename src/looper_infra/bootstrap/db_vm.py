"""Cloud-init user data of the v3 data tier VM, rendered from templates by pure functions.

The DB VM (Ubuntu 24.04 on GCE, private subnet, no external IP) runs PostgreSQL and ChromaDB
in Docker on a separate persistent data disk and backs both up nightly to Cloud Storage.
One typed input, :class:`DbVmStartup`, and one pure render function per template under
``templates/``:

===================================  =====================================
template                             render function
===================================  =====================================
``db-vm.cloud-config.yaml.j2``       :func:`render_db_vm_cloud_config`
``db-vm-setup.sh.j2``                :func:`render_db_vm_setup_script`
``db-vm.compose.yaml.j2``            :func:`render_db_vm_compose`
``db-vm.pg_hba.conf.j2``             :func:`render_db_vm_pg_hba`
``db-vm-backup.sh.j2``               :func:`render_db_backup_script`
``db-vm-restore.sh.j2``              :func:`render_db_restore_script`
===================================  =====================================

The three scripts import macros from ``db-vm-common.sh.j2`` (failure/exit handling, the
run lock, the metadata-server token); backup and restore also from
``db-vm-backup-common.sh.j2`` (backup locations, what a backup holds, PostgreSQL commands).

Docker is installed exactly as on the app VM, from one copy of the logic: the setup
script embeds the app VM setup script's own shell functions and settings (Docker pins from
:mod:`looper_infra.bootstrap.versions`, apt paths, retry/health tunables), cut out of
the app VM setup script at render time together with everything they call
(:mod:`looper_infra.bootstrap.app_vm_shell`). Rendering fails loudly when one of them
disappears there.

No secret reaches the user data: the setup script fetches the database password and the
ChromaDB token by *name* from Secret Manager's REST API at every boot (latest version),
with the VM's metadata-server token, into root-only files.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from looper_infra.bootstrap.app_vm_shell import check_defined_once, shell_code
from looper_infra.bootstrap.render import check_embedding, render

# --- pinned images ---------------------------------------------------------------------------

#: PostgreSQL server. Source: Docker Hub official image `library/postgres`, tag 17.11, the
#: newest 17.x patch release confirmed there: docker-library/postgres `17/trixie/Dockerfile`
#: sets `PG_VERSION 17.11-1.pgdg13+2` and `17/alpine3.24` `PG_VERSION 17.11`; public pins
#: of `postgres:17.11` / `postgres:17.11-bookworm` / `-alpine` confirm the tag.
POSTGRES_IMAGE: Final = "postgres:17.11"

#: ChromaDB server. Source: Docker Hub `chromadb/chroma`, tag 0.6.3, the last release of the
#: Python server with built-in token auth (`CHROMA_SERVER_AUTHN_PROVIDER=
#: chromadb.auth.token_authn.TokenAuthenticationServerProvider`, docs.trychroma.com
#: "deployment/auth"; Chroma 1.x's Rust server dropped it: its cookbook's "auth-1.0.x"
#: page puts a token-checking Envoy proxy in front instead). Persist dir /chroma/chroma,
#: port 8000 (image entrypoint); tag confirmed by many public compose files pinning it.
CHROMA_IMAGE: Final = "chromadb/chroma:0.6.3"

# --- where things live on the VM ---------------------------------------------------------

#: Compose file and pg_hba.conf.
DB_VM_CONFIG_DIR: Final = "/etc/looper"
#: Markers, locks, readiness stamp and temporary files of the scripts.
DB_VM_STATE_DIR: Final = "/var/lib/looper"
#: Root-only (0700) directory of the secrets fetched at boot.
DB_VM_SECRETS_DIR: Final = f"{DB_VM_CONFIG_DIR}/secrets"
#: The idempotent setup script (run by cloud-init `runcmd`, and at every boot by systemd).
DB_VM_SETUP_SCRIPT_PATH: Final = "/usr/local/sbin/looper-db-setup"
#: `looper-db-backup`: one backup now (the timer runs it nightly).
DB_BACKUP_SCRIPT_PATH: Final = "/usr/local/sbin/looper-db-backup"
#: `looper-db-restore BACKUP_ID_OR_PATH`.
DB_RESTORE_SCRIPT_PATH: Final = "/usr/local/sbin/looper-db-restore"
#: systemd unit that re-runs the setup script at boot (heals a failed first boot).
DB_VM_SETUP_UNIT: Final = "looper-db-setup.service"
#: systemd service and timer of the nightly backup.
DB_BACKUP_UNIT: Final = "looper-db-backup.service"
DB_BACKUP_TIMER: Final = "looper-db-backup.timer"
#: Container names (the scripts `docker exec` into PostgreSQL, pause/stop ChromaDB).
POSTGRES_CONTAINER: Final = "looper-postgres"
CHROMA_CONTAINER: Final = "looper-chroma"
#: Object prefix of the backups in the bucket: gs://<backup_bucket>/<prefix>/<backup id>/.
BACKUP_PREFIX: Final = "looper-db"
#: PostgreSQL's port on the VM (published on every interface; pg_hba admits the app subnet).
POSTGRES_PORT: Final = 5432

_PATHS: Final = MappingProxyType(
    {
        "config_dir": DB_VM_CONFIG_DIR,
        "state_dir": DB_VM_STATE_DIR,
        "secrets_dir": DB_VM_SECRETS_DIR,
        "compose_file": f"{DB_VM_CONFIG_DIR}/compose.yaml",
        "pg_hba": f"{DB_VM_CONFIG_DIR}/pg_hba.conf",
        "setup_script": DB_VM_SETUP_SCRIPT_PATH,
        "backup_script": DB_BACKUP_SCRIPT_PATH,
        "restore_script": DB_RESTORE_SCRIPT_PATH,
        "setup_unit": f"/etc/systemd/system/{DB_VM_SETUP_UNIT}",
        "backup_unit": f"/etc/systemd/system/{DB_BACKUP_UNIT}",
        "backup_timer": f"/etc/systemd/system/{DB_BACKUP_TIMER}",
        "disk_by_id_dir": "/dev/disk/by-id",
        "fstab": "/etc/fstab",
        "metadata_url": "http://metadata.google.internal",
        "secret_manager_url": "https://secretmanager.googleapis.com",
        "gcs_url": "https://storage.googleapis.com",
    }
)

#: Names the DB VM's containers, files and services use, for the templates.
_NAMES: Final = MappingProxyType(
    {
        "postgres_container": POSTGRES_CONTAINER,
        "chroma_container": CHROMA_CONTAINER,
        "postgres_port": POSTGRES_PORT,
        "backup_prefix": BACKUP_PREFIX,
        "setup_unit": DB_VM_SETUP_UNIT,
        "backup_unit": DB_BACKUP_UNIT,
        "backup_timer": DB_BACKUP_TIMER,
        # inside the containers
        "pgdata": "/var/lib/postgresql/data",
        "pg_hba_in_container": "/etc/postgresql/pg_hba.conf",
        "chroma_persist_dir": "/chroma/chroma",
        "chroma_container_port": 8000,
    }
)


@dataclass(frozen=True)
class DbVmStartup:
    """Everything the DB VM's boot needs.

    Secrets are given by Secret Manager resource name only; their values never reach this
    object, the rendered documents or the instance metadata. Values come validated from
    config (``config.v3``: project, database and role names, the app subnet, ChromaDB's
    port, the backup schedule and bucket), from the stage (device name, secret names) or
    are pins; the renderers quote each for the file it lands in.
    """

    project: str
    #: GCE device name of the data disk: it appears as /dev/disk/by-id/google-<name>.
    data_disk_device_name: str
    postgres_db: str
    postgres_user: str
    #: "projects/P/secrets/S"; the latest version is fetched at every boot.
    postgres_password_secret: str
    #: Same, for the ChromaDB auth token (printable ASCII, no spaces).
    chroma_token_secret: str
    #: Cloud Storage bucket of the nightly backups (name only, no gs://).
    backup_bucket: str
    #: The only range pg_hba admits (ChromaDB relies on the VPC firewall and its token).
    app_subnet_cidr: str
    chroma_port: int = 8000
    mount_point: str = "/mnt/data"
    #: systemd OnCalendar expression of the nightly backup (UTC on GCE images).
    backup_on_calendar: str = "*-*-* 03:00:00"
    postgres_image: str = POSTGRES_IMAGE
    chroma_image: str = CHROMA_IMAGE

    def __post_init__(self) -> None:
        # Two facts config does not guarantee (``config.v3.DbTier``); either would stop the
        # database at its first boot, so they are refused here.
        problems: dict[str, str] = {}
        if self.postgres_user.startswith("pg_"):
            problems["postgres_user"] = f"{self.postgres_user!r}: PostgreSQL reserves role names pg_*"
        if self.chroma_port == POSTGRES_PORT:
            problems["chroma_port"] = f"{self.chroma_port} is PostgreSQL's port"
        if problems:
            raise ValueError(
                "invalid DbVmStartup: "
                + "; ".join(f"{name}: {why}" for name, why in problems.items())
            )

    @property
    def chroma_dir(self) -> str:
        """ChromaDB's persist directory on the data disk."""
        return f"{self.mount_point}/chroma"

    @property
    def postgres_dir(self) -> str:
        """PostgreSQL's data directory (PGDATA) on the data disk."""
        return f"{self.mount_point}/postgres"

    @property
    def work_dir(self) -> str:
        """Scratch space of backups and restores, on the data disk (dumps can be large)."""
        return f"{self.mount_point}/backup-work"

    @property
    def default_backup_target(self) -> str:
        """Where backups go unless LOOPER_BACKUP_TARGET says otherwise."""
        return f"gs://{self.backup_bucket}/{BACKUP_PREFIX}"


#: What the DB VM setup runs of the app VM's setup script (plus what those call).
_SETUP_ROOTS: Final = (
    "log", "require_count", "retry", "step", "wait_for", "check_os", "install_prerequisites",
    "add_docker_apt_repo", "install_docker_engine", "install_ops_agent", "pull_images",
    "start_containers",
)
#: What backup and restore run of it.
_BACKUP_ROOTS: Final = ("log", "require_count", "retry")


# --- render functions (pure: same spec, same text) -----------------------------------------


def _render(template: str, spec: DbVmStartup, **context: Any) -> str:
    return render(template, spec=spec, paths=_PATHS, names=_NAMES, **context)


def _render_script(template: str, spec: DbVmStartup, roots: tuple[str, ...]) -> str:
    """A script with the app VM definitions it needs; each name defined once."""
    return check_defined_once(_render(template, spec, app_vm=shell_code(roots)), template)


def render_db_vm_setup_script(spec: DbVmStartup) -> str:
    """The idempotent bash setup script (``templates/db-vm-setup.sh.j2``)."""
    return _render_script("db-vm-setup.sh.j2", spec, _SETUP_ROOTS)


def render_db_vm_compose(spec: DbVmStartup) -> str:
    """The docker compose file: PostgreSQL + ChromaDB (``templates/db-vm.compose.yaml.j2``)."""
    return _render("db-vm.compose.yaml.j2", spec)


def render_db_vm_pg_hba(spec: DbVmStartup) -> str:
    """PostgreSQL's client authentication: the app subnet, SCRAM only (``db-vm.pg_hba.conf.j2``)."""
    return _render("db-vm.pg_hba.conf.j2", spec)


def render_db_backup_script(spec: DbVmStartup) -> str:
    """``looper-db-backup`` (``templates/db-vm-backup.sh.j2``)."""
    return _render_script("db-vm-backup.sh.j2", spec, _BACKUP_ROOTS)


def render_db_restore_script(spec: DbVmStartup) -> str:
    """``looper-db-restore BACKUP_ID_OR_PATH`` (``templates/db-vm-restore.sh.j2``)."""
    return _render_script("db-vm-restore.sh.j2", spec, _BACKUP_ROOTS)


def render_db_vm_cloud_config(spec: DbVmStartup) -> str:
    """The DB VM's cloud-init user data (``templates/db-vm.cloud-config.yaml.j2``)."""
    files = {
        _PATHS["compose_file"]: render_db_vm_compose(spec),
        _PATHS["pg_hba"]: render_db_vm_pg_hba(spec),
        _PATHS["setup_script"]: render_db_vm_setup_script(spec),
        _PATHS["backup_script"]: render_db_backup_script(spec),
        _PATHS["restore_script"]: render_db_restore_script(spec),
    }
    text = _render("db-vm.cloud-config.yaml.j2", spec, files=files)
    check_embedding(text, files)
    return text
