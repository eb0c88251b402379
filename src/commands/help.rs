//! `rtctl help`: a help topic from [`crate::help_topics`], or a command's long help, rendered
//! by clap from the same tree the parser uses.

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
