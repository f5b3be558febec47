//! Grant-SCIPAddress, Revoke-SCIPAddress, Get-SCIPAddress: addresses from
//! static IP pools. An address is never granted twice from a pool; revoking
//! returns it.

use std::net::Ipv4Addr;

use uuid::Uuid;

use super::super::Vmm;
use super::super::errors::{VmmError, VmmResult};
use super::super::objects::AllocatedIpAddress;
use super::Ref;

/// `Grant-SCIPAddress -StaticIPAddressPool -GrantToObjectType
/// [-GrantToObjectID] [-IPAddress] [-Description]`.
#[derive(Clone, Debug, PartialEq)]
pub struct GrantIp {
    /// `-StaticIPAddressPool`.
    pub pool: Ref,
    /// `-GrantToObjectType` (VirtualNetworkAdapter, VirtualMachine, VIP, ...).
    pub object_type: String,
    /// `-GrantToObjectID`.
    pub object_id: Option<Uuid>,
    /// `-IPAddress`: a specific address; VMM picks one when absent.
    pub address: Option<String>,
    /// `-Description`.
    pub description: String,
}

/// `Revoke-SCIPAddress [-AllocatedIPAddress]`: by allocation id, or by the
/// address itself as a name.
#[derive(Clone, Debug, PartialEq)]
pub struct RevokeIp {
    /// The allocation.
    pub allocation: Ref,
}

/// `Get-SCIPAddress [-IPAddress] [-ID] [-StaticIPAddressPool]
/// [-GrantToObjectID]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IpQuery {
    /// `-IPAddress`.
    pub address: Option<String>,
    /// `-ID`.
    pub id: Option<Uuid>,
    /// `-StaticIPAddressPool`.
    pub pool: Option<Ref>,
    /// `-GrantToObjectID`.
    pub assigned_to: Option<Uuid>,
}

fn parse_ipv4(cmdlet: &str, text: &str) -> VmmResult<Ipv4Addr> {
    text.trim().parse().map_err(|_| {
        VmmError::invalid_parameter(
            cmdlet,
            &format!("Cannot validate argument on parameter 'IPAddress'. '{text}' is not a valid IPv4 address."),
        )
    })
}

impl Vmm {
    /// Takes an address from `pool`: `requested` if given (must be in range
    /// and free), else the lowest free one.
    pub(crate) fn allocate_ip(
        &mut self,
        pool: Uuid,
        requested: Option<Ipv4Addr>,
        to_type: &str,
        to_id: Option<Uuid>,
        description: &str,
    ) -> VmmResult<AllocatedIpAddress> {
        let p = self
            .inventory
            .ip_pool(pool)
            .ok_or_else(|| VmmError::not_found("StaticIPAddressPool", &pool.to_string()))?;
        let taken = |a: Ipv4Addr| {
            self.state
                .allocations
                .iter()
                .any(|x| x.pool == pool && x.address == a)
        };
        let address = match requested {
            Some(a) => {
                if !p.in_range(a) || p.reserved.contains(&a) {
                    return Err(VmmError::ip_out_of_range(&a.to_string(), &p.name));
                }
                if taken(a) {
                    return Err(VmmError::ip_already_allocated(&a.to_string(), &p.name));
                }
                a
            }
            None => p
                .addresses()
                .find(|a| !taken(*a))
                .ok_or_else(|| VmmError::ip_pool_exhausted(&p.name))?,
        };
        let allocation = AllocatedIpAddress {
            id: self.new_id(),
            address,
            pool,
            assigned_to_type: to_type.to_string(),
            assigned_to_id: to_id,
            description: description.to_string(),
            granted: self.now(),
        };
        self.state.allocations.push(allocation.clone());
        Ok(allocation)
    }

    /// Grant-SCIPAddress.
    pub fn grant_ip(&mut self, req: &GrantIp) -> VmmResult<AllocatedIpAddress> {
        self.settle();
        let pool = self.resolve_ip_pool(&req.pool, "Grant-SCIPAddress")?;
        let pool_name = self
            .inventory
            .ip_pool(pool)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        self.inject("Grant-SCIPAddress", &pool_name, None)?;
        let requested = req
            .address
            .as_deref()
            .map(|a| parse_ipv4("Grant-SCIPAddress", a))
            .transpose()?;
        self.allocate_ip(
            pool,
            requested,
            &req.object_type,
            req.object_id,
            &req.description,
        )
    }

    /// Revoke-SCIPAddress: returns the address to its pool (and takes it
    /// off any adapter showing it).
    pub fn revoke_ip(&mut self, req: &RevokeIp) -> VmmResult<AllocatedIpAddress> {
        self.settle();
        let found = match &req.allocation {
            Ref::Id(id) => self.state.allocations.iter().find(|a| a.id == *id),
            Ref::Name(addr) => {
                let addr = parse_ipv4("Revoke-SCIPAddress", addr)?;
                self.state.allocations.iter().find(|a| a.address == addr)
            }
        }
        .cloned();
        let Some(allocation) = found else {
            let what = match &req.allocation {
                Ref::Id(id) => id.to_string(),
                Ref::Name(n) => n.clone(),
            };
            return Err(VmmError::not_found("AllocatedIPAddress", &what));
        };
        self.inject("Revoke-SCIPAddress", &allocation.address.to_string(), None)?;
        self.state.allocations.retain(|a| a.id != allocation.id);
        let shown = allocation.address.to_string();
        for vm in &mut self.state.vms {
            for a in &mut vm.adapters {
                if a.allocations.contains(&allocation.id) {
                    a.allocations.retain(|x| *x != allocation.id);
                    a.ipv4_addresses.retain(|x| *x != shown);
                }
            }
        }
        Ok(allocation)
    }

    /// Get-SCIPAddress.
    pub fn get_ip_addresses(&mut self, q: &IpQuery) -> VmmResult<Vec<AllocatedIpAddress>> {
        self.settle();
        let pool = q
            .pool
            .as_ref()
            .map(|p| self.resolve_ip_pool(p, "Get-SCIPAddress"))
            .transpose()?;
        let address = q
            .address
            .as_deref()
            .map(|a| parse_ipv4("Get-SCIPAddress", a))
            .transpose()?;
        Ok(self
            .state
            .allocations
            .iter()
            .filter(|a| q.id.is_none_or(|id| a.id == id))
            .filter(|a| pool.is_none_or(|p| a.pool == p))
            .filter(|a| address.is_none_or(|x| a.address == x))
            .filter(|a| q.assigned_to.is_none_or(|t| a.assigned_to_id == Some(t)))
            .cloned()
            .collect())
    }
}
