//! rtctl's benchmark: one run, one machine, rtctl against the obvious baseline.
//!
//! ```sh
//! cargo build --release && cargo run --release --example bench
//! ```
//!
//! It starts emulators in this process (loopback, in memory), fills them over HTTP, and then
//! times the release `rtctl` binary as a user would run it:
//! - `tokens list --all --json` against 1,000 tokens, beside `curl` fetching the unpaged
//!   list (one request, the whole account), without latency and with 50 ms added to each list
//!   request (where rtctl's paged read, one page after another, is shown too);
//! - `audit` of the same 1,000 tokens, both ways;
//! - `tokens create`, which reads the whole account once to warn about a name already held:
//!   in an empty account, beside 1,000 tokens, and with 50 ms a list request;
//! - start-up (`rtctl --version`);
//! - peak memory of `tokens list --all --json` over 10,000 tokens;
//! - rotating 200 tokens at concurrency 1 and 8 with 10 ms of emulator latency.
//!
//! Times are medians of repeated runs (rtctl and `curl` in turns where they are compared);
//! memory is the child's own peak RSS from `wait4`.
//! Targets: the whole list within 1.3x `curl` of the unpaged list, without latency and with
//! 50 ms; under 20 MiB for 10,000 tokens; concurrency 8 at least 4x faster than 1.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rtctl_emulator::{self as emulator, Config, DEFAULT_API_KEY, RunningEmulator, Seed};
use serde_json::json;

const LIST_RUNS: usize = 30;
const STARTUP_RUNS: usize = 50;
const CREATE_RUNS: usize = 20;

/// Set on a copy of this benchmark started only to measure one child's memory (see
/// [`peak_memory`]).
const PEAK_VAR: &str = "RTCTL_BENCH_PEAK";

fn main() {
    if std::env::var_os(PEAK_VAR).is_some() {
        return measure_peak();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let rtctl = rtctl_binary();
    let home = tempfile::tempdir().expect("a temporary directory");
    println!("# rtctl benchmark\n");
    println!("binary: {}", rtctl.display());
    println!(
        "machine: {} CPUs\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| measurement | result | target |");
    println!("|---|---|---|");

    // 1. The whole list of 1,000 tokens: rtctl's one request beside curl's of the same
    //    unpaged list; then with 50 ms added to each list request, beside rtctl's own
    //    paged read (one page after another). Then an audit.
    let thousand = runtime.block_on(filled(1_000, Duration::ZERO));
    let url = thousand.url();
    let env = environment(&url, home.path());
    let unpaged = [format!("{url}/v1/client-tokens")];
    let (all, curl_all) = medians_side_by_side(
        LIST_RUNS,
        || time(&rtctl, &["tokens", "list", "--all", "--json"], &env),
        || curl(&unpaged),
    );
    row(
        "`tokens list --all --json`, 1,000 tokens, no latency, vs `curl` of the unpaged list",
        &format!(
            "{} vs {} ({:.2}x)",
            ms(all),
            ms(curl_all),
            ratio(all, curl_all)
        ),
        "≤ 1.3x",
    );
    let audit = median(LIST_RUNS, || {
        time(&rtctl, &["audit", "--fail-on", "never", "--json"], &env)
    });
    row("`audit`, 1,000 tokens, no latency", &ms(audit), "");
    runtime.block_on(slow_lists(&url, 50));
    let slow_runs = LIST_RUNS / 3;
    let (whole, curl_slow) = medians_side_by_side(
        slow_runs,
        || time(&rtctl, &["tokens", "list", "--all", "--json"], &env),
        || curl(&unpaged),
    );
    row(
        "`tokens list --all --json`, 1,000 tokens, 50 ms a list request, vs `curl` of the unpaged list",
        &format!(
            "{} vs {} ({:.2}x)",
            ms(whole),
            ms(curl_slow),
            ratio(whole, curl_slow)
        ),
        "≤ 1.3x",
    );
    let sequential = median(slow_runs, || {
        time(
            &rtctl,
            &["tokens", "list", "--limit", "1000", "--json"],
            &env,
        )
    });
    row(
        "the same through pages of 200, one after another (`--limit 1000`)",
        &ms(sequential),
        "",
    );
    let slow_audit = median(slow_runs, || {
        time(&rtctl, &["audit", "--fail-on", "never", "--json"], &env)
    });
    row(
        "`audit`, 1,000 tokens, 50 ms a list request",
        &ms(slow_audit),
        "",
    );
    runtime.block_on(thousand.shutdown());

    // `tokens create` reads the whole account once (one request) for its same-name warning:
    // what that costs beside an empty account, and with 50 ms a list request. An emulator of
    // its own, so the tokens it adds change no other row.
    let empty = runtime.block_on(filled(0, Duration::ZERO));
    let empty_env = environment(&empty.url(), home.path());
    let create_empty = median(CREATE_RUNS, || create(&rtctl, &empty_env));
    runtime.block_on(empty.shutdown());
    let creates = runtime.block_on(filled(1_000, Duration::ZERO));
    let env = environment(&creates.url(), home.path());
    let create_thousand = median(CREATE_RUNS, || create(&rtctl, &env));
    row(
        "`tokens create`, its name checked against 1,000 tokens, vs an empty account, no latency",
        &format!("{} vs {}", ms(create_thousand), ms(create_empty)),
        "",
    );
    runtime.block_on(slow_lists(&creates.url(), 50));
    let slow_create = median(CREATE_RUNS / 2, || create(&rtctl, &env));
    row(
        "`tokens create`, 1,000 tokens, 50 ms a list request (the name check's one read)",
        &ms(slow_create),
        "",
    );
    runtime.block_on(creates.shutdown());

    // 2. Start-up.
    let startup = median(STARTUP_RUNS, || time(&rtctl, &["--version"], &env));
    row("start-up, `rtctl --version`", &ms(startup), "");

    // 3. Peak memory over 10,000 tokens.
    let ten_thousand = runtime.block_on(filled(10_000, Duration::ZERO));
    let env = environment(&ten_thousand.url(), home.path());
    let (elapsed, peak_kib) = peak_memory(&rtctl, &["tokens", "list", "--all", "--json"], &env);
    row(
        "peak memory, `tokens list --all --json` over 10,000 tokens",
        &format!("{:.1} MiB (in {})", peak_kib as f64 / 1024.0, ms(elapsed)),
        "≤ 20 MiB",
    );
    let (elapsed, peak_kib) = peak_memory(
        &rtctl,
        &["tokens", "list", "--limit", "10000", "--json"],
        &env,
    );
    row(
        "the same, paging one page at a time (`--limit 10000`)",
        &format!("{:.1} MiB (in {})", peak_kib as f64 / 1024.0, ms(elapsed)),
        "",
    );
    runtime.block_on(ten_thousand.shutdown());

    // 4. Bulk rotation at concurrency 1 and 8, 10 ms of latency per request.
    let slow = runtime.block_on(filled(200, Duration::from_millis(10)));
    let env = environment(&slow.url(), home.path());
    let rotate = |concurrency: &str| {
        time(
            &rtctl,
            &[
                "tokens",
                "rotate",
                "--all",
                "--yes",
                "--json",
                "--concurrency",
                concurrency,
            ],
            &env,
        )
    };
    let one = rotate("1");
    let eight = rotate("8");
    row(
        "rotate 200 tokens, 10 ms latency: concurrency 1 vs 8",
        &format!(
            "{} vs {} ({:.1}x faster)",
            ms(one),
            ms(eight),
            ratio(one, eight)
        ),
        "≥ 4x",
    );
    runtime.block_on(slow.shutdown());
}

/// The release binary beside this example (`target/release/examples/bench` →
/// `target/release/rtctl`).
fn rtctl_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the example's path");
    let dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target/<profile>");
    let binary = dir.join("rtctl");
    assert!(
        binary.exists(),
        "{} is missing: run cargo build --release first",
        binary.display()
    );
    binary
}

/// Times one `tokens create` with a name no token has (a counter keeps them apart).
fn create(rtctl: &std::path::Path, env: &[(String, String)]) -> Duration {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CREATED: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "Created by the benchmark {}",
        CREATED.fetch_add(1, Ordering::Relaxed)
    );
    time(
        rtctl,
        &[
            "tokens",
            "create",
            "--name",
            &name,
            "--origin",
            "https://bench.example.com",
            "--flow",
            "flow_bench",
            "--json",
        ],
        env,
    )
}

/// An emulator holding `tokens` tokens, created over HTTP like any client would.
async fn filled(tokens: usize, latency: Duration) -> RunningEmulator {
    let running = emulator::start(Config {
        seed: Seed::None,
        latency,
        flows: vec!["flow_bench".into()],
        ..Config::default()
    })
    .await
    .expect("an emulator");
    rtctl::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/client-tokens", running.url());
    let mut pending = tokio::task::JoinSet::new();
    for chunk in (0..tokens)
        .collect::<Vec<_>>()
        .chunks(tokens.div_ceil(8).max(1))
    {
        let (http, url, chunk) = (http.clone(), url.clone(), chunk.to_vec());
        pending.spawn(async move {
            for i in chunk {
                let body = json!({
                    "name": format!("Benchmark token {i}"),
                    "allowedOrigins": [format!("https://site{i}.example.com")],
                    "flowIds": ["flow_bench"],
                });
                let reply = http
                    .post(&url)
                    .bearer_auth(DEFAULT_API_KEY)
                    .json(&body)
                    .send()
                    .await
                    .expect("the emulator answers");
                assert_eq!(reply.status(), 201);
            }
        });
    }
    while pending.join_next().await.is_some() {}
    running
}

fn environment(url: &str, home: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("RUNTYPE_API_URL".into(), url.to_string()),
        ("RUNTYPE_API_KEY".into(), DEFAULT_API_KEY.into()),
        (
            "RTCTL_CONFIG_DIR".into(),
            home.join("config").display().to_string(),
        ),
        (
            "RTCTL_DATA_DIR".into(),
            home.join("data").display().to_string(),
        ),
        ("RTCTL_TEST_KEYRING".into(), "none".into()),
    ]
}

fn command(program: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Wall time of one run, which must succeed.
fn time(program: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Duration {
    let started = Instant::now();
    let status = command(program, args, env).status().expect("rtctl runs");
    // (stdout and stderr go to /dev/null: a failure is reported below by its exit status)
    let elapsed = started.elapsed();
    assert!(status.success(), "rtctl {args:?} failed: {status}");
    elapsed
}

/// One `curl` process fetching `urls` one after another (on one connection).
fn curl(urls: &[String]) -> Duration {
    let mut command = Command::new("curl");
    command
        .args(["-sf", "-H"])
        .arg(format!("Authorization: Bearer {DEFAULT_API_KEY}"));
    for url in urls {
        command.args(["-o", "/dev/null", url]);
    }
    let started = Instant::now();
    let status = command.status().expect("curl is installed");
    let elapsed = started.elapsed();
    assert!(status.success(), "curl {urls:?} failed: {status}");
    elapsed
}

/// Adds `ms` to every list request of the emulator at `url` (a fault that never runs out).
async fn slow_lists(url: &str, ms: u64) {
    let reply = reqwest::Client::new()
        .post(format!("{url}/__emulator/faults"))
        .json(&json!({"method": "GET", "path": "/v1/client-tokens", "delayMs": ms, "count": 0}))
        .send()
        .await
        .expect("the emulator answers");
    assert_eq!(reply.status(), 201);
}

/// Wall time and the child's own peak resident set, in KiB. Linux carries a process's peak
/// across `exec` from the image it was forked (or vforked) from, so a child of this large
/// process (it holds emulators with thousands of tokens) would report this process's size.
/// The measuring is done by a fresh copy of this program, small since its `exec`, which
/// starts the child and reads its peak with `wait4`.
fn peak_memory(
    program: &std::path::Path,
    args: &[&str],
    env: &[(String, String)],
) -> (Duration, i64) {
    let me = std::env::current_exe().expect("the benchmark's own path");
    let output = Command::new(me)
        .arg(program)
        .args(args)
        .env(PEAK_VAR, "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("the benchmark starts a copy of itself");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut words = text
        .split_whitespace()
        .map(|w| w.parse::<i64>().expect("a number"));
    let (nanos, kib) = (words.next().unwrap(), words.next().unwrap());
    (Duration::from_nanos(nanos as u64), kib)
}

/// The measuring copy: runs `PROGRAM ARGS…` (this process's arguments), and prints the wall
/// time in nanoseconds and the child's peak resident set in KiB.
fn measure_peak() {
    let mut argv = std::env::args_os().skip(1);
    let program = argv.next().expect("a program to measure");
    let started = Instant::now();
    // Reaped by wait4 below, not by Child::wait (which would take the rusage with it).
    #[allow(clippy::zombie_processes)]
    let child = Command::new(&program)
        .args(argv)
        .env_remove(PEAK_VAR)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rtctl runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, and the pid is our own child, not yet waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{program:?} failed"
    );
    println!("{} {}", started.elapsed().as_nanos(), usage.ru_maxrss);
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[runs / 2]
}

/// The medians of `a` and `b` run in turns (a, b, a, b…), so both meet the same load on a
/// shared machine.
fn medians_side_by_side(
    runs: usize,
    mut a: impl FnMut() -> Duration,
    mut b: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        first.push(a());
        second.push(b());
    }
    let middle = |mut times: Vec<Duration>| {
        times.sort();
        times[runs / 2]
    };
    (middle(first), middle(second))
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn row(what: &str, result: &str, target: &str) {
    println!("| {what} | {result} | {target} |");
}
