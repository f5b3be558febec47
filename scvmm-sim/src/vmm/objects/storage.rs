//! Fibre Channel fabric: storage fabric classifications
//! (`Get-SCStorageFabricClassification`) and the hosts' virtual SANs
//! (`Get-SCVMHostFibreChannelVirtualSAN`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A storage fabric classification ("Gold FC", "Silver FC"): a label VMM
/// uses to pick a virtual SAN on whatever host a VM is placed on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageFabricClassification {
    /// VMM id (derived from the name when left out).
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// A virtual Fibre Channel SAN on one Hyper-V host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FibreChannelSan {
    /// VMM id (derived from host and name when left out).
    #[serde(default)]
    pub id: Uuid,
    /// Name (the same name usually exists on every host of a fabric).
    pub name: String,
    /// The host it is on.
    pub host: String,
    /// Name of its storage fabric classification, if classified.
    #[serde(default)]
    pub classification: Option<String>,
}
