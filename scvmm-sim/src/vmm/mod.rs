//! The VMM object model and cmdlet semantics, as a pure library: no
//! PowerShell parsing and no networking.
//!
//! [`Vmm`] holds an [`Inventory`] (fabric and library) and a [`State`]
//! (VMs, jobs, allocations, files). Each cmdlet family is a typed method:
//! a request struct in, VMM objects or a [`VmmError`] out. Mutating
//! operations create [`Job`]s that complete against a [`Clock`]: the model
//! never sleeps, it *settles* (completes every job whose due time has
//! passed) whenever it is touched. `-RunAsynchronously` means "return the
//! [`Submitted`] object now"; blocking means "call [`Vmm::wait_for_job`]".
//!
//! Every object also has a generic property view ([`Vmm::view`]) with VMM's
//! property names and typed values, for PowerShell member access and
//! `ConvertTo-Json`.
//!
//! Behaviour the reference marks uncertain is switchable in [`Behaviour`];
//! durations live in [`Latencies`]; faults are data ([`FaultRule`]).

#![warn(missing_docs)]

pub mod clock;
pub mod cmdlets;
pub mod config;
pub mod enums;
pub mod errors;
pub mod faults;
pub mod guest;
pub mod ids;
pub mod inventory;
mod jobs;
pub mod objects;
mod placement;
pub mod rng;
pub mod specs;
pub mod state;
pub mod value;
mod views;
pub mod wildcard;

use std::sync::Arc;

use uuid::Uuid;

pub use clock::{Clock, ManualClock, SystemClock, Time};
pub use cmdlets::{Ref, Submitted, VmmObject};
pub use config::{Behaviour, Latencies, Op};
pub use enums::{JobStatus, VmState, VmmEnum};
pub use errors::{ErrorCategory, VmmError, VmmResult};
pub use faults::{FaultEffect, FaultRule, Faults};
pub use guest::{GuestAdapter, GuestBoot, GuestHook, GuestMedia};
pub use ids::{IdGen, RandomIds, SeededIds};
pub use inventory::Inventory;
pub use objects::Job;
pub use state::{Snapshot, State};
pub use value::{ObjectKind, ObjectRef, ObjectView, Property, Value};

use rng::Rng;

/// How a model is set up, apart from its clock and id generator.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Options {
    /// Behaviour switches.
    pub behaviour: Behaviour,
    /// Job durations.
    pub latencies: Latencies,
    /// Fault rules active from the start.
    pub faults: Vec<FaultRule>,
    /// Seed for jitter, MAC choice and fault probabilities.
    pub seed: u64,
}

/// The VMM server model.
pub struct Vmm {
    inventory: Inventory,
    state: State,
    behaviour: Behaviour,
    latencies: Latencies,
    faults: Faults,
    clock: Arc<dyn Clock>,
    ids: Box<dyn IdGen>,
    rng: Rng,
    guest: Option<Arc<dyn GuestHook>>,
}

impl std::fmt::Debug for Vmm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vmm")
            .field("server", &self.inventory.server.name)
            .field("vms", &self.state.vms.len())
            .field("jobs", &self.state.jobs.len())
            .field("now", &self.clock.now())
            .finish_non_exhaustive()
    }
}

impl Vmm {
    /// A model over `inventory` with empty state.
    pub fn new(
        inventory: Inventory,
        options: Options,
        clock: Arc<dyn Clock>,
        ids: Box<dyn IdGen>,
    ) -> Self {
        Self::from_snapshot(
            Snapshot {
                inventory,
                state: State::default(),
            },
            options,
            clock,
            ids,
        )
    }

    /// A model resuming from a saved snapshot. Give it an id generator that
    /// will not repeat the ids already in the snapshot (`RandomIds`, or a
    /// seed other than the one the snapshot was made with).
    pub fn from_snapshot(
        snapshot: Snapshot,
        options: Options,
        clock: Arc<dyn Clock>,
        ids: Box<dyn IdGen>,
    ) -> Self {
        Self {
            inventory: snapshot.inventory,
            state: snapshot.state,
            behaviour: options.behaviour,
            latencies: options.latencies,
            faults: Faults::new(options.faults, options.seed),
            clock,
            ids,
            rng: Rng::new(options.seed),
            guest: None,
        }
    }

    /// A reproducible model for tests: a manual clock at
    /// [`Time::DEFAULT_START`] (returned so the test can move it), ids
    /// from seed `options.seed`.
    pub fn with_manual_clock(inventory: Inventory, options: Options) -> (Self, ManualClock) {
        let clock = ManualClock::default();
        let ids = Box::new(SeededIds::new(options.seed));
        let vmm = Self::new(inventory, options, Arc::new(clock.clone()), ids);
        (vmm, clock)
    }

    /// Inventory and state, for saving.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            inventory: self.inventory.clone(),
            state: self.state.clone(),
        }
    }

    /// The inventory.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The inventory, for administrative changes (adding hosts, pools, ...).
    /// Call [`Inventory::normalise`] after adding objects without ids.
    pub fn inventory_mut(&mut self) -> &mut Inventory {
        &mut self.inventory
    }

    /// The runtime state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The behaviour switches.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// The behaviour switches, to change them at run time.
    pub fn behaviour_mut(&mut self) -> &mut Behaviour {
        &mut self.behaviour
    }

    /// The latency model, to change it at run time.
    pub fn latencies_mut(&mut self) -> &mut Latencies {
        &mut self.latencies
    }

    /// The fault rules.
    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }

    /// Installs the guest hook.
    pub fn set_guest_hook(&mut self, hook: Arc<dyn GuestHook>) {
        self.guest = Some(hook);
    }

    /// The current model time.
    pub fn now(&self) -> Time {
        self.clock.now()
    }

    /// A fresh id.
    fn new_id(&mut self) -> Uuid {
        self.ids.next_id()
    }

    /// Puts a host into or out of maintenance mode (admin/chaos).
    pub fn set_host_maintenance(&mut self, host: Uuid, on: bool) -> VmmResult<()> {
        let h = self
            .inventory
            .host_mut(host)
            .ok_or_else(|| VmmError::not_found("VMHost", &host.to_string()))?;
        h.maintenance = on;
        Ok(())
    }

    /// Makes a host's agent stop or resume responding (admin/chaos). VMs on
    /// a non-responding host show `HostNotResponding` until it responds.
    pub fn set_host_responding(&mut self, host: Uuid, responding: bool) -> VmmResult<()> {
        self.settle();
        let h = self
            .inventory
            .host_mut(host)
            .ok_or_else(|| VmmError::not_found("VMHost", &host.to_string()))?;
        h.responding = responding;
        for vm in self.state.vms.iter_mut().filter(|v| v.host == Some(host)) {
            if !responding && !vm.status.is_transitional() {
                vm.status = VmState::HostNotResponding;
            } else if responding && vm.status == VmState::HostNotResponding {
                vm.status = vm.power;
            }
        }
        Ok(())
    }

    /// Makes the VMM service stop or resume answering (Get-SCVMMServer
    /// then fails with 1602).
    pub fn set_server_responding(&mut self, responding: bool) {
        self.inventory.server.responding = responding;
    }
}
