"""A real PostgreSQL server for tests (Debian's postgresql-15), private to the test session.

`make system-deps` installs it where it runs as root; the `postgres` fixture skips only where it is
missing and cannot be installed (not root, or no apt-get). The server is made by `initdb` in a fresh
temporary folder and listens on a Unix socket in that folder only (no TCP port: concurrent sessions
never meet), with trust authentication (only the folder's owner can reach the socket). PostgreSQL
refuses to run as root: as root, the server runs as `nobody` and the folder belongs to it.

    # the fixtures live in tests/conftest.py: one server per test session
    def test_x(postgres_url):        # a fresh database per test: postgresql+psycopg2://nb74@/db3?host=...
        ...
    def test_y(postgres):            # the server: postgres.create_database("name") -> its URL
        ...
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
USER = "nb74"  # the superuser initdb creates (the URL's user name)
START_TIMEOUT = 60.0  # seconds for the server to accept connections
UNPRIVILEGED = "nobody"


def missing_reason() -> str | None:
    """Why PostgreSQL cannot be used here, or None."""
    import importlib.util

    if (PG_BIN / "initdb").exists() and (PG_BIN / "postgres").exists():
        if importlib.util.find_spec("psycopg2") is None:
            pytest.fail("psycopg2 missing from the venv: it is pinned in requirements.lock (make setup)")
        return None
    can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
    if can_install:  # a machine that could have it must not pass by skipping: say how to get it
        pytest.fail(f"{PG_BIN}/initdb missing: run `make system-deps` (as root it installs postgresql-15)")
    return f"PostgreSQL 15 ({PG_BIN}) not installed, and installing it needs root and apt-get (make system-deps)"


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    """The command prefix that runs PostgreSQL's programs as a user it accepts, and that user's
    uid/gid when it differs from ours (as root: nobody; else: ourselves, no prefix)."""
    if os.geteuid() != 0:
        return [], None, None
    user = pwd.getpwnam(UNPRIVILEGED)
    if shutil.which("setpriv"):  # exec()s the program: its pid is the server's pid
        prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]
    else:
        prefix = ["runuser", "-u", UNPRIVILEGED, "--"]
    return prefix, user.pw_uid, user.pw_gid


class PostgresServer:
    """initdb + postgres in `base` (data/, the socket and the log); start(), create_database(), stop()."""

    def __init__(self, base: Path):
        self.base = base
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.prefix, self.uid, self.gid = _as_server_user()
        if self.uid is not None and self.gid is not None:
            os.chown(base, self.uid, self.gid)
        base.chmod(0o700)
        self.proc: subprocess.Popen | None = None
        self._names = itertools.count(1)

    def _run(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        # a scrubbed locale: initdb takes its encoding from it (we ask for UTF8 and C collation)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        done = subprocess.run(
            [*self.prefix, *cmd], cwd=self.base, env=env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def start(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        # Output into a file the server user may write: the log folder is the server's own.
        log_fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if self.uid is not None and self.gid is not None:
            os.fchown(log_fd, self.uid, self.gid)
        try:
            self.proc = subprocess.Popen(
                [
                    *self.prefix,
                    str(PG_BIN / "postgres"),
                    "-D",
                    str(self.data),
                    "-k",
                    str(self.base),  # the Unix socket here,
                    "-c",
                    "listen_addresses=",  # and no TCP at all
                    "-c",
                    "unix_socket_permissions=0700",
                    # the tests kill clients, never this server: durability on disk is not under test
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                ],  # fmt: skip
                cwd=self.base,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
            )
        finally:
            os.close(log_fd)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg2

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited {self.proc.returncode}:\n{self.log_text()}")
            try:
                psycopg2.connect(host=str(self.base), user=USER, dbname="postgres").close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres not ready after {START_TIMEOUT:g} s:\n{self.log_text()}") from None
                time.sleep(0.1)

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL nbgrader and the batch take (psycopg2, over the Unix socket)."""
        return f"postgresql+psycopg2://{USER}@/{dbname}?host={self.base}"

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database (by default a fresh name); its URL."""
        import psycopg2

        name = name or f"nb74_{next(self._names)}"
        con = psycopg2.connect(host=str(self.base), user=USER, dbname="postgres")
        try:
            con.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with con.cursor() as cur:
                cur.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        finally:
            con.close()
        return self.url(name)

    def stop(self) -> None:
        """pg_ctl stop -m fast; if the server is still there, SIGKILL it (by its pid only)."""
        if self.proc is None:
            return
        try:
            self._run(str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server on a Unix socket in its own temporary folder (skips where it cannot
    run). Tests take the session's one through the `postgres` fixture (tests/conftest.py)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    # Not under pytest's tmp_path: that is root's 0700 folder, which `nobody` cannot enter; a short
    # path also keeps the socket's path under the 107-byte limit of Unix sockets.
    base = Path(tempfile.mkdtemp(prefix="nb74-pg-"))
    server = PostgresServer(base)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
