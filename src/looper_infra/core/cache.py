"""The user's cache: work `looper` can skip next time, never anything a deployment uses.

`$XDG_CACHE_HOME/looper/<name>` (default `~/.cache/looper/<name>`), a directory of the user's
own, mode 0700. What is kept there: compiled startup-script templates (`jinja2/`, see
bootstrap/render.py) and the RSA keys the offline plan signs its stand-in certificates with
(`plan-keys/`, see engine/fakes/tls/key_cache.py). Deleting any of it is always safe.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_cache_dir(name: str) -> Path | None:
    """`<cache>/looper/<name>`, created 0700; None when it cannot be used safely.

    Unusable: it cannot be created (read-only home), it is not ours, or anyone else may
    write to it (what is loaded from there is executed or trusted). Callers then do the
    work without a cache.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    directory = Path(base) / "looper" / name
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return directory
