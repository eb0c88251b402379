//! `rtctl tokens create`: the new value is printed once, on stdout.

use serde_json::{Value, json};

use super::{flag_conflict, request_from};
use crate::cli::tokens::CreateArgs;
use crate::error::CliError;
use crate::ops::confirm;
use crate::ops::deliver::{Delivery, NewValue, SAMPLE_ID, SAMPLE_VALUE, ValueFormat};
use crate::ops::present::{describe, show_warnings};
use crate::session::Context;
use crate::token::{Field, TokenView, rules};

pub(super) async fn run(ctx: &Context, args: CreateArgs) -> Result<(), CliError> {
    let printer = &ctx.printer;
    let flags = &args.fields.0;
    let sink = ctx.sink(args.sink.to_command.as_deref(), args.sink.timeout())?;
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

    let origins: Vec<String> = request
        .strings(Field::AllowedOrigins)
        .into_iter()
        .map(str::to_string)
        .collect();
    let environment = request
        .text(Field::Environment)
        .unwrap_or("test")
        .to_string();
    let risks = confirm::risks(&environment, &[], Some(&origins), false);
    let subject = format!(
        "The new token \"{}\"",
        request.text(Field::Name).unwrap_or_default()
    );
    confirm::consent_to(ctx, &subject, &risks, args.yes).await?;

    let delivery = Delivery::new(ctx, ValueFormat::Document, sink.as_ref());
    // `--json` prints the token as `get --json` and `list --json` do, with its new value.
    delivery.check_filter(
        json!({"id": SAMPLE_ID, "tokenValue": SAMPLE_VALUE}),
        "create",
    )?;
    let client = ctx.client()?;
    if let Some(input) = &args.surface {
        let catalogue = crate::ops::surfaces::Catalogue::load(&client).await?;
        let surface = crate::ops::surfaces::bind(
            ctx,
            &client,
            &catalogue,
            input,
            &request.strings(Field::FlowIds),
            &request.strings(Field::AgentIds),
        )
        .await?;
        request.set(Field::ProductSurfaceId, Value::String(surface));
    }
    if defaulted {
        printer.note("note: no --environment given: creating a test token (use --environment live for production)");
    }
    let name = request.text(Field::Name).unwrap_or_default();
    // From the request on, the new value must reach its user: a signal waits until it has.
    let _hold = ctx.signals.hold();
    // Whether the name is taken is read while the token is created: advice never delays it
    // by more than a moment once the token exists.
    let (created, holders) =
        super::same_name::beside(client.create(&request), &client, name, ctx.advice_grace).await;
    let created = created.map_err(|e| {
        // A create is never retried once it may have reached the server: repeating it could
        // make a second token. Say so, and how to find out.
        // The local emulator undoes a change it could not save: certainly not created.
        let unknown = e.outcome_unknown() && e.code() != Some(crate::emulator::STATE_NOT_SAVED);
        if e.status() == Some(404) {
            return super::flow_not_found(e, &request);
        }
        let error = CliError::from(e);
        if unknown {
            error.with_hint(
                "the token may or may not have been created: check rtctl tokens list before running create again",
            )
        } else {
            error
        }
    })?;
    let id = created.token.id().to_string();
    super::same_name::warn_if_taken(printer, name, holders, &id);
    show_warnings(printer, &created.warnings);
    crate::ops::deliver::confirm_current(&client, &id, &created.value, "created").await?;
    let made = format!(
        "Created {}. Read its value again any time with rtctl tokens value {id}.",
        describe(&created.token)
    );
    // Said before the value is printed; with a sink, once the sink has it (or the token
    // goes).
    if sink.is_none() {
        printer.note(&made);
    }
    let mut token = created.token.raw.clone();
    token.insert(
        Field::TokenValue.json().into(),
        Value::String(created.value.clone()),
    );
    let new = NewValue {
        id: &id,
        name: created.token.text(Field::Name),
        environment: created.token.environment(),
        previous: None,
        value: &created.value,
    };
    if let Err(undelivered) = delivery.value(&new, Value::Object(token)).await {
        if !undelivered.may_undo() {
            return Err(undelivered.error(&delivery, &id, "; the new token stays"));
        }
        // Nobody has the value, and nobody uses the token yet: it goes.
        let why = undelivered.why().to_string();
        return Err(match client.delete(&id).await {
            Ok(_) => CliError::failure(format!(
                "the new token's value was not delivered ({why}); rtctl deleted the token {id}, so nothing changed"
            ))
            .with_hint("fix what the command needs, then run the same rtctl command again"),
            Err(e) => CliError::failure(format!(
                "the value of the new token {id} was not delivered ({why}), and deleting it failed ({e}): the account changed"
            ))
            .with_hint(format!(
                "delete it with rtctl tokens delete {id} --yes, or deliver its value with {}",
                delivery.redeliver(&id)
            )),
        });
    }
    if sink.is_some() {
        printer.note(&made);
    }
    delivery.finish()?;
    match ctx.signals.received() {
        Some(signal) => Err(CliError::interrupted(signal)),
        None => Ok(()),
    }
}
