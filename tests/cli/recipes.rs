//! The README's CI recipes fail loudly: their shell logic runs with stand-ins for `rtctl`,
//! `gh` and `curl`, in the shells the runners use, and a failed rotation fails the step and
//! stores nothing.

use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../../README.md");
const VALUE: &str = "ct_test_AbCdEfGhIjKlMnOpQrStUvWxYz012345";

/// The lines after the first line equal to `marker` (after the heading `section`) that are
/// indented by at least `indent`, dedented.
fn block_after(section: &str, marker: &str, indent: usize) -> String {
    let from = README.find(section).expect("the section is in the README");
    let mut lines = README[from..]
        .lines()
        .skip_while(|l| l.trim_end() != marker);
    lines.next().expect("the marker is in the section");
    let body: Vec<&str> = lines
        .take_while(|l| l.len() > indent && l[..indent].trim().is_empty())
        .map(|l| &l[indent..])
        .collect();
    assert!(!body.is_empty(), "{marker} has a body");
    body.join("\n") + "\n"
}

/// The `sh` block after the paragraph ending with `lead`.
fn sh_block_after(lead: &str) -> String {
    let from = README.find(lead).expect("the paragraph is in the README");
    let rest = &README[from..];
    let start = rest.find("```sh\n").unwrap() + "```sh\n".len();
    let end = rest[start..].find("```").unwrap();
    rest[start..start + end].to_string()
}

/// Stand-ins in `dir/bin`: `rtctl` prints a value or fails with `$RTCTL_EXIT`; `gh` and
/// `curl` record what they were given in `dir/received`.
fn stand_ins(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let scripts = [
        (
            "rtctl",
            format!(
                "#!/bin/sh\nif [ -n \"$RTCTL_EXIT\" ]; then echo 'error: 404 Not Found' >&2; exit \"$RTCTL_EXIT\"; fi\necho {VALUE}\n"
            ),
        ),
        ("gh", "#!/bin/sh\ncat > \"$RECEIVED\"\n".to_string()),
        // The value reaches curl as a file named in `--form value=<FILE`.
        (
            "curl",
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in value=\\<*) cp \"${a#value=<}\" \"$RECEIVED\";; esac; done\n".to_string(),
        ),
    ];
    for (name, text) in scripts {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `script` with `shell` (its words) in a scratch directory; returns whether it
/// succeeded and what the stand-ins received (None: nothing was stored).
fn run(shell: &[&str], script: &str, rtctl_exit: Option<&str>) -> (bool, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = stand_ins(dir.path());
    let file = dir.path().join("step.sh");
    std::fs::write(&file, script).unwrap();
    let received = dir.path().join("received");
    let mut command = Command::new(shell[0]);
    command
        .args(&shell[1..])
        .arg(&file)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", path)
        .env("RECEIVED", &received)
        .env("WIDGET_TOKEN_ID", "ct_0d3e00000000a001")
        .env("GITHUB_ENV", dir.path().join("github.env"))
        .env("GITLAB_API_TOKEN", "glpat-x")
        .env("CI_API_V4_URL", "https://gitlab.example.com/api/v4")
        .env("CI_PROJECT_ID", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(code) = rtctl_exit {
        command.env("RTCTL_EXIT", code);
    }
    let status = command.status().unwrap();
    let github_env = std::fs::read_to_string(dir.path().join("github.env")).ok();
    let stored = std::fs::read_to_string(&received)
        .ok()
        .or(github_env)
        .filter(|s| !s.is_empty());
    (status.success(), stored)
}

#[test]
fn the_github_recipe_fails_the_step_when_the_rotation_fails() {
    let script = block_after("### CI recipe: rotate a token", "  run: |", 4);
    // `shell: bash` runs `bash --noprofile --norc -eo pipefail`; the script sets pipefail
    // itself too, so even the default `bash -e` fails.
    for shell in [
        &["bash", "--noprofile", "--norc", "-eo", "pipefail"][..],
        &["bash", "-e"][..],
    ] {
        let (ok, stored) = run(shell, &script, None);
        assert!(ok, "{shell:?}");
        assert_eq!(stored.as_deref(), Some(format!("{VALUE}\n").as_str()));
        for code in ["1", "4", "5"] {
            let (ok, _) = run(shell, &script, Some(code));
            assert!(!ok, "{shell:?}: exit {code} passed the step");
        }
    }

    let masked = sh_block_after("mask it before writing it:");
    let (ok, stored) = run(&["bash", "-e"], &masked, None);
    assert!(ok);
    assert_eq!(
        stored.as_deref(),
        Some(format!("WIDGET_CLIENT_TOKEN={VALUE}\n").as_str())
    );
    let (ok, stored) = run(&["bash", "-e"], &masked, Some("4"));
    assert!(!ok && stored.is_none(), "{stored:?}");
}

#[test]
fn the_gitlab_recipe_fails_the_job_when_the_rotation_fails() {
    let script = block_after("### CI recipe: a GitLab CI job", "    - |", 6);
    for shell in [&["sh"][..], &["bash"][..]] {
        let (ok, stored) = run(shell, &script, None);
        assert!(ok, "{shell:?}");
        assert_eq!(stored.as_deref(), Some(VALUE), "stored without the newline");
        for code in ["1", "4", "5"] {
            let (ok, stored) = run(shell, &script, Some(code));
            assert!(!ok, "{shell:?}: exit {code} passed the job");
            assert!(stored.is_none(), "{shell:?}: stored {stored:?}");
        }
    }
}
