//! `crdgen`: writes our CRDs into a directory, or checks that it is current.
//!
//! `crdgen [DIR]` writes `DIR/*.yaml` (default `crds`) and the API reference
//! (`--docs`, default `docs/api.md`);
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
    /// Output directory for the CRD YAML files.
    #[arg(default_value = "crds")]
    dir: PathBuf,
    /// Where the Markdown API reference rendered from the schemas goes.
    #[arg(long, default_value = "docs/api.md")]
    docs: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.check {
        let checked = operator::crdgen::check(&args.dir).map(|mut p| {
            p.extend(operator::crdgen::check_docs(&args.docs));
            p
        });
        match checked {
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
        let written = operator::crdgen::write_all(&args.dir).and_then(|paths| {
            operator::crdgen::write_docs(&args.docs)?;
            Ok(paths)
        });
        match written {
            Ok(paths) => {
                for p in paths {
                    println!("wrote {}", p.display());
                }
                println!("wrote {}", args.docs.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("crdgen: {e}");
                ExitCode::FAILURE
            }
        }
    }
}
