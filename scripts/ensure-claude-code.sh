#!/usr/bin/env bash
# The real Claude Code CLI for test/cli/claude-code.test.ts: npm's @anthropic-ai/claude-code at a pinned
# version, installed into a cache outside the repository (CLAUDE_CODE_CACHE, default
# ~/.cache/ai-gateway/claude-code/<version>) and reused, never a dependency of the project (it is a native
# binary of some 400 MB). Its package wants Node 22 or later: on an older machine Node, npm runs on the
# newest Node 22 that scripts/node-release.sh fetches. Prints the binary's path; any failure exits non-zero.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLAUDE_CODE_VERSION=2.1.332
INSTALL_NODE_MAJOR=22
CACHE="${CLAUDE_CODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-gateway/claude-code}"
dir="$CACHE/$CLAUDE_CODE_VERSION"
binary="$dir/node_modules/@anthropic-ai/claude-code/bin/claude.exe"

fail() {
  echo "ensure-claude-code: ERROR: $*" >&2
  exit 1
}

installed() { [ -x "$binary" ] && [ "$("$binary" --version 2>/dev/null)" = "$CLAUDE_CODE_VERSION (Claude Code)" ]; }

if ! installed; then
  echo "ensure-claude-code: installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into $dir" >&2
  node_path=""
  if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt "$INSTALL_NODE_MAJOR" ]; then
    node_path="$(bash scripts/node-release.sh "$INSTALL_NODE_MAJOR"):"
  fi
  # Installed beside the cache entry, then moved into place: an interrupted install leaves no half entry.
  partial="$dir.partial"
  rm -rf "$partial" && mkdir -p "$partial"
  PATH="$node_path$PATH" npm install --prefix "$partial" --no-save --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >&2 || fail "npm install @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION failed"
  rm -rf "$dir" && mv "$partial" "$dir"
  installed || fail "$binary is not Claude Code $CLAUDE_CODE_VERSION after the install"
fi
echo "$binary"
