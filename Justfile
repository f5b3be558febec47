# Development tasks for cluster-api-provider-scvmm. `just` lists them.
# Recipes for parts not built yet fail with the issue that will build them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list --unsorted

# Run the product on its embedded defaults: local control plane, Cluster API, scvmm-sim, the operator, a sample cluster.
demo: testbed binaries
    cargo run -q -p e2e --bin demo

# Build the two binaries the end-to-end suites and the demo run as processes (manager, scvmm-sim).
binaries:
    cargo build -q -p operator --bin manager -p scvmm-sim --bin scvmm-sim

# Run every test: unit, property, snapshot, and against the real local control plane.
test: testbed binaries
    cargo test --workspace --no-fail-fast

# Fuzz every parser for SECONDS each (default 60): seven property-test targets over checked-in corpora (docs/testing.md, Fuzzing); `cargo test` runs them for 4 s each.
fuzz SECONDS="60":
    SCVMM_FUZZ_SECONDS={{SECONDS}} cargo test -q --no-fail-fast -p wsman -p scvmm-sim -p operator --test 'fuzz_*' -- --test-threads 1

# End-to-end suites with the real Cluster API controllers, our operator and scvmm-sim: lifecycle, then chaos (SCVMM_CHAOS_CASES=N for more cases, SCVMM_CHAOS_SEED=S to replay one).
e2e *ARGS: testbed binaries
    cargo test -p e2e --test lifecycle --test chaos -- {{ARGS}}

# Benchmarks that print numbers: test bed start-up, WinRM round trips over loopback, Get-SCVirtualMachine with 1,000 and 10,000 VMs, SCVMM operations per machine lifecycle, provisioning and deleting 10/100/500 machines at once and 1,000 idle ones.
bench: testbed
    # Debug build on purpose: start-up is spent in the Go binaries, not in our orchestration.
    cargo run -q -p e2e --bin testbed -- bench --runs 5
    cargo bench -q -p wsman --bench loopback
    cargo bench -q -p scvmm-sim --bench get_vm
    cargo bench -q -p operator --bench lifecycle
    # Scale scenarios of issue #8 (N = 10, 100, 500 at once at latency scales 0.2 and 0.02, 1,000 idle); SCVMM_BENCH_WRITE_DOCS=1 rewrites docs/benchmarks.md.
    # The idle scenario also runs the release manager binary in its own process to read its memory and CPU alone.
    cargo build -q --release -p operator --bin manager
    cargo bench -q -p operator --bench scale

# Regenerate crds/*.yaml from operator/src/api.
crds:
    cargo run -q -p operator --bin crdgen -- crds

# Fail if crds/ differs from what the code generates.
crds-check:
    cargo run -q -p operator --bin crdgen -- --check crds

# Format check and clippy with warnings as errors.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Build and cache the local control plane (etcd, kube-apiserver, kube-controller-manager, CAPI), print versions.
testbed:
    cargo run -q -p e2e --bin testbed -- build

# Start the local control plane (with Cluster API) and keep it running until Ctrl-C.
testbed-up:
    cargo run -q -p e2e --bin testbed -- up --capi

# Run the SCVMM emulator.
sim *ARGS:
    cargo run -q -p scvmm-sim -- {{ARGS}}

# Build the container images as OCI archives in target/images/ with buildah (manager.oci.tar, scvmm-sim.oci.tar; `just images manager` for one).
images *IMAGES:
    deploy/images/build.sh {{IMAGES}}

# Render the clusterctl release into out/: infrastructure-components.yaml, metadata.yaml, cluster-template*.yaml, clusterclass-*.yaml (docs/install.md).
release:
    deploy/release/build.sh

# Every shipped artefact from a fresh clone in one command: the clusterctl release in out/ and both images in target/images/.
artefacts: release images
