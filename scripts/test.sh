#!/usr/bin/env bash
# What `npm test` runs: make sure Redis binaries exist (installing them if needed), then vitest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-redis.sh
npx vitest run "$@"
