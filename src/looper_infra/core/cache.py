"""The user's cache: work `looper` can skip next time, never anything a deployment uses.

`$XDG_CACHE_HOME/looper/<name>/<entry>` (default `~/.cache/looper/...`). What is kept there:
compiled startup-script templates (`jinja2/`, see bootstrap/render.py) and the RSA keys the
offline plan signs its stand-in certificates with (`plan-keys/`, see
engine/fakes/tls/key_cache.py). Deleting any of it is always safe.

The cache never fails a run. Any error reading or writing it (a full disk, a read-only or
unwritable directory, an unsafe directory, a symbolic link where a directory or an entry
should be) turns it off for the rest of the process with one line on stderr (`warning: ...`);
the work is then done without it and the result is the same. An entry that is absent or does
not decode (`read` returns its bytes; the caller decodes) is made again and replaced.

What is loaded from there is executed (compiled templates) or trusted (keys), so it is used
only when nobody else can have put it there:

- every directory from the cache root down (`$XDG_CACHE_HOME` or `~/.cache`, `looper`,
  `<name>`) is owned by the current user and not writable by group or others; `<name>` is
  0700 (created so);
- below the root nothing is followed: each directory is opened with `O_NOFOLLOW` relative to
  the file descriptor of its parent (checked with `fstat` on what was opened, so it cannot be
  swapped between the check and the use); an entry is read with `O_NOFOLLOW` (a regular file
  of ours that nobody else may write) and written as a new file (`O_CREAT|O_EXCL|O_NOFOLLOW`,
  0600) renamed over the entry inside that directory. The root itself is the user's own
  setting and is opened as named (then checked the same way).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

#: The cache directories this module keeps (one per kind of entry).
NAMES = ("jinja2", "plan-keys")

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_lock = threading.Lock()
_off: str | None = None  # why the cache is off for the rest of this process


class UnsafeCache(Exception):
    """A cache directory or entry that someone else could have written."""


def cache_root() -> Path:
    """`$XDG_CACHE_HOME`, else `~/.cache`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def off_reason() -> str | None:
    """Why the cache is off in this process (None: in use)."""
    return _off


def reset() -> None:
    """Use the cache again (a new run, as far as this module can tell; for tests)."""
    global _off
    with _lock:
        _off = None


def _turn_off(exc: BaseException) -> None:
    global _off
    reason = _describe(exc)
    with _lock:
        if _off is not None:
            return
        _off = reason
    try:
        where = str(cache_root() / "looper")
    except Exception:  # no home directory to name
        where = "$XDG_CACHE_HOME/looper"
    # one line, never a traceback: the run goes on without the cache
    sys.stderr.write(f"warning: not using the cache {where} for this run "
                     f"(the result is the same, only slower): {reason}\n")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and exc.filename and os.path.islink(exc.filename):
            return f"{where}is a symbolic link (not followed)"
        if exc.errno == errno.ENOTDIR:
            return f"{where}is not a directory"
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, UnsafeCache):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _check(fd: int, path: Path, *, private: bool, kind: str) -> None:
    info = os.fstat(fd)
    if info.st_uid != os.getuid():
        raise UnsafeCache(f"{path} is owned by uid {info.st_uid}, not by this user "
                          f"(uid {os.getuid()})")
    loose = info.st_mode & (0o077 if private else 0o022)
    if loose:
        raise UnsafeCache(f"{path} is mode {stat.S_IMODE(info.st_mode):o}: "
                          + ("only its owner may use it (chmod 700)" if kind == "directory" and private
                             else "only its owner may write it (chmod go-w)"))
    if kind == "file" and not stat.S_ISREG(info.st_mode):
        raise UnsafeCache(f"{path} is not a regular file")


@contextmanager
def _at(path: Path) -> Iterator[None]:
    """OSErrors raised inside name the whole `path` (a call relative to a directory's file
    descriptor names only the last part of it, os.write names nothing)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None or not os.path.isabs(str(exc.filename)):
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def _open_dir(name: str, parent: int, path: Path, *, private: bool) -> int:
    with _at(path):
        with suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent)
    try:
        _check(fd, path, private=private, kind="directory")
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def _directory(name: str) -> Iterator[int]:
    """A file descriptor of `<root>/looper/<name>`, every directory on the way checked."""
    root = cache_root()
    with _at(root):
        if not root.is_dir():
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fds = [os.open(root, _DIR_FLAGS)]
    try:
        _check(fds[0], root, private=False, kind="directory")
        fds.append(_open_dir("looper", fds[-1], root / "looper", private=False))
        fds.append(_open_dir(name, fds[-1], root / "looper" / name, private=True))
        yield fds[-1]
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _entry_name(name: str, entry: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown cache {name!r} (one of {', '.join(NAMES)})")
    if not entry or "/" in entry or "\0" in entry or entry.startswith("."):
        raise ValueError(f"not a cache entry name: {entry!r}")
    return entry


def read(name: str, entry: str) -> bytes | None:
    """The bytes of `<name>/<entry>`; None when it is absent or the cache is off."""
    entry = _entry_name(name, entry)
    if _off is not None:
        return None
    try:
        path = cache_root() / "looper" / name / entry
        with _directory(name) as directory, _at(path):
            try:
                fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                             dir_fd=directory)
            except FileNotFoundError:
                return None
            try:
                _check(fd, path, private=False, kind="file")  # its directory is 0700
                chunks = []
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
                return b"".join(chunks)
            finally:
                os.close(fd)
    except Exception as exc:  # any: the cache never fails a run (see above)
        _turn_off(exc)
        return None


def write(name: str, entry: str, data: bytes) -> None:
    """Store `data` as `<name>/<entry>` (0600, replaced whole); nothing when the cache is off.

    Written to a new temporary file in the same directory and renamed over the entry, so a
    reader (or a concurrent writer: parallel test workers) sees one complete version or the
    other.
    """
    entry = _entry_name(name, entry)
    if _off is not None:
        return
    try:
        with _directory(name) as directory, _at(cache_root() / "looper" / name / entry):
            temporary = f".{entry}.{secrets.token_hex(8)}"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=directory)
            try:
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
                os.replace(temporary, entry, src_dir_fd=directory, dst_dir_fd=directory)
            except BaseException:
                with suppress(OSError):
                    os.unlink(temporary, dir_fd=directory)
                raise
    except Exception as exc:  # any: the cache never fails a run (see above)
        _turn_off(exc)
