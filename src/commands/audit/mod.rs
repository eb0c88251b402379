//! `rtctl audit`: every token of the account (one paged read) against the rules in
//! [`rules`], reported for people (grouped by token), pipes (TSV), machines (JSON) and code
//! scanning (SARIF). With a token file, its tokens are audited as `apply` would leave them,
//! so a pull request that adds `*` to a live token fails before it is applied.

mod rules;
mod sarif;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::Context;
use crate::api::ClientToken;
use crate::cli::audit::{AuditArgs, AuditFormat, FailOn};
use crate::error::{CliError, ErrorKind};
use crate::output::Format;
use crate::token::TokenView;
use crate::token_file::{AuditSettings, TokenFile};
use rules::{Finding, Severity};

pub(crate) use rules::RULES;

/// The id shown for a token the file describes and the account does not have yet.
const NOT_CREATED: &str = "(not created yet)";

/// `--dormant` when neither the flag nor the file says.
const DEFAULT_DORMANT: Duration = Duration::from_secs(90 * 86_400);

pub(crate) async fn run(ctx: &Context, args: AuditArgs) -> Result<(), CliError> {
    if args.format == AuditFormat::Sarif {
        ctx.own_format("--format sarif")?;
        if args.file.is_none() {
            return Err(CliError::usage(
                "--format sarif needs -f FILE: code scanning rejects results without a file location",
            )
            .with_hint("rtctl audit -f tokens.toml --format sarif"));
        }
    }
    let mut token_file = match &args.file {
        Some(path) => Some(TokenFile::read(path).await?),
        None => None,
    };
    let policy = Policy::from(&args, token_file.as_ref().map(|m| &m.audit))?;
    let client = ctx.client()?;
    let (filters, account) =
        crate::ops::surfaces::with_all_tokens(&args.filters.selection(), &client).await?;
    let catalogue = surfaces(ctx, &client, &account, token_file.as_ref()).await?;
    if let (Some(token_file), Some(path), Some(catalogue)) =
        (token_file.as_mut(), &args.file, catalogue.as_ref())
    {
        crate::ops::surfaces::name_file_surfaces(ctx, catalogue, token_file, path);
    }
    let audited = audited_tokens(&account, token_file.as_ref(), &filters);
    let names = rules::name_counts(&account);
    let traffic = match &catalogue {
        Some(catalogue) => traffic(ctx, &client, catalogue, &account, &audited).await?,
        None => None,
    };
    let conversations = conversation_origins(&client, &audited).await?;
    let context = rules::Context {
        now: ctx.now(),
        dormant: policy.dormant,
        names: &names,
        traffic: traffic.as_ref(),
        conversations: &conversations,
    };
    // The file's tokens by name, looked up once per audited token (never searched).
    let in_file: std::collections::HashMap<&str, &crate::token_file::FileToken> = token_file
        .iter()
        .flat_map(|m| &m.tokens)
        .map(|d| (d.name.as_str(), d))
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    for token in &audited {
        let own: &[String] = in_file
            .get(token.name())
            .map_or(&[], |d| d.audit_ignore.as_slice());
        let mut found: Vec<Finding> = rules::check(token, &context)
            .into_iter()
            .filter(|f| !policy.ignore.iter().any(|r| r == f.rule))
            .filter(|f| !own.iter().any(|r| r == f.rule))
            .collect();
        // Grouped by token, in the account's order, the most severe first within each.
        found.sort_by_key(|f| std::cmp::Reverse(f.severity));
        findings.extend(found);
    }
    // A fix works as printed, in every format: it keeps --local, --profile and --api-url.
    for finding in &mut findings {
        finding.fix = ctx.printer.command(&finding.fix);
    }
    let summary = Summary::of(&findings, audited.len());
    match args.format {
        AuditFormat::Sarif => {
            let path = args.file.as_ref().expect("checked above");
            let uri = sarif::uri_reference(path);
            let line_of = |f: &Finding| in_file.get(f.name.as_str()).map_or(1, |d| d.line);
            let log = sarif::log(&findings, &uri, line_of);
            let value = serde_json::to_value(&log)
                .map_err(|e| CliError::failure(format!("could not write SARIF: {e}")))?;
            ctx.printer.json(&value)?;
        }
        AuditFormat::Report => report(ctx, &findings, &summary)?,
    }
    if let Some(level) = policy.threshold()
        && policy.fails(&findings)
    {
        return Err(CliError::new(
            ErrorKind::Problems,
            format!(
                "the audit found {} at or above --fail-on {}",
                summary.counted_from(level),
                policy.fail_on_name()
            ),
        ));
    }
    Ok(())
}

/// The audit's settings: flags over the file's `[audit]` over the defaults.
struct Policy {
    fail_on: FailOn,
    ignore: Vec<String>,
    dormant: Duration,
}

impl Policy {
    fn from(args: &AuditArgs, file: Option<&AuditSettings>) -> Result<Policy, CliError> {
        let in_file =
            |what: &str| CliError::usage(format!("the token file's [audit] section: {what}"));
        let fail_on = match (args.fail_on, file.and_then(|f| f.fail_on.as_deref())) {
            (Some(flag), _) => flag,
            (None, Some(text)) => {
                use clap::ValueEnum;
                FailOn::from_str(text, false).map_err(|_| {
                    in_file(&format!(
                        "fail_on = '{text}' is not one of error, warning, note, never"
                    ))
                })?
            }
            (None, None) => FailOn::Error,
        };
        let ignore = if args.ignore.is_empty() {
            file.map(|f| f.ignore.clone()).unwrap_or_default()
        } else {
            args.ignore.clone()
        };
        if let Some(unknown) = ignore.iter().find(|r| rules::rule(r).is_none()) {
            let known: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            return Err(CliError::usage(format!(
                "'{unknown}' is not an audit rule (the rules: {})",
                known.join(", ")
            )));
        }
        let dormant = match (args.dormant, file.and_then(|f| f.dormant.as_deref())) {
            (Some(flag), _) => flag,
            (None, Some(text)) => {
                crate::duration::parse(text).map_err(|e| in_file(&format!("dormant: {e}")))?
            }
            (None, None) => DEFAULT_DORMANT,
        };
        Ok(Policy {
            fail_on,
            ignore,
            dormant,
        })
    }

    fn threshold(&self) -> Option<Severity> {
        match self.fail_on {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Note => Some(Severity::Note),
            FailOn::Never => None,
        }
    }

    fn fails(&self, findings: &[Finding]) -> bool {
        self.threshold()
            .is_some_and(|level| findings.iter().any(|f| f.severity >= level))
    }

    fn fail_on_name(&self) -> &'static str {
        match self.fail_on {
            FailOn::Error => "error",
            FailOn::Warning => "warning",
            FailOn::Note => "note",
            FailOn::Never => "never",
        }
    }
}

/// The tokens to audit: the account's (narrowed by the filters), each as the file would
/// leave it, and the file's tokens the account does not have yet.
fn audited_tokens(
    account: &[ClientToken],
    token_file: Option<&TokenFile>,
    filters: &crate::token::selection::Selection,
) -> Vec<ClientToken> {
    let mut tokens: Vec<ClientToken> = account.to_vec();
    if let Some(token_file) = token_file {
        // Each name's first place in the account and how many tokens hold it, in one pass:
        // a file of 20,000 tokens is matched without a search of the account for each.
        let mut by_name: std::collections::HashMap<&str, (usize, usize)> =
            std::collections::HashMap::new();
        for (at, token) in account.iter().enumerate() {
            by_name.entry(token.name()).or_insert((at, 0)).1 += 1;
        }
        for desired in &token_file.tokens {
            let overlay = |raw: &mut serde_json::Map<String, Value>| {
                for (field, value) in desired.values.iter() {
                    raw.insert(field.json().into(), value.clone());
                }
            };
            match by_name.get(desired.name.as_str()) {
                Some(&(at, 1)) if tokens[at].retiring().is_none() => overlay(&mut tokens[at].raw),
                Some(_) => {}
                None => {
                    // Not created yet: what apply would create, under a name for an id.
                    let mut raw = serde_json::Map::new();
                    raw.insert("id".into(), Value::String(NOT_CREATED.into()));
                    raw.insert("name".into(), Value::String(desired.name.clone()));
                    overlay(&mut raw);
                    tokens.push(ClientToken { raw });
                }
            }
        }
    }
    tokens.retain(|t| filters.admits(t));
    tokens
}

/// Whether a read failed because the key may not read what was asked (403): the rules that
/// need it are skipped, with a warning. Any other failure (a 503 after the retries, a dropped
/// connection, a broken reply) fails the audit: a gate must not pass because the service was
/// down.
fn not_permitted(error: &crate::api::ApiError) -> bool {
    matches!(error, crate::api::ApiError::Status { status: 403, .. })
}

/// A read the audit needs that failed otherwise than by permission: the audit fails, saying
/// `what` it could not read.
fn unreadable(e: crate::api::ApiError, what: &str) -> CliError {
    let mut error = CliError::from(e);
    error.message = format!("the audit could not read {what}: {}", error.message);
    error
}

/// The account's surfaces, read once for the file's surface names and the traffic rules:
/// only when a token of the account or the file belongs to a surface. When the key may not
/// read them, both are skipped with one warning and the rest of the audit stands.
async fn surfaces(
    ctx: &Context,
    client: &crate::api::Client,
    account: &[ClientToken],
    token_file: Option<&TokenFile>,
) -> Result<Option<crate::ops::surfaces::Catalogue>, CliError> {
    use crate::token::Field;
    let named = token_file.is_some_and(|m| m.tokens.iter().any(|d| d.surface.is_some()));
    let bound = account
        .iter()
        .any(|t| t.text(Field::ProductSurfaceId).is_some())
        || token_file.is_some_and(|m| {
            m.tokens
                .iter()
                .any(|d| d.values.text(Field::ProductSurfaceId).is_some())
        });
    if !named && !bound {
        return Ok(None);
    }
    match crate::ops::surfaces::Catalogue::read(client).await {
        Ok(catalogue) => Ok(Some(catalogue)),
        Err(e) if not_permitted(&e) => {
            let names = if named {
                ", and the file's surface names were not resolved"
            } else {
                ""
            };
            ctx.printer.warn(&format!(
                "the surface rules were skipped{names}: could not read the surfaces ({})",
                CliError::from(e).message
            ));
            Ok(None)
        }
        Err(e) => Err(unreadable(e, "the surfaces its rules need")),
    }
}

/// The surfaces of the audited tokens and the origins seen calling them (several surfaces
/// read at once). Nothing is read when no audited token belongs to a surface. A surface whose
/// observed origins the key may not read (403) is skipped with a warning; any other failed
/// read fails the audit.
async fn traffic(
    ctx: &Context,
    client: &crate::api::Client,
    catalogue: &crate::ops::surfaces::Catalogue,
    account: &[ClientToken],
    audited: &[ClientToken],
) -> Result<Option<rules::Traffic>, CliError> {
    use crate::token::Field;
    use futures_util::StreamExt;
    let wanted: std::collections::BTreeSet<&str> = audited
        .iter()
        .filter_map(|t| t.text(Field::ProductSurfaceId))
        .collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut traffic = rules::Traffic::default();
    for id in wanted {
        if let Some(surface) = catalogue.find(id) {
            traffic.surfaces.insert(id.to_string(), surface.clone());
        }
    }
    let mut bound: std::collections::HashMap<&str, Vec<&ClientToken>> =
        std::collections::HashMap::new();
    for token in account {
        if let Some(id) = token.text(Field::ProductSurfaceId) {
            bound.entry(id).or_default().push(token);
        }
    }
    let mut observed = Vec::new();
    {
        let reads = traffic.surfaces.values().map(|s| async move {
            let observed = client.observed_origins(s.product_id(), s.id()).await;
            (s.id().to_string(), s.label(), observed)
        });
        let mut reads = futures_util::stream::iter(reads).buffer_unordered(8);
        while let Some(read) = reads.next().await {
            observed.push(read);
        }
    }
    for (id, label, read) in observed {
        match read {
            Ok(origins) => {
                let siblings = bound.get(id.as_str()).map_or(&[][..], Vec::as_slice);
                let admitters = crate::ops::traffic::Admitters::of(siblings, &origins);
                traffic.admitters.insert(id.clone(), admitters);
                traffic.observed.insert(id, origins);
            }
            Err(e) if not_permitted(&e) => ctx.printer.warn(&format!(
                "the traffic rules skipped {label}: could not read its observed origins ({})",
                CliError::from(e).message
            )),
            Err(e) => return Err(unreadable(e, &format!("the observed origins of {label}"))),
        }
    }
    Ok(Some(traffic))
}

/// The most recent conversations read of a token, for the sites it serves.
const CONVERSATIONS_READ: u32 = 100;

/// The origins of the latest conversations of each audited live token holding a wildcard of
/// subdomains, newest first, each once: the sites the token really serves, which a
/// `live-wildcard` fix lists where its surface's traffic does not say (or it has no surface).
/// Only those tokens are read, several at once. A token whose conversations the key may not
/// read (403) has none known; any other failed read fails the audit, as every read it needs.
async fn conversation_origins(
    client: &crate::api::Client,
    audited: &[ClientToken],
) -> Result<std::collections::HashMap<String, Vec<String>>, CliError> {
    use futures_util::StreamExt;
    let wanted = audited.iter().filter(|t| {
        t.environment() == "live"
            && t.id() != NOT_CREATED
            && t.origins()
                .iter()
                .any(|entry| rules::is_live_wildcard(entry))
    });
    let reads = wanted.map(|token| async move {
        let page = client
            .conversation_page(token.id(), None, CONVERSATIONS_READ, 0)
            .await;
        (token.id().to_string(), page)
    });
    let mut reads = futures_util::stream::iter(reads).buffer_unordered(8);
    let mut origins = std::collections::HashMap::new();
    while let Some((id, read)) = reads.next().await {
        let page = match read {
            Ok(page) => page,
            Err(e) if not_permitted(&e) => continue,
            Err(e) => return Err(unreadable(e, &format!("the conversations of {id}"))),
        };
        let mut seen: Vec<String> = Vec::new();
        for conversation in &page.items {
            let origin = conversation.text("origin");
            if !origin.is_empty() && !seen.contains(&origin) {
                seen.push(origin);
            }
        }
        origins.insert(id, seen);
    }
    Ok(origins)
}

/// How many findings of each severity, over how many tokens.
struct Summary {
    tokens: usize,
    with_findings: usize,
    counts: BTreeMap<Severity, usize>,
}

impl Summary {
    fn of(findings: &[Finding], tokens: usize) -> Summary {
        let mut counts = BTreeMap::new();
        for f in findings {
            *counts.entry(f.severity).or_insert(0) += 1;
        }
        let mut ids: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.id.as_str(), f.name.as_str()))
            .collect();
        ids.dedup();
        Summary {
            tokens,
            with_findings: ids.len(),
            counts,
        }
    }

    fn count(&self, severity: Severity) -> usize {
        self.counts.get(&severity).copied().unwrap_or(0)
    }

    /// `2 errors, 1 warning and 3 notes`.
    fn counted(&self) -> String {
        let part = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{}, {} and {}",
            part(self.count(Severity::Error), "error"),
            part(self.count(Severity::Warning), "warning"),
            part(self.count(Severity::Note), "note")
        )
    }

    /// The findings at `least` or more severe, leaving out none found: `1 error and 2
    /// warnings` (notes are below --fail-on warning, so they are not counted there).
    fn counted_from(&self, least: Severity) -> String {
        let parts: Vec<String> = [
            (Severity::Error, "error"),
            (Severity::Warning, "warning"),
            (Severity::Note, "note"),
        ]
        .into_iter()
        .filter(|(severity, _)| *severity >= least)
        .map(|(severity, word)| (self.count(severity), word))
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| format!("{n} {word}{}", if n == 1 { "" } else { "s" }))
        .collect();
        match parts.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => "nothing".into(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "tokens": self.tokens,
            "tokensWithFindings": self.with_findings,
            "error": self.count(Severity::Error),
            "warning": self.count(Severity::Warning),
            "note": self.count(Severity::Note),
        })
    }
}

/// The report: grouped by token on a terminal, a line a finding in a pipe, one document in
/// JSON.
fn report(ctx: &Context, findings: &[Finding], summary: &Summary) -> Result<(), CliError> {
    let printer = &ctx.printer;
    match printer.format {
        Format::Json => printer.json(&json!({
            "findings": findings.iter().map(|f| json!({
                "rule": f.rule, "severity": f.severity, "id": f.id, "name": f.name,
                "message": f.message, "fix": f.fix,
            })).collect::<Vec<_>>(),
            "summary": summary.to_json(),
        })),
        Format::Tsv => {
            let rows: Vec<Vec<String>> = findings
                .iter()
                .map(|f| {
                    vec![
                        f.severity.as_str().to_string(),
                        f.rule.to_string(),
                        f.id.clone(),
                        f.name.clone(),
                        f.message.clone(),
                        f.fix.clone(),
                    ]
                })
                .collect();
            printer.table(
                &["severity", "rule", "id", "name", "message", "fix"],
                &rows,
                &[],
            )?;
            printer.note(&summary_line(summary));
            Ok(())
        }
        Format::Table | Format::Wide => {
            let mut text = String::new();
            let mut last: Option<(&str, &str)> = None;
            for f in findings {
                let token = (f.id.as_str(), f.name.as_str());
                if last != Some(token) {
                    if last.is_some() {
                        text.push('\n');
                    }
                    text.push_str(&format!("{} \"{}\"\n", f.id, f.name));
                    last = Some(token);
                }
                text.push_str(&format!(
                    "  {:<8} {}: {}\n           fix: {}\n",
                    f.severity.as_str(),
                    f.rule,
                    f.message,
                    f.fix
                ));
            }
            if !text.is_empty() {
                printer.bytes(crate::untrusted::for_terminal(&text, true).as_bytes())?;
            }
            printer.note(&summary_line(summary));
            Ok(())
        }
    }
}

fn summary_line(summary: &Summary) -> String {
    if summary.with_findings == 0 {
        return format!(
            "No findings in {} token{}.",
            summary.tokens,
            if summary.tokens == 1 { "" } else { "s" }
        );
    }
    format!(
        "{} in {} of {} tokens.",
        summary.counted(),
        summary.with_findings,
        summary.tokens
    )
}
