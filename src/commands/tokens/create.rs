//! `rtctl tokens create`: the new value is printed once, on stdout.

use serde_json::Value;

use super::{describe, flag_conflict, request_from};
use crate::api::types::Warning;
use crate::cli::tokens::CreateArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::output::{Format, Printer};
use crate::token::{Field, rules};

pub(super) async fn run(ctx: &Context, args: CreateArgs) -> Result<(), CliError> {
    let printer = &ctx.printer;
    let flags = &args.fields.0;
    if !flags.is_given(Field::Name) {
        return Err(CliError::usage("create needs --name")
            .with_hint("rtctl tokens create --name NAME --origin ORIGIN --flow ID"));
    }
    if !flags.is_given(Field::AllowedOrigins) {
        return Err(CliError::usage("create needs at least one --origin")
            .with_hint("for example --origin https://app.example.com"));
    }
    let mut request = request_from(flags, ctx)?;
    rules::check_token(&request).map_err(flag_conflict)?;
    // rtctl's own default is the safer one: a test token, said on stderr.
    let defaulted = !request.contains(Field::Environment);
    if defaulted {
        request.set(Field::Environment, Value::String("test".into()));
    }

    let client = ctx.client()?;
    if defaulted {
        printer.note("note: no --environment given: creating a test token (use --environment live for production)");
    }
    let created = client.create(&request).await.map_err(|e| {
        // A create is never retried once it may have reached the server: repeating it could
        // make a second token. Say so, and how to find out.
        let unknown = e.outcome_unknown();
        if e.status() == Some(404) {
            return super::flow_not_found(e, &request);
        }
        let error = CliError::from(e);
        if unknown {
            error
                .with_hint(
                    "the token may or may not have been created: check rtctl tokens list before running create again",
                )
        } else {
            error
        }
    })?;
    show_warnings(printer, &created.warnings);
    printer.note(&format!(
        "Created {}. Its value is shown once; store it now.",
        describe(&created.token)
    ));
    if printer.format == Format::Json {
        printer.json(&Value::Object(created.raw))
    } else {
        printer.line(&created.value)
    }
}

/// The server's warnings, on stderr.
pub(crate) fn show_warnings(printer: &Printer, warnings: &[Warning]) {
    for warning in warnings {
        let message = warning.message.as_deref().unwrap_or("(no message)");
        match warning.kind.as_deref() {
            Some(kind) => printer.warn(&format!("{kind}: {message}")),
            None => printer.warn(message),
        }
    }
}
