//! scvmm-sim: an SCVMM emulator speaking WinRM.
//!
//! Not built yet: the emulator lands with issue #4.
