"""The course secret, from which each submission's hidden inputs are drawn.

The graders' inputs are no longer the same for everyone: they are drawn from
HMAC-SHA256(secret, digest of the cells the student wrote), so identical code gets identical
inputs (regrades, the nbgrader route and the batch agree), while inputs learnt from one
submission are useless in any other (changing the code changes them).

The secret is read from $NB74_COURSE_SECRET (hex) if set, else from a file:
$NB74_COURSE_SECRET_FILE, by default ${XDG_CONFIG_HOME:-~/.config}/nb74/course-secret, created
with 32 random bytes (mode 0600) on first use. It is kept out of the repository and the release;
every machine that grades the course (Dask workers too) needs the same secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from .assignment import GIVEN_PREFIX

ENV_SECRET = "NB74_COURSE_SECRET"
ENV_FILE = "NB74_COURSE_SECRET_FILE"
SECRET_BYTES = 32


def secret_path() -> Path:
    if os.environ.get(ENV_FILE):
        return Path(os.environ[ENV_FILE])
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "nb74" / "course-secret"


def _read_hex(text: str, origin: str) -> bytes:
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise RuntimeError(f"{origin}: the course secret must be hexadecimal") from None
    if len(secret) < 16:
        raise RuntimeError(f"{origin}: the course secret must have at least 16 bytes (32 hex digits)")
    return secret


def _read_or_create(path: Path) -> bytes:
    try:
        return _read_hex(path.read_text(encoding="ascii"), str(path))
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:  # O_EXCL: of two judges starting at once, one creates the file and both read it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_hex(path.read_text(encoding="ascii"), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(os.urandom(SECRET_BYTES).hex() + "\n")
    return _read_hex(path.read_text(encoding="ascii"), str(path))


@cache
def _secret(env_value: str | None, path: str) -> bytes:
    if env_value:
        return _read_hex(env_value, ENV_SECRET)
    return _read_or_create(Path(path))


def course_secret() -> bytes:
    return _secret(os.environ.get(ENV_SECRET), str(secret_path()))


def cells_digest(cells: Sequence[tuple[str, str, bool]] | Sequence[tuple[str, str]]) -> bytes:
    """Digest of the cells as the judge loads them: (grade_id, source) in order."""
    return hashlib.sha256(json.dumps([[c[0], c[1]] for c in cells], ensure_ascii=False).encode()).digest()


def submission_key(cells: Sequence[tuple[str, str, bool]]) -> bytes:
    """The per-submission key the graders' inputs are drawn from (see graders/session.py).

    Only what the student wrote is keyed: the given cells come from source/, so a new release of
    the kit's given code (the visible checks, say) does not redraw every submission's inputs."""
    written = [c for c in cells if not c[0].startswith(GIVEN_PREFIX)]
    return hmac.new(course_secret(), cells_digest(written), hashlib.sha256).digest()
