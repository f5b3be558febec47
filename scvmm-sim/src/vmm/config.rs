//! Switches for behaviour the reference marks uncertain (§11), and the
//! latency model (§10). Defaults are the reference's defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::rng::Rng;

/// What `Stop-SCVirtualMachine` without `-Force`/`-Shutdown` does (§11.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StopDefault {
    /// Hard power-off, what automation assumes (default).
    #[default]
    PowerOff,
    /// Guest OS shutdown, what the doc prose says.
    GuestShutdown,
}

/// What `Get-* -ID <unknown>` does (§11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum UnknownIdLookup {
    /// Return nothing, silently (default).
    #[default]
    Silent,
    /// Return a non-terminating 801 error.
    NonTerminatingError,
}

/// What `Remove-SCVirtualMachine` does on a running VM (§11.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RemoveRunning {
    /// Fail with error 1730 (default).
    #[default]
    Fail,
    /// Power the VM off, then remove it, in one job.
    StopFirst,
}

/// Whether `Expand-SCVirtualDiskDrive` works on a running VM (§11.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OnlineExpand {
    /// Allowed for SCSI-attached VHDX disks (default; real Hyper-V).
    #[default]
    AllowScsiVhdx,
    /// Only on a powered-off VM (2016 doc text).
    RequirePowerOff,
}

/// Whether VM names must be unique (§11.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DuplicateNames {
    /// Allowed everywhere (default; matches real duplicate incidents).
    #[default]
    Allow,
    /// Rejected when a VM with the same name is on the chosen host.
    RejectOnSameHost,
}

/// How `-Name` filters match (§11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum NameMatching {
    /// PowerShell wildcard, case-insensitive (default).
    #[default]
    Wildcard,
    /// Exact, case-insensitive.
    Exact,
}

/// Behaviour switches. Every field defaults to the reference's default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// §11.1.
    pub stop_default: StopDefault,
    /// §11.2.
    pub unknown_id_lookup: UnknownIdLookup,
    /// §11.3.
    pub remove_running: RemoveRunning,
    /// §11.4.
    pub online_expand: OnlineExpand,
    /// §11.5.
    pub duplicate_names: DuplicateNames,
    /// §11.6: job names per cmdlet, overriding the built-in table
    /// (`Vmm::job_name`), e.g. `{"Start-SCVirtualMachine": "Start virtual machine"}`.
    pub job_names: BTreeMap<String, String>,
    /// §11.8.
    pub name_matching: NameMatching,
    /// §11.9: expose `IPv4Subnets` and `DefaultIPGateways` on adapters
    /// (VMM 2019+, seen only in willemm's use). Default on.
    pub modern_adapter_properties: bool,
    /// Dynamic MACs: Hyper-V assigns them when the VM first starts, so VMM
    /// shows `00:00:00:00:00:00` before that (default `false`). `true`
    /// assigns them at creation.
    pub dynamic_mac_on_create: bool,
    /// Whether the light VM refresher shows up as "Refresh virtual machine"
    /// system jobs that briefly lock the VM (can cause 2602 in clients).
    /// Default off.
    pub system_refresh_jobs: bool,
    /// Whether the host may link (`-Link`) ISOs from library shares. `false`
    /// makes `Set-SCVirtualDVDDrive -Link` fail with 12700.
    pub hosts_can_read_library: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            stop_default: StopDefault::default(),
            unknown_id_lookup: UnknownIdLookup::default(),
            remove_running: RemoveRunning::default(),
            online_expand: OnlineExpand::default(),
            duplicate_names: DuplicateNames::default(),
            job_names: BTreeMap::new(),
            name_matching: NameMatching::default(),
            modern_adapter_properties: true,
            dynamic_mac_on_create: false,
            system_refresh_jobs: false,
            hosts_can_read_library: true,
        }
    }
}

/// The operations whose job durations the latency model sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Op {
    /// New-SCVirtualMachine.
    CreateVm,
    /// Start-SCVirtualMachine.
    StartVm,
    /// Stop-SCVirtualMachine (-Force / default).
    StopVm,
    /// Stop-SCVirtualMachine -Shutdown.
    ShutdownVm,
    /// Stop -SaveState / Save-SCVirtualMachine.
    SaveVm,
    /// Suspend/Resume-SCVirtualMachine, discard saved state.
    PauseResume,
    /// Remove-SCVirtualMachine.
    RemoveVm,
    /// Set-SCVirtualMachine and device changes on a VM.
    UpdateVm,
    /// Expand-SCVirtualDiskDrive.
    ExpandDisk,
    /// Set-SCVirtualDVDDrive (copy or link).
    SetDvd,
    /// Read-SCVirtualMachine.
    ReadVm,
    /// Repair-SCVirtualMachine.
    RepairVm,
    /// Read-SCLibraryShare.
    ReadLibrary,
    /// Remove-SCISO.
    RemoveIso,
    /// Set-SCCustomPropertyValue.
    SetCustomProperty,
    /// System "Refresh virtual machine" job.
    SystemRefresh,
}

/// Job durations in seconds before scaling (§10; the brief's defaults for
/// create/start/stop/remove), a scale factor, and jitter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latencies {
    /// Multiplies every duration (0.01 for fast tests, 0 for instant jobs).
    pub factor: f64,
    /// Relative jitter: a duration d becomes d·(1 ± jitter·u), u uniform.
    pub jitter: f64,
    /// Seconds per operation.
    pub seconds: BTreeMap<Op, f64>,
    /// Seconds after a guest reports addresses until the light refresher
    /// shows them without Read-SCVirtualMachine (VMM: 120 s).
    pub light_refresh_interval: f64,
}

impl Default for Latencies {
    fn default() -> Self {
        let seconds = [
            (Op::CreateVm, 30.0),
            (Op::StartVm, 10.0),
            (Op::StopVm, 10.0),
            (Op::ShutdownVm, 20.0),
            (Op::SaveVm, 15.0),
            (Op::PauseResume, 3.0),
            (Op::RemoveVm, 10.0),
            (Op::UpdateVm, 5.0),
            (Op::ExpandDisk, 10.0),
            (Op::SetDvd, 5.0),
            (Op::ReadVm, 3.0),
            (Op::RepairVm, 5.0),
            (Op::ReadLibrary, 5.0),
            (Op::RemoveIso, 2.0),
            (Op::SetCustomProperty, 2.0),
            (Op::SystemRefresh, 2.0),
        ]
        .into_iter()
        .collect();
        Self {
            factor: 1.0,
            jitter: 0.0,
            seconds,
            light_refresh_interval: 120.0,
        }
    }
}

impl Latencies {
    /// Every duration zero: jobs end as soon as the model settles.
    pub fn instant() -> Self {
        Self {
            factor: 0.0,
            ..Self::default()
        }
    }

    /// The scaled, jittered duration of `op`.
    pub fn duration(&self, op: Op, rng: &mut Rng) -> Duration {
        let base = self.seconds.get(&op).copied().unwrap_or(5.0);
        let jitter = if self.jitter > 0.0 {
            1.0 + self.jitter * (2.0 * rng.next_f64() - 1.0)
        } else {
            1.0
        };
        secs(base * self.factor * jitter)
    }

    /// The scaled light-refresher delay.
    pub fn light_refresh(&self) -> Duration {
        secs(self.light_refresh_interval * self.factor)
    }
}

/// A non-negative, finite number of seconds as a `Duration`.
pub fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s.min(1.0e9))
    } else {
        Duration::ZERO
    }
}
