//! A token's allowlist against the origins that really called its surface: which sites it
//! turns away (and the `origins add` that fixes it), which entries nothing used, and which
//! wide entries serve only a few sites. `origins traffic` shows it; `audit` draws its traffic
//! rules from it.

use crate::api::ClientToken;
use crate::api::surfaces::{Observed, ObservedOrigins};
use crate::ops::origins::whole_list_edit;
use crate::origin::{self, AllowedOrigin, Origin};
use crate::token::TokenView;

/// A wide entry whose traffic is at most this many sites gets the narrower list.
pub(crate) const NARROW_AT_MOST: usize = 5;

/// What one token's list makes of its surface's traffic.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// Seen, admitted by no token of the surface: a site being turned away, and why.
    pub refused: Vec<(Observed, String)>,
    /// Seen, refused by this token, admitted by another of the surface (its id, or `None`
    /// when only the service's verdict says so).
    pub other: Vec<(Observed, Option<String>)>,
    /// Seen and admitted by this token: the entry that admits it.
    pub admitted: Vec<(Observed, String)>,
    /// Entries that admitted nothing seen in the window.
    pub unseen: Vec<String>,
    /// Wide entries (`*`, wildcards) and the few concrete sites they really admitted.
    pub narrower: Vec<(String, Vec<String>)>,
}

/// Whether `entry` admits the observed origin (`native`: a request without an Origin).
fn entry_admits(entry: &str, observed: &str) -> bool {
    let Ok(entry) = AllowedOrigin::parse(entry) else {
        return false;
    };
    match (observed, &entry) {
        ("native", AllowedOrigin::Native) => true,
        ("native", _) => false,
        (origin, entry) => Origin::parse(origin).is_ok_and(|o| entry.admits(&o)),
    }
}

/// Whether `token` admits the observed origin, and by which entry (its text).
fn admitted_by(token: &ClientToken, observed: &str) -> Option<String> {
    let list: Vec<String> = token.origins().iter().map(|o| o.to_string()).collect();
    let header = (observed != "native").then_some(observed);
    match origin::admit(&list, header, token.environment())? {
        origin::Admission::Entry(i) => Some(list[i].clone()),
        origin::Admission::TestLocalhost => Some("test tokens admit localhost".into()),
    }
}

/// Which of a surface's tokens admit each observed origin: the first two active ones, in the
/// surface's order, which is enough to name one other than any token judged. Worked out
/// once a surface, so judging each of its tokens costs its observed origins, not another
/// pass over the surface's tokens (20,000 tokens on one surface would make that minutes).
pub(crate) struct Admitters {
    /// By the observed origin's place in the list.
    by_origin: Vec<Vec<String>>,
}

impl Admitters {
    /// The admitters of each of `observed`'s origins among `siblings`, the surface's tokens
    /// (only active ones admit).
    pub(crate) fn of(siblings: &[&ClientToken], observed: &ObservedOrigins) -> Admitters {
        let active: Vec<(&str, Vec<String>, &str)> = siblings
            .iter()
            .filter(|s| s.is_active())
            .map(|s| {
                let list = s.origins().iter().map(|o| o.to_string()).collect();
                (s.id(), list, s.environment())
            })
            .collect();
        let by_origin = observed
            .origins
            .iter()
            .map(|seen| {
                let header = (seen.origin != "native").then_some(seen.origin.as_str());
                active
                    .iter()
                    .filter(|(_, list, environment)| {
                        origin::admit(list, header, environment).is_some()
                    })
                    .take(2)
                    .map(|(id, _, _)| id.to_string())
                    .collect()
            })
            .collect();
        Admitters { by_origin }
    }

    /// A token other than `id` that admits the observed origin at `index`.
    fn other_than(&self, index: usize, id: &str) -> Option<&str> {
        self.by_origin
            .get(index)?
            .iter()
            .map(String::as_str)
            .find(|other| *other != id)
    }
}

/// Judges each observed origin against `token`'s own list; `admitters` says which of the
/// surface's other tokens admit each (see [`Admitters`]).
pub(crate) fn analyze(
    token: &ClientToken,
    admitters: &Admitters,
    observed: &ObservedOrigins,
) -> Analysis {
    let mut analysis = Analysis::default();
    let list: Vec<String> = token.origins().iter().map(|o| o.to_string()).collect();
    for (index, seen) in observed.origins.iter().enumerate() {
        if let Some(entry) = admitted_by(token, &seen.origin) {
            analysis.admitted.push((seen.clone(), entry));
            continue;
        }
        let other = admitters.other_than(index, token.id());
        match (other, seen.allowed) {
            (Some(other), _) => analysis.other.push((seen.clone(), Some(other.to_string()))),
            (None, Some(true)) => analysis.other.push((seen.clone(), None)),
            (None, _) => {
                let reason = match Origin::parse(&seen.origin) {
                    _ if seen.origin == "native" => {
                        "a request without an Origin header, and only a 'native' entry admits those"
                            .to_string()
                    }
                    Ok(o) => {
                        origin::nearest_miss(&list, &o, token.environment()).unwrap_or_else(|| {
                            match list.is_empty() {
                                true => "the token allows no origins".to_string(),
                                false => format!("no entry is close ({})", list.join(", ")),
                            }
                        })
                    }
                    Err(_) => "not an origin the service's check can admit".to_string(),
                };
                analysis.refused.push((seen.clone(), reason));
            }
        }
    }
    for entry in &list {
        let used: Vec<&Observed> = analysis
            .admitted
            .iter()
            .map(|(o, _)| o)
            .filter(|o| entry_admits(entry, &o.origin))
            .collect();
        if used.is_empty() {
            analysis.unseen.push(entry.clone());
            continue;
        }
        let wide = matches!(
            AllowedOrigin::parse(entry),
            Ok(AllowedOrigin::Any
                | AllowedOrigin::Wildcard { .. }
                | AllowedOrigin::BareHost { wildcard: true, .. })
        );
        // Sites another entry names already are not what the wide entry is for.
        let concrete: Vec<String> = used
            .iter()
            .filter(|o| o.origin != "native")
            .filter(|o| {
                !list
                    .iter()
                    .any(|other| other != entry && entry_admits(other, &o.origin))
            })
            .map(|o| o.origin.clone())
            .collect();
        if wide && !concrete.is_empty() && concrete.len() <= NARROW_AT_MOST {
            analysis.narrower.push((entry.clone(), concrete));
        }
    }
    analysis
}

/// The token's origins, as the fixes below edit them.
fn list_of(token: &ClientToken) -> Vec<String> {
    token.origins().iter().map(|o| o.to_string()).collect()
}

/// The command that admits a refused origin.
pub(crate) fn fix_refused(token: &ClientToken, origin: &str) -> String {
    let id = token.id();
    whole_list_edit(id, &list_of(token), &[origin.to_string()], &[]).unwrap_or_else(|| {
        format!(
            "rtctl origins add {id} {}",
            crate::untrusted::shell_word(origin)
        )
    })
}

/// The commands that swap a wide entry for the sites it really serves.
pub(crate) fn fix_narrower(token: &ClientToken, entry: &str, sites: &[String]) -> String {
    let id = token.id();
    whole_list_edit(id, &list_of(token), sites, &[entry.to_string()]).unwrap_or_else(|| {
        let sites: Vec<String> = sites
            .iter()
            .map(|s| crate::untrusted::shell_word(s))
            .collect();
        format!(
            "rtctl origins add {id} {} && rtctl origins remove {id} {}",
            sites.join(" "),
            crate::untrusted::shell_word(entry)
        )
    })
}

/// The command that removes an entry nothing used.
pub(crate) fn fix_unseen(token: &ClientToken, entry: &str) -> String {
    let id = token.id();
    whole_list_edit(id, &list_of(token), &[], &[entry.to_string()]).unwrap_or_else(|| {
        format!(
            "rtctl origins remove {id} {}",
            crate::untrusted::shell_word(entry)
        )
    })
}
