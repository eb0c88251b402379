//! The marks a rollover (`rtctl tokens rotate --overlap`) writes into token names. The API has
//! no field for them and no lock, so the name is where every later run, on any machine, reads
//! the state of a rollover back, and what the dashboard shows:
//!
//! - **pending**, on the old token while a run makes its successor:
//!   `NAME (rolling over: run 1a2b3c4d)`. The old token keeps working; the run it names owns
//!   the rollover (a run that finds another run's mark defers to it).
//! - **successor**, on the token a run creates, until its value is delivered:
//!   `NAME (successor of ct_OLD, run 1a2b3c4d)`. Only a token that carries this tag is ever
//!   adopted as a successor: a twin with the same name and fields (a create repeated after a
//!   timeout) never is, and no clock decides identity.
//! - **retiring**, on the old token once the successor's value was delivered:
//!   `NAME (retiring after 2026-06-09T12:00Z → ct_NEW)`, naming the deadline and the successor
//!   that now carries `NAME`.
//!
//! A mark is only a claim written into a name (any rename, or a lying server, writes one), so
//! rtctl parses exactly these suffixes and nothing looser, and checks what a mark claims
//! before acting on it (see [`crate::token::rollover`]).

use jiff::Timestamp;

/// The API's longest name, in characters.
const MAX_NAME_CHARS: usize = 255;
const OPEN: &str = " (retiring after ";
const ARROW: &str = " → ";
const PENDING_OPEN: &str = " (rolling over: run ";
const SUCCESSOR_OPEN: &str = " (successor of ";
const RUN: &str = ", run ";
/// A run's id: this many lowercase hex digits.
const RUN_DIGITS: usize = 8;

/// What a retiring token's name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retiring {
    /// The name before the mark (shortened with `…` if the whole would not fit).
    pub base: String,
    /// Not retired before this minute.
    pub after: Timestamp,
    /// The token that replaces it.
    pub successor: String,
}

/// What the name of a token being rolled over says: which run owns its rollover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub base: String,
    pub run: String,
}

/// What the name of a successor whose value is not delivered yet says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Successor {
    pub base: String,
    /// The token it replaces.
    pub predecessor: String,
    /// The run that created it.
    pub run: String,
}

/// The retiring mark in `name`, if it ends with exactly one.
pub fn parse(name: &str) -> Option<Retiring> {
    let (base, rest) = suffix(name, OPEN)?;
    let (when, successor) = rest.split_once(ARROW)?;
    let after = parse_minute(when)?;
    crate::ids::check_id(successor).ok()?;
    Some(Retiring {
        base: base.to_string(),
        after,
        successor: successor.to_string(),
    })
}

/// The pending mark in `name`, if it ends with exactly one.
pub(crate) fn parse_pending(name: &str) -> Option<Pending> {
    let (base, run) = suffix(name, PENDING_OPEN)?;
    is_run(run).then(|| Pending {
        base: base.to_string(),
        run: run.to_string(),
    })
}

/// The successor tag in `name`, if it ends with exactly one.
pub(crate) fn parse_successor(name: &str) -> Option<Successor> {
    let (base, rest) = suffix(name, SUCCESSOR_OPEN)?;
    let (predecessor, run) = rest.split_once(RUN)?;
    (crate::ids::check_id(predecessor).is_ok() && is_run(run)).then(|| Successor {
        base: base.to_string(),
        predecessor: predecessor.to_string(),
        run: run.to_string(),
    })
}

/// The name before a mark, and the mark's inside: `base (OPEN… inside)`.
fn suffix<'a>(name: &'a str, open: &str) -> Option<(&'a str, &'a str)> {
    let body = name.strip_suffix(')')?;
    let at = body.rfind(open)?;
    Some((&body[..at], &body[at + open.len()..]))
}

fn is_run(text: &str) -> bool {
    text.len() == RUN_DIGITS
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// How long a name may be for a rollover of the token `id`: its marks must fit within the
/// API's 255 characters without cutting the name (the longer of the pending mark and the
/// successor tag).
pub fn room_for_rollover(id: &str) -> usize {
    let tag = SUCCESSOR_OPEN.len() + id.chars().count() + RUN.len() + RUN_DIGITS + 1;
    let pending = PENDING_OPEN.len() + RUN_DIGITS + 1;
    MAX_NAME_CHARS.saturating_sub(tag.max(pending))
}

/// A new run id: random, so two runs never share one.
pub fn new_run() -> String {
    let mut bytes = [0u8; RUN_DIGITS / 2];
    // Without randomness two runs could share an id; the time's nanoseconds still differ.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `name` marked as retiring after `after` (rounded up to the minute, so never early) in
/// favour of `successor`, within the API's 255 characters.
pub fn mark(name: &str, after: Timestamp, successor: &str) -> String {
    with_suffix(name, &format!("{OPEN}{}{ARROW}{successor})", minute(after)))
}

/// `name` marked as being rolled over by `run`.
pub fn pending(name: &str, run: &str) -> String {
    with_suffix(name, &format!("{PENDING_OPEN}{run})"))
}

/// `name` tagged as the successor of `predecessor`, made by `run`.
pub fn successor(name: &str, predecessor: &str, run: &str) -> String {
    with_suffix(name, &format!("{SUCCESSOR_OPEN}{predecessor}{RUN}{run})"))
}

/// `name` and `suffix`, the name shortened with `…` if the whole would not fit.
fn with_suffix(name: &str, suffix: &str) -> String {
    let room = MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
    let base = if name.chars().count() > room {
        let kept: String = name.chars().take(room.saturating_sub(1)).collect();
        format!("{kept}…")
    } else {
        name.to_string()
    };
    format!("{base}{suffix}")
}

/// `at`, rounded up to the next whole minute.
pub fn round_up(at: Timestamp) -> Timestamp {
    let seconds = at.as_second();
    let whole = at.subsec_nanosecond() == 0 && seconds % 60 == 0;
    let rounded = if whole {
        seconds
    } else {
        (seconds.div_euclid(60) + 1) * 60
    };
    Timestamp::from_second(rounded).unwrap_or(at)
}

/// `2026-06-09T12:00Z`.
pub fn minute(at: Timestamp) -> String {
    round_up(at).strftime("%Y-%m-%dT%H:%MZ").to_string()
}

fn parse_minute(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() != 17 || bytes[16] != b'Z' || bytes[13] != b':' || !text.is_ascii() {
        return None;
    }
    format!("{}:00Z", &text[..16]).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_round_trips_and_stays_within_the_name_limit() {
        let at: Timestamp = "2026-06-09T11:59:30Z".parse().unwrap();
        let name = mark("Docs widget", at, "ct_0123456789abcdef");
        assert_eq!(
            name,
            "Docs widget (retiring after 2026-06-09T12:00Z → ct_0123456789abcdef)"
        );
        let parsed = parse(&name).unwrap();
        assert_eq!(parsed.base, "Docs widget");
        assert_eq!(parsed.after, "2026-06-09T12:00:00Z".parse().unwrap());
        assert_eq!(parsed.successor, "ct_0123456789abcdef");

        let long = "x".repeat(255);
        let marked = mark(&long, at, "ct_0123456789abcdef");
        assert_eq!(marked.chars().count(), 255);
        assert!(parse(&marked).unwrap().base.ends_with('…'));
    }

    #[test]
    fn only_the_exact_suffix_is_a_mark() {
        for name in [
            "Docs widget",
            "Docs (retiring after soon → ct_0123456789abcdef)",
            "Docs (retiring after 2026-06-09T12:00Z → ../x)",
            "Docs (retiring after 2026-06-09T12:00Z -> ct_0123456789abcdef)",
            "Docs (retiring after 2026-06-09T12:00Z → ct_0123456789abcdef) v2",
            "Docs (retiring after 2026-06-09T1😀Z → ct_0123456789abcdef)",
        ] {
            assert_eq!(parse(name), None, "{name}");
        }
    }

    #[test]
    fn pending_marks_and_successor_tags_round_trip() {
        let run = new_run();
        assert!(is_run(&run), "{run}");
        assert_ne!(run, new_run());
        let pending_name = pending("Docs widget", &run);
        assert_eq!(
            pending_name,
            format!("Docs widget (rolling over: run {run})")
        );
        let parsed = parse_pending(&pending_name).unwrap();
        assert_eq!(
            (parsed.base.as_str(), parsed.run.as_str()),
            ("Docs widget", run.as_str())
        );
        assert_eq!(parse(&pending_name), None);
        assert_eq!(parse_successor(&pending_name), None);

        let tagged = successor("Docs widget", "ct_0123456789abcdef", &run);
        assert_eq!(
            tagged,
            format!("Docs widget (successor of ct_0123456789abcdef, run {run})")
        );
        let parsed = parse_successor(&tagged).unwrap();
        assert_eq!(parsed.base, "Docs widget");
        assert_eq!(parsed.predecessor, "ct_0123456789abcdef");
        assert_eq!(parsed.run, run);
        assert_eq!(parse_pending(&tagged), None);

        let long = "y".repeat(255);
        let tagged = successor(&long, &"a".repeat(128), &run);
        assert_eq!(tagged.chars().count(), 255);
        assert!(parse_successor(&tagged).is_some());

        for name in [
            "Docs (rolling over: run 1234567)",
            "Docs (rolling over: run 1234567G)",
            "Docs (successor of ../x, run 12345678)",
            "Docs (successor of ct_1, run 12345678) v2",
        ] {
            assert_eq!(parse_pending(name), None, "{name}");
            assert_eq!(parse_successor(name), None, "{name}");
        }
    }
}
