#!/bin/sh
# Backup maintenance (restic image), off the store's hot path. $1:
#   forget  retention: keeps the last KEEP_DAILY daily, KEEP_WEEKLY weekly and KEEP_MONTHLY monthly backups of the
#           store and prunes the data nothing refers to any more
#   check   verifies the repository's structure and reads back CHECK_READ_DATA_SUBSET (e.g. 5%) of its data
#   purge   forgets every backup in the store's repository and prunes their data (a deleted store's, once its
#           retention ends or an admin asks): run by the control plane in its own namespace, the store's being gone
# The result is the termination message. Secrets: see backup-common.sh.
set -eu
SCRIPT_NAME="${1:-maintain}"
# shellcheck source-path=SCRIPTDIR source=backup-common.sh
. "$(dirname "$0")/backup-common.sh"

: "${STORE_NAME:?}" "${RESTIC_REPOSITORY_BASE:?}"
STORE_REPOSITORY_NAME="${STORE_NAME}"
RESTIC_REPOSITORY="$(repository_for "${STORE_NAME}")"
export RESTIC_REPOSITORY
export RESTIC_CACHE_DIR="${RESTIC_CACHE_DIR:-/tmp/restic-cache}"

case "${1:-}" in
  forget)
    restic_or_fail forget --tag "store=${STORE_NAME}" --group-by host \
      --keep-daily "${KEEP_DAILY:-7}" --keep-weekly "${KEEP_WEEKLY:-4}" --keep-monthly "${KEEP_MONTHLY:-6}" --prune >/dev/null
    listed="$(mktemp)"
    restic_or_fail snapshots --json --tag "store=${STORE_NAME}" > "${listed}"
    kept="$(grep -o '"id"' "${listed}" | wc -l | tr -d ' ')"
    rm -f "${listed}"
    log "retention applied: ${kept} backups kept"
    terminate "{\"ok\":true,\"kept\":${kept}}"
    ;;
  check)
    restic_or_fail check --read-data-subset="${CHECK_READ_DATA_SUBSET:-5%}" >/dev/null
    log "repository checked (read ${CHECK_READ_DATA_SUBSET:-5%} of its data): no errors"
    terminate '{"ok":true}'
    ;;
  purge)
    # A store that never had a backup has no repository: nothing to purge (anything else wrong still fails).
    if ! repository_exists; then
      log "repository ${STORE_NAME} does not exist: nothing to purge"
      terminate '{"ok":true,"purged":0}'
      exit 0
    fi
    listed="$(mktemp)"
    restic_or_fail snapshots --json > "${listed}"
    ids="$(grep -o '"id":"[0-9a-f]*"' "${listed}" | sed 's/"id":"\([0-9a-f]*\)"/\1/' | tr '\n' ' ')"
    rm -f "${listed}"
    count="$(printf '%s' "${ids}" | wc -w | tr -d ' ')"
    if [ "${count}" -gt 0 ]; then
      # shellcheck disable=SC2086 # one argument per snapshot id (hex only).
      restic_or_fail forget ${ids} >/dev/null
    fi
    restic_or_fail prune >/dev/null
    log "repository ${STORE_NAME} purged: ${count} backups forgotten, their data pruned"
    terminate "{\"ok\":true,\"purged\":${count}}"
    ;;
  *)
    log "FAILED: unknown task '${1:-}' (forget, check or purge)"
    exit 2
    ;;
esac
