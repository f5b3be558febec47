//! Jobs (VMM "tasks"): what ran, on what, how it ended, and what it does
//! to the model when it completes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::vmm::clock::Time;
use crate::vmm::enums::{JobStatus, VmState};
use crate::vmm::errors::VmmError;
use crate::vmm::value::ObjectRef;

/// What a job does to the model when it completes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum JobEffect {
    /// Create virtual machine: the VM becomes PowerOff (or Running).
    CreateVm {
        /// The VM.
        vm: Uuid,
        /// `-StartVM`.
        start: bool,
    },
    /// A power operation: the VM ends in `to`.
    Power {
        /// The VM.
        vm: Uuid,
        /// Final state (status and power).
        to: VmState,
        /// State to go back to if the job fails.
        from: VmState,
    },
    /// Remove virtual machine.
    RemoveVm {
        /// The VM.
        vm: Uuid,
    },
    /// A change to an existing VM. The change itself is applied when the
    /// job is submitted (so what the object shows is what the job is doing);
    /// the job ends the `UnderUpdate` period, or leaves `UpdateFailed`.
    UpdateVm {
        /// The VM.
        vm: Uuid,
        /// Status to return to when the job ends.
        restore: VmState,
    },
    /// Refresh virtual machine (Read-SCVirtualMachine or the system refresher).
    RefreshVm {
        /// The VM.
        vm: Uuid,
    },
    /// Repair-SCVirtualMachine -Dismiss.
    RepairVm {
        /// The VM.
        vm: Uuid,
    },
    /// Refresh library share.
    RefreshLibrary {
        /// Share id.
        share: Uuid,
        /// Sub-path to index (full UNC), `None` for the whole share.
        path: Option<String>,
    },
    /// Remove-SCISO: delete the object and its file.
    RemoveIso {
        /// ISO id.
        iso: Uuid,
    },
    /// Set-SCCustomPropertyValue.
    SetCustomProperty {
        /// The object.
        target: ObjectRef,
        /// Property name.
        property: String,
        /// Value (`None` removes it).
        value: Option<String>,
    },
}

/// Faults attached to a job by fault rules, applied when it completes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFault {
    /// Fail the job with this error.
    pub fail: Option<VmmError>,
    /// The VM disappears instead (out-of-band deletion on the host).
    pub vanish: bool,
    /// The VM ends up `Missing`.
    pub missing: bool,
}

/// A VMM job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// VMM id.
    pub id: Uuid,
    /// `Name`, e.g. "Create virtual machine".
    pub name: String,
    /// `CmdletName`, e.g. "New-SCVirtualMachine" or "(Refresh VM - System Job)".
    pub cmdlet_name: String,
    /// `Description`.
    pub description: String,
    /// `Status`.
    pub status: JobStatus,
    /// `ProgressValue` (0–100).
    pub progress: u8,
    /// Error of a failed or canceled job.
    pub error: Option<VmmError>,
    /// Warning of a `SucceedWithInfo` job.
    pub info: Option<VmmError>,
    /// `StartTime`.
    pub start_time: Time,
    /// `EndTime`.
    pub end_time: Option<Time>,
    /// When the job will complete.
    pub due: Time,
    /// `TargetObjectID`/`TargetObjectType`.
    pub target: Option<ObjectRef>,
    /// `ResultObjectID`/`ResultObjectType`.
    pub result: Option<ObjectRef>,
    /// `ResultName`.
    pub result_name: String,
    /// Objects locked while the job runs.
    pub locks: Vec<Uuid>,
    /// What the job does when it completes.
    pub effect: JobEffect,
    /// Injected faults.
    pub fault: JobFault,
    /// `Owner`.
    pub owner: String,
    /// Whether VMM itself started the job (system job).
    pub system: bool,
    /// Submission order (ties between jobs due at the same time).
    pub seq: u64,
}

impl Job {
    /// Whether the job is still running.
    pub fn is_running(&self) -> bool {
        !self.status.is_terminal()
    }

    /// `Progress` text, e.g. "100 %".
    pub fn progress_text(&self) -> String {
        format!("{} %", self.progress)
    }
}
