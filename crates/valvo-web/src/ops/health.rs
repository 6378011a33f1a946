//! `/healthz` (the process answers) and `/readyz` (send it traffic: the
//! database answers within two seconds, every migration is applied, and the
//! instance is not draining for a shutdown).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: alive. Does not touch the database, so a database outage
/// does not make a load balancer restart every instance.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 `{"status":"ready"}`, or 503 with what is wrong.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let unavailable = |reason: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": reason })),
        )
    };
    if state.draining() {
        return unavailable("draining");
    }
    match tokio::time::timeout(READY_TIMEOUT, state.store().ready()).await {
        Ok(Ok(true)) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(Ok(false)) => unavailable("migrations_pending"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database error");
            unavailable("database_unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer within 2 s");
            unavailable("database_unavailable")
        }
    }
}
