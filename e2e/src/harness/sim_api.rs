//! A small client for scvmm-sim's inspection API (`/sim/v1/...`, HTTP Basic
//! with an emulator account): what the suites read to check that nothing
//! leaked (VMs, ISOs and files in the library, IP grants) and how they
//! inject faults.

use crate::testbed::Error;
use base64::Engine as _;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The inspection API of one emulator.
#[derive(Clone, Debug)]
pub struct SimApi {
    port: u16,
    authorization: String,
}

impl SimApi {
    /// The API on `127.0.0.1:<port>` as `user` / `password`.
    pub fn new(port: u16, user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Self {
            port,
            authorization: format!("Basic {token}"),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Error> {
        let payload = body.map(Value::to_string).unwrap_or_default();
        let body = request(self.port, method, path, Some(&self.authorization), &payload).await?;
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| Error::SimApi {
            request: format!("{method} {path}"),
            detail: format!("not JSON ({e}): {body}"),
        })
    }

    /// The emulator's Prometheus metrics (`/metrics`, no credentials).
    pub async fn metrics(&self) -> Result<String, Error> {
        request(self.port, "GET", "/metrics", None, "").await
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, Error> {
        self.call("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, Error> {
        self.call("POST", path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<(), Error> {
        self.call("DELETE", path, None).await.map(|_| ())
    }

    /// Every VM (`/sim/v1/vms`).
    pub async fn vms(&self) -> Result<Vec<Value>, Error> {
        Ok(as_list(self.get("/sim/v1/vms").await?))
    }

    /// Library content: `{"files": [...], "isos": [...]}`.
    pub async fn library(&self) -> Result<Value, Error> {
        self.get("/sim/v1/library").await
    }

    /// Addresses granted from VMM static IP pools.
    pub async fn ip_grants(&self) -> Result<Vec<Value>, Error> {
        Ok(as_list(self.get("/sim/v1/ip-grants").await?))
    }

    /// Adds a fault rule (see docs/emulator.md, "Fault rules").
    pub async fn add_fault(&self, rule: &Value) -> Result<(), Error> {
        self.post("/sim/v1/faults", rule).await.map(|_| ())
    }

    /// Removes every fault rule.
    pub async fn clear_faults(&self) -> Result<(), Error> {
        self.delete("/sim/v1/faults").await
    }
}

/// One HTTP/1.1 request to `127.0.0.1:<port>` (a new connection each
/// time, so a test never reads a reply meant for another); the body of a
/// 2xx reply, else an error with the status and body.
pub async fn request(
    port: u16,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    payload: &str,
) -> Result<String, Error> {
    let request = format!("{method} {path}");
    let err = |detail: String| Error::SimApi {
        request: request.clone(),
        detail,
    };
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| err(format!("cannot connect to 127.0.0.1:{port}: {e}")))?;
    let authorization = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    stream
        .write_all(format!("{head}{payload}").as_bytes())
        .await
        .map_err(|e| err(e.to_string()))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| err(e.to_string()))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| err("the reply has no header end".into()))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with('2') {
        return Err(err(format!("HTTP {status}: {body}")));
    }
    Ok(
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        },
    )
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
