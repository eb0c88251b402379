//! `rtctl origins …`: list, add, remove, check a token's allowed origins.

use clap::{Args, Subcommand};

use super::id_completer;

/// Manage the origins a client token admits
///
/// An origin entry is one of: an exact origin (https://app.example.com, http://localhost:3000),
/// a wildcard subdomain (https://*.example.com: subdomains, not the apex), * (any origin:
/// testing only) or native (requests without an Origin header: mobile apps). Older bare-host
/// entries (example.com) admit http and https.
///
/// Examples:
///   rtctl origins list ct_0123456789abcdef
///   rtctl origins add ct_0123456789abcdef https://www.example.com
///   rtctl origins check ct_0123456789abcdef https://www.example.com/pricing
#[derive(Debug, Subcommand)]
#[command(verbatim_doc_comment)]
pub(crate) enum OriginsCommand {
    List(ListArgs),
    Add(AddArgs),
    Remove(RemoveArgs),
    Check(CheckArgs),
    Traffic(TrafficArgs),
}

/// List a token's allowed origins
///
/// One origin per line in a pipe; on a terminal, a table with each entry's kind (exact,
/// wildcard, any, native, bare host).
///
/// Examples:
///   rtctl origins list ct_0123456789abcdef
///   rtctl origins list ct_0123456789abcdef --json --jq '.[] | select(.kind == "wildcard") | .origin'
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ListArgs {
    /// The token's id (ct_…), or its whole value
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,
}

/// Allow more origins for a token
///
/// Reads the token, adds the origins that are not already allowed (compared in normalised
/// form), writes only allowedOrigins, and reads the token back to verify. Adding * or native
/// to a live token asks for confirmation (or --yes).
///
/// Examples:
///   rtctl origins add ct_0123456789abcdef https://www.example.com
///   rtctl origins add ct_0123456789abcdef https://*.example.com --dry-run
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct AddArgs {
    /// The token's id (ct_…), or its whole value
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,

    /// Origins to allow
    #[arg(required = true, value_name = "ORIGIN")]
    pub origins: Vec<String>,

    /// Show the change without making it
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask before allowing * or native on a live token
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Stop allowing origins for a token
///
/// Reads the token, removes the given origins (compared in normalised form), writes only
/// allowedOrigins, and reads the token back to verify. Removing from a live token asks for
/// confirmation (or --yes): sites at those origins stop working at once. The last origin
/// cannot be removed; deactivate or delete the token instead.
///
/// Examples:
///   rtctl origins remove ct_0123456789abcdef http://localhost:3000
///   rtctl origins remove ct_0123456789abcdef https://old.example.com --dry-run
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct RemoveArgs {
    /// The token's id (ct_…), or its whole value
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,

    /// Origins to stop allowing
    #[arg(required = true, value_name = "ORIGIN",
          add = clap_complete::ArgValueCompleter::new(crate::complete::token_origins))]
    pub origins: Vec<String>,

    /// Show the change without making it
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask before removing origins from a live token
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Check whether a token admits an origin
///
/// Evaluates locally, with the rules the API enforces: names the entry that admits the origin,
/// or explains the nearest miss (www vs apex, port, scheme, a wildcard and its apex). ORIGIN
/// may be a full URL (its origin is used), or native for a request without an Origin header.
/// Exits 0 when admitted, 8 when not.
///
/// Examples:
///   rtctl origins check ct_0123456789abcdef https://www.example.com
///   rtctl origins check ct_0123456789abcdef https://app.example.com/pricing?x=1
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct CheckArgs {
    /// The token's id (ct_…), or its whole value
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,

    /// The origin (or URL) a browser would send, or native
    pub origin: String,
}

/// Compare a token's origins with the origins that really call its surface
///
/// The service records, per chat surface, every page origin that started the widget over the
/// last days (7 at Runtype), admitted or not. This joins that with the token's own list:
/// refused but seen (a site trying to use the widget and turned away: the near miss, and the
/// origins add that fixes it), admitted by another token of the surface, allowed and seen,
/// allowed but unseen (entries to consider removing; rtctl never removes them), and wide
/// entries (*, wildcards) whose real traffic is a few sites, with the narrower list. With
/// --surface, every token of that surface. Exits 0 when nothing is refused, 8 when something
/// is.
///
/// Examples:
///   rtctl origins traffic ct_0123456789abcdef
///   rtctl origins traffic --surface "Example Store/Web chat"
///   rtctl origins traffic ct_0123456789abcdef --json --jq '.tokens[].refused[].origin'
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct TrafficArgs {
    /// The token's id (ct_…), or its whole value
    #[arg(value_name = "ID", add = id_completer(), required_unless_present = "surface",
          conflicts_with = "surface")]
    pub id: Option<String>,

    /// Every token of this chat surface: its name, PRODUCT/SURFACE, or its id
    #[arg(long, value_name = "SURFACE", add = super::surface_completer())]
    pub surface: Option<String>,
}
