#!/usr/bin/env bash
# Builds the container images as OCI archives under target/images/ with
# buildah, without a container runtime or a registry: the images are
# FROM scratch with COPY only (no RUN), so buildah needs neither.
#
#   deploy/images/build.sh                  # what `just images` runs: both images
#   deploy/images/build.sh manager          # one of: manager, scvmm-sim
#
# Archives (load with `podman load -i`, `docker load -i`, `kind load image-archive`):
#   target/images/manager.oci.tar     ghcr.io/scvmm-capi/capscvmm-manager:v<version>,
#                                     the image out/infrastructure-components.yaml runs
#   target/images/scvmm-sim.oci.tar   scvmm-sim:<version>
#
# Environment:
#   CARGO_TARGET_DIR   where cargo builds (default: target)
#   IMAGES_DIR         where the archives go (default: target/images)
#   IMAGE_TAG          scvmm-sim's tag inside its archive (default: the workspace version)
#   MANAGER_IMAGE      the manager's name inside its archive
#                      (default: ghcr.io/scvmm-capi/capscvmm-manager:v<workspace version>)
#   BUILDAH_FLAGS      extra flags for `buildah build`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

triple=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-target}"
images_dir="${IMAGES_DIR:-target/images}"
version="$(sed -n '/^\[workspace.package\]/,/^\[/{s/^version *= *"\(.*\)"/\1/p}' Cargo.toml)"
tag="${IMAGE_TAG:-${version:-dev}}"
manager_ref="${MANAGER_IMAGE:-ghcr.io/scvmm-capi/capscvmm-manager:v${version:-0.0.0}}"

images=("$@")
[[ ${#images[@]} -gt 0 ]] || images=(manager scvmm-sim)
for i in "${images[@]}"; do
  case "$i" in
    manager | scvmm-sim) ;;
    *) echo "images: unknown image '$i' (known: manager, scvmm-sim)" >&2; exit 2 ;;
  esac
done

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

ca=/etc/ssl/certs/ca-certificates.crt
if [[ ! -s "$ca" ]]; then
  echo "images: $ca is missing (apt-get install ca-certificates)" >&2
  exit 1
fi

# The static binaries, in one cargo run so shared dependencies build once:
# glibc linked in (+crt-static), so FROM scratch works.
cargo_args=()
for i in "${images[@]}"; do
  case "$i" in
    manager) cargo_args+=(-p operator --bin manager) ;;
    scvmm-sim) cargo_args+=(-p scvmm-sim --bin scvmm-sim) ;;
  esac
done
echo "images: building ${images[*]} (release, static)" >&2
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
  cargo build -q --release --locked --target "$triple" "${cargo_args[@]}"

# Stages the build context (exactly what the Containerfile copies) and
# writes the archive. Arguments: image, binary, Containerfile, reference.
build_image() {
  local name="$1" binary="$2" containerfile="$3" ref="$4"
  local bin="$target_dir/$triple/release/$binary"
  if command -v file >/dev/null && ! file -b "$bin" | grep -q 'static'; then
    echo "images: $bin is not statically linked: $(file -b "$bin")" >&2
    exit 1
  fi
  local context="$images_dir/context/$name"
  rm -rf "$context"
  mkdir -p "$context"
  cp "$bin" "$context/$binary"
  strip "$context/$binary" 2>/dev/null || true
  cp "$ca" "$context/ca-certificates.crt"
  if [[ "$name" == scvmm-sim ]]; then
    # Becomes /data, the emulator's writable working directory.
    mkdir -p "$context/data"
  fi

  # Rootless or not, vfs storage and chroot isolation need no kernel overlay
  # support and no runtime; the archive is written with oci-archive:.
  local archive="$images_dir/$name.oci.tar"
  rm -f "$archive"
  # shellcheck disable=SC2086
  buildah --storage-driver vfs build \
    --isolation chroot \
    --format oci \
    --disable-compression=false \
    --timestamp 0 \
    --layers=false \
    -f "$containerfile" \
    -t "oci-archive:$archive:$ref" \
    ${BUILDAH_FLAGS:-} \
    "$context" >&2
  echo "images: wrote $archive ($ref, $(du -h "$archive" | cut -f1))" >&2
  echo "images: load it with 'podman load -i $archive' or 'docker load -i $archive'" >&2
}

for i in "${images[@]}"; do
  case "$i" in
    manager) build_image manager manager operator/Containerfile "$manager_ref" ;;
    scvmm-sim) build_image scvmm-sim scvmm-sim scvmm-sim/Containerfile "scvmm-sim:$tag" ;;
  esac
done
