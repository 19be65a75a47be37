"""AWS IDs and names derived from the logical name: the same program gives the same plan."""

from __future__ import annotations

import re

from looper_infra.engine.fakes.aws import cloudfront, kms, secretsmanager, vpc
from looper_infra.engine.fakes.aws.ids import arn, auto_name, ec2_id, unique_suffix
from looper_infra.engine.mocks import MockContext


def _ids() -> list[str]:
    return [vpc.vpc("net", {"cidrBlock": "10.1.0.0/16"}, MockContext())["id"],
            kms.kms_key("k", {}, MockContext())["keyId"],
            cloudfront.distribution("cdn", {}, MockContext())["id"],
            secretsmanager.secret("s", {"name": "looper/db"}, MockContext())["arn"]]


def test_same_name_same_ids_and_different_names_differ() -> None:
    first = _ids()
    assert first == _ids()
    assert vpc.vpc("other", {"cidrBlock": "10.1.0.0/16"}, MockContext())["id"] != first[0]
    assert ec2_id("i", "a") != ec2_id("vol", "a")
    assert re.fullmatch(r"vpc-0[0-9a-f]{16}", ec2_id("vpc", "net"))


def test_names_given_prefixed_or_auto() -> None:
    assert auto_name("web", {"name": "looper-web"}) == "looper-web"
    prefixed = auto_name("web", {"namePrefix": "looper-"})
    assert prefixed == f"looper-{unique_suffix('namePrefix', 'web')}"
    assert re.fullmatch(r"looper-\d{26}", prefixed)
    assert re.fullmatch(r"web-[0-9a-f]{7}", auto_name("web", {}))
    long = auto_name("Very-Long-Logical-Name-Of-A-Group", {}, max_length=20, lower=True)
    assert len(long) == 20 and long.startswith("very-long-lo")
    assert arn("s3", "", "", "bucket") == "arn:aws:s3:::bucket"
