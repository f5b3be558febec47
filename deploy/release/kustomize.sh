#!/usr/bin/env bash
# Prints the path of a kustomize binary, building it first when it is not
# cached yet: `go install` from the Go module proxy (about 30 s on 2 cores,
# once per machine and version), into the test bed's cache directory, so a
# fresh clone needs nothing but Go.
#
#   deploy/release/kustomize.sh           # prints <cache>/kustomize-<version>/bin/kustomize
#
# Environment:
#   SCVMM_TESTBED_CACHE  cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/scvmm-capi-testbed)
#   KUSTOMIZE            use this kustomize instead (nothing is built)
set -euo pipefail

# The newest kustomize whose module builds with Go 1.26 (v5.8.1 requires
# kustomize/api v0.21.1; later APIs want a newer Go).
KUSTOMIZE_VERSION=v5.8.1

if [[ -n "${KUSTOMIZE:-}" ]]; then
  echo "$KUSTOMIZE"
  exit 0
fi

cache="${SCVMM_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scvmm-capi-testbed}"
out="$cache/kustomize-$KUSTOMIZE_VERSION"
bin="$out/bin/kustomize"
if [[ -f "$out/.complete" && -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || {
  echo "kustomize: the go command is not on PATH; install Go >= 1.26 (kustomize is built from the Go module proxy)" >&2
  exit 1
}
mkdir -p "$cache"
# Its own lock: the test bed's build holds $cache/.lock for many minutes.
exec 9>"$cache/.kustomize.lock"
flock 9
if [[ -f "$out/.complete" && -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

echo "kustomize: building sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION into $out (first run only)" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
GOBIN="$work" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
  "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
rm -rf "$out"
mkdir -p "$out/bin"
mv "$work/kustomize" "$bin"
touch "$out/.complete"
echo "$bin"
