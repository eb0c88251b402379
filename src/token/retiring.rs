//! The mark of a token being rolled over (`rtctl tokens rotate --overlap`): its name ends
//! ` (retiring after 2026-06-09T12:00Z → ct_…)`, naming the deadline and the successor. The
//! mark lives in the name because that is what the dashboard shows and what every later run,
//! on any machine, reads back; rtctl parses exactly this suffix and nothing looser.

use jiff::Timestamp;

/// The API's longest name, in characters.
const MAX_NAME_CHARS: usize = 255;
const OPEN: &str = " (retiring after ";
const ARROW: &str = " → ";

/// What a retiring token's name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Retiring {
    /// The name before the mark (shortened with `…` if the whole would not fit).
    pub base: String,
    /// Not retired before this minute.
    pub after: Timestamp,
    /// The token that replaces it.
    pub successor: String,
}

/// The mark in `name`, if it ends with exactly one.
pub(crate) fn parse(name: &str) -> Option<Retiring> {
    let body = name.strip_suffix(')')?;
    let at = body.rfind(OPEN)?;
    let (base, rest) = (&body[..at], &body[at + OPEN.len()..]);
    let (when, successor) = rest.split_once(ARROW)?;
    let after = parse_minute(when)?;
    crate::api::check_id(successor).ok()?;
    Some(Retiring {
        base: base.to_string(),
        after,
        successor: successor.to_string(),
    })
}

/// `name` marked as retiring after `after` (rounded up to the minute, so never early) in
/// favour of `successor`, within the API's 255 characters.
pub(crate) fn mark(name: &str, after: Timestamp, successor: &str) -> String {
    let suffix = format!("{OPEN}{}{ARROW}{successor})", minute(after));
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
pub(crate) fn round_up(at: Timestamp) -> Timestamp {
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
pub(crate) fn minute(at: Timestamp) -> String {
    round_up(at).strftime("%Y-%m-%dT%H:%MZ").to_string()
}

fn parse_minute(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() != 17 || bytes[16] != b'Z' || bytes[13] != b':' {
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
        ] {
            assert_eq!(parse(name), None, "{name}");
        }
    }
}
