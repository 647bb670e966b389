#!/bin/sh
# Restore, part 2 (mysql image): replaces the store's database with the downloaded backup's dump (part 1). The database
# is dropped and created again with its own character set, so tables created after the backup go too; the store's
# database user keeps its grants (they are kept by name). Runs with the root password (MYSQL_PWD), never on a command
# line. Idempotent: a finished load is not repeated.
set -eu
staging="${RESTORE_DIR:-/var/www/html/.storefleet/restore}"
state="${STATE_DIR:-$(dirname "${staging}")}"
log() { printf '%s database: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

this="${RESTORE_ID} ${RESTORE_SNAPSHOT}"
if [ "$(cat "${state}/restore-${RESTORE_ID}.done" 2>/dev/null || true)" = "${this}" ]; then
  log "restore ${RESTORE_ID} already finished; nothing to do"
  exit 0
fi
if [ "$(cat "${staging}/fetched" 2>/dev/null || true)" != "${this}" ]; then
  log "FAILED: backup ${RESTORE_SNAPSHOT} was not downloaded; nothing was changed"
  exit 1
fi
if [ "$(cat "${staging}/database-loaded" 2>/dev/null || true)" = "${this}" ]; then
  log "database already restored from ${RESTORE_SNAPSHOT}"
  exit 0
fi
case "${DB_NAME}" in
  *[!A-Za-z0-9_]*|"") log "FAILED: invalid database name '${DB_NAME}'"; exit 2 ;;
esac
dump="$(sed -n 's/^database=//p' "${staging}/restore.env")"

deadline=$(( $(date +%s) + ${WAIT_TIMEOUT_SECONDS:-300} ))
until mysqladmin ping --host="${DB_HOST}" --port="${DB_PORT:-3306}" --user="${DB_USER}" --silent >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "${deadline}" ]; then
    log "FAILED: the database ${DB_HOST} did not answer within ${WAIT_TIMEOUT_SECONDS:-300}s; nothing was changed. Check the store's MySQL pod, then restore again"
    exit 1
  fi
  sleep 2
done

mysql_() { mysql --host="${DB_HOST}" --port="${DB_PORT:-3306}" --user="${DB_USER}" "$@"; }
charset="$(mysql_ --batch --skip-column-names -e \
  "SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${DB_NAME}'")"
charset="${charset:-utf8mb4 utf8mb4_unicode_ci}"
log "replacing database ${DB_NAME} with the dump of ${RESTORE_SNAPSHOT} ($(wc -c < "${dump}") bytes)"
mysql_ -e "DROP DATABASE IF EXISTS \`${DB_NAME}\`; CREATE DATABASE \`${DB_NAME}\` CHARACTER SET ${charset% *} COLLATE ${charset#* }"
mysql_ --default-character-set=utf8mb4 "${DB_NAME}" < "${dump}"
printf '%s' "${this}" > "${staging}/database-loaded"
log "database ${DB_NAME} restored"
