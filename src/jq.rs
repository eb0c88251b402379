//! `--jq EXPR`: jq filters evaluated in-process with jaq, so scripts need no jq binary.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde_json::Value;

use crate::error::CliError;

type Filter = jaq_core::Filter<data::JustLut<Val>>;

fn compile(code: &str) -> Result<Filter, CliError> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let arena = Arena::default();
    let loader = Loader::new(defs);
    let invalid = |detail: String| {
        CliError::usage(format!("invalid --jq expression '{code}': {detail}"))
            .with_hint("see https://jqlang.org/manual/ for the syntax")
    };
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errors| invalid(describe_load_errors(&errors)))?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| {
            let names: Vec<String> = errors
                .iter()
                .flat_map(|(_, errs)| errs.iter().map(|(name, _)| format!("undefined: {name}")))
                .collect();
            invalid(names.join(", "))
        })
}

fn describe_load_errors<P>(errors: &jaq_core::load::Errors<&str, P>) -> String {
    let mut parts = Vec::new();
    for (_, error) in errors {
        parts.push(match error {
            jaq_core::load::Error::Io(items) => items
                .iter()
                .map(|(p, e)| format!("{p}: {e}"))
                .collect::<Vec<_>>()
                .join(", "),
            jaq_core::load::Error::Lex(items) => {
                expectations(items.iter().map(|(e, f)| (e.as_str(), *f)))
            }
            jaq_core::load::Error::Parse(items) => {
                expectations(items.iter().map(|(e, f)| (e.as_str(), *f)))
            }
        });
    }
    parts.join("; ")
}

/// "expected X at 'found'" for each place the lexer or parser stopped.
fn expectations<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let parts: Vec<String> = items
        .map(|(expected, found)| format!("expected {expected} at '{}'", snippet(found)))
        .collect();
    parts.join(", ")
}

fn snippet(found: &str) -> String {
    let s: String = found.chars().take(20).collect();
    if s.is_empty() {
        "end of input".into()
    } else {
        s
    }
}

/// Checks a filter compiles, so a typo is a usage error before any request is made.
pub(crate) fn check(code: &str) -> Result<(), CliError> {
    compile(code).map(|_| ())
}

/// Runs a filter on a JSON document and returns its outputs.
pub(crate) fn run(code: &str, input: Value) -> Result<Vec<Value>, CliError> {
    let filter = compile(code)?;
    let text = input.to_string();
    let input = jaq_json::read::parse_single(text.as_bytes())
        .map_err(|e| CliError::failure(format!("--jq: could not read the JSON: {e}")))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut outputs = Vec::new();
    for result in filter.id.run((ctx, input)).map(unwrap_valr) {
        let value = result.map_err(|e| CliError::failure(format!("--jq: {e}")))?;
        let json = serde_json::from_str(&value.to_string()).map_err(|e| {
            CliError::failure(format!("--jq produced a value that is not JSON: {e}"))
        })?;
        outputs.push(json);
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_select_map_and_report_errors() {
        let input = json!([{"name": "a", "isActive": true}, {"name": "b", "isActive": false}]);
        assert_eq!(
            run(".[] | select(.isActive) | .name", input.clone()).unwrap(),
            [json!("a")]
        );
        assert_eq!(
            run("map(.name) | length", input.clone()).unwrap(),
            [json!(2)]
        );
        assert_eq!(
            run(r#"[.[] | .name | test("b")]"#, input.clone()).unwrap(),
            [json!([false, true])]
        );
        let err = check(".[").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message.contains("invalid --jq"), "{}", err.message);
        assert_eq!(check("nosuchfunction").unwrap_err().exit_code(), 2);
        assert_eq!(run(".a", json!(5)).unwrap_err().exit_code(), 1);
    }
}
