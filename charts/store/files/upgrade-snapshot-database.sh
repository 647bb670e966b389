#!/bin/sh
# Pre-upgrade snapshot, part 1 (mysql image): one consistent dump of the store's database into the store's own
# WordPress volume, under .storefleet/ (Apache refuses to serve it). Taken before anything is migrated; replaced by the
# next upgrade's. Idempotent: a finished dump is never taken again, and a finished upgrade runs nothing. The password
# comes from the environment (MYSQL_PWD), never from a command line.
set -eu
base="/var/www/html/.storefleet"
dir="${base}/snapshots/upgrade-${UPGRADE_GENERATION}"
log() { printf '%s snapshot: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if [ -f "${base}/upgrade-${UPGRADE_GENERATION}.done" ]; then
  log "upgrade ${UPGRADE_GENERATION} already finished; nothing to do"
  exit 0
fi
if [ -s "${dir}/database.sql" ]; then
  log "database dump for upgrade ${UPGRADE_GENERATION} already taken"
  exit 0
fi

mkdir -p "${dir}"
trap 'rm -f "${dir}/database.sql.partial"' EXIT
deadline=$(( $(date +%s) + WAIT_TIMEOUT_SECONDS ))
until mysqladmin ping --host="${DB_HOST}" --user="${DB_USER}" --silent >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "${deadline}" ]; then
    log "FAILED: the database ${DB_HOST} did not answer within ${WAIT_TIMEOUT_SECONDS}s; nothing was changed"
    exit 1
  fi
  sleep 3
done

# Room for the dump: at least the database's size plus 10% must be free on the volume (older snapshots are removed
# only once this one is complete, so a full volume never breaks the live store's uploads).
needed_kb=$(mysql --host="${DB_HOST}" --user="${DB_USER}" --batch --skip-column-names -e \
  "SELECT CEIL(COALESCE(SUM(data_length + index_length), 0) * 1.1 / 1024) FROM information_schema.tables WHERE table_schema = '${DB_NAME}'")
free_kb=$(df -Pk "${base}" | awk 'NR == 2 { print $4 }')
if [ "${free_kb}" -lt "${needed_kb}" ]; then
  log "FAILED: ${free_kb} KiB free on the WordPress volume, the dump needs about ${needed_kb} KiB; nothing was changed. Grow the volume (a larger plan), then upgrade again"
  exit 1
fi

log "dumping database ${DB_NAME} (single transaction, routines, triggers)"
mysqldump --single-transaction --routines --triggers --no-tablespaces \
  --host="${DB_HOST}" --user="${DB_USER}" "${DB_NAME}" > "${dir}/database.sql.partial"
mv "${dir}/database.sql.partial" "${dir}/database.sql"
log "database dump: $(wc -c < "${dir}/database.sql") bytes"
