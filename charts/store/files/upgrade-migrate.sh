#!/bin/bash
# Upgrade, part 4 (WP-CLI image): the forward-only migrations — WordPress's database update, WooCommerce at the
# pinned version and its database update — then the upgrade is marked finished (a re-run of this Job does nothing).
# Idempotent (each is a no-op when done) and loud (set -e; a failure fails the Job, and the control plane restores the
# snapshot and rolls the release back).
set -euo pipefail
base="/var/www/html/.storefleet"
log() { printf '%s upgrade: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
if [ -f "${base}/upgrade-${UPGRADE_GENERATION}.done" ]; then
  log "upgrade ${UPGRADE_GENERATION} already finished; nothing to do"
  exit 0
fi
cd /var/www/html
export WP_CLI_CONFIG_PATH=/tmp/wp-cli.yml
printf 'apache_modules:\n  - mod_rewrite\n' > "$WP_CLI_CONFIG_PATH"

log "WordPress database: $(wp core version) — updating"
wp core update-db
# 0: active, 1: not active; anything else is WP-CLI failing, never "not active".
active=0
wp plugin is-active woocommerce || active=$?
case "${active}" in
  0)
    current="$(wp plugin get woocommerce --field=version)"
    if [ "${current}" != "${WOOCOMMERCE_VERSION}" ]; then
      log "WooCommerce ${current} → ${WOOCOMMERCE_VERSION}"
      wp plugin install woocommerce --version="${WOOCOMMERCE_VERSION}" --force --activate
    fi
    log "WooCommerce database: updating"
    wp wc update
    ;;
  1)
    log "WooCommerce is not active: nothing to migrate for it"
    ;;
  *)
    log "FAILED: WP-CLI could not tell whether WooCommerce is active (exit ${active})"
    exit 1
    ;;
esac
touch "${base}/upgrade-${UPGRADE_GENERATION}.done"
log "upgrade ${UPGRADE_GENERATION} migrated"
