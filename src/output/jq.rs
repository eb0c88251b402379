//! What `--jq` prints: the filter's results, one a line, the way gh prints them.

use serde_json::Value;

use crate::error::CliError;

use super::Printer;
use super::json::to_pretty;

impl Printer {
    /// The results of the `--jq` `program` on `value`, each on a line of its own: a string
    /// raw (so `--jq .id` is ready for `$(…)`), anything else as pretty JSON. A string is
    /// escaped only where a terminal would obey what it holds.
    pub(super) fn jq_results(
        &self,
        program: &crate::jq::Program,
        value: &Value,
    ) -> Result<String, CliError> {
        let mut text = String::new();
        for result in crate::jq::run(program, value).map_err(|f| f.error())? {
            match result {
                Value::String(s) if self.terminal.stdout => {
                    text.push_str(&crate::untrusted::for_terminal(&s, true))
                }
                Value::String(s) => text.push_str(&s),
                other => text.push_str(&to_pretty(&other)),
            }
            text.push('\n');
        }
        Ok(text)
    }
}
