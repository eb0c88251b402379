//! `rtctl auth`: log in (check, then store), log out, print the key, show the status.

use serde_json::{Value, json};

use super::Context;
use crate::api::{ApiError, ApiKey};
use crate::cli::auth::{AuthCommand, LoginArgs};
use crate::credentials::{KeySource, KeyringError, Stored, no_key_error};
use crate::error::{CliError, ErrorKind};
use crate::output::Format;
use crate::settings::ENV_API_KEY;

/// Longer than any API key; a guard against piping a whole file in by mistake.
const MAX_KEY_BYTES: u64 = 4096;

pub(crate) async fn run(ctx: &Context, command: AuthCommand) -> Result<(), CliError> {
    match command {
        AuthCommand::Login(args) => login(ctx, args).await,
        AuthCommand::Logout(_) => logout(ctx),
        AuthCommand::Status(_) => status(ctx).await,
        AuthCommand::Token(_) => token(ctx),
    }
}

fn describe_account(ctx: &Context) -> String {
    format!(
        "{} (profile {})",
        ctx.settings.api_url, ctx.settings.profile
    )
}

// ---- login --------------------------------------------------------------------------------

/// (`--local` is refused before this runs: it needs no login.)
async fn login(ctx: &Context, args: LoginArgs) -> Result<(), CliError> {
    let key = if args.with_key {
        read_key_from_stdin(ctx).await?
    } else if ctx.can_prompt {
        ctx.printer.note(&format!(
            "Logging in to {}. Create an API key in the Runtype dashboard (Settings → API keys).",
            describe_account(ctx)
        ));
        check_key_text(
            ctx.printer.secret("Paste your API key").await?,
            KeyFrom::Prompt,
        )?
    } else {
        return Err(CliError::usage(
            "no terminal to ask for the API key on (or --no-input was given)",
        )
        .with_hint(format!(
            "pass it on stdin: rtctl auth login --with-key < key-file (or set {ENV_API_KEY})"
        )));
    };

    verify(ctx, &key).await?;
    let account = ctx.account();
    let credentials = &ctx.credentials;

    let stored_in = if args.insecure_storage {
        store_in_file(ctx, &key)?
    } else {
        match credentials.save_to_keyring(&account, &key) {
            Ok(()) => {
                // An older plain-text copy would outlive the login; remove it.
                if let Err(e) = credentials.delete_from_file(&account) {
                    ctx.printer.warn(&format!(
                        "could not remove the old key from the file: {}",
                        e.message
                    ));
                }
                "the system keyring".to_string()
            }
            Err(trouble) => fall_back_to_file(ctx, &key, &trouble).await?,
        }
    };
    ctx.printer.note(&format!(
        "Logged in to {}; the key is stored in {stored_in}.",
        describe_account(ctx)
    ));
    if ctx.env(ENV_API_KEY).is_some_and(|v| !v.trim().is_empty()) {
        ctx.printer.warn(&format!(
            "{ENV_API_KEY} is set in this environment and takes precedence over the stored key; unset it to use this login"
        ));
    }
    Ok(())
}

async fn read_key_from_stdin(ctx: &Context) -> Result<ApiKey, CliError> {
    if ctx.stdin_is_terminal() {
        ctx.printer
            .note("Reading the API key from stdin; paste it, then press Enter and Ctrl-D.");
    }
    let text = ctx
        .read_stdin(MAX_KEY_BYTES)
        .await
        .map_err(|e| CliError::usage(format!("could not read the API key from stdin: {e}")))?
        .ok_or_else(|| {
            CliError::usage(format!(
                "stdin holds more than {MAX_KEY_BYTES} bytes, which is not an API key"
            ))
            .with_hint("pipe in only the key: rtctl auth login --with-key < key-file")
        })?;
    check_key_text(text, KeyFrom::Stdin)
}

/// Where a key was read, for the advice when it is empty.
#[derive(Clone, Copy)]
enum KeyFrom {
    Prompt,
    Stdin,
}

/// A key is one word: surrounding whitespace (a trailing newline) is dropped, inner
/// whitespace means something else was pasted.
fn check_key_text(text: String, from: KeyFrom) -> Result<ApiKey, CliError> {
    let key = text.trim();
    if key.is_empty() {
        let (what, hint) = match from {
            KeyFrom::Prompt => (
                "nothing was pasted at the prompt",
                "copy the key from the Runtype dashboard (Settings → API keys) and paste it at the prompt",
            ),
            KeyFrom::Stdin => (
                "stdin was empty or blank",
                "pipe in the key: rtctl auth login --with-key < key-file",
            ),
        };
        return Err(CliError::usage(format!("the API key is empty: {what}")).with_hint(hint));
    }
    if key.chars().any(char::is_whitespace) {
        return Err(CliError::usage(
            "the API key contains whitespace; it must be a single word such as rt_live_…",
        ));
    }
    Ok(ApiKey::new(key))
}

/// One cheap request (the first token), so a mistyped key is never stored.
async fn verify(ctx: &Context, key: &ApiKey) -> Result<(), CliError> {
    let client = ctx.client_with(key.clone())?;
    match client.token_page(1, 0).await {
        Ok(_) => Ok(()),
        Err(e @ ApiError::Status { status: 401, .. }) => Err(CliError::new(
            ErrorKind::Auth,
            format!("{e}; nothing was stored"),
        )
        .with_hint(format!(
            "check that you copied the whole key, and that it belongs to {}",
            ctx.settings.api_url
        ))),
        Err(e) => {
            let mut err = CliError::from(e);
            err.message.push_str("; nothing was stored");
            Err(err)
        }
    }
}

fn store_in_file(ctx: &Context, key: &ApiKey) -> Result<String, CliError> {
    let account = ctx.account();
    let path = ctx.credentials.save_to_file(&account, key)?.to_path_buf();
    // A key left in the keyring would still win over the file.
    match ctx.credentials.delete_from_keyring(&account) {
        Ok(_) | Err(KeyringError::Unavailable(_)) => {}
        Err(e) => ctx.printer.warn(&format!(
            "could not check the system keyring for an older key, which would take precedence: {e}"
        )),
    }
    Ok(format!("{} (plain text, mode 0600)", path.display()))
}

/// No keyring: the file is used only with the user's say-so.
async fn fall_back_to_file(
    ctx: &Context,
    key: &ApiKey,
    trouble: &KeyringError,
) -> Result<String, CliError> {
    let path = ctx
        .credentials
        .file()
        .map(|f| f.path().display().to_string())
        .unwrap_or_else(|| "the config directory".into());
    if ctx.can_prompt {
        ctx.printer
            .confirm(
                &format!("{trouble}."),
                &format!("Store the key in plain text in {path}, readable only by you?"),
            )
            .await?;
        return store_in_file(ctx, key);
    }
    Err(CliError::failure(format!("could not store the key: {trouble}")).with_hint(format!(
        "rerun with --insecure-storage to keep it in {path} (mode 0600), or set {ENV_API_KEY} instead of logging in"
    )))
}

// ---- logout -------------------------------------------------------------------------------

fn logout(ctx: &Context) -> Result<(), CliError> {
    let account = ctx.account();
    let from_keyring = ctx.credentials.delete_from_keyring(&account);
    let from_file = ctx.credentials.delete_from_file(&account)?;
    let mut removed = Vec::new();
    match from_keyring {
        Ok(true) => removed.push("the system keyring".to_string()),
        Ok(false) | Err(KeyringError::Unavailable(_)) => {}
        Err(e) if !from_file => {
            return Err(CliError::failure(format!("could not remove the key: {e}")));
        }
        Err(e) => ctx
            .printer
            .warn(&format!("could not check the system keyring: {e}")),
    }
    if from_file && let Some(file) = ctx.credentials.file() {
        removed.push(file.path().display().to_string());
    }
    if removed.is_empty() {
        ctx.printer.note(&format!(
            "Not logged in to {}; nothing to remove.",
            describe_account(ctx)
        ));
    } else {
        ctx.printer.note(&format!(
            "Logged out of {}: removed the key from {}.",
            describe_account(ctx),
            removed.join(" and ")
        ));
    }
    if ctx.env(ENV_API_KEY).is_some_and(|v| !v.trim().is_empty()) {
        ctx.printer.warn(&format!(
            "{ENV_API_KEY} is still set, so commands keep using that key"
        ));
    }
    Ok(())
}

// ---- token --------------------------------------------------------------------------------

fn token(ctx: &Context) -> Result<(), CliError> {
    let resolved = ctx.require_key()?;
    ctx.printer.line(resolved.key.expose())
}

// ---- status -------------------------------------------------------------------------------

/// Who the key belongs to, as `GET /v1/users/profile` says.
#[derive(Default)]
struct Owner {
    org_id: Option<String>,
    org_name: Option<String>,
    email: Option<String>,
}

impl Owner {
    fn from_profile(profile: &serde_json::Map<String, Value>) -> Owner {
        let text = |key: &str| profile.get(key).and_then(Value::as_str).map(str::to_string);
        Owner {
            org_id: text("orgId"),
            org_name: text("orgName"),
            email: text("email"),
        }
    }

    /// `Acme (org_123)`, as far as the profile says.
    fn organisation(&self) -> Option<String> {
        match (&self.org_name, &self.org_id) {
            (Some(name), Some(id)) => Some(format!("{name} ({id})")),
            (Some(name), None) => Some(name.clone()),
            (None, Some(id)) => Some(id.clone()),
            (None, None) => None,
        }
    }
}

/// Asks the server who the key belongs to. A deployment without the profile route (404) is
/// asked for one token instead, which says as much about the key.
async fn ask_about(client: &crate::api::Client) -> Verdict {
    let reply = match client.profile().await {
        Ok(profile) => Ok(Owner::from_profile(&profile)),
        Err(ApiError::Status { status: 404, .. }) => {
            client.token_page(1, 0).await.map(|_| Owner::default())
        }
        Err(e) => Err(e),
    };
    match reply {
        Ok(owner) => Verdict::Accepted(owner),
        Err(
            e @ ApiError::Status {
                status: 401 | 403, ..
            },
        ) => Verdict::Rejected(e.to_string()),
        Err(e) => Verdict::Unreachable(e.to_string()),
    }
}

/// What the server made of the key.
enum Verdict {
    Accepted(Owner),
    Rejected(String),
    Unreachable(String),
}

async fn status(ctx: &Context) -> Result<(), CliError> {
    let (resolved, trouble) = ctx.find_key()?;
    let shadowed = match &resolved {
        Some(r) if r.source == KeySource::Environment => {
            shadowed_logins(&ctx.credentials.stored(&ctx.account()))
        }
        _ => Vec::new(),
    };
    let verdict = match &resolved {
        Some(r) => Some(ask_about(&ctx.client_with(r.key.clone())?).await),
        None => None,
    };
    let owner = match &verdict {
        Some(Verdict::Accepted(owner)) => Some(owner),
        _ => None,
    };

    let file_path = |source| {
        (source == KeySource::File)
            .then(|| {
                ctx.credentials
                    .file()
                    .map(|f| f.path().display().to_string())
            })
            .flatten()
    };
    let state_file = ctx
        .local
        .as_ref()
        .map(|l| l.state_file().display().to_string());
    if ctx.printer.format == Format::Json {
        let (server, error) = match &verdict {
            Some(Verdict::Accepted(_)) => (json!("accepted"), Value::Null),
            Some(Verdict::Rejected(e)) => (json!("rejected"), json!(e)),
            Some(Verdict::Unreachable(e)) => (json!("unreachable"), json!(e)),
            None => (Value::Null, Value::Null),
        };
        ctx.printer.json(&json!({
            "profile": ctx.settings.profile,
            "apiUrl": ctx.settings.api_url,
            "local": ctx.local.is_some(),
            "keySource": resolved.as_ref().map(|r| r.source.as_str()),
            "key": resolved.as_ref().map(|r| r.key.masked()),
            "credentialsFile": resolved.as_ref().and_then(|r| file_path(r.source)),
            "stateFile": state_file,
            "shadowed": shadowed.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "server": server,
            "error": error,
            "organisation": owner.map(|o| json!({"id": o.org_id, "name": o.org_name})),
            "email": owner.and_then(|o| o.email.clone()),
        }))?;
    } else {
        let key = match &resolved {
            Some(r) => {
                let place = match r.source {
                    KeySource::Environment => format!("from {ENV_API_KEY}"),
                    KeySource::Keyring => "from the system keyring".into(),
                    KeySource::File => format!("from {}", file_path(r.source).unwrap_or_default()),
                    KeySource::Local => "the local emulator's built-in key".into(),
                };
                format!("{} ({place})", r.key.masked())
            }
            None => "none".into(),
        };
        let server = match &verdict {
            Some(Verdict::Accepted(_)) => "accepts the key".to_string(),
            Some(Verdict::Rejected(e)) => format!("rejects the key: {e}"),
            Some(Verdict::Unreachable(e)) => format!("could not be asked: {e}"),
            None => String::new(),
        };
        let mut pairs = vec![
            ("profile", ctx.settings.profile.clone()),
            ("api url", ctx.settings.api_url.clone()),
            ("key", key),
            ("server", server),
        ];
        if let Some(path) = state_file {
            pairs.insert(2, ("local state", path));
        }
        if let Some(organisation) = owner.and_then(Owner::organisation) {
            pairs.push(("organisation", organisation));
        }
        // The email only for a person at a terminal: CI logs are often public.
        if ctx.printer.terminal().stdout
            && let Some(email) = owner.and_then(|o| o.email.clone())
        {
            pairs.push(("user", email));
        }
        ctx.printer.record(&pairs)?;
    }

    if !shadowed.is_empty() {
        ctx.printer.warn(&format!(
            "{ENV_API_KEY} is set, so the key stored in {} for this profile is not used; unset {ENV_API_KEY} to use the stored login",
            shadowed
                .iter()
                .map(|s| match s {
                    KeySource::Keyring => "the system keyring",
                    _ => "the credentials file",
                })
                .collect::<Vec<_>>()
                .join(" and ")
        ));
    }
    match (resolved, verdict) {
        (None, _) => Err(no_key_error(&ctx.account(), trouble.as_ref())),
        (Some(r), Some(Verdict::Rejected(e))) => {
            let hint = match r.source {
                KeySource::Environment => format!("set {ENV_API_KEY} to a valid key, or unset it"),
                _ => "run rtctl auth login with a valid key".into(),
            };
            Err(
                CliError::new(ErrorKind::Auth, format!("the API rejected the key: {e}"))
                    .with_hint(hint),
            )
        }
        (Some(_), Some(Verdict::Unreachable(e))) => {
            Err(CliError::failure(format!("could not check the key: {e}")))
        }
        _ => Ok(()),
    }
}

/// The stored logins an environment key hides.
fn shadowed_logins(stored: &Stored) -> Vec<KeySource> {
    let mut hidden = Vec::new();
    if matches!(stored.keyring, Ok(Some(_))) {
        hidden.push(KeySource::Keyring);
    }
    if let Ok(Some(_)) = &stored.file {
        hidden.push(KeySource::File);
    }
    hidden
}
