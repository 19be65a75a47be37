"""What a v4 plan hands its nodes, decoded: a launch template's user data (gzip, base64), the
files its cloud-config writes, and the control planes' day-2 bundle as Pulumi uploads it."""

from __future__ import annotations

import base64
import gzip
import io
import tarfile

import yaml

from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GCE_INSTANCE = "gcp:compute/instance:Instance"


def user_data(r: RecordedResource) -> str:
    """The cloud-config of a launch template (EC2: gzip, base64) or a GCE instance (plain)."""
    if r.type == GCE_INSTANCE:
        return str(r.inputs["metadata"]["user-data"])
    raw = base64.b64decode(r.inputs.get("userDataBase64") or r.inputs["userData"])
    return gzip.decompress(raw).decode()


def written_files(r: RecordedResource) -> dict[str, str]:
    """Path -> content of the files the cloud-config writes."""
    doc = yaml.safe_load(user_data(r))
    return {entry["path"]: entry["content"] for entry in doc.get("write_files", [])}


def bundle(plan: Plan) -> dict[str, str]:
    """The control planes' day-2 bundle (object ``cp-bundle``): path -> text."""
    (obj,) = [o for o in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.name == "cp-bundle"]
    data = gzip.decompress(base64.b64decode(obj.inputs["contentBase64"]))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {"/" + m.name: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                for m in tar.getmembers()}
