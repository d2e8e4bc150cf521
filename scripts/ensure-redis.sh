#!/usr/bin/env bash
# Make sure `redis-server` and `redis-cli` are on PATH; the test suite starts its own
# Redis processes on random ports, so only the binaries are needed, not a running service.
# Idempotent: exits 0 at once when both binaries are already there. Otherwise installs
# Debian's `redis-server` package (which pulls in `redis-tools`, i.e. redis-cli).
# Fails loudly (non-zero exit) when that is not possible: tests must never skip Redis.
set -euo pipefail

have_redis() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1
}

missing() {
  local m=()
  command -v redis-server >/dev/null 2>&1 || m+=("redis-server")
  command -v redis-cli >/dev/null 2>&1 || m+=("redis-cli")
  echo "${m[*]}"
}

fail() {
  echo "ensure-redis: ERROR: $*" >&2
  echo "ensure-redis: the tests need real redis-server and redis-cli binaries on PATH" >&2
  echo "ensure-redis: (Debian/Ubuntu: apt-get update && apt-get install -y redis-server)." >&2
  exit 1
}

if have_redis; then
  exit 0
fi

echo "ensure-redis: missing: $(missing); installing Debian's redis-server package..." >&2

command -v apt-get >/dev/null 2>&1 \
  || fail "missing $(missing), and apt-get is not available to install it"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    fail "missing $(missing); not root and sudo is not available to run apt-get"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
  || fail "apt-get update failed while trying to install redis-server"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" --no-install-recommends redis-server \
  || fail "apt-get install redis-server failed"

# The package's postinst may start a system-wide service on 6379. Tests use their own
# processes on random ports, so it is harmless, but stop it to keep the machine clean.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl stop redis-server >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  "${SUDO[@]}" service redis-server stop >/dev/null 2>&1 || true
fi

hash -r
have_redis || fail "redis-server package installed but still missing: $(missing) (PATH=$PATH)"

echo "ensure-redis: installed: $(redis-server --version)" >&2
echo "ensure-redis: redis-cli: $(redis-cli --version)" >&2
