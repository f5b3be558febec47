//! The VMM cmdlets as a [`CommandHost`] for the PowerShell evaluator.
//!
//! [`VmmHost`] binds every cmdlet the model ([`crate::vmm`]) supports:
//! arguments are converted with PowerShell-style binding errors
//! ([`args`]), objects are handed to scripts as live [`HostRef`]s that
//! resolve to the model's current view ([`convert`]), and VMM errors become
//! `CarmineException`-shaped [`PsError`]s (terminating or not, as the model
//! says; the evaluator applies `-ErrorAction`).
//!
//! Mutating cmdlets without `-RunAsynchronously` block until their job
//! ends. The model sits behind a mutex shared with other sessions, so the
//! wait never holds the lock: it reads the job under the lock, releases
//! it, waits on the clock until the job's due time (at most
//! [`VmmHost::poll_interval`] at a time, so jobs changed by others —
//! `Stop-SCJob`, faults — are noticed), and looks again. With the system
//! clock that is a real sleep, so a server must call the evaluator on a
//! blocking thread; with a manual clock the wait jumps the clock.
//! `Start-Sleep` and `Get-Date` use the same clock, so polling loops in
//! scripts advance a manual clock too.
//!
//! Parameters are declared per cmdlet (strict binding: an unknown name is
//! PowerShell's "A parameter cannot be found ..." error). A few real
//! parameters the model cannot represent (guest customization on
//! New-SCVirtualMachine, `-SkipFileRemoval`, `-ReturnToPool`, `-SlotID` on
//! New-SCVirtualNetworkAdapter, ...) are accepted and ignored; they are
//! marked where declared. The cmdlet class names in
//! `FullyQualifiedErrorId` are VMM's where the reference has them
//! (`NewNICCmdlet`) and inferred otherwise.

// `PsError` is the evaluator's error type and large by design (the
// `CommandHost` trait returns it by value).
#![allow(clippy::result_large_err)]

pub mod args;
pub mod convert;
mod devices;
mod ip;
mod jobs;
mod library;
mod query;
mod server;
mod vm;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use uuid::Uuid;

use crate::ps::eval::{
    BoundArguments, CommandHost, CommandSignature, ErrorCategory, HostContext, HostObject, HostRef,
    PsError, Value,
};
use crate::vmm::cmdlets::{JobQuery, ServerConnection};
use crate::vmm::errors::ErrorCategory as VmmCategory;
use crate::vmm::{Clock, Job, ObjectKind, ObjectRef, Vmm, VmmError, VmmObject};

use args::Args;
use convert::{host_object, object_value};

/// A cmdlet failure: a binding error or a VMM error.
pub(crate) enum Fail {
    /// Already a PowerShell error (binding).
    Ps(PsError),
    /// A VMM error, converted with the cmdlet's class name.
    Vmm(VmmError),
}

impl From<PsError> for Fail {
    fn from(e: PsError) -> Self {
        Fail::Ps(e)
    }
}

impl From<VmmError> for Fail {
    fn from(e: VmmError) -> Self {
        Fail::Vmm(e)
    }
}

/// What a cmdlet implementation returns.
pub(crate) type Res = Result<Vec<Value>, Fail>;

/// A cmdlet implementation.
pub(crate) type Run = fn(&mut VmmHost, &Args<'_>, &mut HostContext<'_>) -> Res;

/// One bound cmdlet.
pub(crate) struct Cmd {
    /// The cmdlet name.
    pub name: &'static str,
    /// VMM's cmdlet class (for `FullyQualifiedErrorId`).
    pub class: &'static str,
    /// Parameters that can be given by position, in order.
    pub positional: &'static [&'static str],
    /// Other value parameters.
    pub params: &'static [&'static str],
    /// Switch parameters.
    pub switches: &'static [&'static str],
    /// The parameter pipeline input binds to.
    pub pipeline: Option<&'static str>,
    /// Mutating: also takes `-RunAsynchronously`, `-JobVariable`,
    /// `-PROTipID`.
    pub mutating: bool,
    /// The implementation.
    pub run: Run,
}

/// Parameters every VMM cmdlet takes.
const COMMON: &[&str] = &["VMMServer", "OnBehalfOfUser", "OnBehalfOfUserRole"];
/// Parameters of every mutating VMM cmdlet.
const MUTATING: &[&str] = &["JobVariable", "PROTipID"];

impl Cmd {
    fn value_params(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.positional
            .iter()
            .chain(self.params)
            .chain(COMMON)
            .chain(if self.mutating { MUTATING } else { &[] })
            .copied()
    }

    fn switch_params(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.switches
            .iter()
            .copied()
            .chain(self.mutating.then_some("RunAsynchronously"))
    }

    fn accepts(&self, name: &str) -> bool {
        self.value_params()
            .chain(self.switch_params())
            .any(|p| p.eq_ignore_ascii_case(name))
    }

    fn signature(&self) -> CommandSignature {
        let mut sig = CommandSignature::new();
        for (i, p) in self.positional.iter().enumerate() {
            sig = sig.positional(p, i);
        }
        for p in self.value_params().skip(self.positional.len()) {
            sig = sig.param(p);
        }
        for s in self.switch_params() {
            sig = sig.switch(s);
        }
        sig
    }
}

fn all_cmds() -> impl Iterator<Item = &'static Cmd> {
    server::CMDS
        .iter()
        .chain(query::CMDS)
        .chain(vm::CMDS)
        .chain(devices::CMDS)
        .chain(library::CMDS)
        .chain(ip::CMDS)
        .chain(jobs::CMDS)
}

fn find(name: &str) -> Option<&'static Cmd> {
    all_cmds().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The names of every cmdlet the host binds.
pub fn cmdlet_names() -> Vec<&'static str> {
    all_cmds().map(|c| c.name).collect()
}

/// The VMM cmdlets over a shared model.
pub struct VmmHost {
    vmm: Arc<Mutex<Vmm>>,
    clock: Arc<dyn Clock>,
    user: Option<String>,
    connection: Option<ServerConnection>,
    poll: Duration,
}

impl std::fmt::Debug for VmmHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmmHost")
            .field("user", &self.user)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

impl VmmHost {
    /// A host over `vmm`, whose clock is `clock` (the same clock the model
    /// was built with: blocking cmdlets wait on it).
    pub fn new(vmm: Arc<Mutex<Vmm>>, clock: Arc<dyn Clock>) -> Self {
        Self {
            vmm,
            clock,
            user: None,
            connection: None,
            poll: Duration::from_millis(500),
        }
    }

    /// The connecting user (`DOMAIN\user`, from the WinRM session); used by
    /// Get-SCVMMServer when no `-Credential` is given.
    #[must_use]
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The longest single wait of a blocking cmdlet before it looks at its
    /// job again (default 500 ms).
    #[must_use]
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll.max(Duration::from_millis(1));
        self
    }

    /// The shared model.
    pub fn vmm(&self) -> &Arc<Mutex<Vmm>> {
        &self.vmm
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Vmm> {
        self.vmm.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until job `id` ends, without holding the model lock while
    /// waiting. `Ok` when it succeeded, else its error.
    pub(crate) fn wait_job(&self, id: Uuid) -> Result<Job, VmmError> {
        loop {
            let due = {
                let mut vmm = self.lock();
                let job = vmm
                    .get_jobs(&JobQuery {
                        id: Some(id),
                        ..JobQuery::default()
                    })?
                    .into_iter()
                    .next()
                    .ok_or_else(|| VmmError::not_found("Job", &id.to_string()))?;
                if !job.is_running() {
                    return if job.status.is_success() {
                        Ok(job)
                    } else {
                        Err(job
                            .error
                            .clone()
                            .unwrap_or_else(VmmError::job_canceled)
                            .for_job(id))
                    };
                }
                job.due
            };
            let now = self.clock.now();
            let step = now.plus(self.poll);
            self.clock.wait_until(if due < step { due } else { step });
        }
    }

    /// The common tail of a mutating cmdlet: `-JobVariable`, then blocking
    /// unless `-RunAsynchronously`; returns the object (read again after
    /// the job).
    pub(crate) fn submitted(
        &mut self,
        a: &Args<'_>,
        ctx: &mut HostContext<'_>,
        object: ObjectRef,
        job: Option<&Job>,
    ) -> Res {
        self.finish_job(a, ctx, job)?;
        Ok(vec![object_value(object)])
    }

    /// `-JobVariable` and blocking, without output.
    pub(crate) fn finish_job(
        &mut self,
        a: &Args<'_>,
        ctx: &mut HostContext<'_>,
        job: Option<&Job>,
    ) -> Result<(), Fail> {
        let var = a.string("JobVariable")?;
        if let Some(job) = job {
            if let Some(var) = var {
                ctx.set_variable(&var, object_value(job.object_ref()));
            }
            if !a.switch("RunAsynchronously") {
                self.wait_job(job.id)?;
            }
        }
        Ok(())
    }

    fn vmm_error(cmd: &Cmd, e: &VmmError, ctx: &HostContext<'_>) -> PsError {
        let mut pe = PsError::vmm(ctx.invocation_name(), cmd.class, e.id, e.full_text());
        pe.category = match e.category {
            VmmCategory::ReadError => ErrorCategory::ReadError,
            VmmCategory::InvalidArgument => ErrorCategory::InvalidArgument,
            VmmCategory::ObjectNotFound => ErrorCategory::ObjectNotFound,
            VmmCategory::ConnectionError => ErrorCategory::ConnectionError,
        };
        pe
    }

    fn dispatch(
        &mut self,
        cmd: &Cmd,
        bound: &BoundArguments,
        input: Vec<Value>,
        ctx: &mut HostContext<'_>,
    ) -> Result<Vec<Value>, PsError> {
        let invoked = ctx.invocation_name().to_string();
        if let Some((n, _)) = bound.named().iter().find(|(n, _)| !cmd.accepts(n)) {
            return Err(args::unknown_parameter(&invoked, n));
        }
        if let Some(v) = bound.positional().first() {
            return Err(PsError::binding(
                &invoked,
                format!(
                    "A positional parameter cannot be found that accepts argument '{}'.",
                    args::text(v).unwrap_or_default()
                ),
                "PositionalParameterNotFound",
            ));
        }
        let piped = match cmd.pipeline {
            Some(p) if !input.is_empty() && !bound.has(p) => Some(p),
            _ if !input.is_empty() => {
                return Err(PsError::binding(
                    &invoked,
                    "The input object cannot be bound to any parameters for the command either because the command does not take pipeline input or the input and its properties do not match any of the parameters that take pipeline input.",
                    "InputObjectNotBound",
                ));
            }
            _ => None,
        };
        let calls: Vec<BoundArguments> = match piped {
            Some(p) => input
                .into_iter()
                .map(|item| {
                    let mut b = bound.clone();
                    b.set(p, item);
                    b
                })
                .collect(),
            None => vec![bound.clone()],
        };
        let mut out = Vec::new();
        for b in &calls {
            let a = Args {
                cmd: &invoked,
                bound: b,
            };
            match (cmd.run)(self, &a, ctx) {
                Ok(v) => out.extend(v),
                Err(Fail::Ps(e)) => return Err(e),
                Err(Fail::Vmm(e)) => {
                    let pe = Self::vmm_error(cmd, &e, ctx);
                    if e.terminating {
                        return Err(pe);
                    }
                    ctx.write_error(pe);
                }
            }
        }
        Ok(out)
    }
}

impl CommandHost for VmmHost {
    fn invoke(
        &mut self,
        name: &str,
        args: &BoundArguments,
        input: Vec<Value>,
        ctx: &mut HostContext<'_>,
    ) -> Option<Result<Vec<Value>, PsError>> {
        let cmd = find(name)?;
        Some(self.dispatch(cmd, args, input, ctx))
    }

    fn signature(&self, name: &str) -> Option<CommandSignature> {
        find(name).map(Cmd::signature)
    }

    fn has_command(&self, name: &str) -> bool {
        find(name).is_some()
    }

    fn resolve(&mut self, object: &HostRef) -> Option<HostObject> {
        let r = object.payload::<ObjectRef>().copied()?;
        let mut vmm = self.lock();
        vmm.settle();
        let view = if r.kind == ObjectKind::ServerConnection {
            Some(vmm.server_view(self.connection.as_ref()))
        } else {
            vmm.view(r)
        };
        view.map(|v| host_object(&v))
    }

    fn now(&self) -> jiff::Timestamp {
        self.clock
            .now()
            .to_timestamp()
            .unwrap_or_else(jiff::Timestamp::now)
    }

    fn sleep(&mut self, duration: Duration) {
        let until = self.clock.now().plus(duration);
        self.clock.wait_until(until);
    }
}
