//! `rtctl tokens create`: the new value is printed once, on stdout.

use serde_json::Value;

use super::{describe, request_from};
use crate::api::types::Warning;
use crate::cli::tokens::{CreateArgs, Environment};
use crate::commands::Context;
use crate::error::CliError;
use crate::output::{Format, Printer};

pub async fn run(ctx: &Context, args: CreateArgs) -> Result<(), CliError> {
    let printer = &ctx.printer;
    let fields = &args.fields;
    if fields.name.is_none() {
        return Err(CliError::usage("create needs --name")
            .with_hint("rtctl tokens create --name NAME --origin ORIGIN --flow ID"));
    }
    if fields.origins.is_empty() {
        return Err(CliError::usage("create needs at least one --origin")
            .with_hint("for example --origin https://app.example.com"));
    }
    if fields.flows.is_empty() && fields.agents.is_empty() {
        return Err(CliError::usage(
            "a token needs at least one --flow or --agent",
        ));
    }
    if fields.target_version_id.is_some() && fields.agents.len() != 1 {
        return Err(CliError::usage(
            "--target-version-id needs exactly one --agent",
        ));
    }
    let mut request = request_from(fields, printer)?;
    let environment = args.environment.unwrap_or(Environment::Test);
    request.environment = Some(environment.as_str().to_string());
    request.product_surface_id = args.product_surface_id.clone();

    let client = ctx.client()?;
    if args.environment.is_none() {
        printer.note("note: no --environment given: creating a test token (use --environment live for production)");
    }
    let created = client.create(&request).await.map_err(|e| {
        // A create is never retried once it may have reached the server: repeating it could
        // make a second token. Say so, and how to find out.
        let unknown = e.outcome_unknown();
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
pub fn show_warnings(printer: &Printer, warnings: &[Warning]) {
    for warning in warnings {
        let message = warning.message.as_deref().unwrap_or("(no message)");
        match warning.kind.as_deref() {
            Some(kind) => printer.warn(&format!("{kind}: {message}")),
            None => printer.warn(message),
        }
    }
}
