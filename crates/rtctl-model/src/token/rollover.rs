//! Where tokens stand in the account's rollovers, judged from the marks in their names
//! ([`super::marks`]) and never from a clock but the command's one "now" (the server's).
//!
//! A mark is a claim anyone could write, so what it claims is checked before rtctl acts on
//! it: a retiring token's rollover is only finished when following its chain of marks reaches
//! a token that exists, is not retiring, is not where the chain started, and belongs to the
//! same environment and product surface ([`Chains::follow`]).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::Timestamp;

use super::marks::{self, Pending, Retiring, Successor};
use super::{Field, TokenView};

/// What a token's own name says about its part in a rollover.
pub trait RolloverView: TokenView {
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
/// a token "rolling over"; and the successors whose rollover is not finished (still tagged).
/// Built in one pass over the account (a page at a time, so a list need keep nothing else),
/// asked in constant time.
#[derive(Debug, Default)]
pub struct Successors {
    /// Successor id → the predecessor's id, deadline, environment and product surface.
    named: HashMap<String, Predecessor>,
    /// Ids of tokens that carry a successor tag.
    tagged: HashSet<String>,
}

#[derive(Debug)]
struct Predecessor {
    id: String,
    after: Timestamp,
    environment: Option<String>,
    surface: Option<String>,
}

impl Successors {
    pub fn of<'a, T: TokenView + 'a>(tokens: impl IntoIterator<Item = &'a T>) -> Successors {
        let mut successors = Successors::default();
        for token in tokens {
            successors.note(token);
        }
        successors
    }

    /// Takes in one token of the account.
    pub fn note(&mut self, token: &(impl TokenView + ?Sized)) {
        if token.successor_tag().is_some() {
            self.tagged.insert(token.id().to_string());
        }
        let Some(Retiring {
            after, successor, ..
        }) = token.retiring()
        else {
            return;
        };
        let predecessor = Predecessor {
            id: token.id().to_string(),
            after,
            environment: token.text(Field::Environment).map(str::to_string),
            surface: token.text(Field::ProductSurfaceId).map(str::to_string),
        };
        // Named by two retiring tokens: the later deadline holds.
        match self.named.entry(successor) {
            Entry::Occupied(mut held) if after > held.get().after => {
                held.insert(predecessor);
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(free) => {
                free.insert(predecessor);
            }
        }
    }

    /// When `token` is the successor of a retiring token of its environment and product
    /// surface whose deadline has not passed at `now`: that token's id and its deadline.
    pub fn rolling_over(
        &self,
        token: &(impl TokenView + ?Sized),
        now: Timestamp,
    ) -> Option<(&str, Timestamp)> {
        self.named
            .get(token.id())
            .filter(|p| now < p.after)
            .filter(|p| {
                p.environment.as_deref() == token.text(Field::Environment)
                    && p.surface.as_deref() == token.text(Field::ProductSurfaceId)
            })
            .map(|p| (p.id.as_str(), p.after))
    }

    /// Whether the token `id` carries a successor tag: its rollover is not finished.
    pub fn is_tagged(&self, id: &str) -> bool {
        self.tagged.contains(id)
    }
}

/// Why a chain of marks leads nowhere rtctl may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// A token the chain names does not exist.
    Missing,
    /// The chain comes back to a token it already passed.
    Cycle,
    /// The chain ends at a token of another environment or product surface.
    Elsewhere,
}

/// A chain of marks that does not reach a token in use: the ids it passed, in order (the
/// first few, then `…`, when it is long).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenChain {
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

/// How many links of a chain a message shows.
const SHOWN_LINKS: usize = 6;

/// Where every retiring token's chain of marks ends, worked out once for an account: each
/// token is visited once however long or tangled the chains (marks are claims anyone can
/// write, so a chain may be as long as the account).
pub struct Chains<'a, T> {
    by_id: HashMap<&'a str, &'a T>,
    /// Retiring token → the first token its chain reaches that is not retiring, or why none.
    ends: HashMap<&'a str, Result<&'a T, Break>>,
}

impl<'a, T: TokenView> Chains<'a, T> {
    pub fn of(tokens: &'a [T]) -> Chains<'a, T> {
        let by_id: HashMap<&'a str, &'a T> = tokens.iter().map(|t| (t.id(), t)).collect();
        let mut ends: HashMap<&'a str, Result<&'a T, Break>> = HashMap::new();
        for start in tokens.iter().filter(|t| t.retiring().is_some()) {
            let mut path: Vec<&'a str> = Vec::new();
            let mut on_path: HashSet<&'a str> = HashSet::new();
            let mut current = start;
            let reached = loop {
                if let Some(known) = ends.get(current.id()) {
                    break *known;
                }
                let Some(mark) = current.retiring() else {
                    break Ok(current);
                };
                if !on_path.insert(current.id()) {
                    break Err(Break::Cycle);
                }
                path.push(current.id());
                match by_id.get(mark.successor.as_str()) {
                    Some(next) => current = next,
                    None => break Err(Break::Missing),
                }
            };
            for id in path {
                ends.insert(id, reached);
            }
        }
        Chains { by_id, ends }
    }

    /// A token of the account by id.
    pub fn get(&self, id: &str) -> Option<&'a T> {
        self.by_id.get(id).copied()
    }

    /// The token in use at the end of `start`'s chain of marks: one that exists, is not
    /// retiring, is not `start`, and has `start`'s environment and product surface (later
    /// edits to other fields do not matter). `start` must be a retiring token of the account.
    pub fn follow(&self, start: &T) -> Result<&'a T, BrokenChain> {
        let broken = |why: Break| BrokenChain {
            chain: self.shown_chain(start),
            why,
        };
        let end = match self.ends.get(start.id()) {
            Some(Ok(end)) => *end,
            Some(Err(why)) => return Err(broken(*why)),
            None => return Err(broken(Break::Missing)),
        };
        let same = |field: Field| end.text(field) == start.text(field);
        if end.id() == start.id() || !same(Field::Environment) || !same(Field::ProductSurfaceId) {
            return Err(broken(Break::Elsewhere));
        }
        Ok(end)
    }

    /// The first links of `start`'s chain, for a message.
    fn shown_chain(&self, start: &T) -> Vec<String> {
        let mut chain = vec![start.id().to_string()];
        let mut seen: HashSet<String> = HashSet::from([start.id().to_string()]);
        let mut current = self.by_id.get(start.id()).copied();
        while let Some(mark) = current.and_then(|t| t.retiring()) {
            if chain.len() > SHOWN_LINKS {
                chain.push("…".into());
                break;
            }
            let again = !seen.insert(mark.successor.clone());
            chain.push(mark.successor.clone());
            if again {
                break;
            }
            current = self.by_id.get(mark.successor.as_str()).copied();
        }
        chain
    }
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
        let chains = Chains::of(tokens);
        chains
            .follow(chains.get(start).unwrap())
            .map(|t| t.id().to_string())
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
            successors.rolling_over(&tokens[1], before).map(|(p, _)| p),
            Some("ct_a")
        );
        assert_eq!(successors.rolling_over(&tokens[1], after), None);
        assert_eq!(successors.rolling_over(&tokens[0], before), None);
        // A mark naming a token of another environment makes it nothing.
        let mut elsewhere = token("ct_b", "W");
        elsewhere.insert("environment".into(), json!("test"));
        assert_eq!(successors.rolling_over(&elsewhere, before), None);
    }

    #[test]
    fn judging_a_large_account_takes_one_pass() {
        // 100,000 tokens, every other one retiring in favour of the next, and one chain of
        // 50,000 marks: a pass over pairs, or along each chain from each of its links (10^9
        // steps and more), could not finish inside this test's bound; one pass takes
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
                .filter(|t| successors.rolling_over(*t, before).is_some())
                .count();
            let chains = Chains::of(&tokens);
            let ends = tokens
                .iter()
                .filter(|t| t.retiring().is_some())
                .filter(|t| chains.follow(*t).is_ok())
                .count();
            // One chain through 50,000 marks: followed from each of its links.
            let long: Vec<Map<String, Value>> = (0..50_000)
                .map(|i| retiring(&format!("ct_{i:016x}"), &format!("ct_{:016x}", i + 1)))
                .chain([token(&format!("ct_{:016x}", 50_000), "W")])
                .collect();
            let chains = Chains::of(&long);
            let long_ends = long.iter().filter(|t| chains.follow(*t).is_ok()).count();
            let _ = tx.send((rolling, ends + long_ends));
        });
        let (rolling, chains) = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("one pass over 100,000 tokens");
        assert_eq!((rolling, chains), (50_000, 100_000));
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
