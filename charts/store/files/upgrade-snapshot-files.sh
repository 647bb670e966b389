#!/bin/sh
# Pre-upgrade snapshot, part 2 (WP-CLI image): WordPress's code as it runs now — core, plugins and themes, not the
# uploads an upgrade never touches — beside the database dump, then the snapshot is marked complete and older
# snapshots are removed. Idempotent.
set -eu
base="/var/www/html/.storefleet"
dir="${base}/snapshots/upgrade-${UPGRADE_GENERATION}"
log() { printf '%s snapshot: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if [ -f "${base}/upgrade-${UPGRADE_GENERATION}.done" ] || [ -f "${dir}/complete" ]; then
  log "snapshot for upgrade ${UPGRADE_GENERATION} already complete"
  exit 0
fi

cd /var/www/html
trap 'rm -f "${dir}/code.tar.gz.partial"' EXIT
# GNU tar exits 1 when a file changed while it was read (the store keeps serving): the copy is still usable.
status=0
tar -czf "${dir}/code.tar.gz.partial" --exclude=./wp-content/uploads --exclude=./.storefleet . || status=$?
if [ "${status}" -gt 1 ]; then
  log "FAILED: archiving WordPress's code (tar exit ${status}); nothing was changed"
  exit 1
fi
mv "${dir}/code.tar.gz.partial" "${dir}/code.tar.gz"
touch "${dir}/complete"
find "${base}/snapshots" -mindepth 1 -maxdepth 1 -type d ! -name "upgrade-${UPGRADE_GENERATION}" -exec rm -rf {} +
log "code: $(wc -c < "${dir}/code.tar.gz") bytes; snapshot for upgrade ${UPGRADE_GENERATION} complete"
