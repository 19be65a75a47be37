"""A JSON secret in AWS Secrets Manager, written by Pulumi, read by nodes and External Secrets.

The value is a JSON object of named strings (`{"token": ..., "ca_crt": ...}`); it exists only as
a Pulumi secret (masked in plans, encrypted in state) and as the secret's current version.
Nodes get the secret's *name* in their user data and fetch the value at boot with their
instance role, which is scoped to this ARN (see `iam.NodeRole`).

Every secret the stacks write is encrypted with the cluster's customer managed key
(`secrets_key`): the key can be used for cryptography only through Secrets Manager in this
account (`kms:ViaService`), and only by principals whose IAM policy grants it on this key
(`use_through_secrets_manager`). Changing `kms_key_id` of an existing secret is an update in place
(UpdateSecret; Secrets Manager re-encrypts the current versions with the new key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.kms import customer_key
from looper_infra.components.base import Component

#: Secrets Manager names: 1-512 of letters, digits and /_+=.@- (no `-` + 6 chars at the end,
#: which would look like the suffix AWS appends to ARNs).
_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}\Z")
_ARN_SUFFIX_LOOKALIKE = re.compile(r"-[A-Za-z0-9]{6}\Z")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True)
class JsonSecretArgs:
    #: e.g. `looper-cluster/dev/join`
    name: str
    #: key -> value (values are usually secret Outputs: tokens, keys)
    values: Mapping[str, pulumi.Input[str]]
    #: the customer managed KMS key (ARN; `secrets_key`): never the account's `aws/secretsmanager`
    kms_key_id: pulumi.Input[str]
    description: str = ""
    #: 7-30 days in which a deleted secret can be restored; 0 deletes at once (dev only)
    recovery_window_in_days: int = 7
    #: the value is rewritten in place by its users (the join token, rotated by the control
    #: planes): Pulumi writes the first value and never reverts a later one (`ignore_changes`)
    rotated_in_place: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not _NAME.match(self.name):
            errors.append(f"name: {self.name!r} is not a Secrets Manager name (1-512 of A-Za-z0-9/_+=.@-)")
        elif _ARN_SUFFIX_LOOKALIKE.search(self.name):  # regex-guard: search (the name's suffix)
            errors.append(f"name: {self.name!r} ends with '-' and 6 characters, which looks like the "
                          "random suffix of a secret ARN and breaks partial-ARN lookups")
        if not self.values:
            errors.append("values: at least one key")
        if isinstance(self.kms_key_id, str) and (
                not self.kms_key_id or self.kms_key_id.endswith("aws/secretsmanager")):
            errors.append(f"kms_key_id: {self.kms_key_id!r} is not a customer managed key")
        errors += [f"values: key {k!r} is not a plain identifier" for k in self.values if not _KEY.match(k)]
        if self.recovery_window_in_days != 0 and not 7 <= self.recovery_window_in_days <= 30:
            errors.append("recovery_window_in_days: 0 (delete at once) or 7-30")
        return errors


#: what the account's administrators may do with the key (no cryptography: that goes through
#: Secrets Manager only)
KEY_ADMIN_ACTIONS = ("kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                     "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                     "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
                     "kms:RotateKeyOnDemand")
#: what Secrets Manager does with the key on a caller's behalf (write: GenerateDataKey, read: Decrypt)
KEY_USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")


def secrets_manager_service(region: str) -> str:
    """The `kms:ViaService` value of Secrets Manager in `region`."""
    return f"secretsmanager.{region}.amazonaws.com"


def secrets_key_policy(*, partition: str, region: str, account_id: str) -> str:
    """The key policy of the secrets key: the account administers it; cryptography only through
    Secrets Manager in this region for callers in this account, and only for principals whose IAM
    policies allow it (the root principal delegates to IAM). No role is named here: KMS refuses a
    policy naming a principal that does not exist yet, and the readers are created after the key."""
    root = f"arn:{partition}:iam::{account_id}:root"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdministersKey", "Effect": "Allow", "Principal": {"AWS": root},
             "Action": list(KEY_ADMIN_ACTIONS), "Resource": "*"},
            {"Sid": "UseOnlyThroughSecretsManager", "Effect": "Allow", "Principal": {"AWS": root},
             "Action": list(KEY_USE_ACTIONS), "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": secrets_manager_service(region),
                                            "kms:CallerAccount": account_id}}},
        ],
    })


def secrets_key(name: str, *, alias: str, partition: str, region: str, account_id: str,
                tags: Mapping[str, str], opts: pulumi.ResourceOptions) -> aws.kms.Key:
    """The customer managed key of a cluster's secrets: `<name>-key` (rotation on, 30-day deletion
    window, `secrets_key_policy`) and alias `alias/<alias>`."""
    return customer_key(name, description=f"{alias}: Secrets Manager secrets", tags=tags, opts=opts,
                        policy=secrets_key_policy(partition=partition, region=region, account_id=account_id),
                        alias=alias)


def use_through_secrets_manager(key_arn: pulumi.Input[str], region: str, account_id: str, *,
                                 write: bool = False, sid: str = "DecryptSecretsThroughSecretsManager",
                                 ) -> dict[str, Any]:
    """IAM statement: `kms:Decrypt` (and `kms:GenerateDataKey` when the principal writes a value)
    on exactly this key, only when Secrets Manager calls KMS for this account."""
    return {"Sid": sid, "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"] if write else "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": secrets_manager_service(region),
                                           "kms:CallerAccount": account_id}}}


def secret_json(values: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[str]:
    """`json.dumps` of the resolved values, always a Pulumi secret (sorted keys: a stable diff)."""
    keys = sorted(values)
    rendered = pulumi.Output.all(*[values[k] for k in keys]).apply(
        lambda resolved: json.dumps(dict(zip(keys, resolved, strict=True)), sort_keys=True))
    return pulumi.Output.secret(rendered)


class JsonSecret(Component):
    secret: aws.secretsmanager.Secret
    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    #: the version's ARN once the value is stored: depend on this to read a value that exists
    version_id: pulumi.Output[str]

    def __init__(self, name: str, args: JsonSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:JsonSecret", name, args, opts)
        child = self.child_opts
        self.secret = aws.secretsmanager.Secret(
            f"{name}-secret", name=args.name, description=args.description or None,
            kms_key_id=args.kms_key_id, recovery_window_in_days=args.recovery_window_in_days,
            tags=dict(args.tags) or None, opts=child)
        version = aws.secretsmanager.SecretVersion(
            f"{name}-version", secret_id=self.secret.id, secret_string=secret_json(args.values),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                ignore_changes=["secretString"] if args.rotated_in_place else None)))
        self.arn = self.secret.arn
        self.name = self.secret.name
        self.version_id = version.version_id
        self.register_outputs({"arn": self.arn, "name": self.name, "version_id": self.version_id})
