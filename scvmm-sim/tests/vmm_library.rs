//! The library (reference §6.7, §9): files in shares, Read-SCLibraryShare
//! indexing, Get-SCISO, Remove-SCISO.

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{
    DvdMediaRequest, DvdTarget, NameId, ReadLibraryShare, RemoveIso, SetDvdDrive, VhdQuery,
};
use scvmm_sim::vmm::errors::id;
use scvmm_sim::vmm::{JobStatus, ObjectKind, ObjectRef, Value};
use vmm_support::*;

#[test]
fn files_become_isos_only_after_a_refresh() {
    let (mut vmm, clock) = vmm();
    let path = format!("{SHARE}\\capi\\m1_cloud-init.iso");
    vmm.write_library_file(&path, b"seed".to_vec()).unwrap();
    assert!(
        vmm.get_isos(&NameId::default()).unwrap().is_empty(),
        "no New-SCISO: needs a refresh"
    );
    let sub = vmm
        .read_library_share(&ReadLibraryShare {
            share: SHARE.into(),
            path: Some("capi".into()),
        })
        .unwrap();
    let job = sub.job.clone().unwrap();
    assert_eq!(job.name, "Refresh library share");
    // A second refresh of the same share while one runs: 2602.
    let err = vmm
        .read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: None,
        })
        .unwrap_err();
    assert_eq!(err.id, id::LOCKED);
    advance(&clock, 5);
    let isos = vmm.get_isos(&NameId::name("m1_cloud-init.iso")).unwrap();
    assert_eq!(isos.len(), 1);
    assert_eq!(isos[0].share_path, path);
    assert_eq!(isos[0].size, 4);
    assert_eq!(vmm.isos_under(&format!("{SHARE}\\capi")).len(), 1);
    let view = vmm
        .view(ObjectRef::new(ObjectKind::Iso, isos[0].id))
        .unwrap();
    assert_eq!(view.get("SharePath"), Some(&Value::str(&path)));
    assert_eq!(
        view.get("LibraryServer"),
        Some(&Value::str("vmm01.contoso.com"))
    );
    assert_eq!(
        view.get("Directory"),
        Some(&Value::str(format!("{SHARE}\\capi")))
    );
}

#[test]
fn refresh_path_may_be_a_full_unc_path_and_limits_the_scope() {
    let (mut vmm, _clock) = vmm();
    vmm.write_library_file(&format!("{SHARE}/a/one.iso"), vec![1])
        .unwrap();
    vmm.write_library_file(&format!("{SHARE}\\b\\two.iso"), vec![2])
        .unwrap();
    let sub = vmm
        .read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: Some(format!("{SHARE}\\a")),
        })
        .unwrap();
    wait(&mut vmm, &sub);
    let names: Vec<_> = vmm
        .get_isos(&NameId::default())
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, vec!["one.iso"]);
    let err = vmm
        .read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: Some("\\\\other\\share".into()),
        })
        .unwrap_err();
    assert_eq!(err.id, id::INVALID_PARAMETER);
}

#[test]
fn writing_outside_a_share_fails_and_chunks_append() {
    let (mut vmm, _clock) = vmm();
    let err = vmm
        .write_library_file("\\\\nowhere\\x\\a.iso", vec![])
        .unwrap_err();
    assert_eq!(err.id, id::NOT_FOUND);
    let path = format!("{SHARE}\\up\\big.iso");
    vmm.append_library_file(&path, b"ab").unwrap();
    vmm.append_library_file(&path, b"cd").unwrap();
    assert_eq!(vmm.read_file(&path).unwrap(), b"abcd");
    assert_eq!(vmm.list_files(&format!("{SHARE}\\up")), vec![path.clone()]);
    assert!(vmm.delete_file(&path));
    assert!(!vmm.delete_file(&path));
}

#[test]
fn vhd_files_are_indexed_as_virtual_hard_disks() {
    let (mut vmm, _clock) = vmm();
    vmm.write_library_file(&format!("{SHARE}\\VHDs\\data.vhdx"), vec![0; 32])
        .unwrap();
    let sub = vmm
        .read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: None,
        })
        .unwrap();
    wait(&mut vmm, &sub);
    let found = vmm
        .get_virtual_hard_disks(&VhdQuery {
            name: Some("data.vhdx".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].directory, "VHDs");
    let all = vmm.get_virtual_hard_disks(&VhdQuery::default()).unwrap();
    assert_eq!(all.len(), 2);
}

#[test]
fn remove_iso_deletes_object_and_file_and_respects_use() {
    let (mut vmm, _clock) = vmm();
    let path = format!("{SHARE}\\seed.iso");
    vmm.write_library_file(&path, b"x".to_vec()).unwrap();
    let sub = vmm
        .read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: None,
        })
        .unwrap();
    wait(&mut vmm, &sub);
    let iso = vmm.get_isos(&NameId::name("seed.iso")).unwrap()[0].id;
    let vm = create_off(&mut vmm, "user");
    let drive = vmm.state().vm(vm).unwrap().dvd_drives[0].id;
    // Linked: the library ISO is in use.
    let s = vmm
        .set_dvd_drive(&SetDvdDrive {
            target: DvdTarget::Drive(drive),
            media: DvdMediaRequest::Iso {
                iso: iso.into(),
                link: true,
            },
        })
        .unwrap()
        .unwrap();
    wait(&mut vmm, &s);
    let err = vmm
        .remove_iso(&RemoveIso {
            iso: iso.into(),
            force: false,
        })
        .unwrap_err();
    assert_eq!(err.id, id::IN_USE);
    // Copied (willemm's flow): the VM keeps its host copy, the library ISO goes.
    let s = vmm
        .set_dvd_drive(&SetDvdDrive {
            target: DvdTarget::Drive(drive),
            media: DvdMediaRequest::Iso {
                iso: iso.into(),
                link: false,
            },
        })
        .unwrap()
        .unwrap();
    wait(&mut vmm, &s);
    let sub = vmm
        .remove_iso(&RemoveIso {
            iso: iso.into(),
            force: false,
        })
        .unwrap();
    assert!(sub.object.marked_for_deletion);
    assert_eq!(sub.job.as_ref().unwrap().name, "Remove ISO");
    wait(&mut vmm, &sub);
    assert!(vmm.state().iso(iso).is_none());
    assert!(vmm.read_file(&path).is_none());
    let copy = vmm.state().vm(vm).unwrap().dvd_drives[0].iso.unwrap();
    assert!(vmm.state().iso(copy).is_some());
    // -Force on an ISO in use ejects it.
    let sub = vmm
        .remove_iso(&RemoveIso {
            iso: copy.into(),
            force: true,
        })
        .unwrap();
    let job = wait(&mut vmm, &sub);
    assert_eq!(job.status, JobStatus::Completed);
    assert!(vmm.state().vm(vm).unwrap().dvd_drives[0].iso.is_none());
}

#[test]
fn refresh_forgets_isos_whose_files_are_gone() {
    let (mut vmm, _clock) = vmm();
    let path = format!("{SHARE}\\tmp\\t.iso");
    vmm.write_library_file(&path, b"t".to_vec()).unwrap();
    let read = |vmm: &mut scvmm_sim::vmm::Vmm| {
        let sub = vmm
            .read_library_share(&ReadLibraryShare {
                share: "MSSCVMMLibrary".into(),
                path: Some("tmp".into()),
            })
            .unwrap();
        wait(vmm, &sub);
    };
    read(&mut vmm);
    assert_eq!(vmm.get_isos(&NameId::default()).unwrap().len(), 1);
    vmm.delete_file(&path);
    assert_eq!(
        vmm.get_isos(&NameId::default()).unwrap().len(),
        1,
        "until the next refresh"
    );
    read(&mut vmm);
    assert!(vmm.get_isos(&NameId::default()).unwrap().is_empty());
}
