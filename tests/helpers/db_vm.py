"""The DB VM spec the db_vm tests and the backup/restore test share."""

from __future__ import annotations

from looper_infra.bootstrap.db_vm import DbVmStartup

PROJECT = "looper-dev-000000"
PASSWORD_SECRET = f"projects/{PROJECT}/secrets/looper-dev-db-password"
TOKEN_SECRET = f"projects/{PROJECT}/secrets/looper-dev-chroma-token"

DEFAULT_SPEC = DbVmStartup(
    project=PROJECT,
    data_disk_device_name="looper-data",
    postgres_db="looper",
    postgres_user="looper",
    postgres_password_secret=PASSWORD_SECRET,
    chroma_token_secret=TOKEN_SECRET,
    backup_bucket="looper-dev-000000-db-backups",
    app_subnet_cidr="10.0.1.0/24",
)
