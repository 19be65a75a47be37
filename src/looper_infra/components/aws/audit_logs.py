"""The Kubernetes audit log in CloudWatch Logs: one log group, encrypted with its own KMS key.

The control planes ship kube-apiserver's audit log there (`looper-k8s-cp ship-logs`), one stream
per node; the log outlives the instance that wrote it, which is what an audit trail is for.

- the key: rotation on, 30-day deletion window; the account root administers it and CloudWatch
  Logs of this region may use it only for this log group (the
  `kms:EncryptionContext:aws:logs:arn` condition names the group's ARN);
- the group: `/<prefix>/<env>/k8s-audit` (`audit_log_group_name`), retention from config;
- the control-plane role may create streams, describe them and put events in this group only
  (`AuditLogGroup.writer_statements`): no reading, no deleting, no retention change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.kms import ACCOUNT_ID, PARTITIONS, REGION, customer_key
from looper_infra.components.base import Component
from looper_infra.facts.cloudwatch import CW_RETENTION_DAYS

_GROUP = re.compile(r"^[A-Za-z0-9_./#-]{1,512}\Z")


def audit_log_group_name(name_prefix: str, env: str) -> str:
    """`/<prefix>/<env>/k8s-audit`."""
    return f"/{name_prefix}/{env}/k8s-audit"


def log_group_arn(partition: str, region: str, account_id: str, group: str) -> str:
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{group}"


def key_policy(partition: str, region: str, account_id: str, group: str) -> str:
    """The account administers the key; CloudWatch Logs here may use it for this group only."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow",
             "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "CloudWatchLogsEncryptsThisGroup", "Effect": "Allow",
             "Principal": {"Service": f"logs.{region}.amazonaws.com"},
             "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                        "kms:Describe*"],
             "Resource": "*",
             "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                       log_group_arn(partition, region, account_id, group)}}},
        ],
    })


@dataclass(frozen=True)
class AuditLogGroupArgs:
    #: the log group's name: `audit_log_group_name(prefix, env)`
    name: str
    region: str
    account_id: str
    #: days kept (one of CloudWatch's retention periods)
    retention_days: int = 365
    partition: str = "aws"
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not _GROUP.match(self.name):
            errors.append(f"name: {self.name!r} is not a CloudWatch Logs group name")
        if not REGION.match(self.region):
            errors.append(f"region: {self.region!r} is not an AWS region")
        if not ACCOUNT_ID.match(self.account_id):
            errors.append(f"account_id: {self.account_id!r} is not a 12-digit AWS account ID")
        if self.retention_days not in CW_RETENTION_DAYS:
            errors.append(f"retention_days: {self.retention_days} (CloudWatch Logs accepts only "
                          f"{CW_RETENTION_DAYS})")
        if self.partition not in PARTITIONS:
            errors.append(f"partition: {self.partition!r} is not an AWS partition")
        return errors


class AuditLogGroup(Component):
    #: the group's name (handed out once the group exists)
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AuditLogGroupArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:AuditLogGroup", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.name, **args.tags}
        key = customer_key(name, description=f"{args.name}: Kubernetes audit log", tags=tags, opts=child,
                           policy=key_policy(args.partition, args.region, args.account_id, args.name))
        group = aws.cloudwatch.LogGroup(
            f"{name}-group", name=args.name, kms_key_id=key.arn, retention_in_days=args.retention_days,
            tags=tags, opts=child)
        self._arn = log_group_arn(args.partition, args.region, args.account_id, args.name)
        self.name = group.name
        self.arn = group.arn
        self.kms_key_arn = key.arn
        self.register_outputs({"name": self.name, "arn": self.arn, "kms_key_arn": self.kms_key_arn})

    def writer_statements(self) -> list[dict[str, Any]]:
        """IAM statements for the control-plane role: write streams of this group, nothing else."""
        return [{"Sid": "ShipAuditLog", "Effect": "Allow",
                 "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                 "Resource": [self._arn, f"{self._arn}:log-stream:*"]}]
