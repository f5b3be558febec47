//! scvmm-sim: an SCVMM emulator speaking WinRM.
//!
//! Built so far: [`ps`], the front end (lexer, parser, printer) of the
//! PowerShell subset the emulator runs. The VMM model, the evaluator, the
//! WinRM endpoint and the guest simulation land with issue #4.

pub mod ps;
