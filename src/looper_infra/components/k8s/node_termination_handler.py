"""AWS Node Termination Handler in queue mode: drains a node before its Auto Scaling group
terminates it.

The cluster stack sends the groups' termination lifecycle hooks, spot interruptions, rebalance
recommendations and scheduled events to an SQS queue (EventBridge); the handler reads it,
cordons, taints and drains the node the event names (found by its provider ID
`aws:///<az>/<instance-id>`), then completes the lifecycle action so the group proceeds. It acts
only on instances that carry the managed tag (`facts.v4_contract.NTH_MANAGED_TAG`): a control
plane or the GCP node is never drained by it.

Credentials: IRSA without EKS (manifests/web_identity.py). The chart (0.27.6) sets extra
environment variables but has no value for extra volumes, so the projected token (audience
`sts.amazonaws.com`) is added to the chart's Deployment by a server-side-apply patch that only
adds that volume and its mount (Helm's three-way merge leaves fields it never set alone). The
handler exits at start without credentials, so the release does not wait for readiness (it
would roll back before the patch exists); the patch waits for the patched rollout instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.apps.v1 import DeploymentPatch

from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.facts.charts import NTH_IMAGE
from looper_infra.facts.v4_contract import NODE_TERMINATION_HANDLER, NTH_MANAGED_TAG
from looper_infra.manifests.pods import HOST_KEY, ZONE_KEY, Resources, container_security, pod_security
from looper_infra.manifests.web_identity import WebIdentity

CHART = "aws-node-termination-handler"
#: the chart's Deployment and container are named after the release (= the chart name)
DEPLOYMENT = CONTAINER = CHART
#: the chart's image runs as this uid/gid (its default securityContext)
UID = 1000
#: the chart's selector labels of the queue-processor Deployment
SELECTOR = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": CHART,
            "app.kubernetes.io/component": "deployment"}


@dataclass(frozen=True)
class NodeTerminationHandlerArgs:
    #: the cluster stack's SQS queue (`node_termination_queue_url`)
    queue_url: pulumi.Input[str]
    region: str
    #: the handler's IRSA role (`node_termination_role_arn`)
    role_arn: pulumi.Input[str]
    #: seconds a node has to drain (`node_drain_timeout_seconds`; the lifecycle hook waits longer)
    drain_timeout_seconds: pulumi.Input[int]
    resources: Resources
    replicas: int = 2

    def problems(self) -> list[str]:
        return [] if 1 <= self.replicas <= 3 else [f"replicas: {self.replicas} (1 to 3)"]


def identity(args: NodeTerminationHandlerArgs) -> WebIdentity:
    return WebIdentity(role_arn=args.role_arn, region=args.region)


def nth_values(args: NodeTerminationHandlerArgs) -> dict[str, Any]:
    """Values of the aws-node-termination-handler chart (queue-processor mode)."""
    web = identity(args)
    repository, tag = NTH_IMAGE
    spread = [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
               "labelSelector": {"matchLabels": SELECTOR}} for key in (ZONE_KEY, HOST_KEY)]
    return {
        "image": {"repository": repository, "tag": tag},
        "serviceAccount": web.service_account(NODE_TERMINATION_HANDLER.name),
        "rbac": {"create": True, "pspEnabled": False},
        "enableSqsTerminationDraining": True,
        "queueURL": args.queue_url,
        "awsRegion": args.region,
        # the node's whole drain must fit in the cluster's drain timeout; pods keep their own
        # terminationGracePeriodSeconds (-1) within it
        "nodeTerminationGracePeriod": args.drain_timeout_seconds,
        "podTerminationGracePeriod": -1,
        "checkTagBeforeDraining": True,
        "managedTag": NTH_MANAGED_TAG,
        # deprecated spellings of the two above, which the chart still sets: kept equal
        "checkASGTagBeforeDraining": True,
        "managedAsgTag": NTH_MANAGED_TAG,
        # nodes are found by provider ID (aws:///<az>/<instance-id>), not by private DNS name
        "useProviderId": True,
        # an event for an instance that never was a node (or is gone) is dropped, not retried
        "deleteSqsMsgIfNodeNotFound": True,
        "taintNode": True,
        "cordonOnly": False,
        "ignoreDaemonSets": True,
        "deleteLocalData": True,
        "emitKubernetesEvents": True,
        "replicas": args.replicas,
        # the chart creates it only with replicas > 1; one of two may be evicted at a time
        "podDisruptionBudget": {"maxUnavailable": 1},
        "topologySpreadConstraints": spread,
        "priorityClassName": "system-cluster-critical",
        "resources": args.resources.spec(),
        "podSecurityContext": pod_security(UID),
        "securityContext": {**container_security(), "runAsUser": UID, "runAsGroup": UID},
        # AWS_REGION comes from `awsRegion`; the token file is mounted by the patch below
        "extraEnv": [e for e in web.env() if e["name"] != "AWS_REGION"],
    }


def token_patch_spec(args: NodeTerminationHandlerArgs) -> dict[str, Any]:
    """The Deployment fields the chart cannot set: the projected STS token and its mount."""
    web = identity(args)
    return {"template": {"spec": {
        "volumes": web.volumes(),
        "containers": [{"name": CONTAINER, "volumeMounts": web.mounts()}],
    }}}


class NodeTerminationHandler(Component):
    #: the release's status (the handler's service account exists once it is deployed)
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: NodeTerminationHandlerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:NodeTerminationHandler", name, args, opts)
        namespace = NODE_TERMINATION_HANDLER.namespace
        release = pinned_release(f"{name}-release", CHART, namespace=namespace, values=nth_values(args),
                                 opts=self.child_opts, wait=False)
        # name and namespace only: the labels are Helm's (a field of ours there would conflict)
        patch_meta: Any = {"name": DEPLOYMENT, "namespace": namespace}
        spec: Any = token_patch_spec(args)
        # the Deployment exists once Helm installed the release
        after = self.child_opts.merge(pulumi.ResourceOptions(depends_on=[release]))
        DeploymentPatch(f"{name}-web-identity", metadata=patch_meta, spec=spec, opts=after)
        self.status = release.status
        self.register_outputs({"status": self.status})
