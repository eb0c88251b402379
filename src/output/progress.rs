//! Progress of work on many tokens: a bar on stderr while a person watches.

use super::Printer;

/// Progress of work on many items: a bar on stderr when a person is watching (a terminal,
/// not `--quiet`, more than one item), nothing otherwise. While it shows, whatever the
/// printer writes to the terminal (notes, errors, and data when stdout is the terminal too)
/// goes above the bar: the bar is cleared for the line and drawn again below it.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    printer: Printer,
}

impl Printer {
    /// Starts a progress display for `len` items, labelled `message` ("rotating").
    pub fn progress(&self, len: usize, message: &str) -> Progress {
        let bar = (self.terminal.stderr && !self.quiet && len > 1).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(len as u64),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(message.to_string());
            *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar.clone());
            bar
        });
        Progress {
            bar,
            printer: self.clone(),
        }
    }
}

impl Printer {
    /// The progress bar on stderr now, if any: what the printer writes to the terminal goes
    /// above it.
    pub(super) fn drawn_bar(&self) -> Option<indicatif::ProgressBar> {
        self.bar.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Progress {
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// A note, printed above the bar (as everything the printer writes while it shows).
    pub fn note(&self, text: &str) {
        self.printer.note(text);
    }

    /// Removes the bar (as dropping it does, on every way out).
    pub fn finish(self) {}
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            self.printer
                .bar
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            bar.finish_and_clear();
        }
    }
}
