//! `rtctl surfaces …`: the products' chat surfaces, which tokens belong to.

use clap::{Args, Subcommand};

/// Show the chat surfaces client tokens belong to
///
/// A client token is scoped to one product's chat surface (the dashboard's "open your chat
/// Surface, go to the Auth tab"). Commands that take --surface accept its name, PRODUCT/SURFACE
/// when two products use the same name, or its id.
///
/// Examples:
///   rtctl surfaces list
///   rtctl surfaces list --json --jq '.[] | select(.status != "active") | .id'
#[derive(Debug, Subcommand)]
#[command(verbatim_doc_comment)]
pub(crate) enum SurfacesCommand {
    List(ListArgs),
}

/// List chat surfaces with their status and their tokens
///
/// Every chat surface of the account (the API's cursor paging, followed to the end), its
/// product, status (draft, active or paused: only an active surface serves chat) and the
/// client tokens bound to it.
///
/// Examples:
///   rtctl surfaces list
///   rtctl tokens list --surface "Example Store/Web chat"
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ListArgs {}
