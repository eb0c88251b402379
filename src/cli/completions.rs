//! `rtctl completions SHELL`: the shell's completion script.

use clap::{Args, ValueEnum};

/// Print the shell completion script
///
/// The script completes commands, flags and token ids; ids (with the token's name) are fetched
/// from the API with a short timeout, using the same key and profile as the command would, and
/// nothing is completed if that fails. The script calls rtctl on PATH to complete, so it stays
/// right as rtctl is upgraded. Load it from the shell's startup file:
///
/// Examples:
///   echo 'source <(rtctl completions bash)' >> ~/.bashrc
///   echo 'source <(rtctl completions zsh)' >> ~/.zshrc
///   rtctl completions fish > ~/.config/fish/completions/rtctl.fish
///   rtctl completions powershell | Out-String | Invoke-Expression   # in $PROFILE
///   echo 'eval (rtctl completions elvish | slurp)' >> ~/.config/elvish/rc.elv
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct CompletionsArgs {
    /// The shell to print the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
            Shell::Elvish => "elvish",
        }
    }

    /// The file name under `completions/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Shell::Bash => "rtctl.bash",
            Shell::Zsh => "_rtctl",
            Shell::Fish => "rtctl.fish",
            Shell::Powershell => "_rtctl.ps1",
            Shell::Elvish => "rtctl.elv",
        }
    }
}
