//! `rtctl origins traffic`: a token's allowlist against the origins that really called its
//! surface in the service's window. Sites being turned away (with the near miss and the
//! `origins add` that fixes it), entries nothing used (to consider removing: never removed
//! here), and wide entries whose real traffic is a few sites (with the narrower list).
//! Observed origins are recorded per surface, so each is judged against this token's own
//! list; one another token of the surface admits is that token's, not a refusal. The
//! analysis is [`crate::ops::traffic`]'s, which `audit`'s traffic rules share.

use serde_json::{Value, json};

use crate::api::ClientToken;
use crate::api::surfaces::{Observed, ObservedOrigins, Surface};
use crate::cli::origins::TrafficArgs;
use crate::error::{CliError, ErrorKind};
use crate::ops::surfaces::Catalogue;
use crate::ops::traffic::{Admitters, Analysis, analyze, fix_narrower, fix_refused, fix_unseen};
use crate::output::Format;
use crate::session::Context;
use crate::token::{Field, TokenView};

/// The tokens a traffic report covers, with the surface they belong to.
struct Scope {
    surface: Surface,
    tokens: Vec<ClientToken>,
    /// Every token of the surface (the report's and the others that may admit).
    bound: Vec<ClientToken>,
}

pub(crate) async fn run(ctx: &Context, mut args: TrafficArgs) -> Result<(), CliError> {
    if let Some(id) = &args.id {
        crate::ops::token_ref::check_ids([id])?;
    }
    let client = ctx.client()?;
    if let Some(id) = &args.id {
        args.id = Some(crate::ops::token_ref::resolve_one(ctx, &client, id).await?);
    }
    let (catalogue, all) = tokio::try_join!(Catalogue::load(&client), async {
        client.list_all().await.map_err(CliError::from)
    })?;
    let on = |surface: &str| -> Vec<ClientToken> {
        all.iter()
            .filter(|t| t.text(Field::ProductSurfaceId) == Some(surface))
            .cloned()
            .collect()
    };
    let scope = match (&args.id, &args.surface) {
        (Some(id), _) => {
            let token = match all.iter().find(|t| t.id() == id) {
                Some(token) => token.clone(),
                None => client.get(id).await?,
            };
            let Some(surface_id) = token.text(Field::ProductSurfaceId) else {
                return Err(CliError::usage(format!(
                    "{} belongs to no surface, and traffic is recorded per surface",
                    crate::ops::present::describe(&token)
                ))
                .with_hint(
                    "rtctl origins check ID ORIGIN judges one origin; a token made with --surface has traffic to show",
                ));
            };
            let surface = catalogue.find(surface_id).cloned().ok_or_else(|| {
                CliError::failure(format!(
                    "{}'s surface {surface_id} is not among the account's surfaces",
                    token.id()
                ))
                .with_hint("rtctl surfaces list shows them")
            })?;
            Scope {
                bound: on(surface.id()),
                surface,
                tokens: vec![token],
            }
        }
        (None, Some(input)) => {
            let surface = catalogue.resolve(input)?.clone();
            let bound = on(surface.id());
            Scope {
                tokens: bound.clone(),
                bound,
                surface,
            }
        }
        (None, None) => {
            return Err(
                CliError::usage("origins traffic needs a token ID or --surface").with_hint(
                    "rtctl origins traffic ct_… or rtctl origins traffic --surface NAME",
                ),
            );
        }
    };
    let observed = client
        .observed_origins(scope.surface.product_id(), scope.surface.id())
        .await?;
    let siblings: Vec<&ClientToken> = scope.bound.iter().collect();
    let admitters = Admitters::of(&siblings, &observed);
    let reports: Vec<(&ClientToken, Analysis)> = scope
        .tokens
        .iter()
        .map(|t| (t, analyze(t, &admitters, &observed)))
        .collect();
    show(ctx, &scope.surface, &observed, &reports)?;
    if scope.tokens.is_empty() {
        ctx.printer.note(&format!(
            "No client tokens belong to {}.",
            scope.surface.label()
        ));
    }
    let refused: usize = reports.iter().map(|(_, a)| a.refused.len()).sum();
    if refused > 0 {
        // The report lists the refused origins: only the exit code is left to say.
        return Err(CliError::silent(ErrorKind::Problems));
    }
    Ok(())
}

fn seen_json(o: &Observed) -> Value {
    json!({
        "origin": o.origin,
        "allowed": o.allowed,
        "firstSeenAt": o.first_seen_at,
        "lastSeenAt": o.last_seen_at,
    })
}

fn show(
    ctx: &Context,
    surface: &Surface,
    observed: &ObservedOrigins,
    reports: &[(&ClientToken, Analysis)],
) -> Result<(), CliError> {
    let printer = &ctx.printer;
    match printer.format {
        Format::Json => {
            let tokens: Vec<Value> = reports
                .iter()
                .map(|(t, a)| {
                    let id = t.id();
                    json!({
                        "id": id,
                        "name": t.text(Field::Name),
                        "environment": t.environment(),
                        "isActive": t.is_active(),
                        "refused": a.refused.iter().map(|(o, why)| {
                            let mut v = seen_json(o);
                            v["reason"] = json!(why);
                            v["fix"] = json!(printer.command(&fix_refused(t, &o.origin)));
                            v
                        }).collect::<Vec<_>>(),
                        "admittedByOther": a.other.iter().map(|(o, by)| {
                            let mut v = seen_json(o);
                            v["admittedBy"] = json!(by);
                            v
                        }).collect::<Vec<_>>(),
                        "admitted": a.admitted.iter().map(|(o, entry)| {
                            let mut v = seen_json(o);
                            v["entry"] = json!(entry);
                            v
                        }).collect::<Vec<_>>(),
                        "unseen": a.unseen,
                        "narrower": a.narrower.iter().map(|(entry, sites)| json!({
                            "entry": entry,
                            "seen": sites,
                            "fix": printer.command(&fix_narrower(t, entry, sites)),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            printer.json(&json!({
                "surface": {
                    "id": surface.id(),
                    "productId": surface.product_id(),
                    "productName": surface.product_name(),
                    "name": surface.name(),
                    "status": surface.status(),
                },
                "windowDays": observed.window_days,
                "tokens": tokens,
            }))
        }
        Format::Tsv => {
            let mut rows = Vec::new();
            for (t, a) in reports {
                let id = t.id().to_string();
                let row = |class: &str, origin: &str, detail: String| {
                    vec![id.clone(), class.to_string(), origin.to_string(), detail]
                };
                rows.extend(
                    a.refused
                        .iter()
                        .map(|(o, why)| row("refused", &o.origin, why.clone())),
                );
                rows.extend(
                    a.other.iter().map(|(o, by)| {
                        row("other-token", &o.origin, by.clone().unwrap_or_default())
                    }),
                );
                rows.extend(
                    a.admitted
                        .iter()
                        .map(|(o, e)| row("admitted", &o.origin, e.clone())),
                );
                rows.extend(a.unseen.iter().map(|e| row("unseen", e, String::new())));
                rows.extend(
                    a.narrower
                        .iter()
                        .map(|(e, sites)| row("narrower", e, sites.join(","))),
                );
            }
            printer.table(&["token", "class", "origin", "detail"], &rows, &[])
        }
        _ => {
            let when = |o: &Observed| {
                crate::ops::present::time_cell(ctx, o.last_seen_at.as_deref(), "at an unknown time")
            };
            let mut out = Vec::new();
            for (index, (t, a)) in reports.iter().enumerate() {
                if index > 0 {
                    out.push(String::new());
                }
                out.push(format!(
                    "{} on {}: {} origin{} seen in the last {} days",
                    crate::ops::present::describe(t),
                    surface.label(),
                    observed.origins.len(),
                    if observed.origins.len() == 1 { "" } else { "s" },
                    observed.window_days
                ));
                if !t.is_active() {
                    out.push(
                        "  (the token is inactive: the service refuses it whatever the origin)"
                            .into(),
                    );
                }
                if surface.status() != "active" {
                    out.push(format!(
                        "  (the surface is {}: the service refuses chat there)",
                        surface.status()
                    ));
                }
                if !a.refused.is_empty() {
                    out.push(String::new());
                    out.push(
                        "Refused but seen (a site trying to use the widget and turned away):"
                            .into(),
                    );
                    for (o, why) in &a.refused {
                        out.push(format!("  {}  last seen {}", o.origin, when(o)));
                        out.push(format!("    {why}"));
                        out.push(format!(
                            "    fix: {}",
                            printer.command(&fix_refused(t, &o.origin))
                        ));
                    }
                }
                if !a.other.is_empty() {
                    out.push(String::new());
                    out.push("Admitted by another token of the surface:".into());
                    for (o, by) in &a.other {
                        let by = by.as_deref().map_or(
                            "admitted by another token (the service says)".to_string(),
                            |b| format!("admitted by {b}"),
                        );
                        out.push(format!("  {}  {by}", o.origin));
                    }
                }
                if !a.admitted.is_empty() {
                    out.push(String::new());
                    out.push("Allowed and seen:".into());
                    for (o, entry) in &a.admitted {
                        out.push(format!("  {}  last seen {}  ({entry})", o.origin, when(o)));
                    }
                }
                if !a.unseen.is_empty() {
                    out.push(String::new());
                    out.push(format!(
                        "Allowed but unseen in the last {} days (consider removing; rtctl never removes them):",
                        observed.window_days
                    ));
                    for entry in &a.unseen {
                        let fix = fix_unseen(t, entry);
                        out.push(format!("  {entry}  {}", printer.command(&fix)));
                    }
                }
                if !a.narrower.is_empty() {
                    out.push(String::new());
                    out.push("Wide entries whose real traffic is a few sites:".into());
                    for (entry, sites) in &a.narrower {
                        out.push(format!("  {entry} admitted only {}", sites.join(", ")));
                        out.push(format!(
                            "    narrower: {}",
                            printer.command(&fix_narrower(t, entry, sites))
                        ));
                    }
                }
            }
            for line in out {
                printer.line(&line)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(id: &str, env: &str, origins: &[&str], active: bool) -> ClientToken {
        ClientToken::from_value(json!({"id": id, "environment": env, "allowedOrigins": origins, "isActive": active, "productSurfaceId": "s"})).unwrap()
    }

    fn seen(origins: &[(&str, bool)]) -> ObservedOrigins {
        ObservedOrigins {
            window_days: 7,
            origins: origins
                .iter()
                .map(|(o, allowed)| Observed {
                    origin: o.to_string(),
                    allowed: Some(*allowed),
                    first_seen_at: None,
                    last_seen_at: None,
                })
                .collect(),
        }
    }

    #[test]
    fn each_class_of_origin() {
        let live = token(
            "ct_a",
            "live",
            &[
                "https://www.example.com",
                "https://example.com",
                "https://*.shop.example",
            ],
            true,
        );
        let dev = token("ct_b", "test", &["https://staging.example.com"], true);
        let observed = seen(&[
            ("https://www.example.com", true),
            ("http://www.example.com", false),
            ("http://localhost:3000", true),
            ("https://staging.example.com", true),
            ("https://a.shop.example", true),
            ("native", false),
        ]);
        let a = analyze(&live, &Admitters::of(&[&live, &dev], &observed), &observed);
        let refused: Vec<&str> = a.refused.iter().map(|(o, _)| o.origin.as_str()).collect();
        assert_eq!(refused, ["http://www.example.com", "native"]);
        assert!(a.refused[0].1.contains("http"), "{}", a.refused[0].1);
        let other: Vec<_> = a
            .other
            .iter()
            .map(|(o, by)| (o.origin.as_str(), by.clone()))
            .collect();
        assert_eq!(
            other,
            [
                ("http://localhost:3000", Some("ct_b".to_string())),
                ("https://staging.example.com", Some("ct_b".to_string()))
            ]
        );
        assert_eq!(a.unseen, ["https://example.com"]);
        assert_eq!(
            a.narrower,
            [(
                "https://*.shop.example".to_string(),
                vec!["https://a.shop.example".to_string()]
            )]
        );
        assert_eq!(
            fix_narrower(
                &token("ct_a", "live", &["https://*.shop.example"], true),
                "https://*.shop.example",
                &["https://a.shop.example".into()]
            ),
            "rtctl origins add ct_a https://a.shop.example && rtctl origins remove ct_a 'https://*.shop.example'"
        );
    }

    #[test]
    fn an_inactive_sibling_admits_nothing_and_the_services_word_counts() {
        let live = token("ct_a", "live", &["https://www.example.com"], true);
        let off = token("ct_b", "live", &["https://app.example.com"], false);
        let observed = seen(&[
            ("https://app.example.com", false),
            ("https://b.example.com", true),
        ]);
        let a = analyze(&live, &Admitters::of(&[&live, &off], &observed), &observed);
        assert_eq!(a.refused.len(), 1);
        assert_eq!(a.other[0].1, None, "allowed by a token rtctl cannot see");
    }
}
