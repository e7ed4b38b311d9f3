"""nbgrader's formgrader served by a real `jupyter server`, and Chromium logged in to it: the helpers
of tests/test_formgrader_browser.py and tests/test_formgrader_links.py, and their fixtures `server` and
`browser` over the module's own `course` fixture:

    server, browser = formgrader.server_fixture, formgrader.browser_fixture"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograder.course.assignment import ROOT
from tests.browser import LOAD_TIMEOUT
from tests.course import db_url

START_TIMEOUT = 60.0  # seconds for the server to answer


@dataclass(frozen=True)
class Server:
    url: str  # http://127.0.0.1:PORT
    token: str
    course: Path
    log: Path


def course_config(course: Path) -> str:
    """The course's nbgrader_config.py: the repository's, with the root and database moved here.

    Options on jupyter server's command line do not work: the formgrader loads the
    nbgrader_config.py of its current directory (and of the course root) over what it inherits
    from the server, and again on every page (FormgradeExtension.url_prefix, BaseHandler.api).
    Started in the repository with --CourseDirectory.root=<course>, the repository's file wins
    (root = the repository, outside the server's root_dir: "The course directory root is not a
    subdirectory of the notebook server root", every page is nbgrader's error page); started in the course
    without a file, the kit's configuration is not read at all. So the server runs in the course
    with this file, which loads the repository's (load_subconfig sets its __file__, so its
    sys.path line still finds autograder/) and then moves the root and the database."""
    return (
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(ROOT / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = {db_url(course)!r}\n"
        # the course's own exchange (the default /usr/local/share/nbgrader/exchange is not here)
        f"c.Exchange.root = {str(course.parent / 'exchange')!r}\n"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def start_server(course: Path) -> Iterator[Server]:
    """A real `jupyter server` with only nbgrader's formgrader extension, serving `course`."""
    home = course.parent / "home"
    dirs = {k: home / k.lower() for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR")}
    for d in (home, *dirs.values()):
        d.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        **{k: str(v) for k, v in dirs.items()},
        # no config file of the user's or of the venv's etc/jupyter (which enables lab, notebook,
        # lsp, terminals and all of nbgrader's extensions): only what the command line says
        "JUPYTER_NO_CONFIG": "1",
        "TMPDIR": str(home),  # where JUPYTER_NO_CONFIG makes its blank config folder
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }
    port, token = free_port(), secrets.token_hex(24)
    log = course.parent / "jupyter_server.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--allow-root",  # the tests may run as root in a container
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",  # jupyter_server 2.x (ServerApp.token is deprecated)
        f"--ServerApp.root_dir={course}",  # the formgrader needs the course inside the root
        "--ServerApp.jpserver_extensions",
        "nbgrader.server_extensions.formgrader=True",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(f"{url}/login"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter server did not answer (exit {proc.poll()}):\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(url, token, course, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(driver, script: str, *args: object, timeout: float = LOAD_TIMEOUT) -> object:
    """Wait until the JavaScript `script` returns something truthy (the Backbone views render
    after their collection's fetch), and return it."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script, *args))


def log_in(chromium, server: Server):
    """Chromium logged in to the server by typing the token into jupyter_server's login form."""
    from selenium.webdriver.common.by import By

    chromium.set_window_size(1280, 900)
    chromium.get(f"{server.url}/login?next=%2Fformgrader%2Fgradebook")
    field = chromium.find_element(By.ID, "password_input")
    field.send_keys(server.token)
    field.submit()
    wait_for(
        chromium, "return location.pathname.startsWith('/formgrader/gradebook') && document.readyState === 'complete'"
    )
    assert any(c["name"].startswith("username-127-0-0-1") for c in chromium.get_cookies()), chromium.get_cookies()
    return chromium


@pytest.fixture(scope="module", name="server")
def server_fixture(course: Path) -> Iterator[Server]:
    """The formgrader serving the module's `course`."""
    with start_server(course) as server:
        yield server


@pytest.fixture(scope="module", name="browser")
def browser_fixture(chromium: Any, server: Server) -> Any:
    """Chromium logged in to the server by typing the token into jupyter_server's login form."""
    return log_in(chromium, server)


def save_shot(path: Path) -> None:
    if os.environ.get("NB74_BROWSER_SHOT_DIR"):
        Path(os.environ["NB74_BROWSER_SHOT_DIR"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["NB74_BROWSER_SHOT_DIR"]) / path.name)
