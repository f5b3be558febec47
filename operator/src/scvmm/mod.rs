//! Typed SCVMM operations for the machine controller (DESIGN §3.2–3.4).
//!
//! Every operation is one self-contained PowerShell script
//! (`scripts/*.ps1`) run over WinRM on the VMM server (or a host with the
//! VMM console):
//!
//! - parameters travel as one base64 JSON document, never as script text,
//!   so no user string can change what runs ([`script`]);
//! - the script prints one JSON document, a result or a VMM error with its
//!   error ID, which becomes [`ScvmmError::Vmm`];
//! - long VMM work runs `-RunAsynchronously`; callers follow the VM's
//!   status and its most recent job.
//!
//! `create_vm` is idempotent: the machine's instance UUID (the marker) is
//! looked up first and an existing VM is adopted. Otherwise one script
//! writes the seed ISO into the library folder, indexes it, stages disks,
//! adapters, the seed in the DVD drive and the marker (custom property
//! `CapiScvmmInstanceId`, mirrored as the last description line
//! `capi-scvmm-instance-id=<uuid>`) in one job group and submits
//! `New-SCVirtualMachine`. Seeds too large for one WinRM message are
//! uploaded in chunks by preceding runs.
//!
//! - [`client`]: [`ScvmmClient`], the operations over a pool of WinRM
//!   connections.
//! - [`script`]: parameter encoding, script rendering, output decoding.
//! - [`types`]: requests and results.
//! - [`error`]: the error type, [`ScvmmError`].

pub mod client;
pub mod error;
pub mod script;
pub mod types;

pub use client::{MAX_SCRIPT_PAYLOAD_BYTES, ScvmmClient};
pub use error::ScvmmError;
pub use types::{
    AdapterInfo, CLUSTER_PROPERTY, ClusterInfo, CreateVm, DiskFollowUp, DiskRequest, DomainCheck,
    DomainQuery, DynamicMemoryMb, EndpointConfig, FibreChannelRequest, HardwareOptions, IpGrant,
    JobInfo, MARKER_DESCRIPTION_PREFIX, MARKER_PROPERTY, MarkedVm, NicRequest, Placement,
    ServerInfo, StopMode, VmInfo, VmSource, VmmErrorInfo,
};
