#!/usr/bin/env bash
# Builds the container images as OCI archives under target/images/ with
# buildah, without a container runtime or a registry: the images are
# FROM scratch with COPY only (no RUN), so buildah needs neither.
#
#   deploy/images/build.sh            # what `just images` runs
#
# Environment:
#   CARGO_TARGET_DIR   where cargo builds (default: target)
#   IMAGES_DIR         where the archives go (default: target/images)
#   IMAGE_TAG          tag inside the archive (default: the workspace version)
#   BUILDAH_FLAGS      extra flags for `buildah build`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

triple=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"
images_dir="${IMAGES_DIR:-target/images}"
version="$(sed -n '/^\[workspace.package\]/,/^\[/{s/^version *= *"\(.*\)"/\1/p}' Cargo.toml)"
tag="${IMAGE_TAG:-${version:-dev}}"

echo "images: the manager image is not built yet: the manager binary is a stub (issue #9); building scvmm-sim only" >&2

# buildah: install it when missing (Debian/Ubuntu).
if ! command -v buildah >/dev/null; then
  echo "images: buildah is not installed; installing it with apt-get" >&2
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || { echo "images: need root or sudo to install buildah" >&2; exit 1; }
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends buildah >/dev/null
fi

# The static binary: glibc linked in (+crt-static), so FROM scratch works.
echo "images: building scvmm-sim (release, static)" >&2
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
  cargo build -q --release -p scvmm-sim --target "$triple"
bin="$target_dir/$triple/release/scvmm-sim"
if command -v file >/dev/null && ! file -b "$bin" | grep -q 'static'; then
  echo "images: $bin is not statically linked: $(file -b "$bin")" >&2
  exit 1
fi

ca=/etc/ssl/certs/ca-certificates.crt
if [[ ! -s "$ca" ]]; then
  echo "images: $ca is missing (apt-get install ca-certificates)" >&2
  exit 1
fi

# The build context: exactly what the Containerfile copies.
context="$images_dir/context/scvmm-sim"
rm -rf "$context"
mkdir -p "$context/data"
cp "$bin" "$context/scvmm-sim"
strip "$context/scvmm-sim" 2>/dev/null || true
cp "$ca" "$context/ca-certificates.crt"

# Rootless or not, vfs storage and chroot isolation need no kernel overlay
# support and no runtime; the archive is written with oci-archive:.
archive="$images_dir/scvmm-sim.oci.tar"
rm -f "$archive"
# shellcheck disable=SC2086
buildah --storage-driver vfs build \
  --isolation chroot \
  --format oci \
  --disable-compression=false \
  --timestamp 0 \
  --layers=false \
  -f scvmm-sim/Containerfile \
  -t "oci-archive:$archive:scvmm-sim:$tag" \
  ${BUILDAH_FLAGS:-} \
  "$context" >&2
echo "images: wrote $archive (scvmm-sim:$tag, $(du -h "$archive" | cut -f1))" >&2
echo "images: load it with 'podman load -i $archive' or 'docker load -i $archive'" >&2
