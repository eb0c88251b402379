//! Surfaces, the way the dashboard addresses tokens: `--surface NAME|PRODUCT/SURFACE|ID`
//! resolved against the account's surfaces, the check that a token could chat on its
//! surface at all, surface labels for `get`, wide lists and token files, and
//! `rtctl surfaces list`.

use serde_json::{Value, json};

use super::Context;
use crate::api::ClientToken;
use crate::api::surfaces::Surface;
use crate::cli::surfaces::SurfacesCommand;
use crate::error::CliError;
use crate::ops::surfaces::Catalogue;
use crate::output::Format;
use crate::token::{Field, TokenView};

pub(crate) async fn run(ctx: &Context, command: SurfacesCommand) -> Result<(), CliError> {
    match command {
        SurfacesCommand::List(_) => list(ctx).await,
    }
}

/// `rtctl surfaces list`: chat surfaces and the tokens bound to each (two reads at once).
async fn list(ctx: &Context) -> Result<(), CliError> {
    let client = ctx.client()?;
    let (surfaces, tokens) = tokio::try_join!(
        async {
            client
                .all_surfaces(Some("chat"))
                .await
                .map_err(CliError::from)
        },
        async { client.list_all().await.map_err(CliError::from) },
    )?;
    let catalogue = Catalogue::new(surfaces);
    let bound = |surface: &Surface| -> Vec<&ClientToken> {
        tokens
            .iter()
            .filter(|t| t.text(Field::ProductSurfaceId) == Some(surface.id()))
            .collect()
    };
    let printer = &ctx.printer;
    if printer.format == Format::Json {
        let items: Vec<Value> = catalogue
            .chat()
            .map(|s| {
                let mut object = s.raw.clone();
                let tokens: Vec<Value> = bound(s)
                    .iter()
                    .map(|t| {
                        json!({
                            "id": t.id(),
                            "name": t.text(Field::Name),
                            "environment": t.environment(),
                            "isActive": t.is_active(),
                        })
                    })
                    .collect();
                object.insert("tokens".into(), Value::Array(tokens));
                Value::Object(object)
            })
            .collect();
        return printer.json(&Value::Array(items));
    }
    let separator = if printer.format == Format::Table {
        "\n"
    } else {
        ","
    };
    let rows: Vec<Vec<String>> = catalogue
        .chat()
        .map(|s| {
            vec![
                s.product_name().to_string(),
                s.name().to_string(),
                s.id().to_string(),
                s.status().to_string(),
                bound(s)
                    .iter()
                    .map(|t| t.id().to_string())
                    .collect::<Vec<_>>()
                    .join(separator),
            ]
        })
        .collect();
    if rows.is_empty() {
        printer.note("No chat surfaces.");
        return Ok(());
    }
    printer
        .list_table(
            &["product", "surface", "id", "status", "tokens"],
            SURFACES_FIT,
        )
        .rows(&rows)
}

/// On a narrow terminal the surface's id goes first (its names work wherever a surface is
/// named), then its tokens (`tokens list --surface` shows them); then the names are cut.
const SURFACES_FIT: crate::output::Fit = crate::output::Fit {
    drop: &[2, 4],
    cut: &[0, 1],
    origins: &[],
};
