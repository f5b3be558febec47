//! WinRM traffic per machine lifecycle: how many SCVMM operations (script
//! runs) and SOAP round trips the controller needs from Machine creation to
//! provisioned, and from deletion to gone, against the real local API
//! server with the CAPI core manager and scvmm-sim (latency model scaled by
//! 0.01). Prints a table; `just bench` runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::*;

fn operations(env: &Env) -> (f64, u64) {
    let ctx = env.ctx.as_ref().unwrap();
    let text = ctx.metrics.render();
    let ops: f64 = text
        .lines()
        .filter(|l| l.starts_with("capi_scvmm_operations_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let soap: u64 = ctx
        .scvmm
        .all()
        .iter()
        .map(|c| c.stats().snapshot().round_trips)
        .sum();
    (ops, soap)
}

fn main() {
    let n: usize = std::env::var("SCVMM_BENCH_MACHINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut env = Env::start("bench").await;
        env.start_controller();
        env.create_cluster("c1", PASSWORD).await;
        let started = Instant::now();
        let (ops0, soap0) = operations(&env);
        for i in 0..n {
            env.create_machine("c1", &format!("b{i}"), machine_spec(&format!("10.20.2.{}", i + 10))).await;
        }
        for i in 0..n {
            provisioned(&env, &format!("b{i}"), Duration::from_secs(300)).await;
        }
        let create_wall = started.elapsed();
        let (ops1, soap1) = operations(&env);
        let started = Instant::now();
        for i in 0..n {
            env.api("Machine").delete(&format!("b{i}"), &Default::default()).await.unwrap();
        }
        for i in 0..n {
            gone(&env.api("ScvmmMachine"), &format!("b{i}"), "gone", Duration::from_secs(300)).await;
        }
        let delete_wall = started.elapsed();
        let (ops2, soap2) = operations(&env);
        let per = |x: f64| x / n as f64;
        println!("\nmachine lifecycle, {n} machines at once (scvmm-sim latency scale 0.01; per-VM polling, batched observation is issue #8)");
        println!("| phase | wall time | SCVMM operations (script runs) per machine | WinRM SOAP round trips per machine |");
        println!("|---|---|---|---|");
        println!("| create → provisioned | {:.1} s | {:.1} | {:.1} |", create_wall.as_secs_f64(), per(ops1 - ops0), per((soap1 - soap0) as f64));
        println!("| delete → gone | {:.1} s | {:.1} | {:.1} |", delete_wall.as_secs_f64(), per(ops2 - ops1), per((soap2 - soap1) as f64));
        let text = env.ctx.as_ref().unwrap().metrics.render();
        println!("\noperations by kind (whole run):");
        for l in text.lines().filter(|l| l.starts_with("capi_scvmm_operations_total{")) {
            println!("  {l}");
        }
        env.kill_controller().await;
    });
}
