//! Helpers shared by the vmm_* integration tests.
// Test helpers panic on unexpected errors, like the tests using them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scvmm_sim::vmm::cmdlets::{NewVm, ReadLibraryShare, VmSource};
use scvmm_sim::vmm::{GuestBoot, GuestHook, Inventory, Job, ManualClock, Options, Submitted, Vmm};
use uuid::Uuid;

pub const TEMPLATE: &str = "Ubuntu 24.04";
pub const HOST: &str = "hv01.contoso.com";
pub const SHARE: &str = "\\\\vmm01.contoso.com\\MSSCVMMLibrary";

/// A model over the default inventory with default options.
pub fn vmm() -> (Vmm, ManualClock) {
    Vmm::with_manual_clock(Inventory::default_inventory(), Options::default())
}

/// A model with custom options.
pub fn vmm_with(options: Options) -> (Vmm, ManualClock) {
    Vmm::with_manual_clock(Inventory::default_inventory(), options)
}

/// New-SCVirtualMachine from the Ubuntu template onto hv01.
pub fn new_from_template(name: &str) -> NewVm {
    NewVm::new(
        name,
        VmSource::Template {
            template: TEMPLATE.into(),
            host: HOST.into(),
            path: None,
        },
    )
}

/// Creates a VM and waits for its job; returns its id.
pub fn create_off(vmm: &mut Vmm, name: &str) -> Uuid {
    let sub = vmm.new_vm(&new_from_template(name)).expect("create");
    wait(vmm, &sub);
    sub.object.id
}

/// Creates and starts a VM, waiting for both jobs.
pub fn create_running(vmm: &mut Vmm, name: &str) -> Uuid {
    let id = create_off(vmm, name);
    let sub = vmm.start_vm(&id.into()).expect("start");
    wait(vmm, &sub);
    id
}

/// Waits for a submitted job (blocking mode) and expects success.
pub fn wait<T>(vmm: &mut Vmm, sub: &Submitted<T>) -> Job {
    let job = sub.job.as_ref().expect("a job");
    vmm.wait_for_job(job.id).expect("job succeeds")
}

/// Advances the clock by whole seconds.
pub fn advance(clock: &ManualClock, secs: u64) {
    clock.advance(Duration::from_secs(secs));
}

/// A guest hook that records every boot.
#[derive(Default)]
pub struct RecordingGuest {
    pub boots: Mutex<Vec<GuestBoot>>,
    pub offs: Mutex<Vec<Uuid>>,
    pub removed: Mutex<Vec<Uuid>>,
}

impl GuestHook for RecordingGuest {
    fn on_boot(&self, boot: &GuestBoot) {
        self.boots.lock().unwrap().push(boot.clone());
    }
    fn on_power_off(&self, vm: Uuid) {
        self.offs.lock().unwrap().push(vm);
    }
    fn on_removed(&self, vm: Uuid) {
        self.removed.lock().unwrap().push(vm);
    }
}

/// Installs a recording guest hook.
pub fn record_guest(vmm: &mut Vmm) -> Arc<RecordingGuest> {
    let g = Arc::new(RecordingGuest::default());
    vmm.set_guest_hook(g.clone());
    g
}

/// Writes a seed ISO into the library and indexes it; returns the ISO id.
pub fn seed_iso(vmm: &mut Vmm, name: &str, bytes: &[u8]) -> Uuid {
    let path = format!("{SHARE}\\seeds\\{name}");
    vmm.write_library_file(&path, bytes.to_vec()).unwrap();
    let sub = vmm
        .read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: Some("seeds".into()),
        })
        .unwrap();
    wait(vmm, &sub);
    vmm.state()
        .isos
        .iter()
        .find(|i| i.share_path == path)
        .unwrap()
        .id
}
