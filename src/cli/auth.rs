//! `rtctl auth …`: log in, log out, show the key, show the status.

use clap::{Args, Subcommand};

/// Manage the stored API key
///
/// A key is stored per profile and API URL, in the system keyring (or, with
/// --insecure-storage, in a private file in the config directory). RUNTYPE_API_KEY, when
/// set, takes precedence over any stored key.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    Login(LoginArgs),
    Logout(LogoutArgs),
    Status(StatusArgs),
    Token(TokenArgs),
}

/// Store an API key after checking it with the API
///
/// Reads the key from a hidden prompt, or from stdin with --with-key (never from the
/// command line, where other users and shell history would see it).
///
/// Examples:
///   rtctl auth login
///   rtctl auth login --with-key < ~/runtype-key.txt
///   rtctl --profile staging auth login
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct LoginArgs {
    /// Read the key from stdin instead of prompting
    #[arg(long)]
    pub with_key: bool,

    /// Store the key in a plain-text file (mode 0600) in the config directory instead of
    /// the system keyring
    #[arg(long)]
    pub insecure_storage: bool,
}

/// Remove the stored API key of this profile and API URL
#[derive(Debug, Args)]
pub struct LogoutArgs {}

/// Show the profile, the API URL, where the key comes from, and whether the API accepts it
///
/// Exits 4 when there is no key or the API rejects it.
#[derive(Debug, Args)]
pub struct StatusArgs {}

/// Print the API key, for `export RUNTYPE_API_KEY=$(rtctl auth token)`
#[derive(Debug, Args)]
pub struct TokenArgs {}
