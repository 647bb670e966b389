#!/bin/bash
# Checks a store from inside its namespace, through its Service with the public Host header:
# the storefront answers 200, the Store API lists products, the cart endpoint answers.
# Used by the bootstrap Job (last step) and by `helm test`. Retries briefly: caches warm up.
set -euo pipefail

base="http://${WORDPRESS_SERVICE}:8080"
headers=(-H "Host: ${STORE_HOST}" -H "X-Forwarded-Proto: ${STORE_SCHEME}")
attempts=10

check() {
  local what="$1"; shift
  local i
  for ((i = 1; i <= attempts; i++)); do
    if "$@"; then
      printf 'smoke test: %s: ok\n' "$what"
      return 0
    fi
    sleep 3
  done
  printf 'smoke test: FAILED: %s (after %d attempts)\n' "$what" "$attempts"
  return 1
}

status_is_200() {
  local code
  code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 "${headers[@]}" "${base}$1")"
  [[ "$code" == "200" ]] || { printf '  GET %s answered %s\n' "$1" "$code"; return 1; }
}

lists_products() {
  # shellcheck disable=SC2016 # PHP code: its $variables are PHP's, not the shell's.
  curl -fsS --max-time 20 "${headers[@]}" "${base}/wp-json/wc/store/v1/products" \
    | php -r '$p = json_decode(stream_get_contents(STDIN), true); exit(is_array($p) && count($p) > 0 ? 0 : 1);'
}

check "storefront / answers 200" status_is_200 /
check "Store API lists products" lists_products
check "cart endpoint answers 200" status_is_200 /wp-json/wc/store/v1/cart
