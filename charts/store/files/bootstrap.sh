#!/bin/bash
# Storefleet store bootstrap: turns the empty WordPress volume and database into a working
# WooCommerce store. Idempotent (every step checks before it changes), loud (set -e; no failure
# is ever ignored), and bounded (each wait has a deadline; the Job has activeDeadlineSeconds).
# Passwords come from the environment and reach WP-CLI on stdin, never on a command line.
set -euo pipefail

log() { printf '%s bootstrap: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { log "FAILED: $*"; exit 1; }

# wait_for <what> <command...>: retry every 3 s until it succeeds or WAIT_TIMEOUT_SECONDS pass.
wait_for() {
  local what="$1"; shift
  local deadline=$((SECONDS + WAIT_TIMEOUT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then
      fail "gave up waiting for ${what} after ${WAIT_TIMEOUT_SECONDS}s"
    fi
    sleep 3
  done
  log "${what}: ok"
}

database_answers() {
  # shellcheck disable=SC2016 # PHP code: its $variables are PHP's, not the shell's.
  php -r '
    [$host, $port] = array_pad(explode(":", getenv("WORDPRESS_DB_HOST")), 2, "3306");
    mysqli_report(MYSQLI_REPORT_OFF);
    $db = @new mysqli($host, getenv("WORDPRESS_DB_USER"), getenv("WORDPRESS_DB_PASSWORD"), getenv("WORDPRESS_DB_NAME"), (int) $port);
    exit($db->connect_errno ? 1 : 0);'
}

# option_or_empty <name>: the option's value, or nothing when it is not set.
option_or_empty() {
  if ! wp option get "$1" 2>/dev/null; then
    return 0
  fi
}

# move_to_site_url <what> <file>: moves the site from the URL it has to SITE_URL. That URL is remembered in <file> on the
# volume before anything changes, so a run stopped half-way through the tables (siteurl already replaced) replaces the
# rest on the next run; then it is replaced in every table (guids kept) and siteurl and home are set. Leaves the URL it
# moved from in old_url.
move_to_site_url() {
  local what="$1" file="$2"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$(dirname "$file")"
    wp option get siteurl > "$file.tmp"
    mv "$file.tmp" "$file"
  fi
  old_url="$(cat "$file")"
  if [[ "$old_url" != "$SITE_URL" ]]; then
    log "${what}: replacing ${old_url} with ${SITE_URL} in every table"
    wp search-replace "$old_url" "$SITE_URL" --all-tables-with-prefix --skip-columns=guid --report-changed-only
  fi
  wp option update siteurl "$SITE_URL"
  wp option update home "$SITE_URL"
}

cd /var/www/html
export WP_CLI_CONFIG_PATH=/tmp/wp-cli.yml
# WP-CLI cannot see Apache from a Job; tell it mod_rewrite is there so permalinks write .htaccess.
printf 'apache_modules:\n  - mod_rewrite\n' > "$WP_CLI_CONFIG_PATH"
as_admin=(--user="$WP_ADMIN_USER")

log "store ${SITE_URL} (bootstrap generation ${BOOTSTRAP_GENERATION})"
wait_for "WordPress files (written by the WordPress pod on its first start)" test -s wp-config.php
wait_for "database ${WORDPRESS_DB_HOST}" database_answers

if [[ -n "${PERSONALISE_FROM:-}" ]]; then
  # This store took over a warm-pool member: WordPress and WooCommerce are installed, with the member's throwaway URL,
  # title, administrator password and salts. Make them this store's, once (an option remembers the member); the
  # installation steps below then find everything in place and change nothing.
  if [[ "$(option_or_empty storefleet_personalised_from)" == "$PERSONALISE_FROM" ]]; then
    log "warm-pool member ${PERSONALISE_FROM}: already personalised"
  else
    move_to_site_url "warm-pool member ${PERSONALISE_FROM}" /var/www/html/.storefleet/member-url
    if [[ "$old_url" != "$SITE_URL" ]]; then
      # Then the host in every other form (scheme-relative, the other scheme): //member-host → //store-host.
      wp search-replace "//${old_url#*://}" "//${SITE_URL#*://}" --all-tables-with-prefix --skip-columns=guid --report-changed-only
    fi
    wp option update blogname "$SITE_TITLE"
    wp option update admin_email "$WP_ADMIN_EMAIL"
    wp option update woocommerce_email_from_name "$SITE_TITLE"
    wp option update woocommerce_email_from_address "$WP_ADMIN_EMAIL"
    log "administrator ${WP_ADMIN_USER}: this store's password"
    printf '%s' "$WP_ADMIN_PASSWORD" | wp user update "$WP_ADMIN_USER" --prompt=user_pass --skip-email
    log "authentication keys and salts: new"
    wp config shuffle-salts
    wp user session destroy --all-users
    wp option update storefleet_personalised_from "$PERSONALISE_FROM"
    # Everything else the bootstrap does is in place already (the member was bootstrapped): check the store and finish.
    wp rewrite flush --hard
    log "checking the store from inside the namespace"
    /scripts/smoke-test.sh
    log "done"
    exit 0
  fi
fi

if [[ -n "${CLONE_SNAPSHOT:-}" ]]; then
  # A clone: the init containers restored another store's backup (database and wp-content). Move it to this store's
  # URL and administrator password, once (an option remembers the snapshot); nothing is installed or changed besides.
  if [[ "$(option_or_empty storefleet_cloned_from)" == "$CLONE_SNAPSHOT" ]]; then
    log "clone of ${CLONE_SNAPSHOT}: already moved to ${SITE_URL}"
  else
    move_to_site_url "clone of ${CLONE_SNAPSHOT}" /var/www/html/.storefleet/clone-source-url
    if wp user get "$WP_ADMIN_USER" --field=ID >/dev/null 2>&1; then
      log "administrator ${WP_ADMIN_USER}: this store's password"
      printf '%s' "$WP_ADMIN_PASSWORD" | wp user update "$WP_ADMIN_USER" --prompt=user_pass --skip-email
    else
      log "administrator ${WP_ADMIN_USER}: created with this store's password"
      printf '%s' "$WP_ADMIN_PASSWORD" | wp user create "$WP_ADMIN_USER" "$WP_ADMIN_EMAIL" --role=administrator --prompt=user_pass
    fi
    # Sessions of the source's users were signed with its salts; this store's wp-config has its own. Log everyone out anyway.
    wp user session destroy --all-users
    wp option update storefleet_cloned_from "$CLONE_SNAPSHOT"
  fi
  wp rewrite flush --hard
  log "checking the store from inside the namespace"
  /scripts/smoke-test.sh
  log "done"
  exit 0
fi

if wp core is-installed; then
  log "WordPress core: already installed"
else
  log "WordPress core: installing"
  printf '%s' "$WP_ADMIN_PASSWORD" | wp core install --url="$SITE_URL" --title="$SITE_TITLE" \
    --admin_user="$WP_ADMIN_USER" --admin_email="$WP_ADMIN_EMAIL" --prompt=admin_password --skip-email
fi
wp option update siteurl "$SITE_URL"
wp option update home "$SITE_URL"

log "permalinks: /%postname%/"
wp rewrite structure '/%postname%/'
wp rewrite flush --hard

if wp plugin is-installed woocommerce; then
  log "WooCommerce: already installed ($(wp plugin get woocommerce --field=version))"
else
  log "WooCommerce ${WOOCOMMERCE_VERSION}: installing"
  wp plugin install woocommerce --version="$WOOCOMMERCE_VERSION"
fi
wp plugin is-active woocommerce || wp plugin activate woocommerce

if wp theme is-installed storefront; then
  log "Storefront theme: already installed"
else
  log "Storefront ${STOREFRONT_VERSION}: installing"
  wp theme install storefront --version="$STOREFRONT_VERSION"
fi
wp theme is-active storefront || wp theme activate storefront

log "WooCommerce pages, payment, currency, location"
wp wc tool run install_pages "${as_admin[@]}"
wp wc payment_gateway update cod --enabled=1 "${as_admin[@]}"
wp option update woocommerce_currency "$STORE_CURRENCY"
wp option update woocommerce_default_country "$STORE_BASE_LOCATION"
wp option update woocommerce_coming_soon no
wp option update woocommerce_onboarding_profile '{"skipped":true}' --format=json

if [[ "$SAMPLE_PRODUCTS" == "true" ]]; then
  count="$(wp wc product list "${as_admin[@]}" --format=count)"
  if [[ "$count" == "0" ]]; then
    log "sample products: creating"
    wp wc product create "${as_admin[@]}" --name="Storefleet T-shirt" --type=simple --status=publish --regular_price=19.00 --short_description="Soft cotton, one size."
    wp wc product create "${as_admin[@]}" --name="Storefleet Mug" --type=simple --status=publish --regular_price=12.50 --short_description="Holds coffee, or tea."
    wp wc product create "${as_admin[@]}" --name="Storefleet Sticker Pack" --type=simple --status=publish --regular_price=4.00 --short_description="Ten stickers."
  else
    log "sample products: ${count} products exist, none added"
  fi
fi

log "checking the store from inside the namespace"
/scripts/smoke-test.sh
log "done"
