//! `meta-data`: who the machine is.

use serde::Serialize;

#[derive(Serialize)]
struct MetaData<'a> {
    #[serde(rename = "instance-id")]
    instance_id: &'a str,
    #[serde(rename = "local-hostname")]
    local_hostname: &'a str,
    /// Read by the cluster templates (`{{ ds.meta_data.provider_id }}`) to give
    /// kubelet its `--provider-id`, so the Node matches the Machine without a
    /// cloud controller manager.
    #[serde(rename = "provider-id")]
    provider_id: String,
}

/// Renders `meta-data` as YAML.
pub fn render_meta_data(instance_id: &str, hostname: &str) -> Result<String, crate::Error> {
    let doc = MetaData {
        instance_id,
        local_hostname: hostname,
        provider_id: super::provider_id(instance_id),
    };
    serde_saphyr::to_string(&doc).map_err(|e| crate::Error::Seed(format!("meta-data: {e}")))
}
