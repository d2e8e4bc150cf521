#!/usr/bin/env bash
# The tests start their own Prometheus on a free port, and check rules with promtool: make sure both exist.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-package.sh" prometheus prometheus promtool
