//! The README and the book work top to bottom: every `console` example whose command starts
//! with `rtctl` runs, in order (the README, then the book's pages in SUMMARY.md's order),
//! against fresh demo data (the README's `--local` tour in a fresh data directory, the book's
//! examples against a fresh demo emulator), and prints what the page shows (ids, values and
//! times normalised). `RTCTL_REGENERATE=1` rewrites the shown output from the runs instead,
//! for a change that meant to alter it. No example creates a second token with a name already
//! taken: a reader who follows along never meets the warning `tokens create` gives then.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::harness::{Server, normalize};

/// The README, then the book's pages in the order SUMMARY.md gives them.
fn documents() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut documents = vec![root.join("README.md")];
    documents.extend(
        crate::book::summary_pages()
            .into_iter()
            .map(|page| root.join("docs/src").join(page)),
    );
    documents
}
/// The terminal the examples are shown at.
const WIDTH: u16 = 100;

/// One `$ rtctl …` line of a `console` block and the output shown under it.
struct Example {
    command: String,
    /// Line range of the shown output in the README (0-based, end exclusive).
    output: std::ops::Range<usize>,
}

fn examples(lines: &[&str]) -> Vec<Example> {
    let mut found = Vec::new();
    let mut in_console = false;
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if line.starts_with("```") {
            in_console = !in_console && line.trim() == "```console";
            index += 1;
            continue;
        }
        if in_console && let Some(command) = line.strip_prefix("$ ") {
            let mut command = command.to_string();
            while command.ends_with('\\') {
                command.pop();
                index += 1;
                command.push_str(lines[index].trim_start());
            }
            index += 1;
            let start = index;
            while index < lines.len()
                && !lines[index].starts_with("$ ")
                && !lines[index].starts_with("```")
            {
                index += 1;
            }
            if command.starts_with("rtctl ") {
                found.push(Example {
                    command,
                    output: start..index,
                });
            }
            continue;
        }
        index += 1;
    }
    found
}

/// What a terminal shows, as compared: colours dropped, ids, values and times normalised,
/// line ends trimmed.
fn comparable(text: &str) -> String {
    let plain = console::strip_ansi_codes(text);
    // A rollover's deadline is now plus the grace period, to the minute.
    let minutes = regex_lite::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ").unwrap();
    let plain = minutes.replace_all(&plain, "[MINUTE]");
    normalize(&plain)
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_readme_and_the_book_work_top_to_bottom() {
    let server = Server::demo();
    let regenerate = std::env::var_os("RTCTL_REGENERATE").is_some();
    // Where `--local` keeps its state here, as the README shows it (Linux).
    let data_dir = server.home.data_dir().display().to_string();
    let mut mismatches = Vec::new();
    let mut names = BTreeSet::new();
    let mut count = 0;
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let examples = examples(&lines);
        count += examples.len();
        let mut replaced: Vec<(std::ops::Range<usize>, String)> = Vec::new();
        let shown_name = document
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string();
        for example in &examples {
            let words = shell_words::split(&example.command).unwrap();
            let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
            if args.contains(&"create")
                && let Some(at) = args.iter().position(|a| *a == "--name")
            {
                assert!(
                    names.insert(args[at + 1].to_string()),
                    "{shown_name}: a second token named {:?}: $ {}",
                    args[at + 1],
                    example.command
                );
            }
            let run = server
                .invocation(&args, &[("NO_COLOR", "1")])
                .terminal(WIDTH, &[])
                .merged()
                .run();
            // However the example got there (a create, a rename, an apply), the account never
            // holds two tokens of one name: a token file could not manage either.
            let mut held = BTreeSet::new();
            for token in server.tokens() {
                let name = token["name"].as_str().unwrap_or_default().to_string();
                assert!(
                    name.is_empty() || held.insert(name.clone()),
                    "{shown_name}: after $ {} the account has two tokens named {name:?}",
                    example.command
                );
            }
            let shown = lines[example.output.clone()].join("\n");
            let printed = console::strip_ansi_codes(&run.stdout)
                .replace(&data_dir, "~/.local/share/rtctl")
                .lines()
                .map(str::trim_end)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                !printed.contains("already has a token named"),
                "{shown_name}: $ {}\n{printed}",
                example.command
            );
            if comparable(&printed) == comparable(&shown) {
                continue;
            }
            if regenerate {
                // Only what changed: ids and values that differ by chance stay as shown.
                replaced.push((example.output.clone(), printed));
            } else {
                mismatches.push(format!(
                    "{shown_name}: $ {}\n--- the page shows\n{shown}\n--- it printed (exit {})\n{printed}",
                    example.command, run.code
                ));
            }
        }
        if regenerate && !replaced.is_empty() {
            let mut out: Vec<String> = Vec::new();
            let mut at = 0;
            for (range, printed) in replaced {
                out.extend(lines[at..range.start].iter().map(|l| l.to_string()));
                if !printed.is_empty() {
                    out.push(printed);
                }
                at = range.end;
            }
            out.extend(lines[at..].iter().map(|l| l.to_string()));
            std::fs::write(&document, out.join("\n") + "\n").unwrap();
        }
    }
    assert!(count >= 20, "the walkthrough has its examples ({count})");
    assert!(
        mismatches.is_empty(),
        "the examples print something else (RTCTL_REGENERATE=1 rewrites them):\n\n{}",
        mismatches.join("\n\n")
    );
}
