//! Host groups: a tree named by backslash paths (`All Hosts\Prod\Rack1`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The root host group every path starts with.
pub const ROOT_HOST_GROUP: &str = "All Hosts";

/// A host group. Its name is the last path segment; names may repeat under
/// different parents (reference §6.6), paths may not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostGroup {
    /// VMM id (derived from the path when an inventory file leaves it out).
    #[serde(default)]
    pub id: Uuid,
    /// Full path, `All Hosts\...`.
    pub path: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Custom property values (name → value).
    #[serde(default)]
    pub custom_properties: BTreeMap<String, String>,
}

impl HostGroup {
    /// The group's name: the last path segment.
    pub fn name(&self) -> &str {
        self.path.rsplit('\\').next().unwrap_or(&self.path)
    }

    /// The parent's path, `None` for the root.
    pub fn parent_path(&self) -> Option<&str> {
        self.path.rsplit_once('\\').map(|(parent, _)| parent)
    }

    /// Whether this is `All Hosts`.
    pub fn is_root(&self) -> bool {
        self.parent_path().is_none()
    }
}

/// Whether `path` is `ancestor` or lies beneath it (case-insensitive, as
/// VMM compares names).
pub fn path_is_under(path: &str, ancestor: &str) -> bool {
    let (p, a) = (path.to_lowercase(), ancestor.to_lowercase());
    p == a || p.starts_with(&format!("{a}\\"))
}
