//! Secrets the run knows (its API key) kept out of everything it prints. A server may echo
//! the key back (a 401 body quoting the `Authorization` header, a redirect's `Location`, a
//! token's name): the printer replaces it, on stdout and stderr alike, with its masked form.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

/// The shortest secret that is replaced: a shorter "key" is no secret worth hiding (no server
/// accepts one), and replacing it would garble ordinary text.
const MIN_SECRET_CHARS: usize = 8;

/// What a URL escapes of a secret carried in a query or a path: all but unreserved characters.
const URL_ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The secrets of one run, shared by every clone of its printer.
#[derive(Clone, Default)]
pub(crate) struct Redactions {
    /// Each spelling of a secret (as is, percent-encoded, JSON-escaped) and what replaces it.
    secrets: Arc<RwLock<Vec<(String, String)>>>,
}

impl Redactions {
    /// From now on, `secret` is printed as `shown`, in each spelling it may arrive in.
    pub(crate) fn add(&self, secret: &str, shown: &str) {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let escaped = serde_json::to_string(secret).unwrap_or_default();
        let spellings = [
            secret.to_string(),
            percent_encoding::utf8_percent_encode(secret, URL_ESCAPED).to_string(),
            escaped.trim_matches('"').to_string(),
        ];
        let mut secrets = self.secrets.write().unwrap_or_else(|p| p.into_inner());
        for spelling in spellings {
            if !secrets.iter().any(|(known, _)| *known == spelling) {
                secrets.push((spelling, shown.to_string()));
            }
        }
    }

    /// `text` with every known secret replaced.
    pub(crate) fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Whole UTF-8 sequences replaced by UTF-8 text: still UTF-8.
            Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// `bytes` with every known secret replaced.
    pub(crate) fn bytes<'b>(&self, bytes: &'b [u8]) -> Cow<'b, [u8]> {
        let secrets = self.secrets.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Cow<'b, [u8]> = Cow::Borrowed(bytes);
        for (secret, shown) in secrets.iter() {
            let finder = memchr::memmem::Finder::new(secret.as_bytes());
            if finder.find(&out).is_none() {
                continue;
            }
            let mut replaced = Vec::with_capacity(out.len());
            let mut rest: &[u8] = &out;
            while let Some(at) = finder.find(rest) {
                replaced.extend_from_slice(&rest[..at]);
                replaced.extend_from_slice(shown.as_bytes());
                rest = &rest[at + secret.len()..];
            }
            replaced.extend_from_slice(rest);
            out = Cow::Owned(replaced);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_secret_is_replaced() {
        let redactions = Redactions::default();
        assert_eq!(redactions.text("nothing known yet"), "nothing known yet");
        redactions.add("rt_live_s3cret+key/\"xyz", "rt_live_****\"xyz");
        let text = "Invalid API key: Bearer rt_live_s3cret+key/\"xyz; see \
                    https://x.example/?k=rt_live_s3cret%2Bkey%2F%22xyz and {\"key\": \"rt_live_s3cret+key/\\\"xyz\"}";
        let shown = redactions.text(text);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(shown.matches("rt_live_****\"xyz").count(), 3, "{shown}");
        assert!(matches!(
            redactions.text("no key here"),
            Cow::Borrowed("no key here")
        ));
        let bytes = redactions.bytes(b"a rt_live_s3cret+key/\"xyz b rt_live_s3cret+key/\"xyz");
        assert_eq!(&*bytes, b"a rt_live_****\"xyz b rt_live_****\"xyz");
    }

    #[test]
    fn a_short_key_is_not_a_secret_to_hunt_for() {
        let redactions = Redactions::default();
        redactions.add("abc", "****abc");
        assert_eq!(redactions.text("abc abc"), "abc abc");
    }
}
