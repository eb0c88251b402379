//! Where the API key lives, and how it is found: `RUNTYPE_API_KEY`, then the OS keyring, then
//! (only if the user agreed to it) a private file in the config directory.
//!
//! Logins are keyed by profile *and* API URL, so a key for one service is never sent to
//! another. Every keyring call is bounded (a locked or absent keyring must not hang a CI job)
//! and the Secret Service is skipped when there is no session bus to reach it on (so nothing
//! gets spawned). Tests give a keyring of their own through the run's `World`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crate::api::ApiKey;
use crate::error::{CliError, ErrorKind};
use crate::settings::{ENV_API_KEY, Env};

/// The keyring's service name; the account is `PROFILE@API_URL`.
pub(crate) const KEYRING_SERVICE: &str = "rtctl";
/// The fallback file's name inside the config directory.
pub(crate) const CREDENTIALS_FILE: &str = "credentials.toml";
/// Selects the test keyring in debug builds: `none`, `broken`, `hang`, or a JSON file.
#[cfg(any(test, debug_assertions))]
pub(crate) const ENV_TEST_KEYRING: &str = "RTCTL_TEST_KEYRING";

/// Whose key: one login per profile and API URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub profile: String,
    pub api_url: String,
}

impl Account {
    /// The keyring's account name. Profile names cannot contain `@`, so this is unambiguous.
    pub(crate) fn keyring_user(&self) -> String {
        format!("{}@{}", self.profile, self.api_url)
    }
}

/// Where a key came from, for `auth status` and for error hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySource {
    Environment,
    Keyring,
    File,
    /// `--local`: the embedded emulator's built-in key.
    Local,
}

impl KeySource {
    /// The word `auth status --json` uses.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeySource::Environment => "environment",
            KeySource::Keyring => "keyring",
            KeySource::File => "file",
            KeySource::Local => "local",
        }
    }

    /// Where the key came from, to end a sentence about it ("the API key rt_test_****
    /// built into the --local emulator").
    pub(crate) fn place(self) -> &'static str {
        match self {
            KeySource::Environment => "from RUNTYPE_API_KEY",
            KeySource::Keyring => "from the system keyring",
            KeySource::File => "from the credentials file",
            KeySource::Local => "built into the --local emulator",
        }
    }
}

/// A key and its origin.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedKey {
    pub key: ApiKey,
    pub source: KeySource,
}

/// Why a keyring call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// There is no keyring here (no session bus, no platform store).
    Unavailable(String),
    /// The keyring is there but the call failed (locked, refused, broken).
    Failed(String),
    /// No answer within the bound.
    TimedOut(Duration),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::Unavailable(why) => write!(f, "no system keyring is available ({why})"),
            KeyringError::Failed(why) => write!(f, "the system keyring failed: {why}"),
            KeyringError::TimedOut(after) => write!(
                f,
                "the system keyring did not answer within {} s",
                after.as_secs_f32()
            ),
        }
    }
}

/// A secret store with entries named by account. Implementations may block; callers go
/// through [`Bounded`].
pub trait Keyring: Send + Sync {
    fn get(&self, user: &str) -> Result<Option<String>, KeyringError>;
    fn set(&self, user: &str, secret: &str) -> Result<(), KeyringError>;
    /// Whether there was an entry to delete.
    fn delete(&self, user: &str) -> Result<bool, KeyringError>;
}

/// Runs each call of a keyring on a thread of its own and stops waiting after `limit`. A call
/// that never returns (a keyring waiting for an unlock dialog nobody sees) is left behind; the
/// process exits without it.
pub(crate) struct Bounded {
    inner: Arc<dyn Keyring>,
    limit: Duration,
}

impl Bounded {
    pub(crate) fn new(inner: Arc<dyn Keyring>, limit: Duration) -> Bounded {
        Bounded { inner, limit }
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Keyring) -> Result<T, KeyringError> + Send + 'static,
    ) -> Result<T, KeyringError> {
        let (tx, rx) = mpsc::channel();
        let inner = Arc::clone(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                let _ = tx.send(f(inner.as_ref()));
            });
        if let Err(e) = spawned {
            return Err(KeyringError::Failed(format!(
                "could not start a thread: {e}"
            )));
        }
        rx.recv_timeout(self.limit)
            .unwrap_or(Err(KeyringError::TimedOut(self.limit)))
    }
}

impl Keyring for Bounded {
    fn get(&self, user: &str) -> Result<Option<String>, KeyringError> {
        let user = user.to_string();
        self.call(move |k| k.get(&user))
    }

    fn set(&self, user: &str, secret: &str) -> Result<(), KeyringError> {
        let (user, secret) = (user.to_string(), secret.to_string());
        self.call(move |k| k.set(&user, &secret))
    }

    fn delete(&self, user: &str) -> Result<bool, KeyringError> {
        let user = user.to_string();
        self.call(move |k| k.delete(&user))
    }
}

/// The platform's keyring (macOS Keychain, Windows Credential Manager, the Secret Service),
/// through the `keyring` crate.
pub(crate) struct SystemKeyring {
    /// Set when we know up front that there is nothing to talk to.
    unavailable: Option<String>,
}

impl SystemKeyring {
    pub(crate) fn new(env: Env) -> SystemKeyring {
        SystemKeyring {
            unavailable: missing_session_bus(env),
        }
    }

    fn entry(&self, user: &str) -> Result<keyring::Entry, KeyringError> {
        if let Some(why) = &self.unavailable {
            return Err(KeyringError::Unavailable(why.clone()));
        }
        keyring::Entry::new(KEYRING_SERVICE, user).map_err(|e| match e {
            keyring::Error::NoDefaultStore => {
                KeyringError::Unavailable("the platform keyring could not be opened".into())
            }
            other => keyring_failure(other),
        })
    }
}

fn keyring_failure(e: keyring::Error) -> KeyringError {
    match e {
        keyring::Error::NoStorageAccess(inner) => KeyringError::Unavailable(inner.to_string()),
        other => KeyringError::Failed(other.to_string()),
    }
}

/// On Linux and the BSDs the keyring is the Secret Service, reached over the D-Bus session
/// bus. Without one (SSH sessions, containers, CI) any attempt could only fail slowly or
/// start a bus of its own, so rtctl does not try.
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn missing_session_bus(env: Env) -> Option<String> {
    if env("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let runtime_bus = env("XDG_RUNTIME_DIR").map(|dir| Path::new(&dir).join("bus"));
    if runtime_bus.is_some_and(|p| p.exists()) {
        return None;
    }
    Some("no D-Bus session bus for the Secret Service: DBUS_SESSION_BUS_ADDRESS is not set".into())
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn missing_session_bus(_env: Env) -> Option<String> {
    None
}

impl Keyring for SystemKeyring {
    fn get(&self, user: &str) -> Result<Option<String>, KeyringError> {
        match self.entry(user)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_failure(e)),
        }
    }

    fn set(&self, user: &str, secret: &str) -> Result<(), KeyringError> {
        self.entry(user)?
            .set_password(secret)
            .map_err(keyring_failure)
    }

    fn delete(&self, user: &str) -> Result<bool, KeyringError> {
        match self.entry(user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_failure(e)),
        }
    }
}

/// A stand-in keyring for tests, chosen with `RTCTL_TEST_KEYRING` in debug builds only:
/// entries kept in a JSON file (so separate runs of the binary share them), or a keyring that
/// is absent, broken or never answers.
#[cfg(any(test, debug_assertions))]
pub enum MockKeyring {
    File(PathBuf),
    Unavailable,
    Broken,
    Hang,
}

#[cfg(any(test, debug_assertions))]
impl MockKeyring {
    /// Parses the variable's value.
    pub fn from_setting(value: &str) -> MockKeyring {
        match value {
            "none" => MockKeyring::Unavailable,
            "broken" => MockKeyring::Broken,
            "hang" => MockKeyring::Hang,
            path => MockKeyring::File(PathBuf::from(path)),
        }
    }

    fn entries(&self) -> Result<(PathBuf, BTreeMap<String, String>), KeyringError> {
        let path = match self {
            MockKeyring::File(path) => path.clone(),
            MockKeyring::Unavailable => {
                return Err(KeyringError::Unavailable(format!(
                    "{ENV_TEST_KEYRING}=none"
                )));
            }
            MockKeyring::Broken => {
                return Err(KeyringError::Failed("the test keyring is broken".into()));
            }
            MockKeyring::Hang => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
        };
        let entries = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| KeyringError::Failed(format!("test keyring: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(KeyringError::Failed(format!("test keyring: {e}"))),
        };
        Ok((path, entries))
    }

    fn save(path: &Path, entries: &BTreeMap<String, String>) -> Result<(), KeyringError> {
        let bytes = serde_json::to_vec_pretty(entries).expect("a string map serialises");
        crate::files::write_atomically(path, &bytes)
            .map_err(|e| KeyringError::Failed(format!("test keyring: {e}")))
    }
}

#[cfg(any(test, debug_assertions))]
impl Keyring for MockKeyring {
    fn get(&self, user: &str) -> Result<Option<String>, KeyringError> {
        Ok(self.entries()?.1.get(user).cloned())
    }

    fn set(&self, user: &str, secret: &str) -> Result<(), KeyringError> {
        let (path, mut entries) = self.entries()?;
        entries.insert(user.to_string(), secret.to_string());
        MockKeyring::save(&path, &entries)
    }

    fn delete(&self, user: &str) -> Result<bool, KeyringError> {
        let (path, mut entries) = self.entries()?;
        let existed = entries.remove(user).is_some();
        if existed {
            MockKeyring::save(&path, &entries)?;
        }
        Ok(existed)
    }
}

/// `credentials.toml`: the fallback for machines without a keyring, written only when the user
/// asked for it. Tables by profile, keys by API URL. Mode 0600, and refused when it is not.
pub(crate) struct CredentialsFile {
    path: PathBuf,
}

type FileEntries = BTreeMap<String, BTreeMap<String, String>>;

const FILE_HEADER: &str = "\
# rtctl API keys, stored in plain text because no system keyring was available.
# Keep this file private (chmod 600). Remove a key with `rtctl auth logout`.
";

impl CredentialsFile {
    pub(crate) fn new(path: PathBuf) -> CredentialsFile {
        CredentialsFile { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The entries, or none if there is no file. Refuses a file others may read: the key in
    /// it must be treated as leaked, and using it silently would hide that.
    fn read(&self) -> Result<FileEntries, CliError> {
        self.read_checked(true)
    }

    /// `check_mode: false` is for removing a key: logging out must work on a leaky file too.
    fn read_checked(&self, check_mode: bool) -> Result<FileEntries, CliError> {
        let text = match crate::files::read_own_text(&self.path, 1024 * 1024) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileEntries::new()),
            Err(e) => {
                return Err(CliError::failure(format!(
                    "could not read the credentials file {}: {e}",
                    self.path.display()
                )));
            }
        };
        if check_mode {
            self.check_private()?;
        }
        toml::from_str(&text).map_err(|e| {
            CliError::usage(format!(
                "the credentials file {} is invalid: {}",
                self.path.display(),
                e.message().trim_end()
            ))
            .with_hint(format!(
                "remove {} and run rtctl auth login again",
                self.path.display()
            ))
        })
    }

    #[cfg(unix)]
    fn check_private(&self) -> Result<(), CliError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&self.path)
            .map(|m| m.permissions().mode() & 0o777)
            .map_err(|e| {
                CliError::failure(format!("could not inspect {}: {e}", self.path.display()))
            })?;
        if mode & 0o077 == 0 {
            return Ok(());
        }
        // Say exactly who can do what: "others can read it" for 0620 would be wrong.
        let mut who = Vec::new();
        for (shift, whom) in [(3, "its group"), (0, "other users")] {
            let bits = (mode >> shift) & 0o7;
            let can: Vec<&str> = [(0o4, "read"), (0o2, "write"), (0o1, "execute")]
                .into_iter()
                .filter(|(bit, _)| bits & bit != 0)
                .map(|(_, verb)| verb)
                .collect();
            if !can.is_empty() {
                who.push(format!("{whom} can {} it", can.join(" and ")));
            }
        }
        let readable = mode & 0o044 != 0;
        Err(CliError::new(
            ErrorKind::Auth,
            format!(
                "refusing to use the credentials file {}: its mode is {mode:o}, so {}",
                self.path.display(),
                who.join(" and ")
            ),
        )
        .with_hint(format!(
            "run: chmod 600 {}{}",
            shell_quote(&self.path),
            if readable {
                "  (and consider rotating the key, which others may have read)"
            } else {
                ""
            }
        )))
    }

    #[cfg(not(unix))]
    fn check_private(&self) -> Result<(), CliError> {
        Ok(())
    }

    pub(crate) fn get(&self, account: &Account) -> Result<Option<String>, CliError> {
        Ok(self
            .read()?
            .get(&account.profile)
            .and_then(|urls| urls.get(&account.api_url))
            .cloned())
    }

    pub(crate) fn set(&self, account: &Account, key: &ApiKey) -> Result<(), CliError> {
        let mut entries = self.read()?;
        entries
            .entry(account.profile.clone())
            .or_default()
            .insert(account.api_url.clone(), key.expose().to_string());
        self.write(&entries)
    }

    /// Whether there was an entry to remove.
    pub(crate) fn delete(&self, account: &Account) -> Result<bool, CliError> {
        let mut entries = self.read_checked(false)?;
        let removed = entries
            .get_mut(&account.profile)
            .and_then(|urls| urls.remove(&account.api_url))
            .is_some();
        if removed {
            entries.retain(|_, urls| !urls.is_empty());
            self.write(&entries)?;
        }
        Ok(removed)
    }

    fn write(&self, entries: &FileEntries) -> Result<(), CliError> {
        let failed = |e: &dyn fmt::Display| {
            CliError::failure(format!(
                "could not write the credentials file {}: {e}",
                self.path.display()
            ))
        };
        if let Some(dir) = self.path.parent() {
            crate::files::create_private_dir(dir).map_err(|e| failed(&e))?;
        }
        let body = toml::to_string(entries).map_err(|e| failed(&e))?;
        let text = format!("{FILE_HEADER}\n{body}");
        crate::files::write_atomically(&self.path, text.as_bytes()).map_err(|e| failed(&e))
    }
}

/// A path as a shell word, for hints meant to be pasted.
fn shell_quote(path: &Path) -> String {
    crate::untrusted::shell_word(&path.display().to_string())
}

/// What is stored for an account, looked up in every place (for `auth status` and `logout`).
pub(crate) struct Stored {
    pub keyring: Result<Option<String>, KeyringError>,
    pub file: Result<Option<String>, CliError>,
}

/// The key stores of one run.
pub(crate) struct Credentials {
    keyring: Bounded,
    file: Option<CredentialsFile>,
}

impl Credentials {
    /// `keyring` (the OS keyring when `None`), each call bounded by `timeout`, and the file
    /// in `config_dir`, if there is one.
    pub(crate) fn new(
        env: Env,
        config_dir: Option<&Path>,
        keyring: Option<Arc<dyn Keyring>>,
        timeout: Duration,
    ) -> Credentials {
        let keyring = keyring.unwrap_or_else(|| Arc::new(SystemKeyring::new(env)));
        Credentials::with(
            Bounded::new(keyring, timeout),
            config_dir.map(|d| CredentialsFile::new(d.join(CREDENTIALS_FILE))),
        )
    }

    pub(crate) fn with(keyring: Bounded, file: Option<CredentialsFile>) -> Credentials {
        Credentials { keyring, file }
    }

    pub(crate) fn file(&self) -> Option<&CredentialsFile> {
        self.file.as_ref()
    }

    /// Finds the key: the environment's `RUNTYPE_API_KEY`, then the keyring, then the file.
    /// A keyring that fails is skipped (its trouble is returned, for the hint when nothing
    /// else has a key); a credentials file others can read is an error.
    pub(crate) fn resolve(
        &self,
        env: Env,
        account: &Account,
    ) -> Result<(Option<ResolvedKey>, Option<KeyringError>), CliError> {
        if let Some(key) = env_key(env) {
            return Ok((
                Some(ResolvedKey {
                    key,
                    source: KeySource::Environment,
                }),
                None,
            ));
        }
        let mut trouble = None;
        match self.keyring.get(&account.keyring_user()) {
            Ok(Some(secret)) if !secret.trim().is_empty() => {
                return Ok((
                    Some(ResolvedKey {
                        key: ApiKey::new(secret.trim()),
                        source: KeySource::Keyring,
                    }),
                    None,
                ));
            }
            Ok(_) => {}
            Err(e) => trouble = Some(e),
        }
        if let Some(file) = &self.file
            && let Some(secret) = file.get(account)?
        {
            return Ok((
                Some(ResolvedKey {
                    key: ApiKey::new(secret),
                    source: KeySource::File,
                }),
                trouble,
            ));
        }
        Ok((None, trouble))
    }

    /// What each store holds for `account`.
    pub(crate) fn stored(&self, account: &Account) -> Stored {
        Stored {
            keyring: self.keyring.get(&account.keyring_user()),
            file: match &self.file {
                Some(file) => file.get(account),
                None => Ok(None),
            },
        }
    }

    /// Stores the key in the keyring.
    pub(crate) fn save_to_keyring(
        &self,
        account: &Account,
        key: &ApiKey,
    ) -> Result<(), KeyringError> {
        self.keyring.set(&account.keyring_user(), key.expose())
    }

    /// Stores the key in the credentials file.
    pub(crate) fn save_to_file(&self, account: &Account, key: &ApiKey) -> Result<&Path, CliError> {
        let file = self.file.as_ref().ok_or_else(no_config_dir)?;
        file.set(account, key)?;
        Ok(file.path())
    }

    /// Removes the key from the keyring.
    pub(crate) fn delete_from_keyring(&self, account: &Account) -> Result<bool, KeyringError> {
        self.keyring.delete(&account.keyring_user())
    }

    /// Removes the key from the file.
    pub(crate) fn delete_from_file(&self, account: &Account) -> Result<bool, CliError> {
        match &self.file {
            Some(file) => file.delete(account),
            None => Ok(false),
        }
    }
}

/// `RUNTYPE_API_KEY`, if set to something.
pub(crate) fn env_key(env: Env) -> Option<ApiKey> {
    env(ENV_API_KEY)
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .map(ApiKey::new)
}

fn no_config_dir() -> CliError {
    CliError::failure("there is no config directory to keep a credentials file in").with_hint(
        format!(
            "set {} to a directory, or set {ENV_API_KEY} instead of logging in",
            crate::settings::ENV_CONFIG_DIR
        ),
    )
}

/// The error for "no key anywhere", with what the user can do about it.
pub(crate) fn no_key_error(account: &Account, trouble: Option<&KeyringError>) -> CliError {
    let profile = if account.profile == crate::settings::DEFAULT_PROFILE {
        String::new()
    } else {
        format!(" --profile {}", account.profile)
    };
    let mut hint =
        format!("run rtctl{profile} auth login, or set {ENV_API_KEY} to a Runtype API key");
    if let Some(trouble) = trouble
        && !matches!(trouble, KeyringError::Unavailable(_))
    {
        hint.push_str(&format!(" ({trouble})"));
    }
    CliError::new(
        ErrorKind::Auth,
        format!(
            "no API key for the profile '{}' at {}",
            account.profile, account.api_url
        ),
    )
    .with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::env_of;

    fn account() -> Account {
        Account {
            profile: "default".into(),
            api_url: "https://api.runtype.com".into(),
        }
    }

    struct World {
        dir: tempfile::TempDir,
    }

    impl World {
        fn new() -> World {
            World {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn credentials(&self, keyring: MockKeyring) -> Credentials {
            Credentials::with(
                Bounded::new(Arc::new(keyring), Duration::from_millis(200)),
                Some(CredentialsFile::new(self.dir.path().join(CREDENTIALS_FILE))),
            )
        }

        fn keyring(&self) -> MockKeyring {
            MockKeyring::File(self.dir.path().join("keyring.json"))
        }
    }

    fn source(
        c: &Credentials,
        vars: &[(&'static str, &'static str)],
    ) -> Option<(KeySource, String)> {
        c.resolve(&env_of(vars), &account())
            .unwrap()
            .0
            .map(|r| (r.source, r.key.expose().to_string()))
    }

    #[test]
    fn precedence_is_environment_then_keyring_then_file() {
        let world = World::new();
        let c = world.credentials(world.keyring());
        let env = [(ENV_API_KEY, "rt_test_env")];
        assert_eq!(source(&c, &[]), None);

        c.save_to_file(&account(), &ApiKey::new("rt_test_file"))
            .unwrap();
        assert_eq!(
            source(&c, &[]),
            Some((KeySource::File, "rt_test_file".into()))
        );

        c.save_to_keyring(&account(), &ApiKey::new("rt_test_ring"))
            .unwrap();
        assert_eq!(
            source(&c, &[]),
            Some((KeySource::Keyring, "rt_test_ring".into()))
        );

        assert_eq!(
            source(&c, &env),
            Some((KeySource::Environment, "rt_test_env".into()))
        );
        assert_eq!(
            source(&c, &[(ENV_API_KEY, "  ")]),
            Some((KeySource::Keyring, "rt_test_ring".into())),
            "an empty variable is no key"
        );

        c.delete_from_keyring(&account()).unwrap();
        assert_eq!(
            source(&c, &[]),
            Some((KeySource::File, "rt_test_file".into()))
        );
        assert_eq!(
            source(&c, &env),
            Some((KeySource::Environment, "rt_test_env".into()))
        );
    }

    #[test]
    fn logins_are_kept_apart_by_profile_and_url() {
        let world = World::new();
        let c = world.credentials(world.keyring());
        c.save_to_keyring(&account(), &ApiKey::new("rt_test_a"))
            .unwrap();
        let other_url = Account {
            api_url: "https://staging.example.com".into(),
            ..account()
        };
        let other_profile = Account {
            profile: "work".into(),
            ..account()
        };
        for other in [&other_url, &other_profile] {
            assert!(c.resolve(&env_of(&[]), other).unwrap().0.is_none());
        }
        c.save_to_file(&other_profile, &ApiKey::new("rt_test_b"))
            .unwrap();
        assert!(c.resolve(&env_of(&[]), &other_url).unwrap().0.is_none());
        assert!(c.delete_from_file(&other_profile).unwrap());
        assert!(!c.delete_from_file(&other_profile).unwrap());
    }

    #[test]
    fn a_broken_absent_or_hanging_keyring_falls_through_to_the_file() {
        for keyring in [
            MockKeyring::Unavailable,
            MockKeyring::Broken,
            MockKeyring::Hang,
        ] {
            let world = World::new();
            let c = world.credentials(keyring);
            let (key, trouble) = c.resolve(&env_of(&[]), &account()).unwrap();
            assert!(key.is_none());
            let trouble = trouble.unwrap();
            c.save_to_file(&account(), &ApiKey::new("rt_test_file"))
                .unwrap();
            assert_eq!(
                source(&c, &[]),
                Some((KeySource::File, "rt_test_file".into()))
            );
            let err = no_key_error(&account(), Some(&trouble));
            assert_eq!(err.exit_code(), 4);
            assert!(err.hint.unwrap().contains("rtctl auth login"));
        }
        let world = World::new();
        let err = world
            .credentials(MockKeyring::Hang)
            .save_to_keyring(&account(), &ApiKey::new("k"))
            .unwrap_err();
        assert_eq!(err, KeyringError::TimedOut(Duration::from_millis(200)));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_written_private_and_refused_when_it_is_not() {
        use std::os::unix::fs::PermissionsExt;
        let world = World::new();
        let c = world.credentials(MockKeyring::Unavailable);
        let path = c
            .save_to_file(&account(), &ApiKey::new("rt_test_file"))
            .unwrap()
            .to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("[default]") && text.contains("rt_test_file"),
            "{text}"
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = c.resolve(&env_of(&[]), &account()).unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert!(err.message.contains("mode is 644"), "{}", err.message);
        assert!(
            err.hint
                .unwrap()
                .starts_with(&format!("run: chmod 600 {}", path.display()))
        );
        // The environment still wins without reading the file.
        assert_eq!(
            source(&c, &[(ENV_API_KEY, "rt_test_env")]),
            Some((KeySource::Environment, "rt_test_env".into()))
        );
    }

    #[test]
    fn paths_are_quoted_for_the_shell_when_needed() {
        assert_eq!(
            shell_quote(Path::new("/home/a/.config/rtctl/c.toml")),
            "/home/a/.config/rtctl/c.toml"
        );
        assert_eq!(
            shell_quote(Path::new("/Users/a b/it's")),
            r"'/Users/a b/it'\''s'"
        );
    }
}
