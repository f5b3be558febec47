//! `network-config`: netplan version 2, one `ethernets` entry per adapter.

use super::DeviceConfig;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct NetworkConfig<'a> {
    version: u8,
    ethernets: BTreeMap<&'a str, Ethernet<'a>>,
}

#[derive(Serialize)]
struct Ethernet<'a> {
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    match_: Option<Match>,
    #[serde(rename = "set-name", skip_serializing_if = "Option::is_none")]
    set_name: Option<&'a str>,
    dhcp4: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<Route<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nameservers: Option<Nameservers<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtu: Option<i32>,
}

#[derive(Serialize)]
struct Match {
    /// Quoted: YAML 1.1 readers (PyYAML, hence cloud-init) take an unquoted
    /// `10:15:50:01:02:03` for a base-60 integer.
    macaddress: serde_saphyr::DoubleQuoted<String>,
}

#[derive(Serialize)]
struct Route<'a> {
    to: &'a str,
    via: &'a str,
}

#[derive(Serialize)]
struct Nameservers<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    search: Vec<&'a str>,
}

/// Renders `network-config` (netplan v2) for the given adapters.
pub fn render_network_config(devices: &[DeviceConfig]) -> Result<String, crate::Error> {
    let mut ethernets = BTreeMap::new();
    for d in devices {
        let mut routes = Vec::new();
        // `gateway4`/`gateway6` are deprecated in netplan; default routes are not.
        if let Some(gw) = &d.gateway4 {
            routes.push(Route {
                to: "0.0.0.0/0",
                via: gw,
            });
        }
        if let Some(gw) = &d.gateway6 {
            routes.push(Route {
                to: "::/0",
                via: gw,
            });
        }
        let nameservers =
            (!d.nameservers.is_empty() || !d.search_domains.is_empty()).then(|| Nameservers {
                addresses: d.nameservers.iter().map(String::as_str).collect(),
                search: d.search_domains.iter().map(String::as_str).collect(),
            });
        ethernets.insert(
            d.name.as_str(),
            Ethernet {
                match_: d.mac_address.as_ref().map(|m| Match {
                    macaddress: serde_saphyr::DoubleQuoted(m.to_lowercase().replace('-', ":")),
                }),
                set_name: d.mac_address.as_ref().map(|_| d.name.as_str()),
                dhcp4: d.dhcp4,
                addresses: d.addresses.iter().map(String::as_str).collect(),
                routes,
                nameservers,
                mtu: d.mtu,
            },
        );
    }
    serde_saphyr::to_string(&NetworkConfig {
        version: 2,
        ethernets,
    })
    .map_err(|e| crate::Error::Seed(format!("network-config: {e}")))
}
