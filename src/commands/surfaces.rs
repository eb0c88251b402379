//! Surfaces, the way the dashboard addresses tokens: `--surface NAME|PRODUCT/SURFACE|ID`
//! resolved against the account's surfaces, the check that a token could chat on its
//! surface at all, surface labels for `get`, wide lists and token files, and
//! `rtctl surfaces list`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde_json::{Value, json};

use super::Context;
use crate::api::surfaces::{Item, Surface};
use crate::api::{Client, ClientToken};
use crate::cli::surfaces::SurfacesCommand;
use crate::cli::tokens::Filters;
use crate::error::{CliError, ErrorKind};
use crate::manifest::{DesiredToken, Manifest};
use crate::output::Format;
use crate::token::{Field, TokenView};

pub(crate) async fn run(ctx: &Context, command: SurfacesCommand) -> Result<(), CliError> {
    match command {
        SurfacesCommand::List(_) => list(ctx).await,
    }
}

/// The account's surfaces, every type, read once per command.
pub(crate) struct Catalogue {
    surfaces: Vec<Surface>,
    /// Each surface's place by id (the first, should a server repeat one): a token file's
    /// 20,000 tokens each look theirs up, never a search of up to 10,000 surfaces.
    by_id: HashMap<String, usize>,
    /// What each input to [`Catalogue::resolve`] named, once worked out: a file's tokens name
    /// the same few surfaces again and again.
    resolved: RefCell<HashMap<String, Result<usize, CliError>>>,
}

impl Catalogue {
    fn new(surfaces: Vec<Surface>) -> Catalogue {
        let mut by_id = HashMap::new();
        for (at, surface) in surfaces.iter().enumerate() {
            by_id.entry(surface.id().to_string()).or_insert(at);
        }
        Catalogue {
            surfaces,
            by_id,
            resolved: RefCell::default(),
        }
    }

    /// Every surface of the account (the cursor followed to the end).
    pub(crate) async fn load(client: &Client) -> Result<Catalogue, CliError> {
        Ok(Catalogue::read(client).await?)
    }

    /// The same, with the API's own error, so a caller can tell "the key may not read them"
    /// (403) from a failed read.
    pub(crate) async fn read(client: &Client) -> Result<Catalogue, crate::api::ApiError> {
        Ok(Catalogue::new(client.all_surfaces(None).await?))
    }

    pub(crate) fn find(&self, id: &str) -> Option<&Surface> {
        self.by_id.get(id).map(|at| &self.surfaces[*at])
    }

    /// `Product / Surface` for a surface id, when the account has it.
    pub(crate) fn label(&self, id: &str) -> Option<String> {
        self.find(id).map(Surface::label)
    }

    /// The chat surface `input` names: an id (of any surface), a chat surface's name, or
    /// `PRODUCT/SURFACE` (product name or id, surface name or id) where names clash. Names
    /// compare exactly first, then ignoring case. Unknown: exit 5; ambiguous: exit 2.
    pub(crate) fn resolve(&self, input: &str) -> Result<&Surface, CliError> {
        if let Some(at) = self.by_id.get(input) {
            return Ok(&self.surfaces[*at]);
        }
        if let Some(known) = self.resolved.borrow().get(input) {
            return known.clone().map(|at| &self.surfaces[at]);
        }
        let found = self
            .resolve_name(input)
            .map(|surface| self.by_id.get(surface.id()).copied().unwrap_or_default());
        self.resolved
            .borrow_mut()
            .insert(input.to_string(), found.clone());
        found.map(|at| &self.surfaces[at])
    }

    /// [`Catalogue::resolve`] for an input that is no surface's id.
    fn resolve_name(&self, input: &str) -> Result<&Surface, CliError> {
        let chat: Vec<&Surface> = self.surfaces.iter().filter(|s| s.is_chat()).collect();
        let named = |exact: bool| -> Vec<&Surface> {
            let same = |a: &str, b: &str| {
                if exact {
                    a == b
                } else {
                    a.to_lowercase() == b.to_lowercase()
                }
            };
            let mut found: Vec<&Surface> = chat
                .iter()
                .copied()
                .filter(|s| same(s.name(), input))
                .collect();
            // Every `/` could be the one between product and surface (names may hold one).
            for (at, _) in input.match_indices('/') {
                let (product, surface) = (&input[..at], &input[at + 1..]);
                found.extend(chat.iter().copied().filter(|s| {
                    (same(s.product_name(), product) || s.product_id() == product)
                        && (same(s.name(), surface) || s.id() == surface)
                }));
            }
            found.sort_by_key(|s| s.id().to_string());
            found.dedup_by_key(|s| s.id().to_string());
            found
        };
        let mut found = named(true);
        if found.is_empty() {
            found = named(false);
        }
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(CliError::new(
                ErrorKind::NotFound,
                format!("no chat surface is named '{input}'"),
            )
            .with_hint(match chat.len() {
                0 => "this account has no chat surfaces; create one in the dashboard".to_string(),
                _ => format!(
                    "give a name, PRODUCT/SURFACE or an id from rtctl surfaces list ({})",
                    chat.iter()
                        .take(5)
                        .map(|s| format!("{}/{}", s.product_name(), s.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })),
            several => Err(CliError::usage(format!(
                "'{input}' names {} chat surfaces: {}",
                several.len(),
                several
                    .iter()
                    .map(|s| format!("{}/{} ({})", s.product_name(), s.name(), s.id()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_hint(format!(
                "name one as PRODUCT/SURFACE, for example --surface '{}/{}', or give its id",
                several[0].product_name(),
                several[0].name()
            ))),
        }
    }

    /// The chat surfaces, in the API's order.
    fn chat(&self) -> impl Iterator<Item = &Surface> {
        self.surfaces.iter().filter(|s| s.is_chat())
    }
}

/// The filters with `--surface` resolved to the surface's id (which [`Filters::admits`]
/// compares); no request when it is not given.
pub(crate) async fn resolved(filters: &Filters, client: &Client) -> Result<Filters, CliError> {
    let mut filters = filters.clone();
    if let Some(input) = &filters.surface {
        let catalogue = Catalogue::load(client).await?;
        filters.surface_id = Some(catalogue.resolve(input)?.id().to_string());
    }
    Ok(filters)
}

/// The resolved filters and every token of the account, read at once.
pub(crate) async fn with_all_tokens(
    filters: &Filters,
    client: &Client,
) -> Result<(Filters, Vec<ClientToken>), CliError> {
    tokio::try_join!(resolved(filters, client), async {
        client.list_all().await.map_err(CliError::from)
    })
}

/// A token chats only where its flows and agents overlap what its surface exposes: refuses
/// one that shares nothing with the surface's enabled items, saying what each side has.
pub(crate) fn check_overlap(
    surface: &Surface,
    items: &[Item],
    flows: &[&str],
    agents: &[&str],
) -> Result<(), CliError> {
    let enabled: Vec<&Item> = items.iter().filter(|i| i.enabled).collect();
    let shared = enabled.iter().any(|item| {
        item.flow_id.as_deref().is_some_and(|f| flows.contains(&f))
            || item
                .agent_id
                .as_deref()
                .is_some_and(|a| agents.contains(&a))
    });
    if shared {
        return Ok(());
    }
    let exposed: Vec<String> = enabled
        .iter()
        .filter_map(|i| i.flow_id.clone().or_else(|| i.agent_id.clone()))
        .collect();
    let runs: Vec<&str> = flows.iter().chain(agents).copied().collect();
    let runs = match runs.is_empty() {
        true => "no flow or agent".to_string(),
        false => runs.join(", "),
    };
    let (exposes, hint) = match exposed.is_empty() {
        true => (
            "nothing enabled".to_string(),
            "enable a flow or an agent on the surface in the dashboard, or choose another surface (rtctl surfaces list)".to_string(),
        ),
        false => (
            exposed.join(", "),
            format!(
                "give the token one of them (--flow or --agent {}), or choose the surface that exposes what it runs (rtctl surfaces list)",
                exposed[0]
            ),
        ),
    };
    Err(CliError::usage(format!(
        "chat on {} could never work: the token runs {runs}, and the surface exposes {exposes}",
        surface.label()
    ))
    .with_hint(hint))
}

/// Reads the surface `input` names and checks that a token with these flows and agents could
/// chat on it: the id to bind the token to (a surface that is not active is warned about).
pub(crate) async fn bind(
    ctx: &Context,
    client: &Client,
    catalogue: &Catalogue,
    input: &str,
    flows: &[&str],
    agents: &[&str],
) -> Result<String, CliError> {
    let surface = catalogue.resolve(input)?;
    if let Some(warning) = check_binding(client, surface, flows, agents).await? {
        ctx.printer.warn(&warning);
    }
    Ok(surface.id().to_string())
}

/// Whether a token with these flows and agents may be bound to `surface`: it must be a chat
/// surface, and share something with its enabled items. A surface that is not active is
/// allowed, with the warning returned.
async fn check_binding(
    client: &Client,
    surface: &Surface,
    flows: &[&str],
    agents: &[&str],
) -> Result<Option<String>, CliError> {
    let mut items = HashMap::new();
    check_binding_with(client, &mut items, surface, flows, agents).await
}

/// [`check_binding`], each surface's items read once into `items` (by surface id): a token
/// file's tokens on one surface cost one request, not one each.
async fn check_binding_with(
    client: &Client,
    items: &mut HashMap<String, Vec<Item>>,
    surface: &Surface,
    flows: &[&str],
    agents: &[&str],
) -> Result<Option<String>, CliError> {
    if !surface.is_chat() {
        return Err(CliError::usage(format!(
            "{} is a {} surface: client tokens belong to chat surfaces",
            surface.label(),
            surface.kind()
        ))
        .with_hint("rtctl surfaces list shows the chat surfaces"));
    }
    let items = match items.entry(surface.id().to_string()) {
        Entry::Occupied(known) => known.into_mut(),
        Entry::Vacant(slot) => slot.insert(
            client
                .surface_items(surface.product_id(), surface.id())
                .await?,
        ),
    };
    check_overlap(surface, items, flows, agents)?;
    Ok((surface.status() != "active").then(|| {
        format!(
            "{} is {}: the widget is refused until the surface is active",
            surface.label(),
            surface.status()
        )
    }))
}

/// A message about one token of a token file, placed at its line.
fn in_file(file: &std::path::Path, line: usize, name: &str, what: &str) -> String {
    format!(
        "the token file {}, line {line}: tokens.\"{name}\": {what}",
        file.display()
    )
}

/// Resolves a file token's `surface = "…"` to its `product_surface_id`; when both are given
/// they must name the same surface.
fn name_surface(
    catalogue: &Catalogue,
    desired: &mut DesiredToken,
    file: &std::path::Path,
) -> Result<(), CliError> {
    let Some((input, line)) = desired.surface.clone() else {
        return Ok(());
    };
    let surface = catalogue.resolve(&input).map_err(|e| {
        let message = in_file(file, line, &desired.name, &e.message);
        CliError { message, ..e }
    })?;
    match desired.values.text(Field::ProductSurfaceId) {
        Some(id) if id != surface.id() => Err(CliError::usage(in_file(
            file,
            line,
            &desired.name,
            &format!(
                "surface = \"{input}\" is {} ({}), but product_surface_id says {id}",
                surface.label(),
                surface.id()
            ),
        ))
        .with_hint("keep one of the two, or make them name the same surface")),
        _ => {
            desired.values.set(
                Field::ProductSurfaceId,
                Value::String(surface.id().to_string()),
            );
            Ok(())
        }
    }
}

/// For `plan` and `apply`: resolves each file token's `surface` (see [`name_surface`]), then
/// refuses a token that would be created (new, or a replacement, which is made from the file
/// alone), or whose flows or agents would change, when it could not chat on its surface (see
/// [`check_binding`]). Returns the warnings for the plan (a surface that is not active). No
/// request when no token names a surface; a `product_surface_id` the account's surfaces
/// cannot show (a key that may not list them) is left to the service.
pub(crate) async fn bind_file_tokens(
    ctx: &Context,
    client: &Client,
    manifest: &mut Manifest,
    current: &[ClientToken],
    file: &std::path::Path,
) -> Result<Vec<String>, CliError> {
    let bound =
        |d: &DesiredToken| d.surface.is_some() || d.values.contains(Field::ProductSurfaceId);
    if !manifest.tokens.iter().any(bound) {
        return Ok(Vec::new());
    }
    let named = manifest.tokens.iter().any(|d| d.surface.is_some());
    let catalogue = match Catalogue::load(client).await {
        Ok(catalogue) => catalogue,
        Err(e) if !named => {
            ctx.printer.debug(&format!(
                "could not read the surfaces to check the file's tokens against them: {}",
                e.message
            ));
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    for desired in manifest.tokens.iter_mut() {
        name_surface(&catalogue, desired, file)?;
    }
    let mut warnings = Vec::new();
    let mut items = HashMap::new();
    // The account's tokens as the plan matches them (retiring ones aside, names unique).
    let (by_name, _) = crate::commands::plan::by_name(current);
    for desired in &manifest.tokens {
        let Some(surface) = desired
            .values
            .text(Field::ProductSurfaceId)
            .and_then(|id| catalogue.find(id))
        else {
            continue;
        };
        // The token the file keeps; a replacement is a new token, made from the file alone.
        let held = by_name
            .get(desired.name.as_str())
            .filter(|tokens| tokens.len() == 1)
            .map(|tokens| tokens[0])
            .filter(|t| !crate::commands::plan::replaces(t, desired));
        let list = |field: Field| -> Vec<String> {
            match (desired.values.get(field), held) {
                (Some(_), _) => desired.values.strings(field),
                (None, Some(token)) => token.strings(field),
                (None, None) => Vec::new(),
            }
            .into_iter()
            .map(str::to_string)
            .collect()
        };
        let (flows, agents) = (list(Field::FlowIds), list(Field::AgentIds));
        let changes = match held {
            None => true,
            Some(token) => [(Field::FlowIds, &flows), (Field::AgentIds, &agents)]
                .iter()
                .any(|(field, wanted)| {
                    // As sets, as the plan compares them.
                    let now: std::collections::BTreeSet<&str> =
                        token.strings(*field).into_iter().collect();
                    let wanted: std::collections::BTreeSet<&str> =
                        wanted.iter().map(String::as_str).collect();
                    now != wanted
                }),
        };
        if !changes {
            continue;
        }
        let (flows, agents): (Vec<&str>, Vec<&str>) = (
            flows.iter().map(String::as_str).collect(),
            agents.iter().map(String::as_str).collect(),
        );
        let warning = check_binding_with(client, &mut items, surface, &flows, &agents)
            .await
            .map_err(|e| {
                let message = in_file(file, desired.line, &desired.name, &e.message);
                CliError { message, ..e }
            })?;
        warnings.extend(warning.map(|w| in_file(file, desired.line, &desired.name, &w)));
    }
    Ok(warnings)
}

/// For `audit -f`: each file token's `surface = "…"` resolved as `apply` would, so the
/// traffic rules see it. The audit reports rather than refuses: a name that cannot be
/// resolved (unknown, ambiguous, or disagreeing with `product_surface_id`) is a warning with
/// its hint, and the name is left out: the token is audited on the surface the account or
/// the file's `product_surface_id` gives it, if any.
pub(crate) fn name_file_surfaces(
    ctx: &Context,
    catalogue: &Catalogue,
    manifest: &mut Manifest,
    file: &std::path::Path,
) {
    for desired in manifest.tokens.iter_mut() {
        if let Err(e) = name_surface(catalogue, desired, file) {
            let hint = e.hint.map(|h| format!(" ({h})")).unwrap_or_default();
            ctx.printer.warn(&format!("{}{hint}", e.message));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn surface(id: &str, product: &str, name: &str, kind: &str) -> Surface {
        let raw = json!({"id": id, "productId": format!("p_{product}"), "productName": product, "name": name, "type": kind});
        match raw {
            Value::Object(raw) => Surface { raw },
            _ => unreachable!(),
        }
    }

    fn catalogue() -> Catalogue {
        Catalogue::new(vec![
            surface("s1", "Store", "Web chat", "chat"),
            surface("s2", "Docs", "Web chat", "chat"),
            surface("s3", "Store", "Web chat (dev)", "chat"),
            surface("s4", "Store", "Public API", "api"),
            surface("s5", "A/B", "C", "chat"),
        ])
    }

    #[test]
    fn names_ids_and_product_forms_resolve() {
        let c = catalogue();
        assert_eq!(c.resolve("s2").unwrap().id(), "s2");
        assert_eq!(c.resolve("Web chat (dev)").unwrap().id(), "s3");
        assert_eq!(c.resolve("web CHAT (dev)").unwrap().id(), "s3");
        assert_eq!(c.resolve("Docs/Web chat").unwrap().id(), "s2");
        assert_eq!(c.resolve("p_Store/Web chat").unwrap().id(), "s1");
        assert_eq!(
            c.resolve("A/B/C").unwrap().id(),
            "s5",
            "a product name with a slash"
        );
        assert_eq!(c.resolve("s4").unwrap().id(), "s4", "ids of any type");
    }

    #[test]
    fn a_clash_is_a_usage_error_and_an_unknown_name_not_found() {
        let c = catalogue();
        let clash = c.resolve("Web chat").unwrap_err();
        assert_eq!(clash.exit_code(), 2);
        assert!(
            clash.message.contains("Store/Web chat (s1)"),
            "{}",
            clash.message
        );
        assert_eq!(
            c.resolve("Public API").unwrap_err().exit_code(),
            5,
            "names are of chat surfaces"
        );
        assert_eq!(c.resolve("Nope").unwrap_err().exit_code(), 5);
    }

    #[test]
    fn a_token_must_share_an_enabled_item_with_its_surface() {
        let s = surface("s1", "Store", "Web chat", "chat");
        let items = [
            Item {
                flow_id: Some("f1".into()),
                agent_id: None,
                enabled: true,
            },
            Item {
                flow_id: None,
                agent_id: Some("a1".into()),
                enabled: false,
            },
        ];
        assert!(check_overlap(&s, &items, &["f1", "f2"], &[]).is_ok());
        let refused = check_overlap(&s, &items, &[], &["a1"]).unwrap_err();
        assert!(
            refused
                .message
                .contains("runs a1, and the surface exposes f1"),
            "{}",
            refused.message
        );
        assert!(
            check_overlap(&s, &items[1..], &["f1"], &[])
                .unwrap_err()
                .message
                .contains("nothing enabled")
        );
    }
}
