//! `clusterctl generate cluster` on our templates, as users run it, with
//! nothing from the caller's environment: a fresh config directory, no
//! version check, and proxies that refuse every connection, so a render
//! that tried to reach the network fails instead of depending on it.

use crate::release::LocalRepository;
use crate::testbed::Error;
use std::path::Path;
use std::process::Command;

/// Where `clusterctl generate cluster` takes the cluster template from.
pub enum Source<'a> {
    /// `--from <file>`: that one file, as it is.
    File(&'a Path),
    /// `--infrastructure scvmm:<version> [--flavor <flavour>]` from a
    /// clusterctl local repository, as users run it: the flavour's template
    /// plus every ClusterClass its Cluster refers to
    /// (`clusterclass-<class>.yaml` from the same repository), which
    /// `--from` does not add.
    Repository {
        repository: &'a LocalRepository,
        /// `None`: the default flavour.
        flavour: Option<&'a str>,
    },
}

/// One `clusterctl generate cluster` call.
pub struct Generate<'a> {
    /// The clusterctl binary (the test bed builds it).
    pub clusterctl: &'a Path,
    /// The template.
    pub source: Source<'a>,
    /// Cluster name.
    pub name: &'a str,
    /// `--target-namespace`.
    pub namespace: &'a str,
    /// `--kubernetes-version`.
    pub kubernetes_version: &'a str,
    /// `--control-plane-machine-count`.
    pub control_plane: u32,
    /// `--worker-machine-count`.
    pub workers: u32,
    /// Template variables, as environment variables.
    pub vars: &'a [(String, String)],
}

/// A clusterctl command cut off from the caller's environment, and the
/// directory its `--config` lives in (keep it until the command ran).
pub struct Isolated {
    /// The command, environment set; add arguments, then `--config`.
    pub command: Command,
    /// The empty clusterctl configuration to pass as `--config`.
    pub config: std::path::PathBuf,
    _home: tempfile::TempDir,
}

/// `clusterctl` with an empty configuration in a fresh home, no version
/// check, and proxies that refuse every connection.
pub fn isolated(clusterctl: &Path) -> Result<Isolated, Error> {
    let fail = |detail: String| Error::Clusterctl { detail };
    let home = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let config = home.path().join("clusterctl.yaml");
    std::fs::write(&config, "# empty: no providers, no overrides\n")
        .map_err(|e| fail(e.to_string()))?;
    let dead_proxy = "http://127.0.0.1:9";
    let mut command = Command::new(clusterctl);
    command
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("CLUSTERCTL_DISABLE_VERSIONCHECK", "true")
        .env("GOPROXY", "off")
        .env("HTTPS_PROXY", dead_proxy)
        .env("HTTP_PROXY", dead_proxy)
        .env("https_proxy", dead_proxy)
        .env("http_proxy", dead_proxy);
    Ok(Isolated {
        command,
        config,
        _home: home,
    })
}

/// The rendered YAML, or clusterctl's message.
pub fn generate_cluster(g: &Generate<'_>) -> Result<String, Error> {
    let fail = |detail: String| Error::Clusterctl { detail };
    let mut run = isolated(g.clusterctl)?;
    run.command
        .envs(g.vars.iter().map(|(k, v)| (k, v)))
        .arg("generate")
        .arg("cluster")
        .arg(g.name);
    let what = match &g.source {
        Source::File(template) => {
            run.command
                .arg("--from")
                .arg(template)
                .arg("--config")
                .arg(&run.config);
            template.display().to_string()
        }
        Source::Repository {
            repository,
            flavour,
        } => {
            run.command.args(repository.provider_args());
            if let Some(flavour) = flavour {
                run.command.args(["--flavor", flavour]);
            }
            format!("flavour {}", flavour.unwrap_or("default"))
        }
    };
    let out = run
        .command
        .args(["--kubernetes-version", g.kubernetes_version])
        .args([
            "--control-plane-machine-count",
            &g.control_plane.to_string(),
        ])
        .args(["--worker-machine-count", &g.workers.to_string()])
        .args(["--target-namespace", g.namespace])
        .output()
        .map_err(|e| fail(format!("running {}: {e}", g.clusterctl.display())))?;
    if !out.status.success() {
        return Err(fail(format!(
            "{what} ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    String::from_utf8(out.stdout).map_err(|e| fail(e.to_string()))
}
