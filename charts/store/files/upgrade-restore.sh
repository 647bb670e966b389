#!/bin/sh
# Restore after a failed upgrade (started by the control plane once the upgrade Job has stopped, before it rolls the
# release back): WordPress's code, then the database, from the pre-upgrade snapshot. Without a complete snapshot the
# upgrade changed nothing (its files and migrations run only after the snapshot), so nothing is restored.
# $1: files | database (the pod runs both, the files first). The password comes from the environment (MYSQL_PWD).
set -eu
base="/var/www/html/.storefleet"
dir="${base}/snapshots/upgrade-${UPGRADE_GENERATION}"
log() { printf '%s restore: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if [ ! -f "${dir}/complete" ]; then
  log "no complete snapshot for upgrade ${UPGRADE_GENERATION}: the upgrade changed nothing yet; nothing to restore"
  exit 0
fi

case "$1" in
  files)
    cd /var/www/html
    tar -tzf "${dir}/code.tar.gz" >/dev/null
    # Core, plugins and themes exactly as they were: what the upgrade replaced is removed first (uploads are untouched).
    rm -rf wp-admin wp-includes wp-content/plugins wp-content/themes
    tar -xzf "${dir}/code.tar.gz" --no-same-owner --no-overwrite-dir
    rm -f "${base}/upgrade-${UPGRADE_GENERATION}.done"
    log "WordPress code restored from ${dir}/code.tar.gz"
    ;;
  database)
    mysql --host="${DB_HOST}" --user="${DB_USER}" "${DB_NAME}" < "${dir}/database.sql"
    log "database ${DB_NAME} restored from ${dir}/database.sql"
    ;;
  *)
    log "FAILED: unknown part '$1'"
    exit 2
    ;;
esac
