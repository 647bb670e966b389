#!/bin/sh
# Restore, part 1 (restic image): downloads one backup of a store (this one, or a clone's source store) into a staging
# directory on the store's WordPress volume and checks it is complete. Nothing of the live store is touched here, so a
# wrong password, an unreachable repository or a damaged backup leave the store exactly as it was. restic verifies
# every blob it decrypts, so a corrupted pack fails here too. Secrets: see backup-common.sh.
set -eu
SCRIPT_NAME=fetch
# shellcheck source-path=SCRIPTDIR source=backup-common.sh
. "$(dirname "$0")/backup-common.sh"

: "${STORE_NAME:?}" "${RESTORE_ID:?}" "${RESTORE_SNAPSHOT:?}" "${RESTIC_REPOSITORY_BASE:?}"
source_store="${SOURCE_STORE:-${STORE_NAME}}"
staging="${RESTORE_DIR:-/var/www/html/.storefleet/restore}"
state="${STATE_DIR:-$(dirname "${staging}")}"
STORE_REPOSITORY_NAME="${source_store}"
RESTIC_REPOSITORY="$(repository_for "${source_store}")"
export RESTIC_REPOSITORY
export RESTIC_CACHE_DIR="${RESTIC_CACHE_DIR:-/tmp/restic-cache}"

this="${RESTORE_ID} ${RESTORE_SNAPSHOT}"
if [ -f "${state}/restore-${RESTORE_ID}.done" ]; then
  if [ "$(cat "${state}/restore-${RESTORE_ID}.done")" = "${this}" ]; then
    log "restore ${RESTORE_ID} already finished; nothing to do"
    exit 0
  fi
  reason="restore id ${RESTORE_ID} was already used for another backup; nothing was changed. Restore again under a new id"
  log "FAILED: ${reason}"
  terminate "{\"ok\":false,\"reason\":\"$(json_escape "${reason}")\"}"
  exit 1
fi
if [ "$(cat "${staging}/fetched" 2>/dev/null || true)" = "${this}" ]; then
  log "backup ${RESTORE_SNAPSHOT} already downloaded"
  exit 0
fi

# The backup's restored size (for the room check below); this also says whether the backup exists at all (the
# repository is the store's own, so every snapshot in it is one of its backups).
stats="$(mktemp)"
errors="$(mktemp)"
if ! restic stats --json --mode restore-size "${RESTORE_SNAPSHOT}" > "${stats}" 2> "${errors}"; then
  message="$(cat "${errors}")"
  rm -f "${stats}" "${errors}"
  case "${message}" in
    *"no matching ID found"*|*"no snapshot"*|*"invalid id"*|*"snapshot"*"not found"*)
      reason="there is no backup ${RESTORE_SNAPSHOT} of store ${source_store}: list the store's backups and pick one of them"
      log "FAILED: ${reason}"
      terminate "{\"ok\":false,\"reason\":\"$(json_escape "${reason}")\"}"
      ;;
    *)
      printf '%s\n' "${message}" >&2
      explain_restic_failure "${message}"
      ;;
  esac
  exit 1
fi
rm -f "${errors}"
# restic 0.14 ignores an unknown id and counts nothing; newer ones fail (above).
if [ "$(json_number "$(cat "${stats}")" snapshots_count)" = "0" ]; then
  rm -f "${stats}"
  reason="there is no backup ${RESTORE_SNAPSHOT} of store ${source_store}: list the store's backups and pick one of them"
  log "FAILED: ${reason}"
  terminate "{\"ok\":false,\"reason\":\"$(json_escape "${reason}")\"}"
  exit 1
fi

# Room for the download: the backup's restored size plus 5% must be free where it is staged.
needed_kb=$(( $(json_number "$(cat "${stats}")" total_size) * 105 / 100 / 1024 + 1 ))
rm -f "${stats}"
mkdir -p "${staging}"
free_kb=$(df -Pk "${staging}" | awk 'NR == 2 { print $4 }')
if [ "${free_kb}" -lt "${needed_kb}" ]; then
  reason="${free_kb} KiB free on the store's WordPress volume, the backup needs about ${needed_kb} KiB to be staged; nothing was changed. Grow the volume (a larger plan), then restore again"
  log "FAILED: ${reason}"
  terminate "{\"ok\":false,\"reason\":\"$(json_escape "${reason}")\"}"
  exit 1
fi

rm -rf "${staging:?}/tree" "${staging}/fetched" "${staging}/restore.env"
log "downloading backup ${RESTORE_SNAPSHOT} of ${source_store}"
restic_or_fail restore "${RESTORE_SNAPSHOT}" --target "${staging}/tree" >/dev/null

# The backup's own manifest is the shallowest one (the dump's scratch directory); any deeper one is a store file.
manifest="$(find "${staging}/tree" -name storefleet-backup.manifest -type f | awk -F/ '{ print NF "\t" $0 }' | sort -n | head -n 1 | cut -f 2-)"
if [ -z "${manifest}" ]; then
  reason="backup ${RESTORE_SNAPSHOT} is not a Storefleet store backup (no manifest); nothing was changed"
  log "FAILED: ${reason}"
  terminate "{\"ok\":false,\"reason\":\"$(json_escape "${reason}")\"}"
  exit 1
fi
database_path="$(sed -n 's/^database=//p' "${manifest}" | head -n 1)"
content_path="$(sed -n 's/^content=//p' "${manifest}" | head -n 1)"
manifest_dir="${manifest#"${staging}/tree"}"
manifest_dir="${manifest_dir%/*}"
# The manifest may only name the dump beside it and a wp-content directory, never a way out of the staging tree.
case "${database_path}|${content_path}" in
  *..*|*"//"*) database_path="" ;;
esac
if [ "${database_path}" != "${manifest_dir}/storefleet-database.sql" ] || [ "${content_path##*/}" != "wp-content" ] || [ "${content_path#/}" = "${content_path}" ]; then
  reason="backup ${RESTORE_SNAPSHOT} has a manifest that names unexpected paths; nothing was changed. Restore another backup"
  log "FAILED: ${reason}"
  terminate "{\"ok\":false,\"reason\":\"$(json_escape "${reason}")\"}"
  exit 1
fi
database="${staging}/tree${database_path}"
content="${staging}/tree${content_path}"
if [ ! -s "${database}" ] || ! tail -n 1 "${database}" | grep -q '^-- Dump completed' || [ ! -d "${content}" ]; then
  reason="backup ${RESTORE_SNAPSHOT} is incomplete (its database dump or wp-content is missing); nothing was changed. Restore another backup"
  log "FAILED: ${reason}"
  terminate "{\"ok\":false,\"reason\":\"$(json_escape "${reason}")\"}"
  exit 1
fi

printf 'database=%s\ncontent=%s\n' "${database}" "${content}" > "${staging}/restore.env"
printf '%s' "${this}" > "${staging}/fetched"
log "backup ${RESTORE_SNAPSHOT} downloaded and complete"
terminate "{\"ok\":true,\"snapshot\":\"${RESTORE_SNAPSHOT}\"}"
