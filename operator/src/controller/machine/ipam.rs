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
            let parsed: Result<std::net::IpAddr, _> = ip.spec.address.parse();
            let prefix = ip.spec.prefix.unwrap_or(-1);
            match parsed {
                Ok(a) if (0..=if a.is_ipv4() { 32 } else { 128 }).contains(&prefix) => {
                    resolved.addresses.push(format!("{a}/{prefix}"));
                    if resolved.gateway4.is_none() && a.is_ipv4() {
                        resolved.gateway4 = ip.spec.gateway.clone();
                    }
                }
                _ => {
                    return Ok(IpamState::Invalid(format!(
                        "IPAddress {ns}/{} has address {:?} with prefix {:?}; the IPAM provider must give an IP and a prefix length",
                        addr_ref.name, ip.spec.address, ip.spec.prefix
                    )));
                }
            }
        }
        out.push(resolved);
    }
    Ok(IpamState::Ready(out))
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
