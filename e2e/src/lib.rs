//! Test bed and end-to-end suites.
//!
//! - [`testbed`]: a real local Kubernetes control plane (etcd, kube-apiserver,
//!   kube-controller-manager, optionally the Cluster API managers) built from
//!   the Go module proxy and run as local processes. Any crate's tests use it
//!   through `e2e` as a dev-dependency.
//! - [`harness`]: the end-to-end environment (Cluster API managers, our
//!   `manager` and `scvmm-sim` binaries as processes, workload API servers)
//!   and what the suites check with.
//! - [`manifests`]: server-side apply of multi-document YAML.
//! - [`release`]: the clusterctl release artefacts, rendered and processed
//!   by the real clusterctl; [`access`]: what a ServiceAccount may do, and
//!   running as one.

pub mod access;
pub mod harness;
pub mod manifests;
pub mod release;
pub mod testbed;
