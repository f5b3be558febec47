//! What a booted VM does: read its NoCloud seed from the attached ISO, take
//! the host name and addresses it was given, report them back through the
//! VMM model, and optionally register a Node (a fake kubelet, for e2e).

pub mod boot;
pub mod clusters;
pub mod iso;
pub mod kubeadm;
pub mod node;
pub mod seed;

pub use boot::{GuestRecord, GuestSimulator, GuestTable};
pub use kubeadm::{KubeadmBootstrap, KubeadmRole, read_kubeadm};
pub use node::{KubeletInfo, NodeError, NodeIdentity, NodeRegistrar, Target};
pub use seed::{GuestInterface, GuestSeed, SeedError, read_seed};
