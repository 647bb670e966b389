#!/bin/sh
# Pre-upgrade snapshot, part 1 (mysql image): one consistent dump of the store's database into the store's own
# WordPress volume, under .storefleet/ (Apache refuses to serve it). Taken before anything is migrated; kept until the
# next upgrade's snapshot replaces it. Idempotent: a finished dump is never taken again. The password comes from the
# environment (MYSQL_PWD), never from a command line.
set -eu
dir="/var/www/html/.storefleet/snapshots/upgrade-${UPGRADE_GENERATION}"
log() { printf '%s snapshot: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if [ -s "${dir}/database.sql" ]; then
  log "database dump for upgrade ${UPGRADE_GENERATION} already taken"
  exit 0
fi

mkdir -p "${dir}"
deadline=$(( $(date +%s) + WAIT_TIMEOUT_SECONDS ))
until mysqladmin ping --host="${DB_HOST}" --user="${DB_USER}" --silent >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "${deadline}" ]; then
    log "FAILED: the database ${DB_HOST} did not answer within ${WAIT_TIMEOUT_SECONDS}s; nothing was changed"
    exit 1
  fi
  sleep 3
done

log "dumping database ${DB_NAME} (single transaction, routines, triggers)"
mysqldump --single-transaction --routines --triggers --no-tablespaces \
  --host="${DB_HOST}" --user="${DB_USER}" "${DB_NAME}" > "${dir}/database.sql.partial"
mv "${dir}/database.sql.partial" "${dir}/database.sql"
log "database dump: $(wc -c < "${dir}/database.sql") bytes"
