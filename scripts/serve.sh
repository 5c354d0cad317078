#!/usr/bin/env bash
# Start the bot on the default corpus (builds the index if needed). Installs first only when
# there is no .venv yet or what setup installs changed since the last run (a stamp in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.accord-serve-setup
want=$(cat pyproject.toml scripts/setup.sh package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/accord ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  scripts/setup.sh none
  echo "$want" > "$stamp"
fi
export HF_HUB_OFFLINE=1
# Programs on this machine (an evaluation sending hundreds of questions) are not rate-limited;
# clients from elsewhere, or forwarded by a proxy, are. Set it empty to limit everyone.
export ACCORD_RATE_LIMIT_EXEMPT="${ACCORD_RATE_LIMIT_EXEMPT-127.0.0.1,::1}"
exec .venv/bin/accord serve "$@"
