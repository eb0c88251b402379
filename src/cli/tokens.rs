//! `rtctl tokens …`: list, create, get, update, delete, rotate, value, snippet,
//! conversations.

use clap::{Args, Subcommand, ValueEnum};

use super::fields::{CreateFields, UpdateFields};
use super::id_completer;

/// Manage client tokens
///
/// Client tokens are the public, origin-restricted tokens a website embeds to run a Runtype
/// chat widget. Values are masked everywhere except `value`, `create`, `rotate` and
/// `snippet` (and --reveal).
///
/// Examples:
///   rtctl tokens list
///   rtctl tokens create --name "Docs widget" --origin https://docs.example.com --flow flow_support_01
///   rtctl tokens rotate ct_9f8e7d6c5b4a3210 --yes
#[derive(Debug, Subcommand)]
#[command(verbatim_doc_comment)]
pub(crate) enum TokensCommand {
    List(ListArgs),
    Create(CreateArgs),
    Get(GetArgs),
    Update(UpdateArgs),
    Delete(DeleteArgs),
    Rotate(RotateArgs),
    Retire(RetireArgs),
    Value(ValueArgs),
    Snippet(SnippetArgs),
    Conversations(ConversationsArgs),
}

/// The environments a filter may name: those of the token description.
pub(crate) fn environment() -> clap::builder::PossibleValuesParser {
    let words = crate::token::Field::Environment.spec().choices();
    clap::builder::PossibleValuesParser::new(words.iter().copied())
}

/// List client tokens
///
/// Newest first. Pages through the API 200 tokens at a time and prints as pages arrive.
/// Filters apply before --limit: `-e live --limit 5` shows five live tokens. The same filters
/// select tokens for `rotate --all`, `delete --all` and `export`.
///
/// Examples:
///   rtctl tokens list
///   rtctl tokens list --all --environment live --active
///   rtctl tokens list --all --json --jq '.[] | select(.isActive | not) | .id'
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ListArgs {
    /// Show at most N tokens
    #[arg(long, short = 'L', default_value_t = 50, value_name = "N",
          value_parser = super::at_least_one)]
    pub limit: u64,

    /// Show every token (no limit)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,

    #[command(flatten)]
    pub filters: Filters,

    /// Show full token values in JSON instead of masking them
    #[arg(long)]
    pub reveal: bool,
}

/// Create a client token
///
/// Prints the new token's value once on stdout (with --json, an object that includes it; with
/// --to-command, the value goes to the command and stdout gets the id); the server's warnings
/// go to stderr. Without --environment the token is a test token. A live token that admits *
/// or native asks first on a terminal, and needs --yes without one.
///
/// Examples:
///   id=$(rtctl tokens create --name Shop --origin https://shop.example.com --flow flow_support_01 --json --jq .id)
///   rtctl tokens create --name "Docs widget" --origin https://docs.example.com --flow flow_support_01
///   rtctl tokens create --name Shop --origin https://shop.example.com --agent agent_docs_01 \
///       --environment live --rate-limit-per-minute 20 --config @widget.json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    pub fields: CreateFields,

    /// The chat surface the token belongs to: its name, PRODUCT/SURFACE, or its id. Looked
    /// up, and refused if the token's flows and agents share nothing with what it exposes
    #[arg(long, value_name = "SURFACE", conflicts_with = "product-surface-id",
          add = super::surface_completer())]
    pub surface: Option<String>,

    /// Create a live token that admits * or native without asking
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub sink: SinkArgs,
}

/// Show one client token
///
/// The token value is masked unless --reveal is given; `rtctl tokens value ID` prints it bare.
///
/// Examples:
///   rtctl tokens get ct_9f8e7d6c5b4a3210
///   rtctl tokens get ct_9f8e7d6c5b4a3210 --json --jq .allowedOrigins
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct GetArgs {
    /// The token's id (or its whole value)
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,

    /// Show the full token value instead of masking it
    #[arg(long)]
    pub reveal: bool,
}

/// Change a client token
///
/// Sends only the fields given; list flags (--origin, --flow, --agent) replace the whole list.
/// The environment and product surface cannot change. Widening a live token to * or native,
/// removing any of its origins or deactivating it asks first on a terminal, and needs --yes
/// without one.
///
/// Examples:
///   rtctl tokens update ct_9f8e7d6c5b4a3210 --name "Docs widget (v2)"
///   rtctl tokens update ct_9f8e7d6c5b4a3210 --deactivate
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct UpdateArgs {
    /// The token's id (or its whole value)
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,

    #[command(flatten)]
    pub fields: UpdateFields,

    /// Widen a live token to * or native, remove its origins or deactivate it without asking
    #[arg(long)]
    pub yes: bool,

    /// Show what would change, field by field, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Delete client tokens
///
/// Names ids, or selects with --all (narrowed by --environment, --inactive, --name-contains,
/// --surface).
/// Asks once for all of them on a terminal, listing each; --yes skips it. Without a terminal
/// (or with --no-input) it refuses unless --yes is given. Works on --concurrency tokens at a
/// time, reports each, and exits 1 if any failed; Ctrl-C starts no more and reports.
///
/// Examples:
///   rtctl tokens delete ct_9f8e7d6c5b4a3210
///   rtctl tokens delete ct_9f8e7d6c5b4a3210 ct_0123456789abcdef --yes
///   rtctl tokens delete --all --environment test --inactive --yes --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct DeleteArgs {
    #[command(flatten)]
    pub bulk: BulkArgs,
}

/// What `rotate` and `delete` share: which tokens, whether to ask, how many at once.
#[derive(Debug, Clone, Args)]
pub(crate) struct BulkArgs {
    /// Ids of the tokens (or their whole values)
    // A filter without --all passes here, so that its error can say to add --all.
    #[arg(value_name = "ID", conflicts_with = "all", add = id_completer(),
          required_unless_present_any = ["all", "environment", "active", "inactive", "name_contains", "surface"])]
    pub ids: Vec<String>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Show which tokens would be acted on, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// How many tokens to work on at once
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
}

/// Which tokens: the same filters, spelled the same way, on `tokens list`, the `--all`
/// selections of `rotate` and `delete`, and `export`, so a selection can be previewed with
/// `tokens list` before it is acted on.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct Filters {
    /// Only tokens of this environment
    #[arg(long, short = 'e', value_parser = environment(), value_name = "ENV")]
    pub environment: Option<String>,

    /// Only active tokens
    #[arg(long, conflicts_with = "inactive")]
    pub active: bool,

    /// Only inactive tokens
    #[arg(long)]
    pub inactive: bool,

    /// Only tokens whose name contains TEXT (ignoring case)
    #[arg(long, value_name = "TEXT")]
    pub name_contains: Option<String>,

    /// Only tokens bound to this chat surface: its name, PRODUCT/SURFACE, or its id
    #[arg(long, value_name = "SURFACE", add = super::surface_completer())]
    pub surface: Option<String>,
}

impl Filters {
    /// The tokens these flags select.
    pub(crate) fn selection(&self) -> crate::token::selection::Selection {
        crate::token::selection::Selection {
            environment: self.environment.clone(),
            active: match (self.active, self.inactive) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            name_contains: self.name_contains.clone(),
            surface: self.surface.clone(),
            surface_id: None,
        }
    }

    /// The filters given, as they would be typed (`--environment test --inactive`), for
    /// "needs --all" errors; empty when none is.
    pub(crate) fn given(&self) -> String {
        let word = |flag: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| format!("{flag} {}", crate::untrusted::shell_word(v)))
        };
        [
            word("--environment", &self.environment),
            self.active.then(|| "--active".to_string()),
            self.inactive.then(|| "--inactive".to_string()),
            word("--name-contains", &self.name_contains),
            word("--surface", &self.surface),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// Which tokens a bulk command acts on, instead of naming ids.
#[derive(Debug, Clone, Args)]
pub(crate) struct SelectionArgs {
    /// Act on every token that passes the filters instead of the ids given
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub filters: Filters,
}

/// `--to-command`: where new values go instead of stdout.
#[derive(Debug, Clone, Args)]
pub(crate) struct SinkArgs {
    /// Hand each new value to CMD on its stdin instead of printing it: CMD runs once per
    /// value, without a shell, with RTCTL_TOKEN_ID, RTCTL_TOKEN_NAME, RTCTL_TOKEN_ENVIRONMENT
    /// (and RTCTL_PREVIOUS_ID) set; stdout then lists the ids delivered. If CMD fails, what
    /// can be undone is undone
    #[arg(long, value_name = "CMD")]
    pub to_command: Option<String>,

    /// With --to-command: stop CMD after SECONDS (whether it stored the value is then
    /// unknown, and nothing is undone)
    #[arg(long, value_name = "SECONDS", default_value_t = crate::sink::DEFAULT_TIMEOUT_SECS, requires = "to_command",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub to_timeout: u64,
}

impl SinkArgs {
    /// How long the sink gets for one value.
    pub(crate) fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.to_timeout)
    }
}

/// How rotate prints new values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RotateFormat {
    /// The bare value, one per line
    Value,
    /// NAME=value, for an env file
    Env,
}

/// Issue a new value for client tokens
///
/// The previous value stops working immediately: every site using it must be given the new
/// one (--overlap keeps it working until you retire it). Delivers each new value as its token
/// is done, confirmed current: bare for one ID, ID<TAB>value lines otherwise (JSON with --json;
/// NAME=value with --format env), or to --to-command, which then gets the value on stdin and
/// stdout lists the ids. Names ids (or whole values), or selects with --all (narrowed by
/// --environment, --inactive, --name-contains, --surface; tokens already rolling over are
/// skipped); asks once for all of them on a terminal; --yes skips it. Each token is rotated
/// exactly once: a regenerate whose reply was lost is never sent again.
///
/// Examples:
///   rtctl tokens rotate ct_9f8e7d6c5b4a3210
///   rtctl tokens rotate ct_9f8e7d6c5b4a3210 --yes --to-command 'gh secret set WIDGET_TOKEN'
///   rtctl tokens rotate --all -e live --name-contains docs --overlap --yes \
///       --to-command 'gh secret set WIDGET_TOKEN'   # re-running starts nothing new
///   rtctl tokens rotate ct_9f8e7d6c5b4a3210 --yes --format env --env-var WIDGET_TOKEN > widget.env
///   rtctl tokens rotate --all --environment live --name-contains checkout --yes --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct RotateArgs {
    #[command(flatten)]
    pub bulk: BulkArgs,

    /// How to print the new value
    #[arg(long, value_enum, default_value_t = RotateFormat::Value, value_name = "FORMAT")]
    pub format: RotateFormat,

    /// Variable name for --format env
    #[arg(long, default_value = "RUNTYPE_CLIENT_TOKEN", value_name = "NAME")]
    pub env_var: String,

    /// Keep the old value working: create a successor with every field of the token, deliver
    /// its value, and only then mark the old token as retiring (finish with rtctl tokens
    /// retire); running the same command again finishes a rollover, never starts a second
    #[arg(long)]
    pub overlap: bool,

    /// With --overlap: how long the old token keeps working at least (30m, 36h, 7d)
    #[arg(long, value_parser = crate::duration::parse, requires = "overlap",
          value_name = "DURATION")]
    pub grace: Option<std::time::Duration>,

    #[command(flatten)]
    pub sink: SinkArgs,
}

/// Retire tokens a rotation with --overlap replaced
///
/// Deletes (or with --deactivate, deactivates) old tokens that `rtctl tokens rotate --overlap`
/// marked as retiring, once their chain of marks reaches the token in use (existing, not
/// retiring, same environment and surface): those named, or with --due those past their
/// deadline, and with --idle D those unused for D (counted from the later of their last use
/// and the start of the rollover), judged by the server's clock. Asks on a terminal; --yes
/// without one.
///
/// Examples:
///   rtctl tokens retire ct_9f8e7d6c5b4a3210 --yes
///   rtctl tokens retire --due --yes                 # a scheduled job
///   rtctl tokens retire --due --idle 2h --deactivate --yes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["ids", "due", "idle"])))]
pub(crate) struct RetireArgs {
    /// Ids (or whole values) of retiring tokens to retire now
    #[arg(value_name = "ID", add = id_completer(), conflicts_with_all = ["due", "idle"])]
    pub ids: Vec<String>,

    /// Retiring tokens past their deadline
    #[arg(long)]
    pub due: bool,

    /// Retiring tokens unused for DURATION (30m, 36h, 7d) since the rollover began
    #[arg(long, value_parser = crate::duration::parse, value_name = "DURATION")]
    pub idle: Option<std::time::Duration>,

    /// Deactivate instead of deleting, so the step can be undone (rtctl tokens update ID --activate)
    #[arg(long)]
    pub deactivate: bool,

    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Show which tokens would be retired, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Print a token's value
///
/// Prints the bare value and a newline, nothing else, for use in $(…); with --to-command,
/// hands it to the command instead (delivering a value again after a store failed).
///
/// Examples:
///   export WIDGET_TOKEN=$(rtctl tokens value ct_9f8e7d6c5b4a3210)
///   rtctl tokens value ct_9f8e7d6c5b4a3210 --to-command 'gh secret set WIDGET_TOKEN'
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ValueArgs {
    /// The token's id (or its whole value)
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,

    #[command(flatten)]
    pub sink: SinkArgs,
}

/// Print the embed code for a token
///
/// The widget's embed code as Runtype documents it, for this token: its current value, the
/// API URL rtctl uses, and the token's flow (its default, else its first) or agent. The last
/// step of a rotation: paste it where the old one was. The value is in the code: treat the
/// output like `rtctl tokens value`.
///
/// Formats: `script` (a script tag for any page, the widget's installer from a CDN), `esm`
/// (a module for a bundler, after `npm install @runtypelabs/persona`), `react` (a component).
///
/// Examples:
///   rtctl tokens snippet ct_9f8e7d6c5b4a3210
///   rtctl tokens snippet ct_9f8e7d6c5b4a3210 --format react > src/ChatWidget.tsx
///   rtctl tokens snippet ct_9f8e7d6c5b4a3210 --widget-url https://cdn.runtype.com/persona/4.24.0/install.global.js
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct SnippetArgs {
    /// The token's id
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,

    /// What kind of code to print
    #[arg(long, value_enum, default_value_t = SnippetFormat::Script, value_name = "FORMAT")]
    pub format: SnippetFormat,

    /// Name this flow of the token's in the embed, rather than its default
    #[arg(long, value_name = "ID", conflicts_with = "agent")]
    pub flow: Option<String>,

    /// Name this agent of the token's in the embed
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,

    /// Where the page loads the widget's installer from (`script` only): a pinned version or a
    /// copy you host
    #[arg(long, value_name = "URL")]
    pub widget_url: Option<String>,
}

/// The kinds of embed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SnippetFormat {
    /// A script tag for any page
    Script,
    /// An ES module for a bundler
    Esm,
    /// A React component
    React,
}

/// List a token's conversations
///
/// Newest first.
///
/// Examples:
///   rtctl tokens conversations ct_9f8e7d6c5b4a3210
///   rtctl tokens conversations ct_9f8e7d6c5b4a3210 --flow flow_support_01 --all --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ConversationsArgs {
    /// The token's id (or its whole value)
    #[arg(value_name = "ID", add = id_completer())]
    pub id: String,

    /// Only conversations of this flow
    #[arg(long, value_name = "ID")]
    pub flow: Option<String>,

    /// Show at most N conversations
    #[arg(long, short = 'L', default_value_t = 20, value_name = "N",
          value_parser = super::at_least_one)]
    pub limit: u64,

    /// Show every conversation
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
}
