"""Cloud DNS record sets."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.gcp.ids import project_of
from looper_infra.engine.mocks import Fake, MockContext


def record_set(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    project = project_of(inputs, ctx)
    rid = f"projects/{project}/managedZones/{inputs['managedZone']}/rrsets/{inputs['name']}/{inputs['type']}"
    return {**inputs, "project": project, "id": rid}


FAKES: dict[str, Fake] = {
    "gcp:dns/recordSet:RecordSet": record_set,
}
