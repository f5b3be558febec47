//! WinRM round trips over loopback, our client against our server with the
//! scripted backend: commands per second, round trips per second, p50/p99
//! latency of a trivial command, and bytes on the wire per command, for
//! Basic and NTLM-sealed HTTP with 1 and 16 concurrent clients. Prints a
//! Markdown table; asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};
use wsman::client::{Pool, RunOptions, run_command};
use wsman::server::{ScriptedBackend, ServiceConfig, WinrsService};
use wsman::soap::CommandLine;
use wsman::transport::{
    ClientAuth, ClientConfig, Connector, Encryption, ServerConfig, StaticCredentials, WsmanServer,
};

const USER: &str = "bench";
const PASSWORD: &str = "bench-password";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn scenario(
    label: &str,
    auth: ClientAuth,
    encryption: Encryption,
    clients: usize,
    duration: Duration,
) {
    let service = Arc::new(WinrsService::new(
        Arc::new(ScriptedBackend),
        ServiceConfig::default(),
    ));
    let creds = Arc::new(StaticCredentials::new().with_user(USER, PASSWORD));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let server = match WsmanServer::new(ServerConfig::new(creds), service.clone())
        .bind(addr)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{label}: server failed to start: {e}");
            return;
        }
    };
    let url = format!("http://127.0.0.1:{}/wsman", server.local_addr().port());
    let mut config = ClientConfig::new(url.clone(), auth);
    config.encryption = encryption;
    let connector = match Connector::new(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{label}: {e}");
            return;
        }
    };
    let pool = Pool::new(connector, url, clients);
    let options = RunOptions::default();
    // Warm up: authenticate every connection once.
    let mut warm = Vec::new();
    for _ in 0..clients {
        let pool = pool.clone();
        let options = options.clone();
        warm.push(tokio::spawn(async move {
            run_command(&pool, CommandLine::new("echo warm", vec![]), None, &options).await
        }));
    }
    for w in warm {
        let _ = w.await;
    }
    let before = pool.stats().snapshot();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let pool = pool.clone();
        let options = options.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while started.elapsed() < duration {
                let t = Instant::now();
                match run_command(&pool, CommandLine::new("echo x", vec![]), None, &options).await {
                    Ok(_) => latencies.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = pool.stats().snapshot();
    latencies.sort();
    let commands = latencies.len() as f64;
    let trips = (after.round_trips - before.round_trips) as f64;
    let bytes = (after.bytes_sent + after.bytes_received
        - before.bytes_sent
        - before.bytes_received) as f64;
    println!(
        "| {label} | {clients} | {:.0} | {:.0} | {:.2} | {:.2} | {:.0} | {errors} |",
        commands / elapsed,
        trips / elapsed,
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        if commands > 0.0 {
            bytes / commands
        } else {
            0.0
        },
    );
    server.shutdown();
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return;
        }
    };
    let seconds: u64 = std::env::var("WSMAN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);
    println!(
        "WinRM over loopback, trivial command (`echo x`: Create, Command, Receive, Signal, Delete), {seconds} s per row"
    );
    println!(
        "| transport | clients | commands/s | round trips/s | p50 ms | p99 ms | bytes on the wire per command | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    runtime.block_on(async {
        for clients in [1, 16] {
            scenario(
                "Basic, HTTP",
                ClientAuth::Basic {
                    user: USER.into(),
                    password: PASSWORD.into(),
                },
                Encryption::Never,
                clients,
                duration,
            )
            .await;
            scenario(
                "NTLM, HTTP, sealed",
                ClientAuth::Ntlm {
                    user: USER.into(),
                    password: PASSWORD.into(),
                },
                Encryption::Auto,
                clients,
                duration,
            )
            .await;
        }
    });
}
