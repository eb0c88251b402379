//! `rtctl tokens rotate ID…`: new values; the old ones stop working at once.

use super::{Outcome, check_ids, confirm_on_terminal, describe, finish_bulk};
use crate::cli::tokens::{RotateArgs, RotateFormat};
use crate::commands::Context;
use crate::commands::confirm::{Consent, consent};
use crate::error::CliError;
use crate::output::Format;

pub async fn run(ctx: &Context, args: RotateArgs) -> Result<(), CliError> {
    check_ids(&args.ids)?;
    if args.format == RotateFormat::Env {
        if args.ids.len() != 1 {
            return Err(CliError::usage(
                "--format env prints one variable: give exactly one ID",
            ));
        }
        if !is_env_name(&args.env_var) {
            return Err(CliError::usage(format!(
                "--env-var '{}' is not a valid variable name (letters, digits and _, not starting with a digit)",
                args.env_var
            )));
        }
    }
    let consent = consent(ctx, args.yes, "rotate")?;
    let client = ctx.client()?;
    if consent == Consent::Ask {
        confirm_on_terminal(
            &client,
            &args.ids,
            "rotate",
            "The current value stops working immediately: every site using it breaks until it gets the new value.",
        )
        .await?;
    }
    let printer = &ctx.printer;
    let mut outcomes = Vec::new();
    for id in &args.ids {
        let outcome = match client.regenerate(id).await {
            Ok(rotated) => {
                printer.note(&format!(
                    "Rotated {}. The previous value no longer works.",
                    describe(&rotated.token)
                ));
                if printer.format != Format::Json {
                    match args.format {
                        RotateFormat::Value => printer.line(&rotated.value)?,
                        RotateFormat::Env => {
                            printer.line(&format!("{}={}", args.env_var, rotated.value))?
                        }
                    }
                }
                Outcome {
                    id: id.clone(),
                    name: rotated.token.fields.name.clone(),
                    result: Ok(Some(rotated.value)),
                }
            }
            Err(e) => Outcome {
                id: id.clone(),
                name: None,
                result: Err(e.into()),
            },
        };
        outcomes.push(outcome);
    }
    finish_bulk(ctx, outcomes, "rotated")
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
