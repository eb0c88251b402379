//! `rtctl help [COMMAND…|TOPIC]`: a command's full help, or a help topic (gh's help topics).

use std::ffi::OsStr;

use clap::Args;
use clap_complete::CompletionCandidate;

use crate::help_topics;

/// Print the help of a command, or a help topic
///
/// With a command (`rtctl help tokens rotate`), its full help, as `--help` prints it. With a
/// topic, that topic: exit-codes, environment, config or formats. With neither, the help of
/// rtctl itself, global options included.
///
/// Examples:
///   rtctl help tokens rotate
///   rtctl help exit-codes
///   rtctl help environment
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct HelpArgs {
    /// A command (its subcommands after it) or a help topic
    #[arg(value_name = "COMMAND|TOPIC", add = topic_completer())]
    pub words: Vec<String>,
}

fn topic_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(complete)
}

/// Completes the help topics and the top-level commands.
fn complete(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let topics = help_topics::TOPICS
        .into_iter()
        .map(|t| (t.name.to_string(), t.summary.to_string()));
    let command = super::command();
    let commands: Vec<(String, String)> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| {
            let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
            (c.get_name().to_string(), about)
        })
        .collect();
    topics
        .chain(commands)
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, about)| CompletionCandidate::new(name).help(Some(about.into())))
        .collect()
}
