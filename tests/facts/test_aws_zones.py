"""The AWS availability-zone table: one entry per accepted region, names as EC2 shows them."""

from __future__ import annotations

from looper_infra.config.aws import AWS_REGIONS
from looper_infra.facts.aws_zones import REGION_AZS, azs_of, region_of_az


def test_every_accepted_region_has_its_zones_and_no_other_region_is_listed() -> None:
    assert set(REGION_AZS) == set(AWS_REGIONS)
    assert all(len(zones) >= 2 and len(set(zones)) == len(zones) for zones in REGION_AZS.values())


def test_zone_names_are_region_plus_letter() -> None:
    assert azs_of("ap-northeast-2") == ("ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c",
                                        "ap-northeast-2d")
    assert "ca-central-1c" not in azs_of("ca-central-1") and "ca-central-1d" in azs_of("ca-central-1")
    assert azs_of("us-east-1")[-1] == "us-east-1f" and "us-east-1g" not in azs_of("us-east-1")
    assert azs_of("mars-1") == ()


def test_region_of_az() -> None:
    assert region_of_az("eu-west-1b") == "eu-west-1"
    assert region_of_az("us-east-1a") == "us-east-1"
    assert region_of_az("ap-northeast-2e") is None
    assert region_of_az("ap-northeast-2") is None
