//! `rtctl doctor`: why the widget on a page does not work.

use std::path::PathBuf;

use clap::Args;

/// Find out why the chat widget on a page does not work
///
/// Fetches each page (following up to 5 redirects, at most 5 MiB, with a User-Agent naming
/// rtctl; no API key ever goes to the page's host), finds the widget embeds in it (script
/// tags with data-runtype-token, client-token values in inline scripts and configuration,
/// and up to 3 same-origin script bundles), and checks each against the account: whose value
/// it is (or that no token has it: rotated or deleted), whether the page's origin is
/// admitted, an inactive token, a test token on a public site, a flow or agent the token does
/// not allow, a data-api-url that is not this API. --html FILE --origin ORIGIN checks a built
/// page before it is deployed. --probe also asks the service: a widget init from the page's
/// origin, to rtctl's API URL (it opens a session and updates the token's last use). Exits 0
/// when every embed is healthy and 8 when a problem was found.
///
/// Examples:
///   rtctl doctor https://www.example.com/pricing
///   rtctl doctor --html dist/index.html --origin https://www.example.com
///   rtctl doctor https://staging.example.com --probe --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct DoctorArgs {
    /// Pages to check (https; plain http works too)
    #[arg(
        value_name = "URL",
        required_unless_present = "html",
        conflicts_with = "html"
    )]
    pub urls: Vec<String>,

    /// A built page to check before it is deployed (needs --origin)
    #[arg(long, value_name = "FILE", requires = "origin")]
    pub html: Option<PathBuf>,

    /// The origin the --html page will be served from
    #[arg(long, value_name = "ORIGIN", requires = "html")]
    pub origin: Option<String>,

    /// Also ask the service: a widget init from the page's origin, to rtctl's API URL
    #[arg(long)]
    pub probe: bool,
}
