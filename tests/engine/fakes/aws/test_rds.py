"""RDS: endpoints, resource IDs, the managed master secret, subnet groups over two zones."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from looper_infra.engine.fakes.aws import kms, rds
from looper_infra.engine.mocks import MockContext


def test_rds_endpoint_resource_id_and_managed_master_secret(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, subnets = make_network(c, subnets={"db-a": ("10.1.20.0/24", "ap-northeast-2a"),
                                          "db-b": ("10.1.21.0/24", "ap-northeast-2b")})
    group = rds.db_subnet_group("db", {"subnetIds": [s["id"] for s in subnets.values()]}, c)
    assert group["arn"] == f"arn:aws:rds:ap-northeast-2:123456789012:subgrp:{group['name']}"
    key = kms.kms_key("db-key", {}, c)
    db = rds.db_instance("pg", {"identifier": "looper-db", "engine": "postgres", "multiAz": True,
                                "dbSubnetGroupName": group["name"], "storageEncrypted": True,
                                "kmsKeyId": key["arn"], "manageMasterUserPassword": True,
                                "masterUserSecretKmsKeyId": key["keyId"]}, c)
    assert re.fullmatch(r"looper-db\.c[a-z0-9]{11}\.ap-northeast-2\.rds\.amazonaws\.com", db["address"])
    assert db["address"] == rds.instance_address("looper-db", "ap-northeast-2", "123456789012")
    assert db["endpoint"] == f"{db['address']}:5432" and db["port"] == 5432 and db["id"] == "looper-db"
    assert db["arn"] == "arn:aws:rds:ap-northeast-2:123456789012:db:looper-db"
    assert re.fullmatch(r"db-[A-Z0-9]{26}", db["resourceId"])
    assert db["availabilityZone"] in {"ap-northeast-2a", "ap-northeast-2b"}
    assert db["kmsKeyId"] == key["arn"]
    (master,) = db["masterUserSecrets"]
    assert re.fullmatch(r"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:"
                        r"rds!db-[0-9a-f-]{36}-[A-Za-z0-9]{6}", master["secretArn"])
    assert f":secret:{rds.managed_secret_name('looper-db')}-" in master["secretArn"]
    assert master["kmsKeyId"] == key["arn"] and master["secretStatus"] == "active"
    plain = rds.db_instance("pg2", {"engine": "mysql"}, c)
    assert "masterUserSecrets" not in plain and plain["endpoint"].endswith(":3306")
    assert re.fullmatch(r"pg2-[0-9a-f]{7}", plain["identifier"])


def test_rds_encryption_defaults_to_the_aws_managed_key() -> None:
    c = MockContext()
    db = rds.db_instance("pg", {"identifier": "x", "storageEncrypted": True,
                                "manageMasterUserPassword": True}, c)
    assert db["kmsKeyId"] == kms.aws_managed_key(c, "ap-northeast-2", "aws/rds")
    assert db["masterUserSecrets"][0]["kmsKeyId"] == kms.aws_managed_key(c, "ap-northeast-2",
                                                                         "aws/secretsmanager")


def test_rds_subnet_group_must_span_two_zones(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, subnets = make_network(c, subnets={"db-a": ("10.1.20.0/24", "ap-northeast-2a"),
                                          "db-a2": ("10.1.21.0/24", "ap-northeast-2a")})
    with pytest.raises(ValueError, match="at least 2"):
        rds.db_subnet_group("db", {"subnetIds": [s["id"] for s in subnets.values()]}, c)
