#!/bin/bash
# Upgrade, part 4 (WP-CLI image): the forward-only migrations — WordPress's database update, WooCommerce at the
# pinned version and its database update. Idempotent (each is a no-op when done) and loud (set -e; a failure fails the
# Job, and the control plane restores the snapshot and rolls the release back).
set -euo pipefail
log() { printf '%s upgrade: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
cd /var/www/html
export WP_CLI_CONFIG_PATH=/tmp/wp-cli.yml
printf 'apache_modules:\n  - mod_rewrite\n' > "$WP_CLI_CONFIG_PATH"

log "WordPress database: $(wp core version) — updating"
wp core update-db
if wp plugin is-active woocommerce; then
  current="$(wp plugin get woocommerce --field=version)"
  if [ "${current}" != "${WOOCOMMERCE_VERSION}" ]; then
    log "WooCommerce ${current} → ${WOOCOMMERCE_VERSION}"
    wp plugin install woocommerce --version="${WOOCOMMERCE_VERSION}" --force --activate
  fi
  log "WooCommerce database: updating"
  wp wc update
fi
log "upgrade ${UPGRADE_GENERATION} migrated"
