//! VMM objects: the inventory (host groups, hosts, clouds, templates,
//! networks, IP pools, library) and the runtime objects (VMs, jobs, ISOs,
//! IP allocations, VM configurations).

pub mod cloud;
pub mod custom_property;
pub mod host;
pub mod host_group;
pub mod ip_pool;
pub mod job;
pub mod library;
pub mod network;
pub mod server;
pub mod storage;
pub mod template;
pub mod vm;
pub mod vm_configuration;

pub use cloud::{Cloud, CloudCapacity};
pub use custom_property::CustomPropertyDef;
pub use host::{Host, HostCluster};
pub use host_group::{HostGroup, ROOT_HOST_GROUP, path_is_under};
pub use ip_pool::{AllocatedIpAddress, Cidr, StaticIpPool};
pub use job::{Job, JobEffect, JobFault};
pub use library::{Iso, LibraryShare, StoredFile, VirtualHardDisk};
pub use network::{LogicalNetwork, VmNetwork, VmSubnet};
pub use server::{ServerInfo, User};
pub use storage::{FibreChannelSan, StorageFabricClassification};
pub use template::{DiskSpec, DvdSpec, DynamicMemory, HardwareProfile, NicSpec, Template};
pub use vm::{DiskDrive, DvdDrive, FibreChannelAdapter, GuestFacts, NetworkAdapter, Vm};
pub use vm_configuration::VmConfiguration;
