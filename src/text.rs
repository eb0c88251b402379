//! Text from outside (a server's names, origins, messages; a file's contents) made safe for a
//! terminal: control characters (escape sequences, a bare carriage return that rewrites a
//! line, a bell) and the Unicode controls that reorder text on screen (bidi overrides) are
//! shown as escapes instead of being obeyed. JSON output never passes through here: it is
//! exact, and JSON escapes control characters itself. A word for a suggested command is made
//! safe for a shell the same way ([`shell_word`]).

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` would steer a terminal rather than show as a character. A tab only moves to
/// the next stop, and separates fields in rtctl's own lines: it stays.
pub(crate) fn steers(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` worded as a hint: hints continue the sentence `hint:` starts, so they start lower
/// case. A capitalised first word (`Use …`, a server's `This API key …`) is lowered; a name
/// (`RUNTYPE_API_KEY`, `API`) is left as it is.
pub(crate) fn as_hint(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_string(),
    }
}

/// `text` as one shell word, for a command a hint suggests: as is when it is plain, else in
/// single quotes.
pub(crate) fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "%+,-./:=@_~".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `text` with everything that would steer a terminal written as an escape (`\u{1b}`);
/// line breaks are kept where `keep_newlines` (multi-line messages), escaped otherwise.
pub fn for_terminal(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| steers(c) && !(keep_newlines && c == '\n'))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if steers(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_start_lower_case_but_names_stay() {
        assert_eq!(as_hint("Use 'test' or 'live'"), "use 'test' or 'live'");
        assert_eq!(
            as_hint("This API key lacks the CLIENT_TOKENS:WRITE permission"),
            "this API key lacks the CLIENT_TOKENS:WRITE permission"
        );
        assert_eq!(as_hint("RUNTYPE_API_KEY is set"), "RUNTYPE_API_KEY is set");
        assert_eq!(as_hint("API keys"), "API keys");
        assert_eq!(as_hint("run rtctl auth login"), "run rtctl auth login");
        assert_eq!(as_hint(""), "");
    }

    #[test]
    fn shell_words_are_plain_or_single_quoted() {
        assert_eq!(shell_word("test"), "test");
        assert_eq!(
            shell_word("/home/a/.config/c.toml"),
            "/home/a/.config/c.toml"
        );
        assert_eq!(shell_word("old widget"), "'old widget'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$HOME;rm"), "'$HOME;rm'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn escapes_what_steers_and_keeps_the_rest() {
        assert_eq!(for_terminal("Docs widget é", false), "Docs widget é");
        assert_eq!(
            for_terminal("a\u{1b}]0;owned\u{7}b", false),
            "a\\u{1b}]0;owned\\u{7}b"
        );
        assert_eq!(for_terminal("ok\rFAKE", false), "ok\\rFAKE");
        assert_eq!(for_terminal("abc\u{202e}fed", false), "abc\\u{202e}fed");
        assert_eq!(for_terminal("one\ntwo", true), "one\ntwo");
        assert_eq!(for_terminal("one\ntwo", false), "one\\ntwo");
        assert_eq!(for_terminal("\u{9b}31m", false), "\\u{9b}31m");
        assert_eq!(for_terminal("id\tvalue", false), "id\tvalue");
    }
}
