//! What commands call: the work that more than one command does, below them all. Resolving
//! the tokens a user named (`token_ref`), running work over many of them (`bulk`), asking
//! before acting (`confirm`), handing over new values (`deliver`) and showing tokens
//! (`present`), what a token file changes (`plan`) and the surfaces tokens are bound to
//! (`surfaces`). Nothing here parses a command line.

pub(crate) mod bulk;
pub(crate) mod confirm;
pub(crate) mod deliver;
pub(crate) mod origins;
pub(crate) mod plan;
pub(crate) mod present;
pub(crate) mod surfaces;
pub(crate) mod token_ref;
pub(crate) mod traffic;
