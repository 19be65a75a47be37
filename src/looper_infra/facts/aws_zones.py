"""AWS regions and the availability-zone names EC2 shows in them.

Source: AWS "AWS Availability Zones" (docs.aws.amazon.com/global-infrastructure/latest/regions/
aws-availability-zones.html: the AZ IDs of each region), read 2026-12-05, with the zone names
(`<region><letter>`) EC2 reports for them (`aws ec2 describe-availability-zones --region R`);
not yet re-checked with an account's describe-availability-zones. Covers every region
config/aws.py accepts (AWS_REGIONS; a test keeps the two in step).

In the oldest regions AWS maps zone names to physical zones per account, and an account may be
shown only some of the names (us-west-1: two of a/b/c; ap-northeast-1: b only in old accounts;
ca-central-1 has no `c`). A name no account is shown is an error; which of these names your
account has is only known to AWS (the preview fails on a name it lacks).
Add a region here (with its zones) when config/aws.py starts accepting it.
"""

from __future__ import annotations

REGION_AZS: dict[str, tuple[str, ...]] = {
    "ap-northeast-1": ("a", "b", "c", "d"),
    "ap-northeast-2": ("a", "b", "c", "d"),
    "ap-northeast-3": ("a", "b", "c"),
    "ap-south-1": ("a", "b", "c"),
    "ap-southeast-1": ("a", "b", "c"),
    "ap-southeast-2": ("a", "b", "c"),
    "ca-central-1": ("a", "b", "d"),
    "eu-central-1": ("a", "b", "c"),
    "eu-north-1": ("a", "b", "c"),
    "eu-west-1": ("a", "b", "c"),
    "eu-west-2": ("a", "b", "c"),
    "eu-west-3": ("a", "b", "c"),
    "sa-east-1": ("a", "b", "c"),
    "us-east-1": ("a", "b", "c", "d", "e", "f"),
    "us-east-2": ("a", "b", "c"),
    "us-west-1": ("a", "b", "c"),
    "us-west-2": ("a", "b", "c", "d"),
}


def azs_of(region: str) -> tuple[str, ...]:
    """Full availability-zone names of a region (empty when the region is unknown)."""
    return tuple(f"{region}{z}" for z in REGION_AZS.get(region, ()))


def region_of_az(az: str) -> str | None:
    """The region whose zone `az` is, or None when no region in the table has it."""
    return next((r for r in REGION_AZS if az in azs_of(r)), None)
