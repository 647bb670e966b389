#!/bin/sh
# Backup, part 2 (restic image): one restic snapshot of the database dump (part 1) and the store's wp-content
# (uploads, plugins, themes), tagged with the store, the backup's id and the versions it ran. The result — snapshot id,
# bytes added, total size, duration — is the container's termination message, so the control plane reads it without
# scraping logs. The store's repository is created on its first backup. Secrets: see backup-common.sh.
set -eu
SCRIPT_NAME=upload
# shellcheck source-path=SCRIPTDIR source=backup-common.sh
. "$(dirname "$0")/backup-common.sh"

: "${STORE_NAME:?}" "${BACKUP_ID:?}" "${RESTIC_REPOSITORY_BASE:?}"
dump_dir="${DUMP_DIR:-/backup}"
content="${WP_CONTENT_DIR:-/var/www/html/wp-content}"
dump="${dump_dir}/storefleet-database.sql"
STORE_REPOSITORY_NAME="${STORE_NAME}"
RESTIC_REPOSITORY="$(repository_for "${STORE_NAME}")"
export RESTIC_REPOSITORY
export RESTIC_CACHE_DIR="${RESTIC_CACHE_DIR:-/tmp/restic-cache}"
started=$(date +%s)

if [ ! -s "${dump}" ] || ! tail -n 1 "${dump}" | grep -q '^-- Dump completed'; then
  log "FAILED: no complete database dump at ${dump}; nothing was uploaded"
  terminate '{"ok":false,"reason":"the database dump is missing or incomplete; see the dump container'"'"'s log"}'
  exit 1
fi
if [ ! -d "${content}" ]; then
  log "FAILED: ${content} does not exist; nothing was uploaded"
  terminate '{"ok":false,"reason":"the store'"'"'s wp-content directory is missing"}'
  exit 1
fi

# The manifest says what this snapshot holds and where, so a restore (in place or into another store) finds it.
cat > "${dump_dir}/storefleet-backup.manifest" <<MANIFEST
format=1
store=${STORE_NAME}
backup=${BACKUP_ID}
database=${dump}
content=${content}
chart=${CHART_VERSION:-}
wordpress=${WORDPRESS_VERSION:-}
woocommerce=${WOOCOMMERCE_VERSION:-}
MANIFEST

# The store's repository is created on its first backup — only when restic says it is missing and nothing else is
# wrong (a refused credential or an unreachable server makes restic ask for the repository too).
if ! repository_exists; then
  log "creating the store's backup repository"
  restic_or_fail init >/dev/null
fi

log "uploading ${dump} and ${content}"
output="$(mktemp)"
restic_or_fail backup --json --host "${STORE_NAME}" \
  --tag "storefleet" --tag "store=${STORE_NAME}" --tag "backup=${BACKUP_ID}" \
  --tag "chart=${CHART_VERSION:-unknown}" --tag "wordpress=${WORDPRESS_VERSION:-unknown}" --tag "woocommerce=${WOOCOMMERCE_VERSION:-unknown}" \
  --exclude "${content}/cache" --exclude "${content}/upgrade" \
  "${dump_dir}/storefleet-backup.manifest" "${dump}" "${content}" > "${output}"
summary="$(grep '"message_type":"summary"' "${output}" | tail -n 1 || true)"
rm -f "${output}"
snapshot="$(json_string "${summary}" snapshot_id)"
if [ -z "${snapshot}" ]; then
  log "FAILED: restic finished without reporting a snapshot"
  terminate '{"ok":false,"reason":"restic finished without reporting a snapshot; see the upload container'"'"'s log"}'
  exit 1
fi
added="$(json_number "${summary}" data_added)"
total="$(json_number "${summary}" total_bytes_processed)"
files="$(json_number "${summary}" total_files_processed)"
seconds=$(( $(date +%s) - started ))
log "snapshot ${snapshot}: ${files} files, ${total} bytes, ${added} bytes added, ${seconds}s"
terminate "{\"ok\":true,\"snapshot\":\"${snapshot}\",\"bytesAdded\":${added:-0},\"totalBytes\":${total:-0},\"files\":${files:-0},\"durationSeconds\":${seconds}}"
