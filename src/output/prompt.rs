//! Prompts on the terminal: a question answered by a line, and a secret read without echo.
//!
//! Both read a whole line in the terminal's own line mode, so the terminal echoes and edits
//! (Backspace, Ctrl-U) as it does for a shell, a prompt that wraps is printed once, Ctrl-C is
//! a signal (the run ends, exit 130) and Ctrl-D ends the input. Keys typed before a prompt
//! shows are discarded, so a stray key cannot answer it.
//!
//! The terminal's modes are set before the prompt is shown and put back after it, through
//! rustix's `termios` (no unsafe calls of our own); if a signal ends the run mid-prompt,
//! [`Prompter::abandon`] puts them back from the run's side, and the prompt's thread, still
//! blocked in its read, can no longer change them. The printer asks through a [`Prompter`],
//! on a thread of its own, so that a signal can end the run while a person thinks.

use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};

/// The longest answer read; a line beyond it is cut there (no answer or key is that long).
const MAX_ANSWER_BYTES: u64 = 8 * 1024;

/// Asks a person: the terminal's prompts in the binary, scripted answers in tests. A prompt
/// blocks; the printer runs it on a thread of its own, so a signal can end the run meanwhile.
pub trait Prompter: Send + Sync {
    /// Shows `question` and reads the line typed in answer, without its line break; `None`
    /// when the input ended (Ctrl-D) before a line end: what was typed before it is no
    /// answer (`y` then Ctrl-D twice is not a yes).
    fn line(&self, question: &str) -> io::Result<Option<String>>;

    /// Shows `prompt` and reads a line without echoing it.
    fn secret(&self, prompt: &str) -> io::Result<String>;

    /// Gives up the prompt in progress (a signal ends the run): the terminal goes back as it
    /// was before the prompt, and the abandoned prompt can no longer change it.
    fn abandon(&self) {}
}

/// Whether an answer to a yes/no question (default no) is yes: `y` or `yes` in any case.
/// Enter alone, anything else and the end of input are no, so a destructive prompt never
/// acts on a stray key.
pub(crate) fn is_yes(answer: Option<&str>) -> bool {
    answer.is_some_and(|a| matches!(a.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Prompts on the process's terminal: questions on stderr, answers from stdin (a prompt is
/// only offered when both are the terminal).
#[derive(Default)]
pub(crate) struct TerminalPrompter {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The terminal's modes before the prompt in progress, to put back.
    #[cfg(unix)]
    saved: Option<rustix::termios::Termios>,
    /// A prompt is showing (its line not yet read).
    showing: bool,
    /// A signal ended the run: no prompt may touch the terminal any more.
    abandoned: bool,
}

impl TerminalPrompter {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the terminal up for a line, echoed or not, discards what was typed before, and
    /// shows `prompt`.
    fn begin(&self, prompt: &str, echo: bool) -> io::Result<()> {
        let mut state = self.state();
        if state.abandoned {
            return Err(io::ErrorKind::Interrupted.into());
        }
        #[cfg(unix)]
        {
            use rustix::termios::{self, InputModes, LocalModes, OptionalActions};
            let stdin = io::stdin();
            let saved = termios::tcgetattr(&stdin)?;
            let mut modes = saved.clone();
            // The terminal's line mode, with signals (Ctrl-C), and Enter read as a line end.
            modes.local_modes |= LocalModes::ICANON | LocalModes::ISIG;
            modes.input_modes |= InputModes::ICRNL;
            if echo {
                modes.local_modes |= LocalModes::ECHO;
            } else {
                // Hidden, but Enter still moves to the next line.
                modes.local_modes -= LocalModes::ECHO;
                modes.local_modes |= LocalModes::ECHONL;
            }
            // `Flush` discards input not yet read: keys typed before the prompt shows.
            termios::tcsetattr(&stdin, OptionalActions::Flush, &modes)?;
            state.saved = Some(saved);
        }
        // (Elsewhere the console keeps its own line mode; a secret is read by console.)
        #[cfg(not(unix))]
        let _ = echo;
        state.showing = true;
        let mut stderr = io::stderr().lock();
        stderr.write_all(prompt.as_bytes())?;
        stderr.flush()
    }

    /// Puts the terminal back after a prompt; `newline` when the cursor is still on the
    /// prompt's line (no line end was typed).
    fn end(&self, newline: bool) {
        let mut state = self.state();
        restore(&mut state);
        if newline {
            let _ = io::stderr().write_all(b"\n");
        }
    }

    /// Shows `prompt` and reads a line, echoed or not, and whether it had a line end.
    fn read(&self, prompt: &str, echo: bool) -> io::Result<Option<(String, bool)>> {
        if let Err(e) = self.begin(prompt, echo) {
            self.end(false);
            return Err(e);
        }
        let read = read_line(&mut io::stdin().lock());
        let ended = matches!(&read, Ok(Some((_, true))));
        self.end(!ended);
        read
    }
}

/// Puts back the modes saved for the prompt in progress, if any.
fn restore(state: &mut State) {
    state.showing = false;
    #[cfg(unix)]
    if let Some(saved) = state.saved.take() {
        let _ =
            rustix::termios::tcsetattr(io::stdin(), rustix::termios::OptionalActions::Now, &saved);
    }
}

/// One line of at most [`MAX_ANSWER_BYTES`], without its line end, and whether it had one;
/// `None` at the end of input.
fn read_line(input: &mut impl BufRead) -> io::Result<Option<(String, bool)>> {
    let mut bytes = Vec::new();
    if input
        .by_ref()
        .take(MAX_ANSWER_BYTES)
        .read_until(b'\n', &mut bytes)?
        == 0
    {
        return Ok(None);
    }
    let ended = bytes.last() == Some(&b'\n');
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    let line = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the answer is not UTF-8"))?;
    Ok(Some((line, ended)))
}

impl Prompter for TerminalPrompter {
    fn line(&self, question: &str) -> io::Result<Option<String>> {
        // Only a line ended with Enter answers: Ctrl-D hands over what was typed without
        // one, and a second Ctrl-D ends the input, which is no answer at all.
        Ok(self
            .read(question, true)?
            .and_then(|(line, ended)| ended.then_some(line)))
    }

    fn secret(&self, prompt: &str) -> io::Result<String> {
        let prompt = format!("{prompt}: ");
        #[cfg(unix)]
        {
            Ok(self
                .read(&prompt, false)?
                .map(|(line, _)| line)
                .unwrap_or_default())
        }
        #[cfg(not(unix))]
        {
            // No termios: the console crate hides the input through the console's own modes.
            if let Err(e) = self.begin(&prompt, true) {
                self.end(false);
                return Err(e);
            }
            let read = console::Term::stderr().read_secure_line();
            self.end(false);
            read
        }
    }

    fn abandon(&self) {
        let mut state = self.state();
        state.abandoned = true;
        if state.showing {
            restore(&mut state);
            // The shell's prompt then starts on a line of its own.
            let _ = io::stderr().write_all(b"\n");
        }
    }
}

/// A prompt in progress: dropped before its answer arrived, it abandons the prompt. Drop is
/// what every way of giving up has in common (a signal seen by the prompt, or by the run's
/// own wait, which drops the whole command).
pub(super) struct Unanswered(pub(super) Option<Arc<dyn Prompter>>);

impl Unanswered {
    pub(super) fn answered(mut self) {
        self.0 = None;
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(prompter) = self.0.take() {
            prompter.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_is_yes() {
        for yes in ["y", "Y", "yes", "YES", "Yes", " y ", "yes\t"] {
            assert!(is_yes(Some(yes)), "{yes:?}");
        }
        for no in [
            "", "n", "no", "ny", "yn", "yy", "yess", "ye", "y es", "q", "oui",
        ] {
            assert!(!is_yes(Some(no)), "{no:?}");
        }
        assert!(!is_yes(None), "the end of input is no");
    }

    #[test]
    fn a_line_is_read_whole_and_bounded() {
        let mut input = io::Cursor::new(b"ny\r\nnext\n".to_vec());
        assert_eq!(read_line(&mut input).unwrap(), Some(("ny".into(), true)));
        assert_eq!(read_line(&mut input).unwrap(), Some(("next".into(), true)));
        assert_eq!(read_line(&mut input).unwrap(), None);
        let mut partial = io::Cursor::new(b"y".to_vec());
        assert_eq!(read_line(&mut partial).unwrap(), Some(("y".into(), false)));
        let long = vec![b'a'; MAX_ANSWER_BYTES as usize * 2];
        let (line, ended) = read_line(&mut io::Cursor::new(long)).unwrap().unwrap();
        assert_eq!(line.len() as u64, MAX_ANSWER_BYTES);
        assert!(!ended);
    }
}
