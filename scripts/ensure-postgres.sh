#!/usr/bin/env bash
# The store tests make their own PostgreSQL clusters (initdb) and run them on free ports: make sure Debian's
# server binaries exist. They live in /usr/lib/postgresql/<version>/bin, off PATH, so look there first.
# Fails loudly (non-zero exit) when they cannot be installed: tests must never skip a real service.
set -euo pipefail
for dir in /usr/lib/postgresql/*/bin; do
  [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && exit 0
done
command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && exit 0
# postgresql-common puts pg_ctlcluster on PATH; the test helpers look in /usr/lib/postgresql/*/bin.
exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-debian-package.sh" postgresql pg_ctlcluster
