//! `rtctl auth …`: log in, log out, show the key, show the status.

use clap::{Args, Subcommand};

/// Manage the stored API key
///
/// A key is stored per profile and API URL, in the system keyring (or, with
/// --insecure-storage, in a private file in the config directory). RUNTYPE_API_KEY, when
/// set, takes precedence over any stored key.
///
/// Examples:
///   rtctl auth login
///   rtctl auth status
///   rtctl --profile staging auth login --with-key < staging-key.txt
#[derive(Debug, Subcommand)]
#[command(verbatim_doc_comment)]
pub(crate) enum AuthCommand {
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
pub(crate) struct LoginArgs {
    /// Read the key from stdin instead of prompting
    #[arg(long)]
    pub with_key: bool,

    /// Store the key in a plain-text file (mode 0600) in the config directory instead of
    /// the system keyring
    #[arg(long)]
    pub insecure_storage: bool,
}

/// Remove the stored API key of this profile and API URL
///
/// Removes it from the system keyring and from the credentials file. Logging out when no key
/// is stored is a no-op that says so.
///
/// Examples:
///   rtctl auth logout
///   rtctl --profile staging auth logout
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct LogoutArgs {}

/// Show the profile, the API URL, where the key comes from, and whether the API accepts it
///
/// The key is shown masked. Warns when RUNTYPE_API_KEY hides a stored login. Exits 4 when
/// there is no key or the API rejects it, 1 when the API cannot be reached.
///
/// Examples:
///   rtctl auth status
///   rtctl auth status --json --jq .keySource
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct StatusArgs {}

/// Print the API key, to hand it to another tool
///
/// Prints the key rtctl would use (from RUNTYPE_API_KEY, the keyring or the credentials file)
/// on stdout, bare, for command substitution.
///
/// Examples:
///   export RUNTYPE_API_KEY=$(rtctl auth token)
///   rtctl --profile staging auth token | some-tool --key-stdin
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct TokenArgs {}
