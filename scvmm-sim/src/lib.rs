//! scvmm-sim: an SCVMM emulator that speaks WinRM and runs VMM PowerShell,
//! the way govmomi's vcsim serves vSphere.
//!
//! - [`vmm`]: the VMM object model and cmdlet semantics (statuses, jobs,
//!   locks, error IDs, placement, IP pools, library, faults as data).
//! - [`ps`]: the PowerShell subset (lexer, parser, printer; the evaluator is
//!   being built).
//! - [`guest`]: what a booted VM does with its cloud-init seed.
//! - [`admin`]: the inspection API, web page and metrics.
//! - [`cli`]: the binary's flags.
//! - [`server`]: the running emulator (model, guests, WinRM endpoint, API).
//! - [`backend`]: how WinRM commands run (EncodedCommand, `-Command -`
//!   sessions, cmd builtins) over a [`backend::ScriptRunner`].
//!
//! Still to come (issue #4): the evaluator and the cmdlet bindings that make
//! the runner real (the binary says so until then).

pub mod admin;
pub mod backend;
pub mod cli;
pub mod guest;
pub mod ps;
pub mod server;
pub mod vmm;
