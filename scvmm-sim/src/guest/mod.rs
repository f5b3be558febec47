//! What a booted VM does: read its NoCloud seed from the attached ISO, take
//! the host name and addresses it was given, and (later) report them back
//! through the VMM model and optionally register a Node.

pub mod boot;
pub mod iso;
pub mod seed;

pub use boot::{GuestRecord, GuestSimulator, GuestTable};
pub use seed::{GuestInterface, GuestSeed, SeedError, read_seed};
