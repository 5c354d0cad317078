#!/usr/bin/env bash
# Set up (venv, packages) and start the bot on the default corpus; builds the index if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export HF_HUB_OFFLINE=1
exec .venv/bin/accord serve "$@"
