//! scvmm-sim: an SCVMM emulator speaking WinRM.
//!
//! Built so far: [`ps`], the front end (lexer, parser, printer) of the
//! PowerShell subset the emulator runs, and [`guest`], what a booted VM reads
//! from its cloud-init seed. The VMM model, the evaluator and the WinRM
//! endpoint land with issue #4.

pub mod guest;
pub mod ps;
