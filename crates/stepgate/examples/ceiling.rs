//! The ceiling for the webhook benchmark (`scripts/bench-webhook.sh`): a
//! minimal axum server that answers `POST /` with the same
//! `200 {"status": "webhook submitted"}` stepgate sends, after reading the
//! body, without storing anything. Same runtime, allocator and HTTP stack
//! as `stepgate serve`, so the ratio measures what durability and routing
//! cost.
//!
//! Usage: `cargo run --release -p stepgate --example ceiling -- 127.0.0.1:0`
//! (prints `{"listen": "ADDR"}` on stdout once bound).

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn submitted(body: Bytes) -> impl IntoResponse {
    // Touch the body as the gateway does (it checks it is JSON).
    let valid = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
    (
        [(header::CONTENT_TYPE, "application/json")],
        if valid {
            r#"{"status": "webhook submitted"}"#
        } else {
            r#"{"status": "webhook failed"}"#
        },
    )
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!(r#"{{"listen": "{}"}}"#, listener.local_addr()?);
        let app = Router::new().route("/", post(submitted));
        axum::serve(listener, app).await
    })
}
