//! SARIF 2.1.0, the format code scanning reads (GitHub uploads it with
//! `github/codeql-action/upload-sarif`). rtctl needs a small part of it: one run, the rules,
//! and results located in the token file. The part is written out as serde structs here:
//! the serde-sarif crate generates its types from the whole schema at build time, adds 14
//! crates (syn 1 among them) and only compiles with serde's derive switched on by another
//! crate. The test suite validates this output against the official schema.

use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
use serde::Serialize;

use super::rules::{Finding, RULES, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
pub(crate) struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
struct Run {
    tool: Tool,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<RuleDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDescriptor {
    id: &'static str,
    short_description: Text,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Configuration {
    level: Severity,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: Severity,
    message: Text,
    locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
}

/// What a path keeps unescaped in a URI: unreserved characters and the `/` between segments.
/// Everything else is escaped, `:` included, so a first segment never reads as a scheme.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// `path` as a relative URI reference, the form SARIF's `artifactLocation.uri` takes:
/// `config #1/tokens 100%.toml` is `config%20%231/tokens%20100%25.toml`, never a URI with a
/// fragment. Built from the path's components, so repeated separators are one `/` (`//tmp/x`
/// is `/tmp/x`, never a network-path reference whose authority is `tmp`), Windows
/// separators are `/`, and a name's bytes are escaped as they are (a name that is not UTF-8
/// keeps its bytes, where a lossy conversion would name another file).
pub(crate) fn uri_reference(path: &Path) -> String {
    use std::path::Component;
    let mut uri = String::new();
    for component in path.components() {
        match component {
            Component::RootDir => uri.push('/'),
            Component::Prefix(prefix) => {
                uri.push_str(&escaped(prefix.as_os_str()));
                uri.push('/');
            }
            other => {
                if !uri.is_empty() && !uri.ends_with('/') {
                    uri.push('/');
                }
                uri.push_str(&escaped(other.as_os_str()));
            }
        }
    }
    uri
}

/// One path segment, percent-encoded byte by byte.
fn escaped(segment: &std::ffi::OsStr) -> String {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(segment).to_vec();
    #[cfg(not(unix))]
    let bytes = segment.to_string_lossy().replace('\\', "/").into_bytes();
    percent_encode(&bytes, PATH).to_string()
}

/// The SARIF log for `findings`, each at `line_of(finding)` in the file at `uri` (line 1 for
/// a token the file does not describe; the message names its id either way).
pub(crate) fn log(findings: &[Finding], uri: &str, line_of: impl Fn(&Finding) -> usize) -> Log {
    let results = findings
        .iter()
        .map(|f| SarifResult {
            rule_id: f.rule,
            rule_index: RULES.iter().position(|r| r.id == f.rule).unwrap_or(0),
            level: f.severity,
            message: Text {
                text: format!("{} \"{}\": {}. Fix: {}", f.id, f.name, f.message, f.fix),
            },
            locations: vec![Location {
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation {
                        uri: uri.to_string(),
                    },
                    region: Region {
                        start_line: line_of(f).max(1),
                        start_column: 1,
                    },
                },
            }],
        })
        .collect();
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "rtctl",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: env!("CARGO_PKG_REPOSITORY"),
                    rules: RULES
                        .iter()
                        .map(|r| RuleDescriptor {
                            id: r.id,
                            short_description: Text {
                                text: r.summary.to_string(),
                            },
                            default_configuration: Configuration { level: r.severity },
                        })
                        .collect(),
                },
            },
            results,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_uri_references() {
        let uri = |p: &str| uri_reference(Path::new(p));
        assert_eq!(
            uri("config #1/tokens 100%.toml"),
            "config%20%231/tokens%20100%25.toml"
        );
        assert_eq!(uri("tokens.toml"), "tokens.toml");
        assert_eq!(uri("/srv/repo/tokens.toml"), "/srv/repo/tokens.toml");
        assert_eq!(uri("a:b/t?x.toml"), "a%3Ab/t%3Fx.toml");
        assert_eq!(uri("jetons/é.toml"), "jetons/%C3%A9.toml");
        // Repeated separators are one: never a network-path reference (`//authority/…`).
        assert_eq!(uri("//tmp/x.toml"), "/tmp/x.toml");
        assert_eq!(uri("a//b/./c.toml"), "a/b/c.toml");
        assert_eq!(uri("./tokens.toml"), "./tokens.toml");
        assert_eq!(uri("../up/t.toml"), "../up/t.toml");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let latin1 = std::ffi::OsStr::from_bytes(b"jetons/\xe9.toml");
            assert_eq!(uri_reference(Path::new(latin1)), "jetons/%E9.toml");
        }
    }
}
