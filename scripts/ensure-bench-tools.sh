#!/usr/bin/env bash
# What `npm run bench` needs beside Node: redis-server for the gateway's limits and pins, wrk as the load
# generator (autocannon, its fallback, costs the two cores more and squeezes every ratio towards 1) and nginx
# as the plain reverse proxy every ratio is also given against. Installs Debian's packages when missing.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
export PATH="$PATH:/usr/sbin"
bash "$here/ensure-debian-package.sh" redis-server redis-server redis-cli
bash "$here/ensure-debian-package.sh" wrk wrk
bash "$here/ensure-debian-package.sh" nginx nginx
