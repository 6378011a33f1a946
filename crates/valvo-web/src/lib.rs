//! Valvo's web layer: the server-rendered UI (Finnish, Swedish, English), the
//! JSON API under `/api/v1` and its OpenAPI document. A thin adapter: the
//! rules live in `valvo-core`, the data in `valvo-store`.

pub use valvo_i18n as i18n;

mod api;
mod ctx;
mod error;
mod feedback;
mod feedback_api;
mod forms;
mod html;
mod incident_settings;
mod incidents;
mod openapi;
mod public;
mod report_html;
mod reports;
mod ui;

pub use report_html::{document as report_document, render_file as render_report_file, FileKind};

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;
use tokio::net::TcpListener;
use valvo_store::Store;

pub use ctx::{LANG_COOKIE, SESSION_COOKIE};

/// Settings of the web layer.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Mark cookies `Secure` (off only for plain-HTTP local use).
    pub cookie_secure: bool,
    /// Public writes (reports, receipt look-ups) allowed per client address per 10 minutes.
    pub public_rate_limit: u32,
    /// Handling deadlines of incident reports.
    pub deadlines: valvo_core::incident::DeadlinePolicy,
    /// Failed logins allowed per client address per 10 minutes.
    pub login_rate_limit: u32,
    /// The public address of the service (e.g. `https://valvo.example.fi`),
    /// printed in QR codes and invitation links; else taken from the request.
    pub public_url: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            cookie_secure: true,
            public_rate_limit: 20,
            deadlines: valvo_core::incident::DeadlinePolicy::default(),
            login_rate_limit: 20,
            public_url: None,
        }
    }
}

/// What every handler gets.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    config: WebConfig,
    /// Public writes per client address.
    public_writes: RateLimiter,
    /// Failed logins per client address.
    failed_logins: RateLimiter,
}

/// Counts events per client address in a ten-minute window, in memory only.
#[derive(Debug, Default)]
struct RateLimiter {
    map: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (std::time::Instant, u32)>>,
}

impl RateLimiter {
    const WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

    /// Adds `add` events from `ip` and returns the count in the current window.
    fn count(&self, ip: std::net::IpAddr, add: u32) -> u32 {
        let now = std::time::Instant::now();
        let Ok(mut map) = self.map.lock() else {
            return u32::MAX;
        };
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < Self::WINDOW);
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Self::WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(add);
        entry.1
    }
}

impl AppState {
    /// State over a store.
    pub fn new(store: Store, config: WebConfig) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store,
                config,
                public_writes: RateLimiter::default(),
                failed_logins: RateLimiter::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    /// Counts a public write from `ip`; false when the address is over its limit.
    pub fn allow_public_write(&self, ip: std::net::IpAddr) -> bool {
        self.inner.public_writes.count(ip, 1) <= self.inner.config.public_rate_limit
    }

    /// Whether `ip` has failed to log in too often in the last ten minutes.
    pub fn login_blocked(&self, ip: std::net::IpAddr) -> bool {
        self.inner.failed_logins.count(ip, 0) >= self.inner.config.login_rate_limit
    }

    /// Records a failed login from `ip`.
    pub fn login_failed(&self, ip: std::net::IpAddr) {
        self.inner.failed_logins.count(ip, 1);
    }
}

/// The whole application as a router.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/org-units", get(api::org_units))
        .route("/org-units/{id}/plan/{year}", get(api::plan))
        .route("/indicators", get(api::indicators))
        .route("/indicators/{id}", get(api::indicator))
        .route("/indicators/{id}/follow-ups", get(api::follow_ups))
        .route(
            "/indicators/{id}/follow-ups/{period}",
            put(api::put_follow_up).get(api::follow_up),
        )
        .route("/audit", get(api::audit))
        .route("/incidents", post(api::create_incident))
        .route("/incidents/stats", get(api::incident_stats))
        .route(
            "/incidents/event-types",
            get(api::incidents::event_types).post(api::incidents::create_event_type),
        )
        .route(
            "/incidents/event-types/{code}",
            put(api::incidents::update_event_type),
        )
        .route(
            "/org-units/{id}/incident-handlers",
            get(api::incidents::handlers).put(api::incidents::set_handlers),
        )
        .route("/incidents/{id}", get(api::incident))
        .route("/incidents/{id}/handling", post(api::handle_incident))
        .route("/incidents/{id}/actions", post(api::incident_action))
        .route("/feedback/answers", post(feedback_api::submit))
        .route("/feedback/invitations", post(feedback_api::invitations))
        .route("/feedback/import", post(feedback_api::import))
        .route("/feedback/stats", get(feedback_api::stats))
        .route("/feedback/export", get(feedback_api::export))
        .route("/feedback/survey", get(feedback_api::survey))
        .route(
            "/feedback/cases",
            get(feedback_api::cases).post(feedback_api::create_case),
        )
        .route(
            "/feedback/cases/{id}",
            get(feedback_api::case).post(feedback_api::update_case),
        )
        .fallback(api::not_found);

    Router::new()
        .route("/", get(ui::home))
        .route("/healthz", get(health))
        .route("/static/style.css", get(html::stylesheet))
        .route("/accessibility", get(ui::accessibility))
        .route("/login", get(ui::login_page).post(ui::login))
        .route("/logout", post(ui::logout))
        .route("/org/new", get(ui::org_root_new).post(ui::org_root_create))
        .route("/org/{id}", get(ui::org_page))
        .route("/org/{id}/edit", get(ui::org_edit).post(ui::org_update))
        .route("/org/{id}/units/new", get(ui::org_new).post(ui::org_create))
        .route("/org/{id}/plan/{year}", get(ui::plan_page))
        .route("/org/{id}/plan/{year}/bilingual", get(ui::bilingual_page))
        .route(
            "/org/{id}/goals/new",
            get(ui::goal_new).post(ui::goal_create),
        )
        .route("/goals/{id}/edit", get(ui::goal_edit).post(ui::goal_update))
        .route(
            "/goals/{id}/indicators/new",
            get(ui::indicator_new).post(ui::indicator_create),
        )
        .route("/indicators/{id}", get(ui::indicator_page))
        .route(
            "/indicators/{id}/edit",
            get(ui::indicator_edit).post(ui::indicator_update),
        )
        .route(
            "/indicators/{id}/follow-up",
            get(ui::follow_up_form).post(ui::follow_up_save),
        )
        .route(
            "/goals/{id}/actions/new",
            get(ui::action_new).post(ui::action_create),
        )
        .route(
            "/actions/{id}/edit",
            get(ui::action_edit).post(ui::action_update),
        )
        .route(
            "/goals/{id}/review",
            get(ui::review_form).post(ui::review_save),
        )
        .route("/audit", get(ui::audit_page))
        .route(
            "/org/{id}/reports",
            get(reports::reports_page).post(reports::report_open),
        )
        .route("/reports/{id}", get(reports::report_page))
        .route("/reports/{id}/step", post(reports::report_step))
        .route(
            "/reports/{id}/new-version",
            post(reports::report_new_version),
        )
        .route(
            "/reports/{id}/inputs",
            get(reports::inputs_page).post(reports::inputs_save),
        )
        .route("/reports/{id}/file/{name}", get(reports::report_file))
        .route("/incidents", get(incidents::queue))
        .route(
            "/incidents/new",
            get(incidents::new_form).post(incidents::create_staff),
        )
        .route("/incidents/settings", get(incident_settings::settings))
        .route(
            "/incidents/event-types/new",
            get(incident_settings::type_new).post(incident_settings::type_create),
        )
        .route(
            "/incidents/event-types/{code}/edit",
            get(incident_settings::type_edit).post(incident_settings::type_update),
        )
        .route(
            "/incidents/event-types/{code}/delete",
            post(incident_settings::type_delete),
        )
        .route(
            "/incidents/handlers/{id}",
            get(incident_settings::handlers_page).post(incident_settings::handlers_save),
        )
        .route("/incidents/{id}", get(incidents::detail))
        .route("/incidents/{id}/handling", post(incidents::handle))
        .route("/incidents/{id}/actions", post(incidents::add_action))
        .route("/org/{id}/incidents", get(incidents::stats))
        .route(
            "/report/{code}",
            get(incidents::public_form).post(incidents::public_create),
        )
        .route("/receipt", get(incidents::receipt))
        .route("/public/org/{code}/incidents", get(incidents::public_stats))
        .route("/feedback/cases", get(feedback::queue))
        .route(
            "/feedback/cases/{id}",
            get(feedback::case).post(feedback::case_update),
        )
        .route(
            "/feedback/survey",
            get(feedback::survey_view).post(feedback::survey_add),
        )
        .route(
            "/feedback/i/{token}",
            get(feedback::invitation_form).post(feedback::invitation_submit),
        )
        .route("/feedback/{code}/qr.svg", get(feedback::qr))
        .route("/feedback/{code}/poster", get(feedback::poster))
        .route(
            "/feedback/{code}",
            get(feedback::answer_form).post(feedback::answer_submit),
        )
        .route("/org/{id}/feedback", get(feedback::stats))
        .route("/org/{id}/feedback/export.csv", get(feedback::export))
        .route(
            "/org/{id}/feedback/cases/new",
            get(feedback::case_new).post(feedback::case_create),
        )
        .route("/public/org/{code}/feedback", get(feedback::public_stats))
        .route("/public", get(public::index))
        .route("/public/org/{code}", get(public::org))
        .route("/public/org/{code}/plan/{year}", get(public::plan))
        .route(
            "/public/org/{code}/plan/{year}/bilingual",
            get(public::plan_bilingual),
        )
        .route(
            "/public/org/{code}/reports/{period}",
            get(public::report_latest),
        )
        .route(
            "/public/org/{code}/reports/{period}/{version}",
            get(public::report_version),
        )
        .route(
            "/public/org/{code}/reports/{period}/{version}/{file}",
            get(public::report_file),
        )
        .route("/api/openapi.json", get(openapi::document))
        .nest("/api/v1", api)
        .fallback(ui::not_found)
        .layer(axum::middleware::from_fn(ctx::security_layer))
        .with_state(state)
}

async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    match state.store().ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable",
            )
        }
    }
}

/// Serves the app on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?addr, "listening");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
