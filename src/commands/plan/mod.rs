//! `rtctl plan`: the difference between a token file and the account, and the pieces `apply`
//! and `export` share: reading a token as the file would describe it, and the requests that
//! make the account match.

pub(crate) mod apply;
pub(crate) mod export;

use serde_json::{Value, json};

use super::Context;
use crate::cli::plan::PlanArgs;
use crate::error::{CliError, ErrorKind};
use crate::ops::plan::{Change, FieldChange, Plan, Unmanageable, compute};
use crate::output::{Format, Printer, Style};
use crate::token_file::TokenFile;

/// A value for people: lists joined, nothing as "(none)", objects as compact JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// One indented `field: from → to` line per change, under an update or a replacement.
fn push_field_changes(lines: &mut Vec<String>, changes: &[FieldChange]) {
    for c in changes {
        lines.push(
            crate::untrusted::for_terminal(
                &format!("    {}: {} → {}", c.key(), shown(&c.from), shown(&c.to)),
                false,
            )
            .into_owned(),
        );
    }
}

/// The plan for people: one block per token, then a summary line, coloured on a terminal.
/// On stdout for `plan`; on stderr for `apply`, whose stdout carries new values.
pub(crate) fn render(printer: &Printer, plan: &Plan, to_stderr: bool) -> Result<(), CliError> {
    let mut lines: Vec<String> = Vec::new();
    for change in &plan.changes {
        match change {
            Change::Create(d) => {
                lines.push(printer.style(
                    &format!("+ create \"{}\" ({})", d.name, d.environment()),
                    Style::Added,
                    to_stderr,
                ));
                lines.push(
                    crate::untrusted::for_terminal(
                        &format!("    origins: {}", d.origins().join(", ")),
                        false,
                    )
                    .into_owned(),
                );
            }
            Change::Update {
                id,
                desired,
                changes,
            } => {
                lines.push(printer.style(
                    &format!("~ update \"{}\" ({id})", desired.name),
                    Style::Changed,
                    to_stderr,
                ));
                push_field_changes(&mut lines, changes);
            }
            Change::Replace {
                id,
                desired,
                because,
            } => {
                lines.push(printer.style(
                    &format!(
                        "-/+ replace \"{}\" ({id}): it will be recreated with a new value",
                        desired.name
                    ),
                    Style::Removed,
                    to_stderr,
                ));
                push_field_changes(&mut lines, because);
            }
            Change::Delete {
                id,
                name,
                environment,
            } => {
                lines.push(printer.style(
                    &format!("- delete \"{name}\" ({id}, {environment})"),
                    Style::Removed,
                    to_stderr,
                ));
            }
        }
    }
    let (create, update, replace, delete) = plan.summary();
    if plan.is_empty() {
        lines.push("No changes: the account matches the file.".into());
    } else {
        lines.push(format!(
            "Plan: {create} to create, {update} to update, {replace} to replace, {delete} to delete."
        ));
    }
    if !plan.unmanaged.is_empty() {
        lines.push(format!(
            "{} token{} not in the file {} left alone (--prune would delete {}): {}",
            plan.unmanaged.len(),
            if plan.unmanaged.len() == 1 { "" } else { "s" },
            if plan.unmanaged.len() == 1 {
                "is"
            } else {
                "are"
            },
            if plan.unmanaged.len() == 1 {
                "it"
            } else {
                "them"
            },
            crate::untrusted::for_terminal(&plan.unmanaged.join(", "), false)
        ));
    }
    if !plan.unmanageable.is_empty() {
        let listed: Vec<String> = plan
            .unmanageable
            .iter()
            .map(Unmanageable::describe)
            .collect();
        lines.push(format!(
            "{} token{} cannot be managed by a token file and {} left alone: {}",
            listed.len(),
            if listed.len() == 1 { "" } else { "s" },
            if listed.len() == 1 { "is" } else { "are" },
            crate::untrusted::for_terminal(&listed.join(", "), false)
        ));
    }
    for warning in &plan.warnings {
        printer.warn(warning);
    }
    // Every line is escaped here (styled ones by `style`), so colour survives the printing.
    for line in lines {
        if to_stderr {
            printer.styled_note(&line);
        } else {
            printer.styled_line(&line)?;
        }
    }
    Ok(())
}

/// The plan for machines.
pub(crate) fn to_json(plan: &Plan) -> Value {
    let field_changes = |changes: &[FieldChange]| -> Vec<Value> {
        changes
            .iter()
            .map(|c| json!({"field": c.key(), "from": c.from, "to": c.to}))
            .collect()
    };
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|change| match change {
            Change::Create(d) => json!({"action": "create", "name": d.name, "environment": d.environment()}),
            Change::Update { id, desired, changes } => json!({"action": "update", "name": desired.name, "id": id, "changes": field_changes(changes)}),
            Change::Replace { id, desired, because } => json!({"action": "replace", "name": desired.name, "id": id, "changes": field_changes(because)}),
            Change::Delete { id, name, environment } => json!({"action": "delete", "name": name, "id": id, "environment": environment}),
        })
        .collect();
    let (create, update, replace, delete) = plan.summary();
    let unmanageable: Vec<Value> = plan
        .unmanageable
        .iter()
        .map(|u| json!({"id": u.id, "name": u.name, "reason": u.reason}))
        .collect();
    json!({
        "changes": changes,
        "unchanged": plan.unchanged,
        "unmanaged": plan.unmanaged,
        "unmanageable": unmanageable,
        "warnings": plan.warnings,
        "summary": {"create": create, "update": update, "replace": replace, "delete": delete},
    })
}

/// The plan for `token_file` (loaded from `file`) against the account: its tokens read, the
/// file's surfaces bound (see `surfaces::bind_file_tokens`), and the changes computed.
pub(crate) async fn plan_for(
    ctx: &Context,
    client: &crate::api::Client,
    token_file: &mut TokenFile,
    file: &std::path::Path,
    prune: bool,
) -> Result<Plan, CliError> {
    let current = client.list_all().await?;
    let warnings =
        crate::ops::surfaces::bind_file_tokens(ctx, client, token_file, &current, file).await?;
    let mut plan = compute(&token_file.tokens, &current, prune)?;
    plan.warnings.extend(warnings);
    Ok(plan)
}

pub(crate) async fn run(ctx: &Context, args: PlanArgs) -> Result<(), CliError> {
    let mut token_file = TokenFile::read(&args.file).await?;
    let client = ctx.client()?;
    let plan = plan_for(ctx, &client, &mut token_file, &args.file, args.prune).await?;
    if ctx.printer.format == Format::Json {
        ctx.printer.json(&to_json(&plan))?;
    } else {
        render(&ctx.printer, &plan, false)?;
    }
    if args.expect_no_changes && !plan.is_empty() {
        let (create, update, replace, delete) = plan.summary();
        return Err(CliError::new(
            ErrorKind::Drift,
            format!(
                "the account has drifted from {}: {create} to create, {update} to update, {replace} to replace, {delete} to delete",
                args.file.display()
            ),
        )
        .with_hint(format!("run rtctl apply -f {} to make it match", args.file.display())));
    }
    Ok(())
}
