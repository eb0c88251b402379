//! `completions/` and `man/` are generated from the command tree and checked in. This test
//! regenerates them in memory and fails when the files differ; with `RTCTL_REGENERATE=1` it
//! writes them instead:
//!
//! ```sh
//! RTCTL_REGENERATE=1 cargo test --test cli generated
//! ```
//!
//! Also here: the rules every command's help follows, and the scripts loading in real shells.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rtctl::Shell;
use rtctl::completion_script;

use crate::harness::{BIN, Home, Server};

const REGENERATE: &str = "RTCTL_REGENERATE=1 cargo test --test cli generated";
const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Powershell,
    Shell::Elvish,
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every generated file, by path relative to the repository.
fn expected() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for shell in SHELLS {
        files.insert(
            format!("completions/{}", shell.file_name()),
            completion_script(shell),
        );
    }
    let mut command = rtctl::command();
    command.build();
    add_man_pages(&command, &mut files);
    files
}

fn add_man_pages(command: &clap::Command, files: &mut BTreeMap<String, Vec<u8>>) {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        add_man_pages(sub, files);
    }
    let man = clap_mangen::Man::new(command.clone());
    files.insert(format!("man/{}", man.get_filename()), man_page(command));
}

/// A command's man page, as clap_mangen renders it (the global options in a section of their
/// own, from their help heading), with a synopsis of the command's own options and arguments
/// (a repeated one marked `...`) followed by `[GLOBAL OPTIONS]`.
fn man_page(command: &clap::Command) -> Vec<u8> {
    // Global options are hidden from a subcommand's `-h`; a man page shows them all.
    let full = command.clone().mut_args(|a| a.hide_short_help(false));
    let mut page = Vec::new();
    clap_mangen::Man::new(full.clone())
        .render(&mut page)
        .unwrap();
    let is_root = command.get_arguments().any(|a| a.get_id() == "version");
    let brief = if is_root {
        full
    } else {
        full.mut_args(|a| if a.is_global_set() { a.hide(true) } else { a })
    };
    let mut own = Vec::new();
    clap_mangen::Man::new(brief)
        .render_synopsis_section(&mut own)
        .unwrap();
    let mut own = String::from_utf8(own).unwrap();
    // clap_mangen shows a repeated argument as if it took one value.
    for arg in command
        .get_positionals()
        .filter(|a| !a.is_hide_set() && a.get_num_args().is_some_and(|n| n.max_values() > 1))
    {
        for name in arg.get_value_names().into_iter().flatten() {
            for (open, close) in [("[", "]"), ("<", ">")] {
                let one = format!("{open}\\fI{name}\\fR{close}");
                own = own.replace(&one, &format!("{one}..."));
            }
        }
    }
    if !is_root {
        own = own.trim_end().to_string() + " [\\fIGLOBAL OPTIONS\\fR]\n";
    }
    let page = String::from_utf8(page).unwrap();
    let (old, own) = (section(&page, "SYNOPSIS"), section(&own, "SYNOPSIS"));
    let page = page.replacen(old, own, 1);
    // The after-help (environment, help topics, exit codes) is laid out in columns: shown as
    // written, not filled and justified into one paragraph.
    match page.contains(".SH EXTRA\n") {
        true => {
            let extra = section(&page, "EXTRA");
            let body = extra.trim_start_matches(".SH EXTRA\n");
            let unfilled = format!(".SH EXTRA\n.nf\n{}\n.fi\n", body.trim_end());
            page.replacen(extra, &unfilled, 1).into_bytes()
        }
        false => page.into_bytes(),
    }
}

/// The section `name` of a rendered man page: from its `.SH` line to the next one.
fn section<'a>(page: &'a str, name: &str) -> &'a str {
    let start = page
        .find(&format!(".SH {name}\n"))
        .expect("the section is there");
    let end = page[start + 4..]
        .find("\n.SH ")
        .map_or(page.len(), |at| start + 4 + at + 1);
    &page[start..end]
}

/// The files now in `completions/` and `man/`.
fn on_disk() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for dir in ["completions", "man"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            files.insert(name, std::fs::read(&path).unwrap());
        }
    }
    files
}

#[test]
fn generated_files_are_fresh() {
    let expected = expected();
    let actual = on_disk();
    if std::env::var_os("RTCTL_REGENERATE").is_some_and(|v| v == "1") {
        for name in actual.keys().filter(|n| !expected.contains_key(*n)) {
            std::fs::remove_file(root().join(name)).unwrap();
        }
        for (name, bytes) in &expected {
            let path = root().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        return;
    }
    let mut stale: Vec<String> = Vec::new();
    for (name, bytes) in &expected {
        match actual.get(name) {
            None => stale.push(format!("missing {name}")),
            Some(found) if found != bytes => stale.push(format!("outdated {name}")),
            Some(_) => {}
        }
    }
    stale.extend(
        actual
            .keys()
            .filter(|n| !expected.contains_key(*n))
            .map(|n| format!("no longer generated {n}")),
    );
    assert!(
        stale.is_empty(),
        "completions/ and man/ are stale; regenerate them with:\n    {REGENERATE}\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_command_tree_passes_clap_debug_asserts() {
    rtctl::command().debug_assert();
}

/// Every command: an imperative one-line summary without a trailing period, a long help with
/// an example, the environment it reads; the root ends with the exit codes.
#[test]
fn every_command_has_the_help_users_expect() {
    fn check(command: &clap::Command, path: &str, problems: &mut Vec<String>) {
        let name = format!("{path} {}", command.get_name()).trim().to_string();
        let about = command
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        if about.is_empty() || about.ends_with('.') {
            problems.push(format!(
                "{name}: summary {about:?} is empty or ends with a period"
            ));
        }
        let first = about.split(' ').next().unwrap_or_default();
        if first.ends_with('s') && !["Process"].contains(&first) {
            problems.push(format!(
                "{name}: summary should be imperative, not {first:?}"
            ));
        }
        let long = command
            .get_long_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        if !long.contains("Examples:") && !long.contains("Example:") {
            problems.push(format!("{name}: the long help has no example"));
        }
        let reads_api = !["emulator", "completions", "help"]
            .iter()
            .any(|c| name.split(' ').any(|word| word == *c));
        let after = command
            .get_after_long_help()
            .map(|a| a.to_string())
            .unwrap_or_default();
        if reads_api && !after.contains("RUNTYPE_API_KEY") {
            problems.push(format!("{name}: the environment it reads is not listed"));
        }
        for sub in command.get_subcommands() {
            check(sub, &name, problems);
        }
    }
    let mut command = rtctl::command();
    command.build();
    let mut problems = Vec::new();
    check(&command, "", &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let help = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(
        text.trim_end()
            .ends_with("130  interrupted (Ctrl-C); 143 for SIGTERM, handled the same way"),
        "{text}"
    );
}

#[test]
fn the_man_pages_render() {
    let page = root().join("man/rtctl-tokens-rotate.1");
    assert!(page.exists(), "run {REGENERATE}");
    // groff is what man(1) renders with; .ci/run installs it.
    if !shell_available("groff") {
        return;
    }
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou", "-rLL=100n"])
        .arg(&page)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for expected in [
        "NAME",
        "rtctl-tokens-rotate",
        "SYNOPSIS",
        "--yes",
        "Examples:",
    ] {
        assert!(text.contains(expected), "{expected} missing from: {text}");
    }
}

// ---- the scripts in real shells -------------------------------------------------------------

fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether a program these tests run is here: CI installs bash, zsh, fish and groff
/// (`.ci/run`), so a missing one there is a failure; on a developer's machine the test is
/// skipped with a note.
fn shell_available(program: &str) -> bool {
    if have(program) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{program} is not installed; .ci/run installs it"
    );
    // Past the test harness's capture, so a skip is seen in the run's output, not hidden.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {program} is not installed; the test that needs it did not run"
    );
    false
}

/// The environment of a shell that completes with our binary against `server`.
fn shell_env(server: &Server, home: &Home) -> Vec<(String, String)> {
    let bin_dir = Path::new(BIN)
        .parent()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut vars = home.env();
    vars.push((
        "PATH".into(),
        format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default()),
    ));
    vars.push(("RUNTYPE_API_URL".into(), server.url.clone()));
    vars.push(("RUNTYPE_API_KEY".into(), server.key.clone()));
    vars
}

fn run_shell(shell: &str, script_text: &str, vars: &[(String, String)]) -> String {
    let out = Command::new(shell)
        .args(["-c", script_text])
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{shell}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completes_commands_and_token_ids() {
    if !shell_available("bash") {
        return;
    }
    let server = Server::demo();
    let home = Home::new();
    let id = server.id_of("Docs assistant");
    let out = run_shell(
        "bash",
        r#"source completions/rtctl.bash
complete -p rtctl
COMP_WORDS=(rtctl tok); COMP_CWORD=1; COMP_TYPE=9; _clap_complete_rtctl rtctl tok rtctl
echo "commands: ${COMPREPLY[*]}"
COMP_WORDS=(rtctl tokens rotate ct_); COMP_CWORD=3; _clap_complete_rtctl rtctl ct_ rotate
echo "ids: ${COMPREPLY[*]}"
RUNTYPE_API_KEY=rt_test_wrong
COMP_WORDS=(rtctl tokens rotate ct_); COMP_CWORD=3; _clap_complete_rtctl rtctl ct_ rotate
echo "rejected: ${COMPREPLY[*]}""#,
        &shell_env(&server, &home),
    );
    assert!(out.contains("-F _clap_complete_rtctl rtctl"), "{out}");
    assert!(out.contains("commands: tokens"), "{out}");
    assert!(out.contains(&id), "{out}");
    assert_eq!(out.matches("ct_").count(), 6, "the six demo ids: {out}");
    assert!(
        out.lines().any(|l| l.trim_end() == "rejected:"),
        "a rejected key completes nothing, silently: {out}"
    );
}

#[test]
fn fish_completes_token_ids_with_their_names() {
    if !shell_available("fish") {
        return;
    }
    let server = Server::demo();
    let home = Home::new();
    let id = server.id_of("Docs assistant");
    let out = run_shell(
        "fish",
        "source completions/rtctl.fish; complete -C 'rtctl origins list '; complete -C 'rtctl au'",
        &shell_env(&server, &home),
    );
    assert!(out.contains(&format!("{id}\tDocs assistant")), "{out}");
    assert!(out.contains("auth"), "{out}");

    // `--surface`: the chat surfaces, as PRODUCT/SURFACE.
    let out = run_shell(
        "fish",
        "source completions/rtctl.fish; complete -C 'rtctl tokens list --surface Example'",
        &shell_env(&server, &home),
    );
    assert!(out.contains("Example Store/Web chat (dev)"), "{out}");
    assert!(!out.contains("Public API"), "chat surfaces only: {out}");

    // After `origins remove ID`, that token's origins.
    let out = run_shell(
        "fish",
        &format!("source completions/rtctl.fish; complete -C 'rtctl origins remove {id} https://'"),
        &shell_env(&server, &home),
    );
    assert!(out.contains("https://*.example.com"), "{out}");
}

#[test]
fn zsh_loads_the_script_and_the_protocol_answers_with_names() {
    if !shell_available("zsh") {
        return;
    }
    let server = Server::demo();
    let home = Home::new();
    let vars = shell_env(&server, &home);
    // `-D`: no dump file. compinit writes its dump beside the target and renames it over the
    // target, so `-d /dev/null` run as root (as CI does) replaced /dev/null with a regular file.
    let out = run_shell(
        "zsh",
        "autoload -U compinit && compinit -u -D && source completions/_rtctl && print -r -- $_comps[rtctl]",
        &vars,
    );
    assert_eq!(out.trim(), "_clap_dynamic_completer_rtctl");
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let null = std::fs::metadata("/dev/null").expect("/dev/null");
        assert!(
            null.file_type().is_char_device(),
            "the test replaced /dev/null"
        );
    }
    // What the zsh function runs at each Tab, with its answer format (`value:description`).
    let id = server.id_of("Docs assistant");
    let answer = run_shell(
        "zsh",
        "_CLAP_IFS=$'\\n' _CLAP_COMPLETE_INDEX=3 COMPLETE=zsh rtctl -- rtctl tokens get ''",
        &vars,
    );
    assert!(answer.contains(&format!("{id}:Docs assistant")), "{answer}");
}
