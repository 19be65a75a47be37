"""The v1 app VM's cloud-init user data: goldens, validity, quoting, idempotent setup script.

Golden files live in ``golden/``; regenerate them with ``LOOPER_UPDATE_GOLDEN=1 pytest``.
The setup script is run for real under bash, in a fake root with stub executables for every
command that would touch the system or the network (apt-get, apt-mark, curl, docker, dpkg,
gpg, systemctl); the stubs record their argv so the tests can assert what ran.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.app_vm import (
    DEFAULT_SPEC,
    STEPS,
    FakeRoot,
    check_golden,
    check_shellcheck,
    check_valid,
    compose_of,
    result_line,
    setup_script,
    written_files,
)
from looper_infra.bootstrap import (
    AppVmStartup,
    render_app_vm_cloud_config,
    versions,
)
from looper_infra.facts import app_image

CUSTOM_SPEC = AppVmStartup(
    domain="api.looper.example.org",
    acme_email="certs+looper@example.org",
    app_image="ghcr.io/acme/looper-api:1.4.2@sha256:" + "ab" * 32,
    app_port=9000,
    health_path="/healthz",
    app_env={"LOG_LEVEL": "info", "GREETING": "h\u00e9llo 'world' $HOME", "WORKERS": "4"},
    app_command=("serve", "--bind=0.0.0.0:9000"),
)
BEHIND_LB_SPEC = AppVmStartup(
    domain="v3.looper.example.com",
    acme_email=None,
    app_image=app_image.DEMO_APP_IMAGE,
    app_port=8080,
    health_path="/health",
    app_env={"LOOPER_DB_HOST": "10.0.2.2", "LOOPER_DB_PASSWORD_SECRET": "projects/1/secrets/db"},
    behind_load_balancer=True,
)
SPECS = {"app_vm_default": DEFAULT_SPEC, "app_vm_custom": CUSTOM_SPEC,
         "app_vm_behind_lb": BEHIND_LB_SPEC}

# --- 1. goldens -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_matches_golden(name: str) -> None:
    check_golden(name, SPECS[name])


def test_rendering_is_deterministic() -> None:
    assert render_app_vm_cloud_config(CUSTOM_SPEC) == render_app_vm_cloud_config(CUSTOM_SPEC)


# --- 2. valid cloud-config ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_is_valid(name: str, tmp_path: Path) -> None:
    check_valid(SPECS[name], tmp_path)


def test_compose_serves_app_on_loopback_behind_caddy() -> None:
    compose = compose_of(render_app_vm_cloud_config(DEFAULT_SPEC))
    app, caddy = compose["services"]["app"], compose["services"]["caddy"]
    assert app["image"] == app_image.DEMO_APP_IMAGE
    assert app["ports"] == ["127.0.0.1:8080:8080"]
    assert app["command"] == ["--port=8080"]  # whoami listens on 80 unless told
    assert app["environment"]["PORT"] == "8080"
    assert caddy["image"] == versions.CADDY_IMAGE
    assert sorted(caddy["ports"]) == ["443:443", "443:443/udp", "80:80"]
    assert "caddy_data:/data" in caddy["volumes"]
    assert {app["restart"], caddy["restart"]} == {"unless-stopped"}
    caddyfile = written_files(render_app_vm_cloud_config(DEFAULT_SPEC))["/etc/looper/Caddyfile"]
    assert "reverse_proxy app:8080" in caddyfile["content"]
    assert 'health_uri "/health"' in caddyfile["content"]


def test_behind_a_load_balancer_there_is_no_caddy_and_the_port_is_open() -> None:
    rendered = render_app_vm_cloud_config(BEHIND_LB_SPEC)
    compose = compose_of(rendered)
    assert set(compose["services"]) == {"app"}
    assert compose["services"]["app"]["ports"] == ["8080:8080"]
    assert "/etc/looper/Caddyfile" not in written_files(rendered)
    assert "the load balancer serves https://${DOMAIN}" in setup_script(rendered)


# --- 3. shellcheck -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_setup_script_passes_shellcheck(name: str, tmp_path: Path) -> None:
    check_shellcheck(SPECS[name], tmp_path)


# --- 4. metacharacters stay data ---------------------------------------------------------------

HOSTILE = "a'b $(touch {canary}) `touch {canary}` \"q\" \\ ${{HOME}} ;|& *\nline2"


def hostile_spec(canary: Path) -> AppVmStartup:
    value = HOSTILE.format(canary=canary)
    return AppVmStartup(
        domain="dev.looper.example.com",
        acme_email="ops@example.com",
        app_image=app_image.DEMO_APP_IMAGE,
        app_port=8080,
        health_path="/healthz?probe=1&verbose=yes",
        app_env={"EVIL": value},
        app_command=(f"--name={value}", "$(id)"),
    )


def test_hostile_values_round_trip_as_data(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    spec = hostile_spec(canary)
    rendered = render_app_vm_cloud_config(spec)
    app = compose_of(rendered)["services"]["app"]
    # compose interpolates "$": every one is doubled, and undoubling gives the value back
    assert app["environment"]["EVIL"] == spec.app_env["EVIL"].replace("$", "$$")
    assert app["environment"]["EVIL"].replace("$$", "$") == spec.app_env["EVIL"]
    assert [a.replace("$$", "$") for a in app["command"]] == list(spec.app_command or ())
    # every value assigned in the script's header reads back through shell quoting
    expected = {
        "DOMAIN": spec.domain,
        "APP_PORT": str(spec.app_port),
        "HEALTH_PATH": spec.health_path,
        "APP_IMAGE": spec.app_image,
        "CADDY_IMAGE": spec.caddy_image,
        "DOCKER_CE_VERSION": spec.docker_ce_version,
        "CONTAINERD_IO_VERSION": spec.containerd_io_version,
        "OPS_AGENT_VERSION": spec.ops_agent_version,
    }
    assignments = {}
    for line in setup_script(rendered).splitlines():
        if re.match(r"^readonly [A-Z_]+=", line):
            words = shlex.split(line, comments=True)
            assert len(words) == 2, line
            key, _, value = words[1].partition("=")
            assignments[key] = value
    for key, value in expected.items():
        assert assignments[key] == value


def test_hostile_values_are_never_executed(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    spec = hostile_spec(canary)
    fake = FakeRoot(tmp_path, render_app_vm_cloud_config(spec))
    run = fake.run()
    assert run.returncode == 0, run.stdout
    assert not canary.exists()
    # the health URL, with its "?" and "&", reached curl as one argument
    assert ["--fail", "--silent", "--output", "/dev/null", "--max-time", "5",
            "http://127.0.0.1:8080/healthz?probe=1&verbose=yes"] in run.commands("curl")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_env_value_round_trips_through_cloud_config(value: str) -> None:
    spec = AppVmStartup(
        domain="dev.looper.example.com", acme_email="ops@example.com",
        app_image=app_image.DEMO_APP_IMAGE, app_port=8080, health_path="/health",
        app_env={"VALUE": value},
    )
    app = compose_of(render_app_vm_cloud_config(spec))["services"]["app"]
    assert app["environment"]["VALUE"].replace("$$", "$") == value


# --- 5. idempotent setup -----------------------------------------------------------------------


def test_setup_runs_each_step_once_then_skips_them(tmp_path: Path) -> None:
    fake = FakeRoot(tmp_path, render_app_vm_cloud_config(DEFAULT_SPEC))

    first = fake.run()
    assert first.returncode == 0, first.stdout
    assert result_line(first).startswith("looper: app ready")
    installs = [c for c in first.commands("apt-get") if "install" in c]
    assert len(installs) == 1
    assert installs[0][-4:] == [
        f"docker-ce={versions.DOCKER_CE_VERSION}",
        f"docker-ce-cli={versions.DOCKER_CE_CLI_VERSION}",
        f"containerd.io={versions.CONTAINERD_IO_VERSION}",
        f"docker-compose-plugin={versions.DOCKER_COMPOSE_PLUGIN_VERSION}",
    ]
    assert first.commands("apt-mark") == [
        ["hold", "docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"],
        ["hold", "google-cloud-ops-agent"],
    ]
    assert first.commands("ops-agent-repo-script") == [
        ["--also-install", f"--version={versions.OPS_AGENT_VERSION}"]
    ]
    assert len(first.commands("gpg")) == 1
    downloads = [c[-1] for c in first.commands("curl") if "--output" in c and c[-1].startswith("https")]
    assert downloads == [f"{versions.DOCKER_APT_URL}/gpg", versions.OPS_AGENT_REPO_SCRIPT_URL]
    docker = first.commands("docker")
    assert sum("pull" in c for c in docker) == 1
    assert sum("up" in c for c in docker) == 1
    assert ["enable", "--now", "containerd.service", "docker.service"] in first.commands(
        "systemctl"
    )
    keyring = fake.root / "etc/apt/keyrings/docker.asc"
    assert keyring.read_text() == "FAKE DOCKER KEY\n"
    sources = (fake.root / "etc/apt/sources.list.d/docker.sources").read_text()
    assert f"Signed-By: {keyring}\n" in sources
    assert "Suites: noble\n" in sources and "Architectures: amd64\n" in sources
    for step in STEPS:
        assert (fake.state_dir / "steps" / f"{step}.done").is_file()
    assert (fake.state_dir / "ready").is_file()
    assert not list(fake.state_dir.glob("tmp.*")), "temporary files must be cleaned up"

    second = fake.run()
    assert second.returncode == 0, second.stdout
    assert result_line(second).startswith("looper: app ready")
    for name in ("apt-get", "apt-mark", "gpg", "dpkg", "systemctl", "ops-agent-repo-script"):
        assert second.commands(name) == [], name
    assert not [c for c in second.commands("curl") if not c[-1].startswith("http://127.0.0.1")]
    assert [c for c in second.commands("docker") if "pull" in c] == []
    assert len([c for c in second.commands("docker") if "up" in c]) == 1
    for step in STEPS:
        assert f"looper: step {step}: already done, skipping" in second.stdout


def test_network_fetches_are_retried_with_a_bound(tmp_path: Path) -> None:
    fake = FakeRoot(tmp_path, render_app_vm_cloud_config(DEFAULT_SPEC))

    flaky = fake.run(STUB_FAIL_APT_GET="2")  # first two apt-get calls fail, then succeed
    assert flaky.returncode == 0, flaky.stdout
    assert [c[-1] for c in flaky.commands("apt-get")][:3] == ["update"] * 3
    assert "attempt 2/8 failed" in flaky.stdout


def test_partial_run_fails_loudly_and_resumes(tmp_path: Path) -> None:
    fake = FakeRoot(tmp_path, render_app_vm_cloud_config(DEFAULT_SPEC))

    broken = fake.run(STUB_FAIL_APT_GET="1000", LOOPER_RETRY_ATTEMPTS="3")
    assert broken.returncode != 0
    assert [c[-1] for c in broken.commands("apt-get")] == ["update"] * 3  # bounded
    assert result_line(broken).startswith("looper: app FAILED: step 'docker-engine'")
    steps = fake.state_dir / "steps"
    assert (steps / "docker-apt-repo.done").is_file()
    assert not (steps / "docker-engine.done").exists()

    resumed = fake.run()
    assert resumed.returncode == 0, resumed.stdout
    assert "looper: step docker-apt-repo: already done, skipping" in resumed.stdout
    assert resumed.commands("gpg") == []  # the finished step did not run again
    assert len([c for c in resumed.commands("apt-get") if "install" in c]) == 1


def test_unhealthy_app_is_reported(tmp_path: Path) -> None:
    fake = FakeRoot(tmp_path, render_app_vm_cloud_config(DEFAULT_SPEC))
    assert fake.run().returncode == 0

    sick = fake.run(STUB_FAIL_CURL="1000")
    assert sick.returncode != 0
    assert len(sick.commands("curl")) == 3  # LOOPER_HEALTH_ATTEMPTS
    assert result_line(sick).startswith(
        "looper: app FAILED: no healthy answer from http://127.0.0.1:8080/health"
    )


def test_wrong_signing_key_is_rejected(tmp_path: Path) -> None:
    fake = FakeRoot(tmp_path, render_app_vm_cloud_config(DEFAULT_SPEC))
    run = fake.run(STUB_GPG_FINGERPRINT="0" * 40)
    assert run.returncode != 0
    assert "looper: app FAILED: Docker's apt signing key has fingerprint(s)" in run.stdout
    assert not (fake.root / "etc/apt/keyrings/docker.asc").exists()
    assert [c for c in run.commands("apt-get") if "install" in c] == []


def test_wrong_os_is_rejected(tmp_path: Path) -> None:
    fake = FakeRoot(tmp_path, render_app_vm_cloud_config(DEFAULT_SPEC))
    (fake.root / "etc/os-release").write_text("VERSION_CODENAME=jammy\n")
    run = fake.run()
    assert run.returncode != 0
    assert "pinned for Ubuntu noble, but" in result_line(run)
    assert run.calls == []


# --- 6. what config cannot guarantee -----------------------------------------------------------
# (everything else the spec holds is validated by config: tests/config/test_v1.py)


def test_env_value_with_nul_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^invalid AppVmStartup: app_env: values of 'NUL' must not"):
        AppVmStartup(domain="a.example.com", acme_email="a@example.com",
                     app_image=app_image.DEMO_APP_IMAGE, app_port=8080, health_path="/",
                     app_env={"OK": "fine", "NUL": "a\x00b"})


def test_spec_is_frozen_against_later_mutation() -> None:
    env = {"A": "1"}
    spec = AppVmStartup(
        domain="a.example.com", acme_email="a@example.com",
        app_image=app_image.DEMO_APP_IMAGE, app_port=8080, health_path="/", app_env=env,
    )
    env["A"] = "2"
    assert spec.app_env == {"A": "1"}
    assert isinstance(spec.app_env, Mapping)
    hash(spec)
