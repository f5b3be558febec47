//! scvmm-sim: an SCVMM emulator that speaks WinRM and runs VMM PowerShell,
//! the way govmomi's vcsim serves vSphere.
//!
//! - [`vmm`]: the VMM object model and cmdlet semantics (statuses, jobs,
//!   locks, error IDs, placement, IP pools, library, faults as data).
//! - [`ps`]: the PowerShell subset: lexer, parser, printer and evaluator
//!   (Windows PowerShell 5.1 semantics, ConvertTo-Json quirks included).
//! - [`vmm_host`]: the VMM cmdlets bound to the evaluator.
//! - [`guest`]: what a booted VM does with its cloud-init seed.
//! - [`admin`]: the inspection API, web page and metrics.
//! - [`winrm_faults`]: fault rules applied at the WinRM level (timeouts,
//!   dropped connections, HTTP 500, delays).
//! - [`cli`]: the binary's flags.
//! - [`server`]: the running emulator (model, guests, WinRM endpoint, API).
//! - [`backend`] and [`runner`]: how WinRM commands run (EncodedCommand,
//!   `-Command -` sessions across Sends, cmd builtins) on the evaluator.

pub mod admin;
pub mod backend;
pub mod cli;
pub mod guest;
pub mod ps;
pub mod runner;
pub mod server;
pub mod vmm;
pub mod vmm_host;
pub mod winrm_faults;
