//! The cloud-init seed: the files are what cloud-init expects (snapshots),
//! the ISO carries the `cidata` label and the files under their real names,
//! and whatever a user puts in host names or bootstrap data survives intact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use operator::bootstrap::{DeviceConfig, SeedSpec, VOLUME_LABEL, build_iso, render};
use proptest::prelude::*;

fn static_spec() -> SeedSpec {
    SeedSpec {
        instance_id: "4217c2a5-0a5e-4b9c-9c1e-0123456789ab".into(),
        hostname: "worker-1".into(),
        devices: vec![
            DeviceConfig {
                name: "eth0".into(),
                addresses: vec!["10.0.0.21/24".into(), "fd00::21/64".into()],
                gateway4: Some("10.0.0.1".into()),
                gateway6: Some("fd00::1".into()),
                nameservers: vec!["10.0.0.2".into()],
                search_domains: vec!["corp.example".into()],
                mtu: Some(9000),
                ..Default::default()
            },
            DeviceConfig {
                name: "eth1".into(),
                mac_address: Some("00-15-5D-01-02-03".into()),
                dhcp4: true,
                ..Default::default()
            },
        ],
        user_data: b"#cloud-config\nruncmd:\n  - echo hi\n".to_vec(),
    }
}

#[test]
fn meta_data_names_the_instance_host_and_provider_id() {
    let seed = render(&static_spec()).unwrap();
    insta::assert_snapshot!("meta-data", seed.meta_data);
}

#[test]
fn network_config_is_netplan_v2_with_routes_and_dns() {
    let seed = render(&static_spec()).unwrap();
    insta::assert_snapshot!("network-config", seed.network_config.unwrap());
}

#[test]
fn no_devices_means_no_network_config() {
    let spec = SeedSpec {
        devices: vec![],
        ..static_spec()
    };
    assert_eq!(render(&spec).unwrap().network_config, None);
}

/// Reads a file's bytes from the image by scanning for its content: an
/// independent check that does not go through the library that wrote it.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_iso_is_labelled_cidata_and_holds_the_files_by_name() {
    let seed = render(&static_spec()).unwrap();
    let iso = build_iso(&seed).unwrap();
    assert_eq!(iso.len() % 2048, 0);
    // Primary volume descriptor: sector 16, type 1, "CD001", label at 40..72.
    let pvd = &iso[16 * 2048..17 * 2048];
    assert_eq!(pvd[0], 1);
    assert_eq!(&pvd[1..6], b"CD001");
    assert_eq!(
        std::str::from_utf8(&pvd[40..72]).unwrap().trim_end(),
        VOLUME_LABEL
    );
    assert!(contains(&iso, &seed.user_data));
    assert!(contains(&iso, seed.meta_data.as_bytes()));
    // Rock Ridge "NM" entries carry the real (lower-case, dashed) names.
    for name in ["meta-data", "user-data", "network-config"] {
        assert!(
            contains(&iso, name.as_bytes()),
            "{name} is not in the image"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any host name and instance ID round-trip through the YAML unchanged
    /// (quoting is the serializer's job, never string pasting).
    #[test]
    fn meta_data_round_trips(host in "[a-z0-9][a-z0-9.-]{0,62}", id in "[0-9a-f-]{36}") {
        let md = operator::bootstrap::render_meta_data(&id, &host).unwrap();
        let parsed: std::collections::BTreeMap<String, String> = serde_saphyr::from_str(&md).unwrap();
        prop_assert_eq!(parsed.get("local-hostname"), Some(&host));
        prop_assert_eq!(parsed.get("instance-id"), Some(&id));
        prop_assert_eq!(parsed.get("provider-id"), Some(&format!("scvmm://{id}")));
    }

    /// Bootstrap data of any bytes lands in the image byte for byte.
    #[test]
    fn user_data_is_carried_verbatim(data in proptest::collection::vec(any::<u8>(), 1..4096)) {
        let spec = SeedSpec { user_data: data.clone(), ..static_spec() };
        let iso = build_iso(&render(&spec).unwrap()).unwrap();
        prop_assert!(contains(&iso, &data));
    }
}
