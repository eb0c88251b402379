//! `rtctl help [COMMAND…|TOPIC]`: a command's full help, or a help topic (gh's help topics).

use clap::Args;

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
    clap_complete::ArgValueCompleter::new(crate::commands::help::complete)
}
