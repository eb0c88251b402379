//! What a token file changes in the account: each file token matched to the account's token
//! of its name, the fields that differ, and whether a change needs a new token. The plan that
//! `plan` shows and `apply` carries out.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::ClientToken;
use crate::error::CliError;
use crate::origin::AllowedOrigin;
use crate::token::rollover::RolloverView;
use crate::token::{Compare, Field, Kind, TokenView, Values};
use crate::token_file::FileToken;

/// One field that differs: what the account has, what the file wants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldChange {
    pub field: Field,
    pub from: Value,
    pub to: Value,
}

impl FieldChange {
    /// The field's key in the file, as plans show it.
    pub(crate) fn key(&self) -> &'static str {
        self.field.spec().file.unwrap_or(self.field.json())
    }
}

/// What `apply` would do to one token.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Create(FileToken),
    Update {
        id: String,
        desired: FileToken,
        changes: Vec<FieldChange>,
    },
    /// A field that cannot be updated differs: delete and recreate (a new value).
    Replace {
        id: String,
        desired: FileToken,
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
pub(crate) struct Plan {
    pub changes: Vec<Change>,
    /// Names that already match.
    pub unchanged: Vec<String>,
    /// Account tokens the file does not name (deleted only with --prune).
    pub unmanaged: Vec<String>,
    /// Account tokens no file can name: without a name, or sharing one. Never pruned.
    pub unmanageable: Vec<Unmanageable>,
    /// Values of the file that break a rule but change nothing (the account holds them).
    pub warnings: Vec<String>,
}

/// An account token a token file cannot manage, and why.
#[derive(Debug, Clone)]
pub(crate) struct Unmanageable {
    pub id: String,
    pub name: Option<String>,
    pub reason: &'static str,
}

impl Unmanageable {
    /// `ct_… (no name)`, `ct_… "Docs" (a name shared with another token)`.
    pub(crate) fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("{} \"{name}\" ({})", self.id, self.reason),
            None => format!("{} ({})", self.id, self.reason),
        }
    }
}

/// The account's tokens a file can name, by name, and those it cannot.
pub(crate) fn by_name(
    current: &[ClientToken],
) -> (BTreeMap<&str, Vec<&ClientToken>>, Vec<Unmanageable>) {
    let mut named: BTreeMap<&str, Vec<&ClientToken>> = BTreeMap::new();
    let mut unmanageable = Vec::new();
    for token in current {
        // A rollover's tokens are its own until it is finished: the old one (retiring, or
        // being rolled over) and a successor whose value is not delivered yet. Once done, the
        // successor carries the name.
        let rollover = if token.retiring().is_some() {
            Some("retiring (rolled over by rtctl tokens rotate --overlap)")
        } else if token.pending().is_some() {
            Some("being rolled over (rtctl tokens rotate --overlap finishes it)")
        } else if token.successor_tag().is_some() {
            Some(
                "a successor whose rollover is not finished (rtctl tokens rotate --overlap finishes it)",
            )
        } else {
            None
        };
        if let Some(reason) = rollover {
            unmanageable.push(Unmanageable {
                id: token.id().to_string(),
                name: Some(token.name().to_string()),
                reason,
            });
            continue;
        }
        match token.text(Field::Name).filter(|n| !n.is_empty()) {
            Some(name) => named.entry(name).or_default().push(token),
            None => unmanageable.push(Unmanageable {
                id: token.id().to_string(),
                name: None,
                reason: "no name",
            }),
        }
    }
    for tokens in named.values().filter(|t| t.len() > 1) {
        for token in tokens {
            unmanageable.push(Unmanageable {
                id: token.id().to_string(),
                name: Some(token.name().to_string()),
                reason: "a name shared with another token",
            });
        }
    }
    (named, unmanageable)
}

impl Plan {
    pub(crate) fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    fn count(&self, kind: fn(&Change) -> bool) -> usize {
        self.changes.iter().filter(|c| kind(c)).count()
    }

    pub(crate) fn summary(&self) -> (usize, usize, usize, usize) {
        (
            self.count(|c| matches!(c, Change::Create(_))),
            self.count(|c| matches!(c, Change::Update { .. })),
            self.count(|c| matches!(c, Change::Replace { .. })),
            self.count(|c| matches!(c, Change::Delete { .. })),
        )
    }
}

/// The token as the file would describe it: every field a file can hold that the token has
/// (empty lists and an empty config are left out, as a file would leave them out).
pub(crate) fn describe_current(token: &ClientToken) -> FileToken {
    let mut values = Values::new();
    for field in Field::in_file() {
        let Some(value) = token.field(field) else {
            continue;
        };
        let empty = match value {
            Value::Array(items) => {
                items.is_empty() && matches!(field.spec().kind, Kind::Refs { .. })
            }
            Value::Object(map) => map.is_empty(),
            _ => false,
        };
        if !empty {
            values.set(field, value.clone());
        }
    }
    FileToken {
        name: token.name().to_string(),
        values,
        line: 0,
        past_only: Vec::new(),
        audit_ignore: Vec::new(),
        surface: None,
    }
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
        Compare::Exact => current == wanted,
        Compare::Set => sorted(current, false) == sorted(wanted, false),
        Compare::Origins => sorted(current, true) == sorted(wanted, true),
    }
}

/// Compares the file with the account. A name the file uses that several account tokens
/// share is an error (the file could not say which it means); tokens without a unique name
/// that the file does not use are listed as unmanageable and left alone.
pub(crate) fn compute(
    desired: &[FileToken],
    current: &[ClientToken],
    prune: bool,
) -> Result<Plan, CliError> {
    let (by_name, unmanageable) = by_name(current);
    for wanted in desired {
        if let Some(tokens) = by_name.get(wanted.name.as_str()).filter(|t| t.len() > 1) {
            let ids: Vec<&str> = tokens.iter().map(|t| t.id()).collect();
            return Err(CliError::usage(format!(
                "the account has {} tokens named \"{}\" ({}): a token file names tokens, so names must be unique",
                tokens.len(),
                wanted.name,
                ids.join(", ")
            ))
            .with_hint(format!(
                "rename all but one with rtctl tokens update {} --name NEW-NAME",
                ids[0]
            )));
        }
    }
    let mut plan = Plan {
        unmanageable,
        ..Plan::default()
    };
    // Names an unfinished rollover holds: the old token's (marked pending) and its
    // successor's (tagged), which will carry the name once the rollover is finished.
    let mut in_rollover: BTreeMap<String, String> = BTreeMap::new();
    for token in current {
        if token.pending().is_some() {
            in_rollover.insert(token.base_name(), token.id().to_string());
        } else if let Some(tag) = token.successor_tag() {
            in_rollover.entry(tag.base).or_insert(tag.predecessor);
        }
    }
    for wanted in desired {
        let token = by_name.get(wanted.name.as_str()).map(|t| t[0]);
        // A value that breaks a rule stands only where the account already holds it.
        for past in &wanted.past_only {
            let held = token.is_some_and(|t| {
                let now = t.raw.get(past.field.json()).unwrap_or(&Value::Null);
                match (past.field, wanted.values.get(past.field)) {
                    (Field::Name, _) => true,
                    (_, Some(value)) => same(past.field.spec().compare(), now, value),
                    (_, None) => false,
                }
            });
            if !held {
                let error = CliError::usage(past.message.clone());
                return Err(match token {
                    Some(_) => error.with_hint(
                        "a token file may keep a value the account already holds, but not write a new one that breaks the rule",
                    ),
                    None => error,
                });
            }
            plan.warnings.push(format!(
                "{}; kept, because the account already holds it",
                past.message
            ));
        }
        let Some(token) = token else {
            // No token carries the name because a rollover is moving it to a successor:
            // creating one would make a second token with it.
            if let Some(old) = in_rollover.get(wanted.name.as_str()) {
                plan.warnings.push(format!(
                    "\"{}\" is being rolled over ({old}): finish that first (rtctl tokens rotate {old} --overlap); the file is not applied to it until then",
                    wanted.name
                ));
                continue;
            }
            plan.changes.push(Change::Create(wanted.clone()));
            continue;
        };
        let (changes, mut because) = differences(token, wanted);
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
    let named: std::collections::HashSet<&str> = desired.iter().map(|d| d.name.as_str()).collect();
    let manageable = by_name
        .iter()
        .filter(|(name, tokens)| tokens.len() == 1 && !named.contains(*name))
        .map(|(_, tokens)| tokens[0]);
    for token in manageable {
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

/// How `token` differs from what the file wants of it: the fields an update can change, and
/// those it cannot (`environment`, `product_surface_id`), which make it a replacement.
fn differences(token: &ClientToken, wanted: &FileToken) -> (Vec<FieldChange>, Vec<FieldChange>) {
    let mut updates = Vec::new();
    let mut fixed = Vec::new();
    for (field, value) in wanted.values.iter() {
        let now = token.raw.get(field.json()).cloned().unwrap_or(Value::Null);
        if same(field.spec().compare(), &now, value) {
            continue;
        }
        let change = FieldChange {
            field,
            from: now,
            to: value.clone(),
        };
        if field.spec().on_update() {
            updates.push(change)
        } else {
            fixed.push(change)
        }
    }
    (updates, fixed)
}

/// Whether applying `wanted` to `token` replaces it (see [`differences`]): a new token, made
/// from the file alone.
pub(crate) fn replaces(token: &ClientToken, wanted: &FileToken) -> bool {
    !differences(token, wanted).1.is_empty()
}

/// The request that creates `desired`: its name and every field a create may carry. The rest
/// (`isActive`: a new token is active) follows in [`after_create`].
pub(crate) fn create_request(desired: &FileToken) -> Values {
    desired
        .values
        .only(|f| f.spec().on_create())
        .with(Field::Name, Value::String(desired.name.clone()))
}

/// The update that follows a create, for what the create could not carry; `None` when
/// nothing is left (a token the file wants active, say).
pub(crate) fn after_create(desired: &FileToken) -> Option<Values> {
    let rest = desired.values.only(|f| {
        let spec = f.spec();
        !spec.on_create()
            && spec.on_update()
            && spec.initial.value().as_ref() != desired.values.get(f)
    });
    (!rest.is_empty()).then_some(rest)
}

/// The partial update that changes exactly `changes`.
pub(crate) fn update_request(changes: &[FieldChange]) -> Values {
    let mut request = Values::new();
    for change in changes {
        request.set(change.field, change.to.clone());
    }
    request
}
