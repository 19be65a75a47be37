"""Settings every AWS stage shares: where it is built, and the environment name.

Stage v4 and v4-platform both validate these; they live apart from config/v4.py so that
v4-platform's validation does not load the whole v4 model (GCP, VPN and GPU settings).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from looper_infra.config.base import Strict
from looper_infra.facts.aws_zones import azs_of, region_of_az

__all__ = ["AWS_REGIONS", "AwsSettings", "Env", "az_problem"]

Env = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,11}$")]

#: AWS regions the stage is written and priced for; others are errors, not guesses.
AWS_REGIONS = (
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ap-south-1", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
    "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)


class AwsSettings(Strict):
    """Where the stage is built."""

    region: str = Field(description="AWS region (e.g. ap-northeast-2).")
    account_id: str = Field(
        pattern=r"^[0-9]{12}$",
        description="AWS account ID; the provider refuses credentials of any other account.")
    azs: list[str] = Field(
        min_length=2, max_length=6,
        description="Availability zones (at least 2, in the region), e.g. [ap-northeast-2a, "
        "ap-northeast-2c].")

    @field_validator("region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        if v not in AWS_REGIONS:
            raise ValueError(f"unsupported AWS region {v!r} (one of {', '.join(AWS_REGIONS)})")
        return v

    @field_validator("azs")
    @classmethod
    def _azs_in_region(cls, v: list[str], info: ValidationInfo) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("availability zones must be distinct")
        region = info.data.get("region")
        if region:
            bad = [p for p in (az_problem(z, region) for z in v) if p]
            if bad:
                raise ValueError("; ".join(bad))
        return v


def az_problem(az: str, region: str) -> str | None:
    """Why `az` is not an availability zone of `region` (naming the region's zones), or None."""
    zones = azs_of(region)
    if az in zones:
        return None
    other = region_of_az(az)
    where = f"is in {other}, not {region}" if other else f"is not an availability zone of {region}"
    return f"{az!r} {where} (zones of {region}: {', '.join(zones)})"
