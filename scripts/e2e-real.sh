#!/usr/bin/env bash
# End to end on a real cluster (after scripts/dev-up.sh): create a store through the API, wait for
# Ready, load the storefront, place a cash-on-delivery order through the WooCommerce Store API, confirm
# the order through the WooCommerce admin REST API (as the store's administrator, inside the store),
# delete the store and check that its namespace is gone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.tools/bin:$PATH"

api="${STOREFLEET_URL:-http://storefleet.localtest.me}"
domain="${STOREFLEET_STORE_DOMAIN:-localtest.me}"
name="e2e-$(date +%s)"
ns="store-$name"
jar="$(mktemp)"
trap 'rm -f "$jar"' EXIT

log() { printf '[e2e] %s\n' "$*"; }
die() { printf '[e2e] FAILED: %s\n' "$*" >&2; exit 1; }
token="${STOREFLEET_TOKEN:-$(kubectl -n storefleet get secret storefleet-admin -o jsonpath='{.data.bootstrap-admin-token}' | base64 -d)}"
auth=(-H "Authorization: Bearer $token")

log "creating store $name"
curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d "{\"name\":\"$name\",\"plan\":\"small\"}" "$api/api/v1/stores" >/dev/null

log "waiting for Ready (up to 15 min)"
deadline=$((SECONDS + 900))
while :; do
  phase="$(curl -fsS "${auth[@]}" "$api/api/v1/stores/$name" | jq -r .phase)"
  [ "$phase" = ready ] && break
  [ "$phase" = failed ] && die "store failed: $(curl -fsS "${auth[@]}" "$api/api/v1/stores/$name" | jq -r '.conditions[] | select(.type=="Failed") | .message')"
  (( SECONDS < deadline )) || die "not ready after 15 min (phase $phase)"
  sleep 5
done
log "ready"

store="http://$name.$domain"
code="$(curl -s -o /dev/null -w '%{http_code}' "$store/")"
[ "$code" = 200 ] || die "storefront answered $code"
log "storefront answers 200"

product="$(curl -fsS "$store/wp-json/wc/store/v1/products" | jq '.[0].id')"
nonce="$(curl -fsS -c "$jar" -D - -o /dev/null "$store/wp-json/wc/store/v1/cart" | awk -F': ' 'tolower($1)=="nonce"{print $2}' | tr -d '\r')"
curl -fsS -b "$jar" -c "$jar" -H "Nonce: $nonce" -H 'Content-Type: application/json' \
  -d "{\"id\": $product, \"quantity\": 1}" "$store/wp-json/wc/store/v1/cart/add-item" >/dev/null
order="$(curl -fsS -b "$jar" -c "$jar" -H "Nonce: $nonce" -H 'Content-Type: application/json' -d '{
  "billing_address": {"first_name":"Ada","last_name":"Lovelace","address_1":"1 Main St","city":"San Francisco",
                      "state":"CA","postcode":"94103","country":"US","email":"ada@example.com","phone":"5550100"},
  "payment_method": "cod"}' "$store/wp-json/wc/store/v1/checkout" | jq -r .order_id)"
if [ -z "$order" ] || [ "$order" = null ]; then die "checkout returned no order"; fi
log "order $order placed (cash on delivery)"

# The admin REST API, called as the store's administrator inside the WordPress pod (no credentials leave the cluster).
# shellcheck disable=SC2016 # PHP code: its $variables are PHP's.
status="$(kubectl -n "$ns" exec "deploy/$name-wordpress" -- php -r '
  require "/var/www/html/wp-load.php";
  wp_set_current_user(get_user_by("login", "storeadmin")->ID);
  $r = rest_do_request(new WP_REST_Request("GET", "/wc/v3/orders/" . $argv[1]));
  echo $r->get_status() === 200 ? $r->get_data()["status"] : "http-" . $r->get_status();' "$order")"
[ "$status" = processing ] || [ "$status" = on-hold ] || die "admin REST API says order $order is '$status'"
log "admin REST API: order $order is $status"

log "deleting the store"
curl -fsS -X DELETE "${auth[@]}" "$api/api/v1/stores/$name" >/dev/null
deadline=$((SECONDS + 600))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$api/api/v1/stores/$name")" = 404 ]; do
  (( SECONDS < deadline )) || die "store record still present after 10 min"
  sleep 5
done
if kubectl get namespace "$ns" >/dev/null 2>&1; then die "namespace $ns still exists"; fi
log "store, release and namespace are gone: passed"
