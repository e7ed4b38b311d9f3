"""The kit's own files on the grading machine: where its cache is, and how a file is written whole.

The cache holds what the judge computes once and keeps between runs (the sanitized sysconfig the
sandbox binds, the store of expected values). It lives outside the package, under
$XDG_CACHE_HOME/nb74-kit (default ~/.cache/nb74-kit; Gradescope's run_autograder sets
XDG_CACHE_HOME), in a folder closed to other users (mode 0700): the student's process never reads
it, whatever its uid.

Every file another process may read while it is written (a report, a results.json, an autograded
notebook, the cache's files) is written by write_atomic/atomic_file: into a new file beside it,
then renamed over it, so a reader sees the old file or the new one, never half of one, and two
writers never share a temporary file. (No fsync: a power cut may still lose the new file.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

CACHE_NAME = "nb74-kit"


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/nb74-kit, or ~/.cache/nb74-kit (a relative XDG_CACHE_HOME is ignored, as
    the XDG base directory specification says). Not created: see make_cache_dir."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / CACHE_NAME


def make_cache_dir(*parts: str) -> Path:
    """cache_dir()/parts, created: the cache folder itself with mode 0700 (closed again if it was
    opened to others), the folders under it with the default mode. OSError where it cannot be."""
    top = cache_dir()
    top.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.stat(top).st_mode & 0o077:
        os.chmod(top, 0o700)
    folder = top.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def atomic_file(path: Path | str, mode: int | None = None) -> Iterator[BinaryIO]:
    """A binary file to write `path`'s new content to; it replaces `path` when the block ends
    without an exception, and is removed otherwise. mode: the new file's permissions (by default
    what open() would give, 0o666 less the umask)."""
    path = Path(path)
    tmp = _new_file(path, 0o666 if mode is None else mode)
    try:
        with os.fdopen(tmp[0], "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)  # exactly `mode`, whatever the umask
            yield f
        os.replace(tmp[1], path)
    except BaseException:
        try:
            os.unlink(tmp[1])
        except OSError:
            pass
        raise


def write_atomic(path: Path | str, data: bytes | str, mode: int | None = None) -> None:
    """Write `data` (str: as UTF-8) to `path` whole, see atomic_file."""
    with atomic_file(path, mode) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def _new_file(path: Path, mode: int) -> tuple[int, str]:
    """(fd, name) of a new, empty file beside `path`, named after it (hidden), never an existing one."""
    for _ in range(100):
        name = os.path.join(path.parent, f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")
