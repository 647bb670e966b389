#!/bin/sh
# Restore, part 3 (restic image, after the database): swaps the store's wp-content for the downloaded one (part 1).
# Both live on the WordPress volume, so the swap is two renames; a restart between them is finished on the next run.
# Then the staging directory is removed and the restore marked done.
set -eu
SCRIPT_NAME=files
# shellcheck source-path=SCRIPTDIR source=backup-common.sh
. "$(dirname "$0")/backup-common.sh"

staging="${RESTORE_DIR:-/var/www/html/.storefleet/restore}"
state="${STATE_DIR:-$(dirname "${staging}")}"
live="${WP_CONTENT_DIR:-/var/www/html/wp-content}"

this="${RESTORE_ID} ${RESTORE_SNAPSHOT}"
if [ "$(cat "${state}/restore-${RESTORE_ID}.done" 2>/dev/null || true)" = "${this}" ]; then
  log "restore ${RESTORE_ID} already finished; nothing to do"
  exit 0
fi
if [ "$(cat "${staging}/database-loaded" 2>/dev/null || true)" != "${this}" ]; then
  log "FAILED: the database was not restored from ${RESTORE_SNAPSHOT}; the files are left as they are"
  exit 1
fi
staged="$(sed -n 's/^content=//p' "${staging}/restore.env")"

# A clone's restore runs while WordPress starts for the first time and copies its files onto the volume: swap only
# after it has (wp-config.php is its last step), so its copy never mixes with the restored wp-content.
if [ "${WAIT_FOR_WORDPRESS:-false}" = "true" ]; then
  html="$(dirname "${live}")"
  deadline=$(( $(date +%s) + ${WAIT_TIMEOUT_SECONDS:-600} ))
  until [ -s "${html}/wp-config.php" ]; do
    if [ "$(date +%s)" -ge "${deadline}" ]; then
      fail "WordPress did not write its files within ${WAIT_TIMEOUT_SECONDS:-600}s (no ${html}/wp-config.php); check the WordPress pod, then retry"
    fi
    sleep 2
  done
fi

if [ -d "${staged}" ]; then
  if [ -d "${live}" ]; then
    rm -rf "${live}.pre-restore"
    mv "${live}" "${live}.pre-restore"
  fi
  mv "${staged}" "${live}"
fi
rm -rf "${live}.pre-restore" "${staging:?}"
printf '%s' "${this}" > "${state}/restore-${RESTORE_ID}.done"
log "wp-content restored from ${RESTORE_SNAPSHOT}"
terminate "{\"ok\":true,\"snapshot\":\"${RESTORE_SNAPSHOT}\"}"
