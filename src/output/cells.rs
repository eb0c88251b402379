//! How single values read in a cell: TSV cells on one line, masked secrets, relative times.

/// A cell for TSV: tabs and line breaks would split it, so they become spaces.
pub(crate) fn tsv_cell(cell: &str) -> String {
    cell.chars()
        .map(|c| {
            if c == '\t' || c == '\n' || c == '\r' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The last `n` characters of `text` (all of it when shorter): what a masked secret shows.
pub(crate) fn last_chars(text: &str, n: usize) -> &str {
    let start = text
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(at, _)| at);
    &text[start..]
}

/// A secret shown masked: the prefix and the last four characters (`ct_live_****a1b2`).
pub(crate) fn mask(prefix: Option<&str>, hint: Option<&str>) -> String {
    format!("{}****{}", prefix.unwrap_or(""), hint.unwrap_or(""))
}

/// "3 days ago" for an ISO-8601 time; the input unchanged if it does not parse.
pub(crate) fn relative_time(iso: &str, now: jiff::Timestamp) -> String {
    let Ok(then) = iso.parse::<jiff::Timestamp>() else {
        return iso.to_string();
    };
    let seconds = now.as_second() - then.as_second();
    if seconds < 0 {
        return "in the future".into();
    }
    let (amount, unit) = match seconds {
        0..=59 => return "just now".into(),
        60..=3_599 => (seconds / 60, "minute"),
        3_600..=86_399 => (seconds / 3_600, "hour"),
        86_400..=2_591_999 => (seconds / 86_400, "day"),
        2_592_000..=31_535_999 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural} ago")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let ago = |iso| relative_time(iso, now);
        assert_eq!(ago("2026-11-23T11:59:30Z"), "just now");
        assert_eq!(ago("2026-11-23T11:59:00.000Z"), "1 minute ago");
        assert_eq!(ago("2026-11-23T09:00:00Z"), "3 hours ago");
        assert_eq!(ago("2026-11-20T12:00:00Z"), "3 days ago");
        assert_eq!(ago("2026-08-23T12:00:00Z"), "3 months ago");
        assert_eq!(ago("2024-11-23T12:00:00Z"), "2 years ago");
        assert_eq!(ago("2026-11-24T12:00:00Z"), "in the future");
        assert_eq!(ago("yesterday"), "yesterday");
    }

    #[test]
    fn masking_keeps_prefix_and_hint() {
        assert_eq!(mask(Some("ct_live_"), Some("a1b2")), "ct_live_****a1b2");
        assert_eq!(mask(None, None), "****");
    }

    #[test]
    fn last_chars_are_whole_characters() {
        assert_eq!(last_chars("ct_live_abcd1234", 4), "1234");
        assert_eq!(last_chars("ab", 4), "ab");
        assert_eq!(last_chars("xx😀é", 2), "😀é");
    }

    #[test]
    fn tsv_cells_stay_on_one_line() {
        assert_eq!(tsv_cell("a\tb\nc"), "a b c");
    }
}
