"""The pins of the app and GPU VMs: each has the shape its apt or registry lookup needs, and
the ones that must agree do. The specs take these as given; this is where they are checked."""

from __future__ import annotations

import re

from looper_infra.bootstrap import versions
from looper_infra.config.base import check_image_ref
from looper_infra.facts import app_image

APT_VERSION = re.compile(r"[0-9][A-Za-z0-9.+~:-]*")


def test_docker_and_ops_agent_pins_are_apt_versions_for_the_pinned_ubuntu() -> None:
    assert re.fullmatch(r"[a-z]+", versions.UBUNTU_CODENAME)
    for pin in (versions.DOCKER_CE_VERSION, versions.DOCKER_CE_CLI_VERSION,
                versions.CONTAINERD_IO_VERSION, versions.DOCKER_COMPOSE_PLUGIN_VERSION):
        assert APT_VERSION.fullmatch(pin), pin
        assert pin.endswith(f"~{versions.UBUNTU_CODENAME}"), pin
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", versions.OPS_AGENT_VERSION)


def test_images_are_pinned_by_tag_or_digest() -> None:
    for image in (versions.CADDY_IMAGE, app_image.DEMO_APP_IMAGE, versions.CUDA_BASE_IMAGE):
        assert check_image_ref(image) == image
    assert app_image.DEMO_APP_IMAGE.startswith(f"{app_image.DEMO_APP_REPOSITORY}:")


def test_nvidia_pins_agree_with_each_other() -> None:
    branch = versions.NVIDIA_DRIVER_BRANCH
    assert re.fullmatch(r"[0-9]{3,4}", branch)
    assert APT_VERSION.fullmatch(versions.NVIDIA_DRIVER_VERSION)
    assert versions.NVIDIA_DRIVER_VERSION.startswith(f"{branch}.")
    # MAJOR.MINOR.PATCH-N: the toolkit package is cuda-toolkit-MAJOR-MINOR
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+-[0-9]+", versions.CUDA_TOOLKIT_VERSION)
    assert versions.CUDA_BASE_IMAGE.startswith(f"nvidia/cuda:{versions.CUDA_TOOLKIT_VERSION.split('-')[0]}-")
    assert APT_VERSION.fullmatch(versions.NVIDIA_CONTAINER_TOOLKIT_VERSION)
    # DCGM 3 (datacenter-gpu-manager): the Ops Agent's dcgm receiver supports 3.1-3.3.9, not 4
    assert re.fullmatch(r"1:3\.[0-9]+\.[0-9]+", versions.DCGM_VERSION)
    # what nvidia-smi --query-gpu=name prints
    assert versions.NVIDIA_L4_MODEL == "NVIDIA L4"
