//! JSON on stdout: one document pretty-printed, or an array streamed element by element as a
//! list's pages arrive. Both are serde_json's `PrettyFormatter`'s layout; a streamed element
//! is written one level in, so the array reads byte for byte as the whole array would.

use std::io::{self, Write};

use serde_json::Value;
use serde_json::ser::PrettyFormatter;

use crate::error::CliError;

use super::Printer;

impl Printer {
    /// One JSON document, pretty-printed, or the results of `--jq` on it.
    pub fn json(&self, value: &Value) -> Result<(), CliError> {
        let text = match &self.jq {
            Some(program) => self.jq_results(program, value)?,
            None => format!("{}\n", to_pretty(value)),
        };
        self.bytes(text.as_bytes())
    }

    /// Starts streaming a JSON array, for lists that arrive page by page.
    pub fn json_array(&self) -> JsonArray<'_> {
        JsonArray {
            printer: self,
            buffered: self.jq.as_ref().map(|_| Vec::new()),
            count: 0,
            scratch: Vec::new(),
        }
    }
}

/// A JSON array written item by item, so a long list is never held in memory whole. With
/// `--jq` the filter needs the whole document, so items are buffered instead.
pub struct JsonArray<'a> {
    printer: &'a Printer,
    buffered: Option<Vec<Value>>,
    count: usize,
    /// The bytes of one write, kept between writes: a list's pages are written into the same
    /// buffer rather than each growing a new one.
    scratch: Vec<u8>,
}

impl JsonArray<'_> {
    /// Adds an element: written at once, laid out exactly as the whole array pretty-printed
    /// would be (serialised straight into place, with no copy of it as a `Value`), or kept for
    /// the `--jq` filter.
    pub fn push(&mut self, item: &impl serde::Serialize) -> Result<(), CliError> {
        self.push_all(std::iter::once(item))
    }

    /// Adds several elements in one write (a page of a list: one write a page, not one an
    /// element).
    pub fn push_all<T: serde::Serialize>(
        &mut self,
        items: impl IntoIterator<Item = T>,
    ) -> Result<(), CliError> {
        let failed = |e: serde_json::Error| CliError::failure(format!("could not write JSON: {e}"));
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        for item in items {
            if let Some(buffered) = &mut self.buffered {
                buffered.push(serde_json::to_value(&item).map_err(failed)?);
                continue;
            }
            out.extend_from_slice(if self.count == 0 { b"[\n  " } else { b",\n  " });
            write_element(&mut out, &item).map_err(failed)?;
            self.count += 1;
        }
        let written = match out.is_empty() {
            true => Ok(()),
            false => self.printer.bytes(&out),
        };
        self.scratch = out;
        written
    }

    pub fn finish(self) -> Result<(), CliError> {
        if let Some(items) = self.buffered {
            return self.printer.json(&Value::Array(items));
        }
        let end = if self.count == 0 { "[]\n" } else { "\n]\n" };
        self.printer.bytes(end.as_bytes())
    }
}

/// `value` pretty-printed, as the whole document.
pub(super) fn to_pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Serialises `item` into `out` as an element of a pretty-printed array: serde_json's
/// `PrettyFormatter` lays it out, and every line it starts is indented one level more.
fn write_element(out: &mut Vec<u8>, item: &impl serde::Serialize) -> serde_json::Result<()> {
    let mut serializer =
        serde_json::Serializer::with_formatter(OneLevelIn(out), PrettyFormatter::new());
    item.serialize(&mut serializer)
}

/// A writer that indents each new line by one level of `PrettyFormatter`'s (two spaces). A
/// line break in JSON text only ever comes from the formatter (inside a string it is `\n`,
/// escaped), so indenting after every `\n` byte moves the whole element one level in.
struct OneLevelIn<'a>(&'a mut Vec<u8>);

impl Write for OneLevelIn<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut rest = bytes;
        while let Some(at) = memchr::memchr(b'\n', rest) {
            self.0.extend_from_slice(&rest[..=at]);
            self.0.extend_from_slice(b"  ");
            rest = &rest[at + 1..];
        }
        self.0.extend_from_slice(rest);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_element_reads_as_the_whole_array_pretty_printed() {
        let items = [
            serde_json::json!({"a": 1, "b": [1, {"c": []}, {}], "d": {"e": null, "f": "x\ny"}}),
            serde_json::json!([]),
            serde_json::json!("text"),
            serde_json::json!({"deep": [[[1, 2], []], {"k": {"l": [true]}}]}),
        ];
        let mut streamed: Vec<u8> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            streamed.extend_from_slice(if i == 0 { b"[\n  " } else { b",\n  " });
            write_element(&mut streamed, item).unwrap();
        }
        streamed.extend_from_slice(b"\n]");
        let whole = serde_json::to_string_pretty(&serde_json::Value::from(items.to_vec())).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), whole);
    }
}
