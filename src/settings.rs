//! Settings, resolved once per run, in layers: defaults, then the profile in `config.toml`,
//! then the environment, then flags.
//!
//! Everything here is pure over its inputs: the environment is read through a function and
//! the config file arrives as text, so tests give each case its own world without touching
//! the process's. The API key is not a setting: `credentials` finds it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::CliError;
use crate::output::{ColorChoice, Format};

/// Where requests go when nothing says otherwise.
pub(crate) const DEFAULT_API_URL: &str = "https://api.runtype.com";
/// The profile used when neither a flag, the environment nor the config file picks one.
pub(crate) const DEFAULT_PROFILE: &str = "default";
/// Seconds to wait for each API reply, unless configured.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// The variables rtctl reads (the first two are the names Runtype's own tools use).
pub(crate) const ENV_API_KEY: &str = "RUNTYPE_API_KEY";
pub(crate) const ENV_API_URL: &str = "RUNTYPE_API_URL";
pub(crate) const ENV_PROFILE: &str = "RTCTL_PROFILE";
pub(crate) const ENV_CONFIG_DIR: &str = "RTCTL_CONFIG_DIR";
pub(crate) const ENV_DATA_DIR: &str = "RTCTL_DATA_DIR";

/// The config file's name inside the config directory.
pub(crate) const CONFIG_FILE: &str = "config.toml";

/// An environment lookup: `std::env::var` in the binary, a table in tests.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The values the command line gave (`None`: the flag was not used).
#[derive(Debug, Clone, Default)]
pub(crate) struct Flags {
    pub profile: Option<String>,
    pub api_url: Option<String>,
    pub output: Option<Format>,
    pub color: Option<ColorChoice>,
    pub timeout: Option<u64>,
}

/// Where rtctl keeps its files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Dirs {
    /// `config.toml` and, with `--insecure-storage`, `credentials.toml`.
    pub config: Option<PathBuf>,
    /// The `--local` emulator's state.
    pub data: Option<PathBuf>,
}

impl Dirs {
    /// `RTCTL_CONFIG_DIR` / `RTCTL_DATA_DIR`, else the platform's directories
    /// (`~/.config/rtctl` and `~/.local/share/rtctl` on Linux). `None` where neither exists
    /// (no home directory).
    pub(crate) fn from_env(env: Env) -> Dirs {
        let platform = directories::ProjectDirs::from("com", "Runtype", "rtctl");
        let pick = |name: &str, fallback: Option<&Path>| {
            non_empty(env(name))
                .map(PathBuf::from)
                .or_else(|| fallback.map(Path::to_path_buf))
        };
        Dirs {
            config: pick(
                ENV_CONFIG_DIR,
                platform.as_ref().map(directories::ProjectDirs::config_dir),
            ),
            data: pick(
                ENV_DATA_DIR,
                platform.as_ref().map(directories::ProjectDirs::data_dir),
            ),
        }
    }

    /// The config file's path, whether or not it exists.
    pub(crate) fn config_file(&self) -> Option<PathBuf> {
        self.config.as_ref().map(|d| d.join(CONFIG_FILE))
    }
}

/// What a run uses, every layer applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub profile: String,
    pub api_url: String,
    /// `None`: a table on a terminal, TSV otherwise.
    pub output: Option<Format>,
    pub color: ColorChoice,
    pub timeout: Duration,
    pub dirs: Dirs,
}

/// `config.toml`, as read.
#[derive(Debug, Default)]
pub(crate) struct ConfigFile {
    path: PathBuf,
    text: String,
    parsed: RawConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// The profile to use when neither `--profile` nor `RTCTL_PROFILE` names one.
    profile: Option<Spanned<String>>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    api_url: Option<Spanned<String>>,
    output: Option<Format>,
    color: Option<ColorChoice>,
    timeout: Option<Spanned<u64>>,
}

impl ConfigFile {
    /// Reads the file if it exists; a missing file is an empty config.
    pub(crate) async fn load(path: &Path) -> Result<Option<ConfigFile>, CliError> {
        match crate::files::read_text(path, 1024 * 1024).await {
            Ok(text) => ConfigFile::parse(path, text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::usage(format!(
                "could not read the config file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Parses `text` as the file at `path` (named in errors, with the line).
    pub(crate) fn parse(path: &Path, text: String) -> Result<ConfigFile, CliError> {
        let parsed: RawConfig = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|span| format!(", {}", position(&text, span.start)))
                .unwrap_or_default();
            CliError::usage(format!(
                "the config file {}{at} is invalid: {}",
                path.display(),
                e.message().trim_end()
            ))
            .with_hint(format!("fix or remove {}", path.display()))
        })?;
        Ok(ConfigFile {
            path: path.to_path_buf(),
            text,
            parsed,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// An error about the value at `span`, naming the file and line.
    fn invalid(&self, span: std::ops::Range<usize>, what: &str) -> CliError {
        CliError::usage(format!(
            "the config file {}, {} is invalid: {what}",
            self.path.display(),
            position(&self.text, span.start)
        ))
        .with_hint(format!("fix or remove {}", self.path.display()))
    }
}

/// "line L, column C" (both from 1) of a byte offset.
fn position(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}")
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl Settings {
    /// Applies the layers: defaults, then the selected profile of `config`, then the
    /// environment, then `flags`.
    pub(crate) fn resolve(
        flags: &Flags,
        env: Env,
        config: Option<&ConfigFile>,
        dirs: Dirs,
    ) -> Result<Settings, CliError> {
        let profile = flags
            .profile
            .clone()
            .or_else(|| non_empty(env(ENV_PROFILE)))
            .or_else(|| config.and_then(|c| c.parsed.profile.as_ref().map(|p| p.get_ref().clone())))
            .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        check_profile_name(&profile)?;

        let section = match config.and_then(|c| c.parsed.profiles.get(&profile)) {
            Some(section) => Some(section),
            None if profile == DEFAULT_PROFILE => None,
            None => return Err(unknown_profile(&profile, config, &dirs)),
        };

        let mut api_url = DEFAULT_API_URL.to_string();
        let mut output = None;
        let mut color = ColorChoice::Auto;
        let mut timeout = DEFAULT_TIMEOUT_SECS;

        if let (Some(file), Some(section)) = (config, section) {
            if let Some(url) = &section.api_url {
                let value = url.get_ref().trim_end_matches('/').to_string();
                check_api_url(&value).map_err(|e| file.invalid(url.span(), &e.message))?;
                api_url = value;
            }
            output = section.output;
            if let Some(c) = section.color {
                color = c;
            }
            if let Some(t) = &section.timeout {
                if !(1..=3600).contains(t.get_ref()) {
                    return Err(
                        file.invalid(t.span(), "timeout must be between 1 and 3600 seconds")
                    );
                }
                timeout = *t.get_ref();
            }
        }

        if let Some(url) = non_empty(env(ENV_API_URL)) {
            api_url = url.trim().trim_end_matches('/').to_string();
            check_api_url(&api_url).map_err(|e| {
                CliError::usage(format!("{ENV_API_URL}: {}", e.message))
                    .with_hint(e.hint.unwrap_or_default())
            })?;
        }

        if let Some(url) = &flags.api_url {
            api_url = url.trim().trim_end_matches('/').to_string();
            check_api_url(&api_url)?;
        }
        output = flags.output.or(output);
        color = flags.color.unwrap_or(color);
        timeout = flags.timeout.unwrap_or(timeout);

        Ok(Settings {
            profile,
            api_url,
            output,
            color,
            timeout: Duration::from_secs(timeout),
            dirs,
        })
    }
}

/// Profile names become parts of keyring entries and TOML keys: keep them plain.
fn check_profile_name(name: &str) -> Result<(), CliError> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(
            CliError::usage(format!("'{name}' is not a valid profile name"))
                .with_hint("use letters, digits, '-', '_' and '.' (at most 64)"),
        )
    }
}

fn unknown_profile(profile: &str, config: Option<&ConfigFile>, dirs: &Dirs) -> CliError {
    let path = config
        .map(|c| c.path().to_path_buf())
        .or_else(|| dirs.config_file());
    let place = match (&path, config) {
        (Some(p), Some(_)) => format!("is not in {}", p.display()),
        (Some(p), None) => format!("is not defined: there is no config file at {}", p.display()),
        (None, _) => "is not defined, and there is no config directory".to_string(),
    };
    let snippet = format!("[profiles.{profile}]\napi_url = \"{DEFAULT_API_URL}\"");
    let hint = match path {
        Some(p) => format!("add this to {}:\n{snippet}", p.display()),
        None => {
            format!("set {ENV_CONFIG_DIR} to a directory with a {CONFIG_FILE} holding:\n{snippet}")
        }
    };
    CliError::usage(format!("the profile '{profile}' {place}")).with_hint(hint)
}

/// The URL must be http(s), and plain http only to this machine: a key sent in clear text
/// over a network is a key given away.
pub(crate) fn check_api_url(url: &str) -> Result<(), CliError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        CliError::usage(format!("the API URL '{url}' is not a valid URL: {e}"))
            .with_hint("use the form https://api.runtype.com")
    })?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(CliError::usage(format!(
            "the API URL '{url}' has a query or a fragment, which a base URL cannot have"
        ))
        .with_hint("use the form https://api.runtype.com"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(CliError::usage(format!(
            "refusing to send the API key over plain http to {}",
            parsed.host_str().unwrap_or("?")
        ))
        .with_hint("use an https:// URL; plain http is allowed only for localhost")),
        other => Err(CliError::usage(format!(
            "the API URL must use https, not '{other}'"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// An environment holding just `vars`, for tests of anything that takes an [`Env`].
#[cfg(test)]
pub(crate) fn env_of(vars: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    let vars = vars.to_vec();
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ConfigFile {
        ConfigFile::parse(Path::new("/cfg/config.toml"), text.to_string()).unwrap()
    }

    fn resolve(
        flags: &Flags,
        vars: &[(&'static str, &'static str)],
        file: Option<&ConfigFile>,
    ) -> Result<Settings, CliError> {
        Settings::resolve(flags, &env_of(vars), file, Dirs::default())
    }

    const FILE: &str = r#"
profile = "work"

[profiles.default]
output = "json"

[profiles.work]
api_url = "https://work.example.com/"
output = "tsv"
color = "never"
timeout = 10

[profiles.staging]
api_url = "http://localhost:9000"
"#;

    #[test]
    fn defaults_with_nothing_set() {
        let s = resolve(&Flags::default(), &[], None).unwrap();
        assert_eq!(s.profile, "default");
        assert_eq!(s.api_url, DEFAULT_API_URL);
        assert_eq!(s.output, None);
        assert_eq!(s.color, ColorChoice::Auto);
        assert_eq!(s.timeout, Duration::from_secs(30));
    }

    #[test]
    fn the_file_picks_the_profile_and_its_values() {
        let file = config(FILE);
        let s = resolve(&Flags::default(), &[], Some(&file)).unwrap();
        assert_eq!(s.profile, "work");
        assert_eq!(s.api_url, "https://work.example.com");
        assert_eq!(s.output, Some(Format::Tsv));
        assert_eq!(s.color, ColorChoice::Never);
        assert_eq!(s.timeout, Duration::from_secs(10));
    }

    #[test]
    fn environment_overrides_the_file_and_flags_override_both() {
        let file = config(FILE);
        let env = [
            (ENV_PROFILE, "staging"),
            (ENV_API_URL, "https://env.example.com"),
        ];
        let s = resolve(&Flags::default(), &env, Some(&file)).unwrap();
        assert_eq!(s.profile, "staging");
        assert_eq!(
            s.api_url, "https://env.example.com",
            "env beats the profile"
        );

        let flags = Flags {
            profile: Some("default".into()),
            api_url: Some("https://flag.example.com".into()),
            output: Some(Format::Table),
            color: Some(ColorChoice::Always),
            timeout: Some(5),
        };
        let s = resolve(&flags, &env, Some(&file)).unwrap();
        assert_eq!(s.profile, "default", "--profile beats RTCTL_PROFILE");
        assert_eq!(s.api_url, "https://flag.example.com");
        assert_eq!(
            s.output,
            Some(Format::Table),
            "the flag beats the profile's json"
        );
        assert_eq!(s.color, ColorChoice::Always);
        assert_eq!(s.timeout, Duration::from_secs(5));

        let s = resolve(
            &Flags {
                profile: Some("staging".into()),
                ..Flags::default()
            },
            &[],
            Some(&file),
        )
        .unwrap();
        assert_eq!(s.api_url, "http://localhost:9000");
        assert_eq!(s.output, None, "the work profile's values stay with it");
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let file = config(FILE);
        let s = resolve(
            &Flags::default(),
            &[(ENV_PROFILE, ""), (ENV_API_URL, " ")],
            Some(&file),
        )
        .unwrap();
        assert_eq!(s.profile, "work");
        assert_eq!(s.api_url, "https://work.example.com");
    }

    #[test]
    fn an_unknown_profile_names_the_file_and_the_fix() {
        let file = config(FILE);
        let flags = Flags {
            profile: Some("prod".into()),
            ..Flags::default()
        };
        let err = resolve(&flags, &[], Some(&file)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message.contains("'prod' is not in /cfg/config.toml"),
            "{err:?}"
        );
        assert!(err.hint.unwrap().contains("[profiles.prod]"));
        let err = resolve(&flags, &[], None).unwrap_err();
        assert!(err.message.contains("is not defined"), "{err:?}");
        let err = resolve(
            &Flags {
                profile: Some("a b".into()),
                ..Flags::default()
            },
            &[],
            None,
        )
        .unwrap_err();
        assert!(err.message.contains("not a valid profile name"));
    }

    #[test]
    fn a_broken_file_names_the_file_and_line() {
        let path = Path::new("/cfg/config.toml");
        let err = ConfigFile::parse(path, "[profiles.a]\napi_url = \n".into()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message.contains("/cfg/config.toml, line 2"),
            "{}",
            err.message
        );

        let err =
            ConfigFile::parse(path, "[profiles.a]\n\nouptut = \"json\"\n".into()).unwrap_err();
        assert!(err.message.contains("line 3"), "{}", err.message);
        assert!(err.message.contains("ouptut"), "{}", err.message);

        let err = ConfigFile::parse(path, "[profiles.a]\noutput = \"yaml\"\n".into()).unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);

        let file = config("[profiles.default]\n\ntimeout = 0\n");
        let err = resolve(&Flags::default(), &[], Some(&file)).unwrap_err();
        assert!(err.message.contains("line 3, column 11"), "{}", err.message);

        let file = config("[profiles.default]\napi_url = \"http://api.runtype.com\"\n");
        let err = resolve(&Flags::default(), &[], Some(&file)).unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
        assert!(err.message.contains("plain http"), "{}", err.message);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://api.runtype.com",
            "http://localhost:7878",
            "http://127.0.0.2",
            "http://[::1]:80",
        ] {
            assert!(check_api_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.runtype.com",
            "http://10.0.0.1",
            "ftp://x",
            "not a url",
            "https://api.runtype.com?x=1",
            "https://api.runtype.com#top",
        ] {
            let err = check_api_url(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        assert!(
            check_api_url("http://example.com")
                .unwrap_err()
                .message
                .contains("plain http")
        );
        let err = resolve(
            &Flags::default(),
            &[(ENV_API_URL, "http://api.runtype.com")],
            None,
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("RUNTYPE_API_URL: refusing"),
            "{}",
            err.message
        );
    }

    #[test]
    fn directories_come_from_the_overrides_first() {
        let dirs = Dirs::from_env(&env_of(&[(ENV_CONFIG_DIR, "/c"), (ENV_DATA_DIR, "/d")]));
        assert_eq!(dirs.config, Some(PathBuf::from("/c")));
        assert_eq!(dirs.data, Some(PathBuf::from("/d")));
        assert_eq!(dirs.config_file(), Some(PathBuf::from("/c/config.toml")));
    }
}
