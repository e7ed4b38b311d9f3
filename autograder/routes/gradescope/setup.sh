#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 22.04 or 24.04:
# Python 3.10 or 3.12, whatever python3 is; the judge's runtime supports 3.10-3.13).
# The judge's Python packages are pinned (autograder/requirements-judge.txt). The Debian/Ubuntu
# packages are the image's release's own (bubblewrap, libseccomp2, python3-venv): their versions
# differ between 22.04 and 24.04 and get security updates, so they are not pinned here.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
PYTHON="${AUTOGRADER_PYTHON:-python3}"

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; } ||
      echo "setup.sh: warning: apt-get could not install $*" >&2
  fi
}

"$PYTHON" -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
# Stronger isolation where the container allows it (the judge falls back to rlimits, uid, Landlock
# and seccomp when user namespaces are refused, and records the level in every results.json).
command -v bwrap >/dev/null 2>&1 || apt_install bubblewrap libseccomp2

"$PYTHON" -m venv "$SRC/.venv"
VENV_PY="$SRC/.venv/bin/python"
"$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-deps -r "$SRC/autograder/requirements-judge.txt"
"$VENV_PY" -m pip check
# The kit importable from the venv in isolated mode (python -I ignores PYTHONPATH and the cwd).
echo "$SRC" >"$("$VENV_PY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/nb74_autograder.pth"
"$VENV_PY" -m compileall -q "$SRC/autograder" "$SRC/solutions"
# The student's process drops to uid nobody where it can reach Python: the venv world-readable,
# and what only the judge may read (graders, reference, hidden tests, the course secret, the
# store of expected values) closed to others, in case Landlock is missing too.
chmod -R go+rX "$SRC/.venv"
# The judge's cache (expected values, the sandbox's sysconfig copies): XDG_CACHE_HOME of run_autograder.
mkdir -p "$ROOT/cache"
chmod -R go-rwx "$SRC/autograder/graders" "$ROOT/cache" "$SRC/autograder/assignments" \
  "$SRC/solutions" "$SRC/source" "$SRC/course-secret"
echo "setup.sh: judge runtime ready: $("$VENV_PY" --version)"
