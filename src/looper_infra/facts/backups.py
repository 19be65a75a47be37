"""Pinned images and upstream facts of the in-cluster backups (Velero + CSI snapshots).

The Velero chart itself is pinned in `facts/charts.py` (`CHARTS["velero"]`); the images below are
set explicitly in its values so a chart bump cannot move them silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: Velero's server image: the appVersion of chart 12.1.0 (its values.yaml `image.repository:
#: docker.io/velero/velero`, `tag: v1.18.1`, tag velero-12.1.0 of vmware-tanzu/helm-charts).
VELERO_IMAGE: Final = ("docker.io/velero/velero", "v1.18.1")
#: The AWS object-store/snapshot plugin, an init container copying itself into the plugins volume.
#: Velero 1.18.x pairs with plugin v1.14.x (README "Compatibility" table of
#: vmware-tanzu/velero-plugin-for-aws, release-1.14 branch of 2026-02-13: "v1.14.x | v1.18.x").
#: v1.14.2 is the patch found pinned next to Velero 1.18 in public deployments (with its digest
#: sha256:0751144c1c8e...); that snapshot of the plugin repository (2026-02-13) predates the tag, so
#: the tag itself was not read there: confirm on Docker Hub before the first deploy.
VELERO_AWS_PLUGIN_IMAGE: Final = "docker.io/velero/velero-plugin-for-aws:v1.14.2"
#: The CSI snapshot controller (kubernetes-csi/external-snapshotter): image v8.6.0 as the
#: repository's deploy/kubernetes/snapshot-controller/setup-snapshot-controller.yaml names it on
#: master (commit afb2f0d85e00, 2026-08-21); release v8.6.0 (tag commit 78e32cd84e0a, 2026-05-28,
#: CHANGELOG-8.6.md). The snapshot CRDs are vendored from that tag (manifests/crds/).
SNAPSHOT_CONTROLLER_IMAGE: Final = "registry.k8s.io/sig-storage/snapshot-controller:v8.6.0"
SNAPSHOT_CRD_DIR: Final = Path(__file__).resolve().parents[1] / "manifests" / "crds"
#: the vendored CRDs, in the order they are applied (classes before what refers to them)
SNAPSHOT_CRDS: Final = ("volumesnapshotclasses", "volumesnapshotcontents", "volumesnapshots")

#: label by which Velero's CSI support picks the VolumeSnapshotClass of a driver
VELERO_CSI_CLASS_LABEL: Final = "velero.io/csi-volumesnapshot-class"
#: tag Velero's AWS plugin puts on the EBS snapshots it takes (the backup's name)
VELERO_BACKUP_TAG: Final = "velero.io/backup"
