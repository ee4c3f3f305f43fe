#!/usr/bin/env bash
# Back up the portal's PostgreSQL database: a custom-format dump (pg_dump -Fc), checked by
# listing it with pg_restore, written atomically.
#
#   DATABASE_URL=postgres://user:pass@host:5432/portal deploy/backup/backup.sh [FILE]
#
# FILE defaults to $BACKUP_DIR/portal-YYYYmmddTHHMMSSZ.dump (BACKUP_DIR: ./backups).
# With docker compose, run the PostgreSQL tools inside the postgres container (the dump is
# streamed out to FILE on this machine):
#   PG_EXEC="docker compose exec -T postgres" \
#   DATABASE_URL=postgres://portal@localhost/portal deploy/backup/backup.sh
# Keep the dumps elsewhere than this machine, with PORTAL_ENCRYPTION_KEYS kept apart from them:
# the credentials in the database are encrypted with those keys.
set -euo pipefail

: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
PG_EXEC=${PG_EXEC:-}
out=${1:-${BACKUP_DIR:-backups}/portal-$(date -u +%Y%m%dT%H%M%SZ).dump}
mkdir -p "$(dirname "$out")"
tmp="$out.partial"
trap 'rm -f "$tmp"' EXIT

# shellcheck disable=SC2086 # PG_EXEC is a command prefix, split on purpose
$PG_EXEC pg_dump --format=custom --no-password --dbname="$DATABASE_URL" > "$tmp"
# A dump that pg_restore cannot list is no backup.
# shellcheck disable=SC2086
$PG_EXEC pg_restore --list < "$tmp" > /dev/null
mv "$tmp" "$out"
trap - EXIT
echo "$out"
