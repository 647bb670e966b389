#!/bin/sh
# Upgrade, part 3 (the new WordPress image): the official image copies WordPress into an empty volume only, so an
# upgrade puts the new core files in place itself — everything but wp-content, wp-config.php and .htaccess, which are
# the store's. As uid 33 the volume's root directory may not be ours: directories are not re-stamped (--no-overwrite-dir).
set -eu
base="/var/www/html/.storefleet"
log() { printf '%s upgrade: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
if [ -f "${base}/upgrade-${UPGRADE_GENERATION}.done" ]; then
  log "upgrade ${UPGRADE_GENERATION} already finished; nothing to do"
  exit 0
fi
if [ ! -f "${base}/snapshots/upgrade-${UPGRADE_GENERATION}/complete" ] && [ "${SNAPSHOT}" = "true" ]; then
  log "FAILED: the pre-upgrade snapshot is not complete; refusing to change WordPress's files"
  exit 1
fi
tar --create --file - --directory /usr/src/wordpress --exclude=./wp-content --exclude=./wp-config.php --exclude=./.htaccess . \
  | tar --extract --file - --directory /var/www/html --no-same-owner --no-overwrite-dir
log "WordPress core files from the image $(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" /usr/src/wordpress/wp-includes/version.php) in place"
