//! Supervision visits: the API and the pages.

pub(crate) mod api;
pub(crate) mod ui;

use axum::routing::{get, post, put};
use axum::Router;

use crate::AppState;

/// The API routes (under `/api/v1`).
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/supervision/visits", post(api::create_visit))
        .route("/supervision/visits/{id}", get(api::visit))
        .route("/supervision/visits/{id}/avi", post(api::avi_sent))
        .route(
            "/supervision/findings/{id}/correction",
            post(api::correction),
        )
        .route("/supervision/stats", get(api::stats))
        .route("/supervision/topics", get(api::topics))
        .route("/supervision/topics/{code}", put(api::put_topic))
}

/// The pages.
pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/supervision", get(ui::page).post(ui::record))
        .route(
            "/supervision/visits/{id}",
            get(ui::visit_page).post(ui::visit_update),
        )
        .route("/org/{id}/supervision", get(ui::stats_page))
        .route("/supervision/visits/{id}/{file}", get(ui::report_pdf))
}
