//! `Get-SCVirtualMachine` over WinRM against the emulator with 1,000 and
//! 10,000 VMs: commands per second and p50/p99 latency of a lookup by name
//! (1 and 8 concurrent clients), latency of the full list a batch poller
//! runs, and memory per VM. NTLM over HTTP with sealing, wsman's client
//! against `scvmm_sim::server::start` with the real PowerShell backend.
//! Prints Markdown tables; asserts nothing.
//!
//! The VMs are made through the model API (New-SCVirtualMachine from the
//! Ubuntu template, explicit host, every other one started, guest addresses
//! and computer names reported) with instant jobs and a manual clock, then
//! saved as a state file and loaded by the emulator through `--state`, its
//! normal start-up path. When the emulator refuses the file (its YAML
//! parser's node budget stops at about 2,000 VMs), the bench says so, starts
//! it empty and swaps in the model parsed from the JSON snapshot. Each
//! inventory size runs in a fresh process (the bench re-runs itself) so the
//! memory figures do not share a heap.
//!
//! `GET_VM_BENCH_SECONDS` sets the seconds per lookup row (default 2).

use clap::Parser;
use scvmm_sim::backend::PowerShellBackend;
use scvmm_sim::cli::Args;
use scvmm_sim::vmm::cmdlets::{NewVm, VmSource};
use scvmm_sim::vmm::objects::Host;
use scvmm_sim::vmm::{Inventory, Latencies, Options, RandomIds, Snapshot, SystemClock, Vmm};
use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wsman::client::{Pool, RunOptions, run_powershell};
use wsman::transport::{ClientAuth, ClientConfig, Connector, Encryption};

const USER: &str = "CORP\\bench";
const PASSWORD: &str = "bench-password";
const CHILD_ENV: &str = "GET_VM_BENCH_N";
const SIZES: [usize; 2] = [1_000, 10_000];
/// Extra hosts next to the built-in lab's five, so 10,000 VMs of 4 GB fit
/// (placement checks startup memory): 40 hosts of 2 TB.
const EXTRA_HOSTS: usize = 40;
/// `--latency-scale` of the emulator under test.
const LATENCY_SCALE: f64 = 0.01;
/// Startup memory of the Ubuntu template's VMs.
const VM_MEMORY_MB: u64 = 4096;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Resident set size of this process in bytes (`VmRSS`).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn vm_name(i: usize) -> String {
    format!("capi-bench-md-0-{i:05}")
}

/// The built-in lab plus [`EXTRA_HOSTS`] big hosts spread over its host
/// groups.
fn inventory() -> Result<Inventory, Error> {
    let mut inv = Inventory::default_inventory();
    let template = inv
        .hosts
        .first()
        .cloned()
        .ok_or("the built-in lab has no hosts")?;
    let groups = [
        "All Hosts\\Prod\\Rack1",
        "All Hosts\\Prod\\Rack2",
        "All Hosts\\Dev",
    ];
    for i in 0..EXTRA_HOSTS {
        let mut h = template.clone();
        h.id = uuid::Uuid::nil();
        h.name = format!("hv{:03}.contoso.com", i + 10);
        h.host_group = groups[i % groups.len()].to_string();
        h.cluster = None;
        h.vm_paths = vec!["D:\\Hyper-V".to_string()];
        h.logical_processors = 128;
        h.cores_per_cpu = 32;
        h.memory_mb = 2 * 1024 * 1024;
        h.storage_gb = 200_000;
        inv.hosts.push(h);
    }
    inv.normalise();
    inv.validate()?;
    Ok(inv)
}

/// A model with `n` VMs from the Ubuntu template (one NIC, one disk, one
/// DVD drive), placed round-robin on every host, every other one running
/// with a guest-reported address and computer name.
fn populate(n: usize) -> Result<Vmm, Error> {
    let inv = inventory()?;
    let hosts: Vec<Host> = inv.hosts.clone();
    let options = Options {
        latencies: Latencies::instant(),
        seed: 7,
        ..Options::default()
    };
    let (mut vmm, _clock) = Vmm::with_manual_clock(inv, options);
    for i in 0..n {
        let name = vm_name(i);
        // Round-robin over the hosts that still have room for 4 GB.
        let host = (0..hosts.len())
            .map(|k| &hosts[(i + k) % hosts.len()])
            .find(|h| {
                h.memory_mb
                    .saturating_sub(h.reserve_memory_mb)
                    .saturating_sub(vmm.host_usage(h.id, None).memory_mb)
                    >= VM_MEMORY_MB
            })
            .ok_or("no host has room left")?;
        let mut req = NewVm::new(
            &name,
            VmSource::Template {
                template: "Ubuntu 24.04".into(),
                host: host.id.into(),
                path: None,
            },
        );
        req.description = Some("Cluster API machine (bench)".into());
        req.computer_name = Some(name.clone());
        req.start_vm = i % 2 == 0;
        let sub = vmm.new_vm(&req)?;
        if let Some(job) = &sub.job {
            vmm.wait_for_job(job.id)?;
        }
        if req.start_vm {
            let id = sub.object.id;
            let adapters: Vec<uuid::Uuid> = vmm
                .state()
                .vm(id)
                .map(|v| v.adapters.iter().map(|a| a.id).collect())
                .unwrap_or_default();
            let [a, b] = u16::try_from(i).unwrap_or(u16::MAX).to_be_bytes();
            for adapter in adapters {
                vmm.report_guest_addresses(id, adapter, &[Ipv4Addr::new(10, 20, a, b)])?;
            }
            vmm.report_guest_computer_name(id, &name)?;
        }
    }
    vmm.settle();
    Ok(vmm)
}

fn pool(url: &str, clients: usize) -> Result<Arc<Pool<Connector>>, Error> {
    let mut config = ClientConfig::new(
        url,
        ClientAuth::Ntlm {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    );
    config.encryption = Encryption::Auto;
    Ok(Pool::new(Connector::new(config)?, url, clients))
}

/// Runs `script(k)` from `clients` concurrent clients for `duration` (and
/// at least `min_calls` calls in all); returns sorted latencies, errors,
/// elapsed seconds and the bytes of the last output.
async fn drive(
    url: &str,
    clients: usize,
    duration: Duration,
    min_calls: usize,
    script: Arc<dyn Fn(usize) -> String + Send + Sync>,
) -> Result<(Vec<Duration>, u64, f64, usize), Error> {
    let pool = pool(url, clients)?;
    let options = RunOptions::default();
    // Warm up: authenticate every connection once.
    let mut warm = Vec::new();
    for _ in 0..clients {
        let pool = pool.clone();
        let options = options.clone();
        warm.push(tokio::spawn(async move {
            run_powershell(&pool, "$null", &options).await
        }));
    }
    for w in warm {
        w.await??;
    }
    let started = Instant::now();
    let per_client = min_calls.div_ceil(clients);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let pool = pool.clone();
        let options = options.clone();
        let script = script.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut bytes = 0;
            let mut k = c;
            while started.elapsed() < duration || latencies.len() + (errors as usize) < per_client {
                let text = script(k);
                k += clients;
                let t = Instant::now();
                match run_powershell(&pool, &text, &options).await {
                    Ok(out) if out.exit_code == Some(0) && !out.stdout.is_empty() => {
                        latencies.push(t.elapsed());
                        bytes = out.stdout.len();
                    }
                    Ok(out) => {
                        if errors == 0 {
                            eprintln!("get_vm: `{text}` failed: {}", out.stderr.trim());
                        }
                        errors += 1;
                    }
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("get_vm: `{text}`: {e}");
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, errors, bytes)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut bytes = 0;
    for t in tasks {
        let (l, e, b) = t.await?;
        latencies.extend(l);
        errors += e;
        bytes = bytes.max(b);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    Ok((latencies, errors, elapsed, bytes))
}

/// One inventory size, in this process: prints its rows of both tables
/// on stdout as `lookup|...` and `list|...` and `memory|...` lines for the
/// parent to sort into tables.
async fn child(n: usize, seconds: u64) -> Result<(), Error> {
    let rss_start = rss();
    let t = Instant::now();
    let vmm = populate(n)?;
    let populate_s = t.elapsed().as_secs_f64();
    let rss_populated = rss();
    // Straight after populating, before anything is freed, deep copies of
    // the VM and job lists land on fresh pages: their RSS growth is the
    // heap they take.
    let before = rss();
    let vms_copy = vmm.state().vms.clone();
    let after_vms = rss();
    let jobs_copy = vmm.state().jobs.clone();
    let vms_heap = after_vms.saturating_sub(before);
    let jobs_heap = rss().saturating_sub(after_vms);
    drop(jobs_copy);
    drop(vms_copy);
    let snapshot = vmm.snapshot();
    let jobs = snapshot.state.jobs.len();
    let yaml = snapshot.to_yaml()?;
    let json = snapshot.to_json()?;
    drop(snapshot);
    drop(vmm);
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state.yaml");
    std::fs::write(&state, &yaml)?;
    let yaml_len = yaml.len();
    drop(yaml);

    let args = |state: Option<&std::path::Path>| {
        let mut argv: Vec<OsString> = vec![
            "scvmm-sim".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--latency-scale".into(),
            LATENCY_SCALE.to_string().into(),
            "--user".into(),
            format!("{USER}:{PASSWORD}").into(),
        ];
        if let Some(path) = state {
            argv.push("--state".into());
            argv.push(path.into());
        }
        Args::parse_from(argv)
    };
    let backend = |vmm| -> Arc<dyn wsman::server::CommandBackend> {
        Arc::new(PowerShellBackend::new(scvmm_sim::runner::factory(
            vmm,
            Arc::new(SystemClock),
        )))
    };
    let rss_before_start = rss();
    let t = Instant::now();
    // The normal path: `--state`. When the emulator refuses the file, say
    // why, start it empty and swap in the model parsed from the JSON.
    let (sim, load) = match scvmm_sim::server::start(&args(Some(&state)), backend).await {
        Ok(sim) => (sim, format!("{:.1}", t.elapsed().as_secs_f64())),
        Err(e) => {
            let why = e.to_string();
            let why = why.lines().next().unwrap_or_default();
            eprintln!(
                "get_vm: {n} VMs: --state failed ({why}); loading the snapshot into the running emulator instead"
            );
            let sim = scvmm_sim::server::start(&args(None), backend).await?;
            let snapshot = Snapshot::from_json(&json)?;
            let options = Options {
                seed: 1,
                latencies: Latencies {
                    factor: LATENCY_SCALE,
                    ..Latencies::default()
                },
                ..Options::default()
            };
            *sim.vmm.lock().map_err(|_| "model lock poisoned")? = Vmm::from_snapshot(
                snapshot,
                options,
                Arc::new(SystemClock),
                Box::new(RandomIds),
            );
            (
                sim,
                format!(
                    "--state fails; {:.1} (JSON, swapped in)",
                    t.elapsed().as_secs_f64()
                ),
            )
        }
    };
    let rss_started = rss();
    let json_len = json.len();
    drop(json);
    let loaded = sim
        .vmm
        .lock()
        .map_err(|_| "model lock poisoned")?
        .state()
        .vms
        .len();
    if loaded != n {
        return Err(format!("the emulator loaded {loaded} VMs, expected {n}").into());
    }
    let per_vm = |bytes: u64| bytes as f64 / n as f64 / 1024.0;
    let mib = |bytes: usize| bytes as f64 / 1_048_576.0;
    let populate_kib = per_vm(rss_populated.saturating_sub(rss_start));
    let start_kib = per_vm(rss_started.saturating_sub(rss_before_start));
    let heap_kib = per_vm(vms_heap);
    let jobs_kib = per_vm(jobs_heap);
    let server_mib = mib(usize::try_from(rss_started).unwrap_or(usize::MAX));
    let yaml_mib = mib(yaml_len);
    let yaml_kib = yaml_len as f64 / n as f64 / 1024.0;
    let json_mib = mib(json_len);
    println!(
        "memory|| {n} | {populate_s:.1} | {load} | {populate_kib:.1} | {start_kib:.1} | {heap_kib:.1} | {jobs_kib:.1} | {server_mib:.0} | {yaml_mib:.1} MB ({yaml_kib:.1} KiB/VM) | {json_mib:.1} MB | {jobs} |"
    );

    let url = format!("http://127.0.0.1:{}/wsman", sim.handle.local_addr().port());
    let duration = Duration::from_secs(seconds);
    // Spread lookups over the whole list (the match is a scan either way).
    let stride = 7919;
    for clients in [1, 8] {
        let script: Arc<dyn Fn(usize) -> String + Send + Sync> = Arc::new(move |k| {
            format!("Get-SCVirtualMachine -Name '{}'", vm_name((k * stride) % n))
        });
        let (lat, errors, elapsed, bytes) = drive(&url, clients, duration, 1, script).await?;
        println!(
            "lookup|| {n} | `Get-SCVirtualMachine -Name <one>` | {clients} | {:.0} | {:.1} | {:.1} | {bytes} | {errors} |",
            lat.len() as f64 / elapsed,
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
        );
    }
    for (label, text) in [
        (
            "`Get-SCVirtualMachine | Measure-Object`",
            "(Get-SCVirtualMachine | Measure-Object).Count",
        ),
        (
            "`Get-SCVirtualMachine | Select-Object Name,Status,ID | ConvertTo-Json -Compress`",
            "Get-SCVirtualMachine | Select-Object Name,Status,ID | ConvertTo-Json -Compress",
        ),
    ] {
        let script: Arc<dyn Fn(usize) -> String + Send + Sync> =
            Arc::new(move |_| text.to_string());
        let (lat, errors, _, bytes) =
            drive(&url, 1, Duration::from_secs(seconds), 3, script).await?;
        println!(
            "list|| {n} | {label} | {} | {:.1} | {:.1} | {bytes} | {errors} |",
            lat.len(),
            ms(percentile(&lat, 0.5)),
            ms(lat.last().copied().unwrap_or_default()),
        );
    }
    Ok(())
}

fn parent(seconds: u64) -> Result<(), Error> {
    let exe = std::env::current_exe()?;
    let mut rows: Vec<String> = Vec::new();
    for n in SIZES {
        let out = std::process::Command::new(&exe)
            .env(CHILD_ENV, n.to_string())
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !out.status.success() {
            eprintln!("get_vm: the run with {n} VMs failed ({})", out.status);
        }
        rows.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    let table = |kind: &str| {
        for r in &rows {
            if let Some(rest) = r.strip_prefix(kind).and_then(|r| r.strip_prefix("||")) {
                println!("|{rest}");
            }
        }
    };
    println!(
        "Get-SCVirtualMachine over WinRM (NTLM, HTTP, sealed; real PowerShell backend), {seconds} s per lookup row"
    );
    println!();
    println!("| VMs | command | clients | commands/s | p50 ms | p99 ms | stdout bytes | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    table("lookup");
    println!();
    println!("| VMs | command (batch poller) | calls | p50 ms | max ms | stdout bytes | errors |");
    println!("|---|---|---|---|---|---|---|");
    table("list");
    println!();
    println!(
        "| VMs | populate s | load (--state) s | RSS Δ populate KiB/VM | RSS Δ load KiB/VM | VM heap KiB/VM | job heap KiB/VM | server RSS MB | snapshot YAML | snapshot JSON | jobs kept |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    table("memory");
    println!();
    println!(
        "RSS Δ populate: building the model through its API (VMs and one finished job each; jobs are capped at 10,000); RSS Δ load: `server::start` loading the state (and the parse's garbage); VM heap / job heap: RSS growth for a deep copy of the VM list / job list right after populating."
    );
    Ok(())
}

fn main() {
    let seconds: u64 = std::env::var("GET_VM_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let result = match std::env::var(CHILD_ENV).ok().and_then(|s| s.parse().ok()) {
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(Error::from)
            .and_then(|rt| rt.block_on(child(n, seconds))),
        None => parent(seconds),
    };
    if let Err(e) = result {
        eprintln!("get_vm: {e}");
        std::process::exit(1);
    }
}
