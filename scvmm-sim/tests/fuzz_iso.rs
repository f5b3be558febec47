//! Fuzz target `iso`: a guest reading its NoCloud seed —
//! `guest::iso::read_root` (ISO 9660 with Rock Ridge and Joliet names) and
//! `guest::read_seed` (meta-data and network-config YAML, user-data and
//! the kubeadm configuration inside it).
//!
//! Inputs: seed ISOs the operator builds (`operator::bootstrap::build_iso`),
//! checked in and built afresh; images from a small ISO writer here, with
//! structure the fuzzer controls (records, extents, sizes, names, system
//! use entries, Joliet) and then mutated; seeds whose files are mutated
//! text. Properties: no panic, no hang, heap bounded by the image (files
//! are copied out, so a few times its size); what the writer put in comes
//! back out (round trip), and so does what the operator rendered.
//!
//! `SCVMM_FUZZ_SECONDS=60 cargo test -p scvmm-sim --test fuzz_iso -- --nocapture`
//! runs it longer; docs/testing.md ("Fuzzing") says more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use operator::bootstrap::{DeviceConfig, SeedSpec, build_iso, provider_id, render};
use proptest::prelude::*;
use scvmm_sim::guest::iso::read_root;
use scvmm_sim::guest::{SeedError, read_seed};
use sha2::{Digest as _, Sha256};
use wsman::fuzzing::{Corpus, Dictionary, Fuzz, Mutations, kind, mutations};

wsman::fuzz_allocator!();

const DIR: &str = env!("CARGO_MANIFEST_DIR");
const SECTOR: usize = 2048;
/// Heap a read may use per image byte: the files are copied out of the
/// image once (and once more while the Joliet tree replaces the first).
const HEAP_PER_BYTE: usize = 4;

fn corpus_dir() -> PathBuf {
    Path::new(DIR).join("tests/fuzz-corpus/iso")
}

const KUBEADM_USER_DATA: &str = "## template: jinja\n#cloud-config\nwrite_files:\n- path: /etc/kubernetes/pki/ca.crt\n  owner: root:root\n  permissions: '0640'\n  content: |\n    -----BEGIN CERTIFICATE-----\n    MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwprdWJlcm5l\n    -----END CERTIFICATE-----\n- path: /run/kubeadm/kubeadm.yaml\n  owner: root:root\n  permissions: '0640'\n  content: |\n    ---\n    apiVersion: kubeadm.k8s.io/v1beta4\n    kind: ClusterConfiguration\n    clusterName: demo\n    controlPlaneEndpoint: 10.0.0.10:6443\n    kubernetesVersion: v1.33.1\n    ---\n    apiVersion: kubeadm.k8s.io/v1beta4\n    kind: InitConfiguration\n    nodeRegistration:\n      kubeletExtraArgs:\n      - name: provider-id\n        value: scvmm://0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9\n      name: '{{ ds.meta_data.local_hostname }}'\nruncmd:\n- kubeadm init --config /run/kubeadm/kubeadm.yaml && echo success > /run/cluster-api/bootstrap-success.complete\n";

fn seed_specs() -> Vec<(&'static str, SeedSpec)> {
    vec![
        (
            "operator-kubeadm-static.iso",
            SeedSpec {
                instance_id: "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9".into(),
                hostname: "demo-control-plane-x7k2p".into(),
                devices: vec![DeviceConfig {
                    name: "eth0".into(),
                    mac_address: Some("00:15:5D:01:02:03".into()),
                    addresses: vec!["10.0.0.21/24".into()],
                    gateway4: Some("10.0.0.1".into()),
                    nameservers: vec!["10.0.0.2".into()],
                    search_domains: vec!["corp.example".into()],
                    mtu: Some(1500),
                    ..DeviceConfig::default()
                }],
                user_data: KUBEADM_USER_DATA.as_bytes().to_vec(),
            },
        ),
        (
            "operator-dhcp-two-nics.iso",
            SeedSpec {
                instance_id: "7c3b0d2e-1f4a-4b5c-9d6e-7f8091a2b3c4".into(),
                hostname: "md-0-abcde".into(),
                devices: vec![
                    DeviceConfig {
                        name: "eth0".into(),
                        dhcp4: true,
                        ..DeviceConfig::default()
                    },
                    DeviceConfig {
                        name: "eth1".into(),
                        addresses: vec!["192.168.10.5/24".into(), "fd00::5/64".into()],
                        ..DeviceConfig::default()
                    },
                ],
                user_data: b"#cloud-config\nruncmd: [echo hi]\n".to_vec(),
            },
        ),
        (
            "operator-no-network.iso",
            SeedSpec {
                instance_id: "11111111-2222-4333-8444-555555555555".into(),
                hostname: "plain".into(),
                devices: Vec::new(),
                user_data: vec![0xff, 0x00, 0x80],
            },
        ),
    ]
}

/// Writes the seed ISOs the operator builds into the corpus; run it after
/// a change to the operator's seed rendering, and check the files in.
#[test]
#[ignore = "writes the generated corpus files"]
fn regenerate_corpus() {
    std::fs::create_dir_all(corpus_dir()).unwrap();
    for (name, spec) in seed_specs() {
        let image = build_iso(&render(&spec).unwrap()).unwrap();
        std::fs::write(corpus_dir().join(name), image).unwrap();
    }
    let image = IsoSpec::sample().write();
    std::fs::write(corpus_dir().join("writer-joliet.iso"), image).unwrap();
}

/// How a test image names its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// Rock Ridge `NM` entries (what the operator's seeds carry).
    RockRidge,
    /// Short primary names and a Joliet tree with the real ones.
    Joliet,
    /// Only ISO 9660 names (`NAME.EXT;1`).
    Plain,
}

/// A small ISO 9660 image, described.
#[derive(Debug, Clone)]
struct IsoSpec {
    label: String,
    naming: Naming,
    /// (name, contents); names are unique and fit every naming.
    files: Vec<(String, Vec<u8>)>,
    /// Extra records `o0`, `o1`, ... that all point at the whole image (a
    /// hostile image: each is a file as large as the image).
    overlapping: usize,
}

fn both_endian_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
    out[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// One directory record: the fields `read_root` reads, and the rest zero.
fn record(extent: u32, size: u32, dir: bool, name: &[u8], system_use: &[u8]) -> Vec<u8> {
    let pad = usize::from(name.len().is_multiple_of(2));
    let len = 33 + name.len() + pad + system_use.len();
    let mut r = vec![0u8; len];
    r[0] = u8::try_from(len).unwrap();
    both_endian_u32(&mut r, 2, extent);
    both_endian_u32(&mut r, 10, size);
    r[25] = if dir { 0x02 } else { 0 };
    r[28] = 1;
    r[32] = u8::try_from(name.len()).unwrap();
    r[33..33 + name.len()].copy_from_slice(name);
    r[33 + name.len() + pad..].copy_from_slice(system_use);
    r
}

fn volume_descriptor(
    kind: u8,
    label: &str,
    root_extent: u32,
    root_size: u32,
    joliet: bool,
) -> Vec<u8> {
    let mut vd = vec![0u8; SECTOR];
    vd[0] = kind;
    vd[1..6].copy_from_slice(b"CD001");
    vd[6] = 1;
    let mut padded = label.as_bytes().to_vec();
    padded.resize(32, b' ');
    vd[40..72].copy_from_slice(&padded[..32]);
    if joliet {
        vd[88..91].copy_from_slice(b"%/E");
    }
    let root = record(root_extent, root_size, true, &[0], &[]);
    vd[156..156 + root.len()].copy_from_slice(&root);
    vd
}

impl IsoSpec {
    fn sample() -> IsoSpec {
        IsoSpec {
            label: "cidata".into(),
            naming: Naming::Joliet,
            files: vec![
                (
                    "meta-data".into(),
                    b"instance-id: i-1\nlocal-hostname: h1\n".to_vec(),
                ),
                ("user-data".into(), b"#cloud-config\n".to_vec()),
            ],
            overlapping: 0,
        }
    }

    fn plain_name(&self, i: usize, name: &str) -> Vec<u8> {
        if self.naming == Naming::Joliet {
            // Mangled short names, as mkisofs writes them beside Joliet.
            return format!("F{i}.;1").into_bytes();
        }
        match name.split_once('.') {
            Some((base, ext)) => format!("{}.{};1", base.to_uppercase(), ext.to_uppercase()),
            None if i.is_multiple_of(2) => format!("{}.;1", name.to_uppercase()),
            None => format!("{};1", name.to_uppercase()),
        }
        .into_bytes()
    }

    /// Directory extent of records, padded to whole sectors (records never
    /// cross a sector boundary).
    fn directory(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            let used = out.len() % SECTOR;
            if used + r.len() > SECTOR {
                out.resize(out.len() + SECTOR - used, 0);
            }
            out.extend_from_slice(r);
        }
        let sectors = out.len().div_ceil(SECTOR).max(1);
        out.resize(sectors * SECTOR, 0);
        out
    }

    fn write(&self) -> Vec<u8> {
        let joliet = self.naming == Naming::Joliet;
        // Layout: system area, PVD (16), SVD (17, Joliet), terminator,
        // root directory, Joliet root directory, file data.
        let descriptors = if joliet { 3 } else { 2 };
        let mut next = 16 + descriptors;
        let mut data_extents = Vec::new();
        // Directory sizes depend on the records, which need the data
        // extents: lay the data out after room for both directories.
        let dir_sectors = ((self.files.len() + self.overlapping) * 300).div_ceil(SECTOR) + 1;
        let root_extent = next;
        next += dir_sectors;
        let joliet_extent = next;
        if joliet {
            next += dir_sectors;
        }
        for (_, data) in &self.files {
            data_extents.push(next);
            next += data.len().div_ceil(SECTOR).max(1);
        }
        let dots = |extent: usize, size: usize| {
            vec![
                record(extent as u32, size as u32, true, &[0], &[]),
                record(extent as u32, size as u32, true, &[1], &[]),
            ]
        };
        let mut root = dots(root_extent, dir_sectors * SECTOR);
        let mut jroot = dots(joliet_extent, dir_sectors * SECTOR);
        let whole = (next * SECTOR) as u32;
        let overlapping = (0..self.overlapping).map(|i| (format!("o{i}"), None));
        let files = self.files.iter().enumerate().map(|(i, (name, data))| {
            (
                name.clone(),
                Some((data_extents[i] as u32, data.len() as u32)),
            )
        });
        for (i, (name, place)) in files.chain(overlapping).enumerate() {
            let (extent, size) = place.unwrap_or((0, whole));
            let system_use = if self.naming == Naming::RockRidge {
                let mut nm = vec![b'N', b'M', u8::try_from(5 + name.len()).unwrap(), 1, 0];
                nm.extend_from_slice(name.as_bytes());
                nm
            } else {
                Vec::new()
            };
            root.push(record(
                extent,
                size,
                false,
                &self.plain_name(i, &name),
                &system_use,
            ));
            let ucs2: Vec<u8> = name.encode_utf16().flat_map(u16::to_be_bytes).collect();
            jroot.push(record(extent, size, false, &ucs2, &[]));
        }
        let mut image = vec![0u8; 16 * SECTOR];
        image.extend(volume_descriptor(
            1,
            &self.label,
            root_extent as u32,
            (dir_sectors * SECTOR) as u32,
            false,
        ));
        if joliet {
            image.extend(volume_descriptor(
                2,
                &self.label,
                joliet_extent as u32,
                (dir_sectors * SECTOR) as u32,
                true,
            ));
        }
        let mut terminator = vec![0u8; SECTOR];
        terminator[0] = 255;
        terminator[1..6].copy_from_slice(b"CD001");
        image.extend(terminator);
        let mut dir = Self::directory(&root);
        dir.resize(dir_sectors * SECTOR, 0);
        image.extend(dir);
        if joliet {
            let mut dir = Self::directory(&jroot);
            dir.resize(dir_sectors * SECTOR, 0);
            image.extend(dir);
        }
        for (_, data) in &self.files {
            let mut block = data.clone();
            block.resize(data.len().div_ceil(SECTOR).max(1) * SECTOR, 0);
            image.extend(block);
        }
        image
    }

    /// What `read_root` must find in `image`, written from this spec.
    fn expected<'a>(&'a self, image: &'a [u8]) -> BTreeMap<String, &'a [u8]> {
        let overlapping = (0..self.overlapping).map(|i| (format!("o{i}"), image));
        self.files
            .iter()
            .map(|(name, data)| (name.clone(), data.as_slice()))
            .chain(overlapping)
            .map(|(name, data)| {
                let name = match self.naming {
                    Naming::RockRidge | Naming::Joliet => name,
                    Naming::Plain => name.to_lowercase(),
                };
                (name, data)
            })
            .collect()
    }
}

fn iso_spec() -> impl Strategy<Value = IsoSpec> {
    let name = "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,6})?(\\.[a-z]{1,3})?";
    (
        "[a-z0-9_]{0,32}",
        prop_oneof![
            Just(Naming::RockRidge),
            Just(Naming::Joliet),
            Just(Naming::Plain)
        ],
        prop::collection::btree_map(name, prop::collection::vec(any::<u8>(), 0..5000), 0..12),
        // The reader reads at most 1,024 records a directory (the two dot
        // entries and up to 12 files among them).
        prop_oneof![4 => Just(0usize), 1 => 1usize..1010],
    )
        .prop_map(|(label, naming, files, overlapping)| IsoSpec {
            label,
            naming,
            files: files.into_iter().collect(),
            overlapping,
        })
}

fn seed_kind(e: &SeedError) -> String {
    match e {
        SeedError::Iso(iso) => format!("Iso({})", iso),
        SeedError::Yaml { file, .. } => format!("Yaml({file})"),
        SeedError::Missing(file) => format!("Missing({file})"),
        other => kind(other),
    }
}

/// An image, however broken.
fn image(input: &[u8]) -> Result<String, TestCaseError> {
    let root = read_root(input);
    if let Ok(root) = &root {
        prop_assert!(root.files.values().all(|f| f.len() <= input.len()));
        prop_assert!(root.label.len() <= 32 * 3);
    }
    Ok(match read_seed(input) {
        Ok(seed) => {
            prop_assert!(seed.user_data_len <= input.len());
            if seed.kubeadm.is_some() {
                "ok:kubeadm".into()
            } else {
                "ok".into()
            }
        }
        Err(e) => {
            let text = e.to_string();
            prop_assert!(
                !text.is_empty() && text.len() <= 4096,
                "a {}-byte error: {}…",
                text.len(),
                text.chars().take(600).collect::<String>()
            );
            seed_kind(&e)
        }
    })
}

fn structure(
    spec: &IsoSpec,
    m: &Mutations,
    corpus: &Corpus,
    dict: &Dictionary,
) -> Result<String, TestCaseError> {
    let written = spec.write();
    let before = wsman::fuzzing::PeakAlloc.current_usage();
    wsman::fuzzing::PeakAlloc.reset_peak_usage();
    let root = read_root(&written);
    let extra = wsman::fuzzing::PeakAlloc
        .peak_usage()
        .saturating_sub(before);
    prop_assert!(
        extra <= HEAP_PER_BYTE * written.len() + (1 << 20),
        "reading a {}-byte image took {extra} bytes of heap",
        written.len()
    );
    prop_assert!(root.is_ok(), "a well-formed image does not read: {root:?}");
    let root = root.unwrap();
    prop_assert_eq!(&root.label, spec.label.trim_end());
    prop_assert!(root.files == spec.expected(&written), "the files differ");
    let mutated = m.apply_steps(written, corpus, dict);
    image(&mutated)
}

/// A seed whose files are text the fuzzer made.
fn seed_files(meta: &[u8], network: Option<&[u8]>, user: &[u8]) -> Vec<u8> {
    let mut files = vec![
        ("meta-data".to_string(), meta.to_vec()),
        ("user-data".to_string(), user.to_vec()),
    ];
    if let Some(n) = network {
        files.push(("network-config".to_string(), n.to_vec()));
    }
    IsoSpec {
        label: "cidata".into(),
        naming: Naming::RockRidge,
        files,
        overlapping: 0,
    }
    .write()
}

fn text_corpus() -> Corpus {
    let mut corpus = Corpus::default();
    for (_, spec) in seed_specs() {
        let seed = render(&spec).unwrap();
        corpus.push("meta-data", seed.meta_data);
        if let Some(n) = seed.network_config {
            corpus.push("network-config", n);
        }
        corpus.push("user-data", seed.user_data);
    }
    corpus.push(
        "network-config-v1",
        "version: 1\nconfig:\n- type: physical\n  name: eth0\n  mac_address: '00:15:5d:00:00:01'\n  subnets:\n  - type: static\n    address: 10.0.0.5/24\n  - type: dhcp\n",
    );
    corpus
}

fn yaml_dictionary() -> Dictionary {
    Dictionary::new()
        .words([
            "instance-id: ",
            "local-hostname: ",
            "hostname: ",
            "provider-id: ",
            "version: 2\n",
            "ethernets:\n",
            "  eth0:\n",
            "    dhcp4: true\n",
            "    addresses: [",
            "]\n",
            "match:\n",
            "macaddress: ",
            "set-name: ",
            "config:\n",
            "- type: physical\n",
            "subnets:\n",
            "---\n",
            "#cloud-config\n",
            "write_files:\n",
            "- path: /run/kubeadm/kubeadm.yaml\n",
            "  encoding: b64\n",
            "  content: |\n",
            "kind: InitConfiguration\n",
            "&a ",
            "*a",
            "!!binary ",
            "!!str ",
            "? ",
            ": ",
            "'",
            "\"",
            "\\u0000",
            "|\n",
            ">-\n",
            "~",
            "null",
            "<<: *a\n",
            "\t",
        ])
        .pairs([("[", "]"), ("{a: ", "}"), ("- ", ""), ("[[", "]]")])
        .max_len(16 * 1024)
}

/// The operator's seed, read back by the guest: what was rendered comes out.
fn seed_round_trip(spec: &SeedSpec) -> Result<String, TestCaseError> {
    let seed = render(spec);
    prop_assert!(
        seed.is_ok(),
        "the operator cannot render {spec:?}: {:?}",
        seed.err()
    );
    let image = build_iso(&seed.unwrap());
    prop_assert!(image.is_ok(), "{:?}", image.err());
    let read = read_seed(&image.unwrap());
    prop_assert!(read.is_ok(), "{:?}", read.err());
    let read = read.unwrap();
    prop_assert_eq!(read.instance_id.as_deref(), Some(spec.instance_id.as_str()));
    prop_assert_eq!(read.hostname.as_deref(), Some(spec.hostname.as_str()));
    prop_assert_eq!(read.provider_id, Some(provider_id(&spec.instance_id)));
    let digest: String = Sha256::digest(&spec.user_data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    prop_assert_eq!(read.user_data_sha256, digest);
    let mut names: Vec<&str> = spec.devices.iter().map(|d| d.name.as_str()).collect();
    names.sort_unstable();
    let read_names: Vec<&str> = read.interfaces.iter().map(|i| i.name.as_str()).collect();
    prop_assert_eq!(read_names, names);
    for device in &spec.devices {
        let guest = read
            .interfaces
            .iter()
            .find(|i| i.name == device.name)
            .unwrap();
        prop_assert_eq!(&guest.addresses, &device.addresses);
        prop_assert_eq!(guest.dhcp4, device.dhcp4);
    }
    Ok("ok".into())
}

fn seed_spec() -> impl Strategy<Value = SeedSpec> {
    let device = (
        "eth[0-9]",
        any::<bool>(),
        prop::collection::vec("10\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}/[0-9]{1,2}", 0..3),
    )
        .prop_map(|(name, dhcp4, addresses)| DeviceConfig {
            name,
            dhcp4,
            addresses,
            ..DeviceConfig::default()
        });
    (
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        // Host names as Kubernetes makes them, and some that need quoting.
        prop_oneof![
            "[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?",
            "[a-z0-9:#'\" -]{1,20}",
            "(yes|no|null|~|0x1F|1e3|true)"
        ],
        prop::collection::btree_map("eth[0-9]", device, 0..3),
        prop::collection::vec(any::<u8>(), 0..2000),
    )
        .prop_map(|(instance_id, hostname, devices, user_data)| SeedSpec {
            instance_id,
            hostname,
            devices: devices
                .into_iter()
                .map(|(name, d)| DeviceConfig { name, ..d })
                .collect(),
            user_data,
        })
}

#[test]
fn fuzz_iso() {
    let mut corpus = Corpus::from_dir(corpus_dir());
    for (name, spec) in seed_specs() {
        corpus.push(
            format!("built-{name}"),
            build_iso(&render(&spec).unwrap()).unwrap(),
        );
    }
    assert!(corpus.len() >= 7, "corpus too small: {}", corpus.len());
    let dict = Dictionary::new()
        .words([
            &b"CD001"[..],
            b"\x01CD001\x01",
            b"\xffCD001",
            b"%/E",
            b"NM",
            b"CE",
            b"cidata",
        ])
        .max_len(512 * 1024);
    let mut fuzz = Fuzz::new("iso", file!(), corpus_dir(), 4);
    fuzz.bytes("image", &corpus, &dict, HEAP_PER_BYTE, image);

    let structural = (iso_spec(), mutations(0, &dict));
    fuzz.values("structure", structural, 64 << 20, |(spec, m)| {
        structure(&spec, &m, &Corpus::default(), &dict)
    });

    let texts = text_corpus();
    let yaml = yaml_dictionary();
    fuzz.note_corpus(corpus.len());
    let files = (
        mutations(texts.len(), &yaml),
        prop::option::of(mutations(texts.len(), &yaml)),
        mutations(texts.len(), &yaml),
    );
    fuzz.values("seed-files", files, 64 << 20, |(meta, network, user)| {
        let meta = meta.apply(&texts, &yaml);
        let network = network.map(|n| n.apply(&texts, &yaml));
        let user = user.apply(&texts, &yaml);
        let iso = seed_files(&meta, network.as_deref(), &user);
        image(&iso)
    });
    fuzz.values("seed-round-trip", seed_spec(), 64 << 20, |spec| {
        seed_round_trip(&spec)
    });
    fuzz.finish();
}

/// Regression (found by this target): directory records that all point at
/// the whole image made the reader copy it once per record (1,024 records
/// in a 16 MiB image: 16 GiB).
#[test]
fn records_sharing_an_extent_do_not_multiply_memory() {
    let image = IsoSpec {
        label: "cidata".into(),
        naming: Naming::RockRidge,
        files: Vec::new(),
        overlapping: 1000,
    }
    .write();
    let before = wsman::fuzzing::PeakAlloc.current_usage();
    wsman::fuzzing::PeakAlloc.reset_peak_usage();
    let root = read_root(&image).unwrap();
    let extra = wsman::fuzzing::PeakAlloc
        .peak_usage()
        .saturating_sub(before);
    assert_eq!(root.files.len(), 1000);
    assert!(root.files.values().all(|f| f.len() == image.len()));
    // Other tests of this binary allocate meanwhile; 1,000 copies would be
    // hundreds of MiB.
    assert!(
        extra < 16 << 20,
        "{} bytes of image took {extra} bytes of heap",
        image.len()
    );
}

/// Regression (found by this target): a YAML error quoted the offending
/// scalar whole, so the message grew with the seed.
#[test]
fn yaml_errors_are_short() {
    let meta = format!("instance-id: {}e9999\n", "1".repeat(20_000));
    let image = seed_files(meta.as_bytes(), None, b"#cloud-config\n");
    let err = read_seed(&image).unwrap_err();
    assert!(matches!(err, SeedError::Yaml { .. }), "{err}");
    assert!(
        err.to_string().len() < 1024,
        "{} bytes",
        err.to_string().len()
    );
}
