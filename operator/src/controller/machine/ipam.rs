//! CAPI IPAM for machine addresses: one IPAddressClaim per device and pool,
//! owned by the ScvmmMachine (so the API server releases it when the machine
//! goes, and `clusterctl move` carries it), read back through its IPAddress.

use super::request::ResolvedDevice;
use crate::api::ScvmmMachine;
use crate::api::machine::Network;
use crate::capi::{IPAddress, IPAddressClaim, IPAddressClaimSpec, IpPoolReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};

/// The claim name for device `device` and pool index `i`.
pub fn claim_name(machine: &str, device: &str, i: usize) -> String {
    let clean: String = device
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("{machine}-{}-{i}", clean.trim_matches('-'));
    name.truncate(253);
    name
}

/// Outcome of resolving IPAM addresses.
pub enum IpamState {
    /// Every claim has an address.
    Ready(Vec<ResolvedDevice>),
    /// Waiting; the message names the claim.
    Waiting(String),
    /// An IPAddress is unusable.
    Invalid(String),
}

fn owner_ref(sm: &ScvmmMachine) -> Option<OwnerReference> {
    sm.controller_owner_ref(&()).map(|mut r| {
        r.block_owner_deletion = Some(true);
        r
    })
}

/// Makes sure every claim exists and collects the addresses allocated so
/// far. Creating a claim is idempotent (server-side apply).
pub async fn resolve(
    client: &kube::Client,
    sm: &ScvmmMachine,
    net: Option<&Network>,
    cluster_name: &str,
) -> Result<IpamState, kube::Error> {
    let Some(net) = net else {
        return Ok(IpamState::Ready(vec![]));
    };
    let ns = sm.namespace().unwrap_or_default();
    let claims: Api<IPAddressClaim> = Api::namespaced(client.clone(), &ns);
    let addresses: Api<IPAddress> = Api::namespaced(client.clone(), &ns);
    let mut out = Vec::with_capacity(net.devices.len());
    for device in &net.devices {
        let mut resolved = ResolvedDevice::default();
        for (i, pool) in device.addresses_from_pools.iter().enumerate() {
            let name = claim_name(&sm.name_any(), &device.name, i);
            let mut claim = IPAddressClaim::new(
                &name,
                IPAddressClaimSpec {
                    cluster_name: cluster_name.to_string(),
                    pool_ref: IpPoolReference {
                        api_group: pool.api_group.clone(),
                        kind: pool.kind.clone(),
                        name: pool.name.clone(),
                    },
                },
            );
            claim.metadata.owner_references = owner_ref(sm).map(|r| vec![r]);
            claim.metadata.labels = Some(
                [(
                    crate::capi::CLUSTER_NAME_LABEL.to_string(),
                    cluster_name.to_string(),
                )]
                .into(),
            );
            let current = claims
                .patch(
                    &name,
                    &PatchParams::apply(crate::controller::FIELD_MANAGER),
                    &Patch::Apply(&claim),
                )
                .await?;
            let Some(addr_ref) = current.status.as_ref().and_then(|s| s.address_ref.as_ref())
            else {
                let why = current
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.iter().find(|c| c.status == "False"))
                    .map(|c| format!(" ({}: {})", c.reason, c.message))
                    .unwrap_or_default();
                return Ok(IpamState::Waiting(format!(
                    "waiting for IPAddressClaim {ns}/{name} (device {}, pool {} {}) to be allocated{why}",
                    device.name, pool.kind, pool.name
                )));
            };
            let Some(ip) = addresses.get_opt(&addr_ref.name).await? else {
                return Ok(IpamState::Waiting(format!(
                    "IPAddressClaim {ns}/{name} points at IPAddress {} which does not exist yet",
                    addr_ref.name
                )));
            };
            match address_from(&ns, &name, &ip) {
                Ok(a) => {
                    if resolved.gateway4.is_none() && a.ipv4 {
                        resolved.gateway4 = a.gateway;
                    }
                    resolved.addresses.push(a.cidr);
                }
                Err(m) => return Ok(IpamState::Invalid(m)),
            }
        }
        out.push(resolved);
    }
    Ok(IpamState::Ready(out))
}

/// One IPAM address as the seed needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpamAddress {
    /// `address/prefix`, in the address's canonical form.
    pub cidr: String,
    /// IPv4 (the seed takes its default gateway from IPv4 addresses only).
    pub ipv4: bool,
    /// The gateway, when the IPAM provider gave one.
    pub gateway: Option<String>,
}

/// Checks an IPAddress the IPAM provider wrote for `claim` before any of it
/// goes into a seed: the guest's netplan would reject a malformed address
/// or gateway at boot, where nobody sees why the machine never joins.
pub fn address_from(ns: &str, claim: &str, ip: &IPAddress) -> Result<IpamAddress, String> {
    let name = ip.metadata.name.as_deref().unwrap_or_default();
    let spec = &ip.spec;
    let fix = "the IPAM provider (or whoever wrote it) must fix it; delete the IPAddress to have it allocated again";
    if spec.claim_ref.name != claim {
        return Err(format!(
            "IPAddress {ns}/{name} answers IPAddressClaim {:?}, not {ns}/{claim} which points at it; \
             an address of another claim may be in use by another machine: {fix}",
            clip(&spec.claim_ref.name)
        ));
    }
    let Ok(address) = spec.address.parse::<std::net::IpAddr>() else {
        return Err(format!(
            "IPAddress {ns}/{name} has spec.address {:?}, which is not an IP address: {fix}",
            clip(&spec.address)
        ));
    };
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match spec.prefix {
        Some(p) if (0..=max).contains(&p) => p,
        other => {
            return Err(format!(
                "IPAddress {ns}/{name} has spec.prefix {other:?}; address {address} needs a prefix length from 0 to {max}: {fix}"
            ));
        }
    };
    let gateway = match spec.gateway.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match text.parse::<std::net::IpAddr>() {
            Ok(gw) if gw.is_ipv4() == address.is_ipv4() => Some(gw.to_string()),
            _ => {
                return Err(format!(
                    "IPAddress {ns}/{name} has spec.gateway {:?}, which is not an IP address of the same family as {address}: {fix}",
                    clip(text)
                ));
            }
        },
    };
    Ok(IpamAddress {
        cidr: format!("{address}/{prefix}"),
        ipv4: address.is_ipv4(),
        gateway,
    })
}

/// A value from an object, cut short for a condition message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_names_are_valid_object_names() {
        assert_eq!(claim_name("m1", "eth0", 0), "m1-eth0-0");
        assert_eq!(claim_name("m1", "Eth_0.1", 2), "m1-eth-0-1-2");
    }
}
