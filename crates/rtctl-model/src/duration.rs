//! Durations, one syntax everywhere (`--grace`, `--idle`, `--dormant`): a whole number and a
//! unit, `30m`, `36h`, `7d` (also `w` for weeks). No fractions, no combinations: a value in a
//! CI file should read the same to everyone.

use std::time::Duration;

/// The longest duration accepted: ten years, far beyond any grace period or dormancy.
const MAX_DAYS: u64 = 3650;

/// Parses `30m`, `36h`, `7d` or `2w`; the message says what is expected (for clap).
pub fn parse(text: &str) -> Result<Duration, String> {
    let expected = || {
        format!(
            "'{text}' is not a duration: use a whole number and m, h, d or w, like 30m, 36h or 7d"
        )
    };
    let text = text.trim();
    let unit = text.chars().last().ok_or_else(expected)?;
    let number: u64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| expected())?;
    let seconds = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(expected()),
    };
    let total = number.checked_mul(seconds).ok_or_else(expected)?;
    if total == 0 {
        return Err(format!("'{text}' is no time at all: give at least 1m"));
    }
    if total > MAX_DAYS * 86_400 {
        return Err(format!("'{text}' is longer than {MAX_DAYS} days"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_with_a_unit() {
        assert_eq!(parse("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse("36h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse("2w"), Ok(Duration::from_secs(14 * 86_400)));
        for bad in [
            "",
            "d",
            "7",
            "1.5h",
            "-1d",
            "7 d",
            "7x",
            "0m",
            "99999999999999999999d",
            "4000d",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
