#!/usr/bin/env bash
# Restore a dump made by backup.sh into the database at DATABASE_URL, in one transaction:
# the objects the dump holds are dropped and re-created (pg_restore --clean --if-exists), so
# a failed restore leaves the database as it was.
#
#   DATABASE_URL=postgres://user:pass@host:5432/portal deploy/backup/restore.sh FILE --yes
#
# Stop web, worker and beat first (docker compose stop web worker beat), restore, then start
# them again: migrate runs first and applies any migration newer than the dump.
# PG_EXEC works as in backup.sh (docker compose: PG_EXEC="docker compose exec -T postgres").
set -euo pipefail

usage() { echo "usage: DATABASE_URL=... $0 FILE --yes" >&2; exit 2; }
[ $# -ge 1 ] || usage
file=$1
[ -s "$file" ] || { echo "No dump at $file" >&2; exit 2; }
[ "${2:-}" = "--yes" ] || { echo "This replaces the data of \$DATABASE_URL: add --yes." >&2; exit 2; }
: "${DATABASE_URL:?set DATABASE_URL to the database to restore into}"
PG_EXEC=${PG_EXEC:-}

# shellcheck disable=SC2086 # PG_EXEC is a command prefix, split on purpose
$PG_EXEC pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
  --exit-on-error --no-password --dbname="$DATABASE_URL" < "$file"
echo "Restored $file"
