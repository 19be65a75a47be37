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
                   timeout: int = DEFAULT_TIMEOUT, wait: bool = True,
                   skip_crds: bool = False, release_name: str | None = None) -> Release:
    """A release of `chart_name` at the exact version of the chart table (from its repository,
    or from an OCI registry when the table's chart is an `oci://` reference).

    `atomic` rolls a failed install/upgrade back; namespaces are ours (with Pod Security
    labels), never created by Helm. `skip_crds`: another release installs this chart's CRDs.
    `wait=False` (not atomic, no readiness wait) only for a chart
    whose pods cannot become ready from the chart alone: a patch completes them, and the patch
    resource waits for the rollout instead. `release_name`: the Helm release's name when it is not
    the chart's (a release installed before under another name keeps it).
    """
    c = chart(chart_name)
    # an OCI chart is its own reference (`oci://...`): Helm pulls it without a repository
    repository = None if c.oci else RepositoryOptsArgs(repo=c.repo)
    # skip_await only when set: the waiting releases' inputs stay as they were deployed
    return Release(name, ReleaseArgs(
        name=release_name or chart_name, chart=c.chart, version=c.version,
        repository_opts=repository, namespace=namespace, values=dict(values),
        atomic=wait, skip_await=None if wait else True, timeout=timeout, create_namespace=False,
        cleanup_on_fail=True, max_history=5,
        # only when set: the other releases' inputs stay as deployed
        skip_crds=True if skip_crds else None), opts=opts)
