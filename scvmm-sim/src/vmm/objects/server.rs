//! The VMM server itself and its users.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::vmm::enums::UserRoleProfile;

fn default_port() -> u16 {
    8100
}

fn default_version() -> String {
    "10.22.1287.0".to_string()
}

fn default_refresher() -> u32 {
    1
}

/// The VMM management server (`ServerConnection`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// VMM id of the managed computer (`ManagedComputer.ID`).
    #[serde(default)]
    pub id: Uuid,
    /// FQDN of the VMM server.
    pub name: String,
    /// TCP port (8100).
    #[serde(default = "default_port")]
    pub port: u16,
    /// `ProductVersion` (10.22.x = VMM 2022).
    #[serde(default = "default_version")]
    pub product_version: String,
    /// `DatabaseServerName`.
    #[serde(default)]
    pub database_server_name: String,
    /// `LibraryRefresherFrequency` in hours.
    #[serde(default = "default_refresher")]
    pub library_refresher_frequency_hours: u32,
    /// Whether the VMM service answers (false makes Get-SCVMMServer fail
    /// with 1602).
    #[serde(default = "default_responding")]
    pub responding: bool,
}

fn default_responding() -> bool {
    true
}

/// A VMM user and role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// `DOMAIN\user`.
    pub name: String,
    /// Role profile.
    pub role: UserRoleProfile,
    /// User role name.
    #[serde(default = "default_role_name")]
    pub role_name: String,
}

fn default_role_name() -> String {
    "Administrator".to_string()
}
