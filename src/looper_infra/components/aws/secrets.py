"""A JSON secret in AWS Secrets Manager, written by Pulumi, read by nodes and External Secrets.

The value is a JSON object of named strings (`{"token": ..., "ca_crt": ...}`); it exists only as
a Pulumi secret (masked in plans, encrypted in state) and as the secret's current version.
Nodes get the secret's *name* in their user data and fetch the value at boot with their
instance role, which is scoped to this ARN (see `iam.NodeRole`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from looper_infra.components.base import Component

#: Secrets Manager names: 1-512 of letters, digits and /_+=.@- (no `-` + 6 chars at the end,
#: which would look like the suffix AWS appends to ARNs).
_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}\Z")
_ARN_SUFFIX_LOOKALIKE = re.compile(r"-[A-Za-z0-9]{6}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True)
class JsonSecretArgs:
    #: e.g. `looper-cluster/dev/join`
    name: str
    #: key -> value (values are usually secret Outputs: tokens, keys)
    values: Mapping[str, pulumi.Input[str]]
    description: str = ""
    #: customer managed KMS key (id or ARN); None: the account's `aws/secretsmanager` key
    kms_key_id: pulumi.Input[str] | None = None
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
        elif _ARN_SUFFIX_LOOKALIKE.search(self.name):
            errors.append(f"name: {self.name!r} ends with '-' and 6 characters, which looks like the "
                          "random suffix of a secret ARN and breaks partial-ARN lookups")
        if not self.values:
            errors.append("values: at least one key")
        errors += [f"values: key {k!r} is not a plain identifier" for k in self.values if not _KEY.match(k)]
        if self.recovery_window_in_days != 0 and not 7 <= self.recovery_window_in_days <= 30:
            errors.append("recovery_window_in_days: 0 (delete at once) or 7-30")
        return errors


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
