"""Per-region facts the AWS fakes answer with: availability zone IDs, hosted zones, address pools.

The values are package data (`engine/fakes/data/aws_regions.json`), read on first use. A
region missing there fails the plan with what to add, rather than getting a made-up value.
"""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Network
from typing import Any

from looper_infra.engine.fakes.tables import table

DATA_FILE = "engine/fakes/data/aws_regions.json"
#: hosted zone key in the data -> what it is called in an error
HOSTED_ZONE_SERVICES = {
    "network_load_balancer": "Network Load Balancer",
    "application_load_balancer": "Application Load Balancer",
    "s3": "S3",
}


def _data() -> Any:
    return table("aws_regions")


def _region(region: str) -> dict[str, Any]:
    return _data()["regions"].get(region) or {}  # type: ignore[no-any-return]


def hosted_zone(service: str, region: str) -> str:
    """The Route 53 hosted zone of a regional endpoint (`network_load_balancer`, ... `s3`)."""
    zone = _region(region).get("hosted_zones", {}).get(service)
    if zone is None:
        raise ValueError(f"the offline plan has no {HOSTED_ZONE_SERVICES[service]} hosted zone ID for "
                         f"region {region!r}; add it to {DATA_FILE} from AWS's service endpoints page")
    return str(zone)


def cloudfront_hosted_zone() -> str:
    """CloudFront's one hosted zone, for alias records to any distribution."""
    return str(_data()["cloudfront_hosted_zone"])


@cache
def public_pool(region: str) -> IPv4Network:
    """Where public addresses come from: the region's EC2 block where known, else all of 3.0.0.0/8."""
    return IPv4Network(_region(region).get("public_pool") or _data()["default_public_pool"])


def az_id(az: str) -> str:
    """`ap-northeast-2a` -> `apne2-az1` (the letter-to-ID mapping varies per account in old regions)."""
    region = az[:-1]
    prefix = _region(region).get("az_id_prefix")
    if prefix is None:
        raise ValueError(f"the offline plan has no availability zone IDs for region {region!r}; "
                         f"add its az_id_prefix to {DATA_FILE}")
    return f"{prefix}-az{ord(az[-1]) - ord('a') + 1}"


def az_from_id(region: str, zone_id: str) -> str:
    """`apne2-az3` in ap-northeast-2 -> `ap-northeast-2c`."""
    return region + chr(ord("a") + int(zone_id.rsplit("az", 1)[1]) - 1)
