//! What a VMM `Status` means for the machine lifecycle. VMM has ~50 status
//! values (reference §3.2); the controller needs to know only which of a
//! handful of situations it is in.

/// The lifecycle-relevant class of a VM's VMM status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmPhase {
    /// A job is working on the VM (creating, starting, stopping, migrating,
    /// updating, removing, checkpointing); wait for it.
    Busy,
    /// The create job failed; the VM object is left in `CreationFailed`.
    CreationFailed,
    /// A change job failed (`UpdateFailed`, `MigrationFailed`, ...);
    /// `Repair-SCVirtualMachine -Dismiss` clears it.
    Failed,
    /// Powered off.
    Off,
    /// Running.
    Running,
    /// Paused or saved: not running, not off.
    Suspended,
    /// VMM cannot reach the VM or its host (`Missing`, `HostNotResponding`,
    /// `DbOnly`, unsupported configurations): nothing we do helps.
    Unreachable,
}

impl VmPhase {
    /// Classifies a VMM status name (`VMComputerSystemState`); names VMM
    /// may add later count as unreachable, which makes us wait and report
    /// rather than act.
    pub fn from_status(status: &str) -> Self {
        match status {
            "Running" => VmPhase::Running,
            "PowerOff" | "Stopped" => VmPhase::Off,
            "Paused" | "Saved" => VmPhase::Suspended,
            "CreationFailed" | "P2VCreationFailed" | "V2VCreationFailed" => VmPhase::CreationFailed,
            "UpdateFailed"
            | "MigrationFailed"
            | "CustomizationFailed"
            | "CheckpointFailed"
            | "ReplacementFailed"
            | "TemplateCreationFailed" => VmPhase::Failed,
            "PoweringOff"
            | "Saving"
            | "Restoring"
            | "DiscardSavedState"
            | "Starting"
            | "MergingDrives"
            | "Deleting"
            | "Reset"
            | "DiscardingDrives"
            | "Pausing"
            | "UnderCreation"
            | "UnderTemplateCreation"
            | "UnderUpdate"
            | "UnderReplacement"
            | "UnderMigration"
            | "CreatingCheckpoint"
            | "DeletingCheckpoint"
            | "RecoveringCheckpoint"
            | "InitializingCheckpointOperation"
            | "FinishingCheckpointOperation"
            | "UnderLiveCloning" => VmPhase::Busy,
            _ => VmPhase::Unreachable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_the_lifecycle_depends_on_are_classified() {
        assert_eq!(VmPhase::from_status("UnderCreation"), VmPhase::Busy);
        assert_eq!(VmPhase::from_status("PowerOff"), VmPhase::Off);
        assert_eq!(VmPhase::from_status("Running"), VmPhase::Running);
        assert_eq!(
            VmPhase::from_status("CreationFailed"),
            VmPhase::CreationFailed
        );
        assert_eq!(VmPhase::from_status("UpdateFailed"), VmPhase::Failed);
        assert_eq!(VmPhase::from_status("Missing"), VmPhase::Unreachable);
        assert_eq!(VmPhase::from_status("SomethingNew"), VmPhase::Unreachable);
    }
}
