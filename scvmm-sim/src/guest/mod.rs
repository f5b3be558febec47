//! What a booted VM does: read its NoCloud seed from the attached ISO, take
//! the host name and addresses it was given, report them back through the
//! VMM model, and optionally register a Node (a fake kubelet, for e2e).

pub mod boot;
pub mod iso;
pub mod node;
pub mod seed;

pub use boot::{GuestRecord, GuestSimulator, GuestTable};
pub use node::{KubeletInfo, NodeError, NodeIdentity, NodeRegistrar};
pub use seed::{GuestInterface, GuestSeed, SeedError, read_seed};
