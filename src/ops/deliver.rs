//! New token values, delivered or the command fails. A created or rotated value may be the
//! only copy, so it is delivered as soon as its token is done, confirmed current: printed in
//! the shape the design fixes (the bare value for one token named by one ID, `ID<TAB>value`
//! lines otherwise, in completion order, `NAME=value` for `--format env`, or one JSON array
//! streamed element by element), or with `--to-command` handed to a sink ([`crate::sink`]),
//! and then stdout lists only the ids delivered.
//!
//! A value is printed only if it holds no control characters; a closed stdout or a `--jq`
//! filter that drops the values fails the command and names `rtctl tokens value ID`, which
//! reads a value back. A sink that fails is reported to the caller, which undoes what can be
//! undone. Nothing here ever puts a value into an error message.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::api::Client;
use crate::error::{CliError, ErrorKind};
use crate::ops::bulk::{self, Target};
use crate::output::{Format, JsonArray, Progress};
use crate::session::Context;
use crate::signals::Signal;
use crate::sink::{Handoff, Outcome, Sink};
use crate::token::Field;

/// How the values are printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueFormat {
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
    /// One JSON document for the one value (`tokens create --json`: the whole token).
    Document,
}

/// A new value, and the token it belongs to as a sink's environment describes it.
pub(crate) struct NewValue<'v> {
    pub id: &'v str,
    pub name: Option<&'v str>,
    pub environment: &'v str,
    /// The token it replaces: a successor's predecessor, a replacement's original.
    pub previous: Option<&'v str>,
    pub value: &'v str,
}

/// Why a value did not reach its user.
pub(crate) enum Undelivered {
    /// The sink exited non-zero: nobody has the value, so what made it may be undone.
    Refused { why: String },
    /// The sink was stopped (a timeout, a signal, killed): it may have stored the value
    /// before, so nothing is undone. `signal` is the one rtctl received, if any.
    Unknown { why: String, signal: Option<Signal> },
    /// stdout could not take the value (closed, or the value holds control characters): the
    /// token stays, and its value can be read back.
    Unprinted(CliError),
}

impl Undelivered {
    /// Whether nobody has the value, so the token that holds it may be deleted.
    pub(crate) fn may_undo(&self) -> bool {
        matches!(self, Undelivered::Refused { .. })
    }

    /// What went wrong, in a few words: `gh exited with status 1`.
    pub(crate) fn why(&self) -> &str {
        match self {
            Undelivered::Refused { why } | Undelivered::Unknown { why, .. } => why,
            Undelivered::Unprinted(error) => &error.message,
        }
    }

    /// The error when nothing was undone; `made` says what became of the token (`; it was
    /// rotated, so its old value no longer works`), and the hint is how to deliver it again.
    pub(crate) fn error(self, delivery: &Delivery<'_>, id: &str, made: &str) -> CliError {
        match self {
            Undelivered::Unprinted(error) => error,
            Undelivered::Refused { why } => CliError::failure(format!(
                "the value of {id} was not delivered: {why}{made}"
            ))
            .with_hint(format!(
                "fix what the command needs, then deliver it with {}",
                delivery.redeliver(id)
            )),
            Undelivered::Unknown { why, signal } => CliError::new(
                signal.map_or(ErrorKind::Failure, ErrorKind::Interrupted),
                format!(
                    "whether the value of {id} was delivered is unknown ({why}); nothing was undone{made}"
                ),
            )
            .with_hint(format!(
                "check where it should be stored; deliver it again with {}",
                delivery.redeliver(id)
            )),
        }
    }
}

/// Where new values go, shared by work running at once.
pub(crate) struct Delivery<'a> {
    ctx: &'a Context,
    shape: ValueFormat,
    sink: Option<&'a Sink>,
    state: Mutex<State<'a>>,
    /// A delivery failed or its outcome is unknown: no new work may start.
    halted: AtomicBool,
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
    /// `shape` unless the output is JSON, which wins; values go to `sink` when there is one.
    pub(crate) fn new(
        ctx: &'a Context,
        shape: ValueFormat,
        sink: Option<&'a Sink>,
    ) -> Delivery<'a> {
        let printer = &ctx.printer;
        let shape = match shape {
            ValueFormat::Document if printer.format == Format::Json => ValueFormat::Document,
            ValueFormat::Document => ValueFormat::Bare,
            _ if printer.format == Format::Json => ValueFormat::Json,
            other => other,
        };
        let array =
            (shape == ValueFormat::Json && printer.jq().is_none()).then(|| printer.json_array());
        Delivery {
            ctx,
            shape,
            sink,
            state: Mutex::new(State {
                array,
                buffered: Vec::new(),
                values: Vec::new(),
            }),
            halted: AtomicBool::new(false),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<'a>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why a bulk run must start no more work, if it must: a delivery failed (or may have),
    /// or stdout, where values go without a sink, was closed.
    pub(crate) fn halted(&self) -> Option<&'static str> {
        if self.halted.load(Ordering::SeqCst) {
            Some("a delivery failed")
        } else if self.sink.is_none() && self.ctx.printer.stdout_closed() {
            Some("stdout was closed")
        } else {
            None
        }
    }

    /// Whether values go to a `--to-command` sink.
    pub(crate) fn has_sink(&self) -> bool {
        self.sink.is_some()
    }

    /// The command that delivers `id`'s value again: `rtctl tokens value ID` (and the
    /// `--to-command` given).
    pub(crate) fn redeliver(&self, id: &str) -> String {
        match self.sink {
            Some(sink) => format!("rtctl tokens value {id} {}", sink.flag()),
            None => format!("rtctl tokens value {id}"),
        }
    }

    /// Delivers a new value; `element` is its JSON outcome (`{id, name, ok, value, …}`, or
    /// the whole token for [`ValueFormat::Document`]).
    pub(crate) async fn value(
        &self,
        new: &NewValue<'_>,
        element: Value,
    ) -> Result<(), Undelivered> {
        let id = new.id;
        if new.value.chars().any(char::is_control) {
            self.halted.store(true, Ordering::SeqCst);
            return Err(Undelivered::Unprinted(undeliverable(
                id,
                "the server sent a value with control characters, which rtctl does not pass on",
            )));
        }
        let result = match self.sink {
            Some(sink) => self.hand_over(sink, new, element).await,
            None => self.print(new, element).map_err(Undelivered::Unprinted),
        };
        if result.is_err() {
            self.halted.store(true, Ordering::SeqCst);
        }
        result
    }

    /// Hands the value to the sink; once it took it, stdout gets the id (a closed stdout is
    /// no failure then: the value is where it belongs).
    async fn hand_over(
        &self,
        sink: &Sink,
        new: &NewValue<'_>,
        mut element: Value,
    ) -> Result<(), Undelivered> {
        let handoff = Handoff {
            id: new.id,
            name: new.name,
            environment: new.environment,
            previous: new.previous,
            value: new.value,
        };
        match sink
            .deliver(&handoff, &self.ctx.printer, &self.ctx.signals)
            .await
        {
            Outcome::Delivered => {}
            Outcome::Refused(why) => return Err(Undelivered::Refused { why }),
            Outcome::Unknown { why, signal } => return Err(Undelivered::Unknown { why, signal }),
        }
        if let Some(fields) = element.as_object_mut() {
            fields.remove("value");
            if fields.get(Field::TokenValue.json()).is_some() {
                let masked = crate::output::mask(
                    fields
                        .get(Field::TokenPrefix.json())
                        .and_then(Value::as_str),
                    fields.get(Field::TokenHint.json()).and_then(Value::as_str),
                );
                fields.insert(Field::TokenValue.json().into(), Value::String(masked));
            }
            fields.insert("delivered".into(), Value::Bool(true));
        }
        let line = match (&self.shape, new.previous) {
            (ValueFormat::Successors, Some(previous)) => format!("{previous}\t{}", new.id),
            _ => new.id.to_string(),
        };
        let _ = self.emit(&line, element);
        Ok(())
    }

    /// Prints the value in the command's shape. Fails, naming `rtctl tokens value ID`, when
    /// the value cannot be printed as it is, or stdout is closed.
    fn print(&self, new: &NewValue<'_>, element: Value) -> Result<(), CliError> {
        let (id, value) = (new.id, new.value);
        let line = match &self.shape {
            ValueFormat::Bare => value.to_string(),
            ValueFormat::Lines => format!("{id}\t{value}"),
            ValueFormat::Successors => {
                format!("{}\t{id}\t{value}", new.previous.unwrap_or_default())
            }
            ValueFormat::Env(name) => match env_value(value) {
                Some(quoted) => format!("{name}={quoted}"),
                None => {
                    return Err(undeliverable(
                        id,
                        "the value holds a quote, which no env file can carry safely",
                    ));
                }
            },
            ValueFormat::Json | ValueFormat::Document => String::new(),
        };
        self.state()
            .values
            .push((id.to_string(), value.to_string()));
        self.emit(&line, element).map_err(|e| match e.kind {
            ErrorKind::PipeClosed => {
                undeliverable(id, "stdout was closed before it could be printed")
            }
            _ => undeliverable(id, &e.message),
        })
    }

    /// Writes a line, or the element into the JSON output.
    fn emit(&self, line: &str, element: Value) -> Result<(), CliError> {
        let mut state = self.state();
        match (&self.shape, &mut state.array) {
            (ValueFormat::Json, Some(array)) => array.push(&element),
            (ValueFormat::Json, None) => {
                state.buffered.push(element);
                Ok(())
            }
            (ValueFormat::Document, _) if self.ctx.printer.jq().is_some() => {
                state.buffered.push(element);
                Ok(())
            }
            (ValueFormat::Document, _) => self.ctx.printer.json(&element),
            _ => self.ctx.printer.line(line),
        }
    }

    /// Records an outcome without a value (a failure) in the JSON array.
    pub(crate) fn outcome(&self, element: Value) -> Result<(), CliError> {
        if self.shape != ValueFormat::Json {
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
    /// whose output leaves out a printed value, is exit 7, saying the values were made. With a
    /// sink the values are delivered already, and any filter goes.
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
            ValueFormat::Json => Value::Array(buffered),
            ValueFormat::Document => match buffered.into_iter().next() {
                Some(document) => document,
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        let Some(program) = printer.jq() else {
            return printer.json(&document);
        };
        let problem = match crate::jq::run(program, &document) {
            Err(failure) if self.sink.is_some() => return Err(failure.error()),
            Err(failure) => Some(redact(&failure.describe(), &values)),
            Ok(outputs) => {
                let text: String = outputs.iter().map(Value::to_string).collect();
                // `create --jq .id`: the id is enough, the value can be read again.
                let kept_id = |id: &str| self.shape == ValueFormat::Document && text.contains(id);
                let missing: Vec<&str> = values
                    .iter()
                    .filter(|(id, value)| !text.contains(value.as_str()) && !kept_id(id))
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
    /// has changed yet. `create` may keep the id instead (the value can be read again); with
    /// a sink the value is not in the document, and any filter goes.
    pub(crate) fn check_filter(&self, sample: Value, verb: &str) -> Result<(), CliError> {
        let Some(program) = self.ctx.printer.jq() else {
            return Ok(());
        };
        if self.sink.is_some() {
            return Ok(());
        }
        let keys: Vec<String> = sample
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let document = match self.shape {
            ValueFormat::Json => Value::Array(vec![sample]),
            ValueFormat::Document => sample,
            _ => return Ok(()),
        };
        let refuse = |what: String| {
            CliError::new(
                ErrorKind::Jq,
                format!("the --jq filter {what} on what {verb} prints; nothing was changed"),
            )
            .with_hint(match self.shape {
                ValueFormat::Document => format!(
                    "{verb} --json prints the new token: keep its id (--jq .id, then read the value with rtctl tokens value ID) or its value (--jq .tokenValue)"
                ),
                _ => format!(
                    "{verb} --json prints an array of {{{}}}: keep the values, for example --jq '.[] | .value'",
                    keys.join(", ")
                ),
            })
        };
        match crate::jq::run(program, &document) {
            Err(failure) => Err(refuse(failure.describe())),
            Ok(outputs) => {
                let text: String = outputs.iter().map(Value::to_string).collect();
                let kept_id = self.shape == ValueFormat::Document && text.contains(SAMPLE_ID);
                if text.contains(SAMPLE_VALUE) || kept_id {
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
/// The stand-in id of a filter's check before acting.
pub(crate) const SAMPLE_ID: &str = "ct_0000000000000000";

/// A JSON outcome of the shape rotate prints, for [`Delivery::check_filter`].
pub(crate) fn sample_outcome() -> Value {
    json!({"id": SAMPLE_ID, "name": "Sample", "ok": true, "value": SAMPLE_VALUE})
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

/// Checks that `value` is `id`'s current value, just after it was `made` ("rotated",
/// "created"). Another rotation may have happened since (an earlier attempt of this very
/// command, carried out late): then the value in hand is already dead, and printing it as a
/// success would break every site given it.
pub(crate) async fn confirm_current(
    client: &Client,
    id: &str,
    value: &str,
    made: &str,
) -> Result<(), CliError> {
    match client.value(id).await {
        Ok(current) if current == value => Ok(()),
        Ok(_) => Err(CliError::failure(format!(
            "{id} was {made}, but its current value is not the one the reply gave: it was rotated since (perhaps by an earlier attempt, carried out late); the outcome is unknown and no value is printed"
        ))
        .with_hint(format!("rtctl tokens value {id} reads the current value"))),
        Err(e) => Err(CliError::failure(format!(
            "{id} was {made}, but confirming that the new value is current failed ({e}); the value is not printed"
        ))
        .with_hint(format!("rtctl tokens value {id} reads the current value"))),
    }
}

/// Runs `make` on every target, at most `concurrency` at once; `make` delivers each new value
/// through the delivery as soon as it is made, and returns the token's name. Then reports
/// every outcome; a signal received meanwhile is the exit code even when everything sent was
/// finished. `work` is what is being done and done ("rotating", "rotated").
pub(crate) async fn deliver_each<F>(
    ctx: &Context,
    targets: &[Target],
    concurrency: usize,
    delivery: Delivery<'_>,
    (doing, done): (&str, &str),
    make: F,
) -> Result<(), CliError>
where
    F: AsyncFn(&Target, &Progress, &Delivery<'_>) -> Result<Option<String>, CliError>,
{
    let delivery_ref = &delivery;
    let make = &make;
    let one = async |target: &Target, progress: &Progress| {
        let mut outcome = bulk::Outcome {
            action: "rotate",
            id: Some(target.id.clone()),
            name: target.name(),
            result: Ok(None),
        };
        match make(target, progress, delivery_ref).await {
            Ok(name) => outcome.name = name.or(outcome.name),
            Err(error) => {
                outcome.result = Err(error);
                // The array carries failures too; a second failure to print one changes
                // nothing about the exit code.
                let _ = delivery_ref.outcome(outcome.to_json(false));
            }
        }
        outcome
    };
    let halted = || delivery_ref.halted();
    let outcomes = bulk::run_each(ctx, targets, concurrency, (doing, "rotate"), &halted, one).await;
    let finished = delivery.finish();
    let reported = bulk::report(ctx, outcomes, done, false);
    // The run was asked to stop: say so in the exit code, whatever else it says.
    match (finished.and(reported), ctx.signals.received()) {
        (Err(mut error), Some(signal)) => {
            error.kind = crate::error::ErrorKind::Interrupted(signal);
            Err(error)
        }
        (Err(error), None) => Err(error),
        (Ok(()), Some(signal)) => Err(CliError::interrupted(signal)),
        (Ok(()), None) => Ok(()),
    }
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
