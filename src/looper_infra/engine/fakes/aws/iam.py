"""IAM roles, policies, instance profiles, role policies and attachments, OIDC providers.

IAM is global: ARNs carry no region (`arn:aws:iam::<account>:role/<path><name>`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from looper_infra.engine.fakes.aws.ids import CREATED, auto_name, iam_arn, unique_suffix
from looper_infra.engine.fakes.seeded import UPPER_ALNUM, chars
from looper_infra.engine.mocks import Fake, MockContext


def _path(inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("path") or "/")


def _unique_id(prefix: str, name: str) -> str:
    return prefix + chars(UPPER_ALNUM, 17, prefix, name)


def role(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    role_name = auto_name(name, inputs, max_length=64)
    path = _path(inputs)
    return {**inputs, "id": role_name, "name": role_name, "path": path,
            "arn": iam_arn(ctx.aws_account, f"role{path}{role_name}"),
            "uniqueId": _unique_id("AROA", role_name), "createDate": CREATED,
            "maxSessionDuration": inputs.get("maxSessionDuration") or 3600,
            "forceDetachPolicies": bool(inputs.get("forceDetachPolicies"))}


def policy(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    policy_name = auto_name(name, inputs, max_length=128)
    path = _path(inputs)
    policy_arn = iam_arn(ctx.aws_account, f"policy{path}{policy_name}")
    return {**inputs, "id": policy_arn, "arn": policy_arn, "name": policy_name, "path": path,
            "policyId": _unique_id("ANPA", policy_name), "attachmentCount": 0}


def instance_profile(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    profile_name = auto_name(name, inputs, max_length=128)
    path = _path(inputs)
    return {**inputs, "id": profile_name, "name": profile_name, "path": path,
            "arn": iam_arn(ctx.aws_account, f"instance-profile{path}{profile_name}"),
            "uniqueId": _unique_id("AIPA", profile_name), "createDate": CREATED}


def role_policy(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    policy_name = auto_name(name, inputs, max_length=128)
    return {**inputs, "id": f"{inputs['role']}:{policy_name}", "name": policy_name}


def role_policy_attachment(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['role']}-{unique_suffix('attachment', name)}"}


def openid_connect_provider(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    url = str(inputs["url"])
    issuer = url.split("://", 1)[-1].rstrip("/")
    provider_arn = iam_arn(ctx.aws_account, f"oidc-provider/{issuer}")
    thumbprints = inputs.get("thumbprintLists") or [hashlib.sha1(issuer.encode(), usedforsecurity=False)
                                                    .hexdigest()]
    return {**inputs, "id": provider_arn, "arn": provider_arn, "thumbprintLists": thumbprints}


FAKES: dict[str, Fake] = {
    "aws:iam/role:Role": role,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": role_policy_attachment,
    "aws:iam/policy:Policy": policy,
    "aws:iam/instanceProfile:InstanceProfile": instance_profile,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": openid_connect_provider,
}
