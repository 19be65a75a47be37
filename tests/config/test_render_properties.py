"""Issue 18 item 1: any value the config accepts renders into files their real tools accept.

Values are drawn from the validators' own patterns (`st.from_regex(..., fullmatch=True)`), kept
when the config's validator accepts them, rendered, and handed to the real tools: `systemd-analyze
calendar` for OnCalendar schedules, `cloud-init schema` and shellcheck for the OpenVPN server's
user data, YAML round-trips for the files a cloud-config embeds. Derandomized, few examples: the
patterns are the point, not the volume."""
from __future__ import annotations

import dataclasses
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from helpers import app_vm as app_vm_spec
from helpers import db_vm as db_vm_spec
from helpers.tools import assert_shellcheck_clean, assert_valid_cloud_config, require_tool
from looper_infra.bootstrap import render_app_vm_caddyfile, render_app_vm_cloud_config
from looper_infra.bootstrap.db_vm import render_db_vm_cloud_config
from looper_infra.bootstrap.openvpn import (
    SERVER_PATHS,
    SETUP_SCRIPT_PATH,
    OpenVpnServerSpec,
    openvpn_server_files,
    render_openvpn_server_cloud_config,
)
from looper_infra.components.k8s import kafka
from looper_infra.config import base, v3, v4_platform
from looper_infra.facts import openvpn as openvpn_facts
from looper_infra.facts import systemd_calendar

PROPERTY = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _accepted_schedule(value: str) -> bool:
    try:
        v3.Backups(bucket="looper-dev-backups", schedule=value)
    except ValidationError:
        return False
    return True


SCHEDULES = st.from_regex(systemd_calendar.ON_CALENDAR, fullmatch=True).filter(_accepted_schedule)
USERS = st.from_regex(openvpn_facts._USER, fullmatch=True)


@PROPERTY
@given(schedules=st.lists(SCHEDULES, min_size=10, max_size=40))
def test_every_accepted_schedule_parses_in_systemd(schedules: list[str]) -> None:
    proc = subprocess.run([require_tool("systemd-analyze"), "calendar", *schedules],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("schedule", ["daily", "*-*-* 03:30:00", "Mon..Fri *-*-* 02:15", "Sun 04:00 UTC",
                                      "*-*-01 00:00:00", "2027-01-1/2 23:59:59"])
def test_usual_schedules_are_accepted(schedule: str) -> None:
    assert systemd_calendar.calendar_problem(schedule) is None


@pytest.mark.parametrize("schedule", ["aaaaa", "daily; rm -rf /", "*-*-* 03:30:00\n", "Fri..Mon 00:00",
                                      "*-*-* 23..1:00", "*-13-* 00:00", "*-*-* 00/0:00", "hourly%n",
                                      "*:59/1", "*-2/30 00:00", "*:0/60"])
def test_schedules_systemd_would_refuse_are_refused(schedule: str) -> None:
    assert systemd_calendar.calendar_problem(schedule) is not None
    proc = subprocess.run([require_tool("systemd-analyze"), "calendar", schedule],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode != 0 or "\n" in schedule or "%" in schedule


def _spec(users: tuple[str, ...]) -> OpenVpnServerSpec:
    return OpenVpnServerSpec(users=users, push_cidrs=("10.1.0.0/16",), region="ap-northeast-2",
                             secret_id="looper-vpn/dev/server",
                             log_group_name="/looper/openvpn/looper-dev-vpn")


@settings(PROPERTY, max_examples=4)
@given(users=st.lists(USERS, min_size=1, max_size=6, unique=True))
def test_any_vpn_users_render_one_ccd_file_each_and_valid_user_data(users: list[str], tmp_path_factory:
                                                                    pytest.TempPathFactory) -> None:
    assert all(openvpn_facts.user_problem(u) is None for u in users)
    spec = _spec(tuple(sorted(users)))
    files = openvpn_server_files(spec)
    staging = SERVER_PATHS["ccd_staging"] + "/"
    assert sorted(p.removeprefix(staging) for p in files if p.startswith(staging)) == sorted(users)
    text = render_openvpn_server_cloud_config(spec)
    doc = yaml.safe_load(text.split("\n", 1)[1] if text.startswith("#cloud-config") else text)
    embedded = {f["path"]: f["content"] for f in doc["write_files"] if "content" in f}
    for path, content in files.items():
        if path in embedded:
            assert embedded[path] == content, path  # the YAML round-trip is exact
    work = tmp_path_factory.mktemp("openvpn")
    assert_valid_cloud_config(text, work)
    script = work / "setup.sh"
    script.write_text(files[SETUP_SCRIPT_PATH], encoding="utf-8")
    assert_shellcheck_clean(script)


def test_tool_checks_fail_on_what_a_newline_would_do(tmp_path: Path) -> None:
    """The checks above can fail: a user name with a line break is refused before rendering,
    and a schedule with one is refused by systemd-analyze too."""
    assert openvpn_facts.user_problem("alice\n") is not None
    proc = subprocess.run([require_tool("systemd-analyze"), "calendar", "*-*-* 03:30:00\nExecStart=/bin/sh"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode != 0


def _verify_units(files: dict[str, str], root: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` of the units among `files` (path -> content), in a root holding
    them, their (executable) programs and this machine's own units (sysinit.target, ...)."""
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True,
                    dirs_exist_ok=True)
    units = []
    for path, content in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        if target.suffix in (".service", ".timer"):
            units.append(str(target))
        else:
            target.chmod(0o755)
    command = [require_tool("systemd-analyze"), "verify", "--man=no", "--root", str(root), *units]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _db_vm_files(schedule: str) -> tuple[str, dict[str, str]]:
    spec = dataclasses.replace(db_vm_spec.DEFAULT_SPEC, backup_on_calendar=schedule)
    text = render_db_vm_cloud_config(spec)
    return text, {f["path"]: f["content"] for f in yaml.safe_load(text)["write_files"] if "content" in f}


@settings(max_examples=4, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(schedule=SCHEDULES)
def test_db_vm_timer_with_any_accepted_schedule_passes_systemd_verify(schedule: str, tmp_path_factory:
                                                                     pytest.TempPathFactory) -> None:
    text, files = _db_vm_files(schedule)
    assert f"OnCalendar={schedule}\n" in files["/etc/systemd/system/looper-db-backup.timer"]
    work = tmp_path_factory.mktemp("dbvm")
    assert_valid_cloud_config(text, work)
    proc = _verify_units(files, work / "root")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_systemd_verify_refuses_a_bad_schedule(tmp_path: Path) -> None:
    """The check above can fail: the old character class let 'aaaaa' through to the timer."""
    _, files = _db_vm_files("aaaaa")
    proc = _verify_units(files, tmp_path)
    assert proc.returncode != 0 and "Failed to parse calendar specification" in proc.stdout + proc.stderr


_KAFKA_BASE = {"brokers": 1, "storage": "50Gi", "heap": "1Gi"}
TOPICS = st.from_regex(v4_platform._TOPIC, fullmatch=True).filter(
    lambda name: name not in (".", "..") and not ("." in name and "_" in name))


@PROPERTY
@given(names=st.lists(TOPICS, min_size=1, max_size=5, unique=True))
def test_any_accepted_topic_is_one_quoted_word_of_a_clean_script(names: list[str], tmp_path_factory:
                                                                 pytest.TempPathFactory) -> None:
    """Topic names reach the topic Job's shell script: each is one word after --topic and
    --entity-name, never an option, and the script passes shellcheck."""
    for name in names:  # the config's own validator accepts each
        v4_platform.KafkaSettings.model_validate({"topics": {name: {}}, **_KAFKA_BASE})
    script = kafka.topics_script("looper-data", {n: kafka.Topic(3, 1, 604800000) for n in names})
    topic_lines = [line for line in script.splitlines()
                   if "--create --if-not-exists" in line or "--entity-type topics" in line]
    assert len(topic_lines) == 2 * len(names)
    for line in topic_lines:
        words = shlex.split(line)
        flag = "--topic" if "--topic" in words else "--entity-name"
        name = words[words.index(flag) + 1]
        assert name in names and not name.startswith("-")
    path = tmp_path_factory.mktemp("kafka") / "topics.sh"
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    proc = subprocess.run([require_tool("shellcheck"), "--shell=sh", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout


def test_a_topic_that_looks_like_an_option_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a valid topic name"):
        v4_platform.KafkaSettings.model_validate({"topics": {"-delete": {}}, **_KAFKA_BASE})


def _accepted(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


DOMAINS = (st.lists(st.from_regex(base._FQDN_LABEL, fullmatch=True), min_size=2, max_size=4)
           .map(".".join).filter(lambda d: _accepted(base.check_fqdn, d)))
EMAILS = st.from_regex(base._EMAIL, fullmatch=True).filter(lambda e: _accepted(base.check_email, e))


@settings(PROPERTY, max_examples=4)
@given(domain=DOMAINS, email=EMAILS)
def test_any_accepted_domain_and_email_make_a_valid_app_vm(domain: str, email: str, tmp_path_factory:
                                                           pytest.TempPathFactory) -> None:
    """The domain is a bare Caddyfile site address, the e-mail a quoted token; the user data
    that embeds the Caddyfile passes cloud-init's schema and reads back byte for byte."""
    spec = dataclasses.replace(app_vm_spec.DEFAULT_SPEC, domain=domain, acme_email=email)
    caddyfile = render_app_vm_caddyfile(spec)
    assert f"\n{domain} {{\n" in caddyfile
    email_line = next(line for line in caddyfile.splitlines() if line.strip().startswith("email "))
    assert shlex.split(email_line.strip()) == ["email", email]
    text = render_app_vm_cloud_config(spec)
    embedded = [f["content"] for f in yaml.safe_load(text)["write_files"] if f["path"].endswith("/Caddyfile")]
    assert embedded == [caddyfile]
    assert_valid_cloud_config(text, tmp_path_factory.mktemp("appvm"))
