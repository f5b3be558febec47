//! `just demo` (the README's first command) does what it says: the sample
//! cluster's machines become running VMs in scvmm-sim, provisioned through
//! the real Cluster API controllers and our operator.

use std::process::Command;

#[test]
fn the_demo_provisions_the_sample_cluster() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env("SCVMM_DEMO_SIM_PORT", "0")
        .args(["--exit-when-provisioned", "180"])
        .output()
        .expect("the demo binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("every machine is provisioned"), "{stdout}");
    let last_table = stdout.rsplit("MACHINE").next().unwrap_or_default();
    assert_eq!(
        last_table.matches("True/Ready").count(),
        2,
        "both workers are Ready: {last_table}"
    );
    assert_eq!(last_table.matches("Running").count(), 2, "{last_table}");
}
