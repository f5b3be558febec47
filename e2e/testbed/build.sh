#!/usr/bin/env bash
# Builds the local control plane used by tests (etcd, kube-apiserver,
# kube-controller-manager, the Cluster API core and kubeadm bootstrap managers,
# clusterctl) and the optional add-on providers (the kubeadm control-plane
# manager, the in-cluster IPAM provider) from the Go module proxy and caches
# them outside the repository.
#
# Usage: e2e/testbed/build.sh [--print-dir] [COMPONENT...]
#
# Components (default: all of them):
#   core             etcd, kube-apiserver, kube-controller-manager, CAPI core +
#                    kubeadm bootstrap managers, clusterctl
#   kcp              CAPI kubeadm control-plane manager (CAPI_VERSION)
#   ipam-in-cluster  in-cluster IPAM provider (IPAM_IN_CLUSTER_VERSION)
#
# Environment:
#   SCVMM_TESTBED_CACHE  cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/scvmm-capi-testbed)
#   GOFLAGS, GOPROXY     honoured as usual by the go command
#
# Each component lands in <cache>/<component>-<version>/ and is marked complete
# by a `.complete` file written last, so an interrupted build is redone and a
# finished one is never rebuilt. A lock file serialises concurrent callers
# (parallel test binaries, a developer running `just testbed` at the same time).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache="${SCVMM_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scvmm-capi-testbed}"
mkdir -p "$cache"

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$cache"
  exit 0
fi

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(core kcp ipam-in-cluster)
for c in "${components[@]}"; do
  case "$c" in
    core | kcp | ipam-in-cluster) ;;
    *)
      echo "error: unknown component '$c' (known: core, kcp, ipam-in-cluster)" >&2
      exit 2
      ;;
  esac
done

command -v go >/dev/null || {
  echo "error: the go command is not on PATH; install Go >= 1.26 (the test bed builds Kubernetes from the Go module proxy)" >&2
  exit 1
}

exec 9>"$cache/.lock"
flock 9

log() { printf '[testbed %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# Prepares a fresh work directory holding the wrapper module for $1.
workdir_for() {
  local name="$1" dir="$cache/work/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$here/go/$name/go.mod" "$dir/go.mod"
  echo "$dir"
}

build_kubernetes() {
  local out="$cache/kubernetes-$KUBERNETES_VERSION"
  [[ -f "$out/.complete" ]] && return 0
  log "building kube-apiserver and kube-controller-manager $KUBERNETES_VERSION (first run only; 10-25 min on 2 cores)"
  local dir staging_version gomod minor
  dir="$(workdir_for kubernetes)"
  staging_version="v0.${KUBERNETES_VERSION#v1.}"
  minor="$(cut -d. -f2 <<<"$KUBERNETES_VERSION")"
  (
    cd "$dir"
    go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
    gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    # k8s.io/kubernetes points its staging modules at ./staging/...; a dependent
    # module must pin each to its published v0.x version instead.
    local m
    for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*#\1#p' "$gomod"); do
      go mod edit -replace="$m=$m@$staging_version"
    done
    go mod tidy
    mkdir -p "$out/bin"
    CGO_ENABLED=0 go build -trimpath -o "$out/bin/" \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
  )
  touch "$out/.complete"
}

build_etcd() {
  local out="$cache/etcd-$ETCD_VERSION"
  [[ -f "$out/.complete" ]] && return 0
  log "building etcd $ETCD_VERSION"
  local dir
  dir="$(workdir_for etcd)"
  (
    cd "$dir"
    go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go mod tidy
    mkdir -p "$out/bin"
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
  )
  touch "$out/.complete"
}

build_capi() {
  local out="$cache/capi-$CAPI_VERSION"
  [[ -f "$out/.complete" ]] && return 0
  log "building Cluster API $CAPI_VERSION managers and clusterctl"
  local dir src
  dir="$(workdir_for capi)"
  (
    cd "$dir"
    go mod edit -require="sigs.k8s.io/cluster-api@$CAPI_VERSION" -require="sigs.k8s.io/cluster-api/api@$CAPI_VERSION"
    go mod tidy
    mkdir -p "$out/bin" "$out/crds/core" "$out/crds/bootstrap-kubeadm"
    local ld="-s -w -X sigs.k8s.io/cluster-api/version.gitVersion=$CAPI_VERSION -X sigs.k8s.io/cluster-api/version.gitTreeState=clean"
    CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out/bin/capi-manager" sigs.k8s.io/cluster-api/core
    CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out/bin/kubeadm-bootstrap-manager" sigs.k8s.io/cluster-api/bootstrap/kubeadm
    CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out/bin/clusterctl" sigs.k8s.io/cluster-api/cmd/clusterctl
    # The CRDs ship inside the module; take them from the exact version built.
    src="$(go list -m -f '{{.Dir}}' "sigs.k8s.io/cluster-api")"
    cp "$src"/core/config/crd/bases/*.yaml "$out/crds/core/" 2>/dev/null || cp "$src"/config/crd/bases/*.yaml "$out/crds/core/"
    cp "$src"/bootstrap/kubeadm/config/crd/bases/*.yaml "$out/crds/bootstrap-kubeadm/"
    chmod -R u+w "$out/crds"
  )
  touch "$out/.complete"
}

# Manifests that ship inside the CAPI module: admission webhook
# configurations, which the test bed rewrites to loopback URLs.
copy_capi_manifests() {
  local out="$cache/capi-$CAPI_VERSION"
  [[ -f "$out/.manifests-complete" ]] && return 0
  local src
  src="$(cd "$cache" && go mod download -json "sigs.k8s.io/cluster-api@$CAPI_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  [[ -d "$src" ]] || { echo "error: sigs.k8s.io/cluster-api@$CAPI_VERSION not in the module cache" >&2; exit 1; }
  mkdir -p "$out/webhooks/core" "$out/webhooks/bootstrap-kubeadm"
  cp "$src/core/config/webhook/manifests.yaml" "$out/webhooks/core/"
  cp "$src/bootstrap/kubeadm/config/webhook/manifests.yaml" "$out/webhooks/bootstrap-kubeadm/"
  chmod -R u+w "$out/webhooks"
  touch "$out/.manifests-complete"
}

# The kubeadm control-plane manager (KCP) at CAPI_VERSION: its own cache entry,
# so adding it never invalidates capi-<version>.
build_capi_kcp() {
  local out="$cache/capi-kcp-$CAPI_VERSION"
  [[ -f "$out/.complete" ]] && return 0
  log "building the Cluster API kubeadm control-plane manager $CAPI_VERSION"
  local dir src t0=$SECONDS
  dir="$(workdir_for capi-kcp)"
  (
    cd "$dir"
    go mod edit -require="sigs.k8s.io/cluster-api@$CAPI_VERSION" -require="sigs.k8s.io/cluster-api/api@$CAPI_VERSION"
    go mod tidy
    rm -rf "$out"
    mkdir -p "$out/bin" "$out/crds" "$out/webhooks"
    local ld="-s -w -X sigs.k8s.io/cluster-api/version.gitVersion=$CAPI_VERSION -X sigs.k8s.io/cluster-api/version.gitTreeState=clean"
    CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out/bin/kubeadm-control-plane-manager" sigs.k8s.io/cluster-api/controlplane/kubeadm
    src="$(go list -m -f '{{.Dir}}' "sigs.k8s.io/cluster-api")"
    cp "$src"/controlplane/kubeadm/config/crd/bases/*.yaml "$out/crds/"
    cp "$src/controlplane/kubeadm/config/webhook/manifests.yaml" "$out/webhooks/"
    chmod -R u+w "$out/crds" "$out/webhooks"
  )
  touch "$out/.complete"
  log "kubeadm control-plane manager built in $((SECONDS - t0)) s"
}

# The in-cluster IPAM provider, built with its own dependency set.
build_ipam_in_cluster() {
  local out="$cache/ipam-in-cluster-$IPAM_IN_CLUSTER_VERSION"
  [[ -f "$out/.complete" ]] && return 0
  log "building the in-cluster IPAM provider $IPAM_IN_CLUSTER_VERSION"
  local dir src t0=$SECONDS mod=sigs.k8s.io/cluster-api-ipam-provider-in-cluster
  dir="$(workdir_for ipam-in-cluster)"
  (
    cd "$dir"
    go mod edit -require="$mod@$IPAM_IN_CLUSTER_VERSION"
    go mod tidy
    rm -rf "$out"
    mkdir -p "$out/bin" "$out/crds" "$out/webhooks"
    local ld="-s -w -X $mod/version.gitVersion=$IPAM_IN_CLUSTER_VERSION -X $mod/version.gitTreeState=clean"
    CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out/bin/ipam-in-cluster-manager" "$mod"
    src="$(go list -m -f '{{.Dir}}' "$mod")"
    cp "$src"/config/crd/bases/*.yaml "$out/crds/"
    cp "$src/config/webhook/manifests.yaml" "$out/webhooks/"
    chmod -R u+w "$out/crds" "$out/webhooks"
  )
  touch "$out/.complete"
  log "in-cluster IPAM provider built in $((SECONDS - t0)) s"
}

start=$SECONDS
for c in "${components[@]}"; do
  case "$c" in
    core)
      build_etcd
      build_kubernetes
      build_capi
      copy_capi_manifests
      ;;
    kcp) build_capi_kcp ;;
    ipam-in-cluster) build_ipam_in_cluster ;;
  esac
done
rm -rf "$cache/work"
log "test bed ready in $cache ($((SECONDS - start)) s; components: ${components[*]})"
