//! TLS set-up. reqwest is built with rustls but without a crypto provider of its own, and we
//! install `ring`: it builds in seconds, where the default aws-lc-rs takes minutes on a small
//! machine and needs cmake.

/// Installs `ring` as the process's rustls provider; later calls are no-ops.
pub fn install_crypto_provider() {
    // Fails only when a provider is already installed, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
