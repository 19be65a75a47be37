"""Cloud Storage buckets (`gs://` URL and JSON API self link)."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.gcp.ids import cloud_name, project_of
from looper_infra.engine.mocks import Fake, MockContext


def bucket(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = cloud_name(name, inputs)
    return {**inputs, "name": cloud, "id": cloud, "url": f"gs://{cloud}",
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{cloud}",
            "project": project_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "gcp:storage/bucket:Bucket": bucket,
}
