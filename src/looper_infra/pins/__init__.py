"""`looper pins`: every pinned chart, image, package and manifest, and a checker against upstream.

`registry.py` lists the pins, built from the modules that own them (facts/, bootstrap/), so a
version lives in one place; `check.py` confirms them against chart indexes, OCI registries and
manifest URLs through the small HTTP interface in `http.py` (tests feed it recorded answers).
"""
