#!/usr/bin/env bash
# Set up (venv, packages, Debian's chromium for the browser tests) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's chromium (browser tests) and redis-server (rate limits shared through Redis).
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v npm >/dev/null 2>&1 || missing="$missing npm"   # axe-core for the browser tests
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
scripts/setup.sh test
export HF_HUB_OFFLINE=1
# The browser tests' screenshots, kept by CI as artifacts.
export ACCORD_BROWSER_ARTIFACTS=${ACCORD_BROWSER_ARTIFACTS:-test-artifacts}
exec .venv/bin/pytest -q "$@"
