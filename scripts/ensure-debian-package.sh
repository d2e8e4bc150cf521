#!/usr/bin/env bash
# Usage: ensure-debian-package.sh PACKAGE BINARY...
# Makes sure every BINARY is on PATH, installing Debian's PACKAGE when one is missing. The test suite starts
# its own processes of these programs on free loopback ports, so only the binaries are needed: a service the
# package starts by itself is stopped again. Idempotent: exits 0 at once when every binary is there.
# Fails loudly (non-zero exit) when that is not possible: tests must never skip a real service.
set -euo pipefail

package="$1"
shift
binaries=("$@")

missing() {
  local m=()
  for binary in "${binaries[@]}"; do command -v "$binary" >/dev/null 2>&1 || m+=("$binary"); done
  echo "${m[*]}"
}

fail() {
  echo "ensure-$package: ERROR: $*" >&2
  echo "ensure-$package: the tests need real ${binaries[*]} binaries on PATH" >&2
  echo "ensure-$package: (Debian/Ubuntu: apt-get update && apt-get install -y $package)." >&2
  exit 1
}

[ -z "$(missing)" ] && exit 0

echo "ensure-$package: missing: $(missing); installing Debian's $package package..." >&2
command -v apt-get >/dev/null 2>&1 || fail "missing $(missing), and apt-get is not available to install it"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "missing $(missing); not root and sudo is not available to run apt-get"
  SUDO=(sudo -n)
fi

apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || fail "apt-get update failed while trying to install $package"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" --no-install-recommends "$package" \
  || fail "apt-get install $package failed"

# The package's postinst may start a system-wide service; the tests run their own, so stop it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl stop "$package" >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  "${SUDO[@]}" service "$package" stop >/dev/null 2>&1 || true
fi

hash -r
[ -z "$(missing)" ] || fail "$package package installed but still missing: $(missing) (PATH=$PATH)"
echo "ensure-$package: installed ${binaries[*]}" >&2
