//! `rtctl doctor`: Runtype's troubleshooting checklist for a widget that "shows but doesn't
//! respond", done from the page itself. Each page is fetched (or read, with `--html`), its
//! embeds found, and each embed checked against the account, read once: whose value it is,
//! whether the page's origin is admitted (the verdict `origins check` gives), an inactive
//! token, a test token on a public site, a flow or agent the token does not allow, a
//! `data-api-url` that is not this API; with `--probe`, the service's own verdict too.

mod embeds;
mod page;

use serde_json::{Value, json};

use super::Context;
use super::token_ref::masked;
use super::tokens::describe;
use crate::api::client::InitAnswer;
use crate::api::{Client, ClientToken};
use crate::cli::doctor::DoctorArgs;
use crate::error::{CliError, ErrorKind};
use crate::origin::{self, Origin};
use crate::output::Format;
use crate::token::{Field, TokenView};
use embeds::Embed;

/// Same-origin script bundles read per page, for single-page apps whose embed is in code.
const MAX_BUNDLES: usize = 3;

/// What was found on one page.
struct PageReport {
    url: String,
    origin: String,
    notes: Vec<String>,
    /// A problem with the page as a whole (no embed found).
    problems: Vec<String>,
    embeds: Vec<EmbedReport>,
}

/// One embed's verdict.
struct EmbedReport {
    embed: Embed,
    token: Option<ClientToken>,
    problems: Vec<Problem>,
    notes: Vec<String>,
    probe: Option<InitAnswer>,
}

/// Something that stops the widget working, and the command that fixes it.
struct Problem {
    text: String,
    fix: Option<String>,
    /// It works now, and will stop (a retiring token): the service's verdict today cannot
    /// show it.
    later: bool,
}

pub(crate) async fn run(ctx: &Context, args: DoctorArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let account = client.list_all().await?;
    let http = page::client(ctx.settings.timeout)?;
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    if let Some(path) = &args.html {
        let origin_text = args.origin.as_deref().unwrap_or_default();
        let origin = Origin::parse(origin_text.trim_end_matches('/')).map_err(|e| {
            CliError::usage(format!("--origin '{origin_text}' is not an origin: {e}"))
        })?;
        let body = crate::files::read_text(path, page::MAX_PAGE_BYTES as u64)
            .await
            .map_err(|e| CliError::usage(format!("could not read {}: {e}", path.display())))?
            .into_bytes();
        let found = embeds_in(body)
            .await
            .map_err(|e| CliError::usage(format!("could not parse {}: {e}", path.display())))?;
        reports.push(
            check_page(
                ctx,
                &client,
                &account,
                &args,
                path.display().to_string(),
                &origin,
                found.embeds,
                Vec::new(),
                0,
            )
            .await?,
        );
    }
    for url in &args.urls {
        match fetch_page(&http, url).await {
            Ok((final_url, found, bundles, notes)) => {
                let origin = origin_of(&final_url);
                reports.push(
                    check_page(
                        ctx,
                        &client,
                        &account,
                        &args,
                        final_url.to_string(),
                        &origin,
                        found,
                        notes,
                        bundles,
                    )
                    .await?,
                );
            }
            Err(why) => failed.push(format!("{url}: {why}")),
        }
    }
    print(ctx, &reports)?;
    for failure in &failed {
        ctx.printer
            .error(&CliError::failure(format!("could not check {failure}")));
    }
    let problems = reports
        .iter()
        .any(|r| !r.problems.is_empty() || r.embeds.iter().any(|e| !e.problems.is_empty()));
    if !failed.is_empty() {
        return Err(CliError::failure(format!(
            "{} of {} pages could not be checked",
            failed.len(),
            args.urls.len()
        ))
        .reported());
    }
    if problems {
        return Err(CliError::new(
            ErrorKind::Problems,
            "the widget has problems on these pages",
        )
        .reported());
    }
    Ok(())
}

/// Fetches a page and the same-origin bundles it loads; returns where it ended up, the
/// embeds, how many bundles were read, and notes.
async fn fetch_page(
    http: &reqwest::Client,
    url: &str,
) -> Result<(reqwest::Url, Vec<Embed>, usize, Vec<String>), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err("only https and http pages can be checked".into());
    }
    let fetched = page::fetch(http, &parsed).await?;
    let mut notes = Vec::new();
    if fetched.url.scheme() == "http" {
        notes.push("a plain http page: fine for checking (no secret goes to the page's host), but browsers treat it as insecure".into());
    }
    if fetched.url.origin() != parsed.origin() {
        notes.push(format!(
            "redirected to {}: its origin is the one checked",
            fetched.url
        ));
    }
    let found = embeds_in(fetched.body).await?;
    let mut embeds = found.embeds;
    let mut bundles = 0;
    for src in &found.script_sources {
        if bundles >= MAX_BUNDLES {
            break;
        }
        let Ok(bundle_url) = fetched.url.join(src) else {
            continue;
        };
        if bundle_url.origin() != fetched.url.origin() {
            continue; // the widget's own installer from a CDN, analytics: not the site's code
        }
        bundles += 1;
        if let Ok(bundle) = page::fetch(http, &bundle_url).await {
            let source = bundle_url.to_string();
            let found = crate::files::off_thread(move || {
                Ok(embeds::in_script(
                    &String::from_utf8_lossy(&bundle.body),
                    &source,
                ))
            })
            .await
            .map_err(|e| format!("could not scan {bundle_url}: {e}"))?;
            for embed in found {
                if !embeds.iter().any(|e| e.value == embed.value) {
                    embeds.push(embed);
                }
            }
        }
    }
    Ok((fetched.url, embeds, bundles, notes))
}

/// The embeds in a page, found on a thread of its own: a page of megabytes takes seconds to
/// parse, and the run must still notice Ctrl-C or SIGTERM meanwhile (abandoned, the thread
/// ends with the process).
async fn embeds_in(page: Vec<u8>) -> Result<embeds::Found, String> {
    crate::files::off_thread(move || Ok(embeds::in_page(&page)))
        .await
        .map_err(|e| format!("could not parse the page: {e}"))?
}

fn origin_of(url: &reqwest::Url) -> Origin {
    let port = url.port();
    Origin::new(
        url.scheme().to_string(),
        url.host_str().unwrap_or_default().to_ascii_lowercase(),
        port,
    )
}

#[allow(clippy::too_many_arguments)]
async fn check_page(
    ctx: &Context,
    client: &Client,
    account: &[ClientToken],
    args: &DoctorArgs,
    url: String,
    origin: &Origin,
    embeds: Vec<Embed>,
    notes: Vec<String>,
    bundles: usize,
) -> Result<PageReport, CliError> {
    let mut report = PageReport {
        url,
        origin: origin.to_string(),
        notes,
        problems: Vec::new(),
        embeds: Vec::new(),
    };
    if embeds.is_empty() {
        report.problems.push(format!(
            "no widget embed found: searched script tags for data-runtype-token, inline scripts and {bundles} same-origin script bundle{} for ct_live_/ct_test_ values",
            if bundles == 1 { "" } else { "s" }
        ));
    }
    for embed in embeds {
        report
            .embeds
            .push(check_embed(ctx, client, account, args, origin, embed).await?);
    }
    Ok(report)
}

async fn check_embed(
    ctx: &Context,
    client: &Client,
    account: &[ClientToken],
    args: &DoctorArgs,
    origin: &Origin,
    embed: Embed,
) -> Result<EmbedReport, CliError> {
    let mut report = EmbedReport {
        embed: embed.clone(),
        token: None,
        problems: Vec::new(),
        notes: Vec::new(),
        probe: None,
    };
    let problem = |text: String, fix: Option<String>| Problem {
        text,
        fix,
        later: false,
    };
    let Some(value) = embed.value.clone() else {
        report.problems.push(problem(
            "the embed has no client token (data-runtype-token)".into(),
            Some("rtctl tokens value ID prints the value to embed".into()),
        ));
        return Ok(report);
    };
    if value.trim().is_empty() {
        // What a build leaves when the variable meant to hold the value was not set.
        report.problems.push(problem(
            "the embed's client token is empty: was the build's variable for it unset?".into(),
            Some("rtctl tokens value ID prints the value to embed".into()),
        ));
        return Ok(report);
    }
    if !super::token_ref::is_value(&value) {
        // A placeholder, or another variable's value: no token can hold it.
        report.problems.push(problem(
            "the embed's client token is not a client token value (they start ct_live_ or ct_test_): a placeholder, or the wrong variable in the build?".into(),
            Some("rtctl tokens value ID prints the value to embed".into()),
        ));
        return Ok(report);
    }
    let environment = if value.starts_with("ct_live_") {
        "live"
    } else {
        "test"
    };
    let allows = |t: &ClientToken, id: &Option<String>| {
        id.as_ref().is_none_or(|id| {
            t.strings(Field::FlowIds).contains(&id.as_str())
                || t.strings(Field::AgentIds).contains(&id.as_str())
        })
    };
    let admits = |t: &ClientToken| {
        let allowed: Vec<String> = t.origins().iter().map(|o| o.to_string()).collect();
        origin::admit(&allowed, Some(&origin.to_string()), t.environment()).is_some()
    };
    let owner = account
        .iter()
        .find(|t| t.text(Field::TokenValue) == Some(value.as_str()));
    match owner {
        None => {
            let mut text =
                "no token has this value: it was rotated, or its token deleted".to_string();
            let mut fix = None;
            let candidates: Vec<&ClientToken> = account
                .iter()
                .filter(|t| {
                    t.environment() == environment
                        && admits(t)
                        && allows(t, &embed.flow)
                        && allows(t, &embed.agent)
                })
                .collect();
            let hint = crate::output::last_chars(&value, 4);
            let legacy: Vec<&ClientToken> = account
                .iter()
                .filter(|t| {
                    t.field(Field::TokenValue).is_none()
                        && t.text(Field::TokenPrefix)
                            .is_some_and(|p| value.starts_with(p))
                        && t.text(Field::TokenHint) == Some(hint)
                })
                .collect();
            if let [legacy] = legacy[..] {
                text = format!(
                    "{text}; possibly legacy token {} (its value is not stored, but its prefix and last four characters match)",
                    legacy.id()
                );
            } else if let [current] = candidates[..] {
                text = format!(
                    "{text}; probably rotated: deploy the current value of {}",
                    current.id()
                );
                fix = Some(format!("rtctl tokens value {}", current.id()));
            }
            report.problems.push(problem(text, fix));
        }
        Some(token) => {
            report.token = Some(token.clone());
            let id = token.id();
            if !token.is_active() {
                report.problems.push(problem(
                    format!("{} is inactive: the widget fails to start", describe(token)),
                    Some(format!("rtctl tokens update {id} --activate")),
                ));
            }
            // Still on the old token of a rollover: the page breaks when it is retired.
            if let Some(mark) = token.retiring() {
                let chains = crate::token::rollover::Chains::of(account);
                let after = crate::token::marks::minute(mark.after);
                let (text, fix) = match chains.follow(token) {
                    Ok(in_use) => (
                        format!(
                            "{id} is retiring (rolled over to {}): the widget stops working when it is retired, after {after}",
                            in_use.id()
                        ),
                        Some(format!(
                            "deploy the value rtctl tokens value {} prints",
                            in_use.id()
                        )),
                    ),
                    Err(broken) => (
                        format!("{id} is retiring after {after}, but {broken}"),
                        Some(format!(
                            "keep it by dropping the mark from its name: rtctl tokens update {id} --name NAME"
                        )),
                    ),
                };
                report.problems.push(Problem {
                    later: true,
                    ..problem(text, fix)
                });
            }
            if !admits(token) {
                let allowed: Vec<String> = token.origins().iter().map(|o| o.to_string()).collect();
                let reason = origin::nearest_miss(&allowed, origin, token.environment())
                    .unwrap_or_else(|| {
                        format!("no allowed origin is close ({})", allowed.join(", "))
                    });
                let fix = super::origins::whole_list_edit(id, &allowed, &[origin.to_string()], &[])
                    .unwrap_or_else(|| format!("rtctl origins add {id} {origin}"));
                report.problems.push(problem(
                    format!("the page's origin {origin} is not admitted: {reason}"),
                    Some(fix),
                ));
            }
            if token.environment() == "test" && is_public(origin) {
                report.problems.push(problem(
                    format!("{} is a test token on the public site {origin}", describe(token)),
                    Some(format!("embed a live token: rtctl tokens create --environment live --origin {origin} …")),
                ));
            }
            for (kind, asked) in [("flow", &embed.flow), ("agent", &embed.agent)] {
                if !allows(token, asked) {
                    report.problems.push(problem(
                        format!(
                            "the embed asks for the {kind} {}, which {id} does not allow",
                            asked.as_deref().unwrap_or_default()
                        ),
                        Some(format!("rtctl tokens update {id} --{kind} … (the token's {kind}s replace the list)")),
                    ));
                }
            }
        }
    }
    if let Some(api_url) = &embed.api_url {
        let ours = ctx.settings.api_url.trim_end_matches('/');
        if ctx.local.is_some() {
            report.notes.push(format!(
                "data-api-url {api_url} not compared: --local listens on a new port every run"
            ));
        } else if api_url.trim_end_matches('/') != ours {
            report.problems.push(problem(
                format!("the embed talks to {api_url}, not to the API rtctl uses ({ours})"),
                Some(format!(
                    "set data-api-url to {ours}, or point rtctl at {api_url} with --api-url"
                )),
            ));
        }
    }
    if args.probe {
        let flow = embed.flow.as_deref().or(embed.agent.as_deref());
        let probe = client
            .widget_init(&value, flow, &origin.to_string())
            .await
            .map_err(CliError::from)?;
        let works = probe.status == 200;
        let healthy = report.problems.iter().all(|p| p.later);
        if works != healthy {
            report.notes.push(format!(
                "the service's verdict ({}) differs from rtctl's ({})",
                if works { "works" } else { "refused" },
                if healthy { "healthy" } else { "problems" }
            ));
        }
        if !works && healthy {
            report.problems.push(problem(
                format!(
                    "the service refused a widget init from {origin}: {} {}",
                    probe.status,
                    probe.error.as_deref().map(said).unwrap_or_default()
                ),
                None,
            ));
        }
        report.probe = Some(probe);
    }
    Ok(report)
}

/// A site the public can reach: not `localhost`, `*.localhost`, loopback, a private-range
/// address, or a `.test`/`.local` name.
fn is_public(origin: &Origin) -> bool {
    let host = origin.host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".test")
        || host.ends_with(".local")
    {
        return false;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified())
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            !(ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00)
        }
        Err(_) => true,
    }
}

/// The most characters of one field of the service's answer to a probe that the report
/// shows (`--json` has them whole).
const PROBE_FIELD_CHARS: usize = 300;

/// A field of the service's answer to a probe, for its own line of the report: each field
/// flattened on its own (a line break shown as `\n`, so no server text starts a line that
/// reads as the report's, a forged `ok:` or `fix:`), everything else that steers a terminal
/// escaped, and at most [`PROBE_FIELD_CHARS`] characters.
fn said(text: &str) -> String {
    let flat = crate::text::for_terminal(text, false);
    match flat.char_indices().nth(PROBE_FIELD_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat.into_owned(),
    }
}

fn print(ctx: &Context, reports: &[PageReport]) -> Result<(), CliError> {
    let printer = &ctx.printer;
    if printer.format == Format::Json {
        let pages: Vec<Value> = reports
            .iter()
            .map(|r| {
                json!({
                    "url": r.url, "origin": r.origin, "notes": r.notes, "problems": r.problems,
                    "ok": r.problems.is_empty() && r.embeds.iter().all(|e| e.problems.is_empty()),
                    "embeds": r.embeds.iter().map(|e| json!({
                        "source": e.embed.source,
                        "token": e.embed.value.as_deref().map(masked),
                        "flowId": e.embed.flow, "agentId": e.embed.agent, "apiUrl": e.embed.api_url,
                        "tokenId": e.token.as_ref().map(|t| t.id().to_string()),
                        "name": e.token.as_ref().map(|t| t.name().to_string()),
                        "environment": e.token.as_ref().map(|t| t.environment().to_string()),
                        "ok": e.problems.is_empty(),
                        "problems": e.problems.iter().map(|p| json!({"problem": p.text, "fix": p.fix.as_deref().map(|f| printer.command(f))})).collect::<Vec<_>>(),
                        "notes": e.notes,
                        "probe": e.probe.as_ref().map(|p| json!({"status": p.status, "error": p.error, "errorDescription": p.description, "hint": p.hint})),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        return printer.json(&Value::Array(pages));
    }
    let mut text = String::new();
    for report in reports {
        text.push_str(&format!("{} (origin {})\n", report.url, report.origin));
        for note in &report.notes {
            text.push_str(&format!("  note: {note}\n"));
        }
        for problem in &report.problems {
            text.push_str(&format!("  problem: {problem}\n"));
        }
        for e in &report.embeds {
            let value = e
                .embed
                .value
                .as_deref()
                .map_or("(no token)".to_string(), masked);
            let owner = e
                .token
                .as_ref()
                .map_or(String::new(), |t| format!(" = {}", describe(t)));
            text.push_str(&format!("  {}: {value}{owner}\n", e.embed.source));
            if e.problems.is_empty() {
                text.push_str("    ok: the widget can start here\n");
            }
            for p in &e.problems {
                text.push_str(&format!("    problem: {}\n", p.text));
                if let Some(fix) = &p.fix {
                    text.push_str(&format!("      fix: {}\n", printer.command(fix)));
                }
            }
            for note in &e.notes {
                text.push_str(&format!("    note: {note}\n"));
            }
            if let Some(probe) = &e.probe {
                text.push_str(&format!(
                    "    probe: the service answered {}{}\n",
                    probe.status,
                    probe
                        .error
                        .as_deref()
                        .map_or(String::new(), |m| format!(" ({})", said(m)))
                ));
                for (label, text_said) in
                    [("description", &probe.description), ("hint", &probe.hint)]
                {
                    if let Some(text_said) = text_said {
                        text.push_str(&format!("      {label}: {}\n", said(text_said)));
                    }
                }
            }
        }
    }
    printer.bytes(crate::text::for_terminal(&text, true).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_empty_and_multibyte_values_are_masked_whole_characters() {
        assert_eq!(masked(""), "****");
        // Never the whole of a short value, never a piece of the prefix.
        assert_eq!(masked("abc"), "****");
        assert_eq!(masked("ct_live_é"), "ct_live_****");
        assert_eq!(masked("ct_live_😀abc"), "ct_live_****");
        assert_eq!(masked("ct_live_é😀abcd"), "ct_live_****abcd");
        assert_eq!(masked("xct_live_abcdef"), "****cdef");
        assert_eq!(crate::output::last_chars("ab😀", 4), "ab😀");
    }

    proptest! {
        /// Whatever a page's attribute holds, rtctl masks it, takes its hint and finds it in
        /// a page without a panic.
        #[test]
        fn any_attribute_value_is_handled(value in "\\PC{0,12}|ct_(live|test)_\\PC{0,6}") {
            let shown = masked(&value);
            prop_assert!(shown.contains("****"));
            let hint = crate::output::last_chars(&value, 4);
            prop_assert!(value.ends_with(hint) && hint.chars().count() <= 4);
            let attribute = value.replace('&', "&amp;").replace('"', "&quot;");
            let page = format!("<script data-runtype-token=\"{attribute}\"></script>");
            let found = embeds::in_page(page.as_bytes()).unwrap();
            prop_assert_eq!(found.embeds.len(), 1);
        }
    }
}
