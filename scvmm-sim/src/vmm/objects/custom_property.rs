//! Custom property definitions (`Get-SCCustomProperty`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::vmm::enums::MemberType;

/// A custom property definition. Values live on the objects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomPropertyDef {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Object types it applies to.
    pub members: Vec<MemberType>,
}
