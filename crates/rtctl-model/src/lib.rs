//! What rtctl knows about Runtype client tokens, apart from how it talks to the service or to
//! a user: the description of a token and its rules, origins, ids, durations, the clock,
//! escaping of untrusted text, and how files are written. No command line, no HTTP client, no
//! terminal: the emulator and the CLI both build on it, so the rules they apply are one.

pub mod clock;
pub mod duration;
pub mod files;
pub mod ids;
pub mod origin;
pub mod token;
pub mod untrusted;
