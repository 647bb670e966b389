#!/usr/bin/env bash
# Deletes the local cluster made by scripts/dev-up.sh (every store and its data go with it).
set -euo pipefail
cluster="${STOREFLEET_CLUSTER:-storefleet}"
tool="${STOREFLEET_CLUSTER_TOOL:-kind}"
case "$tool" in
  kind) kind delete cluster --name "$cluster" ;;
  k3d) k3d cluster delete "$cluster" ;;
  *) printf '[dev-down] error: STOREFLEET_CLUSTER_TOOL must be kind or k3d\n' >&2; exit 1 ;;
esac
