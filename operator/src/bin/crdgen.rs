//! `crdgen`: writes our CRDs into a directory, or checks that it is current.
//!
//! `crdgen [DIR]` writes `DIR/*.yaml` (default `crds`);
//! `crdgen --check [DIR]` exits non-zero and lists the files that drifted.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Generate or check the provider's CRD manifests.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Only compare DIR with the generated CRDs; exit 1 on any difference.
    #[arg(long)]
    check: bool,
    /// Output directory.
    #[arg(default_value = "crds")]
    dir: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.check {
        match operator::crdgen::check(&args.dir) {
            Ok(problems) if problems.is_empty() => {
                println!("crds are up to date in {}", args.dir.display());
                ExitCode::SUCCESS
            }
            Ok(problems) => {
                for p in problems {
                    eprintln!("drift: {p}");
                }
                eprintln!("run `just crds` and commit the result");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("crdgen: {e}");
                ExitCode::FAILURE
            }
        }
    } else {
        match operator::crdgen::write_all(&args.dir) {
            Ok(paths) => {
                for p in paths {
                    println!("wrote {}", p.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("crdgen: {e}");
                ExitCode::FAILURE
            }
        }
    }
}
