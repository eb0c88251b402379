//! A list reply read as it arrives. `GET /v1/client-tokens` without `limit` answers every
//! token in one body (about 600 bytes a token, 6 MB for 10,000): rather than hold the whole
//! body and then its parsed tree, each element of the list's array is parsed as soon as its
//! last byte is in. Memory then holds one element and the items not yet handed out, and the
//! output starts before the body has all arrived.
//!
//! The envelope (`{"clientTokens": [ … ], "pagination": { … }}`) is scanned here: its keys
//! are read, its other values skipped by string and bracket depth, the one-pass count the
//! client's depth guard already does; each element is decoded by serde_json exactly as a
//! whole reply would be. A streaming JSON crate would add a second JSON implementation and a
//! step rebuilding values from its events for the same result.

use serde_json::Value;

/// What is read of one reply, fed in chunks.
pub(super) struct ListReader {
    /// The key of the array to hand out (`clientTokens`).
    key: &'static str,
    /// The deepest a value of the envelope may nest (its own two levels taken off the
    /// reply's bound).
    max_depth: usize,
    state: State,
    /// The value in progress: an element, or the value of another key.
    value: Scan,
    /// The bytes of the value in progress read in earlier chunks.
    bytes: Vec<u8>,
    /// The key being read.
    key_bytes: Vec<u8>,
    /// Which key's value follows.
    current: Current,
    list_seen: bool,
    pagination: Option<Value>,
}

/// Where the reader is in the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `{`.
    Start,
    /// After `{` (a key or `}`) or after `,` (a key).
    KeyOrEnd { first: bool },
    /// Inside a key's string.
    Key { escaped: bool },
    /// Between a key and `:`.
    Colon,
    /// Between `:` and a value.
    BeforeValue,
    /// Inside a value of the envelope other than the list.
    Value,
    /// After `[` of the list (an element or `]`), or after `,` in it (an element).
    ElementOrEnd { first: bool },
    /// Inside an element.
    Element,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After a value of the envelope: `,` or `}`.
    AfterValue,
    /// After the closing `}`: only whitespace may follow.
    Done,
}

/// Which key's value is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Current {
    List,
    Pagination,
    Other,
}

/// One JSON value scanned byte by byte: where it ends, and how deep it nests. Its content is
/// checked by serde_json once it has ended.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    depth: usize,
    deepest: usize,
    in_string: bool,
    escaped: bool,
    /// A number, `true`, `false` or `null`: it ends at the first byte that is not its own.
    scalar: bool,
}

/// How far one byte took a value.
enum Step {
    /// The byte is the value's; more follows.
    More,
    /// The byte is the value's last.
    Last,
    /// The value ended before this byte (a scalar's delimiter), which is not the value's.
    EndedBefore,
}

impl Scan {
    /// Starts a value at its first byte, or `None` when no value starts so.
    fn start(first: u8) -> Option<Scan> {
        let mut scan = Scan::default();
        match first {
            b'{' | b'[' => {
                scan.depth = 1;
                scan.deepest = 1;
            }
            b'"' => scan.in_string = true,
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => scan.scalar = true,
            _ => return None,
        }
        Some(scan)
    }

    fn step(&mut self, b: u8) -> Step {
        if self.in_string {
            match b {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Step::Last;
                    }
                }
                _ => {}
            }
            return Step::More;
        }
        if self.scalar {
            return if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.') {
                Step::More
            } else {
                Step::EndedBefore
            };
        }
        match b {
            b'"' => self.in_string = true,
            b'[' | b'{' => {
                self.depth += 1;
                self.deepest = self.deepest.max(self.depth);
            }
            b']' | b'}' => {
                self.depth -= 1;
                if self.depth == 0 {
                    return Step::Last;
                }
            }
            _ => {}
        }
        Step::More
    }

    /// How many of `bytes` cannot change where the value ends (inside a string, anything but
    /// a quote or a backslash; inside an array or object, anything but a quote or a bracket):
    /// skipped in one search rather than byte by byte.
    fn run(&self, bytes: &[u8]) -> usize {
        let stop = if self.escaped || self.scalar {
            return 0;
        } else if self.in_string {
            // Most of a token is strings: found with one vectorised search.
            memchr::memchr2(b'"', b'\\', bytes)
        } else {
            bytes
                .iter()
                .position(|&b| matches!(b, b'"' | b'[' | b']' | b'{' | b'}'))
        };
        stop.unwrap_or(bytes.len())
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// What followed the list in a reply.
#[derive(Debug)]
pub(super) struct Tail {
    /// The reply's `pagination`, when it had one.
    pub pagination: Option<Value>,
}

impl ListReader {
    /// A reader of the array under `key`, in a reply that may nest `max_depth` levels.
    pub(super) fn new(key: &'static str, max_depth: usize) -> ListReader {
        ListReader {
            key,
            max_depth: max_depth.saturating_sub(2),
            state: State::Start,
            value: Scan::default(),
            bytes: Vec::new(),
            key_bytes: Vec::new(),
            current: Current::Other,
            list_seen: false,
            pagination: None,
        }
    }

    /// Whether the reply's object has begun: a body that fails before it is not JSON at all.
    pub(super) fn opened(&self) -> bool {
        self.state != State::Start
    }

    /// Whether the reply's object began and its body ended before the object did: cut short,
    /// not malformed (a value that breaks the syntax fails [`ListReader::feed`] instead).
    pub(super) fn cut_short(&self) -> bool {
        !matches!(self.state, State::Start | State::Done)
    }

    fn in_value(&self) -> bool {
        matches!(self.state, State::Element | State::Value)
    }

    /// Reads `chunk`, pushing every element completed in it onto `out`.
    pub(super) fn feed(&mut self, chunk: &[u8], out: &mut Vec<Value>) -> Result<(), String> {
        let mut i = 0;
        // Where this chunk's part of the value in progress starts.
        let mut from = self.in_value().then_some(0);
        while i < chunk.len() {
            if self.in_value() {
                let run = self.value.run(&chunk[i..]);
                if run > 0 {
                    i += run;
                    continue;
                }
                match self.value.step(chunk[i]) {
                    Step::More => i += 1,
                    Step::Last => {
                        i += 1;
                        self.end_value(&chunk[from.take().unwrap_or(i)..i], out)?;
                    }
                    Step::EndedBefore => {
                        self.end_value(&chunk[from.take().unwrap_or(i)..i], out)?;
                    }
                }
                continue;
            }
            let b = chunk[i];
            i += 1;
            if let State::Key { escaped } = self.state {
                if b == b'"' && !escaped {
                    self.read_key()?;
                    self.state = State::Colon;
                } else {
                    self.key_bytes.push(b);
                    self.state = State::Key {
                        escaped: !escaped && b == b'\\',
                    };
                }
                continue;
            }
            if is_space(b) {
                continue;
            }
            self.state = match (self.state, b) {
                (State::Start, b'{') => State::KeyOrEnd { first: true },
                (State::KeyOrEnd { first: true }, b'}') => State::Done,
                (State::KeyOrEnd { .. }, b'"') => {
                    self.key_bytes.clear();
                    State::Key { escaped: false }
                }
                (State::Colon, b':') => State::BeforeValue,
                (State::BeforeValue, b'[') if self.current == Current::List => {
                    self.list_seen = true;
                    State::ElementOrEnd { first: true }
                }
                (State::BeforeValue, _) if self.current == Current::List => {
                    return Err(format!("\"{}\" is not an array", self.key));
                }
                (State::ElementOrEnd { first: true }, b']') => State::AfterValue,
                (State::BeforeValue | State::ElementOrEnd { .. }, _) => {
                    self.value = Scan::start(b).ok_or_else(|| {
                        format!(
                            "unexpected '{}' where a value belongs",
                            char::from(b).escape_default()
                        )
                    })?;
                    self.bytes.clear();
                    from = Some(i - 1);
                    if self.state == State::BeforeValue {
                        State::Value
                    } else {
                        State::Element
                    }
                }
                (State::AfterElement, b',') => State::ElementOrEnd { first: false },
                (State::AfterElement, b']') => State::AfterValue,
                (State::AfterValue, b',') => State::KeyOrEnd { first: false },
                (State::AfterValue, b'}') => State::Done,
                (state, b) => {
                    return Err(format!(
                        "unexpected '{}' {}",
                        char::from(b).escape_default(),
                        describe(state)
                    ));
                }
            };
        }
        if let Some(from) = from {
            self.bytes.extend_from_slice(&chunk[from..]);
        }
        Ok(())
    }

    /// A value ended with `tail`, its bytes in this chunk.
    fn end_value(&mut self, tail: &[u8], out: &mut Vec<Value>) -> Result<(), String> {
        let element = self.state == State::Element;
        self.state = if element {
            State::AfterElement
        } else {
            State::AfterValue
        };
        if self.value.deepest > self.max_depth {
            return Err(format!(
                "it nests more than {} levels deep, which rtctl does not read",
                self.max_depth + 2
            ));
        }
        let value = if self.bytes.is_empty() {
            parse(tail)?
        } else {
            self.bytes.extend_from_slice(tail);
            let value = parse(&self.bytes)?;
            self.bytes.clear();
            value
        };
        match (element, self.current) {
            (true, _) => out.push(value),
            (false, Current::Pagination) => self.pagination = Some(value),
            (false, _) => {}
        }
        Ok(())
    }

    fn read_key(&mut self) -> Result<(), String> {
        let mut quoted = Vec::with_capacity(self.key_bytes.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(&self.key_bytes);
        quoted.push(b'"');
        let key: String = serde_json::from_slice(&quoted)
            .map_err(|_| "a key is not a JSON string".to_string())?;
        self.current = if key == self.key {
            if self.list_seen {
                return Err(format!("\"{}\" appears twice", self.key));
            }
            Current::List
        } else if key == "pagination" {
            Current::Pagination
        } else {
            Current::Other
        };
        Ok(())
    }

    /// The reply has ended: checks it was whole, and returns what followed the list.
    pub(super) fn finish(self) -> Result<Tail, String> {
        if self.state != State::Done {
            return Err(format!("the body ended {}", describe(self.state)));
        }
        if !self.list_seen {
            return Err(format!("the reply has no \"{}\" array", self.key));
        }
        Ok(Tail {
            pagination: self.pagination,
        })
    }
}

/// Parses one value (its depth already bounded).
fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    deserializer.disable_recursion_limit();
    let value: Value = serde::Deserialize::deserialize(&mut deserializer)
        .map_err(|e| format!("a value is not JSON ({e})"))?;
    deserializer
        .end()
        .map_err(|e| format!("a value is not JSON ({e})"))?;
    Ok(value)
}

fn describe(state: State) -> &'static str {
    match state {
        State::Start => "before the reply's object",
        State::KeyOrEnd { .. } | State::Key { .. } | State::Colon => "where a key belongs",
        State::BeforeValue | State::Value => "inside a value",
        State::ElementOrEnd { .. } | State::Element | State::AfterElement => "inside the list",
        State::AfterValue => "before the end of the reply's object",
        State::Done => "after the reply's object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Feeds `text` in chunks of `size` bytes; every element and the pagination.
    fn read(text: &[u8], size: usize) -> Result<(Vec<Value>, Option<Value>), String> {
        let mut reader = ListReader::new("clientTokens", 256);
        let mut out = Vec::new();
        for chunk in text.chunks(size.max(1)) {
            reader.feed(chunk, &mut out)?;
        }
        let tail = reader.finish()?;
        Ok((out, tail.pagination))
    }

    #[test]
    fn elements_come_out_whole_however_the_body_is_cut() {
        let body = json!({
            "before": {"a": [1, 2, {"b": "]}\"["}]},
            "clientTokens": [
                {"id": "ct_1", "name": "a \"quoted\" ] name", "config": {"x": [[], {}]}},
                {"id": "ct_2", "n": -1.5e3, "t": true, "f": false, "z": null},
                7, "text", null, [1, [2]]
            ],
            "pagination": {"limit": 2, "offset": 0, "hasMore": true},
            "after": 12
        });
        let text = serde_json::to_vec_pretty(&body).unwrap();
        for size in [1, 2, 3, 7, 64, text.len()] {
            let (items, pagination) = read(&text, size).unwrap();
            assert_eq!(
                Value::Array(items),
                body["clientTokens"],
                "chunks of {size}"
            );
            assert_eq!(pagination.as_ref(), Some(&body["pagination"]));
        }
        let compact = serde_json::to_vec(&body).unwrap();
        assert_eq!(read(&compact, 5).unwrap().0.len(), 6);
        assert_eq!(read(br#"{"clientTokens":[]}"#, 1).unwrap(), (vec![], None));
        assert_eq!(
            read(br#"{"clientTokens":[1]} "#, 3).unwrap().0,
            vec![json!(1)]
        );
        assert_eq!(
            read(
                br#"{"pagination":{"hasMore":false},"clientTokens":[true]}"#,
                4
            )
            .unwrap()
            .1,
            Some(json!({"hasMore": false}))
        );
    }

    #[test]
    fn broken_bodies_are_errors() {
        for bad in [
            &b""[..],
            b"[]",
            b"{}",
            b"{\"clientTokens\": {}}",
            b"{\"clientTokens\": null}",
            b"{\"clientTokens\": [1 2]}",
            b"{\"clientTokens\": [1,]}",
            b"{\"clientTokens\": [,1]}",
            b"{\"clientTokens\": [1]",
            b"{\"clientTokens\": [{\"a\": 1]}",
            b"{\"clientTokens\": [tru]}",
            b"{\"clientTokens\": [\"abc]}",
            b"{\"clientTokens\": []} x",
            b"{\"clientTokens\": [], }",
            b"{\"clientTokens\" []}",
            b"{\"clientTokens\": [], \"clientTokens\": []}",
            b"{clientTokens: []}",
        ] {
            for size in [1, 4, 100] {
                assert!(
                    read(bad, size).is_err(),
                    "{} in chunks of {size}",
                    String::from_utf8_lossy(bad)
                );
            }
        }
    }

    #[test]
    fn depth_is_bounded_per_element() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let ok = format!("{{\"clientTokens\": [{}]}}", nested(254));
        assert!(read(ok.as_bytes(), 10).is_ok());
        let deep = format!("{{\"clientTokens\": [{}]}}", nested(255));
        assert!(read(deep.as_bytes(), 10).unwrap_err().contains("levels"));
    }

    proptest! {
        #[test]
        fn any_chunking_reads_what_serde_reads(
            items in prop::collection::vec(
                prop_oneof![
                    "\\PC{0,12}".prop_map(Value::String),
                    any::<i64>().prop_map(Value::from),
                    any::<bool>().prop_map(Value::Bool),
                    "[a-z\"\\\\\\]\\[{}]{0,8}".prop_map(|s| json!({"id": s, "v": [s]})),
                ],
                0..8,
            ),
            size in 1usize..40,
            pretty in any::<bool>(),
        ) {
            let body = json!({"x": "y", "clientTokens": items, "pagination": null});
            let text = if pretty { serde_json::to_vec_pretty(&body) } else { serde_json::to_vec(&body) }.unwrap();
            let (read_items, pagination) = read(&text, size).unwrap();
            prop_assert_eq!(Value::Array(read_items), body["clientTokens"].clone());
            prop_assert_eq!(pagination, Some(Value::Null));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), size in 1usize..20) {
            let _ = read(&bytes, size);
        }
    }
}
