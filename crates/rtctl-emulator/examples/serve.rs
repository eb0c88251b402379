//! Starts an emulator on a loopback port, lists its demo tokens over HTTP as any client
//! would, and stops it: `cargo run -p rtctl-emulator --example serve`.

use rtctl_emulator::{Config, DEFAULT_API_KEY, Seed};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = rtctl_emulator::start(Config {
        seed: Seed::Demo,
        ..Config::default()
    })
    .await?;
    // Only needed inside rtctl's workspace, where reqwest's rustls has no provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let reply: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/client-tokens", emulator.url()))
        .bearer_auth(DEFAULT_API_KEY)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    for token in reply["clientTokens"].as_array().into_iter().flatten() {
        println!("{}\t{}", token["id"], token["name"]);
    }
    emulator.shutdown().await;
    Ok(())
}
