//! Small servers that answer what a test tells them to: a proxy's HTML, an envelope the
//! emulator never sends, replies crafted to mislead. They run on the harness's runtime, on
//! loopback port 0.

use axum::Router;
use tokio::net::TcpListener;

use crate::harness::Server;

impl Server {
    /// Serves `router` on a loopback port for as long as the server's runtime lives, and
    /// returns its base URL.
    pub fn hostile(&self, router: Router) -> String {
        self.runtime.block_on(async {
            let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
            url
        })
    }
}
