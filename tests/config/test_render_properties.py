"""Issue 18 item 1: any value the config accepts renders into files their real tools accept.

Values are drawn from the validators' own patterns (`st.from_regex(..., fullmatch=True)`), kept
when the config's validator accepts them, rendered, and handed to the real tools: `systemd-analyze
calendar` for OnCalendar schedules, `cloud-init schema` and shellcheck for the OpenVPN server's
user data, YAML round-trips for the files a cloud-config embeds. Derandomized, few examples: the
patterns are the point, not the volume."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from helpers.tools import assert_shellcheck_clean, assert_valid_cloud_config, require_tool
from looper_infra.bootstrap.openvpn import (
    SERVER_PATHS,
    SETUP_SCRIPT_PATH,
    OpenVpnServerSpec,
    openvpn_server_files,
    render_openvpn_server_cloud_config,
)
from looper_infra.config import v3
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
@given(schedules=st.lists(SCHEDULES, min_size=1, max_size=25))
def test_every_accepted_schedule_parses_in_systemd(schedules: list[str]) -> None:
    proc = subprocess.run([require_tool("systemd-analyze"), "calendar", *schedules],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("schedule", ["daily", "*-*-* 03:30:00", "Mon..Fri *-*-* 02:15", "Sun 04:00 UTC",
                                      "*-*-01 00:00:00", "2027-01-1/2 23:59:59"])
def test_usual_schedules_are_accepted(schedule: str) -> None:
    assert systemd_calendar.calendar_problem(schedule) is None


@pytest.mark.parametrize("schedule", ["aaaaa", "daily; rm -rf /", "*-*-* 03:30:00\n", "Fri..Mon 00:00",
                                      "*-*-* 23..1:00", "*-13-* 00:00", "*-*-* 00/0:00", "hourly%n"])
def test_schedules_systemd_would_refuse_are_refused(schedule: str) -> None:
    assert systemd_calendar.calendar_problem(schedule) is not None
    proc = subprocess.run([require_tool("systemd-analyze"), "calendar", schedule],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode != 0 or "\n" in schedule or "%" in schedule


def _spec(users: tuple[str, ...]) -> OpenVpnServerSpec:
    return OpenVpnServerSpec(users=users, push_cidrs=("10.1.0.0/16",), region="ap-northeast-2",
                             secret_id="looper-vpn/dev/server",
                             log_group_name="/looper/openvpn/looper-dev-vpn")


@PROPERTY
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
