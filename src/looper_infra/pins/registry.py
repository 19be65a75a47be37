"""One list of every pin the project ships, built from the modules that own each version.

Nothing here states a version: each `Pin` reads it from the owning constant (named in
`defined_in`, where a bump is made), so this list cannot drift from what is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    chart = "chart"
    image = "image"
    package = "package"
    manifest = "manifest"
    #: another download pinned by sha256 (a release asset)
    file = "file"


@dataclass(frozen=True)
class AptIndex:
    """Where `--check` looks an apt package up: its name and the `Packages` files (plain or
    `.gz`, amd64) of the suites a node installs it from; the pin must be in one of them."""

    package: str
    indexes: tuple[str, ...]


@dataclass(frozen=True)
class Pin:
    kind: Kind
    #: stable name, unique per kind (the chart's key, the image's role, the apt package)
    name: str
    #: the exact version or tag ("" for an image whose tag a chart pins: see `source`)
    version: str
    #: where it is fetched from: a Helm repository URL or `oci://` reference, an image
    #: repository (`registry/name`), an apt repository, a manifest URL
    origin: str
    #: how the version was confirmed, or where its provenance is written down
    source: str
    #: the module and constant that own the version: bump it there
    defined_in: str
    #: `sha256:<hex>` of the artifact where one is pinned
    digest: str | None = None
    #: for apt packages: fingerprint of the repository's signing key the node checks
    signing_key: str | None = None
    #: for apt packages: the package and the indexes that hold it (None: not checkable)
    apt: AptIndex | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def image_ref(self) -> str:
        """`origin:version` of an image pin."""
        return f"{self.origin}:{self.version}"


def _split_image(ref: str) -> tuple[str, str]:
    """`docker.io/library/redis:8.2.3` -> (`docker.io/library/redis`, `8.2.3`)."""
    head, _, last = ref.rpartition("/")
    name, _, tag = last.partition(":")
    return (f"{head}/{name}" if head else name), tag


def _image(name: str, ref: str, source: str, defined_in: str) -> Pin:
    repository, tag = _split_image(ref)
    return Pin(Kind.image, name, tag, repository, source, defined_in)


def chart_pins() -> list[Pin]:
    from looper_infra.facts import charts, observability_charts

    pins = [Pin(Kind.chart, key, c.version, c.chart if c.oci else c.repo, c.source,
                f"looper_infra.facts.charts.CHARTS[{key!r}]")
            for key, c in charts.CHARTS.items()]
    pins += [Pin(Kind.chart, key, c.version, c.repo, c.source,
                 f"looper_infra.facts.observability_charts.CHARTS[{key!r}]")
             for key, c in observability_charts.CHARTS.items()]
    return pins


def image_pins() -> list[Pin]:
    from looper_infra.bootstrap import db_vm, k8s_versions, versions
    from looper_infra.facts import app_image, charts, observability_charts

    pins = [_image(key, ref, "official image of the project (see the comment at the pin)",
                   f"looper_infra.facts.charts.IMAGES[{key!r}]")
            for key, ref in charts.IMAGES.items()]
    nth_repository, nth_tag = charts.NTH_IMAGE
    pins.append(Pin(Kind.image, "aws-node-termination-handler", nth_tag, nth_repository,
                    "the chart's default repository, tag v<appVersion>",
                    "looper_infra.facts.charts.NTH_IMAGE"))
    for key, constant, source in (
            ("kubelet-csr-approver", "KUBELET_CSR_APPROVER_IMAGE",
             "ko-published by the chart's release workflow with the git tag"),
            ("metrics-server", "METRICS_SERVER_IMAGE", "the chart's default repository, tag v<appVersion>")):
        repository, tag = getattr(charts, constant)
        pins.append(Pin(Kind.image, key, tag, repository, source, f"looper_infra.facts.charts.{constant}"))
    pins += [Pin(Kind.image, f"cluster-autoscaler-{minor}", tag, charts.CLUSTER_AUTOSCALER_REPOSITORY,
                 f"kubernetes/autoscaler tag cluster-autoscaler-{tag.removeprefix('v')} "
                 f"(for Kubernetes {minor})",
                 f"looper_infra.facts.charts.CLUSTER_AUTOSCALER_IMAGES[{minor!r}]")
             for minor, tag in charts.CLUSTER_AUTOSCALER_IMAGES.items()]
    # kubeadm runs the control plane from registry.k8s.io at the release's tag
    for minor, row in k8s_versions.RELEASES.items():
        pins += [Pin(Kind.image, f"{component}-{minor}", f"v{row.version}",
                     f"registry.k8s.io/{component}",
                     f"pulled by kubeadm for kubernetesVersion v{row.version}",
                     f"looper_infra.bootstrap.k8s_versions.RELEASES[{minor!r}].version")
                 for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler",
                                   "kube-proxy")]
    pins.append(Pin(Kind.image, "opentelemetry-collector", "", observability_charts.
                    OTEL_COLLECTOR_IMAGE_REPOSITORY,
                    "tag = appVersion of the pinned opentelemetry-collector chart",
                    "looper_infra.facts.observability_charts.OTEL_COLLECTOR_IMAGE_REPOSITORY"))
    pins += [
        _image("app-demo", app_image.DEMO_APP_IMAGE, "Docker Hub traefik/whoami",
               "looper_infra.facts.app_image.DEMO_APP_IMAGE"),
        _image("caddy", versions.CADDY_IMAGE, "Docker Official Image library/caddy",
               "looper_infra.bootstrap.versions.CADDY_IMAGE"),
        _image("cuda-base", versions.CUDA_BASE_IMAGE, "Docker Hub nvidia/cuda",
               "looper_infra.bootstrap.versions.CUDA_BASE_IMAGE"),
        _image("postgres", db_vm.POSTGRES_IMAGE, "Docker Official Image library/postgres",
               "looper_infra.bootstrap.db_vm.POSTGRES_IMAGE"),
        _image("chromadb-v3", db_vm.CHROMA_IMAGE, "Docker Hub chromadb/chroma (last Python server)",
               "looper_infra.bootstrap.db_vm.CHROMA_IMAGE"),
    ]
    return pins


def _ubuntu_indexes(codename: str, component: str) -> tuple[str, ...]:
    """`-updates` and `-security` of the Ubuntu archive (the only suites that keep a patched
    package; the EC2 and GCE mirrors serve the same files)."""
    return tuple(f"http://archive.ubuntu.com/ubuntu/dists/{codename}-{pocket}/{component}/binary-amd64/"
                 "Packages.gz" for pocket in ("updates", "security"))


def package_pins() -> list[Pin]:
    from looper_infra.bootstrap import k8s_versions, openvpn, versions
    from looper_infra.bootstrap.app_vm import GpuSetup

    pins: list[Pin] = []
    for minor, row in k8s_versions.RELEASES.items():
        where = f"looper_infra.bootstrap.k8s_versions.RELEASES[{minor!r}]"
        pins += [Pin(Kind.package, f"{package}-{minor}", row.apt_version, row.kubernetes_apt_url,
                     f"pkgs.k8s.io v{minor} (Kubernetes v{row.version})", f"{where}.apt_version",
                     signing_key=k8s_versions.KUBERNETES_APT_KEY_FINGERPRINT,
                     apt=AptIndex(package, (f"{row.kubernetes_apt_url}Packages",)))
                 for package in ("kubeadm", "kubelet", "kubectl")]
        pins.append(Pin(Kind.package, f"cri-o-{minor}", row.crio_apt_version, row.crio_apt_url,
                        f"isv:cri-o:stable:v{minor} (CRI-O v{row.crio_version})",
                        f"{where}.crio_apt_version",
                        signing_key=k8s_versions.CRIO_APT_KEY_FINGERPRINT,
                        apt=AptIndex("cri-o", (f"{row.crio_apt_url}Packages",))))
    docker = f"{versions.DOCKER_APT_URL} {versions.UBUNTU_CODENAME} stable"
    docker_index = (f"{versions.DOCKER_APT_URL}/dists/{versions.UBUNTU_CODENAME}/stable/binary-amd64/"
                    "Packages",)
    for package, constant in (("docker-ce", "DOCKER_CE_VERSION"), ("docker-ce-cli", "DOCKER_CE_CLI_VERSION"),
                              ("containerd.io", "CONTAINERD_IO_VERSION"),
                              ("docker-compose-plugin", "DOCKER_COMPOSE_PLUGIN_VERSION")):
        pins.append(Pin(Kind.package, package, getattr(versions, constant), docker,
                        "Docker's apt repository", f"looper_infra.bootstrap.versions.{constant}",
                        signing_key=versions.DOCKER_APT_KEY_FINGERPRINT,
                        apt=AptIndex(package, docker_index)))
    # the repo script adds Google's repository and installs `<version>~*`: no exact apt version
    pins.append(Pin(Kind.package, "google-cloud-ops-agent", versions.OPS_AGENT_VERSION,
                    versions.OPS_AGENT_REPO_SCRIPT_URL,
                    "GoogleCloudPlatform/ops-agent release (installed by Google's repo script)",
                    "looper_infra.bootstrap.versions.OPS_AGENT_VERSION"))
    gpu = GpuSetup(count=1)
    ubuntu = f"Ubuntu {versions.UBUNTU_CODENAME}-updates / {versions.UBUNTU_CODENAME}-security"
    pins += [Pin(Kind.package, f"{package}-{gpu.driver_branch}-server", gpu.driver_version, ubuntu,
                 "source nvidia-graphics-drivers-<branch>-server (Canonical-signed modules)",
                 "looper_infra.bootstrap.versions.NVIDIA_DRIVER_VERSION",
                 apt=AptIndex(f"{package}-{gpu.driver_branch}-server",
                              _ubuntu_indexes(versions.UBUNTU_CODENAME, "restricted")))
             for package in ("nvidia-headless-no-dkms", "nvidia-utils")]
    cuda_index = (f"{versions.CUDA_APT_URL}/Packages",)
    pins += [
        Pin(Kind.package, gpu.cuda_toolkit_package, gpu.cuda_toolkit_version, versions.CUDA_APT_URL,
            "NVIDIA's CUDA apt repository", "looper_infra.bootstrap.versions.CUDA_TOOLKIT_VERSION",
            signing_key=versions.CUDA_APT_KEY_FINGERPRINT,
            apt=AptIndex(gpu.cuda_toolkit_package, cuda_index)),
        Pin(Kind.package, "datacenter-gpu-manager", gpu.dcgm_version, versions.CUDA_APT_URL,
            "NVIDIA's CUDA apt repository (DCGM 3.x for the Ops Agent receiver)",
            "looper_infra.bootstrap.versions.DCGM_VERSION",
            signing_key=versions.CUDA_APT_KEY_FINGERPRINT,
            apt=AptIndex("datacenter-gpu-manager", cuda_index)),
    ]
    pins += [Pin(Kind.package, package, gpu.container_toolkit_version,
                 versions.NVIDIA_CONTAINER_TOOLKIT_APT_URL, "NVIDIA/nvidia-container-toolkit release",
                 "looper_infra.bootstrap.versions.NVIDIA_CONTAINER_TOOLKIT_VERSION",
                 signing_key=versions.NVIDIA_CONTAINER_TOOLKIT_KEY_FINGERPRINT,
                 apt=AptIndex(package, (f"{versions.NVIDIA_CONTAINER_TOOLKIT_APT_URL}/Packages",)))
             for package in ("nvidia-container-toolkit", "nvidia-container-toolkit-base",
                             "libnvidia-container-tools", "libnvidia-container1")]
    pins.append(Pin(Kind.package, "openvpn", openvpn.OPENVPN_APT_VERSION, ubuntu,
                    "Ubuntu's OpenVPN microrelease exception",
                    "looper_infra.bootstrap.openvpn.OPENVPN_APT_VERSION",
                    apt=AptIndex("openvpn", _ubuntu_indexes(versions.UBUNTU_CODENAME, "main"))))
    return pins


def manifest_pins() -> list[Pin]:
    """Calico's manifests and the other downloads a node checks by sha256."""
    from looper_infra.bootstrap import k8s_versions as k8s

    where = "looper_infra.bootstrap.k8s_versions"
    source = f"projectcalico/calico tag {k8s.CALICO_VERSION}"
    pins = [Pin(Kind.manifest, "calico-operator-crds", k8s.CALICO_VERSION, k8s.CALICO_CRDS_MANIFEST_URL,
                source, f"{where}.CALICO_VERSION / CALICO_CRDS_MANIFEST_SHA256",
                digest=f"sha256:{k8s.CALICO_CRDS_MANIFEST_SHA256}"),
            Pin(Kind.manifest, "calico-tigera-operator", k8s.CALICO_VERSION,
                k8s.CALICO_OPERATOR_MANIFEST_URL, source,
                f"{where}.CALICO_VERSION / CALICO_OPERATOR_MANIFEST_SHA256",
                digest=f"sha256:{k8s.CALICO_OPERATOR_MANIFEST_SHA256}")]
    pins += [Pin(Kind.file, f"crictl-{minor}", f"v{row.crictl_version}", row.crictl_url,
                 "kubernetes-sigs/cri-tools release asset (linux-amd64)",
                 f"{where}.RELEASES[{minor!r}].crictl_version / crictl_sha256",
                 digest=f"sha256:{row.crictl_sha256}")
             for minor, row in k8s.RELEASES.items()]
    return pins


def all_pins() -> list[Pin]:
    """Every pin: charts, images, packages, manifests and files (in that order)."""
    return [*chart_pins(), *image_pins(), *package_pins(), *manifest_pins()]
