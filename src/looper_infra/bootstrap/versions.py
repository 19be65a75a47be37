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

#: Default app: Traefik's tiny `whoami` web server (Docker Hub `traefik/whoami`, tag v1.11.0).
#: Answers 200 on any path (and `/health`), listens on the port given by `--port=N`.
DEFAULT_APP_IMAGE = "traefik/whoami:v1.11.0"
#: Image repository of the default app, for which the bootstrap passes `--port=N`.
DEFAULT_APP_REPOSITORY = "traefik/whoami"
