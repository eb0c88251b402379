//! `tokens create` warns when the account already has a token with the new token's name:
//! token files (`plan`, `apply`, `export`) know tokens by name and refuse a name held twice,
//! and a `--name-contains` selection (the CI recipes') would then pick both.

use crate::api::client::Client;
use crate::output::Printer;
use crate::token::TokenView;

/// Reads the whole account (one request where the API hands the list out whole) and warns on
/// stderr if a token is already named `name`. A warning only: a failed read is said under
/// `-v` and the create goes on, since it neither depends on nor changes what was read.
pub(super) async fn warn_if_taken(client: &Client, printer: &Printer, name: &str) {
    let tokens = match client.list_all().await {
        Ok(tokens) => tokens,
        Err(e) => {
            printer.debug(&format!("could not check whether the name is taken: {e}"));
            return;
        }
    };
    let holders: Vec<&str> = tokens
        .iter()
        .filter(|t| t.name() == name)
        .map(|t| t.id())
        .collect();
    if holders.is_empty() {
        return;
    }
    printer.warn(&format!(
        "the account already has a token named \"{name}\" ({}): token files cannot manage \
         either by name, and --name-contains selects both; rtctl tokens update ID --name NAME \
         renames one",
        holders.join(", ")
    ));
}
