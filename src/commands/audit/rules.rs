//! The audit's rules: what Runtype's own guide says about client tokens (`*` is for testing
//! only, never production; www against the bare domain is the commonest failure; test and
//! production keep separate lists), and what keeps credentials healthy (nothing dormant,
//! nothing kept that is not needed). Each rule is a pure function of a token (and, for a few,
//! the whole account) with a stable id, a severity, one sentence and the command that fixes it.

use std::time::Duration;

use jiff::Timestamp;

use crate::api::ClientToken;
use crate::origin::{AllowedOrigin, Origin};
use crate::token::{Field, TokenView};

/// How serious a finding is. Ordered: `Note < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A rule: its stable id, severity, and what it checks, in one line (the book's table on the
/// audit page, kept equal to this by a test, and SARIF's rule descriptions).
pub(crate) struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

/// Every rule, in the order reports list them.
pub(crate) const RULES: &[Rule] = &[
    Rule {
        id: "live-any-origin",
        severity: Severity::Error,
        summary: "A live token admits any origin (*).",
    },
    Rule {
        id: "public-suffix-wildcard",
        severity: Severity::Error,
        summary: "A wildcard over a public suffix admits every site under it.",
    },
    Rule {
        id: "ipv4-spelling",
        severity: Severity::Warning,
        summary: "An origin's host is an IPv4 address written another way (0x7f.1, 127.1), which browsers rewrite: it never matches.",
    },
    Rule {
        id: "live-native",
        severity: Severity::Warning,
        summary: "A live token admits requests without an Origin header (native).",
    },
    Rule {
        id: "live-insecure-origin",
        severity: Severity::Warning,
        summary: "A live token admits plain http (other than localhost), or localhost.",
    },
    Rule {
        id: "legacy-bare-host",
        severity: Severity::Warning,
        summary: "A legacy bare-host entry admits both http and https.",
    },
    Rule {
        id: "live-agent-unpinned",
        severity: Severity::Warning,
        summary: "A live token runs agents without a release target or a published pin: an agent edit reaches the live widget at once.",
    },
    Rule {
        id: "dormant",
        severity: Severity::Warning,
        summary: "An active token has not been used for longer than the dormancy period.",
    },
    Rule {
        id: "duplicate-name",
        severity: Severity::Warning,
        summary: "Several tokens share a name, which token files cannot manage.",
    },
    Rule {
        id: "retiring-overdue",
        severity: Severity::Warning,
        summary: "A token rolled over with --overlap is past its deadline and not yet retired.",
    },
    Rule {
        id: "refused-origin-seen",
        severity: Severity::Warning,
        summary: "A site called the token's surface and was refused: a broken embed.",
    },
    Rule {
        id: "surface-not-active",
        severity: Severity::Warning,
        summary: "The token belongs to a surface that is not active, so its widget is refused.",
    },
    Rule {
        id: "live-wildcard",
        severity: Severity::Note,
        summary: "A live token admits a wildcard of subdomains.",
    },
    Rule {
        id: "www-apex-mismatch",
        severity: Severity::Note,
        summary: "A www host is admitted without its apex, or the apex without www.",
    },
    Rule {
        id: "live-default-limits",
        severity: Severity::Note,
        summary: "A live token's rate limits are unset or at the service's defaults.",
    },
    Rule {
        id: "inactive-kept",
        severity: Severity::Note,
        summary: "An inactive token has been kept for longer than the dormancy period.",
    },
    Rule {
        id: "origin-unseen",
        severity: Severity::Note,
        summary: "An allowed origin admitted nothing in the service's window (consider removing it).",
    },
    Rule {
        id: "legacy-value",
        severity: Severity::Note,
        summary: "A legacy token's value is not stored, so it cannot be read back.",
    },
];

pub(crate) fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// One thing wrong with one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub id: String,
    pub name: String,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The command that fixes it.
    pub fix: String,
}

/// What the rules need besides the token.
pub(crate) struct Context<'a> {
    pub now: Timestamp,
    pub dormant: Duration,
    /// How many tokens of the account hold each name (for names shared).
    pub names: &'a std::collections::HashMap<String, usize>,
    /// The surfaces and their observed origins, when the account's could be read.
    pub traffic: Option<&'a Traffic>,
    /// The origins a token's latest conversations came from, by token id (live tokens with a
    /// wildcard only: see [`is_live_wildcard`]).
    pub conversations: &'a std::collections::HashMap<String, Vec<String>>,
}

/// Whether `entry` is a wildcard the `live-wildcard` rule judges (on a live token): of the
/// subdomains of a domain, neither of a public suffix (an error of its own) nor of an address
/// (which has none).
pub(crate) fn is_live_wildcard(entry: &str) -> bool {
    let base = match AllowedOrigin::parse(entry) {
        Ok(AllowedOrigin::Wildcard { base, .. }) => base,
        Ok(AllowedOrigin::BareHost {
            host,
            wildcard: true,
            ..
        }) => host,
        _ => return false,
    };
    crate::origin::public_suffix(&base).is_none() && !crate::origin::is_address(&base)
}

/// The sites among `origins` (a token's conversations') that `entry` admits and no other
/// entry of `list` does: what a narrower list must name in its place.
fn served_by(entry: &str, list: &[String], origins: &[String]) -> Vec<String> {
    let admits =
        |entry: &str, origin: &Origin| AllowedOrigin::parse(entry).is_ok_and(|e| e.admits(origin));
    origins
        .iter()
        .filter(|site| {
            Origin::parse(site).is_ok_and(|origin| {
                admits(entry, &origin)
                    && !list
                        .iter()
                        .any(|other| other != entry && admits(other, &origin))
            })
        })
        .cloned()
        .collect()
}

/// What the traffic rules need: each surface, the origins seen calling it, and which of its
/// tokens admit each (worked out once a surface, not once a token).
#[derive(Default)]
pub(crate) struct Traffic {
    pub surfaces: std::collections::HashMap<String, crate::api::surfaces::Surface>,
    pub observed: std::collections::HashMap<String, crate::api::surfaces::ObservedOrigins>,
    pub admitters: std::collections::HashMap<String, crate::ops::traffic::Admitters>,
}

/// How many tokens hold each name.
pub(crate) fn name_counts(all: &[ClientToken]) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for token in all {
        *counts.entry(token.name().to_string()).or_insert(0) += 1;
    }
    counts
}

/// The service's defaults for a create that leaves the limits out.
const DEFAULT_PER_MINUTE: u64 = 10;
const DEFAULT_PER_HOUR: u64 = 100;

/// Every finding for `token`, in rule order.
pub(crate) fn check(token: &ClientToken, ctx: &Context<'_>) -> Vec<Finding> {
    let mut found = Vec::new();
    let id = token.id();
    let live = token.environment() == "live";
    let entries: Vec<(String, Option<AllowedOrigin>)> = token
        .origins()
        .iter()
        .map(|e| (e.to_string(), AllowedOrigin::parse(e).ok()))
        .collect();
    let mut add = |rule_id: &'static str, message: String, fix: String| {
        let rule = rule(rule_id).expect("every rule id is in RULES");
        found.push(Finding {
            rule: rule_id,
            severity: rule.severity,
            id: id.to_string(),
            name: token.name().to_string(),
            message,
            fix,
        });
    };
    let quoted = |entry: &str| format!("'{entry}'");
    let list: Vec<String> = entries.iter().map(|(text, _)| text.clone()).collect();
    // A fix that edits the list: the usual `origins` commands, or where the list holds an
    // entry the service refuses to keep, the one whole-list update that goes through.
    let edit = |add: &[String], remove: &[&str], usual: String| {
        let remove: Vec<String> = remove.iter().map(|r| r.to_string()).collect();
        crate::ops::origins::whole_list_edit(id, &list, add, &remove).unwrap_or(usual)
    };
    // The token's surface, and what its observed origins make of the token's list.
    let surface = token
        .text(Field::ProductSurfaceId)
        .zip(ctx.traffic)
        .and_then(|(id, t)| t.surfaces.get(id).map(|s| (s, t)));
    let analysis = surface.and_then(|(surface, traffic)| {
        let observed = traffic
            .observed
            .get(surface.id())
            .filter(|_| token.is_active())?;
        let admitters = traffic.admitters.get(surface.id())?;
        let analysis = crate::ops::traffic::analyze(token, admitters, observed);
        Some((observed, analysis))
    });

    for (entry, parsed) in &entries {
        match parsed {
            Some(AllowedOrigin::Any) if live => add(
                "live-any-origin",
                "admits any origin (*): any website can use this live token and its quota".into(),
                format!("rtctl origins add {id} https://YOUR-SITE && rtctl origins remove {id} '*'"),
            ),
            Some(AllowedOrigin::Native) if live => add(
                "live-native",
                "admits native (requests without an Origin header): effectively no origin protection".into(),
                format!("{} (give a mobile app a token of its own)", edit(&[], &["native"], format!("rtctl origins remove {id} native"))),
            ),
            Some(origin) => {
                if let Some(address) = origin.ipv4_spelling() {
                    let spelt = origin.browser_spelling().to_string();
                    let message = match origin.as_kept() {
                        Some(_) => format!("{entry} names the IPv4 address {address} written another way: browsers send {spelt}, so it never matches"),
                        None => format!("{entry} is a wildcard over the IPv4 address {address} written another way: an address has no subdomains, so it never matches"),
                    };
                    add(
                        "ipv4-spelling",
                        message,
                        // One update with the whole list: the service refuses a list that
                        // still holds the entry, so adding first and removing after fails.
                        crate::ops::origins::whole_list_edit(id, &list, &[], &[]).unwrap_or_default(),
                    );
                }
                if let Some(suffix) = origin.wildcard_public_suffix() {
                    add(
                        "public-suffix-wildcard",
                        format!("{entry} is a wildcard over the public suffix {suffix}: it admits every site there"),
                        edit(&[], &[entry], format!("rtctl origins remove {id} {}", quoted(entry))),
                    );
                } else if live && is_live_wildcard(entry) {
                    // The token's own sites: those its surface's traffic shows it admitted,
                    // else those its latest conversations came from.
                    let seen = analysis.as_ref().and_then(|(_, a)| {
                        a.narrower.iter().find(|(wide, _)| wide == entry).map(|(_, sites)| sites.clone())
                    });
                    let conversed = || {
                        let origins = ctx.conversations.get(id)?;
                        Some(served_by(entry, &list, origins)).filter(|sites| !sites.is_empty())
                    };
                    let fix = match (seen, conversed()) {
                        (Some(sites), _) => format!(
                            "list the sites that use it instead: {}",
                            crate::ops::traffic::fix_narrower(token, entry, &sites)
                        ),
                        (None, Some(sites)) => format!(
                            "list the sites its latest conversations came from instead: {}",
                            crate::ops::traffic::fix_narrower(token, entry, &sites)
                        ),
                        (None, None) => unknown_sites(id, entry),
                    };
                    add(
                        "live-wildcard",
                        format!("{entry} admits every subdomain, including ones not yet made"),
                        fix,
                    );
                }
                if let AllowedOrigin::BareHost { .. } = origin {
                    // The https entry it stands for, as browsers spell its host (nothing, for
                    // a wildcard over an address).
                    let https: Vec<String> = match origin.as_kept() {
                        Some(AllowedOrigin::BareHost { host, wildcard, port }) => {
                            let star = if wildcard { "*." } else { "" };
                            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                            vec![format!("https://{star}{host}{port}")]
                        }
                        _ => Vec::new(),
                    };
                    let usual = match https.first() {
                        Some(https) => format!("rtctl origins add {id} {} && rtctl origins remove {id} {}", quoted(https), quoted(entry)),
                        None => format!("rtctl origins remove {id} {}", quoted(entry)),
                    };
                    add(
                        "legacy-bare-host",
                        format!("{entry} is a legacy bare host: it admits http as well as https"),
                        edit(&https, &[entry], usual),
                    );
                }
                if live && insecure(origin) {
                    add(
                        "live-insecure-origin",
                        format!("{entry} on a live token: plain http or a local development server"),
                        format!("{} (keep local servers on a test token)", edit(&[], &[entry], format!("rtctl origins remove {id} {}", quoted(entry)))),
                    );
                }
            }
            None => {}
        }
    }
    www_apex(id, &entries, &edit, &mut add);

    if live {
        let agents = !token.strings(Field::AgentIds).is_empty();
        let targeted = token.field(Field::TargetAlias).is_some()
            || token.field(Field::TargetVersionId).is_some();
        if agents && !targeted && token.text(Field::PinToVersion) != Some("published") {
            add(
                "live-agent-unpinned",
                "runs agents with no release target and no published pin: an edit to an agent reaches this live widget at once".into(),
                format!("rtctl tokens update {id} --pin-to-version published (or --target-alias production)"),
            );
        }
        let per_minute = token.count(Field::RateLimitPerMinute);
        let per_hour = token.count(Field::RateLimitPerHour);
        if per_minute.is_none_or(|n| n == DEFAULT_PER_MINUTE)
            && per_hour.is_none_or(|n| n == DEFAULT_PER_HOUR)
        {
            add(
                "live-default-limits",
                "its rate limits are unset or at the service's defaults (10 a minute, 100 an hour): sized for nobody's traffic in particular".into(),
                format!("rtctl tokens update {id} --rate-limit-per-minute N --rate-limit-per-hour N"),
            );
        }
    }

    let dormant = jiff::SignedDuration::try_from(ctx.dormant).unwrap_or(jiff::SignedDuration::MAX);
    let older = |at: Option<&str>| {
        at.and_then(|t| t.parse::<Timestamp>().ok())
            .is_some_and(|t| ctx.now.duration_since(t) > dormant)
    };
    let days = ctx.dormant.as_secs() / 86_400;
    let retiring = token.retiring();
    if token.is_active() && retiring.is_none() {
        let last = token
            .text(Field::LastUsedAt)
            .or(token.text(Field::CreatedAt));
        if older(last) {
            let what = if token.text(Field::LastUsedAt).is_some() {
                "not used"
            } else {
                "never used, and created"
            };
            add(
                "dormant",
                format!("{what} for more than {days} days"),
                format!("rtctl tokens update {id} --deactivate (or rtctl tokens delete {id})"),
            );
        }
    } else if !token.is_active() {
        let since = token
            .text(Field::UpdatedAt)
            .or(token.text(Field::CreatedAt));
        if older(since) {
            add(
                "inactive-kept",
                format!("inactive, and unchanged for more than {days} days"),
                format!("rtctl tokens delete {id}"),
            );
        }
    }
    if token.raw.contains_key(Field::TokenValue.json()) && token.field(Field::TokenValue).is_none()
    {
        add(
            "legacy-value",
            "a legacy token: its value is not stored, so it cannot be read back when a site needs it".into(),
            format!("rtctl tokens rotate {id} --overlap (a successor with a readable value)"),
        );
    }
    let name = token.name();
    if !name.is_empty() && ctx.names.get(name).is_some_and(|n| *n > 1) {
        add(
            "duplicate-name",
            format!(
                "its name \"{name}\" is shared with another token, so no token file can manage either"
            ),
            format!("rtctl tokens update {id} --name NEW-NAME"),
        );
    }
    if let Some((surface, _)) = surface {
        if surface.status() != "active" {
            add(
                "surface-not-active",
                format!(
                    "belongs to {}, which is {}: the service refuses its widget there",
                    surface.label(),
                    surface.status()
                ),
                "activate the surface in the dashboard, or make a token for an active one: rtctl tokens create --surface SURFACE …".into(),
            );
        }
        if let Some((observed, analysis)) = &analysis {
            for (seen, why) in &analysis.refused {
                add(
                    "refused-origin-seen",
                    format!(
                        "{} called {} in the last {} days and was refused: {why}",
                        seen.origin,
                        surface.label(),
                        observed.window_days
                    ),
                    crate::ops::traffic::fix_refused(token, &seen.origin),
                );
            }
            for entry in &analysis.unseen {
                add(
                    "origin-unseen",
                    format!(
                        "{entry} admitted nothing on {} in the last {} days",
                        surface.label(),
                        observed.window_days
                    ),
                    format!(
                        "{} (if no site needs it)",
                        edit(
                            &[],
                            &[entry],
                            format!("rtctl origins remove {id} {}", quoted(entry))
                        )
                    ),
                );
            }
        }
    }
    if let Some(mark) = retiring
        && ctx.now >= mark.after
    {
        add(
            "retiring-overdue",
            format!(
                "rolled over to {} and past its deadline ({}), yet still here",
                mark.successor,
                crate::token::marks::minute(mark.after)
            ),
            format!("rtctl tokens retire {id}"),
        );
    }
    found
}

/// The fix for a live wildcard when neither traffic nor conversations show which sites use
/// it: said so, with no
/// command that could be run as it stands (a placeholder run literally would add a junk
/// origin).
fn unknown_sites(id: &str, entry: &str) -> String {
    format!(
        "no traffic or conversation shows which sites use it: find them in your deployments, add each with rtctl origins add {id}, then remove '{entry}' with rtctl origins remove"
    )
}

/// Plain http to a real host, or a local server, as a live origin.
fn insecure(origin: &AllowedOrigin) -> bool {
    let local = |host: &str| host == "localhost" || host == "127.0.0.1" || host == "[::1]";
    match origin {
        AllowedOrigin::Exact(o) => o.scheme == "http" || local(&o.host),
        AllowedOrigin::Wildcard { scheme, .. } => scheme == "http",
        AllowedOrigin::BareHost { host, .. } => local(host),
        _ => false,
    }
}

/// A www host admitted without its apex, or an apex (a registrable domain) without www. An
/// IP address, in any spelling, has neither.
fn www_apex(
    id: &str,
    entries: &[(String, Option<AllowedOrigin>)],
    edit: &impl Fn(&[String], &[&str], String) -> String,
    add: &mut impl FnMut(&'static str, String, String),
) {
    let admitted = |origin: &Origin| {
        entries
            .iter()
            .any(|(_, e)| e.as_ref().is_some_and(|e| e.admits(origin)))
    };
    for (entry, parsed) in entries {
        let Some(AllowedOrigin::Exact(origin)) = parsed else {
            continue;
        };
        if crate::origin::is_address(&origin.host) {
            continue;
        }
        let (other, which) = match origin.host.strip_prefix("www.") {
            Some(apex) => (apex.to_string(), "its apex"),
            None if psl::domain_str(&origin.host) == Some(origin.host.as_str()) => {
                (format!("www.{}", origin.host), "its www host")
            }
            None => continue,
        };
        let twin = Origin {
            host: other,
            ..origin.clone()
        };
        if !admitted(&twin) {
            add(
                "www-apex-mismatch",
                format!(
                    "{entry} is admitted but {which} {twin} is not: a visitor typing the other address sees a widget that does not respond"
                ),
                edit(
                    std::slice::from_ref(&twin.to_string()),
                    &[],
                    format!("rtctl origins add {id} {twin}"),
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The audit page's table of rules is this list, never written twice: a rule added,
    /// renamed or reworded here fails until the page says the same (the message holds the
    /// table to paste).
    #[test]
    fn the_books_table_of_rules_is_the_list_of_rules() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/audit.md");
        let page = std::fs::read_to_string(path).unwrap();
        let table: String =
            std::iter::once("| rule | severity | what it finds |\n|---|---|---|\n".to_string())
                .chain(
                    RULES.iter().map(|r| {
                        format!("| `{}` | {} | {} |\n", r.id, r.severity.as_str(), r.summary)
                    }),
                )
                .collect();
        assert!(
            page.contains(&table),
            "docs/src/audit.md's table of rules differs from RULES; it should read:\n\n{table}"
        );
    }
}
