//! The library: shares (UNC paths) holding files, and the objects VMM
//! indexes from them (ISOs, virtual hard disks).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::vmm::clock::Time;
use crate::vmm::enums::{VhdFormat, VhdType};

/// A library share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibraryShare {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Share name.
    pub name: String,
    /// UNC path, `\\server\share`.
    pub path: String,
    /// Library server FQDN.
    pub library_server: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// `IsViewOnly`.
    #[serde(default)]
    pub is_view_only: bool,
}

/// Normalises a Windows path for comparison and storage: forward slashes
/// become backslashes and trailing separators go.
pub fn normalise_path(path: &str) -> String {
    let p = path.replace('/', "\\");
    let trimmed = p.trim_end_matches('\\');
    if trimmed.is_empty() {
        p
    } else {
        trimmed.to_string()
    }
}

/// Whether `path` is `dir` or lies inside it (case-insensitive).
pub fn path_within(path: &str, dir: &str) -> bool {
    let (p, d) = (
        normalise_path(path).to_lowercase(),
        normalise_path(dir).to_lowercase(),
    );
    p == d || p.starts_with(&format!("{d}\\"))
}

/// Joins path segments with backslashes, skipping empty ones.
pub fn join_path(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| p.trim_matches(['\\', '/']))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\\")
}

/// The directory part of a Windows path.
pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('\\').map_or("", |(d, _)| d)
}

/// The file name part of a Windows path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

/// A file stored in the emulator: on a library share (UNC path) or on a
/// host (a host ISO copy). Bytes are base64 in saved state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    /// Full path as written.
    pub path: String,
    /// Contents.
    #[serde(with = "crate::vmm::state::base64_bytes")]
    pub bytes: Vec<u8>,
    /// When it was last written.
    pub written: Time,
}

/// An ISO object: in a library share, or copied to a host for a VM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Iso {
    /// VMM id.
    pub id: Uuid,
    /// Name (the file name by default).
    pub name: String,
    /// Full path of the file (`SharePath`).
    pub share_path: String,
    /// Library share id when the ISO is in the library.
    pub library_share: Option<Uuid>,
    /// Host id when this is a host copy.
    pub host: Option<Uuid>,
    /// VM this host copy belongs to.
    pub vm: Option<Uuid>,
    /// Size in bytes.
    pub size: u64,
    /// Family name.
    pub family_name: String,
    /// Release.
    pub release: String,
    /// When it was indexed.
    pub added: Time,
    /// `MarkedForDeletion` (set on the object Remove-SCISO returns).
    pub marked_for_deletion: bool,
}

/// A virtual hard disk: in the library (inventory) or attached to a VM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VirtualHardDisk {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name (file name).
    pub name: String,
    /// Library share name for library disks.
    #[serde(default)]
    pub share: Option<String>,
    /// Directory inside the share (library disks).
    #[serde(default)]
    pub directory: String,
    /// Full path (`Location` / `SharePath`); derived for library disks.
    #[serde(default)]
    pub location: String,
    /// Host id for disks attached to VMs.
    #[serde(default)]
    pub host: Option<Uuid>,
    /// Bytes on disk (`Size`).
    pub size_bytes: u64,
    /// Maximum size in bytes (`MaximumSize`).
    pub maximum_size_bytes: u64,
    /// Type.
    #[serde(default = "dynamic_vhd")]
    pub vhd_type: VhdType,
    /// Format.
    #[serde(default = "vhdx")]
    pub format: VhdFormat,
    /// Guest OS on the disk.
    #[serde(default)]
    pub operating_system: String,
    /// Parent disk path (differencing disks).
    #[serde(default)]
    pub parent: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: String,
    /// Release.
    #[serde(default)]
    pub release: String,
}

fn dynamic_vhd() -> VhdType {
    VhdType::DynamicallyExpanding
}

fn vhdx() -> VhdFormat {
    VhdFormat::VHDX
}

impl VirtualHardDisk {
    /// The format implied by a file name.
    pub fn format_of(name: &str) -> VhdFormat {
        if name.to_lowercase().ends_with(".vhd") {
            VhdFormat::VHD
        } else {
            VhdFormat::VHDX
        }
    }
}
