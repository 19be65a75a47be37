"""RDS instances, subnet groups and parameter groups.

An instance's endpoint is `<identifier>.<per-account-and-region label>.<region>.rds.amazonaws.com`;
a managed master password is a Secrets Manager secret named `rds!db-<uuid>`. A subnet group
in fewer than two availability zones is refused, as the API refuses it.
"""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.aws.ids import CREATED, arn, auto_name
from looper_infra.engine.fakes.aws.kms import aws_managed_key, key_arn
from looper_infra.engine.fakes.aws.secretsmanager import secret_arn
from looper_infra.engine.fakes.aws.state import region_of, registry
from looper_infra.engine.fakes.inputs import fail, int_input
from looper_infra.engine.fakes.seeded import LOWER_ALNUM, UPPER_ALNUM, chars, uuid4
from looper_infra.engine.mocks import Fake, MockContext

ENGINE_PORTS = {"postgres": 5432, "mysql": 3306, "mariadb": 3306, "oracle-ee": 1521, "sqlserver-ex": 1433}


def instance_address(identifier: str, region: str, account: str) -> str:
    """An instance's endpoint host (the middle label is per account and region: "c" + 11 characters)."""
    cluster = "c" + chars(LOWER_ALNUM, 11, "rds", account, region)
    return f"{identifier}.{cluster}.{region}.rds.amazonaws.com"


def managed_secret_name(identifier: str) -> str:
    """The name of the secret RDS creates for an instance's managed master password."""
    return f"rds!db-{uuid4('rds-secret', identifier)}"


def db_subnet_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    group = auto_name(name, inputs, lower=True).lower()
    subnets = registry(ctx, "subnets")
    ids = [str(s) for s in inputs.get("subnetIds") or []]
    known = [subnets[s] for s in ids if s in subnets]
    zones = sorted({s["az"] for s in known})
    if len(known) == len(ids) and len(zones) < 2:
        raise fail("aws", "rds SubnetGroup", name, f"subnets cover {zones or 'no'} availability zone(s); "
                   "an RDS subnet group must cover at least 2")
    registry(ctx, "db_subnet_groups")[group] = zones
    vpcs = {s["vpcId"] for s in known}
    return {**inputs, "id": group, "name": group, "region": region,
            "arn": arn("rds", region, ctx.aws_account, f"subgrp:{group}"),
            "vpcId": next(iter(vpcs)) if len(vpcs) == 1 else "", "supportedNetworkTypes": ["IPV4"]}


def db_parameter_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    group = auto_name(name, inputs, lower=True).lower()
    return {**inputs, "id": group, "name": group, "region": region,
            "arn": arn("rds", region, ctx.aws_account, f"pg:{group}")}


def _master_user_secret(ctx: MockContext, region: str, identifier: str, key: Any) -> dict[str, Any]:
    return {"secretArn": secret_arn(region, ctx.aws_account, managed_secret_name(identifier)),
            "kmsKeyId": key_arn(ctx, region, key) if key else
            aws_managed_key(ctx, region, "aws/secretsmanager"),
            "secretStatus": "active"}


def db_instance(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    identifier = auto_name(name, inputs, key="identifier", prefix_key="identifierPrefix", max_length=63,
                           lower=True).lower()
    engine = str(inputs.get("engine") or "postgres")
    port = int_input("aws", "rds Instance", name, inputs, "port", ENGINE_PORTS.get(engine, 5432))
    address = instance_address(identifier, region, ctx.aws_account)
    zones = registry(ctx, "db_subnet_groups").get(str(inputs.get("dbSubnetGroupName")), [])
    state: dict[str, Any] = {
        **inputs, "id": identifier, "identifier": identifier, "address": address, "port": port,
        "endpoint": f"{address}:{port}", "arn": arn("rds", region, ctx.aws_account, f"db:{identifier}"),
        "resourceId": "db-" + chars(UPPER_ALNUM, 26, "rds-resource", name), "status": "available",
        "engine": engine, "engineVersionActual": inputs.get("engineVersion") or "",
        "availabilityZone": inputs.get("availabilityZone") or (zones[0] if zones else f"{region}a"),
        "caCertIdentifier": inputs.get("caCertIdentifier") or "rds-ca-rsa2048-g1",
        "listenerEndpoints": [], "replicas": [], "latestRestorableTime": CREATED, "region": region,
    }
    if inputs.get("storageEncrypted"):
        state["kmsKeyId"] = key_arn(ctx, region, inputs["kmsKeyId"]) if inputs.get("kmsKeyId") else \
            aws_managed_key(ctx, region, "aws/rds")
    if inputs.get("manageMasterUserPassword"):
        state["masterUserSecrets"] = [
            _master_user_secret(ctx, region, identifier, inputs.get("masterUserSecretKmsKeyId"))]
    return state


FAKES: dict[str, Fake] = {
    "aws:rds/instance:Instance": db_instance,
    "aws:rds/subnetGroup:SubnetGroup": db_subnet_group,
    "aws:rds/parameterGroup:ParameterGroup": db_parameter_group,
}
