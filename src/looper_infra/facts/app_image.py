"""The app image a stack runs when its config names none: a fact config (the default) and
bootstrap (how the image is started) share, so it lives here once."""

from __future__ import annotations

#: Default app: Traefik's tiny `whoami` web server (Docker Hub `traefik/whoami`, tag v1.11.0).
#: Answers 200 on any path (and `/health`), listens on the port given by `--port=N`.
DEFAULT_APP_IMAGE = "traefik/whoami:v1.11.0"
#: Image repository of the default app, for which the bootstrap passes `--port=N`.
DEFAULT_APP_REPOSITORY = "traefik/whoami"
