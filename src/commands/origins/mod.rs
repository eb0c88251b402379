//! `rtctl origins`: list, add, remove and check a token's allowed origins.
//!
//! Add and remove are read-modify-write: read the token, change only `allowedOrigins`, send a
//! partial update, and read the token back. The API has no precondition on writes, so the
//! read-back is how a concurrent change by another client is noticed instead of reported as
//! success.

mod traffic;

use serde_json::{Value, json};

use super::Context;
use crate::api::ClientToken;
use crate::cli::origins::{AddArgs, CheckArgs, ListArgs, OriginsCommand, RemoveArgs};
use crate::error::{CliError, ErrorKind};
use crate::ops::origins::{normal_form, normalize_origins, whole_list_edit};
use crate::ops::present::describe;
use crate::ops::token_ref::check_ids;
use crate::origin::{self, Admission, AllowedOrigin, Origin, OriginError};
use crate::output::Format;
use crate::token::{Field, TokenView, Values};

pub(crate) async fn run(ctx: &Context, command: OriginsCommand) -> Result<(), CliError> {
    match command {
        OriginsCommand::List(args) => list(ctx, args).await,
        OriginsCommand::Add(AddArgs {
            id,
            origins,
            dry_run,
            yes,
        }) => change(ctx, &id, &origins, Edit::Add, dry_run, yes).await,
        OriginsCommand::Remove(RemoveArgs {
            id,
            origins,
            dry_run,
            yes,
        }) => change(ctx, &id, &origins, Edit::Remove, dry_run, yes).await,
        OriginsCommand::Check(args) => check(ctx, args).await,
        OriginsCommand::Traffic(args) => traffic::run(ctx, args).await,
    }
}

/// The token's origins as owned strings.
fn owned(token: &ClientToken) -> Vec<String> {
    token.origins().iter().map(|o| o.to_string()).collect()
}

fn kind_of(entry: &str) -> &'static str {
    AllowedOrigin::parse(entry).map_or("invalid", |e| e.kind().as_str())
}

// ---- list ---------------------------------------------------------------------------------

async fn list(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    let client = ctx.client()?;
    let id = crate::ops::token_ref::resolve_one(ctx, &client, &args.id).await?;
    let token = client.get(&id).await?;
    let origins = owned(&token);
    let printer = &ctx.printer;
    match printer.format {
        Format::Json => printer.json(&Value::Array(
            origins
                .iter()
                .map(|o| json!({ "origin": o, "kind": kind_of(o) }))
                .collect(),
        )),
        Format::Table | Format::Wide => {
            let rows: Vec<Vec<String>> = origins
                .iter()
                .map(|o| vec![o.clone(), kind_of(o).to_string()])
                .collect();
            printer.table(&["origin", "kind"], &rows, &[0])
        }
        Format::Tsv => {
            let rows: Vec<Vec<String>> = origins.iter().map(|o| vec![o.clone()]).collect();
            printer.table(&["origin"], &rows, &[])
        }
    }
}

// ---- add and remove -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Add,
    Remove,
}

/// The origins before and after an edit, and what the edit did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    before: Vec<String>,
    after: Vec<String>,
    added: Vec<String>,
    removed: Vec<String>,
    /// Inputs that needed no change: already there (add) or absent (remove).
    unchanged: Vec<String>,
}

impl Plan {
    /// Applies `inputs` (already normalised) to `before`, comparing in normalised form.
    fn new(before: &[String], inputs: &[String], edit: Edit) -> Plan {
        let mut plan = Plan {
            before: before.to_vec(),
            after: before.to_vec(),
            ..Plan::default()
        };
        for input in inputs {
            let matches = |entry: &String| normal_form(entry) == *input;
            match edit {
                Edit::Add if plan.after.iter().any(matches) => plan.unchanged.push(input.clone()),
                Edit::Add => {
                    plan.after.push(input.clone());
                    plan.added.push(input.clone());
                }
                Edit::Remove => {
                    let gone: Vec<String> =
                        plan.after.iter().filter(|e| matches(e)).cloned().collect();
                    if gone.is_empty() {
                        plan.unchanged.push(input.clone());
                    }
                    plan.after.retain(|e| !matches(e));
                    plan.removed.extend(gone);
                }
            }
        }
        plan
    }

    fn changes(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty()
    }

    /// `  kept`, `+ added`, `- removed`, in list order.
    fn diff_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .before
            .iter()
            .map(|o| {
                let mark = if self.removed.contains(o) { '-' } else { ' ' };
                format!("{mark} {o}")
            })
            .collect();
        lines.extend(self.added.iter().map(|o| format!("+ {o}")));
        lines
    }
}

async fn change(
    ctx: &Context,
    id: &str,
    inputs: &[String],
    edit: Edit,
    dry_run: bool,
    yes: bool,
) -> Result<(), CliError> {
    check_ids([&id.to_string()])?;
    let inputs = normalize_origins(inputs, &ctx.printer, "origin")?;
    if edit == Edit::Add {
        for (index, input) in inputs.iter().enumerate() {
            if let Err(problem) = crate::token::rules::check_origin(index, input) {
                let error = CliError::usage(format!("origin {}", problem.describe()));
                return Err(match problem.hint() {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                });
            }
        }
    }
    let client = ctx.client()?;
    let id = &crate::ops::token_ref::resolve_one(ctx, &client, id).await?;
    let token = client.get(id).await?;
    // Editing a list that could not be read would replace it: refuse.
    if !token.is_string_list(Field::AllowedOrigins) {
        return Err(CliError::failure(format!(
            "the server's reply for {} has no readable list of origins; rtctl will not edit what it could not read",
            describe(&token)
        ))
        .with_hint(format!("see the reply with rtctl tokens get {id} --json")));
    }
    let plan = Plan::new(&owned(&token), &inputs, edit);

    for input in &plan.unchanged {
        ctx.printer.note(&match edit {
            Edit::Add if plan.changes() => format!("{input} is already allowed."),
            Edit::Add => format!("{input} is already allowed; nothing to add."),
            Edit::Remove if plan.changes() => format!("{input} is not among the allowed origins."),
            Edit::Remove => format!("{input} is not among the allowed origins; nothing to remove."),
        });
    }
    if plan.after.is_empty() {
        return Err(CliError::usage(format!(
            "refusing to remove the last origin of {}: a token must allow at least one",
            describe(&token)
        ))
        .with_hint(format!(
            "to stop the token working, run rtctl tokens update {id} --deactivate (or rtctl tokens delete {id})"
        )));
    }
    if !plan.changes() {
        return show(ctx, &token, &plan, dry_run, false);
    }
    if dry_run {
        show(ctx, &token, &plan, true, false)?;
        ctx.printer.note("Dry run: nothing was changed.");
        return Ok(());
    }
    let risks =
        crate::ops::confirm::risks(token.environment(), &plan.before, Some(&plan.after), false);
    crate::ops::confirm::consent_to(ctx, &describe(&token), &risks, yes).await?;

    let request = Values::new().with(Field::AllowedOrigins, json!(plan.after));
    let (_, warnings) = client.update(id, &request).await?;
    crate::ops::present::show_warnings(&ctx.printer, &warnings);
    let now = client.get(id).await?;
    verify(&now, &plan.after)?;
    show(ctx, &now, &plan, false, true)?;
    let mut said = Vec::new();
    if !plan.added.is_empty() {
        said.push(format!("added {}", plan.added.join(", ")));
    }
    if !plan.removed.is_empty() {
        said.push(format!("removed {}", plan.removed.join(", ")));
    }
    ctx.printer.note(&format!(
        "Updated {}: {}; verified by reading it back.",
        describe(&now),
        said.join("; ")
    ));
    Ok(())
}

/// Prints the plan: the diff in lines, or one JSON document.
fn show(
    ctx: &Context,
    token: &ClientToken,
    plan: &Plan,
    dry_run: bool,
    changed: bool,
) -> Result<(), CliError> {
    let printer = &ctx.printer;
    if printer.format == Format::Json {
        return printer.json(&json!({
            "id": token.id(),
            "name": token.name(),
            "environment": token.environment(),
            "dryRun": dry_run,
            "changed": changed,
            "before": plan.before,
            "after": plan.after,
            "added": plan.added,
            "removed": plan.removed,
            "unchanged": plan.unchanged,
        }));
    }
    if plan.changes() {
        for line in plan.diff_lines() {
            printer.line(&line)?;
        }
    }
    Ok(())
}

/// The read-back must show what was written (compared as sets of normalised entries: the API
/// may reorder or respell, but not add or drop).
fn verify(now: &ClientToken, written: &[String]) -> Result<(), CliError> {
    let set = |list: &[String]| {
        let mut forms: Vec<String> = list.iter().map(|o| normal_form(o)).collect();
        forms.sort();
        forms.dedup();
        forms
    };
    if set(&owned(now)) == set(written) {
        return Ok(());
    }
    Err(CliError::failure(format!(
        "the origins of {} changed while rtctl was updating them: rtctl wrote [{}], but the token now allows [{}]",
        describe(now),
        written.join(", "),
        now.origins().join(", ")
    ))
    .with_hint(format!(
        "another client changed the token at the same time; check with rtctl origins list {} and run the command again",
        now.id()
    )))
}

// ---- check --------------------------------------------------------------------------------

/// What `ORIGIN` stands for: a browser origin, or a request without one.
enum Probe {
    Browser(Origin),
    NoOrigin,
}

/// Accepts an origin, a whole URL (a page address pasted from the browser: its origin is what
/// the browser sends), or `native`.
fn parse_probe(input: &str, ctx: &Context) -> Result<Probe, CliError> {
    if input.eq_ignore_ascii_case("native") {
        return Ok(Probe::NoOrigin);
    }
    let invalid = |e: OriginError| {
        let hint = match &e {
            // No browser sends it: the origin it does send is the one to check.
            OriginError::Ipv4Spelling { .. } => AllowedOrigin::parse(input).map_or_else(
                |_| e.hint().unwrap_or_default().to_string(),
                |entry| {
                    format!(
                        "browsers send {} for it: check that origin",
                        entry.browser_spelling()
                    )
                },
            ),
            _ => "give an origin such as https://app.example.com, a page URL, or native".into(),
        };
        CliError::usage(format!("invalid origin '{input}': {e}")).with_hint(hint)
    };
    match Origin::parse(input) {
        Ok(origin) => Ok(Probe::Browser(origin)),
        Err(
            OriginError::TrailingSlash
            | OriginError::Path(_)
            | OriginError::Query(_)
            | OriginError::Fragment(_),
        ) => {
            let end = input
                .split_once("://")
                .map(|(scheme, rest)| {
                    scheme.len() + 3 + rest.find(['/', '?', '#']).unwrap_or(rest.len())
                })
                .unwrap_or(input.len());
            let origin = Origin::parse(&input[..end]).map_err(invalid)?;
            ctx.printer
                .note(&format!("Checking the origin {origin} (of the URL given)."));
            Ok(Probe::Browser(origin))
        }
        Err(e) => Err(invalid(e)),
    }
}

async fn check(ctx: &Context, args: CheckArgs) -> Result<(), CliError> {
    check_ids([&args.id])?;
    let probe = parse_probe(&args.origin, ctx)?;
    let client = ctx.client()?;
    let id = crate::ops::token_ref::resolve_one(ctx, &client, &args.id).await?;
    let token = client.get(&id).await?;
    let allowed = owned(&token);
    let allowed = &allowed[..];
    let environment = token.environment();
    let header = match &probe {
        Probe::Browser(o) => Some(o.to_string()),
        Probe::NoOrigin => None,
    };
    let admission = origin::admit(allowed, header.as_deref(), environment);
    let shown = header
        .clone()
        .unwrap_or_else(|| "a request without an Origin header".into());

    let (verdict, entry, reason) = match admission {
        Some(Admission::Entry(i)) => {
            let entry = allowed[i].clone();
            let text = format!("admitted: {shown} matches '{entry}' ({})", kind_of(&entry));
            (text, Some(entry), None)
        }
        Some(Admission::TestLocalhost) => (
            format!(
                "admitted: {shown} is local, and test tokens admit http://localhost and http://127.0.0.1 on any port"
            ),
            None,
            None,
        ),
        None => {
            let reason = match &probe {
                Probe::Browser(o) => origin::nearest_miss(allowed, o, environment),
                Probe::NoOrigin => {
                    Some("only a 'native' entry admits requests without an Origin header".into())
                }
            };
            let text = match &reason {
                Some(r) => format!("not admitted: {shown}: {r}"),
                None => format!(
                    "not admitted: {shown}: no allowed origin is close ({})",
                    allowed.join(", ")
                ),
            };
            (text, None, reason)
        }
    };
    let admitted = admission.is_some();
    if ctx.printer.format == Format::Json {
        ctx.printer.json(&json!({
            "id": token.id(),
            "environment": environment,
            "origin": header,
            "admitted": admitted,
            "entry": entry,
            "testLocalhost": admission == Some(Admission::TestLocalhost),
            "reason": reason,
        }))?;
    } else {
        ctx.printer.line(&verdict)?;
    }
    if !token.is_active() {
        ctx.printer.warn(&format!(
            "{} is inactive: the widget fails to start whatever the origin (rtctl tokens update {} --activate)",
            describe(&token),
            token.id()
        ));
    }
    if admitted {
        return Ok(());
    }
    // Not admitted is an answer, not a failure of the command: the verdict is on stdout,
    // the way to change it on stderr, and the exit code (8) tells a script.
    if let Some(origin) = header {
        ctx.printer.note(&format!(
            "hint: to allow it, run {}",
            whole_list_edit(token.id(), allowed, std::slice::from_ref(&origin), &[])
                .unwrap_or_else(|| format!("rtctl origins add {} {origin}", token.id()))
        ));
    }
    Err(CliError::silent(ErrorKind::Problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn adding_compares_in_normalised_form_and_keeps_the_order() {
        let before = strings(&["https://App.Example.com", "example.org"]);
        let plan = Plan::new(
            &before,
            &strings(&["https://app.example.com", "https://new.example.com"]),
            Edit::Add,
        );
        assert_eq!(
            plan.after,
            strings(&[
                "https://App.Example.com",
                "example.org",
                "https://new.example.com"
            ])
        );
        assert_eq!(plan.added, strings(&["https://new.example.com"]));
        assert_eq!(plan.unchanged, strings(&["https://app.example.com"]));
        assert_eq!(
            plan.diff_lines(),
            strings(&[
                "  https://App.Example.com",
                "  example.org",
                "+ https://new.example.com"
            ])
        );
    }

    #[test]
    fn removing_takes_every_spelling_and_reports_absent_ones() {
        let before = strings(&["https://a.example.com:443", "https://b.example.com"]);
        let plan = Plan::new(
            &before,
            &strings(&["https://a.example.com", "https://c.example.com"]),
            Edit::Remove,
        );
        assert_eq!(plan.after, strings(&["https://b.example.com"]));
        assert_eq!(plan.removed, strings(&["https://a.example.com:443"]));
        assert_eq!(plan.unchanged, strings(&["https://c.example.com"]));
        assert!(plan.changes());
        let none = Plan::new(&before, &strings(&["https://z.example.com"]), Edit::Remove);
        assert!(!none.changes());
    }
}
