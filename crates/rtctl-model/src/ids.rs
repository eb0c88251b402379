//! Token ids, from a user or from a server: what they look like, checked before one goes into
//! a path.

/// What ids and values look like, for a hint when an argument is neither.
pub const ID_SHAPES: &str = "an id looks like ct_9f8e7d6c5b4a3210 (or a UUID); a whole value looks like ct_live_… as a page embeds it (rtctl tokens list shows the ids)";

/// The longest id rtctl accepts, from a user or a server.
const MAX_ID_CHARS: usize = 128;

/// Checks an id, from a user or from a server, before it goes into a path: 1 to 128
/// characters of `A-Z a-z 0-9 _ -`. That excludes `.` and `..` (which URL parsers and proxies
/// resolve as path steps, whatever the encoding), slashes, and anything that could steer a
/// terminal.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("a token id cannot be empty".into());
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(format!(
            "a token id has at most {MAX_ID_CHARS} characters (this one has {})",
            id.chars().count()
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "'{}' is not a token id: it holds {}; ids are letters, digits, '_' and '-'",
            id.escape_debug(),
            match bad {
                c if c.is_control() => "a control character".to_string(),
                c => format!("'{c}'"),
            }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_they_go_into_a_path() {
        for bad in [
            "..",
            ".",
            "",
            "a/b",
            "a b",
            "ct_1\u{1b}[2J",
            &"x".repeat(129),
        ] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_id("ct_1").is_ok());
        assert!(check_id("0b9e2a5c-1d2e-4f3a-8b7c-6d5e4f3a2b1c").is_ok());
        assert!(check_id(&"x".repeat(128)).is_ok());
    }
}
