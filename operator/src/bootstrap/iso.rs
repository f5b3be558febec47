//! Packing a seed into an ISO 9660 image (Rock Ridge and Joliet names, so
//! every guest sees `meta-data` rather than `META_DAT;1`).

use super::Seed;
use hadris_iso::write::options::{CreationFeatures, IsoFormatOptions};
use hadris_iso::write::{InputEntry, InputTree, IsoImageWriter};
use std::io::Cursor;

/// The volume label cloud-init's NoCloud data source looks for.
pub const VOLUME_LABEL: &str = "cidata";

/// Builds the seed ISO in memory.
pub fn build_iso(seed: &Seed) -> Result<Vec<u8>, crate::Error> {
    let mut entries = vec![
        InputEntry::file("meta-data", seed.meta_data.clone().into_bytes()),
        InputEntry::file("user-data", seed.user_data.clone()),
    ];
    if let Some(nc) = &seed.network_config {
        entries.push(InputEntry::file("network-config", nc.clone().into_bytes()));
    }
    let tree = InputTree::new(hadris_iso::read::PathSeparator::ForwardSlash, entries);
    let options = IsoFormatOptions {
        volume_name: VOLUME_LABEL.into(),
        system_id: None,
        volume_set_id: None,
        publisher_id: None,
        preparer_id: None,
        application_id: Some("cluster-api-provider-scvmm".into()),
        sector_size: 2048,
        path_separator: hadris_iso::read::PathSeparator::ForwardSlash,
        // Stores the label as given: NoCloud matches `cidata` case-insensitively,
        // but some tools only look for the lower-case spelling.
        strict_charset: false,
        features: CreationFeatures::extensions(),
    };
    IsoImageWriter::create(Cursor::new(Vec::new()), tree, options)
        .map(Cursor::into_inner)
        .map_err(|e| crate::Error::Seed(format!("ISO image: {e}")))
}
