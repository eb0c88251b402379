//! New token values, delivered or the command fails. A created or rotated value may be the
//! only copy, so it is printed as soon as its token is done, in the shape the design fixes:
//! the bare value for one token named by one ID, `ID<TAB>value` lines otherwise (completion
//! order), `NAME=value` for `--format env`, or one JSON array streamed element by element.
//! A value is printed only if it holds no control characters; a closed stdout or a `--jq`
//! filter that drops the values fails the command and names `rtctl tokens value ID`, which
//! reads a value back. Nothing here ever puts a value into an error message.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::Context;
use crate::error::{CliError, ErrorKind};
use crate::output::{Format, JsonArray};

/// How the values are printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The bare value: one token, named by one ID.
    Bare,
    /// `ID<TAB>value` a line, in completion order.
    Lines,
    /// `PREVIOUS_ID<TAB>NEW_ID<TAB>value` a line: successors made by `rotate --overlap`
    /// (the element's `previousId` is the first column).
    Successors,
    /// `NAME=value`, quoted where a shell or a `.env` loader would read more into it.
    Env(String),
    /// One JSON array of outcomes, streamed (buffered under `--jq`).
    Json,
    /// One JSON document for the one value (`tokens create --json`: the whole reply).
    Document,
}

/// Where new values go, shared by work running at once.
pub(crate) struct Delivery<'a> {
    ctx: &'a Context,
    shape: Shape,
    state: Mutex<State<'a>>,
}

struct State<'a> {
    /// The streamed array, when printing JSON without `--jq`.
    array: Option<JsonArray<'a>>,
    /// Everything, when `--jq` needs the whole document first.
    buffered: Vec<Value>,
    /// Ids whose values were printed (or are waiting for `--jq`), with the value.
    values: Vec<(String, String)>,
}

impl<'a> Delivery<'a> {
    /// `shape` unless the output is JSON, which wins.
    pub(crate) fn new(ctx: &'a Context, shape: Shape) -> Delivery<'a> {
        let printer = &ctx.printer;
        let shape = match shape {
            Shape::Document if printer.format == Format::Json => Shape::Document,
            Shape::Document => Shape::Bare,
            _ if printer.format == Format::Json => Shape::Json,
            other => other,
        };
        let array = (shape == Shape::Json && printer.jq().is_none()).then(|| printer.json_array());
        Delivery {
            ctx,
            shape,
            state: Mutex::new(State {
                array,
                buffered: Vec::new(),
                values: Vec::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<'a>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers the new value of token `id`; `element` is its JSON outcome (`{id, name, ok,
    /// value, …}`). Fails, naming `rtctl tokens value ID`, when the value cannot be printed
    /// as it is, or stdout is closed.
    pub(crate) fn value(&self, id: &str, value: &str, element: Value) -> Result<(), CliError> {
        if value.chars().any(char::is_control) {
            return Err(undeliverable(
                id,
                "the server sent a value with control characters, which rtctl does not print",
            ));
        }
        let line = match &self.shape {
            Shape::Bare => value.to_string(),
            Shape::Lines => format!("{id}\t{value}"),
            Shape::Successors => format!(
                "{}\t{id}\t{value}",
                element["previousId"].as_str().unwrap_or_default()
            ),
            Shape::Env(name) => match env_value(value) {
                Some(quoted) => format!("{name}={quoted}"),
                None => {
                    return Err(undeliverable(
                        id,
                        "the value holds a quote, which no env file can carry safely",
                    ));
                }
            },
            Shape::Json | Shape::Document => String::new(),
        };
        let mut state = self.state();
        state.values.push((id.to_string(), value.to_string()));
        let printed = match (&self.shape, &mut state.array) {
            (Shape::Json, Some(array)) => array.push(&element),
            (Shape::Json, None) => {
                state.buffered.push(element);
                Ok(())
            }
            (Shape::Document, _) if self.ctx.printer.jq().is_some() => {
                state.buffered.push(element);
                Ok(())
            }
            (Shape::Document, _) => self.ctx.printer.json(&element),
            _ => self.ctx.printer.line(&line),
        };
        printed.map_err(|e| match e.kind {
            ErrorKind::PipeClosed => {
                undeliverable(id, "stdout was closed before it could be printed")
            }
            _ => undeliverable(id, &e.message),
        })
    }

    /// Records an outcome without a value (a failure) in the JSON array.
    pub(crate) fn outcome(&self, element: Value) -> Result<(), CliError> {
        if self.shape != Shape::Json {
            return Ok(());
        }
        let mut state = self.state();
        match &mut state.array {
            Some(array) => array.push(&element),
            None => {
                state.buffered.push(element);
                Ok(())
            }
        }
    }

    /// Ends the output: closes the array, or runs `--jq` over it. A filter that fails, or
    /// whose output leaves out a new value, is exit 7, saying the values were made.
    pub(crate) fn finish(self) -> Result<(), CliError> {
        let State {
            array,
            buffered,
            values,
        } = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(array) = array {
            return array.finish();
        }
        let printer = &self.ctx.printer;
        let document = match self.shape {
            Shape::Json => Value::Array(buffered),
            Shape::Document => match buffered.into_iter().next() {
                Some(document) => document,
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        let Some(program) = printer.jq() else {
            return printer.json(&document);
        };
        let problem = match crate::jq::run(program, &document) {
            Err(failure) => Some(redact(&failure.describe(), &values)),
            Ok(outputs) => {
                let text: String = outputs.iter().map(Value::to_string).collect();
                let missing: Vec<&str> = values
                    .iter()
                    .filter(|(_, value)| !text.contains(value.as_str()))
                    .map(|(id, _)| id.as_str())
                    .collect();
                if missing.is_empty() {
                    return printer.json(&document);
                }
                Some(format!("left out the new value of {}", missing.join(", ")))
            }
        };
        let ids: Vec<&str> = values.iter().map(|(id, _)| id.as_str()).collect();
        let made = match ids.len() {
            1 => "the new value was made but not printed".to_string(),
            n => format!("{n} new values were made but not printed"),
        };
        Err(CliError::new(
            ErrorKind::Jq,
            format!("the --jq filter {}; {made}", problem.unwrap_or_default()),
        )
        .with_hint(read_back_hint(&ids)))
    }

    /// Before acting: runs `--jq` on a document of the shape this command will print, with a
    /// stand-in value, so a filter that fails or drops the value is refused while nothing
    /// has changed yet.
    pub(crate) fn check_filter(&self, sample: Value, verb: &str) -> Result<(), CliError> {
        let Some(program) = self.ctx.printer.jq() else {
            return Ok(());
        };
        let document = match self.shape {
            Shape::Json => Value::Array(vec![sample]),
            Shape::Document => sample,
            _ => return Ok(()),
        };
        let refuse = |what: String| {
            CliError::new(
                ErrorKind::Jq,
                format!("the --jq filter {what} on what {verb} prints; nothing was changed"),
            )
            .with_hint(match self.shape {
                Shape::Document => format!(
                    "{verb} --json prints the reply: keep the value, for example --jq .token"
                ),
                _ => format!(
                    "{verb} --json prints an array of {{id, name, ok, value}}: keep the values, for example --jq '.[] | .value'"
                ),
            })
        };
        match crate::jq::run(program, &document) {
            Err(failure) => Err(refuse(failure.describe())),
            Ok(outputs) => {
                let text: String = outputs.iter().map(Value::to_string).collect();
                if text.contains(SAMPLE_VALUE) {
                    Ok(())
                } else {
                    Err(refuse("leaves out the new value".into()))
                }
            }
        }
    }
}

/// The stand-in value of a filter's check before acting.
pub(crate) const SAMPLE_VALUE: &str = "ct_test_00000000000000000000000000SAMPLE";

/// A JSON outcome of the shape rotate prints, for [`Delivery::check_filter`].
pub(crate) fn sample_outcome() -> Value {
    json!({"id": "ct_0000000000000000", "name": "Sample", "ok": true, "value": SAMPLE_VALUE})
}

/// A value as it may follow `NAME=` in a shell or a `.env` file: bare when it is only
/// letters, digits, `_` and `-`, single-quoted otherwise; `None` when it holds a quote.
pub(crate) fn env_value(value: &str) -> Option<String> {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some(value.to_string());
    }
    (!value.contains(['\'', '"', '\\']) && !value.chars().any(char::is_control))
        .then(|| format!("'{value}'"))
}

/// The error for a value made but not delivered.
pub(crate) fn undeliverable(id: &str, why: &str) -> CliError {
    CliError::failure(format!(
        "the new value of {id} was made but not printed: {why}"
    ))
    .with_hint(read_back_hint(&[id]))
}

fn read_back_hint(ids: &[&str]) -> String {
    match ids {
        [one] => format!("rtctl tokens value {one} reads it back"),
        many => format!(
            "rtctl tokens value ID reads each back ({})",
            many.join(", ")
        ),
    }
}

/// `text` with every value in `values` replaced, so an error can never carry one.
fn redact(text: &str, values: &[(String, String)]) -> String {
    values.iter().fold(text.to_string(), |text, (_, value)| {
        text.replace(value.as_str(), "[new value]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_bare_or_quoted_or_refused() {
        assert_eq!(env_value("ct_live_abc-D").as_deref(), Some("ct_live_abc-D"));
        assert_eq!(env_value("a$(rm -rf ~)").as_deref(), Some("'a$(rm -rf ~)'"));
        assert_eq!(env_value("a'b"), None);
        assert_eq!(env_value("a\nB=1"), None);
    }

    #[test]
    fn redaction_removes_every_value() {
        let values = vec![("ct_1".to_string(), "ct_live_SECRET".to_string())];
        assert_eq!(
            redact("cannot index ct_live_SECRET with x", &values),
            "cannot index [new value] with x"
        );
    }
}
