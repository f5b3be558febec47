//! The one error type of the VMM model, shaped like VMM's `CarmineException`,
//! and the catalogue of error ids the model raises.
//!
//! A VMM error message is `<Problem> (Error ID: <n>[, Detailed Error: <d>])`,
//! then a blank line and the recommended action, and for job failures a
//! "To restart the job" paragraph naming the job GUID (reference §5.1).
//! Where the reference gives an id and text we use them verbatim; where it
//! does not (placement, IP pools, device slots), the id is one the emulator
//! chose, in the 9100 range so that nobody mistakes it for a real VMM id;
//! `Provenance` records which is which.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Error ids the model raises. Each constant's doc says where it comes from.
pub mod id {
    /// \[REAL\] Hardware change on a VM that is not PowerOff/Stored.
    pub const HARDWARE_CHANGE_NEEDS_POWEROFF: u32 = 640;
    /// \[DOC\] Object not found (`LibObjectNotFound`).
    pub const NOT_FOUND: u32 = 801;
    /// \[DOC\] Object already in use by another object.
    pub const IN_USE: u32 = 802;
    /// \[DOC\] Cannot connect to the VMM management server.
    pub const CANNOT_CONNECT: u32 = 1602;
    /// \[INF: seen only in a mock\] The user has no VMM user role.
    pub const ACCESS_DENIED: u32 = 1604;
    /// \[DOC\] Action not valid in the VM's current state.
    pub const INVALID_STATE: u32 = 1730;
    /// \[DOC\] Object locked by another job.
    pub const LOCKED: u32 = 2602;
    /// \[DOC\] Internal error contacting a host (WinRM).
    pub const HOST_UNREACHABLE: u32 = 2912;
    /// \[DOC\] A cmdlet parameter could not be processed.
    pub const INVALID_PARAMETER: u32 = 12416;
    /// \[DOC\] Host cannot read a linked ISO on the library share.
    pub const LINKED_ISO_ACCESS: u32 = 12700;
    /// \[DOC\] Critical exception, report written.
    pub const CRITICAL_EXCEPTION: u32 = 20413;
    /// \[DOC\] Light refresher could not refresh a locked VM (system jobs).
    pub const REFRESH_LOCKED: u32 = 23234;
    /// Emulator-chosen: an inventory or state file is invalid.
    pub const CONFIGURATION: u32 = 9100;
    /// Emulator-chosen: no host in the host group or cloud can take the VM.
    pub const NO_SUITABLE_HOST: u32 = 9101;
    /// Emulator-chosen: the cloud's capacity limits would be exceeded.
    pub const CLOUD_CAPACITY: u32 = 9102;
    /// Emulator-chosen: a static IP address pool has no free address.
    pub const IP_POOL_EXHAUSTED: u32 = 9103;
    /// Emulator-chosen: the requested IP address is already allocated.
    pub const IP_ALREADY_ALLOCATED: u32 = 9104;
    /// Emulator-chosen: the requested IP address is outside the pool's range.
    pub const IP_OUT_OF_RANGE: u32 = 9105;
    /// Emulator-chosen: the static MAC address pool is exhausted.
    pub const MAC_POOL_EXHAUSTED: u32 = 9106;
    /// Emulator-chosen: a bus/LUN (or NIC slot) is already occupied.
    pub const SLOT_IN_USE: u32 = 9107;
    /// Emulator-chosen: a disk cannot shrink.
    pub const DISK_SHRINK: u32 = 9108;
    /// Emulator-chosen: a differencing disk (or one with checkpoints) cannot grow.
    pub const DIFFERENCING_DISK: u32 = 9109;
    /// Emulator-chosen: VHD format does not fit the VM generation (message
    /// mentions "generation 2", which Morpheus string-matches).
    pub const GENERATION_MISMATCH: u32 = 9110;
    /// Emulator-chosen: the chosen host is in maintenance mode.
    pub const HOST_IN_MAINTENANCE: u32 = 9111;
    /// Emulator-chosen: a VM with the same name already exists on the host
    /// (only with `Behaviour::duplicate_names = RejectOnSameHost`).
    pub const DUPLICATE_NAME_ON_HOST: u32 = 9112;
    /// Emulator-chosen: the guest did not shut down in time.
    pub const GUEST_SHUTDOWN_TIMEOUT: u32 = 9113;
    /// Emulator-chosen: the custom property does not apply to this object type.
    pub const CUSTOM_PROPERTY_MEMBER: u32 = 9114;
    /// Emulator-chosen: the job was canceled (`Stop-SCJob`).
    pub const JOB_CANCELED: u32 = 9115;
}

/// Where an error id and text come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Provenance {
    /// Microsoft documentation or captured from a real server.
    Reference,
    /// Chosen by the emulator; real VMM's id is unknown.
    Emulator,
}

/// PowerShell `ErrorCategory` the error is reported under. VMM reports its
/// own errors as `ReadError` (reference §5.1); the others are for errors a
/// parameter binder would raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCategory {
    /// VMM's `CarmineException` category.
    ReadError,
    /// A parameter value was invalid or ambiguous.
    InvalidArgument,
    /// A referenced object does not exist.
    ObjectNotFound,
    /// The server could not be reached.
    ConnectionError,
}

/// A VMM error: what a cmdlet throws, and what a failed job carries in
/// `ErrorInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct VmmError {
    /// VMM error id (`DisplayableErrorCode`).
    pub id: u32,
    /// `<Problem> (Error ID: n[, Detailed Error: d])`: what
    /// `$_.Exception.Message` starts with.
    pub message: String,
    /// The problem text alone (`ErrorInfo.Problem`).
    pub problem: String,
    /// The recommended action (`ErrorInfo.RecommendedAction`).
    pub recommended_action: String,
    /// PowerShell error category.
    pub category: ErrorCategory,
    /// `ErrorInfo.Code`: VMM's symbolic name of the error (inferred where
    /// the reference has none).
    pub code: String,
    /// The failed job, for the "To restart the job" paragraph.
    pub job_id: Option<Uuid>,
    /// Whether PowerShell treats the error as terminating. Only a few
    /// lookups are non-terminating (see `Behaviour::unknown_id_lookup`).
    pub terminating: bool,
}

impl VmmError {
    /// An error with the given parts; `detail` `None` leaves out the
    /// ", Detailed Error: ..." part (as connection errors do).
    pub fn new(
        id: u32,
        code: &str,
        problem: impl Into<String>,
        detail: Option<&str>,
        recommended_action: impl Into<String>,
    ) -> Self {
        let problem = problem.into();
        let message = match detail {
            Some(d) => format!("{problem} (Error ID: {id}, Detailed Error: {d})"),
            None => format!("{problem} (Error ID: {id})"),
        };
        Self {
            id,
            message,
            problem,
            recommended_action: recommended_action.into(),
            category: ErrorCategory::ReadError,
            code: code.to_string(),
            job_id: None,
            terminating: true,
        }
    }

    /// The same error with another category.
    pub fn with_category(mut self, category: ErrorCategory) -> Self {
        self.category = category;
        self
    }

    /// The same error attributed to a job (adds the restart hint).
    pub fn for_job(mut self, job: Uuid) -> Self {
        self.job_id = Some(job);
        self
    }

    /// The same error as a non-terminating one.
    pub fn non_terminating(mut self) -> Self {
        self.terminating = false;
        self
    }

    /// The full text PowerShell shows: message, recommended action, and for
    /// job failures how to restart the job (reference §5.1).
    pub fn full_text(&self) -> String {
        let mut text = self.message.clone();
        if !self.recommended_action.is_empty() {
            text.push_str("\n\n");
            text.push_str(&self.recommended_action);
        }
        if let Some(job) = self.job_id {
            text.push_str(&format!(
                "\n\nTo restart the job, run the following command:\nPS> Restart-Job -Job (Get-VMMServer localhost | Get-Job | where {{ $_.ID -eq \"{{{job}}}\"}})"
            ));
        }
        text
    }

    /// `FullyQualifiedErrorId` for a cmdlet class, e.g.
    /// `640,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.NewNICCmdlet`.
    pub fn fully_qualified_error_id(&self, cmdlet_class: &str) -> String {
        format!(
            "{},Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.{cmdlet_class}",
            self.id
        )
    }

    /// Where this error's id and text come from.
    pub fn provenance(&self) -> Provenance {
        if (9100..9200).contains(&self.id) {
            Provenance::Emulator
        } else {
            Provenance::Reference
        }
    }

    // ---- the catalogue -------------------------------------------------

    /// 640: hardware change on a VM that is not powered off.
    pub fn hardware_change_needs_poweroff() -> Self {
        Self::new(
            id::HARDWARE_CHANGE_NEEDS_POWEROFF,
            "VMNotInStoppedState",
            "The virtual machine must be in either the Poweroff or Stored state before SCVMM can perform the specified hardware changes.",
            Some(""),
            "Turn off the virtual machine or store it to the library, and then try the operation again.",
        )
    }

    /// 801: an object (`object_type` named `name`) does not exist.
    pub fn not_found(object_type: &str, name: &str) -> Self {
        Self::new(
            id::NOT_FOUND,
            "LibObjectNotFound",
            format!("VMM cannot find the {object_type} object {name}."),
            Some(""),
            "Ensure the library object is valid, and then try the operation again.",
        )
        .with_category(ErrorCategory::ObjectNotFound)
    }

    /// 802: `object_type` `name` is in use by `user_type`.
    pub fn in_use(object_type: &str, name: &str, user_type: &str) -> Self {
        Self::new(
            id::IN_USE,
            "ObjectInUse",
            format!("The '{object_type}' '{name}' is already in use by another '{user_type}'."),
            Some(""),
            "Wait for the object to become available, and then try the operation again.",
        )
    }

    /// 1602: the VMM server did not respond.
    pub fn cannot_connect(server: &str) -> Self {
        Self::new(
            id::CANNOT_CONNECT,
            "CannotConnectToServer",
            format!(
                "Unable to connect to the VMM management server {server}. The Virtual Machine Manager service on that server did not respond."
            ),
            None,
            "Ensure that the Virtual Machine Manager service is running on the VMM management server, and then try the operation again.",
        )
        .with_category(ErrorCategory::ConnectionError)
    }

    /// 1604: the connecting user has no VMM user role.
    pub fn access_denied(user: &str, server: &str) -> Self {
        Self::new(
            id::ACCESS_DENIED,
            "AccessDenied",
            format!(
                "You do not have access to the VMM management server {server}. User {user} is not a member of any VMM user role."
            ),
            None,
            "Contact the VMM administrator to be added to a user role, and then try the operation again.",
        )
    }

    /// 1730: the VM is not in a state in which the action is valid.
    pub fn invalid_state(vm_state: &str) -> Self {
        Self::new(
            id::INVALID_STATE,
            "VMInvalidState",
            "The selected action could not be completed because the virtual machine is not in a state in which the action is valid.",
            Some(vm_state),
            "Make sure that the virtual machine is in a valid state to perform the selected action, and then try the operation again.",
        )
    }

    /// 2602: one or more objects are locked by another job.
    pub fn locked() -> Self {
        Self::new(
            id::LOCKED,
            "ObjectLocked",
            "Unable to perform the job because one or more of the selected objects are locked by another job.",
            Some(""),
            "To find out which job is locking the object, in the Jobs view, group by Status, and then find the running or canceling job for the object. When the job is complete, try again.",
        )
    }

    /// 2912: internal error contacting a host.
    pub fn host_unreachable(host: &str) -> Self {
        Self::new(
            id::HOST_UNREACHABLE,
            "HostAgentUnreachable",
            format!(
                "An internal error has occurred trying to contact the {host} server: : WinRM: URL: [http://{host}:5985], Verb: [INVOKE], Method: [GetVersion]."
            ),
            Some(""),
            "Check that WS-Management service is installed and running on server, and then try the operation again.",
        )
    }

    /// 12416: a parameter could not be processed (also what the model uses
    /// when a name given for an object parameter is ambiguous).
    pub fn invalid_parameter(cmdlet: &str, detail: &str) -> Self {
        Self::new(
            id::INVALID_PARAMETER,
            "InvalidParameter",
            format!(
                "VMM is unable to process one of the provided parameters for the cmdlet ({cmdlet}): {detail}"
            ),
            Some(""),
            "Check the parameters and then try the operation again.",
        )
        .with_category(ErrorCategory::InvalidArgument)
    }

    /// 12700: the host cannot read a linked ISO from the library share.
    pub fn linked_iso_access(host: &str, vm: &str, share: &str) -> Self {
        Self::new(
            id::LINKED_ISO_ACCESS,
            "HostOperationFailed",
            format!(
                "VMM cannot complete the host operation on the {host} server because of the error: '{vm}' failed to add device 'Microsoft Virtual CD/DVD Disk'. The host computer account does not have read access to file share {share}. (0x80070005)"
            ),
            Some(""),
            "Grant the host computer account read access to the library share, or configure constrained delegation, and then try the operation again.",
        )
    }

    /// 20413: VMM crashed internally (used by fault rules).
    pub fn critical_exception() -> Self {
        Self::new(
            id::CRITICAL_EXCEPTION,
            "CriticalException",
            "VMM encountered a critical exception and created an exception report at C:\\ProgramData\\VMMLogs\\SCVMM.",
            Some(""),
            "Contact Microsoft Support with the exception report.",
        )
    }

    /// 9101: no suitable host.
    pub fn no_suitable_host(vm: &str, why: &str) -> Self {
        Self::new(
            id::NO_SUITABLE_HOST,
            "NoSuitableHost",
            format!("Unable to find a suitable host to place virtual machine {vm}."),
            Some(why),
            "Free capacity on a host in the target host group or cloud, or choose another target, and then try the operation again.",
        )
    }

    /// 9102: cloud capacity exceeded.
    pub fn cloud_capacity(cloud: &str, what: &str) -> Self {
        Self::new(
            id::CLOUD_CAPACITY,
            "CloudCapacityExceeded",
            format!("The operation would exceed the {what} capacity of cloud {cloud}."),
            Some(""),
            "Increase the cloud capacity or remove virtual machines from the cloud, and then try the operation again.",
        )
    }

    /// 9103: pool exhausted.
    pub fn ip_pool_exhausted(pool: &str) -> Self {
        Self::new(
            id::IP_POOL_EXHAUSTED,
            "IPPoolExhausted",
            format!("There are no available IP addresses in static IP address pool {pool}."),
            Some(""),
            "Revoke unused addresses or extend the range of the pool, and then try the operation again.",
        )
    }

    /// 9104: address already allocated.
    pub fn ip_already_allocated(address: &str, pool: &str) -> Self {
        Self::new(
            id::IP_ALREADY_ALLOCATED,
            "IPAddressAlreadyAllocated",
            format!("IP address {address} in static IP address pool {pool} is already allocated."),
            Some(""),
            "Specify an unallocated IP address, or omit the address to let VMM choose one.",
        )
    }

    /// 9105: address outside the pool's range.
    pub fn ip_out_of_range(address: &str, pool: &str) -> Self {
        Self::new(
            id::IP_OUT_OF_RANGE,
            "IPAddressOutOfRange",
            format!(
                "IP address {address} is not in the address range of static IP address pool {pool}."
            ),
            Some(""),
            "Specify an IP address within the range of the pool.",
        )
    }

    /// 9106: no free MAC address.
    pub fn mac_pool_exhausted() -> Self {
        Self::new(
            id::MAC_POOL_EXHAUSTED,
            "MACPoolExhausted",
            "There are no available MAC addresses in the static MAC address pool.",
            Some(""),
            "Extend the MAC address pool or remove unused virtual network adapters, and then try the operation again.",
        )
    }

    /// 9107: a device slot is taken.
    pub fn slot_in_use(what: &str) -> Self {
        Self::new(
            id::SLOT_IN_USE,
            "DeviceSlotInUse",
            format!("The specified location {what} is already in use by another device."),
            Some(""),
            "Specify a free bus and LUN (or slot), and then try the operation again.",
        )
    }

    /// 9108: disk shrink.
    pub fn disk_shrink(current_gb: u64, requested_gb: u64) -> Self {
        Self::new(
            id::DISK_SHRINK,
            "VHDShrinkNotSupported",
            format!(
                "The new size {requested_gb} GB of the virtual hard disk must be larger than its current maximum size {current_gb} GB."
            ),
            Some(""),
            "Specify a larger size, and then try the operation again.",
        )
    }

    /// 9109: cannot expand a differencing disk.
    pub fn differencing_disk(name: &str) -> Self {
        Self::new(
            id::DIFFERENCING_DISK,
            "CannotExpandDifferencingDisk",
            format!(
                "Cannot Resize a Differencing Disk or a Disk with Checkpoints: virtual hard disk {name}."
            ),
            Some(""),
            "Merge the differencing disk or remove the checkpoints, and then try the operation again.",
        )
    }

    /// 9110: disk format does not fit the VM generation.
    pub fn generation_mismatch(vhd: &str, generation: u8) -> Self {
        Self::new(
            id::GENERATION_MISMATCH,
            "GenerationMismatch",
            format!(
                "The virtual hard disk {vhd} cannot be used by the virtual machine, which includes generation {generation} hardware."
            ),
            Some(""),
            "Use a VHDX disk for generation 2 virtual machines, and then try the operation again.",
        )
    }

    /// 9111: the host is in maintenance mode.
    pub fn host_in_maintenance(host: &str) -> Self {
        Self::new(
            id::HOST_IN_MAINTENANCE,
            "HostInMaintenanceMode",
            format!("The host {host} is in maintenance mode and cannot be used for placement."),
            Some(""),
            "Take the host out of maintenance mode or choose another host, and then try the operation again.",
        )
    }

    /// 9112: same-named VM on the chosen host.
    pub fn duplicate_name_on_host(vm: &str, host: &str) -> Self {
        Self::new(
            id::DUPLICATE_NAME_ON_HOST,
            "DuplicateVMNameOnHost",
            format!("A virtual machine named {vm} is already deployed on host {host}."),
            Some(""),
            "Choose another name or another host, and then try the operation again.",
        )
    }

    /// 9113: guest shutdown timed out.
    pub fn guest_shutdown_timeout(vm: &str) -> Self {
        Self::new(
            id::GUEST_SHUTDOWN_TIMEOUT,
            "GuestShutdownTimeout",
            format!(
                "The guest operating system of virtual machine {vm} did not shut down in time."
            ),
            Some(""),
            "Ensure that the integration services are running in the guest, or stop the virtual machine with -Force.",
        )
    }

    /// 9114: custom property not applicable to this object type.
    pub fn custom_property_member(property: &str, object_type: &str) -> Self {
        Self::new(
            id::CUSTOM_PROPERTY_MEMBER,
            "CustomPropertyNotApplicable",
            format!(
                "The custom property {property} cannot be applied to objects of type {object_type}."
            ),
            Some(""),
            "Add the object type to the custom property's members, and then try the operation again.",
        )
    }

    /// 9115: job canceled by the user.
    pub fn job_canceled() -> Self {
        Self::new(
            id::JOB_CANCELED,
            "JobCanceled",
            "The job was canceled by the user.",
            Some(""),
            "Restart the job when ready.",
        )
    }

    /// 9100: an inventory or state file is invalid.
    pub fn configuration(detail: &str) -> Self {
        Self::new(
            id::CONFIGURATION,
            "InvalidEmulatorConfiguration",
            "The emulator's inventory or state is invalid.",
            Some(detail),
            "Fix the inventory or state file, and then start the emulator again.",
        )
        .with_category(ErrorCategory::InvalidArgument)
    }

    /// An error by id, for fault rules: the catalogue text when the id is
    /// known, a generic text otherwise.
    pub fn from_id(error_id: u32) -> Self {
        match error_id {
            id::HARDWARE_CHANGE_NEEDS_POWEROFF => Self::hardware_change_needs_poweroff(),
            id::NOT_FOUND => Self::not_found("requested", "(injected fault)"),
            id::IN_USE => Self::in_use("object", "(injected fault)", "job"),
            id::CANNOT_CONNECT => Self::cannot_connect("localhost"),
            id::INVALID_STATE => Self::invalid_state(""),
            id::LOCKED => Self::locked(),
            id::HOST_UNREACHABLE => Self::host_unreachable("host"),
            id::INVALID_PARAMETER => Self::invalid_parameter("cmdlet", "(injected fault)"),
            id::CRITICAL_EXCEPTION => Self::critical_exception(),
            id::NO_SUITABLE_HOST => Self::no_suitable_host("(injected fault)", ""),
            id::IP_POOL_EXHAUSTED => Self::ip_pool_exhausted("(injected fault)"),
            id::GUEST_SHUTDOWN_TIMEOUT => Self::guest_shutdown_timeout("(injected fault)"),
            other => Self::new(
                other,
                "InjectedFault",
                "The operation failed (injected fault).",
                Some(""),
                "Try the operation again.",
            ),
        }
    }
}

/// Result type of the VMM model.
pub type VmmResult<T> = Result<T, VmmError>;
