"""Config `apps` of stage v4-platform: the examples' apps load; every bad field is named at its path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers.plans import ROOT, example_values, issues_of
from looper_infra.config import validate_mapping
from looper_infra.config.base import check_image_ref
from looper_infra.config.v4_platform import V4PlatformConfig


def app(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "api", "image": "ghcr.io/example/api:1.4.2", "port": 8080, "replicas": {"min": 2, "max": 4},
        "resources": {"cpu_request": "100m", "memory_request": "128Mi", "cpu_limit": "1",
                      "memory_limit": "256Mi"},
        "health": {"startup": "/healthz", "readiness": "/readyz", "liveness": "/livez"},
        "routes": [{"host": "api.example.com", "path": "/"}],
    }
    return {**base, **over}


def with_apps(*apps: dict[str, Any]) -> dict[str, Any]:
    values = example_values("v4-platform-dev")
    values["apps"] = list(apps)
    return values


@pytest.mark.parametrize("stack", ["v4-platform-dev", "v4-platform-prod"])
def test_examples_describe_the_api_and_the_gpu_ai_service_with_labelled_demo_images(stack: str) -> None:
    cfg = validate_mapping(example_values(stack), stack)
    assert isinstance(cfg, V4PlatformConfig)
    by_name = {a.name: a for a in cfg.apps}
    assert set(by_name) == {"looper-api", "looper-ai"}
    assert all(a.labels == {"demo": "true"} and "podinfo:6.9.2" in a.image for a in cfg.apps)
    assert by_name["looper-ai"].gpu and not by_name["looper-api"].gpu
    assert by_name["looper-ai"].clients == ["looper-api"] and by_name["looper-ai"].routes == []
    assert by_name["looper-api"].routes and set(by_name["looper-api"].secrets) == {
        "rds", "redis", "chromadb", "kafka"}
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert "DEMO IMAGES" in text  # the comment says what they are


@pytest.mark.parametrize("image", [
    "ghcr.io/example/api:1.4.2", "registry.local:5000/team/api:v2", "api@sha256:" + "a" * 64,
    "ghcr.io/example/api:1.4.2@sha256:" + "b" * 64])
def test_pinned_images_are_accepted(image: str) -> None:
    assert check_image_ref(image) == image


@pytest.mark.parametrize(("image", "fragment"), [
    ("ghcr.io/example/api", "pinned with an exact tag or a sha256 digest"),
    ("api:latest", "floating tag 'latest'"), ("api:stable", "floating tag 'stable'"),
    ("api:1.0\n", "not a valid tag"), ("API:1", "not a valid container image"),
    ("api@sha256:abc", "digest must be sha256")])
def test_unpinned_images_are_refused(image: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        check_image_ref(image)


def test_every_field_mistake_is_named_at_its_path() -> None:
    issues = issues_of(with_apps(
        app(image="ghcr.io/example/api"),
        app(name="b", image="b:latest", replicas={"min": 5, "max": 2}),
        app(name="c", replicas={"min": 1, "max": 2}, port=80),
        app(name="Bad_Name", pre_stop_seconds=30, termination_grace_seconds=30),
        app(name="e", health={"startup": "healthz", "readiness": "/r", "liveness": "/l"},
            labels={"app.kubernetes.io/name": "x"}, irsa_role_arn="role")))
    assert issues["looper:apps[0].image"] == ("image 'ghcr.io/example/api' must be pinned with an exact tag "
                                              "or a sha256 digest")
    assert "floating tag 'latest'" in issues["looper:apps[1].image"]
    assert issues["looper:apps[1].replicas.max"] == "min 5 is above max 2"
    assert "allow_single_replica" in issues["looper:apps[2].replicas.allow_single_replica"]
    assert "greater than or equal to 1024" in issues["looper:apps[2].port"]
    assert "DNS label" in issues["looper:apps[3].name"]
    assert "must exceed pre_stop_seconds" in issues["looper:apps[3].termination_grace_seconds"]
    assert "absolute HTTP path" in issues["looper:apps[4].health.startup"]
    assert "'app.kubernetes.io/name': 'x'" in issues["looper:apps[4].labels"]
    assert "IAM role ARN" in issues["looper:apps[4].irsa_role_arn"]
    assert len(issues) == 10


def test_cross_field_mistakes_are_named_at_their_paths() -> None:
    values = with_apps(
        app(),
        app(routes=[{"host": "other.example.com"}]),                     # duplicate name
        app(name="web", routes=[{"host": "www.example.com"}, {"host": "api.example.com", "path": "/"}],
            app_secrets=["openai", "nope"], clients=["ghost", "web"]),
        app(name="gpu", gpu=True, routes=[]))
    values["gpu"] = {"enabled": False}
    issues = issues_of(values)
    assert issues == {
        "looper:apps[1].name": "'api' is already the name of apps[0]",
        "looper:apps[2].routes[1]": "api.example.com/ is already routed by apps[0].routes[0]",
        "looper:apps[2].app_secrets[1]": "'nope' is not in secrets.app_secrets",
        "looper:apps[2].clients[0]": "'ghost' is not another app of this list",
        "looper:apps[2].clients[1]": "'web' is not another app of this list",
        "looper:apps[3].gpu": "needs the GPU operator (gpu.enabled: true) to be scheduled",
    }


def test_same_host_on_another_path_and_single_replica_by_name_are_fine() -> None:
    cfg = validate_mapping(with_apps(
        app(), app(name="docs", routes=[{"host": "api.example.com", "path": "/docs"}],
                   replicas={"min": 1, "max": 1, "allow_single_replica": True})), "test")
    assert isinstance(cfg, V4PlatformConfig)
    assert [a.replicas.min for a in cfg.apps] == [2, 1]


def test_the_cli_exits_2_naming_each_bad_app_field(tmp_path: Path) -> None:
    values = with_apps(app(image="nginx"), app(image="nginx:latest", replicas={"min": 3, "max": 2}))
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    command = [sys.executable, "-m", "looper_infra", "plan", "v4-platform", "--config", str(path)]
    proc = subprocess.run(command,
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    for field in ("looper:apps[0].image", "looper:apps[1].image", "looper:apps[1].replicas.max"):
        assert field in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
