//! WS-Management and WinRS (the WinRM remote shell) for both sides of the
//! wire: the operator's client and the emulator's server.
//!
//! Not built yet: the protocol lands with issue #3. This crate exists so the
//! workspace shape matches the architecture from the first commit.
