#!/bin/sh
# Upgrade, part 3 (the new WordPress image): the official image copies WordPress into an empty volume only, so an
# upgrade puts the new core files in place itself — everything but wp-content and wp-config.php, which are the store's.
set -eu
log() { printf '%s upgrade: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
if [ ! -f "/var/www/html/.storefleet/snapshots/upgrade-${UPGRADE_GENERATION}/complete" ] && [ "${SNAPSHOT}" = "true" ]; then
  log "FAILED: the pre-upgrade snapshot is not complete; refusing to change WordPress's files"
  exit 1
fi
tar --create --file - --directory /usr/src/wordpress --exclude=./wp-content --exclude=./wp-config.php . \
  | tar --extract --file - --directory /var/www/html --no-same-owner
log "WordPress core files from the image $(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" /usr/src/wordpress/wp-includes/version.php) in place"
