#!/bin/sh
# Backup, part 1 (mysql image): one consistent dump of the store's database into the Job's scratch volume (DUMP_DIR),
# which part 2 uploads with the store's files. `--single-transaction` reads one InnoDB snapshot without locking the
# shop; routines and triggers are included, binary columns hex-encoded so they come back byte for byte. The password
# comes from the environment (MYSQL_PWD), never from a command line.
set -eu
dump_dir="${DUMP_DIR:-/backup}"
dump="${dump_dir}/storefleet-database.sql"
log() { printf '%s dump: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
# A failure is also this container's termination message (JSON), which the control plane shows as the backup's reason.
fail() {
  log "FAILED: $1"
  reason="$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\n\r\t')"
  printf '{"ok":false,"reason":"%s"}' "${reason}" > "${TERMINATION_MESSAGE_PATH:-/dev/termination-log}" 2>/dev/null || true
  exit 1
}

deadline=$(( $(date +%s) + ${WAIT_TIMEOUT_SECONDS:-300} ))
until mysqladmin ping --host="${DB_HOST}" --port="${DB_PORT:-3306}" --user="${DB_USER}" --silent >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "${deadline}" ]; then
    fail "the database ${DB_HOST} did not answer within ${WAIT_TIMEOUT_SECONDS:-300}s; nothing was backed up. Check the store's MySQL pod, then back up again"
  fi
  sleep 2
done

mkdir -p "${dump_dir}"
trap 'rm -f "${dump}.partial" "${dump}.errors"' EXIT
log "dumping database ${DB_NAME} (single transaction, routines, triggers)"
if ! mysqldump --single-transaction --routines --triggers --hex-blob --no-tablespaces --skip-dump-date --default-character-set=utf8mb4 \
  --host="${DB_HOST}" --port="${DB_PORT:-3306}" --user="${DB_USER}" "${DB_NAME}" > "${dump}.partial" 2> "${dump}.errors"; then
  cat "${dump}.errors" >&2
  fail "mysqldump of ${DB_NAME} failed: $(tail -n 2 "${dump}.errors" | tr '\n' ' ')nothing was backed up. Check the database (and free space for the dump), then back up again"
fi
# mysqldump ends a complete dump with this line; without it the dump is not uploaded (part 2 checks it too).
if ! tail -n 1 "${dump}.partial" | grep -q '^-- Dump completed'; then
  fail "the dump of ${DB_NAME} is incomplete; nothing was backed up. Back up again"
fi
mv "${dump}.partial" "${dump}"
log "database dump: $(wc -c < "${dump}") bytes"
