//! Runs commands on a WinRM server with winrm-rs and prints one JSON result
//! per case, for the wsman conformance tests.
//!
//! Usage: winrm-rs-conformance HOST PORT basic|ntlm USER PASSWORD CASES_JSON

use base64::Engine as _;
use winrm_rs::{AuthMethod, EncryptionMode, WinrmClient, WinrmConfig, WinrmCredentials};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 {
        eprintln!("usage: winrm-rs-conformance HOST PORT basic|ntlm USER PASSWORD CASES_JSON");
        std::process::exit(2);
    }
    let port: u16 = args[2].parse().unwrap_or(5985);
    let config = WinrmConfig {
        port,
        use_tls: false,
        operation_timeout_secs: 2,
        auth_method: if args[3] == "ntlm" { AuthMethod::Ntlm } else { AuthMethod::Basic },
        encryption: EncryptionMode::Never,
        ..WinrmConfig::default()
    };
    let client = match WinrmClient::new(config, WinrmCredentials::new(args[4].clone(), args[5].clone(), "")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("client: {e}");
            std::process::exit(1);
        }
    };
    let cases: Vec<serde_json::Value> = serde_json::from_str(&args[6]).unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD;
    for case in cases {
        let command = case["command"].as_str().unwrap_or_default();
        let result = if case["kind"] == "ps" {
            client.run_powershell(&args[1], command).await
        } else {
            client.run_command(&args[1], command, &[]).await
        };
        let line = match result {
            Ok(out) => serde_json::json!({
                "status": out.exit_code,
                "stdout_b64": b64.encode(&out.stdout),
                "stderr_b64": b64.encode(&out.stderr),
            }),
            Err(e) => serde_json::json!({"error": e.to_string()}),
        };
        println!("{line}");
    }
}
