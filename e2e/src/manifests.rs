//! Applying multi-document YAML manifests (samples, cluster templates) the
//! way `kubectl apply --server-side` does: each document's kind is resolved
//! through discovery, then server-side applied into a namespace.

use crate::testbed::Error;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};
use std::path::PathBuf;

/// One applied object, for reporting.
#[derive(Debug, Clone)]
pub struct Applied {
    pub kind: String,
    pub name: String,
}

/// Server-side applies every document of `yaml` with field manager
/// `manager`: namespaced kinds into the namespace the document names, else
/// into `namespace`; cluster-scoped kinds ignore both (the API server drops
/// a namespace clusterctl may have set on them).
pub async fn apply(
    client: &Client,
    namespace: &str,
    yaml: &str,
    manager: &str,
) -> Result<Vec<Applied>, Error> {
    let bad = |detail: String| Error::Manifest {
        path: PathBuf::from("<manifest>"),
        detail,
    };
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(yaml).map_err(|e| bad(e.to_string()))?;
    let mut applied = Vec::new();
    for doc in docs.into_iter().filter(|d| !d.is_null()) {
        let obj: DynamicObject =
            serde_json::from_value(doc.clone()).map_err(|e| bad(e.to_string()))?;
        let types = obj
            .types
            .clone()
            .ok_or_else(|| bad("a document has no apiVersion/kind".into()))?;
        let name = obj
            .metadata
            .name
            .clone()
            .ok_or_else(|| bad(format!("a {} has no metadata.name", types.kind)))?;
        let gvk = GroupVersionKind::try_from(&types).map_err(|e| bad(e.to_string()))?;
        let (resource, caps) =
            pinned_kind(client, &gvk)
                .await
                .map_err(crate::testbed::kube_err(format!(
                    "discovering {}",
                    types.kind
                )))?;
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => Api::namespaced_with(
                client.clone(),
                obj.metadata.namespace.as_deref().unwrap_or(namespace),
                &resource,
            ),
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        api.patch(
            &name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(&doc),
        )
        .await
        .map_err(crate::testbed::kube_err(format!(
            "applying {} {name}",
            types.kind
        )))?;
        applied.push(Applied {
            kind: types.kind,
            name,
        });
    }
    Ok(applied)
}
