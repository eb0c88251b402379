//! The `rtctl emulator` binary: what it prints, how it stops, how it refuses.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rtctl");

/// A running `rtctl emulator` child and the URL it printed.
struct Running {
    child: Child,
    url: String,
}

fn spawn(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .arg("emulator")
        .args(["--port", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rtctl starts");
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "first stdout line: {url:?}"
    );
    Running { child, url }
}

impl Running {
    /// Sends SIGINT (what Ctrl-C sends) and returns the exit code and stderr.
    fn interrupt(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = wait(&mut self.child, Duration::from_secs(10));
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (code, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the emulator did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn list(url: &str, key: &str) -> (u16, Value) {
    let reply = crate::support::http()
        .get(format!("{url}/v1/client-tokens"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.json().await.unwrap())
}

#[tokio::test]
async fn prints_its_url_and_key_logs_requests_and_stops_on_ctrl_c() {
    let running = spawn(&[]);
    let (status, body) = list(&running.url, "rt_test_emulator").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["clientTokens"].as_array().unwrap().len(),
        6,
        "demo seed by default"
    );
    let (code, stderr) = running.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("listening on http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("API key:        rt_test_emulator"),
        "{stderr}"
    );
    assert!(stderr.contains("GET /v1/client-tokens 200"), "{stderr}");
    assert!(stderr.contains("emulator stopped"), "{stderr}");
}

#[tokio::test]
async fn keys_seed_faults_and_quiet_from_flags() {
    let running = spawn(&[
        "--api-key",
        "rt_test_mine",
        "--read-only-key",
        "rt_test_ro",
        "--seed",
        "none",
        "--fault",
        "GET /v1/client-tokens status=503 retry-after=1",
        "--quiet",
    ]);
    // Faults sit in front of authentication, as a proxy or rate limiter would.
    assert_eq!(list(&running.url, "rt_test_mine").await.0, 503);
    assert_eq!(list(&running.url, "rt_test_emulator").await.0, 401);
    let (status, body) = list(&running.url, "rt_test_ro").await;
    assert_eq!(
        (status, body["clientTokens"].as_array().unwrap().len()),
        (200, 0)
    );
    let (code, stderr) = running.interrupt();
    assert_eq!(code, Some(0));
    assert!(stderr.contains("read-only key:  rt_test_ro"));
    assert!(
        !stderr.contains("GET /v1/client-tokens"),
        "--quiet logs no requests: {stderr}"
    );
}

#[tokio::test]
async fn state_persists_across_a_restart_and_a_second_emulator_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.json");
    let state_arg = state.to_str().unwrap();
    let first = spawn(&["--state", state_arg, "--seed", "none", "--flow", "f"]);
    let created = crate::support::http()
        .post(format!("{}/v1/client-tokens", first.url))
        .bearer_auth("rt_test_emulator")
        .json(&serde_json::json!({"name": "Survivor", "allowedOrigins": ["https://a.com"], "flowIds": ["f"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let second = Command::new(BIN)
        .args(["emulator", "--port", "0", "--state", state_arg])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("error: the state file")
            && stderr.contains("in use by rtctl emulator (pid "),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");

    assert_eq!(first.interrupt().0, Some(0));
    let again = spawn(&["--state", state_arg]);
    let (_, body) = list(&again.url, "rt_test_emulator").await;
    let names: Vec<_> = body["clientTokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, ["Survivor"]);
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = Command::new(BIN)
        .args(["emulator", "--port", &port])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("could not listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: choose another --port"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["emulator", "--fault", "GET /x"][..],
        &["emulator", "--fault", "GET /x status=abc"],
        &["emulator", "--seed", "lots"],
        &["emulator", "--port", "70000"],
        &["emulator", "--latency", "-5"],
    ] {
        let output = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    }
}

#[test]
fn help_ends_with_the_exit_codes() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.trim_end()
            .ends_with("130  interrupted (Ctrl-C); 143 for SIGTERM, handled the same way"),
        "{help}"
    );
}

/// `GET path` with an explicit `Host` header; the status and the body.
async fn with_host(url: &str, path: &str, host: &str) -> (u16, Value) {
    let reply = crate::support::http()
        .get(format!("{url}{path}"))
        .header("host", host)
        .bearer_auth("rt_test_emulator")
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

/// A DNS name rebound to 127.0.0.1 reaches the emulator under a page's own origin: it answers
/// only Host values naming where it listens, and names given with --allowed-host (a dev
/// server's proxy, a container's published port).
#[tokio::test]
async fn only_hosts_naming_the_emulator_are_answered() {
    let running = spawn(&[
        "--allowed-host",
        "localhost:5173",
        "--allowed-host",
        "api.rtctl.test",
    ]);
    let port = running.url.rsplit(':').next().unwrap().to_string();
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "localhost:5173".to_string(),
        "api.rtctl.test:8443".to_string(),
    ] {
        let (status, _) = with_host(&running.url, "/v1/client-tokens", &host).await;
        assert_eq!(status, 200, "{host}");
    }
    for host in [
        format!("rebound.example:{port}"),
        "localhost:5174".to_string(),
        format!("localhost:{}", port.parse::<u16>().unwrap() + 1),
    ] {
        for path in [
            "/v1/client-tokens",
            "/__emulator/requests",
            "/v1/client/init",
        ] {
            let (status, body) = with_host(&running.url, path, &host).await;
            assert_eq!(status, 403, "{host} {path}");
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .contains("does not name this emulator"),
                "{body}"
            );
            assert!(
                body["hint"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("--allowed-host {host}")),
                "{body}"
            );
            assert_eq!(body["code"], "HOST_NOT_ANSWERED", "{body}");
        }
    }
    let (_, stderr) = running.interrupt();
    assert!(
        stderr.contains("also answers:   localhost:5173"),
        "{stderr}"
    );
    assert!(stderr.contains("403"), "refusals are logged: {stderr}");
}

#[test]
fn allowed_hosts_are_checked_when_given() {
    let output = Command::new(BIN)
        .args(["emulator", "--allowed-host", "ev il:80"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
