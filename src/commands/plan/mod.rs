//! `rtctl plan`: the difference between a token file and the account, and the pieces `apply`
//! and `export` share: reading a token as the file would describe it, and the requests that
//! make the account match.

pub mod apply;
pub mod export;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Context;
use crate::api::{ClientToken, TokenRequest};
use crate::cli::plan::PlanArgs;
use crate::error::{CliError, ErrorKind};
use crate::manifest::{DesiredToken, Manifest};
use crate::origin::AllowedOrigin;
use crate::output::{Format, Printer, Style};

/// One field that differs: its key in the file, what the account has, what the file wants.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub from: Value,
    pub to: Value,
}

/// What `apply` would do to one token.
#[derive(Debug, Clone)]
pub enum Change {
    Create(DesiredToken),
    Update {
        id: String,
        desired: DesiredToken,
        changes: Vec<FieldChange>,
    },
    /// A field that cannot be updated differs: delete and recreate (a new value).
    Replace {
        id: String,
        desired: DesiredToken,
        because: Vec<FieldChange>,
    },
    Delete {
        id: String,
        name: String,
        environment: String,
    },
}

/// The whole difference.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Names that already match.
    pub unchanged: Vec<String>,
    /// Account tokens the file does not name (deleted only with --prune).
    pub unmanaged: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    fn count(&self, kind: fn(&Change) -> bool) -> usize {
        self.changes.iter().filter(|c| kind(c)).count()
    }

    pub fn summary(&self) -> (usize, usize, usize, usize) {
        (
            self.count(|c| matches!(c, Change::Create(_))),
            self.count(|c| matches!(c, Change::Update { .. })),
            self.count(|c| matches!(c, Change::Replace { .. })),
            self.count(|c| matches!(c, Change::Delete { .. })),
        )
    }
}

/// The token as the file would describe it: every field it has, managed.
pub fn describe_current(token: &ClientToken) -> DesiredToken {
    let raw = &token.raw;
    let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_string);
    let number = |key: &str| raw.get(key).and_then(Value::as_u64);
    let list = |key: &str| {
        raw.get(key).and_then(Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
    };
    let non_empty = |l: Option<Vec<String>>| l.filter(|l| !l.is_empty());
    DesiredToken {
        name: token.name().to_string(),
        environment: token.environment().to_string(),
        origins: token.origins().to_vec(),
        flows: non_empty(list("flowIds")),
        agents: non_empty(list("agentIds")),
        default_flow: text("defaultFlowId"),
        rate_limit_per_minute: number("rateLimitPerMinute"),
        rate_limit_per_hour: number("rateLimitPerHour"),
        max_messages_per_session: number("maxMessagesPerSession"),
        session_idle_timeout_minutes: number("sessionIdleTimeoutMinutes"),
        config: raw
            .get("config")
            .and_then(Value::as_object)
            .filter(|c| !c.is_empty())
            .cloned(),
        active: raw.get("isActive").and_then(Value::as_bool),
        pin_to_version: text("pinToVersion"),
        target_alias: text("targetAlias"),
        target_version_id: text("targetVersionId"),
        product_surface_id: text("productSurfaceId"),
    }
}

/// How a field compares: lists as sets (order does not change what a token admits or runs).
#[derive(Clone, Copy)]
enum Compare {
    Scalar,
    Set,
    Origins,
}

/// The managed fields of `desired`, with the token's JSON key, how to compare, and whether
/// the API can update them.
fn managed(desired: &DesiredToken) -> Vec<(&'static str, &'static str, Value, Compare, bool)> {
    let mut fields = vec![
        (
            "environment",
            "environment",
            json!(desired.environment),
            Compare::Scalar,
            false,
        ),
        (
            "origins",
            "allowedOrigins",
            json!(desired.origins),
            Compare::Origins,
            true,
        ),
    ];
    let mut add = |field, key, value: Option<Value>, compare, updatable| {
        if let Some(value) = value {
            fields.push((field, key, value, compare, updatable));
        }
    };
    add(
        "flows",
        "flowIds",
        desired.flows.as_ref().map(|v| json!(v)),
        Compare::Set,
        true,
    );
    add(
        "agents",
        "agentIds",
        desired.agents.as_ref().map(|v| json!(v)),
        Compare::Set,
        true,
    );
    add(
        "default_flow",
        "defaultFlowId",
        desired.default_flow.as_ref().map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "rate_limit_per_minute",
        "rateLimitPerMinute",
        desired.rate_limit_per_minute.map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "rate_limit_per_hour",
        "rateLimitPerHour",
        desired.rate_limit_per_hour.map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "max_messages_per_session",
        "maxMessagesPerSession",
        desired.max_messages_per_session.map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "session_idle_timeout_minutes",
        "sessionIdleTimeoutMinutes",
        desired.session_idle_timeout_minutes.map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "config",
        "config",
        desired.config.clone().map(Value::Object),
        Compare::Scalar,
        true,
    );
    add(
        "active",
        "isActive",
        desired.active.map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "pin_to_version",
        "pinToVersion",
        desired.pin_to_version.as_ref().map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "target_alias",
        "targetAlias",
        desired.target_alias.as_ref().map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "target_version_id",
        "targetVersionId",
        desired.target_version_id.as_ref().map(|v| json!(v)),
        Compare::Scalar,
        true,
    );
    add(
        "product_surface_id",
        "productSurfaceId",
        desired.product_surface_id.as_ref().map(|v| json!(v)),
        Compare::Scalar,
        false,
    );
    fields
}

fn same(compare: Compare, current: &Value, wanted: &Value) -> bool {
    let sorted = |v: &Value, normalise: bool| -> Option<Vec<String>> {
        let mut items: Vec<String> = v
            .as_array()?
            .iter()
            .map(|i| {
                let s = i.as_str().unwrap_or_default();
                if normalise {
                    AllowedOrigin::normalize(s).map_or_else(|_| s.to_string(), |o| o.to_string())
                } else {
                    s.to_string()
                }
            })
            .collect();
        items.sort();
        items.dedup();
        Some(items)
    };
    match compare {
        Compare::Scalar => current == wanted,
        Compare::Set => sorted(current, false) == sorted(wanted, false),
        Compare::Origins => sorted(current, true) == sorted(wanted, true),
    }
}

/// Compares the file with the account. Duplicate names in the account are an error: the file
/// could not say which token it means.
pub fn compute(
    desired: &[DesiredToken],
    current: &[ClientToken],
    prune: bool,
) -> Result<Plan, CliError> {
    let mut by_name: BTreeMap<&str, Vec<&ClientToken>> = BTreeMap::new();
    for token in current {
        by_name.entry(token.name()).or_default().push(token);
    }
    if let Some((name, tokens)) = by_name.iter().find(|(_, t)| t.len() > 1) {
        let ids: Vec<&str> = tokens.iter().map(|t| t.id()).collect();
        return Err(CliError::usage(format!(
            "the account has {} tokens named \"{name}\" ({}): a token file names tokens, so names must be unique",
            tokens.len(),
            ids.join(", ")
        ))
        .with_hint(format!("rename all but one with rtctl tokens update {} --name NEW-NAME", ids[0])));
    }
    let mut plan = Plan::default();
    for wanted in desired {
        let Some(token) = by_name.get(wanted.name.as_str()).map(|t| t[0]) else {
            plan.changes.push(Change::Create(wanted.clone()));
            continue;
        };
        let mut changes = Vec::new();
        let mut because = Vec::new();
        for (field, key, value, compare, updatable) in managed(wanted) {
            let now = token.raw.get(key).cloned().unwrap_or(Value::Null);
            if !same(compare, &now, &value) {
                let change = FieldChange {
                    field,
                    from: now,
                    to: value,
                };
                if updatable {
                    changes.push(change)
                } else {
                    because.push(change)
                }
            }
        }
        let id = token.id().to_string();
        if !because.is_empty() {
            because.extend(changes);
            plan.changes.push(Change::Replace {
                id,
                desired: wanted.clone(),
                because,
            });
        } else if !changes.is_empty() {
            plan.changes.push(Change::Update {
                id,
                desired: wanted.clone(),
                changes,
            });
        } else {
            plan.unchanged.push(wanted.name.clone());
        }
    }
    let named: Vec<&str> = desired.iter().map(|d| d.name.as_str()).collect();
    for token in current.iter().filter(|t| !named.contains(&t.name())) {
        if prune {
            plan.changes.push(Change::Delete {
                id: token.id().to_string(),
                name: token.name().to_string(),
                environment: token.environment().to_string(),
            });
        } else {
            plan.unmanaged.push(token.name().to_string());
        }
    }
    Ok(plan)
}

/// The request that creates `desired`. The API takes no `isActive` on create (a new token is
/// active): a token the file wants inactive is deactivated right after, see
/// [`deactivate_after_create`].
pub fn create_request(desired: &DesiredToken) -> TokenRequest {
    TokenRequest {
        is_active: None,
        ..full_request(desired)
    }
}

/// The update that follows a create when the file wants the token inactive.
pub fn deactivate_after_create(desired: &DesiredToken) -> Option<TokenRequest> {
    (desired.active == Some(false)).then(|| TokenRequest {
        is_active: Some(false),
        ..TokenRequest::default()
    })
}

/// Every managed field of `desired` as a request.
fn full_request(desired: &DesiredToken) -> TokenRequest {
    TokenRequest {
        name: Some(desired.name.clone()),
        environment: Some(desired.environment.clone()),
        allowed_origins: Some(desired.origins.clone()),
        flow_ids: desired.flows.clone(),
        agent_ids: desired.agents.clone(),
        default_flow_id: desired.default_flow.clone(),
        rate_limit_per_minute: desired.rate_limit_per_minute,
        rate_limit_per_hour: desired.rate_limit_per_hour,
        max_messages_per_session: desired.max_messages_per_session,
        session_idle_timeout_minutes: desired.session_idle_timeout_minutes,
        config: desired.config.clone(),
        is_active: desired.active,
        pin_to_version: desired.pin_to_version.clone(),
        target_alias: desired.target_alias.clone(),
        target_version_id: desired.target_version_id.clone(),
        product_surface_id: desired.product_surface_id.clone(),
    }
}

/// The partial update that changes exactly `changes`.
pub fn update_request(desired: &DesiredToken, changes: &[FieldChange]) -> TokenRequest {
    let full = full_request(desired);
    let mut request = TokenRequest::default();
    for change in changes {
        match change.field {
            "origins" => request.allowed_origins = full.allowed_origins.clone(),
            "flows" => request.flow_ids = full.flow_ids.clone(),
            "agents" => request.agent_ids = full.agent_ids.clone(),
            "default_flow" => request.default_flow_id = full.default_flow_id.clone(),
            "rate_limit_per_minute" => request.rate_limit_per_minute = full.rate_limit_per_minute,
            "rate_limit_per_hour" => request.rate_limit_per_hour = full.rate_limit_per_hour,
            "max_messages_per_session" => {
                request.max_messages_per_session = full.max_messages_per_session
            }
            "session_idle_timeout_minutes" => {
                request.session_idle_timeout_minutes = full.session_idle_timeout_minutes
            }
            "config" => request.config = full.config.clone(),
            "active" => request.is_active = full.is_active,
            "pin_to_version" => request.pin_to_version = full.pin_to_version.clone(),
            "target_alias" => request.target_alias = full.target_alias.clone(),
            "target_version_id" => request.target_version_id = full.target_version_id.clone(),
            _ => {}
        }
    }
    request
}

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

/// The plan for people: one block per token, then a summary line. `printer` colours it on a
/// terminal. Written with `line`, so it goes wherever the caller's data goes.
/// One indented `field: from → to` line per change, under an update or a replacement.
fn push_field_changes(lines: &mut Vec<String>, changes: &[FieldChange]) {
    for c in changes {
        lines.push(format!(
            "    {}: {} → {}",
            c.field,
            shown(&c.from),
            shown(&c.to)
        ));
    }
}

pub fn render(printer: &Printer, plan: &Plan, to_stderr: bool) -> Result<(), CliError> {
    let mut lines: Vec<String> = Vec::new();
    for change in &plan.changes {
        match change {
            Change::Create(d) => {
                lines.push(printer.style(
                    &format!("+ create \"{}\" ({})", d.name, d.environment),
                    Style::Added,
                    to_stderr,
                ));
                lines.push(format!("    origins: {}", d.origins.join(", ")));
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
            plan.unmanaged.join(", ")
        ));
    }
    for line in lines {
        if to_stderr {
            printer.note(&line);
        } else {
            printer.line(&line)?;
        }
    }
    Ok(())
}

/// The plan for machines.
pub fn to_json(plan: &Plan) -> Value {
    let field_changes = |changes: &[FieldChange]| -> Vec<Value> {
        changes
            .iter()
            .map(|c| json!({"field": c.field, "from": c.from, "to": c.to}))
            .collect()
    };
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|change| match change {
            Change::Create(d) => json!({"action": "create", "name": d.name, "environment": d.environment}),
            Change::Update { id, desired, changes } => json!({"action": "update", "name": desired.name, "id": id, "changes": field_changes(changes)}),
            Change::Replace { id, desired, because } => json!({"action": "replace", "name": desired.name, "id": id, "changes": field_changes(because)}),
            Change::Delete { id, name, environment } => json!({"action": "delete", "name": name, "id": id, "environment": environment}),
        })
        .collect();
    let (create, update, replace, delete) = plan.summary();
    json!({
        "changes": changes,
        "unchanged": plan.unchanged,
        "unmanaged": plan.unmanaged,
        "summary": {"create": create, "update": update, "replace": replace, "delete": delete},
    })
}

pub async fn run(ctx: &Context, args: PlanArgs) -> Result<(), CliError> {
    let manifest = Manifest::load(&args.file)?;
    let client = ctx.client()?;
    let current = client.list_all().await?;
    let plan = compute(&manifest.tokens, &current, args.prune)?;
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
