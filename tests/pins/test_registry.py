"""The pin list is built from the modules that own each version: every chart, image, package."""

from __future__ import annotations

from looper_infra.bootstrap import k8s_versions, versions
from looper_infra.bootstrap.db_vm import CHROMA_IMAGE, POSTGRES_IMAGE
from looper_infra.facts import app_image, charts, observability_charts
from looper_infra.pins.registry import AptIndex, Kind, all_pins


def test_every_chart_of_the_facts_with_version_repository_and_source() -> None:
    listed = {p.name: p for p in all_pins() if p.kind is Kind.chart}
    expected = {**{k: (c.version, c.chart if c.oci else c.repo, c.source) for k, c in charts.CHARTS.items()},
                **{k: (c.version, c.repo, c.source) for k, c in observability_charts.CHARTS.items()}}
    assert {name: (p.version, p.origin, p.source) for name, p in listed.items()} == expected
    assert all(p.source and p.defined_in.startswith("looper_infra.facts.") for p in listed.values())


def test_every_pinned_image_is_listed() -> None:
    refs = {p.image_ref for p in all_pins() if p.kind is Kind.image and p.version}
    expected = {*charts.IMAGES.values(), app_image.DEMO_APP_IMAGE, versions.CADDY_IMAGE,
                versions.CUDA_BASE_IMAGE, POSTGRES_IMAGE, CHROMA_IMAGE, ":".join(charts.NTH_IMAGE),
                ":".join(charts.KUBELET_CSR_APPROVER_IMAGE), ":".join(charts.METRICS_SERVER_IMAGE),
                *(f"{charts.CLUSTER_AUTOSCALER_REPOSITORY}:{tag}"
                  for tag in charts.CLUSTER_AUTOSCALER_IMAGES.values()),
                *(f"registry.k8s.io/{c}:v{row.version}" for row in k8s_versions.RELEASES.values()
                  for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"))}
    assert refs == expected
    untagged = [p for p in all_pins() if p.kind is Kind.image and not p.version]
    assert [p.origin for p in untagged] == [observability_charts.OTEL_COLLECTOR_IMAGE_REPOSITORY]


def test_packages_follow_the_release_table_and_the_bootstrap_pins() -> None:
    packages = {p.name: p for p in all_pins() if p.kind is Kind.package}
    for minor, row in k8s_versions.RELEASES.items():
        assert packages[f"kubelet-{minor}"].version == row.apt_version
        assert packages[f"kubelet-{minor}"].origin == row.kubernetes_apt_url
        assert packages[f"cri-o-{minor}"].version == row.crio_apt_version
        assert packages[f"cri-o-{minor}"].signing_key == k8s_versions.CRIO_APT_KEY_FINGERPRINT
        assert packages[f"kubelet-{minor}"].apt == AptIndex("kubelet", (f"{row.kubernetes_apt_url}Packages",))
        assert packages[f"cri-o-{minor}"].apt == AptIndex("cri-o", (f"{row.crio_apt_url}Packages",))
    assert packages["nvidia-utils-580-server"].version == versions.NVIDIA_DRIVER_VERSION
    assert packages["cuda-toolkit-12-9"].version == versions.CUDA_TOOLKIT_VERSION
    assert packages["docker-ce"].version == versions.DOCKER_CE_VERSION
    # every package but the Ops Agent (installed as `<version>~*` by Google's script) is checkable
    assert [name for name, p in packages.items() if p.apt is None] == ["google-cloud-ops-agent"]
    assert all(p.apt.indexes and all(i.endswith(("/Packages", "/Packages.gz")) for i in p.apt.indexes)
               for p in packages.values() if p.apt is not None)


def test_calico_manifests_and_crictl_with_their_sha256_and_unique_keys() -> None:
    pins = all_pins()
    fetched = {(p.kind, p.origin): p.digest for p in pins if p.kind in (Kind.manifest, Kind.file)}
    assert fetched == {
        (Kind.manifest, k8s_versions.CALICO_CRDS_MANIFEST_URL):
            f"sha256:{k8s_versions.CALICO_CRDS_MANIFEST_SHA256}",
        (Kind.manifest, k8s_versions.CALICO_OPERATOR_MANIFEST_URL):
            f"sha256:{k8s_versions.CALICO_OPERATOR_MANIFEST_SHA256}",
        **{(Kind.file, row.crictl_url): f"sha256:{row.crictl_sha256}"
           for row in k8s_versions.RELEASES.values()}}
    assert len({p.key for p in pins}) == len(pins)
