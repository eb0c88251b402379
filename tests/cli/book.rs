//! The book (`docs/`): its generated reference, its links, and the help topics it shares with
//! `rtctl help`.
//!
//! `docs/src/reference/{commands,exit-codes,environment,config,formats}.md` are generated:
//! the commands from the clap tree (as uv's `generate_cli_reference.rs` does), the rest from
//! the tables in `src/help_topics.rs`. A test fails when a page is stale; rewrite them with:
//!
//! ```sh
//! RTCTL_REGENERATE=1 cargo test --test cli book
//! ```
//!
//! mdBook does not check links, so a test here does: every relative link in README.md and the
//! book resolves to a file, and every `#anchor` to a heading of that file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rtctl::help_topics::TOPICS;

use crate::harness::{BIN, Home};

const REGENERATE: &str = "RTCTL_REGENERATE=1 cargo test --test cli book";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---- the generated reference ----------------------------------------------------------------

/// Every generated page, by path relative to the repository.
fn reference_pages() -> BTreeMap<String, String> {
    let mut pages = BTreeMap::new();
    pages.insert(
        "docs/src/reference/commands.md".to_string(),
        commands_page(),
    );
    for topic in TOPICS {
        pages.insert(
            format!("docs/src/reference/{}.md", topic.name),
            topic.markdown(),
        );
    }
    pages
}

/// Every command: what it does, its usage, its arguments and its own options; the global
/// options once, at the top.
fn commands_page() -> String {
    let mut command = rtctl::command();
    command.build();
    let mut page = String::from(
        "<!-- Generated from the command definitions (src/cli/) by tests/cli/book.rs; do not \
         edit. -->\n\n# Commands\n\nEvery command with its arguments and its own options, as \
         `rtctl COMMAND --help` shows them. The [global options](#global-options) work with \
         every command. Exit codes, environment variables, `config.toml` and the output \
         formats have pages of their own.\n\n",
    );
    let mut index = String::new();
    let mut sections = String::new();
    command_sections(&command, &mut index, &mut sections);
    page.push_str(&index);
    page.push_str("\n## Global options\n\n");
    options_table(
        &mut page,
        "option",
        command
            .get_arguments()
            .filter(|a| a.is_global_set() && !a.is_hide_set()),
    );
    page.push_str(&sections);
    page
}

fn command_sections(command: &clap::Command, index: &mut String, sections: &mut String) {
    let path = command
        .get_bin_name()
        .unwrap_or(command.get_name())
        .to_string();
    if path != "rtctl" {
        let about = command
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let depth = path.matches(' ').count();
        let _ = writeln!(
            index,
            "{}- [`{path}`](#{}): {about}",
            "  ".repeat(depth - 1),
            path.replace(' ', "-")
        );
        let _ = write!(sections, "\n## `{path}`\n\n");
        description(
            sections,
            &command
                .get_long_about()
                .or(command.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default(),
        );
        let usage = command.clone().render_usage().to_string();
        let _ = write!(sections, "```text\n{}\n```\n", usage.trim_end());
        let positionals: Vec<&clap::Arg> = command
            .get_positionals()
            .filter(|a| !a.is_hide_set())
            .collect();
        if !positionals.is_empty() {
            sections.push_str("\nArguments:\n\n");
            options_table(sections, "argument", positionals.into_iter());
        }
        let own: Vec<&clap::Arg> = command
            .get_arguments()
            .filter(|a| !a.is_positional() && !a.is_global_set() && !a.is_hide_set())
            .filter(|a| a.get_id() != "help")
            .collect();
        if !own.is_empty() {
            sections.push_str("\nOptions:\n\n");
            options_table(sections, "option", own.into_iter());
        }
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        command_sections(sub, index, sections);
    }
}

/// A command's long help as Markdown: its paragraphs as text, indented lines (examples) as
/// a code block.
fn description(out: &mut String, text: &str) {
    let mut code: Vec<&str> = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush_paragraph = |out: &mut String, paragraph: &mut Vec<&str>| {
        if !paragraph.is_empty() {
            let _ = write!(out, "{}\n\n", escape(&paragraph.join(" ")));
            paragraph.clear();
        }
    };
    let flush_code = |out: &mut String, code: &mut Vec<&str>| {
        if !code.is_empty() {
            let _ = write!(out, "```sh\n{}\n```\n\n", code.join("\n"));
            code.clear();
        }
    };
    for line in text.lines() {
        if let Some(indented) = line.strip_prefix("  ") {
            flush_paragraph(out, &mut paragraph);
            code.push(indented);
        } else if line.trim().is_empty() {
            flush_paragraph(out, &mut paragraph);
            flush_code(out, &mut code);
        } else {
            flush_code(out, &mut code);
            paragraph.push(line.trim());
        }
    }
    flush_paragraph(out, &mut paragraph);
    flush_code(out, &mut code);
}

/// Text from a help string, safe in Markdown: what would be markup is escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '_' | '<' | '>' | '[' | ']' | '|' | '`' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn options_table<'a>(out: &mut String, heading: &str, args: impl Iterator<Item = &'a clap::Arg>) {
    let _ = write!(out, "| {heading} | what it does |\n|---|---|\n");
    for arg in args {
        let mut names = Vec::new();
        if let Some(short) = arg.get_short() {
            names.push(format!("-{short}"));
        }
        if let Some(long) = arg.get_long() {
            names.push(format!("--{long}"));
        }
        let values = arg
            .get_value_names()
            .map(|v| {
                v.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
        let takes_values = arg.get_num_args().is_some_and(|n| n.takes_values());
        let repeated = arg.get_num_args().is_some_and(|n| n.max_values() > 1)
            || matches!(arg.get_action(), clap::ArgAction::Append);
        let mut shown = names.join(", ");
        if arg.is_positional() {
            shown = if arg.is_required_set() {
                format!("<{values}>")
            } else {
                format!("[{values}]")
            };
            if repeated {
                shown.push_str("...");
            }
        } else if takes_values {
            shown.push_str(&format!(" <{values}>"));
        }
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let mut what = escape(&help.split_whitespace().collect::<Vec<_>>().join(" "));
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|p| !p.is_hide_set())
            .map(|p| format!("`{}`", p.get_name()))
            .collect();
        if takes_values && !possible.is_empty() {
            let _ = write!(what, " (one of {})", possible.join(", "));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        if takes_values && !defaults.is_empty() && !arg.is_hide_default_value_set() {
            let _ = write!(what, " [default: `{}`]", defaults.join(" "));
        }
        let _ = writeln!(out, "| `{}` | {what} |", shown.replace('|', "\\|"));
    }
}

#[test]
fn the_reference_pages_are_fresh() {
    let pages = reference_pages();
    if std::env::var_os("RTCTL_REGENERATE").is_some_and(|v| v == "1") {
        for (name, text) in &pages {
            std::fs::write(root().join(name), text).unwrap();
        }
        return;
    }
    let stale: Vec<&String> = pages
        .iter()
        .filter(|(name, text)| {
            std::fs::read_to_string(root().join(name.as_str()))
                .ok()
                .as_ref()
                != Some(*text)
        })
        .map(|(name, _)| name)
        .collect();
    assert!(
        stale.is_empty(),
        "the book's generated reference is stale; regenerate it with:\n    {REGENERATE}\n{stale:?}"
    );
}

// ---- the book's table of contents and its links ---------------------------------------------

fn book_src() -> PathBuf {
    root().join("docs/src")
}

/// The pages SUMMARY.md names, in its order (relative to `docs/src`).
pub fn summary_pages() -> Vec<String> {
    let summary = std::fs::read_to_string(book_src().join("SUMMARY.md")).unwrap();
    links(&summary)
        .into_iter()
        .map(|(target, _)| target)
        .collect()
}

/// Every Markdown file under `dir`.
pub fn markdown_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "md") {
            found.push(path);
        }
    }
}

#[test]
fn the_summary_names_every_page_and_only_pages_that_exist() {
    let named: BTreeSet<PathBuf> = summary_pages().iter().map(|p| book_src().join(p)).collect();
    let mut files = Vec::new();
    markdown_files(&book_src(), &mut files);
    let files: BTreeSet<PathBuf> = files
        .into_iter()
        .filter(|f| !f.ends_with("SUMMARY.md"))
        .collect();
    let missing: Vec<_> = named.difference(&files).collect();
    let unnamed: Vec<_> = files.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "SUMMARY.md names pages that do not exist: {missing:?}"
    );
    assert!(unnamed.is_empty(), "SUMMARY.md does not name: {unnamed:?}");
}

/// The lines of `text` outside fenced code blocks, with inline code spans blanked.
fn prose(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            lines.push(String::new());
            continue;
        }
        if fenced {
            lines.push(String::new());
            continue;
        }
        let mut out = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
                out.push(c);
            } else {
                out.push(if in_code { ' ' } else { c });
            }
        }
        lines.push(out);
    }
    lines
}

/// `[text](target)` links outside code: each target and its line (1-based).
fn links(text: &str) -> Vec<(String, usize)> {
    let pattern = regex_lite::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut found = Vec::new();
    for (number, line) in prose(text).iter().enumerate() {
        for capture in pattern.captures_iter(line) {
            found.push((capture[1].to_string(), number + 1));
        }
    }
    found
}

/// The anchors of a page's headings, as mdBook (and GitHub) make them: the heading's text
/// without its markup, lower-cased, spaces as `-`, other punctuation dropped; a repeated one
/// gets `-1`, `-2`….
fn anchors(text: &str) -> BTreeSet<String> {
    let link = regex_lite::Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim();
        let heading = link.replace_all(heading, "$1");
        let slug: String = heading
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c.to_lowercase().next().unwrap_or(c))
                } else if c.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let count = seen.entry(slug.clone()).or_insert(0);
        anchors.insert(if *count == 0 {
            slug.clone()
        } else {
            format!("{slug}-{count}")
        });
        *count += 1;
    }
    anchors
}

#[test]
fn every_link_in_the_readme_and_the_book_resolves() {
    let mut files = vec![root().join("README.md")];
    markdown_files(&book_src(), &mut files);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (target, line) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let place = format!(
                "{}:{line}: {target}",
                file.strip_prefix(root()).unwrap().display()
            );
            if !resolved.exists() {
                broken.push(format!("{place}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                let target_text = std::fs::read_to_string(&resolved).unwrap_or_default();
                if !anchors(&target_text).contains(anchor) {
                    broken.push(format!("{place}: no heading with that anchor"));
                }
            }
        }
    }
    assert!(checked > 50, "the links were found ({checked})");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_anchor_rules_match_mdbook() {
    let page = "# Trying it with `--local`\n## `rtctl tokens list`\n## Exit codes\n## Exit codes\n\
                ### CI recipe: rotate a token and store the new value as a secret\n\
                ## Surfaces and traffic: `rtctl surfaces list`, `--surface`\n";
    let found = anchors(page);
    for expected in [
        "trying-it-with---local",
        "rtctl-tokens-list",
        "exit-codes",
        "exit-codes-1",
        "ci-recipe-rotate-a-token-and-store-the-new-value-as-a-secret",
        "surfaces-and-traffic-rtctl-surfaces-list---surface",
    ] {
        assert!(found.contains(expected), "{expected} in {found:?}");
    }
    // A link inside code is not a link.
    assert!(links("`[a](nowhere.md)`\n```\n[b](nowhere.md)\n```\n").is_empty());
}

// ---- help topics ----------------------------------------------------------------------------

#[test]
fn help_prints_each_topic_and_the_root_help_lists_them() {
    let home = Home::new();
    for topic in TOPICS {
        let run = home.binary(&["help", topic.name], &[], None);
        run.expect(0);
        assert_eq!(run.stdout, topic.text(), "rtctl help {}", topic.name);
    }
    let exit_codes = home.binary(&["help", "exit-codes"], &[], None);
    assert!(
        exit_codes.stdout.contains("  7    the --jq filter failed"),
        "{}",
        exit_codes.stdout
    );
    for flag in ["-h", "--help"] {
        let run = home.binary(&[flag], &[], None);
        for topic in TOPICS {
            assert!(
                run.stdout
                    .contains(&format!("  {:11}  {}", topic.name, topic.summary)),
                "{flag} lists {}: {}",
                topic.name,
                run.stdout
            );
        }
    }
    // A command's help, as its --help prints it; something else is a usage error.
    let help = home.binary(&["help", "tokens", "rotate"], &[], None);
    let long = home.binary(&["tokens", "rotate", "--help"], &[], None);
    assert_eq!(help.stdout, long.stdout);
    let unknown = home.binary(&["help", "exit-code"], &[], None);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown
            .stderr
            .contains("exit-code is neither a command nor a help topic"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_subcommands_short_help_shows_its_own_options_and_points_at_the_global_ones() {
    let home = Home::new();
    let short = home.binary(&["tokens", "delete", "-h"], &[], None);
    short.expect(0);
    insta::assert_snapshot!(short.stdout);
    for global in ["--api-url", "--jq-arg", "--retries", "Global options:"] {
        assert!(!short.stdout.contains(global), "{global}: {}", short.stdout);
    }
    // --help still lists every global option; so do the root's -h and --help.
    let long = home.binary(&["tokens", "delete", "--help"], &[], None);
    let root = home.binary(&["-h"], &[], None);
    for text in [&long.stdout, &root.stdout] {
        for flag in ["--profile", "--api-url", "--local", "--jq-arg", "--retries"] {
            assert!(text.contains(flag), "{flag}: {text}");
        }
    }
}

#[test]
fn completion_offers_the_help_topics() {
    let home = Home::new();
    let mut vars = home.env();
    vars.push(("COMPLETE".into(), "fish".into()));
    let output = std::process::Command::new(BIN)
        .args(["--", "rtctl", "help", "e"])
        .env_clear()
        .envs(vars)
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&output.stdout);
    for expected in ["exit-codes", "environment", "emulator"] {
        assert!(offered.contains(expected), "{expected}: {offered}");
    }
}
