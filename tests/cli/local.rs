//! `rtctl --local`: the embedded emulator, its state in the data directory, and concurrent
//! commands that must not lose each other's writes.

use insta::assert_snapshot;

use crate::harness::{Home, Run};

/// The variables a stray shell might carry; `--local` must ignore them.
const UNRELATED: [(&str, &str); 2] = [
    ("RUNTYPE_API_URL", "http://api.runtype.com"),
    ("RUNTYPE_API_KEY", "rt_live_not_for_local"),
];

fn local(home: &Home, args: &[&str]) -> Run {
    let mut all = vec!["--local"];
    all.extend_from_slice(args);
    home.rtctl(&all, &UNRELATED)
}

fn names(home: &Home) -> Vec<String> {
    let run = local(home, &["tokens", "list", "--all", "--json"]);
    run.expect(0)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn create(home: &Home, name: &str) -> Run {
    local(
        home,
        &[
            "tokens",
            "create",
            "--name",
            name,
            "--origin",
            "https://app.example.com",
            "--flow",
            "flow_support_01",
            "--json",
        ],
    )
}

#[test]
fn a_new_user_gets_demo_tokens_with_nothing_set_up() {
    let home = Home::new();
    let first = local(&home, &["tokens", "list"]);
    first.expect(0);
    let state = home.data_dir().join("local-state.json");
    let state_shown = state.display().to_string();
    // The demo tokens, and a note naming the state file.
    assert_snapshot!(
        "first_use",
        first.snapshot_naming(&[(&state_shown, "[STATE]")])
    );
    assert!(state.exists());

    let second = local(&home, &["tokens", "list"]);
    assert_eq!(second.expect(0).stdout, first.stdout);
    // Only the first use says so.
    assert_snapshot!("second_use", second.snapshot());

    let status = local(&home, &["auth", "status", "--json"]);
    let json = status.expect(0).json();
    assert_eq!(json["local"], true);
    assert_eq!(json["keySource"], "local");
    assert_eq!(json["stateFile"], state.display().to_string());
}

#[test]
fn changes_persist_across_invocations_and_deleting_the_state_resets_it() {
    let home = Home::new();
    let created = create(&home, "Persisted widget");
    let id = created.expect(0).json()["id"].as_str().unwrap().to_string();
    assert!(names(&home).contains(&"Persisted widget".to_string()));
    let got = local(&home, &["tokens", "get", &id, "--json"]);
    assert_eq!(got.expect(0).json()["name"], "Persisted widget");
    local(
        &home,
        &["tokens", "delete", "--yes", &names_id(&home, "Mobile app")],
    )
    .expect(0);
    assert!(!names(&home).contains(&"Mobile app".to_string()));

    // The documented reset: remove the state file; the next command seeds afresh.
    std::fs::remove_file(home.data_dir().join("local-state.json")).unwrap();
    let fresh = names(&home);
    assert!(fresh.contains(&"Mobile app".to_string()));
    assert!(!fresh.contains(&"Persisted widget".to_string()));
}

fn names_id(home: &Home, name: &str) -> String {
    local(home, &["tokens", "list", "--all", "--json"])
        .expect(0)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn concurrent_local_writers_lose_nothing() {
    let home = Home::new();
    local(&home, &["tokens", "list"]).expect(0); // seed first, so every writer finds state
    let writers: Vec<String> = (0..6).map(|i| format!("Concurrent {i}")).collect();
    std::thread::scope(|scope| {
        let runs: Vec<_> = writers
            .iter()
            .map(|name| scope.spawn(|| create(&home, name)))
            .collect();
        for run in runs {
            run.join().unwrap().expect(0);
        }
    });
    let names = names(&home);
    for name in &writers {
        assert!(names.contains(name), "{name} was lost: {names:?}");
    }
    assert_eq!(
        names.len(),
        6 + 6,
        "the six demo tokens and the six new ones"
    );
}

#[test]
fn local_refuses_what_makes_no_sense_for_it() {
    let home = Home::new();
    let conflict = home.rtctl(
        &[
            "--local",
            "--api-url",
            "https://api.runtype.com",
            "tokens",
            "list",
        ],
        &[],
    );
    conflict.expect(2);
    assert_snapshot!("with_api_url", conflict.snapshot());
    let login = home
        .invocation(&["--local", "auth", "login", "--with-key"], &[])
        .stdin("rt_test_x")
        .run();
    login.expect(2);
    assert_snapshot!("login", login.snapshot());
}

#[test]
fn verbose_says_in_a_whole_sentence_which_key_is_used() {
    let home = Home::new();
    let run = local(&home, &["-v", "tokens", "list"]);
    run.expect(0);
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "using the API key rt_test_**** built into the --local emulator"),
        "{}",
        run.stderr
    );
}
