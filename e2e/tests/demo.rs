//! `just demo` (the README's first command) does what it says: the sample
//! cluster's machines (1 control plane, 2 workers) become Running Machines
//! with Nodes in the workload cluster, through the real Cluster API
//! controllers, our `manager` and `scvmm-sim`, and the demo leaves nothing
//! behind when it exits. Runs the demo binary as a user would; it needs the
//! `manager` and `scvmm-sim` binaries built (`just binaries`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[test]
fn the_demo_brings_the_sample_cluster_up_and_cleans_up() {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        // The defaults, whatever the caller's environment says.
        .env_remove("SCVMM_DEMO_LATENCY_SCALE")
        .env_remove("SCVMM_DEMO_CONTROL_PLANE_MACHINES")
        .env_remove("SCVMM_DEMO_WORKER_MACHINES")
        .env_remove("SCVMM_DEMO_EXIT_WHEN_RUNNING")
        .args(["--exit-when-running", "300"])
        .output()
        .expect("the demo binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("demo: every machine is Running with a Node"),
        "{stdout}"
    );

    let last_table = stdout.rsplit("\nMACHINE ").next().unwrap_or_default();
    let rows: Vec<&str> = last_table
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("demo-"))
        .collect();
    let role = |r: &str| rows.iter().filter(|l| l.contains(r)).count();
    assert_eq!(rows.len(), 3, "{last_table}");
    assert_eq!(role(" control-plane "), 1, "{last_table}");
    assert_eq!(role(" worker "), 2, "{last_table}");
    for row in &rows {
        let cells: Vec<&str> = row.split_whitespace().collect();
        // MACHINE ROLE PHASE TIME VM ADDRESS NODE PROVIDER-ID
        assert_eq!(cells.len(), 8, "{row}");
        assert_eq!(cells[2], "Running", "Machine phase: {row}");
        assert_eq!(cells[4], "Running", "VM: {row}");
        assert_ne!(cells[5], "-", "guest address: {row}");
        assert_eq!(
            cells[6], cells[0],
            "the Node is named after the Machine: {row}"
        );
        assert!(cells[7].starts_with("scvmm://"), "{row}");
    }

    // Everything it started is gone, its directory too.
    let dir = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("logs"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the demo prints its logs directory");
    assert!(!Path::new(dir).exists(), "{dir} is left behind:\n{stdout}");
    assert!(
        stdout.contains("demo: stopped; nothing is left running"),
        "{stdout}"
    );
    let up = stdout
        .lines()
        .rfind(|l| l.starts_with("every machine is Running with a Node:"))
        .unwrap_or_default();
    eprintln!(
        "demo: {up}; the whole run took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
