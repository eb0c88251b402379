//! The help topics: exit codes, environment variables, config keys and output formats, each
//! a table written once here. `rtctl help TOPIC` prints them, `rtctl --help` lists them and
//! ends with the exit codes, every command's `--help` shows the variables it reads, and the
//! book's reference pages (`docs/src/reference/`) are generated from the same tables by a
//! test that fails when a page is stale (gh's `help_topic.go`, uv's generated reference).

use crate::commands::completions::COMPLETE_VAR;
use crate::settings::{ENV_API_KEY, ENV_API_URL, ENV_CONFIG_DIR, ENV_DATA_DIR, ENV_PROFILE};

/// One help topic: a table and the sentences around it. Text in `backticks` is code: the
/// book shows it as such, a terminal without the backticks.
#[derive(Debug)]
pub struct Topic {
    /// What follows `rtctl help`, and the reference page's file stem.
    pub name: &'static str,
    /// The page's title.
    pub title: &'static str,
    /// One line for the list of topics in `rtctl --help`.
    pub summary: &'static str,
    /// Before the table.
    pub intro: &'static str,
    /// The table's two column headings.
    pub columns: [&'static str; 2],
    pub rows: &'static [Row],
    /// After the table.
    pub outro: &'static str,
}

/// One line of a topic's table.
#[derive(Debug)]
pub struct Row {
    pub key: &'static str,
    pub meaning: &'static str,
    /// Whether the row is shown in the short lists of `--help` (the exit codes at the end of
    /// `rtctl --help`, the variables under every command's `--help`).
    pub in_command_help: bool,
}

const fn row(key: &'static str, meaning: &'static str) -> Row {
    Row {
        key,
        meaning,
        in_command_help: true,
    }
}

const fn row_in_topic_only(key: &'static str, meaning: &'static str) -> Row {
    Row {
        key,
        meaning,
        in_command_help: false,
    }
}

pub const EXIT_CODES: Topic = Topic {
    name: "exit-codes",
    title: "Exit codes",
    summary: "what each exit status means, for scripts",
    intro: "Every command exits with one of these, so a script can tell what happened without \
            parsing messages. The same table holds for `scripts/live-check`.",
    columns: ["code", "meaning"],
    rows: &[
        row("0", "success (an empty list and a no-op too)"),
        row("1", "failure: server, network or unexpected reply"),
        row(
            "2",
            "usage error or invalid input (a malformed token id too)",
        ),
        row("3", "cancelled at a prompt"),
        row("4", "authentication or permission (no key, 401, 403)"),
        row("5", "not found (404): a well-formed id that names no token"),
        row("6", "drift: `plan --expect-no-changes` found changes"),
        row("7", "the `--jq` filter failed (`halt_error` included)"),
        row(
            "8",
            "a check found problems (`audit` at its `--fail-on` level; `doctor`; `origins \
             check`: not admitted; `origins traffic`: an origin refused)",
        ),
        row(
            "130",
            "interrupted (Ctrl-C); 143 for SIGTERM, handled the same way",
        ),
    ],
    outro: "A closed pipe (`rtctl tokens list | head -1`) ends quietly with exit 0, except for a \
            command whose output is a new token value (`create`, `rotate`, `apply`): it exits \
            1 and names `rtctl tokens value ID`, which reads the value back.",
};

pub const ENVIRONMENT: Topic = Topic {
    name: "environment",
    title: "Environment variables",
    summary: "the variables rtctl reads, and those a --to-command sink is given",
    intro: "Flags beat the environment, which beats `config.toml` (see `rtctl help config`); \
            an empty variable counts as unset. `RUNTYPE_API_KEY` and `RUNTYPE_API_URL` are the \
            names Runtype's own tools use; `RUNTYPE_API_URL` overrides the profile's `api_url`.",
    columns: ["variable", "what it does"],
    rows: &[
        row(
            ENV_API_KEY,
            "the API key; takes precedence over a stored login",
        ),
        row(
            ENV_API_URL,
            "the API's base URL (default `https://api.runtype.com`)",
        ),
        row(
            ENV_PROFILE,
            "the `config.toml` profile to use (over its top-level `profile`)",
        ),
        row(
            ENV_CONFIG_DIR,
            "where `config.toml` and `credentials.toml` live",
        ),
        row(ENV_DATA_DIR, "where `--local` keeps `local-state.json`"),
        row("NO_COLOR", "no colour on stderr (also `--color never`)"),
        row_in_topic_only(
            "HTTPS_PROXY",
            "a proxy for the Runtype API (`https://` URLs); also `ALL_PROXY`, and `NO_PROXY` to \
             exempt hosts. Never used for a plain `http://` URL: that is a loopback emulator",
        ),
        row_in_topic_only(
            COMPLETE_VAR,
            "set by the completion scripts when they call rtctl back; not for everyday use",
        ),
        row_in_topic_only(
            "RTCTL_TOKEN_ID",
            "given to a `--to-command` sink: the id of the token whose value is on its stdin",
        ),
        row_in_topic_only(
            "RTCTL_TOKEN_NAME",
            "given to a `--to-command` sink: that token's name",
        ),
        row_in_topic_only(
            "RTCTL_TOKEN_ENVIRONMENT",
            "given to a `--to-command` sink: `test` or `live`",
        ),
        row_in_topic_only(
            "RTCTL_PREVIOUS_ID",
            "given to a `--to-command` sink for a successor (`--overlap`) or a replacement: \
             the old token's id",
        ),
    ],
    outro: "A `--to-command` sink runs without `RUNTYPE_API_KEY` in its environment.",
};

pub const CONFIG: Topic = Topic {
    name: "config",
    title: "Configuration",
    summary: "config.toml: profiles and their keys",
    intro: "Settings are resolved once per command, each layer overriding the one before: \
            built-in defaults, then the selected profile in `config.toml`, then the environment, \
            then flags. `config.toml` lives in the config directory (`~/.config/rtctl/` on \
            Linux, `~/Library/Application Support/com.Runtype.rtctl/` on macOS, \
            `%APPDATA%\\Runtype\\rtctl\\config\\` on Windows; `RTCTL_CONFIG_DIR` overrides it). \
            It is optional.",
    columns: ["key", "what it sets"],
    rows: &[
        row(
            "profile",
            "(top level) the profile used when neither `--profile` nor `RTCTL_PROFILE` names \
             one (else `default`)",
        ),
        row(
            "[profiles.NAME]",
            "a profile; every key below belongs to one. A profile other than `default` must exist",
        ),
        row(
            "api_url",
            "the API's base URL (`https://`; `http://` only to a loopback address); \
             `RUNTYPE_API_URL` and `--api-url` override it; default `https://api.runtype.com`",
        ),
        row(
            "output",
            "`table`, `wide`, `tsv` or `json`; `-o` and `--json` override it; default: a table \
             on a terminal, TSV otherwise",
        ),
        row(
            "color",
            "`auto`, `always` or `never`; `NO_COLOR` and `--color` override it; default `auto`",
        ),
        row(
            "timeout",
            "seconds to wait for each API reply (1-3600); `--timeout` overrides it; default 30",
        ),
    ],
    outro: "The API key is never a setting: `rtctl auth login` stores it in the OS keyring \
            (or `credentials.toml`, 0600, with `--insecure-storage`), and `RUNTYPE_API_KEY` \
            overrides it. A mistake in the file (an unknown key, a wrong type, an `http://` \
            URL) exits 2 naming the file, line and column.",
};

pub const FORMATS: Topic = Topic {
    name: "formats",
    title: "Output formats",
    summary: "table, wide, tsv and json; --jq; the commands' own --format",
    intro: "Data goes to stdout and everything else (notes, warnings, hints, errors, prompts) \
            to stderr. `-o FORMAT` (or the profile's `output`) picks the format of the data:",
    columns: ["format", "what it prints"],
    rows: &[
        row(
            "table",
            "the default on a terminal: columns that give way on a narrow terminal, colour on \
             stderr only",
        ),
        row("wide", "a table with every column whole, however wide"),
        row(
            "tsv",
            "the default in a pipe: tab-separated values, no header, no colour, nothing cut",
        ),
        row(
            "json",
            "one JSON document (`--json` is the same); a list is one array however many pages \
             it took; token values masked unless `--reveal`",
        ),
        row_in_topic_only(
            "--jq EXPR",
            "filter the JSON in-process (jq syntax, no jq binary needed); string results print \
             raw, ready for `$(…)`; exit 7 when the filter fails",
        ),
        row_in_topic_only(
            "rotate --format env",
            "`NAME=value` lines for an env file (`--env-var NAME`)",
        ),
        row_in_topic_only(
            "audit --format sarif",
            "SARIF 2.1.0 for code scanning (with `-f tokens.toml`)",
        ),
        row_in_topic_only(
            "snippet --format",
            "`script`, `esm` or `react`: the widget's embed code",
        ),
    ],
    outro: "A command's own `--format` cannot be combined with `-o` or `--json` (exit 2).",
};

/// Every topic, in the order `rtctl --help` lists them.
pub const TOPICS: [&Topic; 4] = [&EXIT_CODES, &ENVIRONMENT, &CONFIG, &FORMATS];

/// The topic called `name`.
pub fn topic(name: &str) -> Option<&'static Topic> {
    TOPICS.into_iter().find(|t| t.name == name)
}

/// The width terminal text is wrapped to.
const WIDTH: usize = 80;

impl Topic {
    /// The whole topic for a terminal: what `rtctl help NAME` prints.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.title);
        out.push_str(&wrap(&plain(self.intro), "", WIDTH));
        out.push_str("\n\n");
        out.push_str(&self.rows_text(|_| true));
        if !self.outro.is_empty() {
            out.push('\n');
            out.push_str(&wrap(&plain(self.outro), "", WIDTH));
            out.push('\n');
        }
        out
    }

    /// The table's rows that `keep` keeps, two aligned columns indented by two spaces.
    pub fn rows_text(&self, keep: impl Fn(&Row) -> bool) -> String {
        let rows: Vec<&Row> = self.rows.iter().filter(|r| keep(r)).collect();
        let key_width = rows.iter().map(|r| r.key.len()).max().unwrap_or(0);
        let indent = " ".repeat(2 + key_width + 2);
        let mut out = String::new();
        for row in rows {
            let first = format!("  {:key_width$}  ", row.key);
            let wrapped = wrap(&plain(row.meaning), &indent, WIDTH);
            out.push_str(&first);
            out.push_str(&wrapped[indent.len()..]);
            out.push('\n');
        }
        out
    }

    /// A section of `--help`: the heading and the rows shown there.
    pub fn help_section(&self, heading: &str) -> String {
        let rows = self.rows_text(|r| r.in_command_help);
        format!("{heading}:\n{}", rows.trim_end())
    }

    /// The book's reference page (Markdown, as mdBook renders it).
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "<!-- Generated from src/help_topics.rs by tests/cli/book.rs; do not edit. -->\n\n\
             # {}\n\n{}\n\n| {} | {} |\n|---|---|\n",
            self.title, self.intro, self.columns[0], self.columns[1]
        );
        for row in self.rows {
            out.push_str(&format!(
                "| `{}` | {} |\n",
                row.key,
                row.meaning.replace('|', "\\|")
            ));
        }
        if !self.outro.is_empty() {
            out.push('\n');
            out.push_str(self.outro);
            out.push('\n');
        }
        out.push_str(&format!("\nOn a terminal: `rtctl help {}`.\n", self.name));
        out
    }
}

/// `--help`'s list of the topics.
pub fn topics_help() -> String {
    let width = TOPICS.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut out = String::from("Help topics (rtctl help TOPIC):\n");
    for topic in TOPICS {
        out.push_str(&format!("  {:width$}  {}\n", topic.name, topic.summary));
    }
    out.trim_end().to_string()
}

/// Code spans as a terminal shows them: without the backticks.
fn plain(text: &str) -> String {
    text.replace('`', "")
}

/// `text` wrapped at spaces to `width` columns, every line after the first starting with
/// `indent` (the first is the caller's to start). One pass over the words.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::from(indent);
    let mut column = indent.chars().count();
    let mut line_empty = true;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if !line_empty && column + 1 + len > width {
            out.push('\n');
            out.push_str(indent);
            column = indent.chars().count();
            line_empty = true;
        }
        if !line_empty {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
        line_empty = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{CONFIG_FILE, DEFAULT_API_URL, DEFAULT_PROFILE};

    #[test]
    fn rows_wrap_under_their_meaning() {
        let text = EXIT_CODES.rows_text(|_| true);
        assert!(text.starts_with("  0    success"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        assert!(
            text.contains("\n       check"),
            "a long meaning continues under itself: {text}"
        );
    }

    #[test]
    fn every_topic_is_found_by_its_name() {
        for t in TOPICS {
            assert_eq!(topic(t.name).map(|t| t.title), Some(t.title));
        }
        assert!(topic("nonsense").is_none());
        assert_eq!(DEFAULT_PROFILE, "default", "as the config topic says");
        assert_eq!(
            DEFAULT_API_URL, "https://api.runtype.com",
            "as two topics say"
        );
        assert_eq!(CONFIG_FILE, "config.toml", "as the topics say");
    }
}
