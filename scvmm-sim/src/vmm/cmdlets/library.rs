//! The library: files written to shares, Read-SCLibraryShare (which indexes
//! new .iso/.vhd/.vhdx files into objects), Remove-SCISO.
//!
//! There is no New-SCISO: an ISO enters VMM when a refresh finds its file
//! (reference §9). Writing a file does not index it.

use uuid::Uuid;

use super::super::Vmm;
use super::super::config::Op;
use super::super::enums::VhdType;
use super::super::errors::{VmmError, VmmResult};
use super::super::inventory::same_name;
use super::super::jobs::JobSpec;
use super::super::objects::library::{file_name, normalise_path, parent_dir, path_within};
use super::super::objects::{Iso, JobEffect, LibraryShare, StoredFile, VirtualHardDisk};
use super::super::value::{ObjectKind, ObjectRef};
use super::{Ref, Submitted};

/// Read-SCLibraryShare.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadLibraryShare {
    /// `[-LibraryShare]`.
    pub share: Ref,
    /// `-Path`: a sub-directory, relative to the share or a full UNC path.
    pub path: Option<String>,
}

/// Remove-SCISO.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoveIso {
    /// `[-ISO]`.
    pub iso: Ref,
    /// `-Force`: remove even if a VM uses it (ejecting it).
    pub force: bool,
}

impl Vmm {
    /// The share a UNC path lies in.
    pub fn share_of_path(&self, path: &str) -> Option<&LibraryShare> {
        self.inventory
            .library_shares
            .iter()
            .filter(|s| path_within(path, &s.path))
            .max_by_key(|s| s.path.len())
    }

    /// Writes a file into a library share (what an SMB copy or a chunked
    /// upload through WinRM does). The path must lie in a share that is not
    /// view-only. Overwrites an existing file.
    pub fn write_library_file(&mut self, path: &str, bytes: Vec<u8>) -> VmmResult<()> {
        self.settle();
        let path = normalise_path(path);
        let share = self
            .share_of_path(&path)
            .ok_or_else(|| VmmError::not_found("LibraryShare", &format!("for path {path}")))?;
        if share.is_view_only {
            return Err(VmmError::invalid_parameter(
                "Import-SCLibraryPhysicalResource",
                &format!("The library share {} is read-only.", share.path),
            ));
        }
        let now = self.now();
        let lower = path.to_lowercase();
        self.state
            .files
            .retain(|f| normalise_path(&f.path).to_lowercase() != lower);
        self.state.files.push(StoredFile {
            path,
            bytes,
            written: now,
        });
        Ok(())
    }

    /// Appends to a library file (chunked uploads), creating it if needed.
    pub fn append_library_file(&mut self, path: &str, chunk: &[u8]) -> VmmResult<()> {
        let mut bytes = self.read_file(path).unwrap_or_default();
        bytes.extend_from_slice(chunk);
        self.write_library_file(path, bytes)
    }

    /// The bytes of a stored file (library or host copy).
    pub fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        self.state.file(path).map(|f| f.bytes.clone())
    }

    /// Deletes a stored file; whether it existed. The ISO object (if any)
    /// stays until the next refresh notices, as in VMM.
    pub fn delete_file(&mut self, path: &str) -> bool {
        let lower = normalise_path(path).to_lowercase();
        let before = self.state.files.len();
        self.state
            .files
            .retain(|f| normalise_path(&f.path).to_lowercase() != lower);
        before != self.state.files.len()
    }

    /// Paths of stored files under `dir`.
    pub fn list_files(&self, dir: &str) -> Vec<String> {
        self.state
            .files
            .iter()
            .filter(|f| path_within(&f.path, dir))
            .map(|f| f.path.clone())
            .collect()
    }

    /// Read-SCLibraryShare: a "Refresh library share" job (the share is
    /// locked meanwhile: a second refresh gets 2602 \[INF\]). When it
    /// completes, new files under the path become ISO / VHD objects and
    /// objects whose files are gone disappear.
    pub fn read_library_share(
        &mut self,
        req: &ReadLibraryShare,
    ) -> VmmResult<Submitted<LibraryShare>> {
        const CMDLET: &str = "Read-SCLibraryShare";
        self.settle();
        let share_id = self.resolve_share(&req.share, CMDLET)?;
        let share = self
            .inventory
            .share(share_id)
            .cloned()
            .ok_or_else(|| VmmError::not_found("LibraryShare", &share_id.to_string()))?;
        let path = req.path.as_deref().map(|p| {
            let p = normalise_path(p);
            if p.starts_with("\\\\") {
                p
            } else {
                format!("{}\\{}", share.path, p.trim_start_matches('\\'))
            }
        });
        if let Some(p) = &path
            && !path_within(p, &share.path)
        {
            return Err(VmmError::invalid_parameter(
                CMDLET,
                &format!("The path {p} is not in library share {}.", share.path),
            ));
        }
        self.ensure_unlocked(&[share_id])?;
        let injected = self.inject(CMDLET, &share.name, None)?;
        let duration = self.job_duration(Op::ReadLibrary, &injected);
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet: CMDLET,
            name_key: CMDLET,
            target: Some(ObjectRef::new(ObjectKind::LibraryShare, share_id)),
            result_name: share.name.clone(),
            locks: vec![share_id],
            effect: JobEffect::RefreshLibrary {
                share: share_id,
                path,
            },
            duration,
            fault: injected.job,
            owner,
            system: false,
        });
        self.settle();
        let job = self.state.job(job.id).cloned().unwrap_or(job);
        Ok(Submitted {
            object: share,
            job: Some(job),
        })
    }

    /// Indexes files of `share` under `path` (the whole share if `None`).
    pub(crate) fn index_library(&mut self, share: Uuid, path: Option<&str>) {
        let Some(s) = self.inventory.share(share).cloned() else {
            return;
        };
        let scope = path.map_or_else(|| s.path.clone(), str::to_string);
        let files: Vec<StoredFile> = self
            .state
            .files
            .iter()
            .filter(|f| path_within(&f.path, &scope))
            .cloned()
            .collect();
        let now = self.now();
        for f in &files {
            let lower = f.path.to_lowercase();
            if lower.ends_with(".iso") {
                if let Some(iso) = self
                    .state
                    .isos
                    .iter_mut()
                    .find(|i| same_name(&i.share_path, &f.path))
                {
                    iso.size = f.bytes.len() as u64;
                    continue;
                }
                let name = file_name(&f.path).to_string();
                let iso = Iso {
                    id: self.new_id(),
                    family_name: String::new(),
                    release: String::new(),
                    name,
                    share_path: f.path.clone(),
                    library_share: Some(share),
                    host: None,
                    vm: None,
                    size: f.bytes.len() as u64,
                    added: now,
                    marked_for_deletion: false,
                };
                self.state.isos.push(iso);
            } else if (lower.ends_with(".vhd") || lower.ends_with(".vhdx"))
                && !self
                    .inventory
                    .vhds
                    .iter()
                    .any(|v| same_name(&v.location, &f.path))
            {
                let name = file_name(&f.path).to_string();
                let directory = parent_dir(&f.path)
                    .get(s.path.len()..)
                    .unwrap_or("")
                    .trim_start_matches('\\')
                    .to_string();
                let vhd = VirtualHardDisk {
                    id: self.new_id(),
                    format: VirtualHardDisk::format_of(&name),
                    name,
                    share: Some(s.name.clone()),
                    directory,
                    location: f.path.clone(),
                    host: None,
                    size_bytes: f.bytes.len() as u64,
                    maximum_size_bytes: f.bytes.len() as u64,
                    vhd_type: VhdType::DynamicallyExpanding,
                    operating_system: String::new(),
                    parent: None,
                    family_name: String::new(),
                    release: String::new(),
                };
                self.inventory.vhds.push(vhd);
            }
        }
        // Library ISOs whose file is gone (and not used by a linked drive)
        // leave VMM on refresh.
        let linked: Vec<Uuid> = self
            .state
            .vms
            .iter()
            .flat_map(|v| {
                v.dvd_drives
                    .iter()
                    .filter(|d| d.linked)
                    .filter_map(|d| d.iso)
            })
            .collect();
        let gone: Vec<Uuid> = self
            .state
            .isos
            .iter()
            .filter(|i| i.library_share == Some(share) && path_within(&i.share_path, &scope))
            .filter(|i| self.state.file(&i.share_path).is_none() && !linked.contains(&i.id))
            .map(|i| i.id)
            .collect();
        self.state.isos.retain(|i| !gone.contains(&i.id));
    }

    /// Remove-SCISO: removes the ISO object and deletes its file; returns
    /// it with `MarkedForDeletion`. An ISO in a VM's drive needs `-Force`
    /// (which ejects it), else 802. A library ISO that was *copied* to VMs
    /// is not in use: the VMs keep their host copies.
    pub fn remove_iso(&mut self, req: &RemoveIso) -> VmmResult<Submitted<Iso>> {
        const CMDLET: &str = "Remove-SCISO";
        self.settle();
        let id = self.resolve_iso(&req.iso, CMDLET)?;
        let mut iso = self
            .state
            .iso(id)
            .cloned()
            .ok_or_else(|| VmmError::not_found("ISO", &id.to_string()))?;
        let user = self
            .state
            .vms
            .iter()
            .find(|v| v.dvd_drives.iter().any(|d| d.iso == Some(id)));
        if let Some(vm) = user
            && !req.force
        {
            return Err(VmmError::in_use(
                "ISO",
                &iso.name,
                &format!("VirtualMachine {}", vm.name),
            ));
        }
        self.ensure_unlocked(&[id])?;
        let injected = self.inject(CMDLET, &iso.name, None)?;
        let duration = self.job_duration(Op::RemoveIso, &injected);
        if let Some(i) = self.state.isos.iter_mut().find(|i| i.id == id) {
            i.marked_for_deletion = true;
        }
        iso.marked_for_deletion = true;
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet: CMDLET,
            name_key: CMDLET,
            target: Some(ObjectRef::new(ObjectKind::Iso, id)),
            result_name: iso.name.clone(),
            locks: vec![id],
            effect: JobEffect::RemoveIso { iso: id },
            duration,
            fault: injected.job,
            owner,
            system: false,
        });
        self.settle();
        let job = self.state.job(job.id).cloned().unwrap_or(job);
        Ok(Submitted {
            object: iso,
            job: Some(job),
        })
    }

    /// Removes an ISO object and its file now, ejecting it from drives.
    pub(crate) fn remove_iso_now(&mut self, id: Uuid) {
        let Some(iso) = self.state.iso(id).cloned() else {
            return;
        };
        for vm in &mut self.state.vms {
            for d in &mut vm.dvd_drives {
                if d.iso == Some(id) {
                    d.iso = None;
                    d.linked = false;
                }
            }
        }
        self.state.isos.retain(|i| i.id != id);
        self.delete_file(&iso.share_path);
    }
}
