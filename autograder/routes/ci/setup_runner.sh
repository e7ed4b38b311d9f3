#!/usr/bin/env bash
# The grading runner (ubuntu-24.04): bubblewrap, the user namespaces it needs, the pinned kit.
# GitHub's image has no bubblewrap, and AppArmor blocks unprivileged user namespaces there
# (DESIGN.md); without them the judge would fall back to weaker isolation, so CI insists on them.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! command -v bwrap >/dev/null; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q bubblewrap
fi
if [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; then
  $SUDO sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
fi
bwrap --unshare-all --die-with-parent --ro-bind / / true  # fails here, not in the middle of grading
python -m pip install -q --no-deps -r requirements.lock
