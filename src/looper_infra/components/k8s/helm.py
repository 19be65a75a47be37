"""One pinned Helm release (helm.sh/v3 Release) from the chart table; the pieces every chart shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_kubernetes.helm.v3 import Release, ReleaseArgs, RepositoryOptsArgs

from looper_infra.facts.charts import chart

#: Seconds Helm waits for the release's resources to become ready before rolling back (atomic).
DEFAULT_TIMEOUT = 600


def pinned_release(name: str, chart_name: str, *, namespace: pulumi.Input[str],
                   values: Mapping[str, Any], opts: pulumi.ResourceOptions,
                   timeout: int = DEFAULT_TIMEOUT) -> Release:
    """A release of `chart_name` at the exact version of the chart table.

    `atomic` rolls a failed install/upgrade back; namespaces are ours (with Pod Security
    labels), never created by Helm.
    """
    c = chart(chart_name)
    return Release(name, ReleaseArgs(
        name=chart_name, chart=c.chart, version=c.version,
        repository_opts=RepositoryOptsArgs(repo=c.repo), namespace=namespace, values=dict(values),
        atomic=True, timeout=timeout, create_namespace=False, cleanup_on_fail=True,
        max_history=5), opts=opts)
