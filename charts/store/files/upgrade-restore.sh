#!/bin/sh
# Restore after a failed upgrade (run by the control plane before it rolls the release back): WordPress's code, then the
# database, from the pre-upgrade snapshot. Without a complete snapshot nothing was migrated, so nothing is restored.
# $1: files | database (the pod runs both, the files first). The password comes from the environment (MYSQL_PWD).
set -eu
dir="/var/www/html/.storefleet/snapshots/upgrade-${UPGRADE_GENERATION}"
log() { printf '%s restore: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if [ ! -f "${dir}/complete" ]; then
  log "no complete snapshot for upgrade ${UPGRADE_GENERATION}: the upgrade changed nothing yet; nothing to restore"
  exit 0
fi

case "$1" in
  files)
    cd /var/www/html
    # Core, plugins and themes back as they were (uploads are left alone; nothing else is removed).
    tar -xzf "${dir}/code.tar.gz" --no-same-owner
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
