"""Expected values kept on disk between grades, so that a grade does not redo the central differences.

An entry is found by its assignment's name and a digest of everything it is computed from: the grader code and the reference
solution (their files' bytes), NumPy's version, and the entry's own key (a case's seed and shape,
or a digest of the arrays a student's exercise recorded). Change any of them and the entry is
simply not found. The file is a sequence of frames of the judge's wire format (JSON and raw
numeric arrays): nothing in it is ever unpickled.

The judge opens the store only where the student's process cannot write to it (isolation
'bwrap'); in 'process' mode the student runs as the judge's user and values stay in memory.
Where: expected.frames in the judge's cache (autograder/course/files.py: a folder of mode 0700
outside the package, which the sandbox never binds), or $NB74_EXPECTED_STORE (empty: nowhere).
The file itself is written with mode 0600.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from autograder.course.assignment import Assignment, names
from autograder.course.files import atomic_file, cache_dir, make_cache_dir
from autograder.sandbox.inside import protocol

FILE_NAME = "expected.frames"  # in the judge's cache folder
ENV_PATH = "NB74_EXPECTED_STORE"  # another file for the store; empty: keep nothing on disk
MAX_ENTRIES = 512  # the graders' own cases need ~70; the rest are exercise setups of submissions


def default_path() -> Path:
    """The store's file in the judge's cache folder (see autograder/course/files.py)."""
    return cache_dir() / FILE_NAME


def store_path() -> Path | None:
    """Where the judge keeps expected values: $NB74_EXPECTED_STORE if set (empty: nowhere)."""
    value = os.environ.get(ENV_PATH)
    if value is None:
        return default_path()
    return Path(value) if value else None


ENGINE = Path(__file__).resolve().parent  # the engine's grader modules (autograder/graders/)


def digested_files(assignment: Assignment) -> list[Path]:
    """The files an assignment's expected values are computed from: the engine's grader modules,
    the assignment's grader modules and its reference."""
    return sorted(ENGINE.glob("*.py")) + sorted(assignment.graders_dir.glob("*.py")) + [assignment.reference()]


def files_digest(paths: list[Path]) -> bytes:
    h = hashlib.sha256(np.__version__.encode())
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.digest()


@cache
def code_digest(assignment: Assignment) -> bytes:
    """What every expected value of an assignment depends on besides its key (read once per process)."""
    return files_digest(digested_files(assignment))


def array_digest(*arrays: Any) -> str:
    """A key part for values computed from arrays (dtype, shape and bytes of each)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode() + a.tobytes())
    return h.hexdigest()


class ExpectedStore:
    """A dict of expected values loaded from one file; save() merges and replaces it atomically."""

    def __init__(self, path: Path | None, assignment: Assignment):
        self.path = default_path() if path is None else Path(path)
        self.assignment = assignment
        self.code = code_digest(assignment)
        # an entry's name: the assignment's, the code's digest, the key's; the file holds every
        # assignment's entries (saving keeps the others' as they are, drops this one's of other code)
        self.prefix = f"{assignment.name}:{self.code.hex()[:32]}:"
        self.added: dict[str, Any] = {}
        self.entries: dict[str, Any] = self._read()

    def digest(self, key: Any) -> str:
        """The entry's name: the code's digest, then the key's (entries of other code are dropped)."""
        return self.prefix + hashlib.sha256(self.code + repr(key).encode()).hexdigest()

    def current(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def get(self, key: Any) -> Any | None:
        return self.entries.get(self.digest(key))

    def put(self, key: Any, value: Any) -> None:
        d = self.digest(key)
        self.entries[d] = self.added[d] = value

    def _read(self, keep: Callable[[str], bool] | None = None) -> dict[str, Any]:
        """The file's entries this store finds (or those `keep` accepts)."""
        keep = keep or self.current
        try:
            data = self.path.read_bytes()
        except OSError:
            return {}
        out, at = {}, 0
        try:
            while at < len(data):
                (size,) = struct.unpack_from(">I", data, at)
                entry = protocol.decode(data[at + 4 : at + 4 + size])
                if keep(str(entry["k"])):
                    out[str(entry["k"])] = entry["v"]
                at += 4 + size
        except (struct.error, protocol.ChannelClosed, KeyError):
            return out  # a torn or foreign file: keep what was read, the rest is recomputed
        return out

    def save(self) -> None:
        """Write the file again with this process's new entries (nothing to do without any).
        Entries written meanwhile by another grader process are kept, and those of the other
        assignments; this assignment's of other grader code or another reference are dropped, and
        the oldest go beyond MAX_ENTRIES."""
        if not self.added:
            return
        others = set(names()) - {self.assignment.name}
        merged = self._read(lambda name: self.current(name) or name.split(":", 1)[0] in others)
        for d in self.added:
            merged.pop(d, None)
        merged.update(self.added)
        keep = list(merged.items())[-MAX_ENTRIES:]
        try:
            if self.path.parent == cache_dir():
                make_cache_dir()  # closed to others
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(self.path, mode=0o600) as f:
                for d, v in keep:
                    f.write(protocol.encode({"k": d, "v": v}))
        except (OSError, TypeError, ValueError):  # read-only cache, full disk: stay in memory
            return
        self.entries.update((k, v) for k, v in merged.items() if self.current(k))
        self.added.clear()
