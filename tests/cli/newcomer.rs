//! What a newcomer trips over: prompts that wait for Enter, bulk output that pairs values
//! with tokens, one consent rule whatever the route, tables that fit the terminal.

use crate::harness::Server;
use crate::prompts::{Pty, answer_prompt, pty_env};

const MARKETING: &str = "ct_0d3e00000000a001";
const STAGING: &str = "ct_0d3e00000000a003";

#[test]
fn a_prompt_waits_for_enter_and_takes_yes_or_no_as_words() {
    let server = Server::demo();
    let old = server.value_of(STAGING);
    // `yes⏎` is one answer: nothing is left over for the shell.
    let (code, screen) = answer_prompt(&server, &["tokens", "rotate", STAGING], "yes");
    assert_eq!(code, 0, "{screen}");
    assert_ne!(server.value_of(STAGING), old);
    let old = server.value_of(STAGING);
    let (code, screen) = answer_prompt(&server, &["tokens", "rotate", STAGING], "no");
    assert_eq!(code, 3, "{screen}");
    assert_eq!(server.value_of(STAGING), old);

    // A first key does not answer: the run waits until Enter.
    let rotations = || server.regenerations();
    let rotated_before = rotations();
    let mut pty = Pty::spawn(&pty_env(&server), &["tokens", "rotate", STAGING], 100);
    let seen = pty.wait_for("[y/N] ", 0);
    pty.type_text("y");
    // The terminal echoes the key, and the run waits for the line.
    pty.wait_for("y", seen);
    assert_eq!(rotations(), rotated_before, "a key without Enter acted");
    pty.type_text("es\r");
    let code = pty.wait_exit();
    assert_eq!(code, 0, "{}", pty.text());
    assert_ne!(
        pty.local_flags() & libc::ECHO,
        0,
        "the terminal is as it was"
    );
    assert_ne!(server.value_of(STAGING), old);
}

#[test]
fn bulk_values_are_paired_with_their_ids_and_errors_name_the_token() {
    let server = Server::demo();
    let run = server.rtctl(&["tokens", "rotate", STAGING, "ct_0d3e00000000a005", "--yes"]);
    run.expect(0);
    let lines: Vec<(&str, &str)> = run
        .stdout
        .lines()
        .map(|l| l.split_once('\t').expect("ID<TAB>value"))
        .collect();
    assert_eq!(lines.len(), 2);
    for (id, value) in lines {
        assert_eq!(server.value_of(id), value);
    }
    let run = server.rtctl(&["tokens", "delete", STAGING, "ct_0d3e000000000999", "--yes"]);
    run.expect(1);
    assert!(
        run.stderr
            .contains("error: ct_0d3e000000000999: 404 Not Found"),
        "{}",
        run.stderr
    );
}

#[test]
fn one_consent_rule_whatever_the_route() {
    let server = Server::demo();
    let before = server.token(MARKETING).expect(200)["clientToken"].clone();
    // Without a terminal and without --yes: refused, and nothing changes.
    for args in [
        vec!["tokens", "update", MARKETING, "--origin", "*"],
        vec!["tokens", "update", MARKETING, "--origin", "native"],
        vec![
            "tokens",
            "update",
            MARKETING,
            "--origin",
            "https://www.example.com",
        ],
        vec!["tokens", "update", MARKETING, "--deactivate"],
        vec!["origins", "add", MARKETING, "*"],
        vec!["origins", "remove", MARKETING, "https://example.com"],
    ] {
        let run = server.rtctl(&args);
        run.expect(2);
        assert!(run.stderr.contains("--yes"), "{args:?}: {}", run.stderr);
    }
    let create = [
        "tokens",
        "create",
        "--name",
        "Everywhere",
        "--environment",
        "live",
        "--origin",
        "*",
        "--flow",
        "flow_support_01",
    ];
    let run = server.rtctl(&create);
    run.expect(2);
    assert!(
        run.stderr.contains("refusing to allow * on a live token"),
        "{}",
        run.stderr
    );
    assert_eq!(
        server.token(MARKETING).expect(200)["clientToken"],
        before,
        "nothing changed"
    );
    assert!(server.tokens().iter().all(|t| t["name"] != "Everywhere"));

    // On a terminal: asked, naming the risk; no is exit 3.
    let run = server
        .invocation(&["tokens", "update", MARKETING, "--deactivate"], &[])
        .terminal(100, &["n"])
        .run();
    run.expect(3);
    assert!(run.stderr.contains("is a live token"), "{}", run.stderr);
    assert!(run.stderr.contains("Deactivate it?"), "{}", run.stderr);

    // What is not risky does not ask: a test token, a live token's harmless change.
    server
        .rtctl(&["tokens", "update", STAGING, "--origin", "*"])
        .expect(0);
    server
        .rtctl(&["tokens", "update", MARKETING, "--name", "Marketing"])
        .expect(0);
    // --yes goes ahead.
    server
        .rtctl(&["tokens", "update", MARKETING, "--deactivate", "--yes"])
        .expect(0);
    let mut create = create.to_vec();
    create.push("--yes");
    server.rtctl(&create).expect(0);
}

#[test]
fn the_table_fits_an_80_column_terminal_and_wide_keeps_everything() {
    let server = Server::demo();
    for width in [60u16, 80, 100, 160] {
        let run = server
            .invocation(&["tokens", "list"], &[])
            .terminal(width, &[])
            .run();
        run.expect(0);
        for line in run.stdout.lines() {
            assert!(
                console::measure_text_width(line) <= usize::from(width),
                "{width}: {line:?}\n{}",
                run.stdout
            );
        }
        assert!(run.stdout.contains(MARKETING), "ids stay whole");
    }
    let narrow = server
        .invocation(&["tokens", "list"], &[])
        .terminal(80, &[])
        .run();
    assert!(!narrow.stdout.contains("CREATED"), "{}", narrow.stdout);
    let wide = server
        .invocation(&["tokens", "list", "-o", "wide"], &[])
        .terminal(80, &[])
        .run();
    assert!(wide.stdout.contains("CREATED"), "{}", wide.stdout);
    assert!(wide.stdout.contains("https://checkout.example.com"));
    assert!(!wide.stdout.contains('…'));
    // Pipes stay whole.
    let tsv = server.rtctl(&["tokens", "list"]);
    assert!(tsv.stdout.contains("Marketing site widget\tlive"));
}

#[test]
fn a_pty_table_at_80_columns_does_not_wrap() {
    let server = Server::demo();
    let (code, screen) = Pty::spawn(&pty_env(&server), &["tokens", "list"], 80).finish();
    assert_eq!(code, 0, "{screen}");
    for line in screen.lines() {
        assert!(console::measure_text_width(line) <= 80, "{line:?}");
    }
}

#[test]
fn local_names_what_holds_its_state_and_gives_up() {
    let home = crate::harness::Home::new();
    std::fs::create_dir_all(home.data_dir()).unwrap();
    // An emulator serving the --local state file, as `rtctl emulator --state` would.
    let _emulator = Server::with(rtctl_emulator::Config {
        state_file: Some(home.data_dir().join("local-state.json")),
        holder: rtctl_emulator::describe_holder("rtctl emulator"),
        ..Default::default()
    });
    let run = home
        .invocation(&["--local", "tokens", "list"], &[])
        .world(|w| w.timeouts.local_lock = std::time::Duration::from_millis(300))
        .run();
    run.expect(1);
    let holder = format!("rtctl emulator (pid {})", std::process::id());
    assert!(
        run.stderr.contains(&format!("Waiting for {holder}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("gave up after"), "{}", run.stderr);
    assert!(run.stderr.contains("--api-url"), "{}", run.stderr);
}

#[test]
fn the_same_filters_select_everywhere_and_dry_runs_change_nothing() {
    let server = Server::demo();
    let list = server.rtctl(&[
        "tokens",
        "list",
        "-e",
        "test",
        "--active",
        "--name-contains",
        "STAGING",
    ]);
    list.expect(0);
    assert_eq!(list.stdout.lines().count(), 1, "{}", list.stdout);
    assert!(list.stdout.starts_with(STAGING));
    let export = server.rtctl(&["export", "--inactive"]);
    export.expect(0);
    assert!(export.stdout.contains("Old checkout widget"));
    assert!(!export.stdout.contains("Staging playground"));

    // A command's own --format is not combined with -o/--json (design).
    let run = server.rtctl(&[
        "tokens", "rotate", STAGING, "--yes", "--format", "env", "--json",
    ]);
    run.expect(2);
    assert!(run.stderr.contains("cannot be combined"), "{}", run.stderr);

    // A filter narrows --all; without it, it is an error, before any request.
    let run = server.rtctl(&["tokens", "delete", STAGING, "--inactive", "--yes"]);
    run.expect(2);
    assert!(
        run.stderr
            .contains("--inactive selects tokens only with --all, which was not given"),
        "{}",
        run.stderr
    );
    // Without ids too: the error is rtctl's, naming --all, not clap's "<ID> required".
    let sent = server.journal().len();
    for verb in ["rotate", "delete"] {
        let run = server.rtctl(&["tokens", verb, "--environment", "test", "--yes"]);
        run.expect(2);
        assert!(
            run.stderr.contains(&format!(
                "hint: add --all to {verb} every token that matches (see which with rtctl tokens list --environment test)"
            )),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("required"), "{}", run.stderr);
    }
    let run = server.rtctl(&["tokens", "rotate", "--name-contains", "old widget"]);
    assert!(
        run.stderr
            .contains("rtctl tokens list --name-contains 'old widget'"),
        "{}",
        run.stderr
    );
    // Neither ids nor a selection: clap's own error, naming what is missing.
    server.rtctl(&["tokens", "rotate"]).expect(2);
    assert_eq!(server.journal().len(), sent, "nothing was sent");

    let before = server.value_of(STAGING);
    let run = server.rtctl(&[
        "tokens",
        "rotate",
        "--all",
        "-e",
        "test",
        "--active",
        "--dry-run",
    ]);
    run.expect(0);
    assert_eq!(run.stdout, format!("{STAGING}\tStaging playground\n"));
    assert!(
        run.stderr.contains("Would rotate 1 client token"),
        "{}",
        run.stderr
    );
    assert_eq!(server.value_of(STAGING), before);
    let run = server.rtctl(&["tokens", "delete", MARKETING, "--dry-run", "--json"]);
    run.expect(0);
    assert_eq!(run.json()[0]["action"], "delete");
    server.token(MARKETING).expect(200);
    let run = server.rtctl(&[
        "tokens",
        "update",
        MARKETING,
        "--name",
        "Renamed",
        "--dry-run",
    ]);
    run.expect(0);
    assert_eq!(
        run.stdout,
        "~ name: \"Marketing site widget\" -> \"Renamed\"\n"
    );
    assert_eq!(
        server.token(MARKETING).expect(200)["clientToken"]["name"],
        "Marketing site widget"
    );
}

#[test]
fn a_bulk_question_lists_each_token_on_one_line_and_counts_them() {
    let server = Server::demo();
    let run = server
        .invocation(&["tokens", "rotate", "--all", "-e", "test"], &[])
        .terminal(120, &["n"])
        .run();
    run.expect(3);
    assert!(
        run.stderr.contains("Rotate 2 tokens? [y/N]"),
        "{}",
        run.stderr
    );
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains(STAGING))
        .unwrap()
        .to_string();
    assert!(
        line.contains("origins: https://staging.example.com"),
        "{line}"
    );
}

#[test]
fn suggested_commands_keep_the_flags_that_choose_the_account() {
    let home = crate::harness::Home::new();
    let run = home.rtctl(&["--local", "tokens", "get", "ct_0d3e000000009999"], &[]);
    run.expect(5);
    assert!(
        run.stderr.contains("rtctl --local tokens list"),
        "{}",
        run.stderr
    );
    let server = Server::demo();
    let url = server.url.clone();
    let run = server.rtctl_env(
        &["--api-url", &url, "tokens", "get", "ct_0d3e000000009999"],
        &[("RUNTYPE_API_URL", "")],
    );
    assert!(
        run.stderr
            .contains(&format!("rtctl --api-url {url} tokens list")),
        "{}",
        run.stderr
    );
}

/// `rtctl emulator --host HOST` on a port of its own, in `server`'s home, and the URL it
/// printed on stdout (once it has: the banner and any warning were written before it).
fn emulator_on(server: &Server, host: &str) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(crate::harness::BIN)
        .args(["emulator", "--host", host, "--port", "0"])
        .env_clear()
        .envs(server.home.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut url).unwrap();
    (child, url.trim().to_string())
}

#[test]
fn an_emulator_listening_beyond_loopback_says_so() {
    let server = Server::empty();
    let (child, url) = emulator_on(&server, "0.0.0.0");
    assert!(url.starts_with("http://0.0.0.0:"), "{url}");
    crate::harness::signal(&child, "-INT");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warning: listening on 0.0.0.0"), "{stderr}");
}

#[test]
fn at_60_columns_origins_show_their_hosts_and_values_wrap_under_themselves() {
    let server = Server::demo();
    let list = server
        .invocation(&["tokens", "list"], &[])
        .terminal(60, &[])
        .run();
    list.expect(0);
    assert!(!list.stdout.contains("https://"), "{}", list.stdout);
    for start in ["staging.", "checkout", "www.exam"] {
        assert!(list.stdout.contains(start), "{start}: {}", list.stdout);
    }
    // Only `https://` goes: an http entry still reads as one, apart from an https one.
    assert!(list.stdout.contains("http://"), "{}", list.stdout);
    // Wide enough, a host keeps its end too.
    let list = server
        .invocation(&["tokens", "list"], &[])
        .terminal(80, &[])
        .run();
    assert!(
        list.stdout.contains("checkout.exa…le.com"),
        "{}",
        list.stdout
    );

    let get = server
        .invocation(&["tokens", "get", MARKETING], &[])
        .terminal(60, &[])
        .run();
    get.expect(0);
    let indent = " ".repeat("idle timeout (min)  ".len());
    let config: Vec<&str> = get
        .stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("config  "))
        .collect();
    assert!(config.len() > 1, "the config wraps: {}", get.stdout);
    for line in get.stdout.lines() {
        assert!(
            console::measure_text_width(line) <= 60,
            "{line:?}\n{}",
            get.stdout
        );
    }
    for line in &config[1..] {
        assert!(
            line.starts_with(&indent) && !line[indent.len()..].starts_with(' '),
            "a wrapped line starts under its value: {line:?}\n{}",
            get.stdout
        );
    }
    let joined: String = config
        .iter()
        .map(|l| l.trim_start().trim_start_matches("config  "))
        .collect::<Vec<_>>()
        .join("");
    assert!(
        joined.contains(r##""primaryColor":"#4f46e5""##),
        "nothing is lost: {joined}"
    );
}

#[test]
fn a_filter_reaching_for_the_environment_is_pointed_at_jq_arg() {
    let server = Server::demo();
    for filter in ["env.HOME", "$ENV.HOME"] {
        let run = server.rtctl(&["tokens", "list", "--jq", filter]);
        run.expect(2);
        assert!(
            run.stderr
                .contains("--jq-arg NAME=VALUE and use it as $NAME"),
            "{filter}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("jqlang.org"), "{}", run.stderr);
    }
    // A variable never given: the hint's command works as written.
    let run = server.rtctl(&["tokens", "list", "--jq", "$home"]);
    run.expect(2);
    assert!(
        run.stderr
            .contains("hint: give $home a value with --jq-arg home=VALUE"),
        "{}",
        run.stderr
    );
    let run = server.rtctl(&[
        "tokens",
        "list",
        "--jq",
        "$home",
        "--jq-arg",
        "home=/home/me",
    ]);
    run.expect(0);
    assert_eq!(run.stdout, "/home/me\n");
    // Anything else undefined is a jq mistake: the manual.
    let run = server.rtctl(&["tokens", "list", "--jq", "nosuchfilter"]);
    assert!(run.stderr.contains("jqlang.org"), "{}", run.stderr);
}

#[test]
fn a_wrong_id_exits_5_and_a_malformed_one_2_as_the_book_says() {
    let server = Server::demo();
    // (`value` is left out: it reads the emulator's 400 as a legacy token, exit 1.)
    for verb in ["get", "rotate", "delete"] {
        let mut args = vec!["tokens", verb, "ct_0000000000000000"];
        if matches!(verb, "rotate" | "delete") {
            args.push("--yes");
        }
        server.rtctl(&args).expect(5);
        args[2] = "not-a-token-id";
        server.rtctl(&args).expect(2);
    }
    let page = |path: &str| {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
            .unwrap()
            .replace('\n', " ")
    };
    for (path, says) in [
        (
            "docs/src/rotation.md",
            "or for a malformed token id, 4 if the key is missing or rejected, 5 if an id names no token",
        ),
        (
            "docs/src/reference/exit-codes.md",
            "| `5` | not found (404): a well-formed id that names no token |",
        ),
    ] {
        assert!(page(path).contains(says), "{path} says {says:?}");
    }
}

/// An emulator bound to a loopback address other than 127.0.0.1 answers its own URL (it
/// refused it, 403, as a Host that did not name it).
#[cfg(target_os = "linux")]
#[test]
fn an_emulator_on_another_loopback_address_answers_its_own_url() {
    let server = Server::empty();
    let (child, url) = emulator_on(&server, "127.0.0.2");
    assert!(url.starts_with("http://127.0.0.2:"), "{url}");
    let run = server.binary(
        &["--api-url", &url, "tokens", "list"],
        &[("RUNTYPE_API_KEY", rtctl_emulator::DEFAULT_API_KEY)],
        None,
    );
    crate::harness::signal(&child, "-INT");
    let _ = child.wait_with_output();
    run.expect(0);
    assert!(run.stdout.contains("ct_0d3e00000000a001"), "{run:?}");
}

/// A proxy that passes on its own Host (a dev server's, a container's published port): the
/// emulator's refusal is no missing permission. rtctl keeps the emulator's advice, the
/// `--allowed-host` that answers it, and exits 1, not 4.
#[test]
fn a_host_the_emulator_does_not_answer_gets_its_advice_not_the_permission_hint() {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    let server = Server::demo();
    let upstream = server.url.clone();
    let proxy = server.hostile(axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let upstream = upstream.clone();
            async move {
                let mut request = crate::support::http()
                    .request(method, format!("{upstream}{uri}"))
                    .body(body);
                for (name, value) in &headers {
                    request = request.header(name, value);
                }
                let reply = request.send().await.unwrap();
                let status = StatusCode::from_u16(reply.status().as_u16()).unwrap();
                (status, reply.bytes().await.unwrap())
            }
        },
    ));
    let host = proxy.trim_start_matches("http://").to_string();
    for args in [
        vec!["tokens", "list"],
        vec!["tokens", "delete", "ct_0d3e00000000a003", "--yes"],
    ] {
        let run = server.rtctl_env(&args, &[("RUNTYPE_API_URL", &proxy)]);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(
            run.stderr
                .contains(&format!("Host '{host}' does not name this emulator")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!(
                "hint: to answer it, start the emulator with --allowed-host {host}"
            )),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("CLIENT_TOKENS"), "{}", run.stderr);
    }
}

/// At 60 columns, less telling columns go before an origin is cut (`conversations` cut it to
/// `www.e…` and kept FLOW whole), and `surfaces list` fits (it ran past the edge).
#[test]
fn narrow_terminals_keep_origins_whole_and_every_list_fits() {
    let server = Server::demo();
    for width in [50, 60, 80, 100] {
        for args in [
            vec!["tokens", "conversations", MARKETING],
            vec!["surfaces", "list"],
            vec!["tokens", "list"],
        ] {
            if width < 60 && args[1] == "list" && args[0] == "tokens" {
                continue; // (its ids, states and environments alone take 52 columns)
            }
            let run = server.invocation(&args, &[]).terminal(width, &[]).run();
            run.expect(0);
            for line in run.stdout.lines() {
                assert!(
                    console::measure_text_width(line) <= usize::from(width),
                    "{args:?} at {width}: {line:?}\n{}",
                    run.stdout
                );
            }
        }
    }
    let run = server
        .invocation(&["tokens", "conversations", MARKETING], &[])
        .terminal(60, &[])
        .run();
    assert!(run.stdout.contains("www.example.com"), "{}", run.stdout);
    let run = server
        .invocation(&["surfaces", "list"], &[])
        .terminal(60, &[])
        .run();
    for shown in [
        "Example Store",
        "Web chat (dev)",
        "paused",
        "ct_0d3e00000000a005",
    ] {
        assert!(run.stdout.contains(shown), "{shown}: {}", run.stdout);
    }
}
