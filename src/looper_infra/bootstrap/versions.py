"""Pinned versions of everything the VM bootstrap installs or runs.

One constant per artifact, each with where its value comes from. Bump a pin
deliberately (and regenerate the bootstrap golden files with
``LOOPER_UPDATE_GOLDEN=1``); the bootstrap never installs "latest".
"""

from __future__ import annotations

#: Ubuntu release the v1 image family (``ubuntu-os-cloud/ubuntu-2404-lts-amd64``)
#: boots; Docker's apt suite and every Docker version string below are for it.
UBUNTU_CODENAME = "noble"

# --- Docker Engine: Docker's official apt repository ---------------------------------
# Source: https://download.docker.com/linux/ubuntu, suite `noble`, component `stable`
# (`apt-cache madison docker-ce` on Ubuntu 24.04). Docker keeps every released
# version in that pool, so these stay installable after newer releases appear.
# Confirmed in public install logs and pin files on Ubuntu 24.04 that show these exact
# strings together ("Unpacking docker-compose-plugin (5.6.0-1~ubuntu.24.04~noble)",
# `dpkg -l` listings, pool URLs such as containerd.io_2.3.6-1~ubuntu.24.04~noble_amd64.deb).

#: Apt version of `docker-ce` (Docker Engine 29.8.2).
DOCKER_CE_VERSION = "5:29.8.2-1~ubuntu.24.04~noble"
#: Apt version of `docker-ce-cli`; released in lockstep with the engine.
DOCKER_CE_CLI_VERSION = "5:29.8.2-1~ubuntu.24.04~noble"
#: Apt version of `containerd.io` (containerd 2.3.6, the runtime shipped with 29.8.2).
CONTAINERD_IO_VERSION = "2.3.6-1~ubuntu.24.04~noble"
#: Apt version of `docker-compose-plugin` (Docker Compose 5.6.0).
DOCKER_COMPOSE_PLUGIN_VERSION = "5.6.0-1~ubuntu.24.04~noble"

#: Base URL of Docker's apt repository for Ubuntu.
DOCKER_APT_URL = "https://download.docker.com/linux/ubuntu"
#: Fingerprint of Docker's release signing key (docs.docker.com/engine/install/ubuntu:
#: "9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88"); the downloaded key must match.
DOCKER_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"

# --- Google Cloud Ops Agent ------------------------------------------------------------
# Installed with Google's `add-google-cloud-ops-agent-repo.sh --also-install
# --version=X.Y.Z`, which installs apt package `google-cloud-ops-agent=X.Y.Z~*`
# (`2.70.0~ubuntu24.04` on noble). Source: GoogleCloudPlatform/ops-agent releases;
# 2.70.0 confirmed by downstream rebuilds of that tag (Chainguard ops-agent 2.70.0-r2/r3,
# July-August 2026) and by public pins of `google-cloud-ops-agent=2.70.0~ubuntu24.04`.

#: Ops Agent release to install (MAJOR.MINOR.PATCH, as the repo script requires).
OPS_AGENT_VERSION = "2.70.0"
#: Google's repo-setup script; fetched once per boot attempt, run with a pinned version.
OPS_AGENT_REPO_SCRIPT_URL = "https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh"

# --- Container images (Docker Hub) ---------------------------------------------------------
#: Caddy reverse proxy / automatic HTTPS. Source: Docker Hub official image `library/caddy`,
#: tag 2.11.4 (seen pinned as `caddy:2.11.4` and `caddy:2.11.4-alpine@sha256:...` in public
#: compose files; same index digest as the upstream release).
CADDY_IMAGE = "caddy:2.11.4"


# --- NVIDIA GPU stack (stage v2: g2-standard-* with NVIDIA L4, Shielded VM Secure Boot ON) ---
#
# Driver: Ubuntu's own packages with Canonical-signed, precompiled kernel modules.
# Why this loads under Secure Boot: Launchpad builds the NVIDIA kernel objects for every
# linux-gcp kernel (source linux-restricted-modules-gcp) and ships them with signatures
# made by the same Canonical key that signs that kernel's own modules
# (linux-signatures-nvidia-<kernel>); the Ubuntu kernel trusts that key, and Shielded VM
# Secure Boot verifies the Microsoft-signed shim -> Canonical-signed GRUB and kernel. DKMS
# builds (NVIDIA's CUDA-repo `cuda-drivers`/`nvidia-open`, `nvidia-dkms-*`, the .run
# installer) are signed with a local MOK that must be enrolled at the console on the next
# boot, which a headless VM cannot do, so the locked-down kernel refuses them. The setup
# therefore installs `linux-modules-nvidia-<branch>-server-gcp` plus the *no-DKMS*
# userland (`nvidia-headless-no-dkms-<branch>-server`, `nvidia-utils-<branch>-server`,
# the packages NVIDIA's GPU Operator documents for "Canonical signed drivers") and never
# anything DKMS. Not `ubuntu-drivers install --gpgpu nvidia:<branch>-server`: it picks
# versions itself (no exact pin) and can fall back to DKMS when no signed modules exist for
# the kernel; explicit packages pin the userland exactly and fail loudly instead.
# The kernel-module metapackage cannot be pinned to an exact version: its version is the
# linux-gcp kernel's (e.g. 6.17.0-1021.24) and moves with the floating image family; it
# pulls the newest gcp kernel together with that kernel's signed modules, which is why the
# setup reboots once after installing the driver.
# Ubuntu's archive keeps only the newest version of a package in -updates/-security: once
# Canonical publishes a newer 580-server driver, the pin below stops being installable and
# the setup fails fast with a line naming it (bump it then, deliberately, like every pin).
# The driver is deliberately NOT apt-mark held: unattended upgrades move the gcp kernel and
# its signed modules, which are rebuilt for the current userland; a held userland would not
# match them after the next reboot.

#: Driver branch ("-server" = NVIDIA's datacenter ERD/LTS build of the branch). Confirmed:
#: packages.ubuntu.com, noble: linux-modules-nvidia-580-server-gcp (Canonical Kernel Team,
#: source linux-restricted-modules-gcp), nvidia-graphics-drivers-580-server.
NVIDIA_DRIVER_BRANCH = "580"
#: Exact apt version of nvidia-headless-no-dkms-580-server / nvidia-utils-580-server.
#: Confirmed: packages.ubuntu.com source nvidia-graphics-drivers-580-server in noble
#: (-security/-updates): 580.173.02-0ubuntu0.24.04.1.
NVIDIA_DRIVER_VERSION = "580.173.02-0ubuntu0.24.04.1"
#: Ubuntu kernel flavour of the GCP images, the flavour the signed modules are built for.
UBUNTU_KERNEL_FLAVOUR = "gcp"
#: What `nvidia-smi --query-gpu=name` reports for the L4 (Compute Engine G2's only GPU).
NVIDIA_L4_MODEL = "NVIDIA L4"

# CUDA toolkit and DCGM: NVIDIA's CUDA apt repository for ubuntu2404/x86_64 (a flat repo).
#: Base URL of the repository (no trailing slash).
CUDA_APT_URL = "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64"
#: The repository's signing key (the key inside cuda-keyring 1.1, id 3bf863cc).
CUDA_APT_KEY_URL = f"{CUDA_APT_URL}/3bf863cc.pub"
#: Its fingerprint, "cudatools <cudatools@nvidia.com>"; confirmed in public Ubuntu 24.04
#: install scripts that pin it for ubuntu2404 (x86_64 and sbsa) and in config-management
#: code (apt_keyring finger EB69...63CC for 3bf863cc.pub). The downloaded key must match.
CUDA_APT_KEY_FINGERPRINT = "EB693B3035CD5710E231E123A4B469963BF863CC"
#: Apt version of `cuda-toolkit-12-9` (CUDA 12.9 Update 1; needs driver >= 575, so 580 is
#: fine). Confirmed: `cuda-toolkit-12-9=12.9.1-1` installed from NVIDIA's Ubuntu 24.04
#: repository in a public install log. The package name follows from the version.
CUDA_TOOLKIT_VERSION = "12.9.1-1"
#: DCGM for the Ops Agent `dcgm` receiver. The Ops Agent's NVIDIA DCGM integration
#: (cloud.google.com/monitoring/agent/ops-agent/third-party-nvidia) "is compatible with DCGM
#: version 3.1 through 3.3.9" (receiver_version 2 needs Ops Agent >= 2.51.0; 2.70.0 is
#: pinned above): its receiver links go-dcgm of 2024-09, which loads DCGM 3's libdcgm.so,
#: not DCGM 4's libdcgm.so.4. So DCGM 3.3.9, the last 3.x, package `datacenter-gpu-manager`
#: (DCGM 4 renamed it datacenter-gpu-manager-4-*). Confirmed: apt log
#: "Get:1 https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64
#: datacenter-gpu-manager 1:3.3.9".
DCGM_VERSION = "1:3.3.9"
#: systemd unit of DCGM's host engine (nv-hostengine), as the Ops Agent docs check it.
DCGM_SERVICE = "nvidia-dcgm.service"

# NVIDIA Container Toolkit: NVIDIA's libnvidia-container apt repository (stable, flat).
#: Apt version of nvidia-container-toolkit, nvidia-container-toolkit-base,
#: libnvidia-container-tools and libnvidia-container1 (released together). Source:
#: NVIDIA/nvidia-container-toolkit "Bump version for v1.20.0 release" (#1977); confirmed in
#: public Ubuntu 24.04 install scripts/logs pinning all four at `1.20.0-1` with Docker 29.8.
NVIDIA_CONTAINER_TOOLKIT_VERSION = "1.20.0-1"
#: The stable deb repository for amd64 (what NVIDIA's `stable/deb/nvidia-container-toolkit.list`
#: points at with $(ARCH) = amd64; the G2 images are amd64 only).
NVIDIA_CONTAINER_TOOLKIT_APT_URL = "https://nvidia.github.io/libnvidia-container/stable/deb/amd64"
#: Its signing key (NVIDIA's install guide: `curl -fsSL .../gpgkey | gpg --dearmor`).
NVIDIA_CONTAINER_TOOLKIT_KEY_URL = "https://nvidia.github.io/libnvidia-container/gpgkey"
#: Fingerprint of that key; confirmed in public scripts that check it (one recorded
#: "downloaded from nvidia.github.io/libnvidia-container/gpgkey on 2026-05-03").
NVIDIA_CONTAINER_TOOLKIT_KEY_FINGERPRINT = "C95B321B61E88C1809C4F759DDCAE044F796ECB0"

#: CUDA base image for the container GPU check (`docker run --gpus all IMAGE nvidia-smi`).
#: Docker Hub `nvidia/cuda`, tag 12.9.1-base-ubuntu24.04 (same CUDA as the toolkit; widely
#: used for exactly this check in public scripts).
CUDA_BASE_IMAGE = "nvidia/cuda:12.9.1-base-ubuntu24.04"
