//! Valvo's web layer: the server-rendered UI (Finnish, Swedish, English), the
//! JSON API under `/api/v1` and its OpenAPI document. A thin adapter: the
//! rules live in `valvo-core`, the data in `valvo-store`.

pub use valvo_i18n as i18n;

mod api;
mod branding;
mod comparison;
mod county_lists;
mod ctx;
mod error;
mod feedback;
mod feedback_api;
mod forms;
mod html;
mod imports;
mod incident_settings;
mod incidents;
mod ombudsman;
mod openapi;
pub mod ops;
mod oversight_page;
mod plan;
mod public;
mod report_html;
mod reports;
mod sso;
mod supervision;
mod ui;
mod users;
mod users_api;

pub use report_html::{document as report_document, render_file as render_report_file, FileKind};

use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;
use valvo_store::Store;

pub use ctx::{LANG_COOKIE, SESSION_COOKIE};
pub use sso::OidcSettings;

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
    /// Proxies whose forwarding header is believed.
    pub trusted_proxies: Vec<ops::Cidr>,
    /// The header those proxies write the client's address into.
    pub forwarded_header: ops::ForwardedHeader,
    /// How long `/readyz` answers 503 before the listener closes on the
    /// shutdown signal, so the load balancer stops sending traffic first.
    pub drain_delay: std::time::Duration,
    /// How long a client may take to send a request's headers.
    pub header_timeout: std::time::Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: std::time::Duration,
    /// How long requests under way may take to finish after the shutdown signal.
    pub shutdown_grace: std::time::Duration,
    /// Report files (PDF) rendered at once; more requests wait their turn.
    pub render_concurrency: usize,
    /// A bearer token `/metrics` asks for; open without one.
    pub metrics_token: Option<String>,
    /// Sign-in through the county's identity provider, when configured.
    pub oidc: Option<OidcSettings>,
    /// Whether e-mail and password sign-in is offered.
    pub password_login: bool,
    /// Notifications by e-mail, when an SMTP server is configured.
    pub mail: Option<ops::mailer::MailSettings>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            cookie_secure: true,
            public_rate_limit: 20,
            deadlines: valvo_core::incident::DeadlinePolicy::default(),
            login_rate_limit: 20,
            public_url: None,
            trusted_proxies: Vec::new(),
            forwarded_header: ops::ForwardedHeader::default(),
            drain_delay: std::time::Duration::ZERO,
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
            shutdown_grace: std::time::Duration::from_secs(20),
            render_concurrency: 1,
            metrics_token: None,
            oidc: None,
            password_login: true,
            mail: None,
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
    /// Failed logins and public writes per client address.
    limits: ops::limits::Limits,
    /// Set on the shutdown signal: `/readyz` answers 503.
    draining: std::sync::atomic::AtomicBool,
    /// Report renders at once.
    renders: Arc<tokio::sync::Semaphore>,
    /// The identity provider, when sign-in through it is configured.
    oidc: Option<sso::Oidc>,
    /// The API's request schemas, compiled.
    schemas: openapi::Schemas,
}

impl AppState {
    /// State over a store.
    pub fn new(store: Store, config: WebConfig) -> Self {
        let renders = Arc::new(tokio::sync::Semaphore::new(
            config.render_concurrency.max(1),
        ));
        let oidc = config.oidc.clone().and_then(|s| {
            sso::Oidc::new(s)
                .map_err(|e| tracing::error!(error = %e, "single sign-on is off"))
                .ok()
        });
        AppState {
            inner: Arc::new(Inner {
                oidc,
                store,
                config,
                limits: ops::limits::Limits::default(),
                draining: std::sync::atomic::AtomicBool::new(false),
                renders,
                schemas: Default::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The API's request schemas.
    pub(crate) fn schemas(&self) -> &openapi::Schemas {
        &self.inner.schemas
    }

    /// The identity provider, when configured.
    pub(crate) fn oidc(&self) -> Option<&sso::Oidc> {
        self.inner.oidc.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    /// Whether the server is draining for a shutdown.
    pub fn draining(&self) -> bool {
        self.inner
            .draining
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Marks the server as draining (`/readyz` then answers 503).
    pub fn start_draining(&self) {
        self.inner
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// A turn to render a report file (see [`WebConfig::render_concurrency`]),
    /// to be held by the render itself.
    pub(crate) async fn render_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.renders.clone().acquire_owned().await.ok()
    }

    async fn limit_count(
        &self,
        bucket: ops::limits::Bucket,
        ip: std::net::IpAddr,
        window: i64,
        add: i64,
    ) -> i64 {
        match self
            .inner
            .limits
            .count(&self.inner.store, bucket, ip, window, add)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                // The write that follows fails on its own if the database is down.
                tracing::error!(error = %e, "rate limit not counted");
                0
            }
        }
    }

    /// Counts a public write from `ip`; false when the address is over its limit.
    pub async fn allow_public_write(&self, ip: std::net::IpAddr) -> bool {
        let window = ops::limits::window_now();
        self.limit_count(ops::limits::Bucket::PublicWrite, ip, window, 1)
            .await
            <= i64::from(self.inner.config.public_rate_limit)
    }

    /// Counts a login attempt from `ip` before its password is checked;
    /// `None` when the address has used up its attempts (then the password
    /// is not checked at all), else the window it was counted in. Attempts
    /// at once are counted at once, on every instance.
    pub async fn login_attempt(&self, ip: std::net::IpAddr) -> Option<i64> {
        let window = ops::limits::window_now();
        (self
            .limit_count(ops::limits::Bucket::Login, ip, window, 1)
            .await
            <= i64::from(self.inner.config.login_rate_limit))
        .then_some(window)
    }

    /// Takes back the attempt of a login that succeeded, in the window it
    /// was counted in: only failures use up the limit.
    pub async fn login_succeeded(&self, ip: std::net::IpAddr, window: i64) {
        self.limit_count(ops::limits::Bucket::Login, ip, window, -1)
            .await;
    }
}

/// The whole application as a router.
pub fn app(state: AppState) -> Router {
    // Counters recorded from the first request on.
    ops::metrics::handle();
    let api = Router::new()
        .route(
            "/org-units",
            get(api::org_units).post(plan::api::create_org_unit),
        )
        .route(
            "/org-units/{id}",
            get(plan::api::get_org_unit)
                .patch(plan::api::patch_org_unit)
                .delete(plan::api::delete_org_unit),
        )
        .route("/org-units/{id}/plan/{year}", get(api::plan))
        .route("/goals", post(plan::api::create_goal))
        .route(
            "/goals/{id}",
            get(plan::api::get_goal)
                .patch(plan::api::patch_goal)
                .delete(plan::api::delete_goal),
        )
        .route("/actions", post(plan::api::create_action))
        .route(
            "/actions/{id}",
            get(plan::api::get_action)
                .patch(plan::api::patch_action)
                .delete(plan::api::delete_action),
        )
        .route(
            "/indicators",
            get(api::indicators).post(plan::api::create_indicator),
        )
        .route(
            "/indicators/{id}",
            get(api::indicator)
                .patch(plan::api::patch_indicator)
                .delete(plan::api::delete_indicator),
        )
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
        .route("/feedback/import", post(imports::feedback))
        .route("/incidents/import", post(imports::incidents))
        .route("/ombudsman/import", post(imports::ombudsman))
        .route("/imports/{id}", get(imports::get))
        .route("/imports/{id}/apply", post(imports::apply))
        .route("/follow-ups/import", post(imports::figures))
        .route("/reference/sotkanet", post(imports::sotkanet))
        .route(
            "/branding/{root}",
            get(branding::api_get).put(branding::api_put),
        )
        .route("/users", get(users_api::list).post(users_api::create))
        .route("/users/{id}", get(users_api::get).patch(users_api::patch))
        .route(
            "/users/{id}/password-reset",
            post(users_api::reset_password),
        )
        .route(
            "/tokens",
            get(users_api::tokens).post(users_api::create_token),
        )
        .route(
            "/tokens/{id}",
            axum::routing::delete(users_api::revoke_token),
        )
        .route("/feedback/stats", get(feedback_api::stats))
        .route("/feedback/comparison", get(feedback_api::comparison))
        .route(
            "/feedback/comparison/{service_type}",
            get(feedback_api::comparison_of_service),
        )
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
        .merge(ombudsman::api_routes())
        .merge(supervision::api_routes())
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn(api::contract));

    Router::new()
        .route("/", get(ui::home))
        .route("/healthz", get(ops::health::healthz))
        .route("/readyz", get(ops::health::readyz))
        .route("/metrics", get(ops::metrics::page))
        .route("/static/style.css", get(html::stylesheet))
        .route("/static/fonts/{file}", get(html::font))
        .route("/accessibility", get(ui::accessibility))
        .route("/branding/logo/{sha256}", get(branding::logo))
        .route("/branding/colour/{file}", get(branding::colour_css))
        .route("/settings/branding", get(branding::index))
        .route(
            "/settings/branding/{root}",
            get(branding::edit)
                .post(branding::save)
                .layer(axum::extract::DefaultBodyLimit::max(branding::MAX_UPLOAD)),
        )
        .route("/login", get(ui::login_page).post(ui::login))
        .route("/logout", post(ui::logout))
        .route("/login/sso", get(sso::start))
        .route("/users", get(users::list))
        .route("/users/new", get(users::new_form).post(users::create))
        .route("/users/{id}", get(users::show))
        .route("/users/{id}/role", post(users::set_role))
        .route("/users/{id}/active", post(users::set_active))
        .route("/users/{id}/password", post(users::reset_password))
        .route("/account", get(users::account))
        .route("/account/tokens", post(users::create_token))
        .route("/account/notify", post(users::set_notify))
        .route("/tokens/{id}/revoke", post(users::revoke_token))
        .route(
            "/password/{link}",
            get(users::password_page).post(users::password_set),
        )
        .route("/login/sso/callback", get(sso::callback))
        .route(
            "/imports",
            get(imports::list)
                .post(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(imports::MAX_UPLOAD)),
        )
        .route("/imports/{id}", get(imports::show))
        .route("/imports/{id}/apply", post(imports::apply_page))
        .route("/org/new", get(ui::org_root_new).post(ui::org_root_create))
        .route("/org/{id}", get(ui::org_page))
        .route("/org/{id}/edit", get(ui::org_edit).post(ui::org_update))
        .route("/org/{id}/units/new", get(ui::org_new).post(ui::org_create))
        .route("/org/{id}/plan/{year}", get(ui::plan_page))
        .route(
            "/org/{id}/figures",
            get(plan::entry::entry).post(plan::entry::entry_save),
        )
        .route(
            "/org/{id}/figures/template.xlsx",
            get(plan::entry::template),
        )
        .route("/figures", get(plan::entry::overview))
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
        .route("/indicators/{id}/remove", post(ui::indicator_remove))
        .route("/indicators/{id}/restore", post(ui::indicator_restore))
        .route("/goals/{id}/delete", post(ui::goal_delete))
        .route("/org/{id}/delete", post(ui::org_delete))
        .route("/actions/{id}/delete", post(ui::action_delete))
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
        .route(
            "/receipt",
            get(incidents::receipt).post(incidents::receipt_lookup),
        )
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
        .route("/feedback/{code}/thanks", get(feedback::answer_thanks))
        .route("/org/{id}/feedback", get(feedback::stats))
        .route("/org/{id}/feedback/export.csv", get(feedback::export))
        .route(
            "/org/{id}/feedback/cases/new",
            get(feedback::case_new).post(feedback::case_create),
        )
        .route("/public/org/{code}/feedback", get(feedback::public_stats))
        .route("/public/comparison", get(comparison::page))
        .route("/public", get(public::index))
        .route("/public/{code}", get(public::county))
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
        .merge(ombudsman::page_routes())
        .merge(supervision::page_routes())
        .route("/api/openapi.json", get(openapi::document))
        .nest("/api/v1", api)
        .fallback(ui::not_found)
        .layer(axum::middleware::from_fn(ctx::forms_without_nul))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ctx::security_layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::client_ip::layer,
        ))
        .layer(axum::middleware::from_fn(ops::metrics::track))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.config().body_timeout,
        ))
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .with_state(state)
}

pub use ops::serve;
