//! Asking a person through the printer: a confirmation answered by a line, a secret read
//! without echo. Each prompt runs through the run's [`Prompter`] on a thread of its own, so a
//! signal ends the wait; what the prompt shows goes through the printer like every line.

use std::io;
use std::sync::Arc;

use crate::error::{CliError, ErrorKind};

use super::Printer;
use super::prompt::{Prompter, Unanswered, is_yes};

impl Printer {
    /// Runs a blocking prompt on a thread of its own, so that a signal ends the wait. A
    /// prompt given up unanswered (a signal, here or wherever the run is waiting for one) is
    /// abandoned: the terminal is put back as it was.
    async fn prompt<T: Send + 'static>(
        &self,
        ask: impl FnOnce(&dyn Prompter) -> io::Result<T> + Send + 'static,
    ) -> Result<io::Result<T>, CliError> {
        let prompter = Arc::clone(&self.prompter);
        let unanswered = Unanswered(Some(Arc::clone(&self.prompter)));
        let (tx, rx) = tokio::sync::oneshot::channel();
        // A plain thread, not the runtime's blocking pool: a prompt abandoned after a signal
        // must not hold up the process's exit.
        std::thread::spawn(move || {
            let _ = tx.send(ask(prompter.as_ref()));
        });
        tokio::select! {
            answer = rx => {
                unanswered.answered();
                Ok(answer.unwrap_or_else(|_| Err(io::Error::other("the prompt ended"))))
            }
            signal = self.signals.first() => Err(CliError::interrupted(signal)),
        }
    }

    /// Shows `details` on stderr and asks `question` (default no), answered by a line: `y`
    /// or `yes` goes ahead, anything else is a "no", exit 3.
    pub async fn confirm(&self, details: &str, question: &str) -> Result<(), CliError> {
        if !details.is_empty() {
            self.talk(&crate::untrusted::for_terminal(details, true));
        }
        let question = format!(
            "{} [y/N] ",
            crate::untrusted::for_terminal(&self.redactions.text(question), false)
        );
        match self.prompt(move |p| p.line(&question)).await? {
            Ok(answer) if is_yes(answer.as_deref()) => Ok(()),
            Ok(_) => Err(CliError::new(
                ErrorKind::Cancelled,
                "cancelled; nothing was changed",
            )),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                Err(CliError::interrupted(crate::signals::Signal::Interrupt))
            }
            Err(e) => Err(CliError::failure(format!("could not read the answer: {e}"))),
        }
    }

    /// Asks for a secret on the terminal without echoing it.
    pub async fn secret(&self, prompt: &str) -> Result<String, CliError> {
        let prompt = prompt.to_string();
        self.prompt(move |p| p.secret(&prompt))
            .await?
            .map_err(|e| CliError::failure(format!("could not read from the terminal: {e}")))
    }
}
