#!/usr/bin/env bash
# The console's tests drive Debian's headless Chromium through playwright-core (which downloads no browser).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-package.sh" chromium chromium
