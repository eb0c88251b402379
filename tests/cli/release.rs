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
        // ghcr.io/OWNER/REPO:VERSION
        Regex::new(r"ghcr\.io/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(?::([0-9][A-Za-z0-9.+-]*))?").unwrap(),
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

/// The section of the README from `heading` to the next heading of any level.
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let from = readme
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} is in the README"));
    let rest = &readme[from + heading.len()..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn the_ci_recipes_install_a_release_instead_of_compiling() {
    let (owner, repo) = identity();
    let version = env!("CARGO_PKG_VERSION");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let uses = format!("uses: {owner}/{repo}@v{version}");
    for heading in [
        "### CI recipe: rotate a token",
        "### CI recipe: scheduled rotation",
    ] {
        let text = section(&readme, heading);
        assert!(text.contains(&uses), "{heading} has `{uses}`");
        assert!(!text.contains("cargo install"), "{heading} compiles rtctl");
    }
    // Both jobs of the scheduled recipe set rtctl up.
    let scheduled = section(&readme, "### CI recipe: scheduled rotation");
    assert_eq!(scheduled.matches(&uses).count(), 2);

    let gitlab = section(&readme, "### CI recipe: a GitLab CI job");
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
