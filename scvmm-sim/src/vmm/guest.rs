//! The hook point for what runs inside a VM. When a VM starts, the model
//! tells a caller-supplied `GuestHook` what the guest would see (its
//! adapters and the ISO in its DVD drive, e.g. a cloud-init NoCloud seed);
//! the hook reports hostname and addresses back later through
//! `Vmm::report_guest_addresses` / `Vmm::report_guest_computer_name`.
//! The guest itself is out of scope here.

use uuid::Uuid;

/// A network adapter as the guest sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct GuestAdapter {
    /// VMM id of the adapter (pass it back when reporting addresses).
    pub id: Uuid,
    /// MAC address.
    pub mac_address: Option<String>,
    /// VM network name.
    pub vm_network: Option<String>,
    /// Static addresses VMM allocated to the adapter.
    pub static_ipv4: Vec<String>,
}

/// The ISO in the VM's DVD drive at boot.
#[derive(Clone, Debug, PartialEq)]
pub struct GuestMedia {
    /// ISO object name.
    pub name: String,
    /// Path the host reads it from (host copy, or library UNC path if linked).
    pub path: String,
    /// Contents (empty when the emulator has no bytes for it).
    pub bytes: Vec<u8>,
}

/// What a booting VM looks like to its guest.
#[derive(Clone, Debug, PartialEq)]
pub struct GuestBoot {
    /// VMM id of the VM.
    pub vm: Uuid,
    /// VM name.
    pub name: String,
    /// BIOS GUID (what `dmidecode` shows as the system UUID).
    pub bios_guid: Uuid,
    /// Computer name requested for customization.
    pub computer_name: Option<String>,
    /// Network adapters in slot order.
    pub adapters: Vec<GuestAdapter>,
    /// The first DVD drive's ISO, if any.
    pub media: Option<GuestMedia>,
}

/// What a caller plugs in to play the guest.
pub trait GuestHook: Send + Sync {
    /// The VM finished starting. Called from inside the model: report
    /// addresses later, not from within this call.
    fn on_boot(&self, boot: &GuestBoot);

    /// The VM powered off (or saved, or paused).
    fn on_power_off(&self, _vm: Uuid) {}

    /// The VM was removed.
    fn on_removed(&self, _vm: Uuid) {}
}
