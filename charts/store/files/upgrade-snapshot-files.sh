#!/bin/sh
# Pre-upgrade snapshot, part 2 (WP-CLI image): WordPress's code as it runs now — core, plugins and themes, not the
# uploads an upgrade never touches — beside the database dump, then the snapshot is marked complete. Idempotent.
set -eu
dir="/var/www/html/.storefleet/snapshots/upgrade-${UPGRADE_GENERATION}"
log() { printf '%s snapshot: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

if [ -f "${dir}/complete" ]; then
  log "snapshot for upgrade ${UPGRADE_GENERATION} already complete"
  exit 0
fi

cd /var/www/html
# Older snapshots are superseded by this one (each upgrade keeps only its own).
find .storefleet/snapshots -mindepth 1 -maxdepth 1 -type d ! -name "upgrade-${UPGRADE_GENERATION}" -exec rm -rf {} +
tar -czf "${dir}/code.tar.gz.partial" --exclude=./wp-content/uploads --exclude=./.storefleet .
mv "${dir}/code.tar.gz.partial" "${dir}/code.tar.gz"
touch "${dir}/complete"
log "code: $(wc -c < "${dir}/code.tar.gz") bytes; snapshot for upgrade ${UPGRADE_GENERATION} complete"
