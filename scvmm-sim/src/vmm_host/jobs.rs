//! Get-SCJob, Stop-SCJob.

use crate::ps::eval::HostContext;
use crate::vmm::cmdlets::JobQuery;
use crate::vmm::{ObjectKind, Ref, VmmObject};

use super::args::Args;
use super::convert::object_value;
use super::{Cmd, Res, VmmHost};

pub(crate) const CMDS: &[Cmd] = &[
    Cmd {
        name: "Get-SCJob",
        class: "GetTaskCmdlet",
        positional: &[],
        params: &["ID", "Name", "Newest"],
        switches: &["All", "Running", "Full"],
        pipeline: None,
        mutating: false,
        run: get_job,
    },
    Cmd {
        name: "Stop-SCJob",
        class: "StopTaskCmdlet",
        positional: &["Job"],
        params: &[],
        switches: &[],
        pipeline: Some("Job"),
        mutating: false,
        run: stop_job,
    },
];

fn get_job(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let q = JobQuery {
        id: a.guid("ID")?,
        name: a.string("Name")?,
        running: a.switch("Running"),
        newest_hours: a.int("Newest", "System.Int32")?,
    };
    let jobs = h.lock().get_jobs(&q)?;
    Ok(jobs.iter().map(|j| object_value(j.object_ref())).collect())
}

fn stop_job(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let id = match a.req_object("Job", ObjectKind::Job)? {
        Ref::Id(id) => id,
        Ref::Name(n) => {
            let jobs = h.lock().get_jobs(&JobQuery {
                name: Some(n.clone()),
                running: true,
                ..JobQuery::default()
            })?;
            match jobs.first() {
                Some(j) => j.id,
                None => return Err(crate::vmm::VmmError::not_found("Job", &n).into()),
            }
        }
    };
    let job = h.lock().cancel_job(id)?;
    Ok(vec![object_value(job.object_ref())])
}
