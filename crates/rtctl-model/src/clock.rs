//! "Now", from one injectable clock shared by rtctl's context and the emulator, so grace
//! periods, dormant tokens and time windows are tested by setting the clock, not by waiting.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

/// A clock: the system's, or one a test (or the emulator's control API) sets and moves.
/// Clones share the same time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    mode: Arc<Mutex<Mode>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum Mode {
    /// The system's time.
    #[default]
    System,
    /// The system's time shifted.
    Offset(SignedDuration),
    /// A time that stands still until it is moved.
    Fixed(Timestamp),
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that stands at `at` until it is moved.
    pub fn fixed(at: Timestamp) -> Clock {
        let clock = Clock::default();
        clock.set(at);
        clock
    }

    fn mode(&self) -> std::sync::MutexGuard<'_, Mode> {
        self.mode.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> Timestamp {
        match *self.mode() {
            Mode::System => Timestamp::now(),
            Mode::Offset(offset) => Timestamp::now().saturating_add(offset).unwrap_or_default(),
            Mode::Fixed(at) => at,
        }
    }

    /// Stops the clock at `at`.
    pub fn set(&self, at: Timestamp) {
        *self.mode() = Mode::Fixed(at);
    }

    /// Moves the clock by `by` (a running clock keeps running, shifted).
    pub fn advance(&self, by: SignedDuration) {
        let mut mode = self.mode();
        *mode = match *mode {
            Mode::System => Mode::Offset(by),
            Mode::Offset(offset) => Mode::Offset(offset.saturating_add(by)),
            Mode::Fixed(at) => Mode::Fixed(at.saturating_add(by).unwrap_or(at)),
        };
    }

    /// Back to the system's time.
    pub fn reset(&self) {
        *self.mode() = Mode::System;
    }

    /// Whether the clock has been set or moved.
    pub fn is_controlled(&self) -> bool {
        *self.mode() != Mode::System
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_still_until_moved() {
        let at: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let clock = Clock::fixed(at);
        let shared = clock.clone();
        assert_eq!(clock.now(), at);
        shared.advance(SignedDuration::from_hours(36));
        assert_eq!(clock.now(), "2026-06-03T00:00:00Z".parse().unwrap());
        clock.reset();
        assert!(!shared.is_controlled());
        let running = Clock::system();
        running.advance(SignedDuration::from_hours(24));
        assert!(running.now() > Timestamp::now() + SignedDuration::from_hours(23));
    }
}
