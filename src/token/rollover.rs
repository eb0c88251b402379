//! Where tokens stand in the account's rollovers, judged from the marks in their names
//! ([`super::marks`]) and never from a clock but the command's one "now" (the server's).
//!
//! A mark is a claim anyone could write, so what it claims is checked before rtctl acts on
//! it: a retiring token's rollover is only finished when following its chain of marks reaches
//! a token that exists, is not retiring, is not where the chain started, and belongs to the
//! same environment and product surface ([`follow`]).

use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::Timestamp;

use super::marks::{self, Pending, Retiring, Successor};
use super::{Field, TokenView};

/// What a token's own name says about its part in a rollover.
pub(crate) trait RolloverView: TokenView {
    /// Being rolled over by a run that has not finished (the old token keeps working).
    fn pending(&self) -> Option<Pending> {
        marks::parse_pending(self.name())
    }

    /// Made by a rollover whose value is not delivered yet.
    fn successor_tag(&self) -> Option<Successor> {
        marks::parse_successor(self.name())
    }

    /// The name without any rollover mark: what a token file names it by.
    fn base_name(&self) -> String {
        let name = self.name();
        if let Some(mark) = self.retiring() {
            return mark.base;
        }
        if let Some(mark) = self.pending() {
            return mark.base;
        }
        if let Some(tag) = self.successor_tag() {
            return tag.base;
        }
        name.to_string()
    }
}

impl<T: TokenView + ?Sized> RolloverView for T {}

/// The successors that retiring tokens name, with their predecessor and deadline: what makes
/// a token "rolling over". Built in one pass over the account (a page at a time, so a list
/// need keep nothing else), asked in constant time.
#[derive(Debug, Default)]
pub(crate) struct Successors {
    named: HashMap<String, (String, Timestamp)>,
}

impl Successors {
    pub(crate) fn of<'a, T: TokenView + 'a>(tokens: impl IntoIterator<Item = &'a T>) -> Successors {
        let mut successors = Successors::default();
        for token in tokens {
            successors.note(token);
        }
        successors
    }

    /// Takes in one token of the account.
    pub(crate) fn note(&mut self, token: &(impl TokenView + ?Sized)) {
        if let Some(Retiring {
            after, successor, ..
        }) = token.retiring()
        {
            let entry = self
                .named
                .entry(successor)
                .or_insert_with(|| (token.id().to_string(), after));
            // Named by two retiring tokens: the later deadline holds.
            if after > entry.1 {
                *entry = (token.id().to_string(), after);
            }
        }
    }

    /// When `id` is the successor of a retiring token whose deadline has not passed at
    /// `now`: that token's id and its deadline.
    pub(crate) fn rolling_over(&self, id: &str, now: Timestamp) -> Option<(&str, Timestamp)> {
        self.named
            .get(id)
            .filter(|(_, after)| now < *after)
            .map(|(predecessor, after)| (predecessor.as_str(), *after))
    }
}

/// Why a chain of marks leads nowhere rtctl may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Break {
    /// A token the chain names does not exist.
    Missing,
    /// The chain comes back to a token it already passed.
    Cycle,
    /// The chain ends at a token of another environment or product surface.
    Elsewhere,
}

/// A chain of marks that does not reach a token in use: the ids it passed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokenChain {
    pub chain: Vec<String>,
    pub why: Break,
}

impl fmt::Display for BrokenChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain = self.chain.join(" → ");
        match self.why {
            Break::Missing => write!(
                f,
                "its chain of marks {chain} names a token that does not exist"
            ),
            Break::Cycle => write!(f, "its chain of marks {chain} comes back on itself"),
            Break::Elsewhere => write!(
                f,
                "its chain of marks {chain} ends at a token of another environment or product surface"
            ),
        }
    }
}

/// Follows `start`'s retiring marks through every retiring successor to the token now in
/// use: one that exists, is not retiring, is not `start`, and has `start`'s environment and
/// product surface (later edits to other fields do not matter). `lookup` finds a token by id.
/// `start` must be retiring.
pub(crate) fn follow<'a, T: TokenView + 'a>(
    start: &'a T,
    lookup: impl Fn(&str) -> Option<&'a T>,
) -> Result<&'a T, BrokenChain> {
    let mut chain = vec![start.id().to_string()];
    let mut seen: HashSet<String> = HashSet::from([start.id().to_string()]);
    let mut current = start;
    while let Some(mark) = current.retiring() {
        let next_id = mark.successor;
        chain.push(next_id.clone());
        if !seen.insert(next_id.clone()) {
            return Err(BrokenChain {
                chain,
                why: Break::Cycle,
            });
        }
        current = lookup(&next_id).ok_or_else(|| BrokenChain {
            chain: chain.clone(),
            why: Break::Missing,
        })?;
    }
    let same = |field: Field| current.text(field) == start.text(field);
    if current.id() == start.id() || !same(Field::Environment) || !same(Field::ProductSurfaceId) {
        return Err(BrokenChain {
            chain,
            why: Break::Elsewhere,
        });
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    fn token(id: &str, name: &str) -> Map<String, Value> {
        json!({"id": id, "name": name, "environment": "live", "productSurfaceId": null})
            .as_object()
            .unwrap()
            .clone()
    }

    fn retiring(id: &str, to: &str) -> Map<String, Value> {
        token(
            id,
            &marks::mark("W", "2026-06-09T12:00:00Z".parse().unwrap(), to),
        )
    }

    fn ends(tokens: &[Map<String, Value>], start: &str) -> Result<String, BrokenChain> {
        let by_id: HashMap<&str, &Map<String, Value>> =
            tokens.iter().map(|t| (t.id(), t)).collect();
        follow(by_id[start], |id| by_id.get(id).copied()).map(|t| t.id().to_string())
    }

    #[test]
    fn a_chain_ends_at_the_token_in_use() {
        let tokens = [
            retiring("ct_a", "ct_b"),
            retiring("ct_b", "ct_c"),
            token("ct_c", "W"),
        ];
        assert_eq!(ends(&tokens, "ct_a").unwrap(), "ct_c");
        assert_eq!(ends(&tokens, "ct_b").unwrap(), "ct_c");
    }

    #[test]
    fn broken_chains_are_refused_naming_them() {
        let own = [retiring("ct_a", "ct_a")];
        let e = ends(&own, "ct_a").unwrap_err();
        assert_eq!(
            (e.why, e.chain.join(" ")),
            (Break::Cycle, "ct_a ct_a".into())
        );

        let pair = [retiring("ct_a", "ct_b"), retiring("ct_b", "ct_a")];
        let e = ends(&pair, "ct_a").unwrap_err();
        assert_eq!(e.why, Break::Cycle);
        assert_eq!(
            e.to_string(),
            "its chain of marks ct_a → ct_b → ct_a comes back on itself"
        );

        let gone = [retiring("ct_a", "ct_b")];
        assert_eq!(ends(&gone, "ct_a").unwrap_err().why, Break::Missing);

        let mut test_token = token("ct_b", "W");
        test_token.insert("environment".into(), json!("test"));
        let elsewhere = [retiring("ct_a", "ct_b"), test_token];
        assert_eq!(ends(&elsewhere, "ct_a").unwrap_err().why, Break::Elsewhere);

        let mut surfaced = token("ct_b", "W");
        surfaced.insert("productSurfaceId".into(), json!("srf_1"));
        let elsewhere = [retiring("ct_a", "ct_b"), surfaced];
        assert_eq!(ends(&elsewhere, "ct_a").unwrap_err().why, Break::Elsewhere);
    }

    #[test]
    fn rolling_over_lasts_until_the_predecessors_deadline() {
        let tokens = [retiring("ct_a", "ct_b"), token("ct_b", "W")];
        let successors = Successors::of(tokens.iter());
        let before: Timestamp = "2026-06-09T11:59:59Z".parse().unwrap();
        let after: Timestamp = "2026-06-09T12:00:00Z".parse().unwrap();
        assert_eq!(
            successors.rolling_over("ct_b", before).map(|(p, _)| p),
            Some("ct_a")
        );
        assert_eq!(successors.rolling_over("ct_b", after), None);
        assert_eq!(successors.rolling_over("ct_a", before), None);
    }

    #[test]
    fn judging_a_large_account_takes_one_pass() {
        // 100,000 tokens, every other one retiring in favour of the next: a pass over pairs
        // (10^10 comparisons) could not finish inside this test's bound; one pass takes
        // milliseconds.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let tokens: Vec<Map<String, Value>> = (0..100_000)
                .map(|i| {
                    let id = format!("ct_{i:016x}");
                    if i % 2 == 0 {
                        retiring(&id, &format!("ct_{:016x}", i + 1))
                    } else {
                        token(&id, "W")
                    }
                })
                .collect();
            let successors = Successors::of(tokens.iter());
            let before: Timestamp = "2026-06-09T11:00:00Z".parse().unwrap();
            let rolling = tokens
                .iter()
                .filter(|t| successors.rolling_over(t.id(), before).is_some())
                .count();
            let by_id: HashMap<&str, &Map<String, Value>> =
                tokens.iter().map(|t| (t.id(), t)).collect();
            let chains = tokens
                .iter()
                .filter(|t| t.retiring().is_some())
                .filter(|t| follow(*t, |id| by_id.get(id).copied()).is_ok())
                .count();
            let _ = tx.send((rolling, chains));
        });
        let (rolling, chains) = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("one pass over 100,000 tokens");
        assert_eq!((rolling, chains), (50_000, 50_000));
    }

    #[test]
    fn base_names_drop_any_mark() {
        let run = marks::new_run();
        for name in [
            marks::pending("W", &run),
            marks::successor("W", "ct_a", &run),
            marks::mark("W", "2026-06-09T12:00:00Z".parse().unwrap(), "ct_b"),
            "W".to_string(),
        ] {
            assert_eq!(token("ct_x", &name).base_name(), "W", "{name}");
        }
    }
}
