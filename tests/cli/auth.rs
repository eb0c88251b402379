//! `rtctl auth` and key resolution, run as the binary against the emulator. The OS keyring is
//! replaced by the test keyring (`RTCTL_TEST_KEYRING`): a JSON file, or an absent, broken or
//! hanging keyring. Config and credentials live in each server's private home.

use std::path::PathBuf;

use insta::assert_snapshot;
use rtctl_emulator::Config;
use serde_json::json;

use crate::harness::{Run, Server};
use crate::prompts::answer_prompts;

const ENV_KEY: &str = "rt_test_from_env";
const RING_KEY: &str = "rt_test_from_keyring";
const FILE_KEY: &str = "rt_test_from_file";

/// An emulator that accepts the three keys, so each source's key can be told apart.
fn server() -> Server {
    Server::with(Config {
        api_keys: vec![ENV_KEY.into(), RING_KEY.into(), FILE_KEY.into()],
        ..Config::default()
    })
}

fn keyring_var(server: &Server) -> String {
    server.home.keyring_file().to_string_lossy().into_owned()
}

fn put_in_keyring(server: &Server, profile: &str, key: &str) {
    let path = server.home.keyring_file();
    let mut entries: serde_json::Map<String, serde_json::Value> = std::fs::read(&path)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_default();
    entries.insert(format!("{profile}@{}", server.url), json!(key));
    std::fs::write(path, serde_json::to_vec(&entries).unwrap()).unwrap();
}

fn credentials_file(server: &Server) -> PathBuf {
    server.home.config_dir().join("credentials.toml")
}

fn put_in_file(server: &Server, key: &str, mode: u32) {
    std::fs::create_dir_all(server.home.config_dir()).unwrap();
    let path = credentials_file(server);
    std::fs::write(
        &path,
        format!("[default]\n\"{}\" = \"{key}\"\n", server.url),
    )
    .unwrap();
    set_mode(&path, mode);
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs rtctl with the test keyring file and `env_key` as RUNTYPE_API_KEY ("" = unset).
fn run(server: &Server, args: &[&str], env_key: &str) -> Run {
    let ring = keyring_var(server);
    server.rtctl_env(
        args,
        &[("RUNTYPE_API_KEY", env_key), ("RTCTL_TEST_KEYRING", &ring)],
    )
}

#[test]
fn the_key_comes_from_the_environment_then_the_keyring_then_the_file() {
    // Every combination of the three sources: the first present one wins.
    for mask in 0..8u8 {
        let server = server();
        let (env, ring, file) = (mask & 1 != 0, mask & 2 != 0, mask & 4 != 0);
        if ring {
            put_in_keyring(&server, "default", RING_KEY);
        }
        if file {
            put_in_file(&server, FILE_KEY, 0o600);
        }
        let env_key = if env { ENV_KEY } else { "" };
        let expected = [
            (env, "environment", ENV_KEY),
            (ring, "keyring", RING_KEY),
            (file, "file", FILE_KEY),
        ]
        .into_iter()
        .find(|(present, _, _)| *present);

        let token = run(&server, &["auth", "token"], env_key);
        let status = run(&server, &["auth", "status", "--json"], env_key);
        let list = run(&server, &["tokens", "list"], env_key);
        match expected {
            Some((_, source, key)) => {
                token.expect(0);
                assert_eq!(token.stdout, format!("{key}\n"), "case {mask}");
                let json = status.expect(0).json();
                assert_eq!(json["keySource"], source, "case {mask}");
                assert_eq!(json["server"], "accepted");
                assert!(
                    !status.stdout.contains(key),
                    "the key is masked: {}",
                    status.stdout
                );
                list.expect(0);
            }
            None => {
                token.expect(4);
                assert_snapshot!("token_without_a_key", token.snapshot());
                assert_eq!(
                    status.expect(4).json()["keySource"],
                    serde_json::Value::Null
                );
                list.expect(4);
                assert_snapshot!("list_without_a_key", list.snapshot());
            }
        }
    }
}

#[test]
fn status_warns_when_the_environment_shadows_a_stored_login() {
    let server = server();
    put_in_keyring(&server, "default", RING_KEY);
    let status = run(&server, &["auth", "status", "--json"], ENV_KEY);
    let json = status.expect(0).json();
    assert_eq!(json["keySource"], "environment");
    assert_eq!(json["shadowed"], json!(["keyring"]));
    assert_snapshot!("status_shadowed_json", status.snapshot());

    let plain = run(&server, &["auth", "status"], "");
    plain.expect(0);
    // No warning; the snapshot shows the hint as ****[HINT], so check it is the keyring's.
    assert_snapshot!("status_from_the_keyring", plain.snapshot());
    assert!(
        plain
            .stdout
            .contains("rt_test_****ring (from the system keyring)"),
        "{}",
        plain.stdout
    );
}

#[test]
fn status_reports_a_rejected_key_with_exit_4() {
    let server = server();
    let status = run(&server, &["auth", "status", "--json"], "rt_test_wrong");
    let json = status.expect(4).json();
    assert_eq!(json["server"], "rejected");
    assert!(json["error"].as_str().unwrap().starts_with("401"), "{json}");
    assert_snapshot!("status_rejected_json", status.snapshot());
}

#[test]
fn login_with_key_reads_stdin_checks_the_key_and_stores_it_in_the_keyring() {
    let server = server();
    let ring = keyring_var(&server);
    let vars = [
        ("RUNTYPE_API_KEY", ""),
        ("RTCTL_TEST_KEYRING", ring.as_str()),
    ];

    let rejected = server.rtctl_stdin(
        &["auth", "login", "--with-key"],
        &vars,
        Some("rt_test_wrong\n"),
    );
    rejected.expect(4);
    assert_snapshot!("login_rejected_key", rejected.snapshot());
    assert!(!server.home.keyring_file().exists());

    let login = server.rtctl_stdin(
        &["auth", "login", "--with-key"],
        &vars,
        Some(&format!("  {RING_KEY}\n")),
    );
    login.expect(0);
    assert_snapshot!("login_to_the_keyring", login.snapshot());
    assert!(!login.stderr.contains(RING_KEY), "{login:?}");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.home.keyring_file()).unwrap()).unwrap();
    assert_eq!(stored[format!("default@{}", server.url)], RING_KEY);
    assert!(
        !credentials_file(&server).exists(),
        "nothing is written in plain text"
    );

    // The stored key is used without the environment.
    server.rtctl_env(&["tokens", "list"], &vars).expect(0);

    for (name, input) in [
        ("login_empty_key", ""),
        ("login_key_with_whitespace", "rt_test a\n"),
        ("login_key_too_long", &"x".repeat(5000)),
    ] {
        let bad = server.rtctl_stdin(&["auth", "login", "--with-key"], &vars, Some(input));
        bad.expect(2);
        assert_snapshot!(name, bad.snapshot());
    }

    let no_terminal = server.rtctl_env(&["auth", "login"], &vars);
    no_terminal.expect(2);
    assert_snapshot!("login_without_a_terminal", no_terminal.snapshot());

    let logout = server.rtctl_env(&["auth", "logout"], &vars);
    logout.expect(0);
    assert_snapshot!("logout_from_the_keyring", logout.snapshot());
    server.rtctl_env(&["tokens", "list"], &vars).expect(4);
    let again = server.rtctl_env(&["auth", "logout"], &vars);
    again.expect(0);
    assert_snapshot!("logout_again", again.snapshot());
}

#[test]
fn login_warns_when_the_environment_will_shadow_it() {
    let server = server();
    let ring = keyring_var(&server);
    let login = server.rtctl_stdin(
        &["auth", "login", "--with-key"],
        &[("RUNTYPE_API_KEY", ENV_KEY), ("RTCTL_TEST_KEYRING", &ring)],
        Some(RING_KEY),
    );
    login.expect(0);
    assert_snapshot!("login_shadowed_by_the_environment", login.snapshot());
}

#[test]
fn without_a_keyring_the_file_is_used_only_when_asked_and_kept_private() {
    let server = server();
    let vars = [("RUNTYPE_API_KEY", ""), ("RTCTL_TEST_KEYRING", "none")];
    let refused = server.rtctl_stdin(&["auth", "login", "--with-key"], &vars, Some(FILE_KEY));
    refused.expect(1);
    assert_snapshot!("login_without_a_keyring", refused.snapshot());
    assert!(!credentials_file(&server).exists());

    let login = server.rtctl_stdin(
        &["auth", "login", "--with-key", "--insecure-storage"],
        &vars,
        Some(FILE_KEY),
    );
    login.expect(0);
    let path = credentials_file(&server);
    assert_snapshot!(
        "login_to_the_file",
        login.snapshot_naming(&[(&path.display().to_string(), "[CREDENTIALS]")])
    );
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(mode_of(&server.home.config_dir()), 0o700);
    server.rtctl_env(&["tokens", "list"], &vars).expect(0);

    set_mode(&path, 0o640);
    let leaky = server.rtctl_env(&["tokens", "list"], &vars);
    leaky.expect(4);
    assert_snapshot!(
        "credentials_file_readable_by_others",
        leaky.snapshot_naming(&[(&path.display().to_string(), "[CREDENTIALS]")])
    );

    // Logging out works on a leaky file, and leaves it private.
    server.rtctl_env(&["auth", "logout"], &vars).expect(0);
    assert_eq!(mode_of(&path), 0o600);
    server.rtctl_env(&["tokens", "list"], &vars).expect(4);
}

#[test]
fn a_broken_or_hanging_keyring_does_not_block_the_file_or_the_environment() {
    let server = server();
    put_in_file(&server, FILE_KEY, 0o600);
    let broken = server.rtctl_env(
        &["auth", "token"],
        &[("RUNTYPE_API_KEY", ""), ("RTCTL_TEST_KEYRING", "broken")],
    );
    assert_eq!(broken.expect(0).stdout, format!("{FILE_KEY}\n"));

    // The environment never touches the keyring, so a hanging one costs nothing.
    let env = server.rtctl_env(
        &["auth", "token"],
        &[("RUNTYPE_API_KEY", ENV_KEY), ("RTCTL_TEST_KEYRING", "hang")],
    );
    assert_eq!(env.expect(0).stdout, format!("{ENV_KEY}\n"));

    // A keyring that never answers is abandoned after its bound (set short for tests).
    std::fs::remove_file(credentials_file(&server)).unwrap();
    let hung = server.rtctl_env(
        &["auth", "token"],
        &[("RUNTYPE_API_KEY", ""), ("RTCTL_TEST_KEYRING", "hang")],
    );
    hung.expect(4);
    assert_snapshot!("token_keyring_hangs", hung.snapshot());
}

#[test]
fn logins_are_kept_per_profile_and_profiles_come_from_the_config_file() {
    let server = server();
    let ring = keyring_var(&server);
    server.home.write_config(&format!(
        "[profiles.staging]\napi_url = \"{}\"\noutput = \"json\"\n",
        server.url
    ));
    // The harness sets RUNTYPE_API_URL, which beats the profile; unset it to see the profile.
    let vars = [
        ("RUNTYPE_API_KEY", ""),
        ("RUNTYPE_API_URL", ""),
        ("RTCTL_TEST_KEYRING", ring.as_str()),
    ];
    let login = server.rtctl_stdin(
        &["--profile", "staging", "auth", "login", "--with-key"],
        &vars,
        Some(RING_KEY),
    );
    login.expect(0);
    assert_snapshot!("login_profile", login.snapshot());

    let list = server.rtctl_env(&["--profile", "staging", "tokens", "list"], &vars);
    assert!(
        list.expect(0).json().is_array(),
        "the profile's output = \"json\" applies"
    );
    let by_env = server.rtctl_env(
        &["tokens", "list"],
        &[vars[0], vars[1], vars[2], ("RTCTL_PROFILE", "staging")],
    );
    by_env.expect(0).json();
    let flag_wins = server.rtctl_env(
        &["--profile", "staging", "-o", "tsv", "tokens", "list"],
        &vars,
    );
    flag_wins.expect(0);
    assert_snapshot!("list_output_flag_beats_profile", flag_wins.snapshot());

    // The default profile (the public API) has no login: the staging key stays with staging.
    let default = server.rtctl_env(&["auth", "status", "--json"], &vars);
    let json = default.expect(4).json();
    assert_eq!(json["profile"], "default");
    assert_eq!(json["apiUrl"], "https://api.runtype.com");

    let unknown = server.rtctl_env(&["--profile", "prod", "tokens", "list"], &vars);
    unknown.expect(2);
    assert_snapshot!("unknown_profile", unknown.snapshot());
}

#[test]
fn a_broken_config_file_names_the_file_and_line() {
    let server = server();
    let path = server
        .home
        .write_config("[profiles.default]\noutput = \"json\"\ntimeout = \"soon\"\n");
    let run = server.rtctl(&["tokens", "list"]);
    run.expect(2);
    assert_snapshot!(
        "broken_config_file",
        run.snapshot_naming(&[(&path.display().to_string(), "[CONFIG]")])
    );
}

#[test]
fn a_key_is_never_sent_over_plain_http_to_another_host() {
    let server = server();
    let from_env = server.rtctl_env(
        &["tokens", "list"],
        &[("RUNTYPE_API_URL", "http://api.runtype.com")],
    );
    from_env.expect(2);
    assert_snapshot!("plain_http_from_the_environment", from_env.snapshot());
    let from_flag = server.rtctl(&["--api-url", "http://10.1.2.3:8080", "tokens", "list"]);
    from_flag.expect(2);
    assert_snapshot!("plain_http_from_the_flag", from_flag.snapshot());
    let path = server
        .home
        .write_config("[profiles.default]\napi_url = \"http://example.com\"\n");
    let from_file = server.rtctl_env(&["auth", "status"], &[("RUNTYPE_API_URL", "")]);
    from_file.expect(2);
    assert_snapshot!(
        "plain_http_from_the_config_file",
        from_file.snapshot_naming(&[(&path.display().to_string(), "[CONFIG]")])
    );
    // Loopback is fine: that is how every other test runs.
    std::fs::remove_file(path).unwrap();
    server.rtctl(&["tokens", "list"]).expect(0);
}

#[test]
fn login_on_a_terminal_hides_the_key_and_asks_before_writing_a_file() {
    let server = server();
    let mut vars = server.home.env();
    vars.retain(|(k, _)| k != "RTCTL_TEST_KEYRING");
    vars.extend([
        ("RUNTYPE_API_URL".to_string(), server.url.clone()),
        ("RTCTL_TEST_KEYRING".to_string(), "none".to_string()),
        ("TERM".to_string(), "xterm".to_string()),
    ]);
    let (code, screen) = answer_prompts(
        &vars,
        &["auth", "login"],
        &[
            ("Paste your API key", &format!("{FILE_KEY}\r")),
            ("[y/N]", "y\r"),
        ],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains(FILE_KEY),
        "the key is not echoed: {screen}"
    );
    assert!(
        screen.contains("no system keyring is available"),
        "{screen}"
    );
    assert!(screen.contains("stored in"), "{screen}");
    assert_eq!(mode_of(&credentials_file(&server)), 0o600);

    // "No" stores nothing and exits 3.
    std::fs::remove_file(credentials_file(&server)).unwrap();
    let (code, screen) = answer_prompts(
        &vars,
        &["auth", "login"],
        &[
            ("Paste your API key", &format!("{FILE_KEY}\r")),
            ("[y/N]", "n\r"),
        ],
    );
    assert_eq!(code, 3, "{screen}");
    assert!(!credentials_file(&server).exists());
}
