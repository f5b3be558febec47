//! The guest reads the seed the operator writes, with its own ISO reader:
//! host name, instance and provider ID, addresses, and a digest of the
//! bootstrap data; and it rejects what cloud-init would reject, without
//! panicking on garbage.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use operator::bootstrap::{DeviceConfig, SeedSpec, build_iso, render};
use proptest::prelude::*;
use scvmm_sim::guest::{SeedError, read_seed};

fn spec() -> SeedSpec {
    SeedSpec {
        instance_id: "4217c2a5-0a5e-4b9c-9c1e-0123456789ab".into(),
        hostname: "worker-1".into(),
        devices: vec![
            DeviceConfig {
                name: "eth0".into(),
                addresses: vec!["10.0.0.21/24".into()],
                gateway4: Some("10.0.0.1".into()),
                ..Default::default()
            },
            DeviceConfig {
                name: "eth1".into(),
                mac_address: Some("00:15:5d:01:02:03".into()),
                dhcp4: true,
                ..Default::default()
            },
        ],
        user_data: b"#cloud-config\nruncmd: [echo hi]\n".to_vec(),
    }
}

#[test]
fn the_guest_takes_identity_and_addresses_from_the_operators_seed() {
    let iso = build_iso(&render(&spec()).unwrap()).unwrap();
    let seed = read_seed(&iso).unwrap();
    assert_eq!(seed.hostname.as_deref(), Some("worker-1"));
    assert_eq!(
        seed.instance_id.as_deref(),
        Some("4217c2a5-0a5e-4b9c-9c1e-0123456789ab")
    );
    assert_eq!(
        seed.provider_id.as_deref(),
        Some("scvmm://4217c2a5-0a5e-4b9c-9c1e-0123456789ab")
    );
    assert_eq!(seed.interfaces.len(), 2);
    assert_eq!(
        seed.interfaces[0].addresses,
        vec!["10.0.0.21/24".to_string()]
    );
    assert!(!seed.interfaces[0].dhcp4);
    assert!(seed.interfaces[1].dhcp4);
    assert_eq!(
        seed.interfaces[1].mac_address.as_deref(),
        Some("00:15:5d:01:02:03")
    );
    assert_eq!(seed.user_data_len, spec().user_data.len());
    assert_eq!(seed.user_data_sha256.len(), 64);
}

#[test]
fn an_iso_that_is_not_a_seed_is_refused() {
    let iso = build_iso(&render(&spec()).unwrap()).unwrap();
    let mut relabelled = iso.clone();
    relabelled[16 * 2048 + 40..16 * 2048 + 46].copy_from_slice(b"DATA  ");
    assert!(matches!(
        read_seed(&relabelled),
        Err(SeedError::NotNoCloud(_))
    ));
    assert!(read_seed(b"not an iso at all").is_err());
    assert!(read_seed(&vec![0u8; 40 * 2048]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Corrupting any bytes of a real seed gives an answer or an error, never a panic.
    #[test]
    fn corrupted_seeds_never_panic(edits in proptest::collection::vec((0usize..60_000, any::<u8>()), 1..64)) {
        let mut iso = build_iso(&render(&spec()).unwrap()).unwrap();
        let len = iso.len();
        for (at, byte) in edits {
            iso[at % len] = byte;
        }
        let _ = read_seed(&iso);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80_000)) {
        let _ = read_seed(&bytes);
    }
}
