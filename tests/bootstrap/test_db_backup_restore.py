"""looper-db-backup and looper-db-restore against a real PostgreSQL server.

The test starts a throwaway PostgreSQL cluster on loopback (Debian's `postgresql` package:
initdb/pg_ctl from /usr/lib/postgresql/*/bin; as root, the server runs as the `postgres`
user through runuser), points the rendered scripts' PostgreSQL commands at it
(LOOPER_PG_DUMP, LOOPER_PSQL, LOOPER_PG_RESTORE + PGHOST/PGPORT/PGUSER), uses a plain
directory as ChromaDB's persist directory and a local directory (or, through a fake `curl`,
the Cloud Storage JSON API) as the backup target.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from helpers.db_vm import DEFAULT_SPEC
from helpers.tools import require_tool
from looper_infra.bootstrap.db_vm import render_db_backup_script, render_db_restore_script

SPEC = replace(DEFAULT_SPEC, postgres_db="looper_app")
DB = SPEC.postgres_db
TIMEOUT = 30  # seconds, for every subprocess

SCHEMA_AND_ROWS = """
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(8, 2),
                    tags text[], payload bytea);
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    item_id int REFERENCES items (id), body text);
CREATE INDEX items_name ON items (name);
CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5;
INSERT INTO items (name, price, tags, payload) VALUES
  ('apple', 1.25, '{fruit,red}', '\\x00ff10'),
  ('quote''s "double" $x', NULL, '{}', NULL),
  ('h\u00e9llo \u4e16\u754c', 9.99, '{a,b,c}', '\\xdeadbeef');
INSERT INTO items (name, price) SELECT 'bulk-' || g, g FROM generate_series(1, 200) g;
INSERT INTO notes (item_id, body) VALUES (1, 'first'), (2, E'multi\\nline'), (3, NULL);
"""
TABLES = ("items", "notes")


def _pg_bin_dir() -> Path:
    """The newest Debian PostgreSQL server's bin directory (fail on CI, skip elsewhere)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found and all((found[-1].parent / tool).exists() for tool in ("initdb", "psql")):
        return found[-1].parent
    message = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin " \
        "(Debian package `postgresql`)"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PgServer:
    bin_dir: Path
    port: int

    @property
    def env(self) -> dict[str, str]:
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "postgres"}

    def psql(self, sql: str, db: str = "postgres", check: bool = True) -> str:
        proc = subprocess.run(
            [str(self.bin_dir / "psql"), "--no-psqlrc", "--no-align", "--tuples-only",
             "--quiet", "--set=ON_ERROR_STOP=1", f"--dbname={db}"],
            input=sql, env={**os.environ, **self.env}, capture_output=True, text=True,
            timeout=TIMEOUT, check=False,
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def databases(self) -> set[str]:
        return set(self.psql("SELECT datname FROM pg_database").split())

    def oid(self, db: str) -> str:
        return self.psql(f"SELECT oid FROM pg_database WHERE datname = '{db}'").strip()

    def snapshot(self, db: str = DB) -> dict[str, str]:
        """Every row of every table, and the list of tables, as text."""
        listing = self.psql(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
            "WHERE schemaname = 'public'", db,
        ).strip()
        rows = {table: self.psql(f"SELECT * FROM {table} ORDER BY id", db)
                for table in listing.split(",") if table}
        return {"tables": listing, **rows}


def _as_postgres() -> list[str]:
    """Server commands run as `postgres` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return []
    return [require_tool("runuser"), "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    bin_dir = _pg_bin_dir()
    prefix = _as_postgres()
    base = Path(tempfile.mkdtemp(prefix="looper-pg-"))
    if prefix:
        account = pwd.getpwnam("postgres")
        os.chown(base, account.pw_uid, account.pw_gid)
    data = base / "data"
    server = PgServer(bin_dir, _free_port())

    def run(*args: str) -> None:
        proc = subprocess.run([*prefix, *args], cwd=base, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
        assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stdout}\n{proc.stderr}"

    try:
        run(str(bin_dir / "initdb"), "--pgdata", str(data), "--username=postgres",
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
        run(str(bin_dir / "pg_ctl"), "start", "--pgdata", str(data), "--wait", "--timeout=20",
            "--log", str(base / "server.log"),
            f"--options=-p {server.port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off")
        yield server
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "stop", "--pgdata", str(data),
                        "--mode=immediate", "--wait", "--timeout=20"],
                       cwd=base, capture_output=True, timeout=TIMEOUT, check=False)
        shutil.rmtree(base, ignore_errors=True)


# --- the scripts, run for real ------------------------------------------------------------------

RECORDER = """#!/usr/bin/env bash
# Test stand-in for `docker pause|unpause|stop|start looper-chroma`: records its arguments.
printf '%s\\n' "$*" >>"$CHROMA_CALLS"
"""


@dataclass
class Run:
    returncode: int
    output: str

    def line(self, what: str) -> str:
        lines = [x for x in self.output.splitlines() if x.startswith(f"looper: {what} ")]
        assert lines, self.output
        return lines[-1]


class Box:
    """Rendered scripts, a ChromaDB directory, a backup target and a fresh database."""

    def __init__(self, base: Path, server: PgServer, database: bool = True) -> None:
        self.base = base
        self.server = server
        self.target = base / "backups"
        self.chroma = base / "data" / "chroma"
        self.calls = base / "chroma-calls.log"
        self.bin = base / "bin"
        self.bin.mkdir()
        # the scripts' `python3` (JSON of the metadata server): this interpreter, found fast
        (self.bin / "python3").symlink_to(sys.executable)
        for name, render in (("looper-db-backup", render_db_backup_script),
                             ("looper-db-restore", render_db_restore_script)):
            (self.bin / name).write_text(render(SPEC), encoding="utf-8")
        recorder = self.bin / "chroma-cmd"
        recorder.write_text(RECORDER)
        recorder.chmod(0o755)
        self.chroma.mkdir(parents=True)
        (self.chroma / "chroma.sqlite3").write_bytes(bytes(range(256)) * 64)
        (self.chroma / "3f0c-segment").mkdir()
        (self.chroma / "3f0c-segment" / "data_level0.bin").write_bytes(os.urandom(4096))
        (self.chroma / "3f0c-segment" / "header.bin").write_bytes(b"hnsw header")
        if database:
            self.fresh_database()

    def fresh_database(self) -> None:
        server = self.server
        server.psql(f"DROP DATABASE IF EXISTS {DB}")
        for name in server.databases():
            if name.startswith(f"{DB}_"):
                server.psql(f'DROP DATABASE "{name}"')
        server.psql(f"CREATE DATABASE {DB}")
        server.psql(SCHEMA_AND_ROWS, DB)

    def env(self, **extra: str) -> dict[str, str]:
        recorder = self.bin / "chroma-cmd"
        return {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "LANG": "C.UTF-8",
            **self.server.env,
            "LOOPER_BACKUP_TARGET": str(self.target),
            "LOOPER_PG_DUMP": str(self.server.bin_dir / "pg_dump"),
            "LOOPER_PSQL": str(self.server.bin_dir / "psql"),
            "LOOPER_PG_RESTORE": str(self.server.bin_dir / "pg_restore"),
            "LOOPER_CHROMA_DIR": str(self.chroma),
            "LOOPER_CHROMA_PAUSE": f"{recorder} pause",
            "LOOPER_CHROMA_RESUME": f"{recorder} unpause",
            "LOOPER_CHROMA_STOP": f"{recorder} stop",
            "LOOPER_CHROMA_START": f"{recorder} start",
            "LOOPER_WORK_DIR": str(self.base / "data" / "backup-work"),
            "LOOPER_STATE_DIR": str(self.base / "state"),
            "LOOPER_RETRY_DELAY": "0",
            "LOOPER_RETRY_ATTEMPTS": "3",
            "CHROMA_CALLS": str(self.calls),
            **extra,
        }

    def run(self, script: str, *args: str, **extra: str) -> Run:
        proc = subprocess.run(
            [require_tool("bash"), str(self.bin / script), *args], env=self.env(**extra),
            cwd=self.base, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )
        return Run(proc.returncode, proc.stdout + proc.stderr)

    def backup(self, **extra: str) -> str:
        """Run a backup; its ID."""
        run = self.run("looper-db-backup", **extra)
        assert run.returncode == 0, run.output
        match = re.match(r"looper: backup ready: ([0-9]{8}T[0-9]{6}Z) at ", run.line("backup"))
        assert match, run.output
        return match[1]

    def chroma_files(self, root: Path | None = None) -> dict[str, bytes]:
        root = root or self.chroma
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file()}

    def chroma_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def box(tmp_path: Path, pg_server: PgServer) -> Box:
    return Box(tmp_path, pg_server)


@pytest.fixture(scope="module")
def good_backup(tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer) -> Path:
    """One good backup folder, made once, for the tests that damage a copy of it."""
    maker = Box(tmp_path_factory.mktemp("good-backup"), pg_server)
    return maker.target / maker.backup()


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    path.write_bytes(bytes(data))


def _rewrite_manifest(folder: Path) -> None:
    lines = [f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n"
             for name in ("postgres.dump", "chroma.tar.gz", "backup-info.txt")]
    (folder / "SHA256SUMS").write_text("".join(lines))


# --- backup --------------------------------------------------------------------------------------


def test_backup_writes_a_verified_folder(box: Box) -> None:
    backup_id = box.backup()
    folder = box.target / backup_id
    assert sorted(p.name for p in folder.iterdir()) == [
        "SHA256SUMS", "backup-info.txt", "chroma.tar.gz", "postgres.dump",
    ]
    manifest = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        manifest[name.lstrip("*")] = digest
    assert manifest == {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ("postgres.dump", "chroma.tar.gz", "backup-info.txt")
    }
    assert (folder / "postgres.dump").read_bytes()[:5] == b"PGDMP"  # custom format
    listing = subprocess.run(
        [str(box.server.bin_dir / "pg_restore"), "--list", str(folder / "postgres.dump")],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    ).stdout
    assert re.search(r"TABLE public items ", listing) and re.search(r"TABLE DATA public notes ", listing)
    members = subprocess.run(
        ["tar", "--list", "--gzip", "--file", str(folder / "chroma.tar.gz")],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    ).stdout.split()
    assert "./3f0c-segment/data_level0.bin" in members
    info = (folder / "backup-info.txt").read_text()
    assert f"backup_id={backup_id}\n" in info and f"database={DB}\n" in info
    # ChromaDB was paused exactly while its directory was read
    assert box.chroma_calls() == ["pause", "unpause"]
    # nothing left behind: no staging folder, no partial copy, no temporary files
    assert list((box.base / "data" / "backup-work").iterdir()) == []
    assert [p.name for p in box.target.iterdir()] == [backup_id]
    assert not list((box.base / "state").glob("tmp.*"))


def test_failed_dump_uploads_nothing(box: Box) -> None:
    run = box.run("looper-db-backup", PGPORT="1")  # nothing listens there
    assert run.returncode != 0
    assert run.line("backup").startswith(f"looper: backup FAILED: pg_dump of database {DB} failed")
    assert not box.target.exists() or not list(box.target.iterdir())
    assert box.chroma_calls() == []  # the dump comes first; ChromaDB was never paused


# --- restore --------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["alter", "drop"])
def test_restore_brings_every_row_back(box: Box, damage: str) -> None:
    original = box.server.snapshot()
    original_chroma = box.chroma_files()
    backup_id = box.backup()

    if damage == "alter":
        box.server.psql(
            "DELETE FROM notes WHERE id = 1; UPDATE items SET name = 'changed' WHERE id < 50;"
            "DROP VIEW cheap; DROP TABLE notes; CREATE TABLE junk (id int); "
            "INSERT INTO items (name) VALUES ('late');", DB,
        )
    else:
        box.server.psql(f"DROP DATABASE {DB}")
    damaged = box.server.snapshot() if damage == "alter" else None
    (box.chroma / "chroma.sqlite3").write_bytes(b"overwritten")
    (box.chroma / "new-after-backup").write_bytes(b"x")
    damaged_chroma = box.chroma_files()

    session = None
    if damage == "alter":  # a client still connected to the live database is ended
        session = subprocess.Popen(
            [str(box.server.bin_dir / "psql"), "--no-psqlrc", f"--dbname={DB}",
             "--command=SELECT pg_sleep(60)"],
            env={**os.environ, **box.server.env}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )
        for _ in range(100):
            if box.server.psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DB}' "
                               "AND query LIKE '%pg_sleep%'").strip() == "1":
                break
            time.sleep(0.05)
    run = box.run("looper-db-restore", backup_id)
    assert run.returncode == 0, run.output
    assert run.line("restore").startswith(f"looper: restore ready: backup {backup_id} is live")
    if session is not None:
        _, err = session.communicate(timeout=TIMEOUT)
        assert session.returncode != 0 and "terminat" in err
    assert box.server.snapshot() == original
    assert box.server.psql("SELECT count(*) FROM cheap", DB).strip() == "5"
    assert box.chroma_files() == original_chroma

    leftovers = sorted(name for name in box.server.databases() if name.startswith(f"{DB}_"))
    if damage == "alter":
        assert len(leftovers) == 1 and re.fullmatch(rf"{DB}_pre_restore_[0-9]{{14}}", leftovers[0])
        assert box.server.snapshot(leftovers[0]) == damaged  # the previous data, kept
        previous_chroma = list(box.chroma.parent.glob("chroma.pre-restore-*"))
        assert len(previous_chroma) == 1
        assert box.chroma_files(previous_chroma[0]) == damaged_chroma
    else:
        assert leftovers == []  # no scratch database left, nothing to keep
    assert box.chroma_calls() == ["pause", "unpause", "stop", "start"]
    assert not [p for p in box.chroma.parent.iterdir() if ".restore-" in p.name]
    assert list((box.base / "data" / "backup-work").iterdir()) == []
    # the restored database takes new connections and new rows
    box.server.psql("INSERT INTO items (name) VALUES ('after restore')", DB)


def test_restore_by_path(box: Box) -> None:
    original = box.server.snapshot()
    backup_id = box.backup()
    box.server.psql("TRUNCATE notes, items", DB)
    run = box.run("looper-db-restore", str(box.target / backup_id))
    assert run.returncode == 0, run.output
    assert box.server.snapshot() == original


# --- a bad backup never touches the live data -----------------------------------------------------


def _assert_untouched(box: Box, rows: dict[str, str], oid: str, chroma: dict[str, bytes],
                      databases: set[str]) -> None:
    assert box.server.snapshot() == rows
    assert box.server.oid(DB) == oid  # the very same database, not a copy swapped in
    assert box.server.databases() == databases  # no scratch database left behind
    assert box.server.psql(
        f"SELECT datallowconn FROM pg_database WHERE datname = '{DB}'"
    ).strip() == "t"
    assert box.chroma_files() == chroma
    assert "stop" not in box.chroma_calls()
    assert not [p for p in box.chroma.parent.iterdir() if p.name != "chroma" and
                p.name != "backup-work"]
    assert list((box.base / "data" / "backup-work").iterdir()) == []


def _bad_backup(box: Box, good: Path, how: str) -> str:
    """A damaged copy of a good backup in the box's target, under a new ID."""
    bad_id = "20000101T000000Z"
    bad = box.target / bad_id
    shutil.copytree(good, bad)
    if how == "flipped-dump":
        _corrupt(bad / "postgres.dump")
    elif how == "flipped-chroma":
        _corrupt(bad / "chroma.tar.gz")
    elif how == "unreadable-dump":  # consistent checksums, but not an archive pg_restore reads
        (bad / "postgres.dump").write_bytes(b"PGDMP" + os.urandom(2048))
        _rewrite_manifest(bad)
    elif how == "no-manifest":  # an interrupted upload
        (bad / "SHA256SUMS").unlink()
    elif how == "manifest-missing-file":
        (bad / "SHA256SUMS").write_text(
            "".join(x + "\n" for x in (bad / "SHA256SUMS").read_text().splitlines()
                    if "chroma" not in x))
    elif how == "hostile-manifest":
        (bad / "SHA256SUMS").write_text(
            (bad / "SHA256SUMS").read_text() + f"{'0' * 64}  ../../etc/passwd\n")
    return bad_id


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("flipped-dump", r"checksum mismatch, the backup is corrupt: postgres\.dump: FAILED"),
        ("flipped-chroma", r"checksum mismatch, the backup is corrupt: chroma\.tar\.gz: FAILED"),
        ("unreadable-dump", r"postgres\.dump is not a readable pg_dump archive"),
        ("no-manifest", r"SHA256SUMS not found"),
        ("manifest-missing-file", r"SHA256SUMS does not list chroma\.tar\.gz"),
        ("hostile-manifest", r"malformed SHA256SUMS line"),
    ],
)
def test_bad_backup_fails_and_leaves_live_data_untouched(
    box: Box, good_backup: Path, how: str, reason: str
) -> None:
    bad_id = _bad_backup(box, good_backup, how)
    box.server.psql("INSERT INTO items (name) VALUES ('written after the backup')", DB)
    rows, oid, chroma = box.server.snapshot(), box.server.oid(DB), box.chroma_files()
    databases = box.server.databases()

    run = box.run("looper-db-restore", bad_id)
    assert run.returncode != 0
    assert re.match(rf"looper: restore FAILED: backup {bad_id}: .*{reason}", run.line("restore")), \
        run.output
    _assert_untouched(box, rows, oid, chroma, databases)


@pytest.mark.parametrize("argument", ["19990101T000000Z", "/nonexistent/backup/folder"])
def test_missing_backup_fails_and_leaves_live_data_untouched(box: Box, argument: str) -> None:
    rows, oid, chroma = box.server.snapshot(), box.server.oid(DB), box.chroma_files()
    databases = box.server.databases()
    run = box.run("looper-db-restore", argument)
    assert run.returncode != 0
    assert re.match(rf"looper: restore FAILED: backup {argument}: .*not found", run.line("restore"))
    _assert_untouched(box, rows, oid, chroma, databases)


@pytest.mark.parametrize("argv", [[], ["a", "b"], ["relative/path"], ["gs://Not_A_Bucket/x"]])
def test_restore_usage_errors(tmp_path: Path, pg_server: PgServer, argv: list[str]) -> None:
    run = Box(tmp_path, pg_server, database=False).run("looper-db-restore", *argv)
    assert run.returncode != 0
    assert run.line("restore").startswith("looper: restore FAILED: ")


FAKE_DOCKER = """#!/usr/bin/env bash
# Fake docker: records its arguments; `exec [-i] [--env NAME]... looper-postgres PROGRAM ...`
# runs PROGRAM from $PG_BIN (a set NAME is required, as docker passes it by name).
set -euo pipefail
printf '%s\\n' "$*" >>"$DOCKER_CALLS"
[[ "$1" == exec ]] || exit 0  # pause, unpause, stop, start looper-chroma
shift
while [[ "$1" == -* ]]; do
  case "$1" in
    -i) shift ;;
    --env) [[ -n "${!2:-}" ]] || exit 99; shift 2 ;;
    *) exit 98 ;;
  esac
done
[[ "$1" == looper-postgres ]] || exit 97
exec "${PG_BIN}/$2" "${@:3}"
"""


def test_default_commands_run_in_the_containers(box: Box) -> None:
    fake = box.bin / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    calls = box.base / "docker.log"
    defaults = {name: "" for name in ("LOOPER_PG_DUMP", "LOOPER_PSQL", "LOOPER_PG_RESTORE",
                                      "LOOPER_CHROMA_PAUSE", "LOOPER_CHROMA_RESUME",
                                      "LOOPER_CHROMA_STOP", "LOOPER_CHROMA_START")}
    extra = {**defaults, "DOCKER_CALLS": str(calls), "PG_BIN": str(box.server.bin_dir),
             "PGPASSWORD": "not-on-any-command-line"}
    original = box.server.snapshot()
    backup_id = box.backup(**extra)
    box.server.psql("DELETE FROM notes", DB)
    run = box.run("looper-db-restore", backup_id, **extra)
    assert run.returncode == 0, run.output
    assert box.server.snapshot() == original
    log = calls.read_text().splitlines()
    prefix = "exec -i --env PGUSER --env PGPASSWORD --env PGHOST --env PGPORT looper-postgres"
    assert log[0] == f"{prefix} pg_dump --format=custom --no-password --dbname={DB}"
    assert log[1:3] == ["pause looper-chroma", "unpause looper-chroma"]
    assert f"{prefix} pg_restore --list" in log
    assert log[-2:] == ["stop looper-chroma", "start looper-chroma"]
    assert all(line.startswith(("exec -i ", "pause ", "unpause ", "stop ", "start "))
               for line in log)
    assert "not-on-any-command-line" not in calls.read_text()


# --- Cloud Storage target, through a fake curl -------------------------------------------------------

FAKE_CURL = textwrap.dedent('''\
    #!{python}
    """Fake curl: the metadata server's token and the Cloud Storage JSON API on a directory,
    with the bucket's IAM: the VM's token (fake-token) may only create objects (objectCreator),
    the operator's (operator-token) only read them (objectViewer); nothing replaces an object."""
    import json, os, shutil, sys, urllib.parse
    args, out, upload, headers, write_out, url = sys.argv[1:], None, None, [], None, None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--output", "--upload-file", "--header", "--write-out", "--request",
                 "--connect-timeout", "--max-time"):
            v = args[i + 1]; i += 2
            if a == "--output": out = v
            elif a == "--upload-file": upload = v
            elif a == "--write-out": write_out = v
            elif a == "--header":
                headers.append(open(v[1:]).read().strip() if v.startswith("@") else v)
            continue
        if not a.startswith("-"): url = a
        i += 1
    with open(os.environ["FAKE_CURL_LOG"], "a") as log:
        log.write(json.dumps({{"url": url, "headers": headers}}) + "\\n")
    store, parsed = os.environ["FAKE_GCS_DIR"], urllib.parse.urlsplit(url)
    if parsed.path.endswith("/service-accounts/default/token"):
        assert "Metadata-Flavor: Google" in headers
        with open(out, "w") as f:
            json.dump({{"access_token": "fake-token", "expires_in": 3599}}, f)
        sys.exit(0)
    token = [h.split()[-1] for h in headers if h.startswith("Authorization: Bearer ")][0]
    def answer(status):
        if out and out != "/dev/null" and status != 200:
            open(out, "w").write("error")
        print(status, end="")
        sys.exit(0)
    if parsed.path.startswith("/upload/storage/v1/b/"):
        if token != "fake-token":
            answer(403)
        query = urllib.parse.parse_qs(parsed.query)
        bucket, name = parsed.path.split("/")[5], query["name"][0]
        target = os.path.join(store, bucket, name)
        if os.path.exists(target) or name in os.environ.get("FAKE_GCS_EXISTING", "").split():
            # objectCreator cannot replace; with ifGenerationMatch=0 the precondition fails first
            answer(412 if query.get("ifGenerationMatch") == ["0"] else 403)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(upload, target)
        if os.path.basename(name) in os.environ.get("FAKE_GCS_LOSE_REPLY", "").split():
            sys.exit(28)  # the object landed, the reply did not (curl: operation timed out)
        answer(200)
    if token != "operator-token":
        answer(403)
    _, _, _, _, bucket, _, name = parsed.path.split("/", 6)
    source = os.path.join(store, bucket, urllib.parse.unquote(name))
    if os.path.isfile(source):
        shutil.copyfile(source, out); print("200", end="")
    else:
        open(out, "w").write("not found"); print("404", end="")
''')


def gcs_box(box: Box) -> tuple[dict[str, str], Path, Path]:
    """The environment of a run against the fake Cloud Storage; its store and request log."""
    fake = box.bin / "curl"
    fake.write_text(FAKE_CURL.format(python=f"{sys.executable} -I"))
    fake.chmod(0o755)
    store, log = box.base / "gcs", box.base / "curl.log"
    extra = {
        "LOOPER_BACKUP_TARGET": "gs://looper-test-backups/nightly/db",
        "LOOPER_METADATA_URL": "http://metadata.test",
        "LOOPER_GCS_URL": "https://storage.test",
        "FAKE_GCS_DIR": str(store),
        "FAKE_CURL_LOG": str(log),
    }
    return extra, store, log


def test_backup_creates_objects_only_and_an_operator_restores_it(box: Box) -> None:
    extra, store, log = gcs_box(box)
    original = box.server.snapshot()
    backup_id = box.backup(**extra)
    folder = store / "looper-test-backups" / "nightly" / "db" / backup_id
    assert sorted(p.name for p in folder.iterdir()) == [
        "SHA256SUMS", "backup-info.txt", "chroma.tar.gz", "postgres.dump",
    ]
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    storage = [r["url"] for r in requests if r["url"].startswith("https://storage.test")]
    # create-only: four new objects, each on the condition that none exists; no read, list or delete
    assert len(storage) == 4 and all("uploadType=media&ifGenerationMatch=0&" in u for u in storage)
    assert "SHA256SUMS" in storage[-1]  # the manifest goes last
    assert f"nightly%2Fdb%2F{backup_id}%2Fpostgres.dump" in storage[0]
    assert not box.target.exists()

    box.server.psql("DELETE FROM items WHERE id > 3", DB)
    # the VM's own identity cannot read the backups back
    refused = box.run("looper-db-restore", backup_id, **extra)
    assert refused.returncode != 0
    assert "answered HTTP 403" in refused.output and "could not download" in refused.line("restore")
    assert box.server.psql("SELECT count(*) FROM items", DB).strip() == "3"
    # an operator's token, passed as a file (here: stdin's stand-in), reads them
    token = box.base / "operator-token"
    token.write_text("operator-token\n")
    run = box.run("looper-db-restore", backup_id, **extra, LOOPER_GCS_TOKEN_FILE=str(token))
    assert run.returncode == 0, run.output
    assert box.server.snapshot() == original

    missing = box.run("looper-db-restore", "19990101T000000Z", **extra, LOOPER_GCS_TOKEN_FILE=str(token))
    assert missing.returncode != 0
    assert "not found" in missing.line("restore")
    # every Cloud Storage request carried a token; none put it on the command line or the log
    for secret in ("fake-token", "operator-token"):
        assert secret not in refused.output + run.output + missing.output
        assert base64.b64encode(secret.encode()).decode() not in run.output
    bad = box.base / "bad-token"
    bad.write_text("not a token; rm -rf /\n")
    garbage = box.run("looper-db-restore", backup_id, **extra, LOOPER_GCS_TOKEN_FILE=str(bad))
    assert "does not hold an access token" in garbage.line("restore")


def test_backup_never_replaces_an_object(box: Box) -> None:
    extra, store, _ = gcs_box(box)
    # an object of the same name exists already (from someone else): the backup fails
    clash = box.run("looper-db-backup", **extra, FAKE_GCS_EXISTING=" ".join(
        f"nightly/db/{box_id}/postgres.dump" for box_id in _ids_around_now()))
    assert clash.returncode != 0
    assert "already exists: a backup never replaces an object" in clash.line("backup")
    # a reply lost after the upload landed: the retry's 412 is that upload, the backup completes
    backup_id = box.backup(**extra, FAKE_GCS_LOSE_REPLY="chroma.tar.gz")
    folder = store / "looper-test-backups" / "nightly" / "db" / backup_id
    assert (folder / "SHA256SUMS").is_file() and (folder / "chroma.tar.gz").is_file()


def _ids_around_now() -> list[str]:
    """Backup IDs the next few seconds can produce (the ID is the UTC second it starts)."""
    now = time.time()
    return [time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + d)) for d in range(-1, 30)]
