"""Service accounts (e-mail, member, unique ID) and project IAM members."""

from __future__ import annotations

import hashlib
from typing import Any

from looper_infra.engine.fakes.gcp.ids import numeric_id, project_of
from looper_infra.engine.mocks import Fake, MockContext


def service_account(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    project = project_of(inputs, ctx)
    email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
    return {**inputs, "id": f"projects/{project}/serviceAccounts/{email}", "email": email,
            "name": f"projects/{project}/serviceAccounts/{email}", "member": f"serviceAccount:{email}",
            "uniqueId": numeric_id(email)}


def iam_member(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "etag": "BwY" + hashlib.sha256(name.encode()).hexdigest()[:9]}


FAKES: dict[str, Fake] = {
    "gcp:serviceaccount/account:Account": service_account,
    "gcp:projects/iAMMember:IAMMember": iam_member,
}
