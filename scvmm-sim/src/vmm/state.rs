//! Runtime state (VMs, jobs, IP allocations, ISOs, stored files, VM
//! configurations, JobGroup stages) and the snapshot that saves it together
//! with the inventory as YAML or JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::errors::{VmmError, VmmResult};
use super::inventory::Inventory;
use super::objects::{AllocatedIpAddress, Iso, Job, StoredFile, Vm, VmConfiguration};
use super::specs::StagedItem;

/// How many removed VMs are kept so that objects returned by
/// Remove-SCVirtualMachine still resolve (with `MarkedForDeletion`).
pub const REMOVED_VM_MEMORY: usize = 256;

/// How many finished jobs are kept for Get-SCJob.
pub const FINISHED_JOB_MEMORY: usize = 10_000;

/// Everything that changes while the emulator runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// VMs in creation order (Get-SCVirtualMachine order).
    pub vms: Vec<Vm>,
    /// Recently removed VMs.
    pub removed_vms: Vec<Vm>,
    /// Jobs in submission order.
    pub jobs: Vec<Job>,
    /// Granted IP addresses.
    pub allocations: Vec<AllocatedIpAddress>,
    /// ISO objects (library and host copies).
    pub isos: Vec<Iso>,
    /// Files on library shares and hosts.
    pub files: Vec<StoredFile>,
    /// VM configurations.
    pub configurations: Vec<VmConfiguration>,
    /// Changes staged per JobGroup id.
    pub staged: BTreeMap<Uuid, Vec<StagedItem>>,
    /// Next free offset into the static MAC pool.
    pub next_mac: u64,
    /// Job submission counter.
    pub job_seq: u64,
}

impl State {
    /// VM by id.
    pub fn vm(&self, id: Uuid) -> Option<&Vm> {
        self.vms.iter().find(|v| v.id == id)
    }

    /// VM by id, mutable.
    pub fn vm_mut(&mut self, id: Uuid) -> Option<&mut Vm> {
        self.vms.iter_mut().find(|v| v.id == id)
    }

    /// Job by id.
    pub fn job(&self, id: Uuid) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id == id)
    }

    /// Job by id, mutable.
    pub fn job_mut(&mut self, id: Uuid) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|j| j.id == id)
    }

    /// The running job holding a lock on `object`, if any.
    pub fn lock_holder(&self, object: Uuid) -> Option<&Job> {
        self.jobs
            .iter()
            .find(|j| j.is_running() && j.locks.contains(&object))
    }

    /// ISO by id.
    pub fn iso(&self, id: Uuid) -> Option<&Iso> {
        self.isos.iter().find(|i| i.id == id)
    }

    /// Stored file by path (case-insensitive, slashes normalised).
    pub fn file(&self, path: &str) -> Option<&StoredFile> {
        let key = super::objects::library::normalise_path(path).to_lowercase();
        self.files
            .iter()
            .find(|f| super::objects::library::normalise_path(&f.path).to_lowercase() == key)
    }

    /// Forgets the oldest finished jobs and removed VMs beyond the limits.
    pub fn prune(&mut self) {
        let finished = self.jobs.iter().filter(|j| !j.is_running()).count();
        if finished > FINISHED_JOB_MEMORY {
            let mut drop = finished - FINISHED_JOB_MEMORY;
            self.jobs.retain(|j| {
                if drop > 0 && !j.is_running() {
                    drop -= 1;
                    false
                } else {
                    true
                }
            });
        }
        if self.removed_vms.len() > REMOVED_VM_MEMORY {
            let excess = self.removed_vms.len() - REMOVED_VM_MEMORY;
            self.removed_vms.drain(..excess);
        }
    }
}

/// Inventory and state together: what the emulator saves and loads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The inventory.
    pub inventory: Inventory,
    /// The runtime state.
    #[serde(default)]
    pub state: State,
}

impl Snapshot {
    /// YAML text of the snapshot.
    pub fn to_yaml(&self) -> VmmResult<String> {
        serde_saphyr::to_string(self)
            .map_err(|e| VmmError::configuration(&format!("state YAML: {e}")))
    }

    /// JSON text of the snapshot.
    pub fn to_json(&self) -> VmmResult<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| VmmError::configuration(&format!("state JSON: {e}")))
    }

    /// Parses a YAML snapshot and checks its inventory.
    pub fn from_yaml(text: &str) -> VmmResult<Snapshot> {
        let mut snap: Snapshot = serde_saphyr::from_str(text)
            .map_err(|e| VmmError::configuration(&format!("state YAML: {e}")))?;
        snap.inventory.normalise();
        snap.inventory.validate()?;
        Ok(snap)
    }

    /// Parses a snapshot written by `--state` (JSON) or by hand (YAML).
    pub fn parse(text: &str) -> VmmResult<Snapshot> {
        if text.trim_start().starts_with('{') {
            Snapshot::from_json(text)
        } else {
            Snapshot::from_yaml(text)
        }
    }

    /// Parses a JSON snapshot and checks its inventory.
    pub fn from_json(text: &str) -> VmmResult<Snapshot> {
        let mut snap: Snapshot = serde_json::from_str(text)
            .map_err(|e| VmmError::configuration(&format!("state JSON: {e}")))?;
        snap.inventory.normalise();
        snap.inventory.validate()?;
        Ok(snap)
    }
}

/// Serde adapter: bytes as one base64 string (files in saved state).
pub mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64 into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.trim())
            .map_err(serde::de::Error::custom)
    }
}
