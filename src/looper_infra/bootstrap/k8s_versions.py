"""Pinned versions of what the kubeadm node bootstrap (stage v4) installs and applies.

One constant per artifact, each with where its value comes from. Bump a pin deliberately
(together with the Kubernetes minor of both apt repositories) and regenerate the golden
files with ``LOOPER_UPDATE_GOLDEN=1``; the bootstrap never installs "latest".

The supported Kubernetes releases are data (:data:`RELEASES`, one :class:`K8sRelease` row
per minor): a node's ``kubernetes_version`` selects its row, and everything it installs
(kubeadm/kubelet/kubectl, CRI-O, both apt repositories) follows that row. The constants
below are the default row (1.36). Add a minor's row only with pins verified as these were
(release tag, apt revision resolved from the signed index); never a guessed one.
docs/runbooks/kubernetes-upgrade.md says how a row is added and rolled out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

#: Ubuntu release of the node AMI (Canonical's Ubuntu 24.04 LTS images for EC2).
UBUNTU_CODENAME: Final = "noble"

# --- Kubernetes: the community-owned apt repository pkgs.k8s.io ----------------------------
# One repository per minor: https://pkgs.k8s.io/core:/stable:/v1.36/deb/ (a flat repository,
# suite "/"), as kubernetes.io "Installing kubeadm" documents it. v1.36 is a supported minor
# (maintenance until 2027-04-28, EOL 2027-06-28 per kubernetes.io/releases/patch-releases).

#: Kubernetes minor: selects both apt repositories below and the kubeadm config API.
KUBERNETES_MINOR: Final = "1.36"
#: Exact release (kubeadm ``kubernetesVersion`` is ``v`` + this). v1.36.5 is the newest 1.36
#: patch confirmed: GitHub release tag v1.36.5 (annotated tag 2bbef7e8..., commit ad950d1c...)
#: recorded on 2026-09-29 in a public pre-upgrade verification together with the apt
#: revision below, resolved from the signed pkgs.k8s.io v1.36 index on Ubuntu 24.04 amd64.
KUBERNETES_VERSION: Final = "1.36.5"
#: Apt version of kubeadm, kubelet and kubectl (pkgs.k8s.io revisions are ``-1.1``; same
#: source as above: ``kubeadm/kubelet/kubectl=1.36.5-1.1``).
KUBERNETES_APT_VERSION: Final = "1.36.5-1.1"
#: Repository URL (flat repository: suite "/").
KUBERNETES_APT_URL: Final = f"https://pkgs.k8s.io/core:/stable:/v{KUBERNETES_MINOR}/deb/"
#: Its signing key (kubernetes.io "Installing kubeadm": ``.../deb/Release.key``).
KUBERNETES_APT_KEY_URL: Final = f"{KUBERNETES_APT_URL}Release.key"
#: Fingerprint of the pkgs.k8s.io signing key (isv:kubernetes OBS project key); the same
#: key signs every minor's repository. Confirmed by ``gpgv`` of the v1.36 InRelease in the
#: verification record above. The downloaded key must match.
KUBERNETES_APT_KEY_FINGERPRINT: Final = "DE15B14486CD377B9E876E1A234654DA9A296436"

# --- CRI-O: the CRI-O project's OBS repository -------------------------------------------------
# CRI-O follows the Kubernetes minor (CRI-O 1.36 for Kubernetes 1.36). Since v1.34 its
# packages are published under the OBS project ``isv:cri-o:stable:v1.XX``
# (download.opensuse.org/repositories/isv:/cri-o:/stable:/v1.XX/deb/), no longer under
# pkgs.k8s.io ``addons:/cri-o:/stable:/v1.XX``, which answers 403 for 1.34+
# (cri-o/packaging issue #288, 2025-09-03: "packages moved to opensuse").

#: Exact CRI-O release: GitHub release v1.36.6 (tag a145eef0..., commit 9209fd24...), the
#: newest 1.36 patch on 2026-09-29 (same verification record as Kubernetes above).
CRIO_VERSION: Final = "1.36.6"
#: Apt version of package ``cri-o`` in that repository (``cri-o=1.36.6-3.1`` resolved from
#: the signed isv:cri-o:stable:v1.36 index for Ubuntu 24.04 amd64 in the same record).
CRIO_APT_VERSION: Final = "1.36.6-3.1"
#: Repository URL (flat repository: suite "/").
CRIO_APT_URL: Final = (
    f"https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v{KUBERNETES_MINOR}/deb/"
)
#: Its signing key.
CRIO_APT_KEY_URL: Final = f"{CRIO_APT_URL}Release.key"
#: Fingerprint of the isv:cri-o OBS signing key; confirmed by ``gpgv`` of the v1.36
#: InRelease (signed 2026-09-22) in the verification record above.
CRIO_APT_KEY_FINGERPRINT: Final = "85B67D5C50100B1AC8CEFE49CBA9C85640A2B579"

# --- crictl: the cri-tools release of the minor (github.com/kubernetes-sigs/cri-tools) ---------
#: cri-tools follows the Kubernetes minor (v1.36.0 for 1.36; kubeadm's packages pull an
#: unpinned cri-tools, this one is the pinned copy in /usr/local/bin). Nodes are amd64.
CRICTL_VERSION: Final = "1.36.0"
#: sha256 of crictl-v1.36.0-linux-amd64.tar.gz, as recorded in kubernetes-sigs/kubespray
#: roles/kubespray_defaults/vars/main/checksums.yml (``crictl_checksums.amd64``, added with
#: "Support Kubernetes v1.36.0", #13219, 2026-05-01), whose downloads verify it.
CRICTL_SHA256: Final = "83855e114566a8a8c44c548d515670f51de3a5e1da8b2effb59870e2f10c25a3"



@dataclass(frozen=True)
class K8sRelease:
    """One supported Kubernetes release and the CRI-O release that goes with it."""

    #: exact release, "1.36.5" (kubeadm ``kubernetesVersion`` is ``v`` + this)
    version: str
    #: apt version of kubeadm, kubelet and kubectl in the minor's pkgs.k8s.io repository
    apt_version: str
    #: CRI-O release of the same minor and its apt version in the minor's OBS repository
    crio_version: str
    crio_apt_version: str
    #: cri-tools release of the same minor (``crictl``, for debugging on the node) and the
    #: sha256 of its ``crictl-v<version>-linux-amd64.tar.gz`` release asset
    crictl_version: str
    crictl_sha256: str

    @property
    def minor(self) -> str:
        """"1.36" of "1.36.5"."""
        return minor_of(self.version)

    @property
    def kubernetes_apt_url(self) -> str:
        return f"https://pkgs.k8s.io/core:/stable:/v{self.minor}/deb/"

    @property
    def kubernetes_apt_key_url(self) -> str:
        return f"{self.kubernetes_apt_url}Release.key"

    @property
    def crio_apt_url(self) -> str:
        return f"https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v{self.minor}/deb/"

    @property
    def crio_apt_key_url(self) -> str:
        return f"{self.crio_apt_url}Release.key"

    @property
    def crictl_url(self) -> str:
        return (f"https://github.com/kubernetes-sigs/cri-tools/releases/download/v{self.crictl_version}"
                f"/crictl-v{self.crictl_version}-linux-amd64.tar.gz")


_VERSION = re.compile(r"(?P<major>1)\.(?P<minor>[0-9]+)\.(0|[1-9][0-9]*)")


def minor_of(version: str) -> str:
    """``"1.36"`` of ``"1.36.5"`` (ValueError for anything but ``1.<minor>.<patch>``)."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"{version!r} is not a Kubernetes release 1.<minor>.<patch>")
    return f"1.{match['minor']}"


def minor_number(version: str) -> int:
    """36 of "1.36.5" (or of "1.36")."""
    return int((version if version.count(".") == 1 else minor_of(version)).split(".")[1])


#: The supported releases by minor. Only rows whose pins were verified (see the constants
#: above for how): 1.36 today. The table, not config, decides what a node can install.
RELEASES: Final = MappingProxyType({
    KUBERNETES_MINOR: K8sRelease(
        version=KUBERNETES_VERSION, apt_version=KUBERNETES_APT_VERSION,
        crio_version=CRIO_VERSION, crio_apt_version=CRIO_APT_VERSION,
        crictl_version=CRICTL_VERSION, crictl_sha256=CRICTL_SHA256),
})


def release(version: str) -> K8sRelease:
    """The row of an exact release (KeyError naming the supported ones otherwise)."""
    row = RELEASES.get(minor_of(version))
    if row is None or row.version != version:
        known = ", ".join(r.version for r in RELEASES.values())
        raise KeyError(f"Kubernetes {version} has no verified pins in looper_infra.bootstrap."
                       f"k8s_versions (supported: {known})")
    return row


def previous_release(version: str) -> K8sRelease | None:
    """The row of the minor before ``version``'s, if the table has it: what a replacement
    control plane joins with before upgrading the cluster to ``version``."""
    number = minor_number(version)
    return RELEASES.get(f"1.{number - 1}")


# --- Calico (operator install) -------------------------------------------------------------------
#: Calico release: the newest 3.32 patch whose manifests could be hashed from the release tag
#: itself (github.com/projectcalico/calico tag v3.32.1, commit 0ca9d1b9..., 2026-06-24; Tigera
#: operator v1.42.3). Its release notes cover Kubernetes 1.36 (MutatingAdmissionPolicy v1
#: "on Kubernetes 1.36+"). v3.32.4 (2026-11-11) was pinned before; its manifests' sha256 could
#: not be computed offline, and an unverified hash is no pin: move to a newer patch together
#: with both hashes below (``curl -fsSL URL | sha256sum`` of each URL at that tag).
CALICO_VERSION: Final = "v3.32.1"
_CALICO_MANIFESTS: Final = f"https://raw.githubusercontent.com/projectcalico/calico/{CALICO_VERSION}/manifests"
#: Since Calico v3.30 the operator manifest holds no CRDs: ``operator-crds.yaml`` (the
#: operator.tigera.io and crd.projectcalico.org CRDs) is applied first, as Calico's
#: "Quickstart for Calico on Kubernetes" does, then the operator.
CALICO_CRDS_MANIFEST_URL: Final = f"{_CALICO_MANIFESTS}/operator-crds.yaml"
#: sha256 of that file as raw.githubusercontent.com serves it (the git blob at the tag, blob
#: 7cb3ee93...; 3,046,956 bytes).
CALICO_CRDS_MANIFEST_SHA256: Final = "192f8b2d934ef24b62e86b7e1a6e1762d1c8af26a916f78057bc13fa5ed60f71"
#: The Tigera operator manifest (namespace, RBAC, operator Deployment) of that release.
CALICO_OPERATOR_MANIFEST_URL: Final = f"{_CALICO_MANIFESTS}/tigera-operator.yaml"
#: sha256 of that file (git blob 383bacf5... at the tag; 19,660 bytes).
CALICO_OPERATOR_MANIFEST_SHA256: Final = "f18e073794207d372606bc3ea6f8fd73972f86d6828f4ba666dfe0d4aa8ab07f"
