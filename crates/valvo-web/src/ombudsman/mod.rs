//! Ombudsperson contacts: the API and the pages.

pub(crate) mod api;
pub(crate) mod ui;

use axum::routing::{get, put};
use axum::Router;

use crate::AppState;

/// The API routes (under `/api/v1`).
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ombudsman/contacts",
            get(api::contacts).post(api::create_contact),
        )
        .route("/ombudsman/stats", get(api::stats))
        .route("/ombudsman/reasons", get(api::reasons))
        .route("/ombudsman/reasons/{code}", put(api::put_reason))
}

/// The pages.
pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/ombudsman", get(ui::page).post(ui::record))
        .route("/org/{id}/ombudsman", get(ui::stats_page))
        .route("/public/org/{code}/ombudsman", get(ui::public_stats))
        .route(
            "/org/{id}/ombudsman/annual/{year}",
            get(ui::annual_page).post(ui::annual_save),
        )
        .route(
            "/org/{id}/ombudsman/annual/{year}/{file}",
            get(ui::annual_pdf),
        )
}
