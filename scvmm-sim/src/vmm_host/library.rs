//! Read-SCLibraryShare, Remove-SCISO.

use crate::ps::eval::HostContext;
use crate::vmm::cmdlets::{ReadLibraryShare, RemoveIso};
use crate::vmm::{ObjectKind, VmmObject};

use super::args::Args;
use super::{Cmd, Res, VmmHost};

pub(crate) const CMDS: &[Cmd] = &[
    Cmd {
        name: "Read-SCLibraryShare",
        class: "RefreshLibraryShareCmdlet",
        positional: &["LibraryShare"],
        params: &["Path"],
        switches: &[],
        pipeline: Some("LibraryShare"),
        mutating: true,
        run: read_share,
    },
    Cmd {
        name: "Remove-SCISO",
        class: "RemoveISOCmdlet",
        positional: &["ISO"],
        params: &[],
        switches: &["Force"],
        pipeline: Some("ISO"),
        mutating: true,
        run: remove_iso,
    },
];

fn read_share(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let req = ReadLibraryShare {
        share: a.req_object("LibraryShare", ObjectKind::LibraryShare)?,
        path: a.string("Path")?,
    };
    let s = h.lock().read_library_share(&req)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn remove_iso(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let req = RemoveIso {
        iso: a.req_object("ISO", ObjectKind::Iso)?,
        force: a.switch("Force"),
    };
    let s = h.lock().remove_iso(&req)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}
