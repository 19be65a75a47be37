"""Per-region facts as package data: every region the config accepts has its availability
zone IDs and hosted zones; a region without them fails the plan instead of getting made-up ones."""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Network

import pytest

from looper_infra.config.aws import AWS_REGIONS
from looper_infra.engine.fakes import tables
from looper_infra.engine.fakes.aws import regions
from looper_infra.engine.fakes.aws.regions import HOSTED_ZONE_SERVICES


def test_the_packaged_table_loads_once_and_is_what_the_file_holds() -> None:
    path = tables.DATA_DIR / "aws_regions.json"
    assert tables.table("aws_regions") == json.loads(path.read_text(encoding="utf-8"))
    assert tables.table("aws_regions") is tables.table("aws_regions")  # parsed once


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_every_configurable_region_has_zone_ids_and_hosted_zones(region: str) -> None:
    code = regions.az_id(f"{region}a").removesuffix("-az1")
    area, direction, number = region.split("-")
    # the AZ ID prefix abbreviates the region: ap-northeast-2 -> apne2, eu-central-1 -> euc1
    assert code.startswith(area + direction[0]) and code.endswith(number)
    for service in HOSTED_ZONE_SERVICES:
        assert re.fullmatch(r"Z[A-Z0-9]{8,20}", regions.hosted_zone(service, region)), service
    assert regions.public_pool(region).subnet_of(IPv4Network("0.0.0.0/0"))


def test_known_values() -> None:
    assert regions.az_id("ap-northeast-2c") == "apne2-az3"
    assert regions.az_id("us-east-1d") == "use1-az4" and regions.az_id("eu-central-1a") == "euc1-az1"
    assert regions.az_id("ca-central-1d") == "cac1-az4"
    assert regions.az_from_id("ap-northeast-2", "apne2-az3") == "ap-northeast-2c"
    assert regions.hosted_zone("network_load_balancer", "us-east-1") == "Z26RNL4JYFTOTI"
    assert regions.hosted_zone("application_load_balancer", "ap-northeast-2") == "ZWKZPGTI48KDX"
    assert regions.hosted_zone("s3", "eu-west-1") == "Z1BKCTXD74EZPE"
    assert regions.cloudfront_hosted_zone() == "Z2FDTNDATAQYW2"
    assert regions.public_pool("ap-northeast-2") == IPv4Network("3.34.0.0/15")
    assert regions.public_pool("sa-east-1") == IPv4Network("3.0.0.0/8")  # Amazon's, not one region's


def test_an_unknown_region_fails_with_what_to_add() -> None:
    with pytest.raises(ValueError, match=r"no Network Load Balancer hosted zone ID for region 'xx-nowhere-9'"
                                         r".*engine/fakes/data/aws_regions\.json"):
        regions.hosted_zone("network_load_balancer", "xx-nowhere-9")
    with pytest.raises(ValueError, match=r"no availability zone IDs for region 'xx-nowhere-9'"):
        regions.az_id("xx-nowhere-9a")
    assert regions.public_pool("xx-nowhere-9") == IPv4Network("3.0.0.0/8")
