//! Ctrl-C and SIGTERM as values a command can wait on, so the binary and in-process tests
//! share one path: the binary forwards the process's signals here, a test raises them.
//!
//! The process's handlers are installed before the first request is made, so a test that
//! waits for a request in the emulator's journal knows a signal sent then is caught.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C (SIGINT): exit 130.
    Interrupt,
    /// SIGTERM, what CI sends on cancel: handled the same way, exit 143.
    Terminate,
}

impl Signal {
    /// The conventional exit code: 128 + the signal number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

/// The signals of one run: how many arrived, and the first one.
#[derive(Clone)]
pub struct Signals {
    state: Arc<watch::Sender<(u32, Option<Signal>)>>,
    /// How many pieces of work hold the signals (see [`Signals::hold`]).
    holders: Arc<AtomicUsize>,
}

/// While alive, a first signal does not end the run: the holder finishes what was sent and
/// reports. A second signal ends the run anyway.
pub struct Hold {
    holders: Arc<AtomicUsize>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.holders.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Default for Signals {
    fn default() -> Signals {
        Signals::new()
    }
}

impl Signals {
    /// Signals nobody sends yet: a test raises them, or [`Signals::forward_process_signals`].
    pub fn new() -> Signals {
        Signals {
            state: Arc::new(watch::Sender::new((0, None))),
            holders: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Records a signal.
    pub fn raise(&self, signal: Signal) {
        self.state.send_modify(|(count, first)| {
            *count += 1;
            first.get_or_insert(signal);
        });
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Signal> {
        self.state.borrow().1
    }

    /// How many signals arrived.
    pub fn count(&self) -> u32 {
        self.state.borrow().0
    }

    /// Waits until more than `seen` signals have arrived, and returns the first one.
    pub async fn after(&self, seen: u32) -> Signal {
        let mut receiver = self.state.subscribe();
        loop {
            {
                let (count, first) = *receiver.borrow_and_update();
                if count > seen
                    && let Some(signal) = first
                {
                    return signal;
                }
            }
            if receiver.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits for the first signal.
    pub async fn first(&self) -> Signal {
        self.after(0).await
    }

    /// Holds the signals for the life of the guard: the holder handles a first signal itself.
    pub fn hold(&self) -> Hold {
        self.holders.fetch_add(1, Ordering::SeqCst);
        Hold {
            holders: Arc::clone(&self.holders),
        }
    }

    /// Waits for a signal that should end the run: one that arrives while nothing holds the
    /// signals, or a second one whatever holds them. Returns the first signal.
    pub async fn unheld(&self) -> Signal {
        let mut seen = 0;
        loop {
            let signal = self.after(seen).await;
            seen = self.count();
            if self.holders.load(Ordering::SeqCst) == 0 || seen >= 2 {
                return signal;
            }
        }
    }

    /// Installs handlers for the process's SIGINT and SIGTERM and forwards them here. Must
    /// run inside the runtime; from then on the signals no longer kill the process: the run
    /// decides what to do.
    pub fn forward_process_signals(&self) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            for (kind, which) in [
                (SignalKind::interrupt(), Signal::Interrupt),
                (SignalKind::terminate(), Signal::Terminate),
            ] {
                if let Ok(mut stream) = signal(kind) {
                    let signals = self.clone();
                    tokio::spawn(async move {
                        while stream.recv().await.is_some() {
                            signals.raise(which);
                        }
                    });
                }
            }
        }
        #[cfg(not(unix))]
        {
            let signals = self.clone();
            tokio::spawn(async move {
                while tokio::signal::ctrl_c().await.is_ok() {
                    signals.raise(Signal::Interrupt);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_sees_signals_raised_before_and_after() {
        let signals = Signals::new();
        signals.raise(Signal::Terminate);
        assert_eq!(signals.first().await, Signal::Terminate);
        let later = signals.clone();
        let waiter = tokio::spawn(async move { later.after(1).await });
        tokio::task::yield_now().await;
        signals.raise(Signal::Interrupt);
        assert_eq!(
            waiter.await.unwrap(),
            Signal::Terminate,
            "the first one counts"
        );
        assert_eq!(signals.count(), 2);
    }
}
