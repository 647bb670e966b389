#!/usr/bin/env bash
# A local cluster running Storefleet, for people with Docker:
#   kind (default) with ingress-nginx, or k3d (STOREFLEET_CLUSTER_TOOL=k3d) with its built-in Traefik;
#   builds the control-plane image, loads it into the cluster, installs charts/storefleet with
#   values-local.yaml, and prints the dashboard URL and how to get the admin token.
# Needs: docker, kind or k3d, and helm + kubectl (from .tools/bin when scripts/bootstrap-tools.sh ran, else PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cluster="${STOREFLEET_CLUSTER:-storefleet}"
tool="${STOREFLEET_CLUSTER_TOOL:-kind}"
image="storefleet:dev"
export PATH="$PWD/.tools/bin:$PATH"

log() { printf '[dev-up] %s\n' "$*"; }
die() { printf '[dev-up] error: %s\n' "$*" >&2; exit 1; }
for command in docker "$tool" kubectl helm; do
  command -v "$command" >/dev/null || die "$command is not installed (kind: https://kind.sigs.k8s.io, k3d: https://k3d.io)"
done

case "$tool" in
  kind)
    if ! kind get clusters | grep -qx "$cluster"; then
      log "creating kind cluster $cluster (ports 80 and 443 on this machine)"
      kind create cluster --name "$cluster" --wait 120s --config - <<'KIND'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    kubeadmConfigPatches:
      - |
        kind: InitConfiguration
        nodeRegistration:
          kubeletExtraArgs:
            node-labels: "ingress-ready=true"
    extraPortMappings:
      - {containerPort: 80, hostPort: 80, protocol: TCP}
      - {containerPort: 443, hostPort: 443, protocol: TCP}
KIND
    fi
    kubectl config use-context "kind-$cluster" >/dev/null
    log "installing ingress-nginx"
    kubectl apply -f https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.12.0/deploy/static/provider/kind/deploy.yaml >/dev/null
    kubectl -n ingress-nginx wait --for=condition=Available deployment/ingress-nginx-controller --timeout=300s
    ;;
  k3d)
    if ! k3d cluster list "$cluster" >/dev/null 2>&1; then
      log "creating k3d cluster $cluster (Traefik on ports 80 and 443)"
      k3d cluster create "$cluster" -p "80:80@loadbalancer" -p "443:443@loadbalancer" --wait
    fi
    kubectl config use-context "k3d-$cluster" >/dev/null
    ;;
  *) die "STOREFLEET_CLUSTER_TOOL must be kind or k3d" ;;
esac

log "building $image"
docker build -t "$image" .
log "loading $image into the cluster"
if [ "$tool" = kind ]; then kind load docker-image "$image" --name "$cluster"; else k3d image import "$image" -c "$cluster"; fi

kubectl create namespace storefleet --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace storefleet pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
log "installing the platform chart"
if [ "$tool" = kind ]; then
  helm upgrade --install storefleet charts/storefleet -n storefleet -f charts/storefleet/values-local.yaml --wait --timeout 5m
else
  # k3d: the platform and the stores use Traefik (in kube-system) and local-path storage.
  helm upgrade --install storefleet charts/storefleet -n storefleet -f charts/storefleet/values-local.yaml \
    --set ingress.className=traefik \
    --set networkPolicy.ingressController.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=kube-system \
    --set redis.storageClass=local-path \
    --set engine.storeValues.ingress.className=traefik \
    --set engine.storeValues.database.storageClass=local-path \
    --set engine.storeValues.wordpress.persistence.storageClass=local-path \
    --set engine.storeValues.networkPolicy.ingressController.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=kube-system \
    --set engine.storeValues.networkPolicy.ingressController.podSelector.matchLabels.app\\.kubernetes\\.io/name=traefik \
    --wait --timeout 5m
fi

log "ready: http://storefleet.localtest.me"
log "admin token: kubectl -n storefleet get secret storefleet-admin -o jsonpath='{.data.bootstrap-admin-token}' | base64 -d"
