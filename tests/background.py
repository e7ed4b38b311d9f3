"""Expensive session artefacts built in the background while the suite does other work.

The suite runs one test at a time, and for minutes at a stretch (the fast tier first, then tests
that wait on one process at a time) it keeps one core of the machine busy. Some artefacts take long
and are the same whichever test asks first: the released course (`nbgrader generate_assignment`),
the Gradescope image (its setup.sh builds a venv with pip), the judge's venvs for other Pythons,
the generated 1,000-student class, the demo course. Once collection knows which are needed
(tests/conftest.py: the fixtures of the selected slow tests), one background thread builds them,
one after another in the order the tests will ask for them; a fixture takes its artefact with
`result(name, build)`: the background build's result (waiting for it), or, when its turn has not
come yet, build() right there. Either way the same function builds it, once; a build that failed
raises in the fixture, as it would have there.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

_FUTURES: dict[str, Future[Any]] = {}
_LOCK = threading.Lock()
_QUEUE: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
_THREAD: list[threading.Thread] = []


def _lane() -> None:
    while True:
        future, build = _QUEUE.get()
        if not future.set_running_or_notify_cancel():
            continue  # its fixture came first and built it itself
        try:
            future.set_result(build())
        except BaseException as e:  # raised again in the fixture that asks for it
            future.set_exception(e)


def start(name: str, build: Callable[[], Any]) -> None:
    """Queue `name` for the background thread (a daemon: a run that ends first does not wait)."""
    with _LOCK:
        if name in _FUTURES:
            return
        future: Future[Any] = Future()
        _FUTURES[name] = future
        if not _THREAD:
            _THREAD.append(threading.Thread(target=_lane, name="nb74-background", daemon=True))
            _THREAD[0].start()
    _QUEUE.put((future, build))


def result(name: str, build: Callable[[], Any]) -> Any:
    """The artefact `name`: the background build's, or build() here if none has started."""
    with _LOCK:
        future = _FUTURES.pop(name, None)
    if future is None or future.cancel():
        return build()
    return future.result()


def stop() -> None:
    """At the end of the run: drop what has not started, and end the processes of a build still
    running (the run's descendants: by then only the background thread has any), by pid."""
    with _LOCK:
        pending = [f for f in _FUTURES.values() if not f.cancel() and not f.done()]
    if not pending:
        return
    for pid in _descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _descendants(root: int) -> list[int]:
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            parent[int(entry)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    found, grew = {root}, True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in found and pid not in found}
        found |= more
        grew = bool(more)
    return sorted(found - {root})
