//! Completion of what only the API knows (token ids, surfaces, a token's origins), called
//! back by the shell at each Tab through the completers the command-line grammar names.
//!
//! Each runs a quiet session of the command line's global options on a thread of its own,
//! bounded in time; any failure completes nothing rather than printing into the user's
//! command line.

use std::ffi::{OsStr, OsString};
use std::sync::mpsc;
use std::time::Duration;

use clap_complete::CompletionCandidate;

use crate::session::{Context, Globals};
use crate::token::TokenView;
use crate::world::World;

/// How long a Tab may wait for ids before giving up with nothing.
const ID_BUDGET: Duration = Duration::from_secs(2);

/// Completes token ids starting with `current`, each described by the token's name. Reads the
/// command line being completed for `--local`, `--profile` and `--api-url`.
pub(crate) fn token_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str().map(str::to_string) else {
        return Vec::new();
    };
    within_budget(async move |ctx: &Context| {
        let client = ctx.client().ok()?;
        // The whole account, in one round trip where the API allows it.
        let tokens = client.list_all().await.ok()?;
        Some(
            tokens
                .iter()
                .filter(|t| t.id().starts_with(&prefix))
                // A candidate is typed into the user's command line: only real ids, and
                // names that cannot steer the terminal.
                .filter(|t| crate::ids::check_id(t.id()).is_ok())
                .map(|t| {
                    let name = Some(t.name()).filter(|n| !n.is_empty());
                    let help =
                        name.map(|n| crate::untrusted::for_terminal(n, false).into_owned().into());
                    CompletionCandidate::new(t.id()).help(help)
                })
                .collect(),
        )
    })
}

/// Completes `--surface` with the account's chat surfaces, as `PRODUCT/SURFACE` (the form that
/// never clashes), with the surface's id as its help.
pub(crate) fn surface_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str().map(str::to_string) else {
        return Vec::new();
    };
    within_budget(async move |ctx: &Context| {
        let surfaces = ctx.client().ok()?.all_surfaces(Some("chat")).await.ok()?;
        Some(
            surfaces
                .iter()
                .map(|s| (format!("{}/{}", s.product_name(), s.name()), s.id()))
                .filter(|(name, _)| name.starts_with(&prefix))
                // Never type what could steer the terminal into the command line.
                .filter(|(name, id)| {
                    !name.chars().any(char::is_control) && crate::ids::check_id(id).is_ok()
                })
                .map(|(name, id)| CompletionCandidate::new(name).help(Some(id.to_string().into())))
                .collect(),
        )
    })
}

/// Completes the origins of the token named on the command line (`origins remove ID ⇥`).
pub(crate) fn token_origins(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str().map(str::to_string) else {
        return Vec::new();
    };
    let words: Vec<String> = std::env::args_os()
        .filter_map(|w| w.into_string().ok())
        .collect();
    // The id is the first word after `remove` that is one.
    let Some(id) = words
        .iter()
        .skip_while(|w| *w != "remove")
        .skip(1)
        .find(|w| !w.starts_with('-') && crate::ids::check_id(w).is_ok())
        .cloned()
    else {
        return Vec::new();
    };
    within_budget(async move |ctx: &Context| {
        let token = ctx.client().ok()?.get(&id).await.ok()?;
        Some(
            token
                .origins()
                .iter()
                .filter(|o| o.starts_with(&prefix))
                // Never type what could steer the terminal into the command line.
                .filter(|o| !o.chars().any(char::is_control))
                .map(|o| CompletionCandidate::new(o.to_string()))
                .collect(),
        )
    })
}

/// Runs `work` with a quiet context of the command line's global flags, on a thread of its
/// own, so a keyring or server that hangs costs at most the budget; any failure is nothing.
fn within_budget<F>(work: F) -> Vec<CompletionCandidate>
where
    F: AsyncFnOnce(&Context) -> Option<Vec<CompletionCandidate>> + Send + 'static,
{
    let global = globals(std::env::args_os().collect());
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("complete".into())
        .spawn(move || {
            let _ = tx.send(run_quietly(&global, work));
        });
    if spawned.is_err() {
        return Vec::new();
    }
    rx.recv_timeout(ID_BUDGET)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn run_quietly<F>(global: &Globals, work: F) -> Option<Vec<CompletionCandidate>>
where
    F: AsyncFnOnce(&Context) -> Option<Vec<CompletionCandidate>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        // Nothing of this run may reach the terminal: the shell reads the candidates alone.
        let mut world = World::process();
        world.streams.stdout = crate::output::stream(std::io::sink());
        world.streams.stderr = crate::output::stream(std::io::sink());
        let ctx = Context::new(global, &world).await.ok()?;
        let found = work(&ctx).await;
        ctx.finish().await;
        found
    })
}

/// The global flags that decide where ids come from, picked out of the words being
/// completed; everything else is quiet and never prompts.
fn globals(words: Vec<OsString>) -> Globals {
    let words: Vec<String> = words
        .into_iter()
        .filter_map(|w| w.into_string().ok())
        .collect();
    let value_of = |flag: &str| {
        words.iter().enumerate().find_map(|(i, w)| {
            w.strip_prefix(&format!("{flag}="))
                .map(str::to_string)
                .or_else(|| (w == flag).then(|| words.get(i + 1).cloned()).flatten())
        })
    };
    Globals {
        profile: value_of("--profile"),
        api_url: value_of("--api-url"),
        local: words.iter().any(|w| w == "--local"),
        no_input: true,
        quiet: true,
        timeout: Some(ID_BUDGET.as_secs()),
        ..Globals::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_that_choose_the_api_are_read_from_the_words() {
        let words = |s: &str| s.split(' ').map(OsString::from).collect::<Vec<_>>();
        let g = globals(words("rtctl -- rtctl --profile work tokens get ct_"));
        assert_eq!(g.profile.as_deref(), Some("work"));
        assert!(!g.local);
        let g = globals(words(
            "rtctl -- rtctl --local --api-url=https://x.example tokens get",
        ));
        assert!(g.local);
        assert_eq!(g.api_url.as_deref(), Some("https://x.example"));
        assert!(g.quiet && g.no_input);
    }
}
