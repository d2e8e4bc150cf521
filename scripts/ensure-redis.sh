#!/usr/bin/env bash
# The tests start their own redis-server processes on free ports: make sure redis-server and redis-cli exist.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-package.sh" redis-server redis-server redis-cli
