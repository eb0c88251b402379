//! `--jq EXPR`: jq filters evaluated with jaq, so scripts need no jq binary.
//!
//! A filter sees only the document and the `--jq-arg NAME=VALUE` variables (as `$NAME`):
//! not rtctl's environment (`env` is removed, so `env.RUNTYPE_API_KEY` cannot print the key).
//! `halt` and `halt_error` end the filter, not the process. And since a filter can recurse
//! without bound (`def f: [f]; f`), which would overflow the stack and abort, the binary runs
//! every filter in a child process of its own (`rtctl __jq`), bounded in time: a filter that
//! crashes or hangs its child is an error of the filter, never of rtctl.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;
use serde_json::{Value, json};

use crate::error::{CliError, ErrorKind};

type Filter = jaq_core::Filter<data::JustLut<Val>>;

/// The argument the binary's jq child is started with.
pub const CHILD_ARG: &str = "__jq";
/// How long a filter may run.
const TIME_LIMIT: Duration = Duration::from_secs(10);
/// The most a filter's output may hold.
const OUTPUT_LIMIT: u64 = 64 * 1024 * 1024;

/// A filter and the variables it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub code: String,
    /// `--jq-arg NAME=VALUE`, in order: `$NAME` in the filter.
    pub args: Vec<(String, String)>,
    /// Run in a child process (the binary); in-process (tests), where nothing can recurse
    /// the test process to death.
    pub isolated: bool,
}

/// How a filter failed to give output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A runtime error, as jaq describes it.
    Error(String),
    /// `halt_error` or `halt(N)` with N not 0.
    Halted(i32),
    /// The child died: the filter overflowed the stack (deep recursion) or was killed.
    Crashed,
    /// The filter ran longer than the time limit.
    TimedOut,
}

impl Failure {
    /// The failure as the end of "the --jq filter …".
    pub(crate) fn describe(&self) -> String {
        match self {
            Failure::Error(e) => format!("failed: {e}"),
            Failure::Halted(code) => format!("halted with exit code {code}"),
            Failure::Crashed => {
                "crashed (it recursed too deeply, or its process was killed)".into()
            }
            Failure::TimedOut => format!("ran longer than {} s", TIME_LIMIT.as_secs()),
        }
    }

    /// The error for a filter that failed on output that holds nothing secret.
    pub(crate) fn error(&self) -> CliError {
        CliError::new(
            ErrorKind::Jq,
            format!("the --jq filter {}", self.describe()),
        )
    }
}

fn compile(code: &str, args: &[(String, String)]) -> Result<Filter, CliError> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    // The filter sees no environment: `env` would hand it RUNTYPE_API_KEY.
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, ..)| *name != "env");
    let arena = Arena::default();
    let loader = Loader::new(defs);
    let invalid = |detail: String| {
        CliError::usage(format!("invalid --jq expression '{code}': {detail}"))
            .with_hint("see https://jqlang.org/manual/ for the syntax")
    };
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errors| invalid(describe_load_errors(&errors)))?;
    let names: Vec<String> = args.iter().map(|(name, _)| format!("${name}")).collect();
    Compiler::default()
        .with_funs(funs)
        .with_global_vars(names.iter().map(String::as_str))
        .compile(modules)
        .map_err(|errors| {
            let undefined: Vec<&str> = errors
                .iter()
                .flat_map(|(_, errs)| errs.iter().map(|(name, _)| *name))
                .collect();
            let names: Vec<String> = undefined
                .iter()
                .map(|n| format!("undefined: {n}"))
                .collect();
            let error = invalid(names.join(", "));
            match undefined_hint(&undefined) {
                Some(hint) => error.with_hint(hint),
                None => error,
            }
        })
}

/// What to do about undefined names that a filter meant to read from outside: the
/// environment (`env`, `$ENV`), which the filter does not see, or a variable never given.
fn undefined_hint(names: &[&str]) -> Option<String> {
    if names.iter().any(|n| matches!(*n, "env" | "$ENV")) {
        return Some(
            "the filter cannot read the environment (it would reach RUNTYPE_API_KEY): pass what it needs with --jq-arg NAME=VALUE and use it as $NAME"
                .into(),
        );
    }
    let variable = names.iter().find_map(|n| n.strip_prefix('$'))?;
    Some(format!(
        "give ${variable} a value with --jq-arg {variable}=VALUE"
    ))
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

/// Checks a filter compiles and its `--jq-arg` names are names, so a typo is a usage error
/// before any request is made.
pub(crate) fn check(program: &Program) -> Result<(), CliError> {
    for (name, _) in &program.args {
        let mut chars = name.chars();
        let plain = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(CliError::usage(format!(
                "--jq-arg '{name}': a variable name is letters, digits and _, not starting with a digit"
            )));
        }
    }
    compile(&program.code, &program.args).map(|_| ())
}

/// Runs `program` on `input`: its outputs, or how it failed. A `halt` (exit code 0) ends the
/// outputs early.
pub(crate) fn run(program: &Program, input: &Value) -> Result<Vec<Value>, Failure> {
    if program.isolated {
        run_isolated(program, input)
    } else {
        evaluate(&program.code, &program.args, input)
    }
}

/// Evaluates here and now.
fn evaluate(code: &str, args: &[(String, String)], input: &Value) -> Result<Vec<Value>, Failure> {
    let filter = compile(code, args).map_err(|e| Failure::Error(e.message))?;
    let text = input.to_string();
    let input = jaq_json::read::parse_single(text.as_bytes())
        .map_err(|e| Failure::Error(format!("could not read the JSON: {e}")))?;
    let vars = Vars::new(args.iter().map(|(_, value)| Val::from(value.clone())));
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, vars);
    let mut outputs = Vec::new();
    for result in filter.id.run((ctx, input)) {
        let value = match result {
            Ok(value) => value,
            Err(exn) => match exn.get_err() {
                Ok(error) => return Err(Failure::Error(error.to_string())),
                Err(exn) => match exn.get_halt() {
                    Ok(0) => break,
                    Ok(code) => return Err(Failure::Halted(code)),
                    Err(_) => return Err(Failure::Error("the filter failed".into())),
                },
            },
        };
        let json = serde_json::from_str(&value.to_string())
            .map_err(|e| Failure::Error(format!("it produced a value that is not JSON: {e}")))?;
        outputs.push(json);
    }
    Ok(outputs)
}

/// Runs the filter in a child process of this binary, bounded in time and output.
fn run_isolated(program: &Program, input: &Value) -> Result<Vec<Value>, Failure> {
    let failed = |e: std::io::Error| Failure::Error(format!("could not run the filter: {e}"));
    let exe = std::env::current_exe().map_err(failed)?;
    let mut child = Command::new(exe)
        .arg(CHILD_ARG)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(failed)?;
    let job = json!({"code": program.code, "args": program.args, "input": input});
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(job.to_string().as_bytes());
    });
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(OUTPUT_LIMIT + 1).read_to_end(&mut out);
        out
    });
    let deadline = std::time::Instant::now() + TIME_LIMIT;
    let status = loop {
        match child.try_wait().map_err(failed)? {
            Some(status) => break status,
            None if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::TimedOut);
            }
            // A child has no event to wait on with a bound: look again shortly.
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    if !status.success() || out.len() as u64 > OUTPUT_LIMIT {
        return Err(Failure::Crashed);
    }
    match serde_json::from_slice::<Value>(&out) {
        Ok(Value::Object(reply)) => match (reply.get("outputs"), reply.get("failure")) {
            (Some(Value::Array(outputs)), _) => Ok(outputs.clone()),
            (_, Some(failure)) => Err(match failure.get("halted").and_then(Value::as_i64) {
                Some(code) => Failure::Halted(i32::try_from(code).unwrap_or(1)),
                None => Failure::Error(
                    failure["error"]
                        .as_str()
                        .unwrap_or("the filter failed")
                        .into(),
                ),
            }),
            _ => Err(Failure::Crashed),
        },
        _ => Err(Failure::Crashed),
    }
}

/// The child's side (`rtctl __jq`): a job as JSON on stdin, the outputs or the failure as
/// JSON on stdout.
pub fn child_main() -> u8 {
    let mut text = String::new();
    if std::io::stdin().read_to_string(&mut text).is_err() {
        return 1;
    }
    let Ok(job) = serde_json::from_str::<Value>(&text) else {
        return 1;
    };
    let code = job["code"].as_str().unwrap_or_default().to_string();
    let args: Vec<(String, String)> =
        serde_json::from_value(job["args"].clone()).unwrap_or_default();
    let reply = match evaluate(&code, &args, &job["input"]) {
        Ok(outputs) => json!({ "outputs": outputs }),
        Err(Failure::Halted(code)) => json!({ "failure": { "halted": code } }),
        Err(other) => {
            json!({ "failure": { "error": match other { Failure::Error(e) => e, f => f.describe() } } })
        }
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(reply.to_string().as_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn program(code: &str) -> Program {
        Program {
            code: code.into(),
            args: Vec::new(),
            isolated: false,
        }
    }

    #[test]
    fn filters_select_map_and_report_errors() {
        let input = json!([{"name": "a", "isActive": true}, {"name": "b", "isActive": false}]);
        let run = |code: &str| run(&program(code), &input);
        assert_eq!(
            run(".[] | select(.isActive) | .name").unwrap(),
            [json!("a")]
        );
        assert_eq!(run("map(.name) | length").unwrap(), [json!(2)]);
        assert_eq!(
            run(r#"[.[] | .name | test("b")]"#).unwrap(),
            [json!([false, true])]
        );
        let err = check(&program(".[")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message.contains("invalid --jq"), "{}", err.message);
        assert_eq!(
            check(&program("nosuchfunction")).unwrap_err().exit_code(),
            2
        );
        assert!(matches!(run(".a"), Err(Failure::Error(_))));
    }

    #[test]
    fn halts_end_the_filter_not_the_process() {
        let input = json!([1, 2, 3]);
        assert_eq!(
            run(&program(".[] | if . == 2 then halt else . end"), &input),
            Ok(vec![json!(1)])
        );
        assert_eq!(run(&program("halt_error"), &input), Err(Failure::Halted(5)));
        assert_eq!(
            run(&program("halt_error(3)"), &input),
            Err(Failure::Halted(3))
        );
    }

    #[test]
    fn the_environment_is_out_of_reach_and_args_are_variables() {
        assert!(check(&program("env")).is_err());
        assert!(check(&program("$ENV")).is_err());
        let with_args = Program {
            code: "[$who, $n]".into(),
            args: vec![("who".into(), "ci".into()), ("n".into(), "2".into())],
            isolated: false,
        };
        check(&with_args).unwrap();
        assert_eq!(run(&with_args, &json!(null)), Ok(vec![json!(["ci", "2"])]));
        let bad = Program {
            args: vec![("1x".into(), "v".into())],
            ..with_args
        };
        assert_eq!(check(&bad).unwrap_err().exit_code(), 2);
    }
}
