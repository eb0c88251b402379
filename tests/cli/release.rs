//! The release's identity lives in one place, Cargo.toml's `repository` and `version`: every
//! `OWNER/REPO` of rtctl's own that the README, the action, the release configuration and the
//! workflows name (release URLs, `uses:` lines, the image, the Homebrew tap) follows them, and
//! so do the versions they pin. The GitHub recipes use the action, the GitLab one the installer.
//!
//! (`.github/workflows/release.yml` is left out: dist generates it from dist-workspace.toml,
//! and `.ci/run` fails while it is stale.)

use std::path::{Path, PathBuf};

use regex_lite::Regex;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(owner, repo)` from Cargo.toml's `repository`.
fn identity() -> (String, String) {
    let url = env!("CARGO_PKG_REPOSITORY");
    let path = url
        .strip_prefix("https://github.com/")
        .unwrap_or_else(|| panic!("repository is a https://github.com/OWNER/REPO URL: {url}"));
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    let (owner, repo) = path
        .split_once('/')
        .unwrap_or_else(|| panic!("repository names OWNER/REPO: {url}"));
    assert!(!repo.contains('/'), "repository names OWNER/REPO: {url}");
    (owner.to_string(), repo.to_string())
}

/// The files that name where rtctl lives.
fn files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "README.md",
        "CONTRIBUTING.md",
        "Cargo.toml",
        "crates/rtctl-model/README.md",
        "crates/rtctl-emulator/README.md",
        "docs/book.toml",
        "action.yml",
        "dist-workspace.toml",
        "docker/Dockerfile",
        "scripts/setup-rtctl.sh",
    ]
    .iter()
    .map(|f| root().join(f))
    .collect();
    let workflows = root().join(".github/workflows");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&workflows)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml") && !p.ends_with("release.yml"))
        .collect();
    found.sort();
    files.extend(found);
    let mut pages = Vec::new();
    crate::book::markdown_files(&root().join("docs/src"), &mut pages);
    pages.sort();
    files.extend(pages);
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn everything_that_names_the_release_follows_cargo_toml() {
    let (owner, repo) = identity();
    let version = env!("CARGO_PKG_VERSION");
    let ours = |name: &str| name == repo || name == "rtctl";
    let patterns = [
        // github.com/OWNER/REPO, optionally …/releases/download/vVERSION
        Regex::new(r"github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)(?:/releases/download/v([0-9][A-Za-z0-9.+-]*))?").unwrap(),
        // uses: OWNER/REPO@vVERSION
        Regex::new(r"uses: ([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)@v?([0-9][A-Za-z0-9.+-]*)").unwrap(),
        // OWNER.github.io/REPO (the book on GitHub Pages)
        Regex::new(r"([A-Za-z0-9_.-]+)\.github\.io/([A-Za-z0-9_-]+)").unwrap(),
        // ghcr.io/OWNER/REPO:VERSION
        Regex::new(r"ghcr\.io/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(?::([0-9][A-Za-z0-9.+-]*))?").unwrap(),
        // gh attestation verify … --repo OWNER/REPO (or --signer-workflow OWNER/REPO/…)
        Regex::new(r"--(?:repo|signer-workflow) ([A-Za-z0-9_.-]+)/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)").unwrap(),
    ];
    let taps = [
        Regex::new(r"brew install ([A-Za-z0-9_.-]+)/tap/").unwrap(),
        Regex::new(r#"tap = "([A-Za-z0-9_.-]+)/homebrew-tap""#).unwrap(),
    ];

    let mut wrong = Vec::new();
    for file in files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", relative(&file), n + 1);
            for pattern in &patterns {
                for caps in pattern.captures_iter(line) {
                    let (o, r) = (&caps[1], &caps[2]);
                    if !ours(r) {
                        continue;
                    }
                    if o != owner || r != repo {
                        wrong.push(format!("{at}: names {o}/{r}, not {owner}/{repo}: {line}"));
                    }
                    if let Some(v) = caps.get(3)
                        && v.as_str() != version
                    {
                        wrong.push(format!("{at}: pins {}, not {version}: {line}", v.as_str()));
                    }
                }
            }
            for tap in &taps {
                for caps in tap.captures_iter(line) {
                    if caps[1] != owner {
                        wrong.push(format!("{at}: a tap of {}, not {owner}: {line}", &caps[1]));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "these lines do not follow Cargo.toml (repository = \"{}\", version = \"{version}\"):\n{}",
        env!("CARGO_PKG_REPOSITORY"),
        wrong.join("\n")
    );
}

/// scripts/setup-rtctl.sh (the action) reads `version` and `repository` from Cargo.toml with
/// sed: the first `version = "…"` and `repository = "…"` lines must be the package's.
#[test]
fn the_action_reads_the_package_from_cargo_toml() {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let first = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(&format!("{key} = \""))
                    .and_then(|v| v.strip_suffix('"'))
            })
            .map(str::to_string)
    };
    assert_eq!(first("version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        first("repository").as_deref(),
        Some(env!("CARGO_PKG_REPOSITORY"))
    );
}

/// The section of a page from `heading` to the next heading of any level.
fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let from = page
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} is on the page"));
    let rest = &page[from + heading.len()..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn the_ci_recipes_install_a_release_instead_of_compiling() {
    let (owner, repo) = identity();
    let version = env!("CARGO_PKG_VERSION");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let book = std::fs::read_to_string(root().join("docs/src/rotation.md")).unwrap();
    let uses = format!("uses: {owner}/{repo}@v{version}");
    for (page, heading) in [
        (&book, "## CI recipe: rotate a token"),
        (&book, "## CI recipe: scheduled rotation"),
        (&readme, "## CI: rotate a token without downtime"),
    ] {
        let text = section(page, heading);
        assert!(text.contains(&uses), "{heading} has `{uses}`");
        assert!(!text.contains("cargo install"), "{heading} compiles rtctl");
    }
    // Both jobs of the scheduled recipe set rtctl up.
    let scheduled = section(&book, "## CI recipe: scheduled rotation");
    assert_eq!(scheduled.matches(&uses).count(), 2);

    let gitlab = section(&book, "## CI recipe: a GitLab CI job");
    let installer =
        format!("github.com/{owner}/{repo}/releases/download/v{version}/rtctl-installer.sh");
    assert!(
        gitlab.contains(&installer),
        "the GitLab recipe uses {installer}"
    );
    assert!(
        !gitlab.contains("cargo install"),
        "the GitLab recipe compiles rtctl"
    );
}

// --- The Action: every use verified against the release ---------------------------------

/// What running the Action needs: python3 with PyYAML (scripts/run_action.py), bash, curl,
/// tar with xz, sha256sum. Missing ones skip the test with a note, except under CI.
fn action_prerequisites() -> bool {
    let works = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let missing: Vec<&str> = [
        (
            "python3 with PyYAML",
            works("python3", &["-c", "import yaml"]),
        ),
        ("bash", works("bash", &["-c", "true"])),
        ("curl", works("curl", &["--version"])),
        ("xz", works("xz", &["--version"])),
        ("sha256sum", works("sha256sum", &["--version"])),
    ]
    .iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| *name)
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the Action's tests need {missing:?} under CI"
    );
    eprintln!("SKIPPED: the Action's tests need {missing:?}");
    false
}

const TARGET: &str = "x86_64-unknown-linux-musl";

/// What the job's `github.token` is in the Action's tests.
const GITHUB_TOKEN: &str = "ghs_stand-in-job-token";

/// The runner's `gh`, as the Action finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gh {
    /// `gh attestation verify` succeeds.
    Verifies,
    /// `gh attestation verify` fails.
    Fails,
    /// A gh older than `gh attestation` (Debian's).
    WithoutAttestation,
    /// No gh on PATH.
    Absent,
}

/// A release of a stand-in rtctl (a script printing `rtctl VERSION`) in GitHub's layout,
/// a mirror with the same archive, and a tampered mirror serving its own matching sha256,
/// all served from loopback.
struct Release {
    root: tempfile::TempDir,
    url: String,
    archive: String,
    _runtime: tokio::runtime::Runtime,
}

impl Release {
    fn new() -> Release {
        let root = tempfile::tempdir().unwrap();
        let (owner, repo) = identity();
        let version = env!("CARGO_PKG_VERSION");
        let archive = format!("rtctl-{TARGET}.tar.xz");
        let pack = |dir: &Path, extra: &str| {
            let inner = root.path().join("build").join(format!("rtctl-{TARGET}"));
            let _ = std::fs::remove_dir_all(&inner);
            std::fs::create_dir_all(&inner).unwrap();
            let bin = inner.join("rtctl");
            std::fs::write(&bin, format!("#!/bin/sh\n{extra}echo 'rtctl {version}'\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::create_dir_all(dir).unwrap();
            let status = std::process::Command::new("tar")
                .arg("-cJf")
                .arg(dir.join(&archive))
                .arg("-C")
                .arg(root.path().join("build"))
                .arg(format!("rtctl-{TARGET}"))
                .status()
                .unwrap();
            assert!(status.success());
            let sum = std::process::Command::new("sha256sum")
                .arg(&archive)
                .current_dir(dir)
                .output()
                .unwrap();
            std::fs::write(dir.join(format!("{archive}.sha256")), sum.stdout).unwrap();
        };
        let www = root.path().join("www");
        let release = www.join(format!("{owner}/{repo}/releases/download/v{version}"));
        pack(&release, "");
        std::fs::create_dir_all(www.join("mirror")).unwrap();
        std::fs::copy(release.join(&archive), www.join("mirror").join(&archive)).unwrap();
        pack(&www.join("tampered"), "touch \"$HOME/pwned\"\n");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let served = www.clone();
        let url = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let files = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                let path = served.join(uri.path().trim_start_matches('/'));
                async move {
                    if uri.path().contains("..") {
                        return Err(axum::http::StatusCode::NOT_FOUND);
                    }
                    std::fs::read(path).map_err(|_| axum::http::StatusCode::NOT_FOUND)
                }
            });
            tokio::spawn(async move {
                let _ = axum::serve(listener, files).await;
            });
            url
        });
        Release {
            root,
            url,
            archive,
            _runtime: runtime,
        }
    }

    /// Runs action.yml as a Linux x64 runner would, with `inputs`; the caches persist
    /// across runs of one release. Whether it succeeded, its log, and its outputs.
    fn action(&self, work: &str, inputs: &[&str]) -> (bool, String, serde_json::Value) {
        self.action_with(work, inputs, &[])
    }

    /// [`Release::action`] with variables of the job's environment set (or overridden). The
    /// job's `gh` is a stand-in that verifies every attestation, unless `env` sets `PATH`
    /// (see [`Release::path_with`]); `github.token` is [`GITHUB_TOKEN`].
    fn action_with(
        &self,
        work: &str,
        inputs: &[&str],
        env: &[(&str, &str)],
    ) -> (bool, String, serde_json::Value) {
        let work = self.root.path().join(work);
        let caches = self.root.path().join("caches");
        std::fs::create_dir_all(&caches).unwrap();
        let path = self.path_with(Gh::Verifies);
        let output = std::process::Command::new("python3")
            .arg(root().join("scripts/run_action.py"))
            .arg(root())
            .arg(&caches)
            .arg(&work)
            .args(inputs)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RTCTL_GITHUB_URL", &self.url)
            .env("HOME", self.root.path())
            .env("PATH", path)
            .env("GITHUB_TOKEN", GITHUB_TOKEN)
            .env_remove("GH_TOKEN")
            .env_remove("GH_HOST")
            .env_remove("GITHUB_PATH")
            .env_remove("GITHUB_OUTPUT")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        let outputs = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
        (output.status.success(), log, outputs)
    }

    /// A `PATH` whose `gh` is `gh`: a stand-in script first on this process's `PATH`, or
    /// (for [`Gh::Absent`]) a directory of links to every program on it but `gh` (a GitHub
    /// runner has a real one). The stand-in appends each `attestation verify` it is asked
    /// for to [`Release::gh_calls`].
    fn path_with(&self, gh: Gh) -> String {
        let dir = self.root.path().join(format!("gh-{gh:?}"));
        let outer = std::env::var_os("PATH").unwrap_or_default();
        if !dir.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            if gh == Gh::Absent {
                for from in std::env::split_paths(&outer) {
                    let Ok(entries) = std::fs::read_dir(&from) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        let link = dir.join(entry.file_name());
                        if entry.file_name() != "gh" && !link.exists() {
                            std::os::unix::fs::symlink(entry.path(), link).unwrap();
                        }
                    }
                }
            } else {
                let calls = self.root.path().join("gh-calls");
                let help = if gh == Gh::WithoutAttestation {
                    "echo 'unknown command \"attestation\" for \"gh\"' >&2; exit 1"
                } else {
                    "echo 'Verify the integrity and provenance of an artifact'; exit 0"
                };
                let verdict = if gh == Gh::Fails {
                    // What a server said reaches the log, but cannot steer the runner.
                    "printf '::add-mask::x\\n\\033[31mX Verification failed\\033[0m\\n' >&2; exit 1"
                } else {
                    "echo 'Loaded digest for file'; echo 'Verification succeeded!'; exit 0"
                };
                let script = format!(
                    "#!/bin/sh\n\
                     # A stand-in for gh ({gh:?}): GitHub's runners have a gh with `attestation`.\n\
                     case \"$1 $2\" in\n\
                     'attestation --help') {help} ;;\n\
                     'attestation verify')\n\
                     \x20 sum=$(sha256sum \"$3\" | cut -d ' ' -f 1)\n\
                     \x20 echo \"verify $(basename \"$3\") $4 $5 GH_TOKEN=$GH_TOKEN sha256=$sum\" >>'{}'\n\
                     \x20 {verdict} ;;\n\
                     *) echo \"stand-in gh: unexpected $*\" >&2; exit 64 ;;\n\
                     esac\n",
                    calls.display()
                );
                let gh = dir.join("gh");
                std::fs::write(&gh, script).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        if gh == Gh::Absent {
            dir.display().to_string()
        } else {
            let mut path = vec![dir];
            path.extend(std::env::split_paths(&outer));
            std::env::join_paths(path)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        }
    }

    /// The `attestation verify` calls the stand-in gh had since the last look, one a line.
    fn gh_calls(&self) -> String {
        let calls = self.root.path().join("gh-calls");
        let text = std::fs::read_to_string(&calls).unwrap_or_default();
        let _ = std::fs::remove_file(&calls);
        text
    }

    /// The directory the Action unpacks into, under the runner `work`.
    fn installed(&self, work: &str) -> PathBuf {
        self.root
            .path()
            .join(work)
            .join("tool-cache/rtctl")
            .join(env!("CARGO_PKG_VERSION"))
            .join(TARGET)
    }

    fn cached_archive(&self) -> PathBuf {
        self.root
            .path()
            .join("caches")
            .join(format!(
                "rtctl-archive-{}-{TARGET}",
                env!("CARGO_PKG_VERSION")
            ))
            .join(&self.archive)
    }
}

/// A mirror's own checksum proves nothing (whoever changed the archive changed it too), and a
/// cache hit is an archive like any other: the Action checks every use against the sha256 of
/// the GitHub release the version names.
#[cfg(unix)]
#[test]
fn the_action_verifies_every_use_against_the_release() {
    if !action_prerequisites() {
        return;
    }
    let release = Release::new();
    let mirror = format!("download-url={}/mirror", release.url);
    let target = format!("target={TARGET}");

    let (ok, log, outputs) = release.action("first", &[&target, &mirror]);
    assert!(ok, "{log}");
    assert!(log.contains("sha256 verified"), "{log}");
    assert_eq!(outputs["cache-hit"], "false", "{outputs}");
    let bin = outputs["bin"].as_str().unwrap().to_string();
    let said = std::process::Command::new(&bin).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&said.stdout).trim(),
        format!("rtctl {}", env!("CARGO_PKG_VERSION"))
    );

    let (ok, log, outputs) = release.action("hit", &[&target, &mirror]);
    assert!(ok, "{log}");
    assert_eq!(outputs["cache-hit"], "true", "{outputs}");
    assert!(log.contains("(from the cache)"), "verified again: {log}");

    // A cache that no longer holds the release's archive is never run: the archive is
    // downloaded afresh and verified. The cache entry stays (an action cannot evict it), so
    // every later run does the same rather than fail.
    let mut cached = std::fs::read(release.cached_archive()).unwrap();
    cached.extend_from_slice(b"tampered");
    std::fs::write(release.cached_archive(), &cached).unwrap();
    for run in ["poisoned", "poisoned-again"] {
        let (ok, log, outputs) = release.action(run, &[&target, &mirror]);
        assert!(ok, "{run}: {log}");
        assert!(
            log.contains(&format!(
                "::warning title=setup rtctl::sha256 mismatch for {} from the cache",
                release.archive
            )),
            "{run}: {log}"
        );
        assert!(log.contains("downloading it afresh"), "{log}");
        assert!(
            log.contains("/mirror/"),
            "verified from the download: {log}"
        );
        let said = std::process::Command::new(outputs["bin"].as_str().unwrap())
            .output()
            .unwrap();
        assert!(said.status.success(), "{run}: the release's rtctl runs");
        assert_eq!(std::fs::read(release.cached_archive()).unwrap(), cached);
    }

    // A tampered mirror serving its own matching sha256: refused all the same.
    let tampered = format!("download-url={}/tampered", release.url);
    let (ok, log, _) = release.action("tampered", &[&target, &tampered, "cache=false"]);
    assert!(!ok, "a tampered archive was installed: {log}");
    assert!(log.contains("sha256 mismatch"), "{log}");
    assert!(!release.root.path().join("pwned").exists());
}

/// In addition to the sha256, the Action verifies the archive's GitHub artifact attestation
/// with `gh attestation verify ARCHIVE --repo OWNER/REPO` (OWNER/REPO from Cargo.toml), where
/// the runner's gh has that command. A failed verification fails the step and installs
/// nothing; a gh without the command, or no gh, leaves a notice that only the sha256 was
/// checked. Debian's gh has no `attestation`, and there is no network: the gh is a stand-in.
#[cfg(unix)]
#[test]
fn the_action_verifies_the_attestation_where_gh_can() {
    if !action_prerequisites() {
        return;
    }
    let release = Release::new();
    let (owner, repo) = identity();
    let archive = &release.archive;
    let target = format!("target={TARGET}");
    let inputs = [target.as_str(), "cache=false"];
    let run = |work: &str, gh: Gh, inputs: &[&str]| {
        let path = release.path_with(gh);
        release.action_with(work, inputs, &[("PATH", &path)])
    };
    let sha256 = {
        let sum = std::fs::read_to_string(release.root.path().join(format!(
            "www/{owner}/{repo}/releases/download/v{}/{archive}.sha256",
            env!("CARGO_PKG_VERSION")
        )))
        .unwrap();
        sum.split(' ').next().unwrap().to_string()
    };

    // Verified: after the sha256, with the job's token, against the release's repository.
    let (ok, log, outputs) = run("verified", Gh::Verifies, &inputs);
    assert!(ok, "{log}");
    assert_eq!(
        release.gh_calls(),
        format!("verify {archive} --repo {owner}/{repo} GH_TOKEN={GITHUB_TOKEN} sha256={sha256}\n")
    );
    let verified =
        format!("attestation verified: {archive} was built by a workflow of {owner}/{repo}");
    let (sha, attested) = (log.find("sha256 verified"), log.find(&verified));
    assert!(
        sha.is_some() && attested.is_some() && sha < attested,
        "{log}"
    );
    assert!(log.contains("  gh: Verification succeeded!"), "{log}");
    assert!(outputs["bin"].as_str().is_some(), "{outputs}");

    // Failed: the step fails with an error, and nothing is installed, unpacked or cached.
    let (ok, log, outputs) = run("failed", Gh::Fails, &[&target]);
    assert!(
        !ok,
        "an archive that failed its attestation was installed: {log}"
    );
    assert!(
        log.contains(&format!(
            "::error title=setup rtctl::attestation of {archive} not verified: \
             `gh attestation verify {archive} --repo {owner}/{repo}` failed (exit 1"
        )),
        "{log}"
    );
    assert_eq!(release.gh_calls().lines().count(), 1);
    assert_eq!(outputs, serde_json::Value::Null);
    let installed = release.installed("failed");
    assert!(!installed.exists(), "unpacked into {}", installed.display());
    assert!(!release.cached_archive().exists(), "the archive was cached");
    let kept = release.root.path().join("failed/tool-cache/rtctl-archives");
    assert!(
        !walk(&kept).iter().any(|p| p.ends_with(archive)),
        "the archive was kept in {}",
        kept.display()
    );
    // gh's own words are shown, but cannot start a workflow command or colour the log.
    assert!(log.contains("  gh: ::add-mask::x"), "{log}");
    assert!(log.contains("  gh: [31mX Verification failed[0m"), "{log}");
    assert!(!log.lines().any(|l| l.starts_with("::add-mask::")), "{log}");
    assert!(!log.contains('\x1b'), "{log}");

    // A gh without the command, and no gh at all: a notice, the sha256 only, installed.
    for (work, gh, why) in [
        (
            "old-gh",
            Gh::WithoutAttestation,
            "this gh has no attestation command",
        ),
        ("no-gh", Gh::Absent, "there is no gh on PATH"),
    ] {
        let (ok, log, outputs) = run(work, gh, &inputs);
        assert!(ok, "{work}: {log}");
        assert!(log.contains("sha256 verified"), "{work}: {log}");
        assert!(
            log.contains(&format!(
                "::notice title=setup rtctl::only the sha256 of {archive} was checked, not its attestation: {why}"
            )),
            "{work}: {log}"
        );
        assert!(!log.contains("attestation verified"), "{work}: {log}");
        assert_eq!(release.gh_calls(), "", "{work}");
        let said = std::process::Command::new(outputs["bin"].as_str().unwrap())
            .output()
            .unwrap();
        assert!(said.status.success(), "{work}: rtctl runs");
    }

    // `attestation: required` fails where gh cannot verify; `off` never asks gh.
    for gh in [Gh::WithoutAttestation, Gh::Absent] {
        let (ok, log, _) = run(
            "required",
            gh,
            &[&target, "cache=false", "attestation=required"],
        );
        assert!(!ok, "{gh:?}: {log}");
        assert!(
            log.contains(&format!(
                "::error title=setup rtctl::cannot verify the attestation of {archive} (the attestation input is required)"
            )),
            "{gh:?}: {log}"
        );
        assert!(!release.installed("required").exists(), "{gh:?}");
    }
    let (ok, log, _) = run(
        "off",
        Gh::Fails,
        &[&target, "cache=false", "attestation=off"],
    );
    assert!(ok, "{log}");
    assert!(
        log.contains(&format!(
            "attestation of {archive} not checked (the attestation input is off)"
        )),
        "{log}"
    );
    assert_eq!(release.gh_calls(), "");
    let (ok, log, _) = run("maybe", Gh::Verifies, &[&target, "attestation=maybe"]);
    assert!(!ok, "{log}");
    assert!(
        log.contains("attestation must be auto, required or off, not 'maybe'"),
        "{log}"
    );
}

/// Every file under `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Inputs reach a shell and file names: `target` is checked like `version` and `repository`,
/// a URL must be one, and PowerShell gets the paths as arguments of a script, not as code.
#[cfg(unix)]
#[test]
fn the_action_validates_its_inputs() {
    if !action_prerequisites() {
        return;
    }
    let release = Release::new();
    for (input, says) in [
        (
            "target=x86_64-pc-windows-msvc'; Remove-Item -Recurse ~; '",
            "target must be",
        ),
        ("target=../../etc", "target must be"),
        ("version=1.2.3; curl evil", "version must look like"),
        ("repository=a/b c", "repository must be"),
        (
            "download-url=http://x.example/\ndir=/",
            "is not an http(s) URL",
        ),
    ] {
        let (ok, log, _) = release.action("bad", &[input, "cache=false"]);
        assert!(!ok, "{input:?} was accepted: {log}");
        assert!(log.contains(says), "{input:?}: {log}");
    }
    let script = std::fs::read_to_string(root().join("scripts/setup-rtctl.sh")).unwrap();
    assert!(
        !script.contains("-Command"),
        "setup-rtctl.sh passes paths to PowerShell inside code"
    );
    // An input echoed in the error stays in it: a line break cannot start a workflow
    // command of its own (`%`, CR and LF are escaped as the runner reads them).
    let (ok, log, _) = release.action(
        "injected",
        &["version=1%2\n::add-mask::x\r::warning::y", "cache=false"],
    );
    assert!(!ok, "{log}");
    assert!(
        log.contains("version must look like 1.2.3, not '1%252%0A::add-mask::x%0D::warning::y'"),
        "{log}"
    );
    assert!(
        !log.lines()
            .any(|l| l.starts_with("::add-mask::") || l.contains("\r::warning")),
        "{log}"
    );
    // Where the checksums come from is a trust root: https only (plain http on loopback, for
    // the local check), and named in the log when overridden.
    let (ok, log, _) = release.action_with(
        "plain-http",
        &["cache=false"],
        &[("RTCTL_GITHUB_URL", "http://github.example")],
    );
    assert!(!ok, "{log}");
    assert!(
        log.contains("RTCTL_GITHUB_URL must be an https URL"),
        "{log}"
    );
    let (ok, log, _) = release.action("loopback", &[&format!("target={TARGET}"), "cache=false"]);
    assert!(ok, "{log}");
    assert!(
        log.contains(&format!(
            "checksums and releases from {} (RTCTL_GITHUB_URL)",
            release.url
        )),
        "{log}"
    );
}
