//! `/metrics` in the Prometheus text format: requests by route, method and
//! status with latency histograms, the database pool, the feedback intake
//! (queue depth, answers waiting for the aggregates and how long the oldest
//! has waited), and writes by kind (counted by the store).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use (one per process: every
/// server in it reports into it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0,
                    ],
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Counts every request and its duration under its route pattern (never the
/// concrete path: `/incidents/{id}`, not one series per report).
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Any token is a method: unknown ones share one series.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("valvo_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("valvo_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`. With `--metrics-token` set, only with that bearer token.
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config().metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !crate::ctx::constant_eq(given.as_bytes(), token.as_bytes()) {
            return (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
        }
    }
    let Some(handle) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not recorded\n",
        )
            .into_response();
    };
    let store = state.store();
    let pool = store.pool_stats();
    metrics::gauge!("valvo_db_pool_connections").set(f64::from(pool.size));
    metrics::gauge!("valvo_db_pool_idle").set(f64::from(pool.idle));
    metrics::gauge!("valvo_db_pool_max").set(f64::from(pool.max));
    metrics::gauge!("valvo_db_pool_in_use").set(f64::from(pool.size.saturating_sub(pool.idle)));
    match store.ingest_state().await {
        Ok(s) => {
            metrics::gauge!("valvo_feedback_ingest_queue").set(s.queued as f64);
            metrics::gauge!("valvo_feedback_pending_answers").set(s.pending as f64);
            metrics::gauge!("valvo_feedback_aggregator_lag_seconds").set(s.lag_seconds);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: intake state unavailable"),
    }
    metrics::gauge!("valvo_draining").set(if state.draining() { 1.0 } else { 0.0 });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
