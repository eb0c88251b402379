//! A token named on the command line: by its id, or by a whole value (`ct_live_…`). A value
//! is public (it sits in a page) and is what a user has when it leaks, so wherever an id is
//! taken a value is accepted too, and resolved to the token that holds it from one read of
//! the whole account. A value is never echoed back whole: messages show it masked.

use futures_util::StreamExt;
use serde_json::Value;

use super::Context;
use super::tokens::describe;
use crate::api::{ApiError, Client, ClientToken, ID_SHAPES, check_id};
use crate::error::{CliError, ErrorKind};
use crate::token::{Field, TokenView};

/// The prefixes of client-token values; an id never starts with one.
const VALUE_PREFIXES: [&str; 2] = ["ct_test_", "ct_live_"];
/// The longest value rtctl will look for.
const MAX_VALUE_CHARS: usize = 256;

/// What an argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Id,
    Value,
}

/// What an argument is, or why it is neither an id nor a value (exit 2).
fn kind(arg: &str) -> Result<Kind, CliError> {
    let Some(prefix) = VALUE_PREFIXES.iter().find(|p| arg.starts_with(**p)) else {
        return check_id(arg)
            .map(|()| Kind::Id)
            .map_err(|e| CliError::usage(format!("invalid token id: {e}")).with_hint(ID_SHAPES));
    };
    let rest = &arg[prefix.len()..];
    if rest.contains('*') {
        return Err(CliError::usage(format!(
            "{} is a masked value, as lists show it: it cannot name a token",
            crate::text::for_terminal(arg, false)
        ))
        .with_hint("give the token's id (rtctl tokens list shows them), or the whole value"));
    }
    let fine = !rest.is_empty()
        && arg.chars().count() <= MAX_VALUE_CHARS
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if fine {
        Ok(Kind::Value)
    } else {
        Err(CliError::usage(format!(
            "the argument starting {prefix}… is not a token value"
        ))
        .with_hint(ID_SHAPES))
    }
}

/// Checks every argument before any request: each must be an id or a whole value.
pub(crate) fn check<'a>(args: impl IntoIterator<Item = &'a String>) -> Result<(), CliError> {
    for arg in args {
        kind(arg)?;
    }
    Ok(())
}

/// One argument as a token id.
pub(crate) async fn resolve_one(
    ctx: &Context,
    client: &Client,
    arg: &str,
) -> Result<String, CliError> {
    let mut ids = resolve(ctx, client, &[arg.to_string()]).await?;
    Ok(ids.remove(0))
}

/// The arguments as token ids, one for each, in order. Values are looked up in one read of
/// the whole account; when none is a value, no request is made.
pub(crate) async fn resolve(
    ctx: &Context,
    client: &Client,
    args: &[String],
) -> Result<Vec<String>, CliError> {
    check(args)?;
    if args.iter().all(|a| kind(a).ok() == Some(Kind::Id)) {
        return Ok(args.to_vec());
    }
    let account = client.list_all().await?;
    let mut ids: Vec<String> = Vec::new();
    for arg in args {
        ids.push(match kind(arg)? {
            Kind::Id => arg.clone(),
            Kind::Value => holder(ctx, client, &account, arg).await?,
        });
    }
    Ok(ids)
}

/// How many tokens' values are read at once when the list does not show them.
const READS_AT_ONCE: usize = 8;

/// The id of the token whose value is `value`, said on stderr.
async fn holder(
    ctx: &Context,
    client: &Client,
    account: &[ClientToken],
    value: &str,
) -> Result<String, CliError> {
    let shown = masked(value);
    let listed = |t: &ClientToken| match t.field(Field::TokenValue) {
        Some(Value::String(v)) if !v.contains('*') => Some(v.clone()),
        _ => None,
    };
    let mut holders: Vec<&ClientToken> = account
        .iter()
        .filter(|t| listed(t).as_deref() == Some(value))
        .collect();
    // Tokens whose list entry hides the value, but whose prefix and hint fit: read theirs.
    let prefix = VALUE_PREFIXES.iter().find(|p| value.starts_with(**p));
    let fits = |t: &&ClientToken| {
        listed(t).is_none()
            && t.text(Field::TokenPrefix)
                .is_none_or(|p| Some(&p) == prefix)
            && t.text(Field::TokenHint).is_none_or(|h| value.ends_with(h))
    };
    let candidates: Vec<&ClientToken> = account.iter().filter(fits).collect();
    let read: Vec<(&ClientToken, Result<String, ApiError>)> =
        futures_util::stream::iter(candidates)
            .map(|t| async move { (t, client.value(t.id()).await) })
            .buffered(READS_AT_ONCE)
            .collect()
            .await;
    let mut possibly: Vec<&ClientToken> = Vec::new();
    for (token, result) in read {
        match result {
            Ok(current) if current == value => holders.push(token),
            Ok(_) => {}
            // A legacy token has no readable value: it might hold this one.
            Err(ApiError::Status { status: 400, .. }) => possibly.push(token),
            Err(e) => return Err(e.into()),
        }
    }
    match holders.as_slice() {
        [token] => {
            let id = token.id().to_string();
            check_id(&id).map_err(|why| {
                CliError::failure(format!(
                    "the token holding {shown} has an id that cannot be one ({why})"
                ))
            })?;
            ctx.printer
                .note(&format!("{shown} is the value of {}.", describe(token)));
            Ok(id)
        }
        [] if !possibly.is_empty() => Err(CliError::new(
            ErrorKind::NotFound,
            format!(
                "no token in this account has {shown} as its readable value; possibly {}, whose value cannot be read (created before values were stored)",
                possibly.iter().map(|t| describe(t)).collect::<Vec<_>>().join(", possibly ")
            ),
        )
        .with_hint("rtctl acts on a value only when it can confirm which token holds it; if you know, name that token by its id")),
        [] => Err(CliError::new(
            ErrorKind::NotFound,
            format!("no token in this account holds {shown} (already rotated?)"),
        )
        .with_hint("rtctl tokens list shows the account's tokens; a value that was rotated or deleted no longer names one")),
        many => Err(CliError::failure(format!(
            "several tokens claim to hold {shown}: {}; rtctl will not pick one",
            many.iter().map(|t| t.id()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// A value as messages show it: `ct_live_****a1b2`.
pub(crate) fn masked(value: &str) -> String {
    let prefix = VALUE_PREFIXES
        .iter()
        .find(|p| value.starts_with(**p))
        .copied();
    // The last four of what follows the prefix (never of the prefix itself), and only when
    // more is hidden: a short value is not shown whole.
    let rest = &value[prefix.map_or(0, str::len)..];
    let hint = (rest.chars().count() > 4).then(|| crate::output::last_chars(rest, 4));
    crate::output::mask(prefix, hint)
}

/// Whether `value` has the shape of a client-token value (`ct_live_…`, `ct_test_…`).
pub(crate) fn is_value(value: &str) -> bool {
    matches!(kind(value), Ok(Kind::Value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_ids_values_or_refused() {
        assert_eq!(kind("ct_9f8e7d6c5b4a3210").unwrap(), Kind::Id);
        assert_eq!(
            kind("0b9e2a5c-1d2e-4f3a-8b7c-6d5e4f3a2b1c").unwrap(),
            Kind::Id
        );
        assert_eq!(kind("ct_live_AbC123xyz").unwrap(), Kind::Value);
        assert_eq!(kind("ct_test_AbC123xyz").unwrap(), Kind::Value);
        for bad in [
            "ct_live_****abcd",
            "ct_live_",
            "ct_live_a b",
            "../x",
            "ct_9f8e.x",
        ] {
            let e = kind(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.hint.is_some(), "{bad}");
        }
        let secret = "ct_live_SECRETSECRETSECRET!";
        let e = kind(secret).unwrap_err();
        assert!(!e.message.contains("SECRET"), "{}", e.message);
    }

    #[test]
    fn values_show_masked() {
        assert_eq!(masked("ct_live_abcdefgh1234"), "ct_live_****1234");
    }
}
