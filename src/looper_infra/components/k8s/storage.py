"""Block storage: the AWS EBS CSI driver and the cluster's StorageClasses.

`gp3` (default) and `gp3-retain` (data StatefulSets: the EBS volume outlives its claim, so
deleting a StatefulSet or its PVC never deletes data) are both encrypted, bind when a pod is
scheduled (WaitForFirstConsumer: the volume is created in the pod's zone) and can grow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.storage.v1 import StorageClass

from looper_infra.components.k8s.helm import pinned_release
from looper_infra.manifests.pods import metadata
from looper_infra.manifests.web_identity import WebIdentity

PROVISIONER = "ebs.csi.aws.com"
DEFAULT_CLASS = "gp3"
RETAIN_CLASS = "gp3-retain"


#: The controller's service account: the v4 stack's IRSA role trusts exactly this one
#: (stages/v4.py EBS_CSI_SERVICE_ACCOUNT).
CONTROLLER_SERVICE_ACCOUNT = "ebs-csi-controller-sa"


@dataclass(frozen=True)
class EbsCsiValues:
    """Values of the aws-ebs-csi-driver chart.

    Credentials: the controller assumes the v4 stack's EBS CSI role with a projected
    service-account token (no pod identity webhook, and pods cannot reach the node role: IMDS hop
    limit 1). The node plugin needs no credentials, only the instance id and zone from IMDS, so
    it runs on the host network, where the hop limit does not stop it.
    """

    region: str
    #: the IRSA role of the controller (str or Output)
    role_arn: Any
    controller_replicas: int = 2

    def values(self) -> dict[str, Any]:
        identity = WebIdentity(role_arn=self.role_arn, region=self.region)
        return {
            "controller": {
                "region": self.region,
                "replicaCount": self.controller_replicas,
                "serviceAccount": identity.service_account(CONTROLLER_SERVICE_ACCOUNT),
                "env": identity.env(),
                "volumes": identity.volumes(),
                "volumeMounts": identity.mounts(),
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                               "whenUnsatisfiable": "ScheduleAnyway"}],
                "resources": {"requests": {"cpu": "10m", "memory": "40Mi"},
                              "limits": {"cpu": "200m", "memory": "256Mi"}},
            },
            "node": {
                # every node gets the node plugin, the tainted Kafka and GPU nodes included
                "tolerateAllTaints": True,
                # instance id and zone from IMDS (hop limit 1 admits only the host's network)
                "hostNetwork": True,
                "resources": {"requests": {"cpu": "10m", "memory": "40Mi"},
                              "limits": {"cpu": "200m", "memory": "256Mi"}},
            },
            # the classes are ours (below), not the chart's
            "storageClasses": [],
        }


@dataclass(frozen=True)
class BlockStorageArgs:
    region: str
    #: the controller's IRSA role (the v4 stack's `ebs_csi_role_arn` output)
    controller_role_arn: pulumi.Input[str]
    kms_key_arn: str | None = None
    iops: int = 3000
    throughput: int = 125
    namespace: str = "kube-system"


class BlockStorage(pulumi.ComponentResource):
    default_class: pulumi.Output[str]
    retain_class: pulumi.Output[str]

    def __init__(self, name: str, args: BlockStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:BlockStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        driver = pinned_release(f"{name}-ebs-csi", "aws-ebs-csi-driver", namespace=args.namespace,
                                values=EbsCsiValues(region=args.region,
                                                    role_arn=args.controller_role_arn).values(),
                                opts=child)
        params = {"type": "gp3", "encrypted": "true", "iops": str(args.iops),
                  "throughput": str(args.throughput), "csi.storage.k8s.io/fstype": "ext4"}
        if args.kms_key_arn:
            params["kmsKeyId"] = args.kms_key_arn
        # the classes name the driver's release status, so they follow the driver's install
        after = pulumi.ResourceOptions(parent=self, depends_on=[driver])
        classes = {}
        for cls, reclaim, default in ((DEFAULT_CLASS, "Delete", True), (RETAIN_CLASS, "Retain", False)):
            annotations = {"storageclass.kubernetes.io/is-default-class": "true" if default else "false"}
            meta: Any = metadata(cls, None, annotations=annotations)
            classes[cls] = StorageClass(
                f"{name}-{cls}", metadata=meta, provisioner=PROVISIONER, parameters=params,
                reclaim_policy=reclaim, volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=True, opts=after)
        self.default_class = classes[DEFAULT_CLASS].metadata.apply(lambda m: str(m.name))
        self.retain_class = classes[RETAIN_CLASS].metadata.apply(lambda m: str(m.name))
        self.register_outputs({"default_class": self.default_class, "retain_class": self.retain_class})
