//! Get-SCVMMServer.

use crate::ps::eval::{HostContext, Value};
use crate::vmm::VmmObject;
use crate::vmm::cmdlets::GetVmmServer;

use super::args::Args;
use super::convert::object_value;
use super::{Cmd, Res, VmmHost};

pub(crate) const CMDS: &[Cmd] = &[Cmd {
    name: "Get-SCVMMServer",
    class: "GetVMMServerCmdlet",
    positional: &["ComputerName"],
    params: &[
        "TCPPort",
        "Credential",
        "ConnectAs",
        "UserRoleName",
        "UserRoleID",
    ],
    switches: &[
        "ForOnBehalfOf",
        "SetAsDefault",
        "RetainObjectCache",
        "RetainDeletedObjects",
        "AllowJobGC",
    ],
    pipeline: None,
    mutating: false,
    run: get_server,
}];

fn get_server(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let user = match a.raw("Credential") {
        Some(Value::Credential(c)) => Some(c.user_name.clone()),
        Some(Value::String(s)) => Some(s.to_string()),
        _ => h.user.clone(),
    };
    let req = GetVmmServer {
        computer_name: a.string("ComputerName")?.unwrap_or_default(),
        tcp_port: a.int("TCPPort", "System.Int32")?,
        user,
    };
    let conn = h.lock().get_vmm_server(&req)?;
    let r = conn.object_ref();
    h.connection = Some(conn);
    Ok(vec![object_value(r)])
}
