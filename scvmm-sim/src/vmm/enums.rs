//! The .NET enums VMM objects expose, with their numeric values.
//!
//! Windows PowerShell 5.1 `ConvertTo-Json` writes enums as numbers, so the
//! numbers matter. `VMComputerSystemState` values come from three independent
//! copies of the real enum (reference §3.2) and `AddressFamily` is .NET's;
//! for the others the reference has names only and the numbers are
//! inferred (marked \[INF\]); clients compare names, which are exact.

use serde::{Deserialize, Serialize};

/// A .NET enum value as VMM exposes it.
pub trait VmmEnum: Copy {
    /// Full .NET type name.
    const TYPE_NAME: &'static str;
    /// Numeric value (what ConvertTo-Json prints in Windows PowerShell 5.1).
    fn value(self) -> i64;
    /// Member name (what `"$x"` / `.ToString()` prints).
    fn name(self) -> &'static str;
}

/// Defines an enum with serde names equal to the member names, plus its
/// `VmmEnum` implementation and a case-insensitive parser.
macro_rules! vmm_enum {
    ($(#[$m:meta])* $name:ident = $type_name:literal { $($(#[$vm:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$m])*
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl VmmEnum for $name {
            const TYPE_NAME: &'static str = $type_name;
            fn value(self) -> i64 {
                match self { $(Self::$variant => $value),+ }
            }
            fn name(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant)),+ }
            }
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Parses a member name (case-insensitive, like PowerShell's
            /// enum conversion) or its number.
            pub fn parse(text: &str) -> Option<Self> {
                let text = text.trim();
                Self::ALL.iter().copied().find(|v| {
                    v.name().eq_ignore_ascii_case(text) || v.value().to_string() == text
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

vmm_enum! {
    /// `VMComputerSystemState`: the type of a VM's `Status` and
    /// `VirtualMachineState` (reference §3.2, values \[REAL\]).
    VmState = "Microsoft.VirtualManager.Utils.VMComputerSystemState" {
        /// Powered on.
        Running = 0,
        /// Off; `StatusString` shows "Stopped".
        PowerOff = 1,
        /// Stopping or shutting down.
        PoweringOff = 2,
        /// Saved state.
        Saved = 3,
        /// Going to Saved.
        Saving = 4,
        /// Saved → Running.
        Restoring = 5,
        /// Paused.
        Paused = 6,
        /// Discarding saved state.
        DiscardSavedState = 10,
        /// Going to Running.
        Starting = 11,
        /// Merging disks.
        MergingDrives = 12,
        /// Removal job running.
        Deleting = 13,
        /// Reset (one copy of the enum only).
        Reset = 14,
        /// Discarding disks.
        DiscardingDrives = 80,
        /// Going to Paused.
        Pausing = 81,
        /// Creation job running.
        UnderCreation = 100,
        /// Creation job failed; the VM object remains.
        CreationFailed = 101,
        /// Stored in a library.
        Stored = 102,
        /// Being turned into a template.
        UnderTemplateCreation = 103,
        /// Template creation failed.
        TemplateCreationFailed = 104,
        /// Guest customization failed.
        CustomizationFailed = 105,
        /// A change job is running.
        UnderUpdate = 106,
        /// A change job failed; needs Repair-SCVirtualMachine.
        UpdateFailed = 107,
        /// Replacement failed.
        ReplacementFailed = 108,
        /// Being replaced.
        UnderReplacement = 109,
        /// Migrating.
        UnderMigration = 200,
        /// Migration failed.
        MigrationFailed = 201,
        /// Creating a checkpoint.
        CreatingCheckpoint = 210,
        /// Deleting a checkpoint.
        DeletingCheckpoint = 211,
        /// Restoring a checkpoint.
        RecoveringCheckpoint = 212,
        /// A checkpoint operation failed.
        CheckpointFailed = 213,
        /// Starting a checkpoint operation.
        InitializingCheckpointOperation = 214,
        /// Finishing a checkpoint operation.
        FinishingCheckpointOperation = 215,
        /// VMM has the VM, the host does not report it.
        Missing = 220,
        /// The host agent does not respond.
        HostNotResponding = 221,
        /// Unsupported configuration.
        Unsupported = 222,
        /// Configuration references something VMM cannot resolve.
        IncompleteVMConfig = 223,
        /// Unsupported shared files.
        UnsupportedSharedFiles = 224,
        /// Unsupported cluster configuration.
        UnsupportedCluster = 225,
        /// Being live-cloned.
        UnderLiveCloning = 226,
        /// Only in the VMM database.
        DbOnly = 227,
        /// P2V failed.
        P2VCreationFailed = 240,
        /// V2V failed.
        V2VCreationFailed = 250,
    }
}

impl VmState {
    /// `StatusString`: the display text. `PowerOff` shows as "Stopped"
    /// \[REAL\]; other members show their name \[INF\].
    pub fn status_string(self) -> &'static str {
        match self {
            VmState::PowerOff => "Stopped",
            other => other.name(),
        }
    }

    /// Whether this status only exists while a job runs on the VM.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            VmState::PoweringOff
                | VmState::Saving
                | VmState::Restoring
                | VmState::DiscardSavedState
                | VmState::Starting
                | VmState::MergingDrives
                | VmState::Deleting
                | VmState::DiscardingDrives
                | VmState::Pausing
                | VmState::UnderCreation
                | VmState::UnderTemplateCreation
                | VmState::UnderUpdate
                | VmState::UnderReplacement
                | VmState::UnderMigration
                | VmState::CreatingCheckpoint
                | VmState::DeletingCheckpoint
                | VmState::RecoveringCheckpoint
                | VmState::InitializingCheckpointOperation
                | VmState::FinishingCheckpointOperation
                | VmState::UnderLiveCloning
        )
    }

    /// Whether this status is a failed state that Repair-SCVirtualMachine
    /// dismisses.
    pub fn is_failed(self) -> bool {
        matches!(
            self,
            VmState::CreationFailed
                | VmState::UpdateFailed
                | VmState::MigrationFailed
                | VmState::CustomizationFailed
                | VmState::ReplacementFailed
                | VmState::CheckpointFailed
                | VmState::TemplateCreationFailed
                | VmState::P2VCreationFailed
                | VmState::V2VCreationFailed
        )
    }
}

vmm_enum! {
    /// Job (task) status (reference §4.3; numbers \[INF\]).
    JobStatus = "Microsoft.VirtualManager.Engine.TaskStatusState" {
        /// Queued, not started.
        NotStarted = 0,
        /// Running.
        Running = 1,
        /// Finished successfully.
        Completed = 2,
        /// Finished with an error.
        Failed = 3,
        /// Canceled by Stop-SCJob.
        Canceled = 4,
        /// Success with warnings ("Completed w/Info").
        SucceedWithInfo = 5,
        /// Being canceled.
        Canceling = 6,
    }
}

impl JobStatus {
    /// Whether the job has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed
                | JobStatus::Failed
                | JobStatus::Canceled
                | JobStatus::SucceedWithInfo
        )
    }

    /// Whether the job ended successfully (`SucceedWithInfo` is success).
    pub fn is_success(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::SucceedWithInfo)
    }

    /// The same state as `MostRecentTaskUIState`.
    pub fn ui_state(self) -> TaskUiState {
        match self {
            JobStatus::NotStarted => TaskUiState::NotStarted,
            JobStatus::Running => TaskUiState::Running,
            JobStatus::Completed => TaskUiState::Completed,
            JobStatus::Failed => TaskUiState::Failed,
            JobStatus::Canceled => TaskUiState::Canceled,
            JobStatus::SucceedWithInfo => TaskUiState::SucceedWithInfo,
            JobStatus::Canceling => TaskUiState::Canceling,
        }
    }
}

vmm_enum! {
    /// `MostRecentTaskUIState` \[REAL type name; numbers INF\].
    TaskUiState = "Microsoft.VirtualManager.Remoting.TaskUIState" {
        /// Queued.
        NotStarted = 0,
        /// Running.
        Running = 1,
        /// Completed.
        Completed = 2,
        /// Failed.
        Failed = 3,
        /// Canceled.
        Canceled = 4,
        /// Completed with info.
        SucceedWithInfo = 5,
        /// Canceling.
        Canceling = 6,
    }
}

vmm_enum! {
    /// `ObjectType` of VMM objects (`VM` = 1 is \[REAL\], Morpheus checks it;
    /// the other numbers are \[INF\]).
    ObjectType = "Microsoft.VirtualManager.Utils.CarmineObjectType" {
        /// Virtual machine.
        VM = 1,
        /// Hyper-V host.
        VMHost = 2,
        /// Host group.
        VMHostGroup = 3,
        /// Host cluster.
        HostCluster = 4,
        /// VM template.
        Template = 5,
        /// Hardware profile.
        HardwareProfile = 6,
        /// Virtual hard disk.
        VirtualHardDisk = 7,
        /// ISO image.
        ISO = 8,
        /// Library share.
        LibraryShare = 9,
        /// Job.
        Job = 10,
        /// Private cloud.
        Cloud = 11,
        /// Logical network.
        LogicalNetwork = 12,
        /// VM network.
        VMNetwork = 13,
        /// VM subnet.
        VMSubnet = 14,
        /// Static IP address pool.
        StaticIPAddressPool = 15,
        /// Allocated IP address.
        AllocatedIPAddress = 16,
        /// Virtual network adapter.
        VirtualNetworkAdapter = 17,
        /// Virtual DVD drive.
        VirtualDVDDrive = 18,
        /// Virtual disk drive.
        VirtualDiskDrive = 19,
        /// Custom property definition.
        CustomProperty = 20,
        /// VM configuration.
        VMConfiguration = 21,
        /// VMM server.
        VMMManagedComputer = 22,
        /// Storage fabric classification.
        StorageFabricClassification = 23,
        /// Virtual Fibre Channel SAN of a host.
        HostFibreChannelVirtualSAN = 24,
        /// Virtual Fibre Channel adapter.
        VirtualFibreChannelAdapter = 25,
    }
}

vmm_enum! {
    /// Disk or DVD bus type \[INF numbers\].
    BusType = "Microsoft.VirtualManager.Utils.VMBusType" {
        /// IDE (Gen 1 only).
        IDE = 0,
        /// SCSI.
        SCSI = 1,
    }
}

vmm_enum! {
    /// Virtual hard disk type \[INF numbers\].
    VhdType = "Microsoft.VirtualManager.Utils.VHDType" {
        /// Unknown.
        Unknown = 0,
        /// Dynamically expanding.
        DynamicallyExpanding = 1,
        /// Fixed size.
        Fixed = 2,
        /// Differencing (has a parent).
        Differencing = 3,
    }
}

vmm_enum! {
    /// Virtual hard disk file format \[INF numbers\].
    VhdFormat = "Microsoft.VirtualManager.Utils.VHDFormatType" {
        /// .vhd (Gen 1 only).
        VHD = 0,
        /// .vhdx.
        VHDX = 1,
    }
}

vmm_enum! {
    /// Volume role of a disk \[INF numbers\].
    VolumeType = "Microsoft.VirtualManager.Utils.VolumeType" {
        /// Data disk.
        None = 0,
        /// Boot volume.
        Boot = 1,
        /// System volume.
        System = 2,
        /// Boot and system volume.
        BootAndSystem = 3,
    }
}

vmm_enum! {
    /// How a NIC gets its MAC address \[INF numbers\].
    MacAddressType = "Microsoft.VirtualManager.Utils.EthernetAddressType" {
        /// Assigned by Hyper-V when the VM first starts.
        Dynamic = 0,
        /// Assigned by VMM from its MAC pool (or given explicitly).
        Static = 1,
    }
}

vmm_enum! {
    /// How a NIC gets IP addresses \[INF numbers\].
    AddressType = "Microsoft.VirtualManager.Utils.AllocationType" {
        /// DHCP.
        Dynamic = 0,
        /// From a VMM static IP pool.
        Static = 1,
    }
}

vmm_enum! {
    /// What a DVD drive holds \[INF numbers\].
    DvdConnection = "Microsoft.VirtualManager.Utils.VirtualDVDDriveConnection" {
        /// No media.
        None = 0,
        /// An ISO image.
        ISO = 1,
        /// A host drive.
        HostDrive = 2,
    }
}

vmm_enum! {
    /// NIC kind \[INF numbers\].
    AdapterType = "Microsoft.VirtualManager.Utils.VirtualNetworkAdapterType" {
        /// Legacy emulated NIC.
        Emulated = 0,
        /// Synthetic NIC.
        Synthetic = 1,
    }
}

vmm_enum! {
    /// .NET `System.Net.Sockets.AddressFamily` (real numbers).
    AddressFamily = "System.Net.Sockets.AddressFamily" {
        /// IPv4.
        InterNetwork = 2,
        /// IPv6.
        InterNetworkV6 = 23,
    }
}

vmm_enum! {
    /// Host `OverallState` \[INF numbers\].
    HostOverallState = "Microsoft.VirtualManager.Utils.ComputerOverallState" {
        /// Healthy.
        OK = 0,
        /// Needs attention.
        NeedsAttention = 1,
        /// Host agent not responding.
        NotResponding = 2,
        /// In maintenance mode.
        MaintenanceMode = 3,
    }
}

vmm_enum! {
    /// Host `CommunicationState` \[INF numbers\].
    CommunicationState = "Microsoft.VirtualManager.Utils.CommunicationState" {
        /// Agent responds.
        Responding = 0,
        /// Agent does not respond.
        NotResponding = 1,
    }
}

vmm_enum! {
    /// Object types a custom property can apply to (`-Member`).
    MemberType = "Microsoft.SystemCenter.VirtualMachineManager.CustomPropertyMemberType" {
        /// Virtual machines.
        VM = 0,
        /// VM templates.
        Template = 1,
        /// Hosts.
        VMHost = 2,
        /// Host clusters.
        HostCluster = 3,
        /// Host groups.
        VMHostGroup = 4,
        /// Clouds.
        Cloud = 5,
    }
}

vmm_enum! {
    /// User role profile of a VMM user.
    UserRoleProfile = "Microsoft.SystemCenter.VirtualMachineManager.UserRoleProfile" {
        /// Full administrator.
        Administrator = 0,
        /// Delegated administrator.
        DelegatedAdmin = 1,
        /// Read-only administrator.
        ReadOnlyAdmin = 2,
        /// Self-service user (tenant).
        SelfServiceUser = 3,
    }
}
