//! The token file of `rtctl plan`, `apply` and `export`: client tokens described by name, in
//! TOML, so a repository can say which tokens exist and CI can show and apply the difference.
//!
//! ```toml
//! [tokens."Docs widget"]
//! environment = "live"
//! origins = ["https://docs.example.com"]
//! flows = ["flow_123"]
//! rate_limit_per_minute = 20
//! config = { welcomeMessage = "Hi!" }
//! ```
//!
//! A key left out is not managed: the plan neither compares nor changes it. `environment`,
//! `origins`, and `flows` or `agents`, are required. Errors name the file, line and key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

use crate::error::CliError;
use crate::origin::AllowedOrigin;

/// One token as the file wants it. `None` means "not managed".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredToken {
    pub name: String,
    pub environment: String,
    /// Normalised (`https://App.Example.com/` is stored as `https://app.example.com`).
    pub origins: Vec<String>,
    pub flows: Option<Vec<String>>,
    pub agents: Option<Vec<String>>,
    pub default_flow: Option<String>,
    pub rate_limit_per_minute: Option<u64>,
    pub rate_limit_per_hour: Option<u64>,
    pub max_messages_per_session: Option<u64>,
    pub session_idle_timeout_minutes: Option<u64>,
    pub config: Option<Map<String, Value>>,
    pub active: Option<bool>,
    pub pin_to_version: Option<String>,
    pub target_alias: Option<String>,
    pub target_version_id: Option<String>,
    pub product_surface_id: Option<String>,
}

/// A parsed, validated token file.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    /// By name, in name order.
    pub tokens: Vec<DesiredToken>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    tokens: BTreeMap<String, Spanned<RawToken>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    environment: Spanned<String>,
    origins: Spanned<Vec<Spanned<String>>>,
    flows: Option<Vec<Spanned<String>>>,
    agents: Option<Vec<Spanned<String>>>,
    default_flow: Option<String>,
    rate_limit_per_minute: Option<Spanned<i64>>,
    rate_limit_per_hour: Option<Spanned<i64>>,
    max_messages_per_session: Option<Spanned<i64>>,
    session_idle_timeout_minutes: Option<Spanned<i64>>,
    config: Option<toml::Table>,
    active: Option<bool>,
    pin_to_version: Option<Spanned<String>>,
    target_alias: Option<String>,
    target_version_id: Option<String>,
    product_surface_id: Option<String>,
}

impl Manifest {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Manifest, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!(
                "could not read the token file {}: {e}",
                path.display()
            ))
        })?;
        Manifest::parse(path, &text)
    }

    /// Parses `text` as the file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, CliError> {
        let at = |offset: usize| line_of(text, offset);
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(", line {}", at(s.start)))
                .unwrap_or_default();
            CliError::usage(format!(
                "the token file {}{line} is invalid: {}",
                path.display(),
                e.message().trim_end()
            ))
        })?;
        let invalid = |offset: usize, key: String, what: String| {
            CliError::usage(format!(
                "the token file {}, line {}: {key}: {what}",
                path.display(),
                at(offset)
            ))
        };
        let mut tokens = Vec::new();
        for (name, spanned) in raw.tokens {
            let start = spanned.span().start;
            let raw = spanned.into_inner();
            let key = |field: &str| format!("tokens.{}.{field}", quote_key(&name));
            let trimmed = name.trim();
            if trimmed.is_empty() || trimmed.chars().count() > 200 || trimmed != name {
                return Err(invalid(
                    start,
                    format!("tokens.{}", quote_key(&name)),
                    "a token name must be 1-200 characters without surrounding spaces".into(),
                ));
            }
            let environment = raw.environment.get_ref().clone();
            if environment != "test" && environment != "live" {
                return Err(invalid(
                    raw.environment.span().start,
                    key("environment"),
                    format!("'{environment}' is not an environment (test or live)"),
                ));
            }
            let origins_span = raw.origins.span().start;
            let mut origins: Vec<String> = Vec::new();
            for (index, origin) in raw.origins.into_inner().into_iter().enumerate() {
                let parsed = AllowedOrigin::normalize(origin.get_ref()).map_err(|e| {
                    invalid(
                        origin.span().start,
                        key(&format!("origins[{index}]")),
                        format!("'{}': {e}", origin.get_ref()),
                    )
                })?;
                let text = parsed.to_string();
                if !origins.contains(&text) {
                    origins.push(text);
                }
            }
            if origins.is_empty() {
                return Err(invalid(
                    origins_span,
                    key("origins"),
                    "a token needs at least one origin".into(),
                ));
            }
            let ids = |list: Option<Vec<Spanned<String>>>,
                       field: &str|
             -> Result<Option<Vec<String>>, CliError> {
                let Some(list) = list else { return Ok(None) };
                let mut out = Vec::new();
                for item in list {
                    if item.get_ref().trim().is_empty() {
                        return Err(invalid(
                            item.span().start,
                            key(field),
                            "ids cannot be empty".into(),
                        ));
                    }
                    out.push(item.into_inner());
                }
                Ok(Some(out))
            };
            let flows = ids(raw.flows, "flows")?;
            let agents = ids(raw.agents, "agents")?;
            if flows.as_ref().is_none_or(Vec::is_empty) && agents.as_ref().is_none_or(Vec::is_empty)
            {
                return Err(invalid(
                    start,
                    key("flows"),
                    "a token needs at least one flow or agent (flows = [...] or agents = [...])"
                        .into(),
                ));
            }
            let positive =
                |value: Option<Spanned<i64>>, field: &str| -> Result<Option<u64>, CliError> {
                    match value {
                        None => Ok(None),
                        Some(v) if *v.get_ref() >= 1 => Ok(Some(*v.get_ref() as u64)),
                        Some(v) => Err(invalid(
                            v.span().start,
                            key(field),
                            format!("{} is not a whole number of at least 1", v.get_ref()),
                        )),
                    }
                };
            let pin_to_version = match raw.pin_to_version {
                Some(p) if p.get_ref() != "latest" && p.get_ref() != "published" => {
                    return Err(invalid(
                        p.span().start,
                        key("pin_to_version"),
                        format!("'{}' is not latest or published", p.get_ref()),
                    ));
                }
                other => other.map(Spanned::into_inner),
            };
            if raw.target_alias.is_some() && raw.target_version_id.is_some() {
                return Err(invalid(
                    start,
                    key("target_alias"),
                    "target_alias and target_version_id exclude each other".into(),
                ));
            }
            let config = raw
                .config
                .map(|table| match serde_json::to_value(table) {
                    Ok(Value::Object(map)) => Ok(map),
                    _ => Err(invalid(
                        start,
                        key("config"),
                        "config must be a table".into(),
                    )),
                })
                .transpose()?;
            let rate_limit_per_minute =
                positive(raw.rate_limit_per_minute, "rate_limit_per_minute")?;
            let rate_limit_per_hour = positive(raw.rate_limit_per_hour, "rate_limit_per_hour")?;
            let max_messages_per_session =
                positive(raw.max_messages_per_session, "max_messages_per_session")?;
            let session_idle_timeout_minutes = positive(
                raw.session_idle_timeout_minutes,
                "session_idle_timeout_minutes",
            )?;
            tokens.push(DesiredToken {
                name: name.clone(),
                environment,
                origins,
                flows,
                agents,
                default_flow: raw.default_flow,
                rate_limit_per_minute,
                rate_limit_per_hour,
                max_messages_per_session,
                session_idle_timeout_minutes,
                config,
                active: raw.active,
                pin_to_version,
                target_alias: raw.target_alias,
                target_version_id: raw.target_version_id,
                product_surface_id: raw.product_surface_id,
            });
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            tokens,
        })
    }
}

/// Writes tokens in the file format, in name order. Fails only on a `config` TOML cannot
/// hold (a JSON `null`), naming the token.
pub fn to_toml(tokens: &[DesiredToken]) -> Result<String, String> {
    let mut out = String::from(
        "# Client tokens, as `rtctl plan -f FILE` and `rtctl apply -f FILE` read them.\n",
    );
    let mut sorted: Vec<&DesiredToken> = tokens.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for token in sorted {
        let mut table = toml::Table::new();
        let mut put = |key: &str, value: Option<toml::Value>| {
            if let Some(value) = value {
                table.insert(key.to_string(), value);
            }
        };
        let strings = |list: &[String]| {
            toml::Value::Array(list.iter().cloned().map(toml::Value::String).collect())
        };
        let number = |n: Option<u64>| n.map(|n| toml::Value::Integer(n as i64));
        put(
            "environment",
            Some(toml::Value::String(token.environment.clone())),
        );
        put("origins", Some(strings(&token.origins)));
        put("flows", token.flows.as_deref().map(strings));
        put("agents", token.agents.as_deref().map(strings));
        put(
            "default_flow",
            token.default_flow.clone().map(toml::Value::String),
        );
        put("rate_limit_per_minute", number(token.rate_limit_per_minute));
        put("rate_limit_per_hour", number(token.rate_limit_per_hour));
        put(
            "max_messages_per_session",
            number(token.max_messages_per_session),
        );
        put(
            "session_idle_timeout_minutes",
            number(token.session_idle_timeout_minutes),
        );
        put("active", token.active.map(toml::Value::Boolean));
        put(
            "pin_to_version",
            token.pin_to_version.clone().map(toml::Value::String),
        );
        put(
            "target_alias",
            token.target_alias.clone().map(toml::Value::String),
        );
        put(
            "target_version_id",
            token.target_version_id.clone().map(toml::Value::String),
        );
        put(
            "product_surface_id",
            token.product_surface_id.clone().map(toml::Value::String),
        );
        if let Some(config) = &token.config {
            let value = toml::Value::try_from(Value::Object(config.clone())).map_err(|e| {
                format!(
                    "the config of \"{}\" cannot be written as TOML ({e}); a JSON null has no TOML form",
                    token.name
                )
            })?;
            table.insert("config".into(), value);
        }
        let mut wrapper = toml::Table::new();
        let mut tokens_table = toml::Table::new();
        tokens_table.insert(token.name.clone(), toml::Value::Table(table));
        wrapper.insert("tokens".into(), toml::Value::Table(tokens_table));
        let text = toml::to_string(&wrapper).map_err(|e| e.to_string())?;
        out.push('\n');
        out.push_str(&text);
    }
    Ok(out)
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A table key as TOML would write it: bare when it can be, quoted otherwise.
fn quote_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, CliError> {
        Manifest::parse(Path::new("/repo/tokens.toml"), text)
    }

    const EXAMPLE: &str = r#"
[tokens."Docs widget"]
environment = "live"
origins = ["https://Docs.Example.com/", "https://docs.example.com"]
flows = ["flow_123"]
rate_limit_per_minute = 20
config = { welcomeMessage = "Hi!", theme = { mode = "dark" } }
active = true

[tokens.Staging]
environment = "test"
origins = ["http://localhost:3000"]
agents = ["agent_9"]
target_alias = "production"
"#;

    #[test]
    fn parses_normalises_and_round_trips() {
        let manifest = parse(EXAMPLE).unwrap();
        assert_eq!(manifest.tokens.len(), 2);
        let docs = &manifest.tokens[0];
        assert_eq!(docs.name, "Docs widget");
        assert_eq!(docs.origins, ["https://docs.example.com"]);
        assert_eq!(docs.rate_limit_per_minute, Some(20));
        assert_eq!(docs.config.as_ref().unwrap()["theme"]["mode"], "dark");
        assert_eq!(docs.rate_limit_per_hour, None, "absent means not managed");
        let text = to_toml(&manifest.tokens).unwrap();
        let again = parse(&text).unwrap();
        assert_eq!(again.tokens, manifest.tokens, "{text}");
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let cases = [
            (
                "[tokens.A]\nenvironment = \"prod\"\norigins = [\"https://a.com\"]\nflows = [\"f\"]\n",
                "line 2: tokens.A.environment: 'prod' is not an environment",
            ),
            (
                "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com\", \"https://b.com/x\"]\nflows = [\"f\"]\n",
                "line 3: tokens.A.origins[1]: 'https://b.com/x'",
            ),
            (
                "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com\"]\nflows = [\"f\"]\nrate_limit_per_hour = 0\n",
                "line 5: tokens.A.rate_limit_per_hour: 0 is not",
            ),
            (
                "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com\"]\nflows = [\"f\"]\norigin = \"x\"\n",
                "line 5",
            ),
            (
                "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com\"]\n",
                "needs at least one flow or agent",
            ),
            (
                "[tokens.A]\norigins = [\"https://a.com\"]\nflows = [\"f\"]\n",
                "missing field `environment`",
            ),
            (
                "[tokens.A]\nenvironment = \"live\"\norigins = []\nflows = [\"f\"]\n",
                "line 3: tokens.A.origins: a token needs at least one origin",
            ),
            (
                "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com\"]\nflows = [\"f\"]\n[tokens.A]\n",
                "line 5",
            ),
            (
                "[tokens.A]\nenvironment = \"live\"\norigins = [\"https://a.com\"]\nflows = [\"f\"]\npin_to_version = \"newest\"\n",
                "line 5: tokens.A.pin_to_version",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.message.contains("/repo/tokens.toml"), "{}", err.message);
            assert!(
                err.message.contains(expected),
                "{expected:?} not in {}",
                err.message
            );
        }
    }

    #[test]
    fn a_null_in_config_cannot_be_exported() {
        let mut token = parse(EXAMPLE).unwrap().tokens.remove(0);
        token.config = Some(serde_json::from_str(r#"{"a": null}"#).unwrap());
        assert!(to_toml(&[token]).unwrap_err().contains("Docs widget"));
    }
}
