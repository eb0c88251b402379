//! Random identifiers and token values in the formats the emulator decisions fix:
//! ids `ct_` + 16 lowercase hex, values `ct_<env>_` + 32 base62 characters.

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` from the operating system's generator. Values are secrets (they admit a
/// website's visitors), so they must not come from a predictable generator.
fn random_bytes(buf: &mut [u8]) {
    // getrandom fails only on exotic platforms without an entropy source; an emulator that
    // cannot make secrets has no sensible way to continue.
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

fn hex(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    random_bytes(&mut buf);
    let mut out = String::with_capacity(prefix.len() + bytes * 2);
    out.push_str(prefix);
    for b in buf {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A client-token id: `ct_` and 16 lowercase hex digits.
pub(super) fn token_id() -> String {
    hex("ct_", 8)
}

/// Whether `id` can be a client-token id: `ct_` and 16 hex digits, or a UUID (the form the
/// API reference shows). What the emulator calls malformed.
pub(super) fn is_token_id(id: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(rest) = id.strip_prefix("ct_") {
        return rest.len() == 16 && hex(rest);
    }
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && hex(g))
}

/// A conversation id.
pub(super) fn conversation_id() -> String {
    hex("conv_", 8)
}

/// A widget session id.
pub(super) fn session_id() -> String {
    hex("sess_", 12)
}

/// A surface id, for surfaces the control API adds without one.
pub(super) fn surface_id() -> String {
    hex("surf_", 8)
}

/// A fault id, short enough to read in a log line.
pub(super) fn fault_id() -> String {
    hex("f_", 4)
}

/// The prefix every value of a token in `environment` starts with.
pub(super) fn token_prefix(environment: &str) -> String {
    format!("ct_{environment}_")
}

/// A token value: the environment's prefix and 32 base62 characters, drawn without modulo
/// bias by rejecting bytes at or above the largest multiple of 62.
pub(super) fn token_value(environment: &str) -> String {
    let mut out = token_prefix(environment);
    let mut produced = 0;
    while produced < 32 {
        let mut buf = [0u8; 48];
        random_bytes(&mut buf);
        for b in buf {
            if produced < 32 && b < 248 {
                out.push(BASE62[(b % 62) as usize] as char);
                produced += 1;
            }
        }
    }
    out
}

/// The non-secret hint shown beside a token: the value's last four characters.
pub(super) fn token_hint(value: &str) -> String {
    value[value.len().saturating_sub(4)..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_emulator_decisions() {
        let id = token_id();
        assert_eq!(id.len(), 3 + 16);
        assert!(
            id[3..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        let value = token_value("live");
        assert!(value.starts_with("ct_live_"));
        assert_eq!(value.len(), 8 + 32);
        assert!(value[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(token_hint(&value), &value[value.len() - 4..]);
        assert_ne!(token_value("test"), token_value("test"));
        assert!(is_token_id(&id));
        assert!(is_token_id("0b9e2a5c-1d2e-4f3a-8b7c-6d5e4f3a2b1c"));
        for bad in [
            "ct_1",
            "ct_0123456789abcdeg",
            "..",
            "",
            "0b9e2a5c-1d2e-4f3a-8b7c",
        ] {
            assert!(!is_token_id(bad), "{bad}");
        }
    }
}
