//! VMM object ids (GUIDs): an injectable generator for ids created at run
//! time, and stable ids for inventory objects that a file did not give one.

use uuid::Uuid;

use super::rng::Rng;

/// Makes the GUIDs of new objects (VMs, jobs, adapters, ...).
pub trait IdGen: Send + Sync + std::fmt::Debug {
    /// A new id, never returned before by this generator.
    fn next_id(&mut self) -> Uuid;
}

/// Ids from a seeded generator: the same seed gives the same ids, so test
/// runs and snapshots are reproducible. Ids look like version 4 GUIDs.
#[derive(Clone, Debug)]
pub struct SeededIds {
    rng: Rng,
}

impl SeededIds {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
        }
    }
}

impl IdGen for SeededIds {
    fn next_id(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.rng.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.rng.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// Random version 4 ids, for a running emulator.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn next_id(&mut self) -> Uuid {
        Uuid::new_v4()
    }
}

/// A stable id for an inventory object from its kind and key (path or name),
/// so an inventory file may leave ids out and still get the same ids on
/// every load.
pub fn stable_id(kind: &str, key: &str) -> Uuid {
    // Two FNV-1a passes with different offsets, mixed through SplitMix64:
    // not cryptographic, only stable and well spread.
    let fnv = |offset: u64| {
        let mut h = offset;
        for b in kind
            .bytes()
            .chain(std::iter::once(0))
            .chain(key.to_lowercase().bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        Rng::new(h).next_u64()
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&fnv(0xCBF2_9CE4_8422_2325).to_le_bytes());
    bytes[8..].copy_from_slice(&fnv(0x8422_2325_CBF2_9CE4).to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}
