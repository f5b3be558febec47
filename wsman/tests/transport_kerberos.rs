//! Our Kerberos client against a real Kerberos stack on loopback: an MIT KDC
//! for a throw-away realm (WSMAN.TEST) and a WinRM-shaped HTTP acceptor built
//! on pyspnego + MIT GSSAPI (tests/kerberos/acceptor.py), which checks our
//! AP-REQ, answers with an AP-REP, and unwraps/wraps MS-WSMV sealed bodies.
//!
//! tests/kerberos/setup.sh installs what is missing (apt: krb5-kdc,
//! krb5-admin-server, krb5-user, python3-gssapi; PyPI: pyspnego) and creates
//! the realm under ${SCVMM_TESTBED_CACHE:-~/.cache/scvmm-capi-testbed}/krb5-wsman.
//! The test skips (printing why) only when it cannot install them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wsman::transport::{
    ClientAuth, ClientConfig, Connector, KerberosSettings, KerberosStep, Password, TransportError,
};

const PASSWORD: &str = "Alice-Pa55word";

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn support() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kerberos")
}

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("SCVMM_TESTBED_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/scvmm-capi-testbed")
        });
    base.join("krb5-wsman")
}

struct Testbed {
    realm_dir: PathBuf,
    python: PathBuf,
    run: tempfile::TempDir,
    kdc_port: u16,
    _kdc: Kill,
}

/// Runs setup.sh and starts the KDC; `None` (with a SKIP line) when the
/// tools cannot be installed here.
fn testbed() -> Option<Testbed> {
    let out = Command::new("bash")
        .arg(support().join("setup.sh"))
        .arg(cache_dir())
        .env("WSMAN_KRB_USER_PASSWORD", PASSWORD)
        .output()
        .expect("bash is needed to run tests/kerberos/setup.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        eprintln!("SKIP transport_kerberos: {}", stderr.trim());
        return None;
    }
    assert!(out.status.success(), "setup.sh failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("setup.sh did not print {key}: {stdout}"))
    };
    let realm_dir = value("REALM_DIR=");
    let python = value("PYTHON=");
    let run = tempfile::tempdir().unwrap();
    let kdc_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kdc = Command::new("bash")
        .arg(support().join("kdc.sh"))
        .arg(&realm_dir)
        .arg(kdc_port.to_string())
        .arg(run.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let kdc = Kill(kdc);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", kdc_port)).is_err() {
        assert!(Instant::now() < deadline, "the KDC did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Testbed {
        realm_dir,
        python,
        run,
        kdc_port,
        _kdc: kdc,
    })
}

impl Testbed {
    /// Starts acceptor.py; returns it and its port.
    fn acceptor(&self, bad_mutual: bool) -> (Kill, u16) {
        let mut cmd = Command::new(&self.python);
        cmd.arg(support().join("acceptor.py"))
            .env("KRB5_CONFIG", self.run.path().join("krb5.conf"))
            .env("KRB5_KTNAME", self.realm_dir.join("http.keytab"))
            .env("KRB5RCACHETYPE", "none")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if bad_mutual {
            cmd.env("WSMAN_ACCEPTOR_BAD_MUTUAL", "1");
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let child = Kill(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("acceptor.py said {line:?}"))
            .parse()
            .unwrap();
        (child, port)
    }

    fn settings(&self) -> KerberosSettings {
        KerberosSettings {
            kdc: Some(format!("tcp://127.0.0.1:{}", self.kdc_port)),
            ..Default::default()
        }
    }

    fn connector(&self, port: u16, auth: ClientAuth) -> Connector {
        Connector::new(ClientConfig::new(
            format!("http://localhost:{port}/wsman"),
            auth,
        ))
        .unwrap()
    }
}

async fn exchange_sealed(connector: &Connector) {
    let mut connection = connector.connect().await.unwrap();
    for i in 0..3 {
        let request = format!("<s:Envelope>request {i} héllo ✓</s:Envelope>");
        let (status, body) = connection.post(Bytes::from(request.clone())).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("<principal>alice@WSMAN.TEST</principal>"),
            "{body}"
        );
        assert!(body.contains(&format!("<echo>{request}</echo>")), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kerberos_against_mit_kdc_and_pyspnego_acceptor() {
    let Some(bed) = testbed() else { return };
    let (_acceptor, port) = bed.acceptor(false);

    // Kerberos: AS + TGS with the MIT KDC, AP-REQ/AP-REP with the acceptor,
    // then sealed SOAP both ways (the acceptor refuses unsealed bodies).
    let kerberos = ClientAuth::Kerberos {
        user: "alice@WSMAN.TEST".into(),
        password: Password::new(PASSWORD),
        settings: bed.settings(),
    };
    exchange_sealed(&bed.connector(port, kerberos)).await;

    // Negotiate picks Kerberos when a ticket can be had.
    let negotiate = ClientAuth::Negotiate {
        user: "WSMAN.TEST\\alice".into(),
        password: Password::new(PASSWORD),
        settings: bed.settings(),
    };
    exchange_sealed(&bed.connector(port, negotiate)).await;

    // A wrong password fails at the AS exchange (the KDC refuses the
    // pre-authentication) and the message does not carry the password.
    let wrong = ClientAuth::Kerberos {
        user: "alice@WSMAN.TEST".into(),
        password: Password::new("not-the-password"),
        settings: bed.settings(),
    };
    let err = bed.connector(port, wrong).connect().await.unwrap_err();
    let message = err.to_string();
    println!("wrong password: {message}");
    assert!(
        matches!(
            &err,
            TransportError::Kerberos {
                step: KerberosStep::AsExchange,
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("AS exchange"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");

    // An unknown service principal fails at the TGS exchange.
    let mut settings = bed.settings();
    settings.service_principal = Some("HTTP/nosuchhost".into());
    let unknown = ClientAuth::Kerberos {
        user: "alice@WSMAN.TEST".into(),
        password: Password::new(PASSWORD),
        settings,
    };
    let err = bed.connector(port, unknown).connect().await.unwrap_err();
    println!("unknown service: {err}");
    assert!(
        matches!(
            &err,
            TransportError::Kerberos {
                step: KerberosStep::TgsExchange,
                ..
            }
        ),
        "{err}"
    );

    // Mutual authentication: a corrupted AP-REP is refused.
    let (_bad, bad_port) = bed.acceptor(true);
    let auth = ClientAuth::Kerberos {
        user: "alice@WSMAN.TEST".into(),
        password: Password::new(PASSWORD),
        settings: bed.settings(),
    };
    let err = bed.connector(bad_port, auth).connect().await.unwrap_err();
    println!("bad AP-REP: {err}");
    assert!(
        matches!(
            &err,
            TransportError::Kerberos {
                step: KerberosStep::MutualAuth,
                ..
            }
        ),
        "{err}"
    );
}
