//! The guest hook: when a VM starts with a seed ISO attached, read the seed,
//! and after a boot delay report the host name and IPv4 addresses back to
//! the VMM model, as Hyper-V's KVP integration would; with a node
//! registrar, also play the kubelet (see `super::node`).

use super::node::{NodeIdentity, NodeRegistrar};
use super::seed::{GuestSeed, read_seed};
use crate::vmm::{GuestBoot, GuestHook, Vmm};
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use uuid::Uuid;

/// What the emulator knows about one guest, for the inspection API.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestRecord {
    /// Host name the guest took from its seed.
    pub hostname: Option<String>,
    /// Instance ID from meta-data.
    pub instance_id: Option<String>,
    /// Provider ID from meta-data.
    pub provider_id: Option<String>,
    /// SHA-256 of the user-data it booted with.
    pub user_data_sha256: Option<String>,
    /// Why the seed could not be used, if it could not.
    pub seed_error: Option<String>,
    /// Addresses reported, per adapter.
    pub addresses: BTreeMap<String, Vec<String>>,
    /// What kubeadm runs in the guest (`init`, `joinControlPlane`,
    /// `joinWorker`), when its bootstrap data is kubeadm's.
    pub kubeadm: Option<super::kubeadm::KubeadmRole>,
    /// The API server endpoint the guest's kubeadm talks to.
    pub cluster_endpoint: Option<String>,
    /// Name of the Node the guest registers (`--register-nodes-kubeconfig`,
    /// `--join-kubeadm-clusters`).
    pub node: Option<String>,
    /// Where that registration stands: pending, registered, retrying or
    /// failed with the last error, marked Unknown; or why there is none.
    pub node_registration: Option<String>,
}

/// Guest records by VM id.
pub type GuestTable = Arc<Mutex<BTreeMap<Uuid, GuestRecord>>>;

/// Boots guests for a shared model.
pub struct GuestSimulator {
    vmm: Weak<Mutex<Vmm>>,
    records: GuestTable,
    boot_delay: Duration,
    runtime: tokio::runtime::Handle,
    next_dhcp: AtomicU32,
    nodes: Option<Arc<NodeRegistrar>>,
    /// The last seed each VM booted from: cloud-init configures the guest
    /// once, so a later boot without the ISO (the operator ejects it)
    /// keeps that host name, identity and addresses.
    configured: Mutex<HashMap<Uuid, GuestSeed>>,
}

impl GuestSimulator {
    /// A hook that reports back into `vmm` after `boot_delay` and, with
    /// `nodes`, registers the guest's Node then; it must be created inside
    /// a tokio runtime.
    pub fn new(
        vmm: &Arc<Mutex<Vmm>>,
        records: GuestTable,
        boot_delay: Duration,
        nodes: Option<Arc<NodeRegistrar>>,
    ) -> Option<Arc<Self>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(Arc::new(Self {
            vmm: Arc::downgrade(vmm),
            records,
            boot_delay,
            runtime,
            next_dhcp: AtomicU32::new(10),
            nodes,
            configured: Mutex::default(),
        }))
    }

    /// The next address of the simulated DHCP range (172.31.0.0/16).
    fn dhcp_address(&self) -> Ipv4Addr {
        let n = self.next_dhcp.fetch_add(1, Ordering::Relaxed);
        Ipv4Addr::new(172, 31, ((n >> 8) & 0xff) as u8, (n & 0xff) as u8)
    }

    fn plan(&self, boot: &GuestBoot, seed: Option<&GuestSeed>) -> Vec<(Uuid, Vec<Ipv4Addr>)> {
        let mut out = Vec::new();
        for (i, adapter) in boot.adapters.iter().enumerate() {
            let iface = seed.and_then(|s| {
                s.interfaces
                    .iter()
                    .find(|f| {
                        f.mac_address
                            .as_deref()
                            .zip(adapter.mac_address.as_deref())
                            .is_some_and(|(a, b)| {
                                a.replace('-', ":")
                                    .eq_ignore_ascii_case(&b.replace('-', ":"))
                            })
                    })
                    .or_else(|| {
                        s.interfaces
                            .iter()
                            .filter(|f| f.mac_address.is_none())
                            .nth(i)
                    })
            });
            let mut addrs: Vec<Ipv4Addr> = iface
                .map(|f| {
                    f.addresses
                        .iter()
                        .filter_map(|a| a.split('/').next()?.parse::<Ipv4Addr>().ok())
                        .collect()
                })
                .unwrap_or_default();
            if addrs.is_empty() {
                addrs = adapter
                    .static_ipv4
                    .iter()
                    .filter_map(|a| a.parse().ok())
                    .collect();
            }
            if addrs.is_empty() && (iface.is_some_and(|f| f.dhcp4) || seed.is_none()) {
                addrs.push(self.dhcp_address());
            }
            out.push((adapter.id, addrs));
        }
        out
    }
}

impl GuestHook for GuestSimulator {
    fn on_boot(&self, boot: &GuestBoot) {
        let (seed, error) = match &boot.media {
            Some(media) => match read_seed(&media.bytes) {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e.to_string())),
            },
            None => (None, None),
        };
        let seed = match (seed, &boot.media, self.configured.lock()) {
            (Some(s), _, Ok(mut configured)) => {
                configured.insert(boot.vm, s.clone());
                Some(s)
            }
            (None, None, Ok(configured)) => configured.get(&boot.vm).cloned(),
            (seed, _, _) => seed,
        };
        let plan = self.plan(boot, seed.as_ref());
        let hostname = seed
            .as_ref()
            .and_then(|s| s.hostname.clone())
            .or_else(|| boot.computer_name.clone());
        let mut record = GuestRecord {
            hostname: hostname.clone(),
            instance_id: seed.as_ref().and_then(|s| s.instance_id.clone()),
            provider_id: seed.as_ref().and_then(|s| s.provider_id.clone()),
            user_data_sha256: seed.as_ref().map(|s| s.user_data_sha256.clone()),
            seed_error: error,
            addresses: plan
                .iter()
                .map(|(id, a)| (id.to_string(), a.iter().map(ToString::to_string).collect()))
                .collect(),
            kubeadm: seed
                .as_ref()
                .and_then(|s| s.kubeadm.as_ref().map(|k| k.role)),
            cluster_endpoint: seed
                .as_ref()
                .and_then(|s| s.kubeadm.as_ref().map(|k| k.endpoint.clone())),
            node: None,
            node_registration: None,
        };
        // Only a guest configured from a seed runs a kubelet.
        let kubelet = match (&self.nodes, &seed) {
            (Some(nodes), Some(seed)) => {
                let ips = plan
                    .iter()
                    .flat_map(|(_, a)| a.iter().map(ToString::to_string));
                let target = match &seed.kubeadm_error {
                    Some(e) => Err(format!("not registered: {e}")),
                    None => nodes.target(seed.kubeadm.as_ref()),
                };
                match target.and_then(|t| {
                    NodeIdentity::from_guest(boot, &record, ips.collect(), Uuid::new_v4())
                        .map(|id| (t, id))
                }) {
                    Ok((target, mut identity)) => {
                        identity.control_plane = seed
                            .kubeadm
                            .as_ref()
                            .is_some_and(|k| k.role.control_plane());
                        record.node = Some(identity.name.clone());
                        record.node_registration = Some("pending: registers once booted".into());
                        Some((nodes, identity, target))
                    }
                    Err(why) => {
                        record.node_registration = Some(why);
                        None
                    }
                }
            }
            _ => None,
        };
        if let Ok(mut records) = self.records.lock() {
            records.insert(boot.vm, record);
        }
        if let Some((nodes, identity, target)) = kubelet {
            nodes.booted(boot.vm, &boot.name, identity, target, self.boot_delay);
        }
        let vmm = self.vmm.clone();
        let vm = boot.vm;
        let delay = self.boot_delay;
        // Reporting re-enters the model, which holds its lock while calling
        // this hook; it has to happen later, on another task.
        self.runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            let Some(vmm) = vmm.upgrade() else { return };
            let Ok(mut vmm) = vmm.lock() else { return };
            if let Some(name) = &hostname {
                let _ = vmm.report_guest_computer_name(vm, name);
            }
            for (adapter, addrs) in plan {
                if !addrs.is_empty() {
                    let _ = vmm.report_guest_addresses(vm, adapter, &addrs);
                }
            }
        });
    }

    fn on_power_off(&self, vm: Uuid) {
        if let Some(nodes) = &self.nodes {
            nodes.stopped(vm);
        }
    }

    fn on_removed(&self, vm: Uuid) {
        if let Ok(mut records) = self.records.lock() {
            records.remove(&vm);
        }
        if let Ok(mut configured) = self.configured.lock() {
            configured.remove(&vm);
        }
        if let Some(nodes) = &self.nodes {
            nodes.removed(vm);
        }
    }
}
