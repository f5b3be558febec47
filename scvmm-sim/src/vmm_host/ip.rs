//! Grant-SCIPAddress, Revoke-SCIPAddress, Get-SCIPAddress.

use crate::ps::eval::HostContext;
use crate::vmm::cmdlets::{GrantIp, IpQuery, RevokeIp};
use crate::vmm::{ObjectKind, VmmObject};

use super::args::Args;
use super::convert::object_value;
use super::{Cmd, Res, VmmHost};

pub(crate) const CMDS: &[Cmd] = &[
    Cmd {
        name: "Grant-SCIPAddress",
        class: "GrantIPAddressCmdlet",
        positional: &[],
        params: &[
            "GrantToObjectType",
            "GrantToObjectID",
            "StaticIPAddressPool",
            "IPAddress",
            "Description",
            // Accepted, not modelled.
            "ExplicitRevokeRequired",
            "DisableReconcile",
        ],
        switches: &[],
        pipeline: None,
        mutating: true,
        run: grant,
    },
    Cmd {
        name: "Revoke-SCIPAddress",
        class: "RevokeIPAddressCmdlet",
        positional: &["AllocatedIPAddress"],
        params: &["ReturnToPool"],
        switches: &[],
        pipeline: Some("AllocatedIPAddress"),
        mutating: true,
        run: revoke,
    },
    Cmd {
        name: "Get-SCIPAddress",
        class: "GetIPAddressCmdlet",
        positional: &["IPAddress"],
        params: &["ID", "StaticIPAddressPool", "GrantToObjectID"],
        switches: &["All"],
        pipeline: None,
        mutating: false,
        run: get,
    },
];

fn grant(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let req = GrantIp {
        pool: a.req_object("StaticIPAddressPool", ObjectKind::StaticIpPool)?,
        object_type: a.req_string("GrantToObjectType")?,
        object_id: a.guid("GrantToObjectID")?,
        address: a.string("IPAddress")?,
        description: a.string("Description")?.unwrap_or_default(),
    };
    let ip = h.lock().grant_ip(&req)?;
    Ok(vec![object_value(ip.object_ref())])
}

fn revoke(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let req = RevokeIp {
        allocation: a.req_object("AllocatedIPAddress", ObjectKind::AllocatedIpAddress)?,
    };
    let ip = h.lock().revoke_ip(&req)?;
    Ok(vec![object_value(ip.object_ref())])
}

fn get(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let q = IpQuery {
        address: a.string("IPAddress")?,
        id: a.guid("ID")?,
        pool: a.object("StaticIPAddressPool", ObjectKind::StaticIpPool)?,
        assigned_to: a.guid("GrantToObjectID")?,
    };
    let items = h.lock().get_ip_addresses(&q)?;
    Ok(items.iter().map(|i| object_value(i.object_ref())).collect())
}
