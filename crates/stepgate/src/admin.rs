//! The admin address: the AWS-compatible API plus `/healthz`, `/readyz` and
//! `/metrics`, behind `server.admin_token` when one is set.
//!
//! Owns what is served next to the API and how the admin address is
//! protected; the API itself is the `api` crate's, the metrics are recorded
//! where things happen (`gateway`, `engine`). It must not serve webhook
//! routes: those live on `server.listen`, so the admin address can stay
//! private.
//!
//! - `/healthz`: the process answers (liveness; never touches the store).
//! - `/readyz`: the store answers a real round trip ([`store::Store::ping`]),
//!   503 with the reason otherwise (readiness: take the node out of a load
//!   balancer).
//! - `/metrics`: Prometheus text format.
//!
//! With a token, every request but `/healthz` and `/readyz` (probes carry no
//! credentials) needs `Authorization: Bearer <token>`; the comparison takes
//! the same time wherever the first difference is.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use engine::scheduler::Engine;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use store::Store;

/// Latency buckets (seconds) for every `*_seconds` histogram: webhook
/// acknowledgements are expected in the sub-millisecond to tens of
/// milliseconds range; the tail buckets catch a stalled disk.
const SECONDS_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's Prometheus recorder, installed once (the `metrics` crate
/// has one global recorder) on first use.
pub(crate) fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .map_err(|e| tracing::warn!(error = %e, "metrics buckets rejected"))
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    // Histograms are drained into their buckets by upkeep;
                    // without it they would grow until rendered.
                    let upkeep = handle.clone();
                    std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(Duration::from_secs(5));
                                upkeep.run_upkeep();
                            }
                        })
                        .ok()?;
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot install the metrics recorder; /metrics is off");
                    None
                }
            }
        })
        .clone()
}

struct Admin<S: Store> {
    engine: Engine<S>,
    metrics: Option<PrometheusHandle>,
}

/// The admin router over `engine`: API + health + metrics, with `token`
/// required when given.
pub(crate) fn router<S: Store>(engine: Engine<S>, token: Option<String>) -> Router {
    let admin = Arc::new(Admin {
        engine: engine.clone(),
        metrics: metrics_handle(),
    });
    let protected = Router::new()
        .route("/metrics", get(metrics::<S>))
        .with_state(Arc::clone(&admin))
        .merge(api::router(engine));
    let protected = match token {
        Some(token) => protected.layer(middleware::from_fn_with_state(
            Arc::new(token),
            require_token,
        )),
        None => protected,
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
        .with_state(admin)
        .merge(protected)
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn readyz<S: Store>(State(admin): State<Arc<Admin<S>>>) -> Response {
    // A probe must answer even when the store hangs.
    match tokio::time::timeout(Duration::from_secs(2), admin.engine.store().ping()).await {
        Ok(Ok(())) => axum::Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => not_ready(format!("the store does not answer: {e}")),
        Err(_) => not_ready("the store did not answer within 2 s".to_owned()),
    }
}

fn not_ready(message: String) -> Response {
    tracing::warn!(reason = %message, "not ready");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({ "status": "not ready", "message": message })),
    )
        .into_response()
}

async fn metrics<S: Store>(State(admin): State<Arc<Admin<S>>>) -> Response {
    match &admin.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unavailable", "message": "the metrics recorder could not be installed (see the log at start-up)" })),
        )
            .into_response(),
    }
}

async fn require_token(State(token): State<Arc<String>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(p) if constant_time_eq(p.as_bytes(), token.as_bytes()) => next.run(request).await,
        Some(_) => refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the admin token is wrong",
        ),
        None => refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin address needs `Authorization: Bearer <server.admin_token>`",
        ),
    }
}

fn refuse(status: StatusCode, label: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "status": label, "message": message })),
    )
        .into_response()
}

/// Equality whose time does not depend on where the inputs differ (a
/// token compared byte by byte with early exit leaks its prefix).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(constant_time_eq(b"", b""));
    }
}
