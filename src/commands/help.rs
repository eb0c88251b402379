//! `rtctl help`: a help topic from [`crate::help_topics`], or a command's long help, rendered
//! by clap from the same tree the parser uses.

use std::ffi::OsStr;

use clap_complete::CompletionCandidate;

use crate::cli::help::HelpArgs;
use crate::error::CliError;
use crate::help_topics;
use crate::output::Printer;

pub(crate) fn run(args: HelpArgs, printer: &Printer) -> Result<(), CliError> {
    if let [name] = args.words.as_slice()
        && let Some(topic) = help_topics::topic(name)
    {
        return printer.bytes(topic.text().as_bytes());
    }
    let mut command = crate::cli::command();
    command.build();
    let mut current = &mut command;
    for word in &args.words {
        current = current.find_subcommand_mut(word).ok_or_else(|| {
            CliError::usage(format!(
                "{} is neither a command nor a help topic; rtctl help lists both",
                crate::untrusted::shell_word(word)
            ))
        })?;
    }
    // Plain text: a topic is plain too, and it reads the same piped into a pager.
    printer.bytes(current.render_long_help().to_string().as_bytes())
}

/// Completes the help topics and the top-level commands.
pub(crate) fn complete(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let topics = help_topics::TOPICS
        .into_iter()
        .map(|t| (t.name.to_string(), t.summary.to_string()));
    let command = crate::cli::command();
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
