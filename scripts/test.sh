#!/usr/bin/env bash
# Set up (venv, packages, Debian's chromium for the browser tests) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's chromium (browser tests), redis-server (rate limits shared through Redis) and
# postgresql (feedback shared by replicas; the tests start their own server on 127.0.0.1).
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
scripts/setup.sh test
export HF_HUB_OFFLINE=1
exec .venv/bin/pytest -q "$@"
