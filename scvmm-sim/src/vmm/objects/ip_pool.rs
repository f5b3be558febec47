//! Static IP address pools and the addresses granted from them.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::vmm::clock::Time;

/// An IPv4 subnet in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub network: Ipv4Addr,
    /// Prefix length (0–32).
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.trim().split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        if prefix > 32 {
            return None;
        }
        let network = Ipv4Addr::from(u32::from(addr) & Self::mask_bits(prefix));
        Some(Cidr { network, prefix })
    }

    fn mask_bits(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        }
    }

    /// Whether `addr` is in this subnet.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & Self::mask_bits(self.prefix) == u32::from(self.network)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A static IPv4 address pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaticIpPool {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// VM subnet name the pool serves (VM network pools).
    #[serde(default)]
    pub vm_subnet: Option<String>,
    /// Logical network name (network site pools).
    #[serde(default)]
    pub logical_network: Option<String>,
    /// Subnet (CIDR).
    pub subnet: String,
    /// First address of the range.
    pub range_start: Ipv4Addr,
    /// Last address of the range (inclusive).
    pub range_end: Ipv4Addr,
    /// Default gateways.
    #[serde(default)]
    pub gateways: Vec<Ipv4Addr>,
    /// DNS servers.
    #[serde(default)]
    pub dns_servers: Vec<Ipv4Addr>,
    /// DNS suffix.
    #[serde(default)]
    pub dns_suffix: String,
    /// DNS search suffixes.
    #[serde(default)]
    pub dns_search_suffixes: Vec<String>,
    /// Host groups (paths) the pool is available to.
    #[serde(default)]
    pub host_groups: Vec<String>,
    /// Addresses in the range VMM must never hand out.
    #[serde(default)]
    pub reserved: Vec<Ipv4Addr>,
    /// Description.
    #[serde(default)]
    pub description: String,
}

impl StaticIpPool {
    /// Whether `addr` is within the pool's range.
    pub fn in_range(&self, addr: Ipv4Addr) -> bool {
        u32::from(self.range_start) <= u32::from(addr)
            && u32::from(addr) <= u32::from(self.range_end)
    }

    /// Number of addresses in the range, less reserved ones
    /// (`TotalAddresses`).
    pub fn total_addresses(&self) -> u64 {
        let span = u64::from(u32::from(self.range_end))
            .saturating_sub(u64::from(u32::from(self.range_start)))
            + 1;
        let reserved = self.reserved.iter().filter(|a| self.in_range(**a)).count() as u64;
        span.saturating_sub(reserved)
    }

    /// The addresses of the range in order.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        (u32::from(self.range_start)..=u32::from(self.range_end))
            .map(Ipv4Addr::from)
            .filter(|a| !self.reserved.contains(a))
    }

    /// The subnet's prefix length (24 when the subnet is malformed).
    pub fn prefix_length(&self) -> u8 {
        Cidr::parse(&self.subnet).map_or(24, |c| c.prefix)
    }
}

/// An address granted from a pool (`Grant-SCIPAddress`, or a NIC with a
/// static IPv4 address type).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllocatedIpAddress {
    /// VMM id.
    pub id: Uuid,
    /// The address.
    pub address: Ipv4Addr,
    /// Pool it came from.
    pub pool: Uuid,
    /// `AssignedToType` (VirtualNetworkAdapter, VirtualMachine, VIP, ...).
    pub assigned_to_type: String,
    /// `AssignedToID`.
    pub assigned_to_id: Option<Uuid>,
    /// Description.
    pub description: String,
    /// When it was granted.
    pub granted: Time,
}
