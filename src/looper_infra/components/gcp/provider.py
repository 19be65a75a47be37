"""The explicit GCP provider every GCP stage uses (no ambient gcp:* config)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_gcp as gcp


def gcp_provider(
    name: str, *, project: str, region: str, zone: str, labels: Mapping[str, str]
) -> gcp.Provider:
    """A provider pinned to one project/region/zone that stamps `labels` on every resource."""
    return gcp.Provider(
        name,
        project=project,
        region=region,
        zone=zone,
        default_labels=dict(labels),
        opts=pulumi.ResourceOptions(),
    )
