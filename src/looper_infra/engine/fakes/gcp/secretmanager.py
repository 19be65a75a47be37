"""Secret Manager secrets (named by project number, as the API names them) and versions."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.gcp.ids import numeric_id, project_of
from looper_infra.engine.mocks import Fake, MockContext


def secret(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    number = numeric_id(project_of(inputs, ctx))[:12]
    path = f"projects/{number}/secrets/{inputs['secretId']}"
    return {**inputs, "id": f"projects/{project_of(inputs, ctx)}/secrets/{inputs['secretId']}",
            "name": path}


def secret_version(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['secret']}/versions/1", "name": f"{inputs['secret']}/versions/1",
            "version": "1"}


FAKES: dict[str, Fake] = {
    "gcp:secretmanager/secret:Secret": secret,
    "gcp:secretmanager/secretVersion:SecretVersion": secret_version,
}
