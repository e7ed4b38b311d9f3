"""Student notebooks as editors and students really leave them: the support matrix's fixtures.

Every fixture starts from the *correct* notebook a student would hand in: the release with the
reference answers pasted into its answer cells (`correct_notebook`). Then one change each:

- saved by a real JupyterLab 4 or Notebook 7, driven in headless Chromium (open, type into a
  non-graded cell, Ctrl+S): `save_in_jupyter`;
- the metadata shapes VS Code's Jupyter extension and Google Colab write (`vscode_shape`,
  `colab_shape`, built from their documented formats: see the comments there);
- what students do to a notebook: metadata lost, answers merged into one cell, an answer split in
  two, a helper cell added above the answer that calls it, cells reordered, invalid cell ids, a
  test cell deleted, a renamed file;
- older formats: nbformat 4.0-4.4 (ids dropped, as those versions have none) and nbformat 3.

`build_all(folder)` writes every cheap fixture; the Jupyter ones need a browser (session scope).
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.nb74 import NB74
from tests.submissions import RELEASE, answer_source

RUBRIC = NB74.rubric
NB = f"{RUBRIC.notebook}.ipynb"
ANSWERS = tuple(RUBRIC.answer_cells)  # grade_ids of the answer cells, notebook order
Notebook = dict[str, Any]

# the classes each backward part defines (what the intake recovers an answer cell by)
CLASSES = {
    "linear": "Linear",
    "sigmoid": "Sigmoid",
    "relu": "ReLU",
    "tanh": "Tanh",
    "mse": "MSELoss",
    "softmax_ce": "SoftmaxCrossEntropy",
}


@dataclass(frozen=True)
class Fixture:
    """One row of the support matrix: a notebook file and whether the intake must say it changed it."""

    name: str
    path: Path
    noted: bool  # True: recovered or normalised, a note for the student is expected
    what: str  # one line for the matrix


def _gid(cell: dict[str, Any]) -> str | None:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return gid if isinstance(gid, str) else None


def _src(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def correct_notebook() -> Notebook:
    """The release with every answer cell holding the reference answer: the correct student."""
    nb: Notebook = json.loads(RELEASE.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        gid = _gid(cell)
        if gid in ANSWERS:
            cell["source"] = answer_source(gid)
    return nb


def write(nb: Notebook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def _index(nb: Notebook, gid: str) -> int:
    for i, cell in enumerate(nb["cells"]):
        if _gid(cell) == gid:
            return i
    raise KeyError(gid)


# -- real JupyterLab 4 / Notebook 7, driven in headless Chromium ---------------------------------

EDITORS = {"jupyterlab4": "lab", "notebook7": "notebook"}  # fixture name -> `jupyter <app>`
EDIT_MARK = "# edited in the browser"  # typed into a non-graded cell, proves the save is the editor's
EDITED_CELL = "# 次元の確認"  # the first line of the (early, never virtualised away) cell typed into
SERVER_START = 60.0  # seconds for a Jupyter server to answer
TYPE_ATTEMPTS = 5
SAVE_WAIT = 60.0  # seconds for the page to load, take the keys and write the file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def jupyter_server(app: str, folder: Path, home: Path) -> Iterator[str]:
    """`jupyter <app>` serving `folder` on 127.0.0.1 with a random token, its HOME, config, data
    and runtime folders private to this run (no user setting changes what it saves). Yields the
    base URL with the token; the server is stopped (its process group) on exit."""
    token = os.urandom(16).hex()
    port = _free_port()
    for sub in ("config", "runtime", "data"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "LANG": "C.UTF-8",
    }
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            app,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={folder}",
            "--ServerApp.open_browser=False",
            *(["--allow-root"] if os.geteuid() == 0 else []),
            "--LabServerApp.news_url=",  # no fetch of the news feed
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://localhost:{port}"  # the browser resolves only localhost (host-resolver rules)
    try:
        deadline = time.monotonic() + SERVER_START
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"jupyter {app} exited {proc.returncode}:\n{_tail(home / 'server.log')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"jupyter {app} did not listen in {SERVER_START:g} s") from None
                time.sleep(0.2)
        yield f"{base}/?token={token}"
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """The server and its kernels (one process group, started by us) stopped, SIGKILL after 20 s."""
    for sig, wait in ((15, 20.0), (9, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, n: int = 4000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-n:]


def save_in_jupyter(driver: Any, app: str, notebook: Path, home: Path) -> Path:
    """Open `notebook` in a real `jupyter <app>` (lab or notebook), type EDIT_MARK at the end of a
    non-graded code cell, press Ctrl+S and return the file as the editor saved it (in place)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    before = notebook.read_bytes()
    with jupyter_server(app, notebook.parent, home) as url:
        base, token = url.split("/?token=")
        path = {"lab": "lab/tree", "notebook": "notebooks"}[app]
        driver.get(f"{base}/{path}/{notebook.name}?token={token}")

        def edited_cell(d: Any) -> Any:
            for cell in d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell"):
                editors = cell.find_elements(By.CSS_SELECTOR, ".cm-content")
                if editors and EDITED_CELL in editors[0].text:
                    return editors[0]
            return False

        # the page re-renders cells while it loads (and while the kernel starts): an element found
        # may be replaced before it is used, so find it afresh and type again where that happens
        wait = WebDriverWait(driver, SAVE_WAIT, ignored_exceptions=(StaleElementReferenceException,))
        for attempt in range(TYPE_ATTEMPTS):
            try:
                editor = wait.until(edited_cell)
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", editor)
                editor.click()
                editor.send_keys(Keys.CONTROL, Keys.END)
                editor.send_keys(Keys.ENTER, EDIT_MARK)
                break
            except StaleElementReferenceException:
                if attempt == TYPE_ATTEMPTS - 1:
                    raise
                time.sleep(0.5)
        wait.until(lambda d: (e := edited_cell(d)) and EDIT_MARK in e.text)
        driver.switch_to.active_element.send_keys(Keys.CONTROL, "s")

        def saved(_: Any) -> bool:
            data = notebook.read_bytes()
            return data != before and EDIT_MARK.encode() in data

        try:
            wait.until(saved)
        except Exception as exc:
            raise AssertionError(f"jupyter {app} did not save the edit:\n{_tail(home / 'server.log')}") from exc
    return notebook


# -- what students do to a notebook ---------------------------------------------------------------


def _new_id(n: int) -> str:
    return f"student{n:04d}"


def metadata_lost(nb: Notebook) -> Notebook:
    """Copied cell by cell into a fresh notebook: no nbgrader metadata (no cell metadata at all),
    new cell ids, the new notebook's own metadata."""
    out = copy.deepcopy(nb)
    out["metadata"] = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    for i, cell in enumerate(out["cells"]):
        cell["metadata"] = {}
        cell["id"] = _new_id(i)
    return out


def answers_merged(nb: Notebook) -> Notebook:
    """Every class pasted into the first answer cell, the other class answer cells deleted (VS Code
    does not enforce nbgrader's `deletable`: vscode#158715)."""
    out = copy.deepcopy(nb)
    first, *others = [gid for gid in ANSWERS if gid in CLASSES]
    out["cells"][_index(out, first)]["source"] = "\n\n".join(answer_source(gid) for gid in (first, *others))
    out["cells"] = [c for c in out["cells"] if _gid(c) not in others]
    return out


# the reference Linear, its gradients computed by a module-level helper (a top-level boundary to cut at)
LINEAR_HELPER = '''def linear_backward(x, W, dout):
    """Linear の勾配: (dW, db, dx)"""
    return x.T @ dout, np.sum(dout, axis=0), dout @ W.T
'''
LINEAR_TAIL = """        x = self.cache['x']
        self.grads['W'], self.grads['b'], dx = linear_backward(x, self.params['W'], dout)
        return dx
"""


def _linear_with_helper() -> str:
    src = answer_source("linear")
    head = src[: src.index("        x = self.cache['x']")]
    return head + LINEAR_TAIL


def answer_split(nb: Notebook) -> Notebook:
    """The Linear answer cut in two at a top-level boundary: a helper function, then the class that
    calls it. Both halves keep the answer cell's metadata (a duplicated grade_id, as copying the
    cell and then cutting it in two leaves it)."""
    out = copy.deepcopy(nb)
    i = _index(out, "linear")
    second = copy.deepcopy(out["cells"][i])
    out["cells"][i]["source"] = LINEAR_HELPER
    second["source"] = _linear_with_helper()
    second["id"] = "linear-second-half"
    out["cells"].insert(i + 1, second)
    return out


TANH_HELPER = '''def tanh_grad(y, dout):
    """tanh の逆伝播: dout * (1 - y²)"""
    return dout * (1 - y ** 2)
'''


def helper_added(nb: Notebook) -> Notebook:
    """A new cell (no metadata, as JupyterLab inserts it) above the Tanh answer, defining a helper
    the answer calls: it runs in the student's own notebook."""
    out = copy.deepcopy(nb)
    i = _index(out, "tanh")
    src = answer_source("tanh")
    out["cells"][i]["source"] = src.replace("return dout * (1 - y ** 2)", "return tanh_grad(y, dout)")
    assert out["cells"][i]["source"] != src
    helper: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "id": "tanh-helper",
        "metadata": {},
        "outputs": [],
    }
    out["cells"].insert(i, {**helper, "source": TANH_HELPER})
    return out


def cells_reordered(nb: Notebook) -> Notebook:
    """Cells dragged around: the Tanh answer above the Sigmoid answer, the MSELoss answer below its
    test cell, the 8.2 exercise above 8.1's (metadata kept)."""
    out = copy.deepcopy(nb)
    cells = out["cells"]

    def move(gid: str, before: str | None = None, after: str | None = None) -> None:
        cell = cells.pop(_index(out, gid))
        at = _index(out, before) if before else _index(out, after or "") + 1
        cells.insert(at, cell)

    move("tanh", before="sigmoid")
    move("mse", after="test_mse")
    move("exercise_8_2", before="exercise_8_1")
    return out


def invalid_ids(nb: Notebook) -> Notebook:
    """Cell ids nbformat 4.5 does not allow: spaces and punctuation, duplicates, over 64 characters,
    empty (as hand-edited or tool-merged notebooks have)."""
    out = copy.deepcopy(nb)
    bad = ["answer #1", "dup", "dup", "x" * 100, "", "セル"]
    for n, cell in enumerate(out["cells"]):
        cell["id"] = bad[n % len(bad)]
    return out


def test_cell_deleted(nb: Notebook) -> Notebook:
    """A visible test cell (ReLU's) deleted."""
    out = copy.deepcopy(nb)
    del out["cells"][_index(out, "test_relu")]
    return out


def nbformat_minor(nb: Notebook, minor: int) -> Notebook:
    """The same notebook written as nbformat 4.<minor>: before 4.5 cells have no id."""
    out = copy.deepcopy(nb)
    out["nbformat_minor"] = minor
    if minor < 5:
        for cell in out["cells"]:
            cell.pop("id", None)
    return out


def nbformat3(nb: Notebook) -> str:
    """The notebook converted to nbformat 3 by nbformat itself (worksheets, `input`, prompt numbers)."""
    import nbformat

    v4 = nbformat.reads(json.dumps(nb), as_version=4)  # type: ignore[no-untyped-call]
    v3 = nbformat.convert(v4, 3)  # type: ignore[no-untyped-call]
    return str(nbformat.writes(v3, version=3))  # type: ignore[no-untyped-call]


# -- the metadata shapes VS Code and Colab write ----------------------------------------------------


def vscode_shape(nb: Notebook) -> str:
    """As VS Code's built-in ipynb serializer writes a notebook it opened (microsoft/vscode,
    extensions/ipynb/src/notebookSerializer.ts and serializers.ts): every object's keys sorted
    recursively, sources split into lines, the cells' metadata and ids kept as read, a new cell
    given an 8-hex id (cellIdService.ts, nbformat >= 4.5); the Jupyter extension records the
    interpreter in the notebook's metadata (`vscode.interpreter.hash`) and the kernel's full
    `language_info`. The student added a scratch cell at the end (VS Code gives it an id only)."""
    out = copy.deepcopy(nb)
    out["metadata"]["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.11.7",
    }
    out["metadata"]["vscode"] = {"interpreter": {"hash": "0" * 8 + "9d1c5e7a" * 7}}
    # a markdown scratch cell the student wrote (VS Code stores a cell's language only when it
    # differs from the notebook's: metadata.vscode.languageId)
    out["cells"].append(
        {"cell_type": "markdown", "id": "a1b2c3d4", "metadata": {}, "source": "メモ: VS Code で解きました"}
    )
    for cell in out["cells"]:
        src = _src(cell)
        cell["source"] = [line for line in src.splitlines(keepends=True)]
    return json.dumps(_sorted(out), ensure_ascii=False, indent=1) + "\n"


def _sorted(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_sorted(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _sorted(obj[k]) for k in sorted(obj)}
    return obj


COLAB_ID = re.compile(r"[^A-Za-z0-9_-]")


def colab_shape(nb: Notebook) -> str:
    """As Google Colab saves a notebook it opened from Drive: nbformat 4.0 (no cell-level `id`),
    each cell's id in its metadata instead (`metadata.id`, 12 characters), a code cell that ran
    carrying `metadata.colab.base_uri`, `outputId` and `executionInfo`, the notebook's metadata
    `colab: {name, provenance}` and a short kernelspec, keys in Colab's order (cell_type, source,
    metadata, execution_count, outputs), two-space indent. Colab keeps other cell metadata (nbgrader's
    included) when it re-saves (jax#2402). The shape follows Colab-saved notebooks on GitHub."""
    out: Notebook = {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"name": NB, "provenance": []},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        },
        "cells": [],
    }
    for n, cell in enumerate(nb["cells"]):
        meta = copy.deepcopy(cell.get("metadata", {}))
        meta["id"] = COLAB_ID.sub("_", (cell.get("id") or "") + f"nb74{n:08d}")[:12]
        new: dict[str, Any] = {"cell_type": cell["cell_type"], "source": _src(cell).splitlines(keepends=True)}
        if cell["cell_type"] == "code":
            if _gid(cell) in ANSWERS:  # the student ran the answers
                meta["colab"] = {"base_uri": "https://localhost:8080/"}
                meta["outputId"] = f"{n:08x}-0000-4000-8000-000000000000"
                meta["executionInfo"] = {"elapsed": 12, "status": "ok", "timestamp": 1717200000000 + n, "user_tz": -540}
            new.update(metadata=meta, execution_count=None, outputs=[])
        else:
            new["metadata"] = meta
        out["cells"].append(new)
    return json.dumps(out, ensure_ascii=False, indent=2)


def _as_minor(minor: int) -> Callable[[Notebook], Notebook]:
    return lambda nb: nbformat_minor(nb, minor)


# -- every fixture ------------------------------------------------------------------------------------

RENAMED = "matrix_backprop (1).ipynb"

# name -> (builder of the file's text, a note expected, what it is). The Jupyter-saved ones are
# built by save_in_jupyter (they need a browser), after these.
Builder = Callable[[Notebook], "Notebook | str"]
CHEAP: dict[str, tuple[Builder, bool, str]] = {
    "vscode": (vscode_shape, False, "VS Code's serializer: sorted keys, line lists, `vscode` metadata, a cell added"),
    "colab": (colab_shape, False, "Colab: nbformat 4.0, ids in `metadata.id`, `colab` metadata"),
    "metadata_lost": (metadata_lost, True, "all cell metadata removed, new ids (copied into a fresh notebook)"),
    "answers_merged": (answers_merged, True, "every class in the first answer cell, the others deleted"),
    "answer_split": (answer_split, True, "Linear cut in two: a helper function, then the class (grade_id twice)"),
    "helper_added": (helper_added, True, "a new cell above the Tanh answer defining a helper it calls"),
    "cells_reordered": (
        cells_reordered,
        True,
        "answer cells moved (Tanh before Sigmoid, MSE below its test, 8.2 before 8.1)",
    ),
    "invalid_ids": (invalid_ids, True, "cell ids with spaces, duplicates, 100 characters, empty, non-ASCII"),
    "test_cell_deleted": (test_cell_deleted, True, "ReLU's visible test cell deleted"),
    "renamed": (copy.deepcopy, True, f"file renamed `{RENAMED}`"),
    **{
        f"nbformat_4_{m}": (
            _as_minor(m),
            False,
            f"nbformat 4.{m}" + (" (no cell ids)" if m < 5 else ""),
        )
        for m in range(6)
    },
    "nbformat_3": (nbformat3, False, "nbformat 3 (nbformat.convert(nb, 3))"),
}
JUPYTER: dict[str, tuple[str, str]] = {
    "jupyterlab4": ("lab", "saved by JupyterLab 4 in Chromium: a cell edited, Ctrl+S"),
    "notebook7": ("notebook", "saved by Notebook 7 in Chromium: a cell edited, Ctrl+S"),
}
NAMES = (*JUPYTER, *CHEAP)


def build_cheap(folder: Path) -> dict[str, Fixture]:
    """Every fixture but the Jupyter-saved ones, each in folder/<name>/<file name>."""
    base = correct_notebook()
    out = {}
    for name, (build, noted, what) in CHEAP.items():
        made = build(copy.deepcopy(base))
        path = folder / name / (RENAMED if name == "renamed" else NB)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(made, str):
            path.write_text(made, encoding="utf-8")
        else:
            write(made, path)
        out[name] = Fixture(name, path, noted, what)
    return out


def build_jupyter(folder: Path, driver: Any) -> dict[str, Fixture]:
    """The correct notebook opened, edited and saved by real JupyterLab 4 and Notebook 7."""
    out = {}
    for name, (app, what) in JUPYTER.items():
        path = write(correct_notebook(), folder / name / NB)
        save_in_jupyter(driver, app, path, folder / f"{name}-home")
        out[name] = Fixture(name, path, False, what)
    return out
