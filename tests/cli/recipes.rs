//! The CI recipes of the README and of the book's "Rotation and CI" page, run as written: the
//! real `rtctl` against an emulator, stand-ins for `gh` and `curl` that record what they stored, in the shells the runners use. A
//! recipe must never empty or replace a secret with a value that does not work: a wrong id,
//! a rejected key, `n` at the prompt and a failing store each leave the stored secret as it
//! was, and a rerun of a scheduled rollover starts nothing new.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::json;

use crate::harness::{BIN, Server};

const README: &str = include_str!("../../README.md");
/// The book's page with every recipe and the leak runbook.
const ROTATION: &str = include_str!("../../docs/src/rotation.md");
/// What the secret held before the recipe ran.
const BEFORE: &str = "the value stored last week";

/// The lines after the first line equal to `marker` (after the heading `section` of `page`)
/// that are indented by at least `indent`, dedented.
fn block_after(page: &str, section: &str, marker: &str, indent: usize) -> String {
    let from = page.find(section).expect("the section is on the page");
    let mut lines = page[from..].lines().skip_while(|l| l.trim_end() != marker);
    lines.next().expect("the marker is in the section");
    let body: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || (l.len() > indent && l[..indent].trim().is_empty()))
        .map(|l| if l.len() > indent { &l[indent..] } else { "" })
        .collect();
    let text = body.join("\n");
    assert!(!text.trim().is_empty(), "{marker} has a body");
    text.trim_end().to_string() + "\n"
}

/// A scratch directory with stand-ins for `gh` and `curl` that store into `store/`, and the
/// real `rtctl` on PATH.
struct Runner {
    dir: tempfile::TempDir,
    server_url: String,
    key: String,
}

impl Runner {
    fn new(server: &Server) -> Runner {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.path().join("store")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let scripts = [
            (
                "gh",
                r#"#!/bin/sh
case "$1 $2" in
  "secret set") [ -n "$STORE_FAILS" ] && { echo "HTTP 403: Resource not accessible" >&2; exit 1; }
                cat > "$STORE/$3" ;;
  "workflow run") echo "$3" >> "$STORE/deployed" ;;
  *) echo "gh stand-in: unexpected $*" >&2; exit 2 ;;
esac
"#,
            ),
            (
                "curl",
                r#"#!/bin/sh
[ -n "$STORE_FAILS" ] && { echo "curl: (22) The requested URL returned error: 403" >&2; exit 22; }
for a in "$@"; do
  case "$a" in
    value@-) cat > "$STORE/WIDGET_CLIENT_TOKEN" ;;
    https://*/variables/*) : ;;
  esac
done
"#,
            ),
        ];
        for (name, text) in scripts {
            let path = bin.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let runner = Runner {
            dir,
            server_url: server.url.clone(),
            key: server.key.clone(),
        };
        std::fs::write(runner.secret_path(), BEFORE).unwrap();
        runner
    }

    fn secret_path(&self) -> PathBuf {
        self.dir.path().join("store/WIDGET_CLIENT_TOKEN")
    }

    fn secret(&self) -> String {
        std::fs::read_to_string(self.secret_path()).unwrap()
    }

    fn path(&self) -> String {
        let rtctl_dir = Path::new(BIN).parent().unwrap();
        format!(
            "{}:{}:{}",
            self.dir.path().join("bin").display(),
            rtctl_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The variables of a CI job: the API, a private home, and `extra` (an empty value unsets).
    fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let home = self.dir.path().join("home");
        let mut vars: Vec<(String, String)> = vec![
            ("PATH".into(), self.path()),
            ("HOME".into(), home.display().to_string()),
            (
                "RTCTL_CONFIG_DIR".into(),
                home.join("config").display().to_string(),
            ),
            (
                "RTCTL_DATA_DIR".into(),
                home.join("data").display().to_string(),
            ),
            ("RTCTL_TEST_KEYRING".into(), "none".into()),
            ("CI".into(), "true".into()),
            ("RUNTYPE_API_URL".into(), self.server_url.clone()),
            ("RUNTYPE_API_KEY".into(), self.key.clone()),
            (
                "STORE".into(),
                self.dir.path().join("store").display().to_string(),
            ),
            ("GH_TOKEN".into(), "ghp_stand_in".into()),
            ("GITLAB_API_TOKEN".into(), "glpat-stand-in".into()),
            (
                "CI_API_V4_URL".into(),
                "https://gitlab.example.com/api/v4".into(),
            ),
            ("CI_PROJECT_ID".into(), "1".into()),
        ];
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            if !v.is_empty() {
                vars.push((k.to_string(), v.to_string()));
            }
        }
        vars
    }

    /// Runs `script` with `shell` in the scratch directory; whether the step passed, and what
    /// it printed (the job's log).
    fn run(&self, shell: &[&str], script: &str, extra: &[(&str, &str)]) -> (bool, String) {
        let file = self.dir.path().join("step.sh");
        std::fs::write(&file, script).unwrap();
        let output = Command::new(shell[0])
            .args(&shell[1..])
            .arg(&file)
            .current_dir(self.dir.path())
            .env_clear()
            .envs(self.env(extra))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), said)
    }
}

/// GitHub's `run:` steps: `bash -e` by default (`shell: bash` adds pipefail).
const GITHUB_SHELL: &[&str] = &["bash", "--noprofile", "--norc", "-e"];

#[test]
fn the_github_recipe_stores_the_live_value_or_leaves_the_secret_as_it_was() {
    let server = Server::demo();
    let id = "ct_0d3e00000000a001";
    let script = block_after(ROTATION, "## CI recipe: rotate a token", "  run: |", 4);
    assert!(!script.contains('|'), "the recipe pipes nothing: {script}");
    let runner = Runner::new(&server);
    let with_id = [("WIDGET_TOKEN_ID", id)];
    let (ok, stderr) = runner.run(GITHUB_SHELL, &script, &with_id);
    assert!(ok, "{stderr}");
    assert_eq!(
        runner.secret(),
        server.value_of(id),
        "the live value, no newline"
    );
    assert!(
        !stderr.contains(&server.value_of(id)),
        "nothing of it in the log: {stderr}"
    );

    for (what, extra) in [
        (
            "a wrong id",
            vec![("WIDGET_TOKEN_ID", "ct_00000000deadbeef")],
        ),
        (
            "a rejected key",
            vec![
                ("WIDGET_TOKEN_ID", id),
                ("RUNTYPE_API_KEY", "rt_live_revoked"),
            ],
        ),
        (
            "no key at all",
            vec![("WIDGET_TOKEN_ID", id), ("RUNTYPE_API_KEY", "")],
        ),
        (
            "a failing store",
            vec![("WIDGET_TOKEN_ID", id), ("STORE_FAILS", "1")],
        ),
    ] {
        let runner = Runner::new(&server);
        let (ok, stderr) = runner.run(GITHUB_SHELL, &script, &extra);
        assert!(!ok, "{what} passed the step");
        assert_eq!(runner.secret(), BEFORE, "{what}: {stderr}");
    }

    // Someone runs the line by hand without --yes and answers n.
    let runner = Runner::new(&server);
    let line = script
        .trim()
        .replace("\"$WIDGET_TOKEN_ID\"", id)
        .replace(" --yes", "");
    let words = shell_words::split(&line).unwrap();
    assert_eq!(words[0], "rtctl");
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let mut vars = runner.env(&[("TERM", "xterm")]);
    vars.retain(|(k, _)| k != "CI");
    let (code, _) = crate::prompts::answer_prompts(&vars, &args, &[("[y/N]", "n\r")]);
    assert_eq!(code, 3);
    assert_eq!(runner.secret(), BEFORE, "n at the prompt stores nothing");
}

/// A token named like the recipes' widget, admitted on `page_origin` too.
fn docs_widget(server: &Server, page_origin: &str) -> String {
    server.create(
        "Docs widget",
        json!({"environment": "live", "allowedOrigins": ["https://docs.example.com", page_origin]}),
    )
}

/// A page that embeds whatever value `embedded` holds.
fn live_page(server: &Server) -> (String, Arc<Mutex<String>>) {
    let embedded = Arc::new(Mutex::new(String::new()));
    let shown = embedded.clone();
    let url = server.hostile(Router::new().route(
        "/",
        get(move || {
            let value = shown.lock().unwrap().clone();
            async move {
                Html(format!(
                    r#"<!doctype html><script src="https://cdn.jsdelivr.net/npm/@runtypelabs/persona/dist/install.global.js" data-runtype-token="{value}"></script>"#
                ))
            }
        }),
    ));
    (url, embedded)
}

fn docs_widgets(server: &Server) -> Vec<serde_json::Value> {
    server.tokens_named("Docs widget")
}

/// The scheduled rollover, as the README and the book show it (the same text in both).
#[test]
fn the_scheduled_overlap_recipe_rolls_over_once_checks_the_site_and_then_retires() {
    let recipe = |page: &str, heading: &str| {
        (
            block_after(page, heading, "        run: |", 10),
            block_after(
                page,
                "      - name: Retire old tokens",
                "        run: |",
                10,
            ),
        )
    };
    let from_readme = recipe(README, "## CI: rotate a token without downtime");
    let from_book = recipe(ROTATION, "## CI recipe: scheduled rotation with overlap");
    assert_eq!(from_readme, from_book, "the README's recipe is the book's");
    let (rotate, retire) = from_book;

    let server = Server::empty();
    let (page, embedded) = live_page(&server);
    let old = docs_widget(&server, &page);
    *embedded.lock().unwrap() = server.value_of(&old);
    let retire = retire.replace("https://docs.example.com", &page);
    let shell = &["bash", "--noprofile", "--norc", "-eo", "pipefail"][..];

    // A failing store undoes the rollover: the old token as it was, the secret too.
    let runner = Runner::new(&server);
    let (ok, stderr) = runner.run(shell, &rotate, &[("STORE_FAILS", "1")]);
    assert!(!ok);
    assert_eq!(runner.secret(), BEFORE, "{stderr}");
    assert!(stderr.contains("nothing changed"), "{stderr}");
    assert_eq!(docs_widgets(&server).len(), 1, "the successor was deleted");
    assert_eq!(
        server.token(&old).expect(200)["clientToken"]["name"],
        "Docs widget"
    );
    let (ok, _) = runner.run(shell, &rotate, &[("RUNTYPE_API_KEY", "rt_live_revoked")]);
    assert!(!ok, "a rejected key");
    assert_eq!(runner.secret(), BEFORE, "a rejected key");

    let (ok, stderr) = runner.run(shell, &rotate, &[]);
    assert!(ok, "{stderr}");
    let tokens = docs_widgets(&server);
    assert_eq!(tokens.len(), 2);
    let successor = tokens.iter().find(|t| t["id"] != old.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(runner.secret(), server.value_of(&successor));
    // The re-run button: nothing new, the secret as it is.
    let (ok, stderr) = runner.run(shell, &rotate, &[]);
    assert!(ok, "{stderr}");
    assert_eq!(docs_widgets(&server).len(), 2, "{stderr}");
    assert_eq!(runner.secret(), server.value_of(&successor));

    // The site still embeds the old value: doctor fails the job before anything is retired.
    server.set_clock("2099-01-01T00:00:00Z");
    let (ok, stderr) = runner.run(shell, &retire, &[]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("is retiring"), "{stderr}");
    server.token(&old).expect(200);
    // Deployed: doctor passes, and the due old token goes.
    *embedded.lock().unwrap() = server.value_of(&successor);
    let (ok, stderr) = runner.run(shell, &retire, &[]);
    assert!(ok, "{stderr}");
    server.token(&old).expect(404);
}

#[test]
fn the_gitlab_recipe_keeps_the_value_out_of_the_log_and_the_variable_as_it_was_on_failure() {
    let server = Server::empty();
    let old = docs_widget(&server, "https://www.example.com");
    let script = block_after(ROTATION, "## CI recipe: a GitLab CI job", "    - |", 6);
    for shell in [&["sh", "-e"][..], &["bash", "-e"][..]] {
        for (what, extra) in [
            ("a rejected key", ("RUNTYPE_API_KEY", "rt_live_revoked")),
            ("a failing curl", ("STORE_FAILS", "1")),
        ] {
            let runner = Runner::new(&server);
            let (ok, stderr) = runner.run(shell, &script, &[extra]);
            assert!(!ok, "{shell:?}: {what} passed the job");
            assert_eq!(runner.secret(), BEFORE, "{shell:?}: {what}: {stderr}");
        }
    }
    let runner = Runner::new(&server);
    let (ok, stderr) = runner.run(&["sh", "-e"], &script, &[]);
    assert!(ok, "{stderr}");
    let successor = docs_widgets(&server)
        .into_iter()
        .find(|t| t["id"] != old.as_str())
        .unwrap();
    let value = server.value_of(successor["id"].as_str().unwrap());
    assert_eq!(runner.secret(), value, "stored without a newline");
    assert!(!stderr.contains(&value), "{stderr}");
}

#[test]
fn the_leak_runbook_starts_from_the_value() {
    let server = Server::demo();
    let id = "ct_0d3e00000000a001";
    let leaked = server.value_of(id);
    let from = ROTATION.find("## Runbook: a token's value leaked").unwrap();
    let start = ROTATION[from..].find("```sh\n").unwrap() + from + "```sh\n".len();
    let end = ROTATION[start..].find("```").unwrap() + start;
    let runner = Runner::new(&server);
    let mut successor = String::new();
    let joined = ROTATION[start..end].replace(" \\\n", " ");
    for line in joined.lines() {
        let line = line.split(" # ").next().unwrap().trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("rtctl doctor") {
            continue;
        }
        let line = line.replace("ct_live_…", &leaked).replace("ct_OLD", id);
        let words = shell_words::split(&line).unwrap();
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let run = crate::harness::run_rtctl(&args, &runner.env(&[]), None);
        assert_eq!(run.code, 0, "{line}: {run:?}");
        assert!(!run.stderr.contains(&leaked), "{line}: {}", run.stderr);
        if words[2] == "rotate" {
            successor = run.stdout.trim().split('\t').nth(1).unwrap().to_string();
        }
    }
    assert_eq!(runner.secret(), server.value_of(&successor));
    server.token(id).expect(404);
}
