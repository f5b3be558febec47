//! Interop with code we did not write, in both directions:
//!
//! - pywinrm 0.5.0 (requests_ntlm + pyspnego, what Ansible uses) drives our
//!   server with NTLM and message encryption, and with Basic;
//! - our client talks to a small HTTP server whose NTLM acceptor and sealing
//!   are pyspnego's (the same library the reference mock server used).
//!
//! The test installs pywinrm into a virtualenv under the cargo target
//! directory on first use (PyPI must be reachable then) and reuses it later.
//! It is skipped, with a message, only when `python3` is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use wsman::transport::server::handler_fn;
use wsman::transport::{
    ClientAuth, ClientConfig, Connector, Password, ServerConfig, SoapReply, StaticCredentials,
    TransportError, WsmanServer,
};

const PYWINRM: &str = "pywinrm==0.5.0";

const CREATE_ACTION: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";

const CREATE_RESPONSE: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse</a:Action></s:Header><s:Body><x:ResourceCreated><a:Address>http://127.0.0.1/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">0C6C3A4B-1D2E-4F50-8A9B-ABCDEF012345</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell><rsp:ShellId>0C6C3A4B-1D2E-4F50-8A9B-ABCDEF012345</rsp:ShellId></rsp:Shell></s:Body></s:Envelope>"#;

const FAULT: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang="en-US">sealed fault ✓</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858843" Machine="sim"><f:Message>x</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;

const SCRIPT: &str = r#"
import sys
import winrm
from winrm.exceptions import InvalidCredentialsError, WSManFaultError
from winrm.protocol import Protocol

url = sys.argv[1]

def protocol(transport, password="vagrant"):
    return Protocol(endpoint=url, transport=transport, username="vagrant", password=password,
                    message_encryption="auto", operation_timeout_sec=3, read_timeout_sec=30)

p = protocol("ntlm")
print("NTLM-SHELL", p.open_shell())
assert p.transport.encryption is not None, "pywinrm did not enable message encryption"

big = ("<s:Envelope>" + "日本語 ✓ é 🙂 " * 80000 + "</s:Envelope>").encode("utf-8")
reply = p.transport.send_message(big)
assert reply == b"echo:" + big, "large sealed echo differs (%d bytes back)" % len(reply)
print("NTLM-BIG", len(big))

try:
    p.send_message("FAULT")
    print("FAULT-MISSING")
    sys.exit(1)
except WSManFaultError as e:
    assert e.reason == "sealed fault ✓", e.reason
    assert e.wsman_fault_code == 2150858843
    print("NTLM-FAULT", e.wsman_fault_code)

try:
    protocol("ntlm", password="wrong").open_shell()
    print("BAD-PASSWORD-ACCEPTED")
    sys.exit(1)
except InvalidCredentialsError:
    print("NTLM-BAD-REJECTED")

b = protocol("basic")
print("BASIC-SHELL", b.open_shell())
try:
    protocol("basic", password="wrong").open_shell()
    print("BAD-PASSWORD-ACCEPTED")
    sys.exit(1)
except InvalidCredentialsError:
    print("BASIC-BAD-REJECTED")
print("ALL-OK")
"#;

fn python3() -> Option<PathBuf> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    ok.then(|| PathBuf::from("python3"))
}

/// Both tests may want to create the virtualenv at the same time.
static VENV_LOCK: Mutex<()> = Mutex::new(());

/// A virtualenv with pywinrm, created once and cached under the target dir.
fn venv(python: &Path) -> PathBuf {
    let _guard = VENV_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Shared with the conformance tests and kept outside the clone, so a
    // fresh checkout on the same machine does not reinstall it.
    let dir = std::env::var_os("SCVMM_TESTBED_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("scvmm-capi-testbed"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/scvmm-capi-testbed"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).to_path_buf())
        .join("pywinrm-0.5.0-venv");
    let py = dir.join("bin").join("python");
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", "import winrm, spnego"])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if ready(&py) {
        return py;
    }
    let status = Command::new(python)
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .expect("running python3 -m venv");
    assert!(
        status.success(),
        "python3 -m venv failed (is the venv module installed?)"
    );
    let out = Command::new(dir.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", PYWINRM])
        .output()
        .expect("running pip");
    assert!(
        out.status.success(),
        "pip install {PYWINRM} failed (PyPI must be reachable on first run):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ready(&py), "pywinrm installed but does not import");
    py
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pywinrm_ntlm_sealed_and_basic_against_our_server() {
    let Some(python) = python3() else {
        eprintln!("SKIPPED: python3 is not installed, so pywinrm cannot be run");
        return;
    };
    let py = tokio::task::spawn_blocking(move || venv(&python))
        .await
        .unwrap();

    let handler = handler_fn(|user: String, body: Bytes| async move {
        assert_eq!(user, "vagrant");
        if body
            .windows(CREATE_ACTION.len())
            .any(|w| w == CREATE_ACTION.as_bytes())
        {
            SoapReply::ok(CREATE_RESPONSE)
        } else if &body[..] == b"FAULT" {
            SoapReply::fault(FAULT)
        } else {
            let mut reply = b"echo:".to_vec();
            reply.extend_from_slice(&body);
            SoapReply::ok(reply)
        }
    });
    let config = ServerConfig::new(Arc::new(
        StaticCredentials::new().with_user("vagrant", "vagrant"),
    ));
    let server = WsmanServer::new(config, handler)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{}/wsman", server.local_addr());

    let out = tokio::process::Command::new(&py)
        .arg("-c")
        .arg(SCRIPT)
        .arg(&url)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pywinrm script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for line in [
        "NTLM-SHELL 0C6C3A4B-1D2E-4F50-8A9B-ABCDEF012345",
        "NTLM-FAULT 2150858843",
        "NTLM-BAD-REJECTED",
        "BASIC-SHELL 0C6C3A4B-1D2E-4F50-8A9B-ABCDEF012345",
        "BASIC-BAD-REJECTED",
        "ALL-OK",
    ] {
        assert!(
            stdout.contains(line),
            "missing {line:?} in\n{stdout}\n{stderr}"
        );
    }
    let stats = server.stats().snapshot();
    // open_shell, the big echo and the fault went sealed.
    assert_eq!(stats.sealed_requests, 3, "{stats:?}");
    assert!(stats.handshakes >= 1, "{stats:?}");
    assert_eq!(stats.auth_failures, 2, "{stats:?}");
}

/// An NTLM-only WinRM endpoint built from pyspnego's acceptor and its
/// `wrap_winrm`/`unwrap_winrm`, framed the way pywinrm frames messages. It
/// prints its port, then echoes every unsealed request as `py:` + body.
const SPNEGO_SERVER: &str = r#"
import base64, struct, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
import spnego
from spnego.exceptions import SpnegoError

PROTOCOL = b"application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
SEALED_TYPE = 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'

def unframe(body):
    parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
    header, payload = parts[0], parts[1]
    length = int(header.split(b"Length=")[1].strip())
    assert payload.endswith(BOUNDARY + b"--\r\n"), "closing boundary"
    payload = payload[: -len(BOUNDARY + b"--\r\n")]
    payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
    sig_len = struct.unpack("<i", payload[:4])[0]
    return length, payload[4:4 + sig_len], payload[4 + sig_len:]

def frame(ctx, plain):
    wrapped = ctx.wrap_winrm(plain)
    return (BOUNDARY + b"\r\n\tContent-Type: " + PROTOCOL + b"\r\n"
            + b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(plain)).encode() + b"\r\n"
            + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<i", len(wrapped.header)) + wrapped.header + wrapped.data
            + BOUNDARY + b"--\r\n")

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="application/soap+xml;charset=UTF-8", auth=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if auth:
            self.send_header("WWW-Authenticate", auth)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, token = auth.partition(" ")
            token = base64.b64decode(token)
            if token[8] == 1:
                self.ctx = spnego.server(protocol="ntlm")
            try:
                out = self.ctx.step(token)
            except SpnegoError:
                return self.reply(401, auth="Negotiate")
            if not self.ctx.complete:
                return self.reply(401, auth=scheme + " " + base64.b64encode(out).decode())
            return self.reply(200)
        ctx = getattr(self, "ctx", None)
        if ctx is None or not ctx.complete:
            return self.reply(401, auth="Negotiate")
        if "multipart/encrypted" not in self.headers.get("Content-Type", ""):
            return self.reply(500)
        length, header, data = unframe(body)
        plain = ctx.unwrap_winrm(header, data)
        assert len(plain) == length, "declared length"
        self.reply(200, frame(ctx, b"py:" + plain), ctype=SEALED_TYPE)

server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// Kills the Python server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_against_a_pyspnego_ntlm_server() {
    let Some(python) = python3() else {
        eprintln!("SKIPPED: python3 is not installed, so the pyspnego server cannot be run");
        return;
    };
    let py = tokio::task::spawn_blocking(move || venv(&python))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("ntlm-users");
    std::fs::write(&users, ":vagrant:vagrant\nLAB:vagrant:vagrant\n").unwrap();
    let mut child = Child(
        Command::new(&py)
            .arg("-c")
            .arg(SPNEGO_SERVER)
            .env("NTLM_USER_FILE", &users)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let port = tokio::task::spawn_blocking(move || {
        use std::io::BufRead as _;
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line.trim().parse::<u16>().unwrap()
    })
    .await
    .unwrap();

    let config = |user: &str, password: &str| {
        let mut config = ClientConfig::new(
            format!("http://127.0.0.1:{port}/wsman"),
            ClientAuth::Ntlm {
                user: user.into(),
                password: Password::new(password),
            },
        );
        config.request_timeout = Duration::from_secs(60);
        config
    };

    for user in ["vagrant", "LAB\\vagrant"] {
        let mut conn = Connector::new(config(user, "vagrant"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let unit = "<s:Envelope>日本語 ✓ é 🙂</s:Envelope>";
        for size in [10usize, 2 << 20] {
            let body = unit.repeat(size / unit.len() + 1);
            let (status, reply) = conn.post(Bytes::from(body.clone())).await.unwrap();
            assert_eq!(status, 200);
            assert_eq!(&reply[..3], b"py:");
            assert_eq!(&reply[3..], body.as_bytes());
        }
    }

    let err = Connector::new(config("vagrant", "wrong"))
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Unauthorized { .. }), "{err}");
    drop(child);
}
