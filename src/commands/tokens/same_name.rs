//! `tokens create` warns when the account already has a token with the new token's name:
//! token files (`plan`, `apply`, `export`) know tokens by name and refuse a name held twice,
//! and a `--name-contains` selection (the CI recipes') would then pick both.

use crate::api::ApiError;
use crate::api::client::Client;
use crate::output::Printer;
use crate::token::TokenView;

/// The most holders of the name a warning lists.
const LISTED: usize = 5;

/// The ids of the tokens named `name`, read from the whole account (one request where the
/// API hands the list out whole), tried once: the create runs meanwhile, and never waits for
/// a retry of a read that is only advice.
async fn holders(client: &Client, name: &str) -> Result<Vec<String>, ApiError> {
    if name.is_empty() {
        // An unnamed token shares no name: nothing to read.
        return Ok(Vec::new());
    }
    let tokens = client.single_attempt().list_all().await?;
    Ok(tokens
        .iter()
        .filter(|t| t.name() == name)
        .map(|t| t.id().to_string())
        .collect())
}

/// Runs `create` and the name check at once. The create's result is never held back for the
/// check beyond `grace` (the world's advice timeout: a list slower than that, a large account
/// on a slow link, is not worth holding the new value back for); a check that has not
/// answered by then is a failed check (said under `-v`).
pub(super) async fn beside<T>(
    create: impl Future<Output = T>,
    client: &Client,
    name: &str,
    grace: std::time::Duration,
) -> (T, Result<Vec<String>, ApiError>) {
    let check = holders(client, name);
    tokio::pin!(create, check);
    let mut checked = None;
    let created = loop {
        tokio::select! {
            created = &mut create => break created,
            found = &mut check, if checked.is_none() => checked = Some(found),
        }
    };
    let checked = match checked {
        Some(found) => found,
        None => tokio::time::timeout(grace, check)
            .await
            .unwrap_or(Err(ApiError::Timeout(grace))),
    };
    (created, checked)
}

/// Warns on stderr when a token other than the one just created (`created`) holds `name`. A
/// warning only: a failed read is said under `-v`, and the create stands.
pub(super) fn warn_if_taken(
    printer: &Printer,
    name: &str,
    holders: Result<Vec<String>, ApiError>,
    created: &str,
) {
    let holders = match holders {
        Ok(holders) => holders,
        Err(e) => {
            printer.debug(&format!("could not check whether the name is taken: {e}"));
            return;
        }
    };
    let others: Vec<&str> = holders
        .iter()
        .map(String::as_str)
        .filter(|id| *id != created)
        .collect();
    if others.is_empty() {
        return;
    }
    let mut listed = others[..others.len().min(LISTED)].join(", ");
    if others.len() > LISTED {
        listed.push_str(&format!(" and {} more", others.len() - LISTED));
    }
    printer.warn(&format!(
        "the account already has a token named \"{name}\" ({listed}): token files cannot manage \
         either by name, and --name-contains selects both; rtctl tokens update ID --name NAME \
         renames one"
    ));
}
