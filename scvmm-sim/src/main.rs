//! The `scvmm-sim` binary. The emulator is not built yet (issue #4); the
//! binary says so and fails instead of pretending to serve WinRM.

fn main() -> std::process::ExitCode {
    eprintln!(
        "scvmm-sim: the SCVMM emulator is not built yet (tracked in issue #4); nothing is listening"
    );
    std::process::ExitCode::FAILURE
}
