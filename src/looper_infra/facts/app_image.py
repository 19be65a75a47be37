"""The demo app image the example stacks run until a stack names the Looper app's own image: a
fact the examples, the pins check and bootstrap (how the demo image is started) share.

There is no default: every v1/v2/v3 stack names `app.image` (an exact tag or digest), and the
example stacks name this one with a comment saying it is a demo.
"""

from __future__ import annotations

#: DEMO app: Traefik's tiny `whoami` web server (Docker Hub `traefik/whoami`, tag v1.11.0).
#: Answers 200 on any path (and `/health`), listens on the port given by `--port=N`. Not Looper.
DEMO_APP_IMAGE = "traefik/whoami:v1.11.0"
#: Image repository of the demo app, for which the bootstrap passes `--port=N`.
DEMO_APP_REPOSITORY = "traefik/whoami"
