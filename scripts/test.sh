#!/usr/bin/env bash
# What `npm test` runs: make sure the real services the tests start exist (redis-server; PostgreSQL's
# initdb and postgres; prometheus and promtool; chromium for the console), installing Debian's packages when
# they are missing, and the real Claude Code CLI (its path in CLAUDE_CODE_BIN), check the shipped Prometheus
# config and rules with promtool, then vitest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-redis.sh
bash scripts/ensure-postgres.sh
bash scripts/ensure-prometheus.sh
bash scripts/ensure-chromium.sh
CLAUDE_CODE_BIN="$(bash scripts/ensure-claude-code.sh)"
export CLAUDE_CODE_BIN
promtool check config config/prometheus.yml
npx vitest run "$@"
