"""Availability zones are checked against the region (facts/aws_zones.py): exit 2 naming the field
and listing the region's zones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from helpers.plans import example_values, issues_of
from looper_infra import cli
from looper_infra.config import validate_mapping
from looper_infra.config.aws import AWS_REGIONS, AwsSettings
from looper_infra.facts.aws_zones import azs_of

REGION_ZONES = "zones of ap-northeast-2: ap-northeast-2a, ap-northeast-2b, ap-northeast-2c, ap-northeast-2d"


def _v4(**aws: Any) -> dict[str, Any]:
    values = example_values("v4-dev")
    values["aws"].update(aws)
    return values


def test_a_zone_the_region_does_not_have_is_named_with_the_region_zones() -> None:
    issues = issues_of(_v4(azs=["ap-northeast-2a", "ap-northeast-2e"]))
    assert set(issues) == {"looper:aws.azs"}
    assert issues["looper:aws.azs"] == ("'ap-northeast-2e' is not an availability zone of "
                                        f"ap-northeast-2 ({REGION_ZONES})")


def test_a_zone_of_another_region_names_its_region() -> None:
    issues = issues_of(_v4(azs=["eu-west-1a", "ap-northeast-2c", "ap-northeast-2z"]))
    message = issues["looper:aws.azs"]
    assert "'eu-west-1a' is in eu-west-1, not ap-northeast-2" in message
    assert "'ap-northeast-2z' is not an availability zone of ap-northeast-2" in message
    assert REGION_ZONES in message


def test_a_name_shaped_like_a_zone_but_not_one_is_refused() -> None:
    # ca-central-1 has a, b and d: the old `region + letter` pattern accepted ca-central-1c
    values = _v4(region="ca-central-1", azs=["ca-central-1a", "ca-central-1c"])
    values["kafka_node"]["az"] = "ca-central-1a"
    issues = issues_of(values)
    assert "'ca-central-1c' is not an availability zone of ca-central-1" in issues["looper:aws.azs"]
    assert "ca-central-1a, ca-central-1b, ca-central-1d" in issues["looper:aws.azs"]


def test_kafka_node_zone_of_another_region() -> None:
    values = _v4()
    values["kafka_node"]["az"] = "us-east-1a"
    issues = issues_of(values)
    assert issues["looper:kafka_node.az"] == (
        f"'us-east-1a' is in us-east-1, not ap-northeast-2 ({REGION_ZONES}); it is not one of "
        "aws.azs (ap-northeast-2a, ap-northeast-2c)")


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_every_zone_of_every_region_is_accepted(region: str) -> None:
    zones = list(azs_of(region))
    settings = AwsSettings.model_validate({"region": region, "account_id": "123456789012",
                                           "azs": zones})
    assert settings.azs == zones


def test_good_zones_in_another_region_validate_the_whole_stage() -> None:
    values = _v4(region="us-east-1", azs=["us-east-1a", "us-east-1b", "us-east-1f"])
    values["kafka_node"]["az"] = "us-east-1f"
    for key in ("public_cidrs", "private_cidrs", "data_cidrs"):
        cidrs = values["network"][key]
        values["network"][key] = [*cidrs, str(_next_free(values, key))]
    cfg = validate_mapping(values, "test")
    assert cfg.aws.azs == ["us-east-1a", "us-east-1b", "us-east-1f"]  # type: ignore[attr-defined]


def _next_free(values: dict[str, Any], key: str) -> str:
    """A /24 of the VPC that no example subnet uses (for a third AZ)."""
    from ipaddress import IPv4Network

    used = [IPv4Network(c) for k in ("public_cidrs", "private_cidrs", "data_cidrs")
            for c in values["network"][k]]
    index = ("public_cidrs", "private_cidrs", "data_cidrs").index(key)
    free = [n for n in IPv4Network(values["network"]["vpc_cidr"]).subnets(new_prefix=24)
            if not any(n.overlaps(u) for u in used)]
    return str(free[index])


def test_bad_zone_exits_2_naming_the_field_without_traceback(tmp_path: Path) -> None:
    values = _v4(azs=["ap-northeast-2a", "us-west-2a"])
    path = tmp_path / "Pulumi.v4-dev.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    result = CliRunner().invoke(cli.app, ["plan", "v4", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "looper:aws.azs: 'us-west-2a' is in us-west-2, not ap-northeast-2" in result.output
    assert "Traceback" not in result.output
