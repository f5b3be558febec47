//! VM configurations (New-SCVMConfiguration): a template plus a placement
//! target, resolved to a host by Update-SCVMConfiguration or at creation.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A `BaseVMConfiguration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmConfiguration {
    /// VMM id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Template.
    pub template: Uuid,
    /// Target host group.
    pub host_group: Option<Uuid>,
    /// Target cloud.
    pub cloud: Option<Uuid>,
    /// Chosen (or pinned) host.
    pub host: Option<Uuid>,
    /// Whether `host` was pinned by the user.
    pub pin_host: bool,
    /// VM location on the host.
    pub location: Option<String>,
    /// Guest computer name.
    pub computer_name: Option<String>,
    /// Availability set names.
    pub availability_set_names: Vec<String>,
    /// Description.
    pub description: String,
    /// Tag.
    pub tag: String,
    /// Result of the last placement (`IsValid`).
    pub is_valid: bool,
    /// Why placement failed.
    pub validation_errors: Vec<String>,
}
