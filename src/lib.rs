//! rtctl: administer Runtype client tokens, and emulate the Runtype API locally.
//!
//! The crate root is shared by the binary, the integration tests and the emulator. Only
//! `output` writes to the terminal; everything else returns values or errors.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod api;
pub mod cli;
pub mod commands;
pub mod credentials;
pub mod emulator;
pub mod error;
pub mod files;
pub mod jq;
pub mod manifest;
pub mod origin;
pub mod output;
pub mod settings;
pub mod tls;
