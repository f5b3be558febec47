//! Objects the machine controller watches anyway (Machines, Clusters,
//! ScvmmClusters), kept in reflector stores so a reconcile reads them from
//! memory instead of asking the API server three times.
//!
//! A store is filled by the same watch that triggers reconciles, and the
//! watch event passes the store before it reaches the controller, so a
//! reconcile started by a change sees that change. An object not in the
//! store yet (the watch has not listed, or the object was made a moment
//! ago) is read from the API server.

use crate::api::ScvmmCluster;
use crate::capi::{Cluster, Machine};
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use std::sync::OnceLock;

/// The stores, set once by the machine controller when it starts.
#[derive(Default)]
pub struct Caches {
    machines: OnceLock<Store<Machine>>,
    clusters: OnceLock<Store<Cluster>>,
    scvmm_clusters: OnceLock<Store<ScvmmCluster>>,
}

impl Caches {
    /// Hands the controller's stores over (a second call is ignored).
    pub fn set(
        &self,
        machines: Store<Machine>,
        clusters: Store<Cluster>,
        scvmm_clusters: Store<ScvmmCluster>,
    ) {
        let _ = self.machines.set(machines);
        let _ = self.clusters.set(clusters);
        let _ = self.scvmm_clusters.set(scvmm_clusters);
    }

    /// The Machine `ns/name`, from memory when the store has it.
    pub async fn machine(
        &self,
        client: &kube::Client,
        ns: &str,
        name: &str,
    ) -> Result<Option<Machine>, kube::Error> {
        read(self.machines.get(), client, ns, name).await
    }

    /// The Cluster `ns/name`, from memory when the store has it.
    pub async fn cluster(
        &self,
        client: &kube::Client,
        ns: &str,
        name: &str,
    ) -> Result<Option<Cluster>, kube::Error> {
        read(self.clusters.get(), client, ns, name).await
    }

    /// The ScvmmCluster `ns/name`, from memory when the store has it.
    pub async fn scvmm_cluster(
        &self,
        client: &kube::Client,
        ns: &str,
        name: &str,
    ) -> Result<Option<ScvmmCluster>, kube::Error> {
        read(self.scvmm_clusters.get(), client, ns, name).await
    }
}

async fn read<K>(
    store: Option<&Store<K>>,
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<Option<K>, kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    if let Some(found) = store.and_then(|s| s.get(&ObjectRef::new(name).within(ns))) {
        return Ok(Some((*found).clone()));
    }
    Api::<K>::namespaced(client.clone(), ns).get_opt(name).await
}
