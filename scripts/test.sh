#!/usr/bin/env bash
# Set up (venv, packages, Debian's chromium for the browser tests) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's chromium (browser tests), redis-server (rate limits shared through Redis) and
# postgresql (feedback shared by replicas; the tests start their own server on 127.0.0.1).
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
# tesseract and its languages (OCR of scanned PDF pages), a CJK font (the tests' Chinese PDFs),
# npm (pdf.js for the document viewer).
command -v tesseract >/dev/null 2>&1 || missing="$missing tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-chi-tra"
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$missing fonts-wqy-microhei"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
scripts/setup.sh test
export HF_HUB_OFFLINE=1
# The layers and no import cycles (the contracts in pyproject.toml).
.venv/bin/lint-imports
# The browser tests' screenshots, kept by CI as artifacts.
export ACCORD_BROWSER_ARTIFACTS=${ACCORD_BROWSER_ARTIFACTS:-test-artifacts}
exec .venv/bin/pytest -q "$@"
