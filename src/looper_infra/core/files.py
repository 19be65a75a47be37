"""Writing files only their owner may read (VPN profiles, client keys; the cache has its own: core.cache)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` atomically, mode 0600 from the start; OSError when it cannot be.

    The file is written next to `path` and renamed over it, so a reader (or a concurrent writer,
    e.g. parallel test workers) sees one complete version or the other, never a mix; an existing
    file, whatever its mode, is replaced by a 0600 one.
    """
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
