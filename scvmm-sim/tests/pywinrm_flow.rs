//! pywinrm (a client we did not write) drives the emulator through a VM's
//! whole life over NTLM-sealed WinRM, running VMM PowerShell as automation
//! writes it: upload a real cloud-init seed (built by the operator's code)
//! to the library in chunks, index it, create a VM from a template, attach
//! the seed, start it, see the guest's configured address, stop, remove.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use operator::bootstrap::{DeviceConfig, SeedSpec, build_iso, render};
use scvmm_sim::backend::PowerShellBackend;
use scvmm_sim::cli::Args;
use scvmm_sim::vmm::SystemClock;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SCVMM_TESTBED_CACHE") {
        return PathBuf::from(d);
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("scvmm-capi-testbed")
}

/// The pywinrm venv shared with the wsman conformance tests.
fn pywinrm() -> PathBuf {
    let dir = cache_dir().join("pywinrm-0.5.0-venv");
    let py = dir.join("bin/python");
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", "import winrm"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready(&py) {
        std::fs::create_dir_all(cache_dir()).unwrap();
        let lock = std::fs::File::create(cache_dir().join(".pywinrm-0.5.0-venv.lock")).unwrap();
        lock.lock().unwrap();
        if !ready(&py) {
            assert!(
                Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&dir)
                    .status()
                    .unwrap()
                    .success()
            );
            let out = Command::new(dir.join("bin/pip"))
                .args(["install", "--quiet", "pywinrm==0.5.0"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "pip install pywinrm: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    py
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pywinrm_runs_a_vm_through_its_whole_life() {
    let args = Args::parse_from([
        "scvmm-sim",
        "--listen",
        "127.0.0.1:0",
        "--latency-scale",
        "0.01",
    ]);
    let sim = scvmm_sim::server::start(&args, |vmm| {
        Arc::new(PowerShellBackend::new(scvmm_sim::runner::factory(
            vmm,
            Arc::new(SystemClock),
        )))
    })
    .await
    .unwrap();
    let url = format!("http://127.0.0.1:{}/wsman", sim.handle.local_addr().port());

    let seed = render(&SeedSpec {
        instance_id: "4217c2a5-0a5e-4b9c-9c1e-0123456789ab".into(),
        hostname: "flow-vm".into(),
        devices: vec![DeviceConfig {
            name: "eth0".into(),
            addresses: vec!["10.20.0.50/24".into()],
            gateway4: Some("10.20.0.1".into()),
            ..Default::default()
        }],
        user_data: b"#cloud-config\n".to_vec(),
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("seed.iso");
    std::fs::write(&iso, build_iso(&seed).unwrap()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/pywinrm_flow.py");
    let py = pywinrm();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .arg(script)
            .args([url.as_str(), "CORP\\capi-svc", "scvmm-sim"])
            .arg(&iso)
            .arg("flow-vm")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "flow failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |name: &str| {
        steps
            .iter()
            .rev()
            .find(|s| s["step"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(step("index")["stdout"], "flow-vm.iso");
    assert_eq!(step("create")["stdout"], "UnderCreation", "{stdout}");
    assert_eq!(
        step("guest")["addresses"],
        "10.20.0.50",
        "the guest takes its address from the seed: {stdout}"
    );
    assert_eq!(step("stop")["stdout"], "PowerOff");
    assert_eq!(step("remove")["stdout"], "0");

    // Nothing is left behind: no VM, no seed ISO, no open shell.
    let vmm = sim.vmm.lock().unwrap();
    assert!(vmm.state().vms.is_empty());
    assert!(
        vmm.state().isos.iter().all(|i| !i.name.contains("flow-vm")),
        "{:?}",
        vmm.state().isos
    );
    drop(vmm);
    assert_eq!(sim.service.open_shells(), 0);
}
