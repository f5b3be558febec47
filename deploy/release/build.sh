#!/usr/bin/env bash
# Renders the clusterctl release artefacts of the workspace version into one
# directory, the layout of a GitHub release (and of a clusterctl local
# repository's version directory):
#
#   infrastructure-components.yaml   kustomize build deploy/config/default,
#                                    manager image tag = v<version>
#   metadata.yaml                    deploy/metadata.yaml
#   cluster-template*.yaml           deploy/templates/ (the flavours)
#   clusterclass-*.yaml              deploy/templates/ (the ClusterClasses of the
#                                    topology flavour; clusterctl fetches
#                                    clusterclass-<class>.yaml from the release)
#
#   deploy/release/build.sh          # what `just release` runs; writes out/
#
# Environment:
#   RELEASE_DIR          output directory (default: out)
#   RELEASE_VERSION      version to stamp, without `v` (default: the workspace version)
#   KUSTOMIZE            kustomize binary (default: built once by deploy/release/kustomize.sh)
#
# The output depends only on the checked-out files, so two runs give the
# same bytes. It is not committed: e2e/tests/release.rs renders it afresh
# and installs it on a real API server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

fail() { echo "release: $*" >&2; exit 1; }

workspace_version="$(sed -n '/^\[workspace.package\]/,/^\[/{s/^version *= *"\(.*\)"/\1/p}' Cargo.toml)"
version="${RELEASE_VERSION:-$workspace_version}"
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.[0-9]+([-+].*)?$ ]] \
  || fail "version '$version' is not semver (MAJOR.MINOR.PATCH)"
major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}"
out="${RELEASE_DIR:-out}"

# clusterctl picks versions by release series: a version without one cannot
# be installed, and a wrong contract installs on the wrong Cluster API.
series_contract="$(awk -v maj="$major" -v min="$minor" '
  /^[[:space:]]*-[[:space:]]*major:/ { m = $NF; n = ""; next }
  /^[[:space:]]*minor:/              { n = $NF; next }
  /^[[:space:]]*contract:/           { if (m == maj && n == min) print $NF }
' deploy/metadata.yaml)"
[[ -n "$series_contract" ]] \
  || fail "deploy/metadata.yaml has no release series $major.$minor for version $version; add one"
crd_contract="$(grep -hoE '^    cluster\.x-k8s\.io/v1beta[0-9]+:' crds/*.yaml | sort -u | sed 's#.*/\(v1beta[0-9]*\):#\1#')"
[[ "$crd_contract" == "$series_contract" ]] \
  || fail "deploy/metadata.yaml says series $major.$minor implements '$series_contract' but the CRDs are labelled for '$crd_contract'"

kustomize="$(deploy/release/kustomize.sh)"

mkdir -p "$out"
# Only what this script writes (RELEASE_DIR may be a directory with other files).
rm -f "$out"/infrastructure-components.yaml "$out"/metadata.yaml "$out"/cluster-template*.yaml "$out"/clusterclass-*.yaml
# The Deployment's image names the release it ships with: a throw-away
# overlay sets the tag, so deploy/config stays untouched (no
# `kustomize edit` on checked-in files). kustomize takes only relative
# paths to other bases.
image=ghcr.io/scvmm-capi/capscvmm-manager
overlay="$(mktemp -d)"
trap 'rm -rf "$overlay"' EXIT
cat >"$overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$overlay" deploy/config/default)
images:
  - name: $image
    newTag: v$version
YAML
components="$out/infrastructure-components.yaml"
{
  echo "# cluster-api-provider-scvmm v$version: rendered by \`just release\` from deploy/config/default. Variables: docs/install.md."
  "$kustomize" build "$overlay"
} >"$components"
grep -q "image: $image:v$version\$" "$components" \
  || fail "the manager image $image in deploy/config did not get the tag v$version"

cp deploy/metadata.yaml "$out/metadata.yaml"
cp deploy/templates/cluster-template*.yaml deploy/templates/clusterclass-*.yaml "$out/"

echo "release: v$version (contract $series_contract) in $out/:" >&2
for f in "$out"/infrastructure-components.yaml "$out"/metadata.yaml "$out"/cluster-template*.yaml "$out"/clusterclass-*.yaml; do
  echo "  ${f##*/} ($(wc -c <"$f") bytes)"
done >&2
