"""The IAM identity of a kind of node: role (EC2 trust), instance profile, least-privilege policy.

The inline policy grants `secretsmanager:GetSecretValue` on the given secret ARNs and nothing
else (plus any extra statements the caller names); AWS managed policies are attached by ARN as
the caller decides (ECR read-only for image pulls, SSM core for Session Manager instead of SSH,
the EBS CSI driver policy for workers).

Policy documents are built as JSON in the program (`Output.all(...).apply(json.dumps)`), not
with `aws.iam.get_policy_document`: an invoke needs a provider round-trip (and a mock offline).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.base import Component

#: IAM role names: 1-64 of letters, digits and +=,.@_-
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}\Z")
_MANAGED_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9+=,.@_/-]+\Z")


def assume_role_policy(service: str) -> str:
    """Trust policy: the AWS service `service` (e.g. `ec2.amazonaws.com`) may assume the role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


def read_secrets_policy(secret_arns: Sequence[pulumi.Input[str]],
                        extra_statements: Sequence[Mapping[str, Any]] = ()) -> pulumi.Output[str]:
    """`GetSecretValue` on exactly these secrets (resolved ARNs), then the extra statements.

    An extra statement's values may be Outputs (a key ARN): they are resolved before rendering.
    """
    def render(arns: list[str], extra: list[Mapping[str, Any]]) -> str:
        statements: list[Mapping[str, Any]] = []
        if arns:
            statements.append({"Sid": "ReadBootstrapSecrets", "Effect": "Allow",
                               "Action": "secretsmanager:GetSecretValue", "Resource": arns})
        statements += extra
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    extra = pulumi.Output.from_input([dict(s) for s in extra_statements])
    return pulumi.Output.all(extra, *secret_arns).apply(lambda v: render(list(v[1:]), list(v[0])))


@dataclass(frozen=True)
class NodeRoleArgs:
    #: role name (also the instance profile's), e.g. `looper-dev-worker`
    name: str
    #: Secrets Manager ARNs the node may read (GetSecretValue only)
    secret_arns: Sequence[pulumi.Input[str]] = ()
    #: managed policies to attach, by ARN (e.g. arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore)
    managed_policy_arns: Sequence[str] = ()
    #: further IAM statements for the inline policy (JSON-able dicts; values may be Outputs)
    extra_statements: Sequence[Mapping[str, Any]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not _ROLE_NAME.match(self.name):
            errors.append(f"name: {self.name!r} is not an IAM role name (1-64 of A-Za-z0-9+=,.@_-)")
        for i, arn in enumerate(self.managed_policy_arns):
            if not _MANAGED_ARN.match(arn):
                errors.append(f"managed_policy_arns[{i}]: {arn!r} is not an IAM policy ARN")
        if len(set(self.managed_policy_arns)) != len(self.managed_policy_arns):
            errors.append("managed_policy_arns: duplicates")
        for i, st in enumerate(self.extra_statements):
            if st.get("Effect") not in ("Allow", "Deny") or "Action" not in st or "Resource" not in st:
                errors.append(f"extra_statements[{i}]: needs Effect (Allow/Deny), Action and Resource")
        if not self.secret_arns and not self.extra_statements:
            errors.append("secret_arns/extra_statements: the inline policy would be empty")
        return errors


def _policy_key(arn: str) -> str:
    """A stable child-name suffix for a managed policy: its name, lowercased."""
    return re.sub(r"[^a-z0-9-]+", "-", arn.rsplit("/", 1)[-1].lower()).strip("-")


class NodeRole(Component):
    role: aws.iam.Role
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    instance_profile_name: pulumi.Output[str]
    instance_profile_arn: pulumi.Output[str]

    def __init__(self, name: str, args: NodeRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:NodeRole", name, args, opts)
        child = self.child_opts
        tags = dict(args.tags) or None
        self.role = aws.iam.Role(
            f"{name}-role", name=args.name, assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            description=f"EC2 nodes {args.name}", tags=tags, opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.name, name=f"{args.name}-inline",
            policy=read_secrets_policy(args.secret_arns, args.extra_statements), opts=child)
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-{_policy_key(arn)}", role=self.role.name, policy_arn=arn,
                                         opts=child)
            for arn in args.managed_policy_arns]
        # The profile's role name is taken from the policy and the attachments, so an instance
        # launched with this profile never boots before its permissions exist.
        ready_role_name = pulumi.Output.all(
            self.role.name, policy.id, *[a.id for a in attachments]).apply(lambda v: str(v[0]))
        profile = aws.iam.InstanceProfile(f"{name}-profile", name=args.name, role=ready_role_name,
                                          tags=tags, opts=child)
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.instance_profile_name = profile.name
        self.instance_profile_arn = profile.arn
        self.register_outputs({
            "role_arn": self.role_arn, "role_name": self.role_name,
            "instance_profile_name": self.instance_profile_name,
            "instance_profile_arn": self.instance_profile_arn,
        })
