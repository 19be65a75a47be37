"""The v1/v2/v3 app image: a required config value pinned by an exact tag or digest.

Bad images exit 2 naming `looper:app.image`; a stack without one is refused (no silent
default); the example stacks run the demo image and say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from helpers.plans import ROOT, example_values, issues_of
from looper_infra import cli
from looper_infra.config import validate_mapping
from looper_infra.config.base import image_ref_problem
from looper_infra.facts.app_image import DEMO_APP_IMAGE

STACKS = ("v1-dev", "v1-prod", "v2-dev", "v2-prod", "v3-dev", "v3-prod")
DIGEST = "sha256:" + "0123456789abcdef" * 4

GOOD = ["traefik/whoami:v1.11.0", "ghcr.io/looper/api:2026.12.1", "registry.example.com:5000/looper/api:1.0",
        "localhost:5000/api:rc_1", f"looper/api@{DIGEST}", f"ghcr.io/looper/api:1.4.2@{DIGEST}",
        "asia-northeast3-docker.pkg.dev/p/repo/api:1.2.3-rc.1"]
BAD = {
    "looper/api": "must be pinned with an exact tag or a sha256 digest",
    "ghcr.io/looper/api": "must be pinned",
    "registry.example.com:5000/looper/api": "must be pinned",
    "looper/api:latest": "floating tag 'latest'",
    "looper/api:Latest": "floating tag 'latest'",
    "looper/api:": "is not a valid tag",
    "looper/api:1.0\n": "is not a valid tag",
    "looper/api:-1": "is not a valid tag",
    "looper/api@sha256:abc": "the digest must be sha256:<64 lowercase hex digits>",
    f"looper/api@sha512:{DIGEST[7:]}": "the digest must be",
    "Looper/API:1.0": "not a valid container image reference",
    "looper//api:1.0": "not a valid container image reference",
    "looper/api:1:2": "not a valid container image reference",
    "": "not a valid container image reference",
}


@pytest.mark.parametrize("image", GOOD)
def test_pinned_references_are_accepted(image: str) -> None:
    assert image_ref_problem(image) is None


@pytest.mark.parametrize(("image", "fragment"), BAD.items(), ids=repr)
def test_unpinned_or_malformed_references_are_refused(image: str, fragment: str) -> None:
    problem = image_ref_problem(image)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("stack", STACKS)
def test_every_gcp_stage_names_the_field_of_a_bad_or_missing_image(stack: str) -> None:
    values = example_values(stack)
    values["app"]["image"] = "looper/api:latest"
    assert "floating tag 'latest'" in issues_of(values)["looper:app.image"]
    del values["app"]["image"]
    assert "looper:app.image" in issues_of(values)  # required: there is no default image


def test_v3_needs_its_app_section() -> None:
    values = example_values("v3-dev")
    del values["app"]
    assert "looper:app" in issues_of(values)


@pytest.mark.parametrize("stack", STACKS)
def test_the_examples_run_the_demo_image_and_label_it(stack: str) -> None:
    cfg: Any = validate_mapping(example_values(stack), "test")
    assert cfg.app.image == DEMO_APP_IMAGE
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    (line,) = [x for x in text.splitlines() if x.strip().startswith("image: ") and DEMO_APP_IMAGE in x]
    assert "# DEMO image" in line


def test_plan_exits_2_naming_the_image_field(tmp_path: Path) -> None:
    values = example_values("v3-prod")
    values["app"]["image"] = "looper/api"
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    result = CliRunner().invoke(cli.app, ["plan", "v3", "--config", str(path)])
    assert result.exit_code == 2
    assert "looper:app.image" in result.output and "must be pinned" in result.output
