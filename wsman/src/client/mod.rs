//! The client half of WinRS, used by the operator: run a command or a
//! PowerShell script on a WinRM endpoint and get its output, with the
//! guarantees the operator relies on:
//!
//! - the OperationTimeout fault on Receive means "poll again", bounded by a
//!   total deadline and an output cap;
//! - Signal(terminate) and Delete are sent on every path out of a run:
//!   success, error, deadline, and cancellation (the future being dropped);
//! - Command and Send are never retried once sent, because running a VMM
//!   script twice can create two VMs;
//! - connections (and their authentication) are reused through a pool with a
//!   ceiling, and round trips, bytes, durations and faults are counted.

mod http;
mod pool;
mod run;
mod session;
mod stats;
mod transport;

pub use pool::{Pool, PooledTransport};
pub use run::{RunOptions, run_command, run_powershell};
pub use session::ShellSession;
pub use stats::{ClientStats, StatsSnapshot};
pub use transport::{HttpReply, SoapFuture, SoapTransport, TransportFactory};
