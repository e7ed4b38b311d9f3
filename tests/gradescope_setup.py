"""A Gradescope autograder zip unpacked and set up as Gradescope builds its image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from autograder.course.assignment import ROOT
from tests import pythons, run_folder


def image() -> Gradescope:
    """The run's one image (the `gradescope_image` fixture): `python -m autograder gradescope
    --out DIR` (the real command), then install() under $AUTOGRADER_ROOT, in the run's folder
    (tests/run_folder.py: made once per run, whichever process asks first)."""
    base = run_folder.built("gradescope-image", _make_image)
    gs = Gradescope(base / "root")
    gs.zip_path = base / "zip" / "autograder.zip"
    return gs


def _make_image(base: Path) -> None:
    cmd = [sys.executable, "-m", "autograder", "gradescope", "--out", str(base / "zip")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    install(base / "zip" / "autograder.zip", base / "root")


def install(zip_path: Path, root: Path) -> Gradescope:
    """Unpack the zip under root/source and run its setup.sh, as Gradescope builds the image."""
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
        for info in z.infolist():  # zipfile does not restore modes; Gradescope's unzip does
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    gs = Gradescope(root)
    python = pythons.interpreter("3.10") or Path(shutil.which("python3") or sys.executable)
    done = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        env=gs.env(AUTOGRADER_PYTHON=str(python)),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "judge runtime ready: Python 3." in done.stdout
    return gs


class Gradescope:
    """An unpacked, set-up autograder under `root`; submit() is one Gradescope grading run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.zip_path: Path | None = None  # the zip it was set up from, when image() made it

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": os.environ["PATH"], "HOME": str(self.root), "AUTOGRADER_ROOT": str(self.root), **extra}

    def submit(self, files: dict[str, Path | bytes | str], mtimes: dict[str, float] | None = None, **env: str) -> dict:
        """files: name -> a file to copy, bytes to write, or "->target" for a symbolic link. One
        submit at a time in the image, whichever of the run's processes asks (as Gradescope runs one
        submission per container)."""
        with run_folder.locked(self.root / "submit.lock"):
            return self._submit(files, mtimes, **env)

    def _submit(self, files: dict[str, Path | bytes | str], mtimes: dict[str, float] | None, **env: str) -> dict:
        for folder in ("submission", "results"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
            (self.root / folder).mkdir()
        for name, what in files.items():
            path = self.root / "submission" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(what, str) and what.startswith("->"):
                path.symlink_to(what[2:])
            elif isinstance(what, Path):
                shutil.copyfile(what, path)
            else:
                path.write_bytes(what if isinstance(what, bytes) else what.encode())
        for name, mtime in (mtimes or {}).items():
            os.utime(self.root / "submission" / name, (mtime, mtime))
        done = subprocess.run(
            [str(self.root / "source" / "run_autograder")], env=self.env(**env), capture_output=True, timeout=600
        )
        assert done.returncode == 0, done.stderr.decode()
        return json.loads((self.root / "results" / "results.json").read_text(encoding="utf-8"))
