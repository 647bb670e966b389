#!/bin/sh
# Backup maintenance (restic image), off the store's hot path. $1:
#   forget  retention: keeps the last KEEP_DAILY daily, KEEP_WEEKLY weekly and KEEP_MONTHLY monthly backups of the
#           store and prunes the data nothing refers to any more
#   check   verifies the repository's structure and reads back CHECK_READ_DATA_SUBSET (e.g. 5%) of its data
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
  *)
    log "FAILED: unknown task '${1:-}' (forget or check)"
    exit 2
    ;;
esac
