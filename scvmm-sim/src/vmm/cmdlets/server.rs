//! Get-SCVMMServer: connecting to the VMM server.

use super::super::Vmm;
use super::super::enums::UserRoleProfile;
use super::super::errors::{VmmError, VmmResult};
use super::super::inventory::same_name;
use super::super::objects::ServerInfo;
use super::VmmObject;
use crate::vmm::value::ObjectRef;

/// `Get-SCVMMServer [-ComputerName] <String> [-TCPPort <Int32>] [-Credential]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GetVmmServer {
    /// `-ComputerName`: the server's FQDN, short name, `localhost` or `.`.
    pub computer_name: String,
    /// `-TCPPort` (default 8100).
    pub tcp_port: Option<u16>,
    /// The connecting user (`DOMAIN\user`), from `-Credential` or the
    /// WinRM session; `None` is the first configured user.
    pub user: Option<String>,
}

/// A `ServerConnection`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConnection {
    /// The server.
    pub server: ServerInfo,
    /// `ConnectedUserName`.
    pub user: String,
    /// `UserRole` profile.
    pub role: UserRoleProfile,
    /// User role name.
    pub role_name: String,
}

impl VmmObject for ServerConnection {
    fn object_ref(&self) -> ObjectRef {
        self.server.object_ref()
    }
}

impl Vmm {
    /// Get-SCVMMServer. Fails with 1602 when the service does not answer
    /// (see `set_server_responding`), the name is not this server's, or
    /// the port is wrong; with 1604 for a user without a role.
    pub fn get_vmm_server(&mut self, req: &GetVmmServer) -> VmmResult<ServerConnection> {
        self.settle();
        self.inject("Get-SCVMMServer", &req.computer_name, None)?;
        let server = &self.inventory.server;
        let name = req.computer_name.trim();
        let short = server.name.split('.').next().unwrap_or(&server.name);
        let known = name.is_empty()
            || same_name(name, &server.name)
            || same_name(name, short)
            || same_name(name, "localhost")
            || name == "."
            || name == "127.0.0.1";
        if !server.responding || !known || req.tcp_port.is_some_and(|p| p != server.port) {
            return Err(VmmError::cannot_connect(if name.is_empty() {
                "localhost"
            } else {
                name
            }));
        }
        let user = match &req.user {
            None => self.inventory.users.first().cloned(),
            Some(u) => {
                let found = self.inventory.users.iter().find(|x| {
                    same_name(&x.name, u)
                        || x.name
                            .rsplit('\\')
                            .next()
                            .is_some_and(|short| same_name(short, u))
                });
                match found {
                    Some(f) => Some(f.clone()),
                    None if self.inventory.users.is_empty() => None,
                    None => return Err(VmmError::access_denied(u, &server.name)),
                }
            }
        };
        Ok(ServerConnection {
            server: server.clone(),
            user: user
                .as_ref()
                .map_or_else(|| req.user.clone().unwrap_or_default(), |u| u.name.clone()),
            role: user
                .as_ref()
                .map_or(UserRoleProfile::Administrator, |u| u.role),
            role_name: user
                .as_ref()
                .map_or_else(|| "Administrator".to_string(), |u| u.role_name.clone()),
        })
    }
}
