//! `--state FILE`: persistence across restarts, the lock, and corrupt files.

use std::path::Path;

use rtctl_emulator::{self as emulator, Config, Emulator, Seed, StoreError};
use serde_json::{Value, json};

use crate::support::Api;

fn persisted(path: &Path, seed: Seed) -> Config {
    Config {
        state_file: Some(path.to_path_buf()),
        seed,
        ..Config::default()
    }
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let api = Api::with(persisted(&path, Seed::None)).await;
    let created = api.create(json!({"name": "Kept"})).await;
    let id = created["clientToken"]["id"].as_str().unwrap().to_string();
    let value = created["token"].clone();
    api.put(
        &format!("/v1/client-tokens/{id}"),
        json!({"rateLimitPerHour": 7}),
    )
    .await
    .expect(200);
    api.shutdown().await;

    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file["format"], "rtctl-emulator-state");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state holds token values: owner-only");
    }

    // The seed applies to a new file only: a demo seed does not overwrite kept state.
    let api = Api::with(persisted(&path, Seed::Demo)).await;
    let tokens = api.tokens().await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["name"], "Kept");
    assert_eq!(tokens[0]["rateLimitPerHour"], 7);
    let read = api
        .get(&format!("/v1/client-tokens/{id}/token"))
        .await
        .expect(200);
    assert_eq!(read["token"], value);
    api.shutdown().await;
}

#[tokio::test]
async fn concurrent_writes_are_all_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let api = Api::with(persisted(&path, Seed::None)).await;
    let creates = (0..25).map(|i| api.create(json!({"name": format!("t{i}")})));
    futures_util::future::join_all(creates).await;
    api.shutdown().await;
    let api = Api::with(persisted(&path, Seed::None)).await;
    assert_eq!(api.tokens().await.len(), 25);
    api.shutdown().await;
}

#[tokio::test]
async fn a_second_emulator_on_the_same_file_is_refused_until_the_first_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let first = Api::with(persisted(&path, Seed::Demo)).await;
    first.get("/v1/client-tokens").await.expect(200);
    let error = Emulator::new(persisted(&path, Seed::Demo))
        .err()
        .expect("refused");
    assert!(matches!(error, StoreError::Locked { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("in use by an rtctl emulator (pid "),
        "{error}"
    );
    first.shutdown().await;
    let second = emulator::start(persisted(&path, Seed::Demo))
        .await
        .expect("lock released");
    second.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_state_file_is_a_clear_error_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    for content in [
        "{not json",
        "{\"format\": \"something-else\", \"clientTokens\": [], \"conversations\": []}",
    ] {
        std::fs::write(&path, content).unwrap();
        let error = Emulator::new(persisted(&path, Seed::Demo))
            .err()
            .expect("refused");
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        assert!(error.to_string().contains(&path.display().to_string()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    }
}
