//! The clusterctl release artefacts as a user receives them: rendered by
//! `deploy/release/build.sh` (what `just release` runs), laid out as a
//! clusterctl local repository, and processed by the real `clusterctl
//! generate provider`, which does what `clusterctl init` does to a
//! provider's components before applying them (metadata and contract
//! checks, variables, target namespace, image overrides, labels).

use crate::harness::clusterctl;
use crate::testbed::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

/// clusterctl's name for us (`--infrastructure scvmm`).
pub const PROVIDER: &str = "scvmm";
/// The directory clusterctl expects the provider's files in, and the
/// key of its image overrides.
pub const MANIFEST_LABEL: &str = "infrastructure-scvmm";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fail(detail: String) -> Error {
    Error::Clusterctl { detail }
}

/// Runs `deploy/release/build.sh` with `RELEASE_DIR=dir` (building kustomize
/// into the test-bed cache first when it is missing) and returns `dir`.
pub fn render(dir: &Path) -> Result<PathBuf, Error> {
    let script = repo_root().join("deploy/release/build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("RELEASE_DIR", dir)
        .output()
        .map_err(|e| fail(format!("running {}: {e}", script.display())))?;
    if !out.status.success() {
        return Err(fail(format!(
            "{} ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(dir.to_path_buf())
}

/// Whether `deploy/release/build.sh` ships a file of `deploy/templates/`
/// under this name: the flavours (`cluster-template*.yaml`) and the
/// ClusterClasses they refer to (`clusterclass-<class>.yaml`, the name
/// clusterctl looks for).
pub fn is_shipped_template(name: &str) -> bool {
    (name.starts_with("cluster-template") || name.starts_with("clusterclass-"))
        && name.ends_with(".yaml")
}

/// The cluster templates and ClusterClasses of `deploy/templates/` as a
/// release ships them, in a clusterctl local repository as version
/// `version`: what `clusterctl generate cluster --infrastructure scvmm
/// --flavor F` reads, without rendering the components (no kustomize).
pub fn templates_repository(version: &str) -> Result<LocalRepository, Error> {
    let io = |e: std::io::Error| fail(format!("collecting deploy/templates: {e}"));
    let staging = tempfile::tempdir().map_err(io)?;
    for entry in std::fs::read_dir(repo_root().join("deploy/templates")).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if is_shipped_template(name) {
            std::fs::copy(&path, staging.path().join(name)).map_err(io)?;
        }
    }
    local_repository(staging.path(), version, "")
}

/// A clusterctl local repository holding one release, and the clusterctl
/// configuration that points at it.
pub struct LocalRepository {
    /// `--config` for clusterctl.
    pub config: PathBuf,
    /// `<root>/infrastructure-scvmm/v<version>/`.
    pub version_dir: PathBuf,
    /// The version, `v<major>.<minor>.<patch>`.
    pub version: String,
    _root: tempfile::TempDir,
}

/// Copies the release in `release_dir` into a fresh local repository as
/// version `version` (`vX.Y.Z`); `extra_config` is appended to the
/// clusterctl configuration (image overrides, for one).
pub fn local_repository(
    release_dir: &Path,
    version: &str,
    extra_config: &str,
) -> Result<LocalRepository, Error> {
    let io = |e: std::io::Error| fail(format!("preparing the local repository: {e}"));
    let root = tempfile::tempdir().map_err(io)?;
    let version_dir = root.path().join(MANIFEST_LABEL).join(version);
    std::fs::create_dir_all(&version_dir).map_err(io)?;
    for entry in std::fs::read_dir(release_dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, version_dir.join(name)).map_err(io)?;
        }
    }
    let components = version_dir.join("infrastructure-components.yaml");
    let config = root.path().join("clusterctl.yaml");
    let text = format!(
        "providers:\n  - name: {PROVIDER}\n    type: InfrastructureProvider\n    url: {}\n{extra_config}",
        components.display()
    );
    std::fs::write(&config, text).map_err(io)?;
    Ok(LocalRepository {
        config,
        version_dir,
        version: version.to_string(),
        _root: root,
    })
}

impl LocalRepository {
    /// `--infrastructure scvmm:<version>` and `--config`: the arguments
    /// that make clusterctl read this repository.
    pub fn provider_args(&self) -> Vec<std::ffi::OsString> {
        vec![
            "--infrastructure".into(),
            format!("{PROVIDER}:{}", self.version).into(),
            "--config".into(),
            self.config.clone().into(),
        ]
    }

    /// `clusterctl generate provider --infrastructure scvmm:<version>` with
    /// `args` added and `vars` as the only environment variables: stdout,
    /// or clusterctl's message.
    pub fn generate_provider(
        &self,
        clusterctl_bin: &Path,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Result<String, Error> {
        let mut run = clusterctl::isolated(clusterctl_bin)?;
        let out = run
            .command
            .envs(vars.iter().copied())
            .args(["generate", "provider", "--infrastructure"])
            .arg(format!("{PROVIDER}:{}", self.version))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .map_err(|e| fail(format!("running {}: {e}", clusterctl_bin.display())))?;
        if !out.status.success() {
            return Err(fail(format!(
                "generate provider ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        String::from_utf8(out.stdout).map_err(|e| fail(e.to_string()))
    }
}

/// The names under `Variables:` in `clusterctl generate provider
/// --describe` output.
pub fn described_variables(describe: &str) -> Vec<String> {
    describe
        .lines()
        .skip_while(|l| !l.starts_with("Variables:"))
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- ").map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_read_from_the_description() {
        let text = "Name: scvmm\nVariables:\n  - A_B\n  - C\nImages:\n  - x:v1\n";
        assert_eq!(described_variables(text), vec!["A_B", "C"]);
        assert!(described_variables("Name: scvmm\n").is_empty());
    }
}
