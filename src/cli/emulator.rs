//! `rtctl emulator`: flags of the local Runtype API emulator.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use crate::emulator::{AllowedHost, FaultSpec, Seed};

/// Run a local Runtype API emulator
///
/// Serves the client-token API of api.runtype.com on this machine, so you can try rtctl and
/// test scripts without touching production (like stripe-mock for Stripe). The base URL is
/// printed on stdout when that is a file or a pipe, for a script to read (on a terminal the
/// banner shows it); the banner, the accepted API key and one line per request go to stderr.
/// Ctrl-C stops it cleanly.
///
/// Runtype's chat widget works against it from a page at another origin: point the embed's
/// data-api-url at the base URL. The widget routes (/v1/client/*) answer CORS preflights,
/// and admit or refuse origins, rotated values and inactive tokens as the service does (an
/// origin the token does not admit shows in the browser as a CORS error). Chat replies are
/// canned: the emulator runs no flow or agent, and answers every message with the same text.
///
/// It answers only requests whose Host header names where it listens (localhost, 127.0.0.1 or
/// [::1] with its port, or the --host address), so a page in your browser cannot reach it
/// through a DNS name rebound to this machine; --allowed-host NAME[:PORT] adds a name (a dev
/// server's proxy sends Host: localhost:5173, docker -p 8080:7878 sends port 8080). The
/// control API (/__emulator/*) refuses requests carrying an Origin header (or Sec-Fetch-Site
/// other than none) and POSTs without Content-Type: application/json: no web page drives it.
///
/// Faults make the next matching requests fail on purpose. A --fault SPEC is
/// 'METHOD PATH key=value…', where PATH may use * for one segment and a final ** for the
/// rest, and the keys are: count=N (0: until cleared), skip=N (let N through first),
/// status=CODE, retry-after=SECONDS|DATE, retry-after-ms=MS, ratelimit-reset=UNIX, code=TEXT,
/// delay-ms=MS, drop=before|after, garbage. The same faults can be set at run time with POST /__emulator/faults.
///
/// Examples:
///   rtctl emulator
///   rtctl emulator --port 0 --seed none --state ./emulator.json
///   rtctl emulator --fault 'GET /v1/client-tokens status=429 retry-after=2 count=2'
///   rtctl emulator --fault 'POST /v1/client-tokens/*/regenerate drop=after'
///   rtctl emulator --allowed-host localhost:5173
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct EmulatorArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub host: IpAddr,

    /// Port to listen on; 0 picks a free one
    #[arg(long, short = 'p', default_value_t = crate::emulator::DEFAULT_PORT, value_name = "N")]
    pub port: u16,

    /// Keep state in FILE (JSON, replaced atomically, locked against a second emulator)
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// An API key to accept with full access (repeatable) [default: rt_test_emulator]
    #[arg(long = "api-key", value_name = "KEY")]
    pub api_keys: Vec<String>,

    /// An API key to accept for reads only; its writes get 403 (repeatable)
    #[arg(long = "read-only-key", value_name = "KEY")]
    pub read_only_keys: Vec<String>,

    /// What a new state starts with: a few demo tokens, or nothing
    #[arg(long, default_value = "demo", value_name = "SEED", value_parser = ["demo", "none"])]
    pub seed: String,

    /// A flow the account has, which tokens may name (repeatable; added to the seed's)
    #[arg(long = "flow", value_name = "ID")]
    pub flows: Vec<String>,

    /// An agent the account has (repeatable; added to the seed's)
    #[arg(long = "agent", value_name = "ID")]
    pub agents: Vec<String>,

    /// Delay every API request by MS milliseconds
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency: u64,

    /// Make matching requests fail: 'METHOD PATH key=value…' (repeatable; see above)
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault)]
    pub faults: Vec<FaultSpec>,

    /// Also answer requests for this host name (a proxy's localhost:5173, a container's
    /// published port); without :PORT, on any port (repeatable; see above)
    #[arg(long = "allowed-host", value_name = "NAME[:PORT]")]
    pub allowed_hosts: Vec<AllowedHost>,

    /// Do not log requests on stderr
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl EmulatorArgs {
    pub(crate) fn seed(&self) -> Seed {
        self.seed.parse().unwrap_or(Seed::Demo)
    }
}

fn parse_fault(text: &str) -> Result<FaultSpec, String> {
    FaultSpec::parse_compact(text)
}
