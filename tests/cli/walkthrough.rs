//! The README's walkthrough works top to bottom: every `console` example whose command
//! starts with `rtctl` runs, in order, against one fresh demo emulator, and prints what the
//! README shows (ids, values and times normalised). `RTCTL_REGENERATE=1` rewrites the
//! shown output from the runs instead, for a change that meant to alter it.

use crate::harness::{Server, normalize};

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
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
fn the_readme_walkthrough_works_top_to_bottom() {
    let text = std::fs::read_to_string(README).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let examples = examples(&lines);
    assert!(examples.len() >= 15, "the walkthrough has its examples");
    let server = Server::demo();
    let regenerate = std::env::var_os("RTCTL_REGENERATE").is_some();
    let mut replaced: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut mismatches = Vec::new();
    for example in &examples {
        let words = shell_words::split(&example.command).unwrap();
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let run = server
            .invocation(&args, &[("NO_COLOR", "1")])
            .terminal(WIDTH, &[])
            .merged()
            .run();
        let shown = lines[example.output.clone()].join("\n");
        let printed = console::strip_ansi_codes(&run.stdout)
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n");
        if regenerate {
            replaced.push((example.output.clone(), printed));
        } else if comparable(&printed) != comparable(&shown) {
            mismatches.push(format!(
                "$ {}\n--- the README shows\n{shown}\n--- it printed (exit {})\n{printed}",
                example.command, run.code
            ));
        }
    }
    if regenerate {
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
        std::fs::write(README, out.join("\n") + "\n").unwrap();
        return;
    }
    assert!(
        mismatches.is_empty(),
        "the README's examples print something else (RTCTL_REGENERATE=1 rewrites them):\n\n{}",
        mismatches.join("\n\n")
    );
}
