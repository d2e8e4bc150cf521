#!/usr/bin/env bash
# Make sure `prometheus` and `promtool` are on PATH; the test suite starts its own Prometheus on a free
# loopback port with a temporary data directory, so only the binaries are needed, not a running service.
# Idempotent: exits 0 at once when both binaries are already there. Otherwise installs Debian's
# `prometheus` package (which ships promtool too).
# Fails loudly (non-zero exit) when that is not possible: tests must never skip Prometheus.
set -euo pipefail

missing() {
  local m=()
  command -v prometheus >/dev/null 2>&1 || m+=("prometheus")
  command -v promtool >/dev/null 2>&1 || m+=("promtool")
  echo "${m[*]}"
}

fail() {
  echo "ensure-prometheus: ERROR: $*" >&2
  echo "ensure-prometheus: the tests need real prometheus and promtool binaries on PATH" >&2
  echo "ensure-prometheus: (Debian/Ubuntu: apt-get update && apt-get install -y prometheus)." >&2
  exit 1
}

if [ -z "$(missing)" ]; then
  exit 0
fi

echo "ensure-prometheus: missing: $(missing); installing Debian's prometheus package..." >&2

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

apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
  || fail "apt-get update failed while trying to install prometheus"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" --no-install-recommends prometheus \
  || fail "apt-get install prometheus failed"

# The package's postinst may start a system-wide service on 9090. Tests run their own Prometheus on
# free ports, so it is harmless, but stop it to keep the machine clean.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl stop prometheus >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  "${SUDO[@]}" service prometheus stop >/dev/null 2>&1 || true
fi

hash -r
[ -z "$(missing)" ] || fail "prometheus package installed but still missing: $(missing) (PATH=$PATH)"

echo "ensure-prometheus: installed: $(prometheus --version 2>&1 | head -n 1)" >&2
