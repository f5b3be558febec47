//! The NoCloud seed a machine boots with: `meta-data` (identity),
//! `network-config` (netplan v2: addresses, routes, DNS) and `user-data`
//! (the bootstrap provider's cloud-config, passed through untouched), packed
//! into an ISO 9660 image labelled `cidata` that cloud-init finds on the
//! VM's DVD drive.
//!
//! Everything here is pure: the controller resolves addresses (static, IPAM,
//! SCVMM pool) first and hands over plain values, so the seed is a function
//! of its input and can be snapshot-tested.

mod iso;
mod meta_data;
mod network_config;

pub use iso::{VOLUME_LABEL, build_iso};
pub use meta_data::render_meta_data;
pub use network_config::render_network_config;

/// One network adapter as the guest should configure it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Interface name in the guest (`eth0`).
    pub name: String,
    /// MAC address, when known before boot (static MACs); the interface is
    /// then matched by MAC and renamed.
    pub mac_address: Option<String>,
    /// Configure IPv4 by DHCP.
    pub dhcp4: bool,
    /// Static addresses in CIDR notation.
    pub addresses: Vec<String>,
    /// IPv4 default gateway.
    pub gateway4: Option<String>,
    /// IPv6 default gateway.
    pub gateway6: Option<String>,
    /// DNS servers.
    pub nameservers: Vec<String>,
    /// DNS search domains.
    pub search_domains: Vec<String>,
    /// Interface MTU.
    pub mtu: Option<i32>,
}

/// What a seed is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedSpec {
    /// The machine's instance UUID: cloud-init's instance-id, and the
    /// providerID is `scvmm://<instance_id>`.
    pub instance_id: String,
    /// Guest host name (`local-hostname`).
    pub hostname: String,
    /// Adapters to configure; empty leaves networking to the image's default.
    pub devices: Vec<DeviceConfig>,
    /// The bootstrap data (the Secret's `value`), byte for byte.
    pub user_data: Vec<u8>,
}

/// The three files of a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// `meta-data`.
    pub meta_data: String,
    /// `network-config`, when there is network configuration to give.
    pub network_config: Option<String>,
    /// `user-data`.
    pub user_data: Vec<u8>,
}

/// Renders the seed files.
pub fn render(spec: &SeedSpec) -> Result<Seed, crate::Error> {
    Ok(Seed {
        meta_data: render_meta_data(&spec.instance_id, &spec.hostname)?,
        network_config: if spec.devices.is_empty() {
            None
        } else {
            Some(render_network_config(&spec.devices)?)
        },
        user_data: spec.user_data.clone(),
    })
}

/// The provider ID of a machine with this instance UUID.
pub fn provider_id(instance_id: &str) -> String {
    format!("scvmm://{instance_id}")
}
