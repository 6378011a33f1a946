//! Errors of the web layer: localized HTML pages for the UI.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use valvo_core::Lang;
use valvo_store::StoreError;

use crate::html::Layout;

/// What went wrong.
#[derive(Debug)]
pub enum ErrorKind {
    /// No such thing.
    NotFound,
    /// Not allowed for this user.
    Forbidden,
    /// The form's token was missing or wrong.
    Csrf,
    /// Must log in first; `next` is where to return.
    Login(String),
    /// Conflicts with existing data.
    Conflict,
    /// The request itself is malformed (the message key says how).
    BadRequest(&'static str),
    /// Too many requests from one address (public forms).
    TooManyRequests,
    /// The database does not answer for now.
    Unavailable,
    /// Our fault; logged, never shown.
    Internal,
}

impl From<StoreError> for ErrorKind {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ErrorKind::NotFound,
            StoreError::Forbidden => ErrorKind::Forbidden,
            StoreError::Conflict(_) | StoreError::Retry(_) | StoreError::AlreadySent => {
                ErrorKind::Conflict
            }
            StoreError::Invalid(_) => ErrorKind::BadRequest("error-invalid"),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                ErrorKind::Unavailable
            }
            other => {
                tracing::error!(error = %other, "store error");
                ErrorKind::Internal
            }
        }
    }
}

/// An error shown as a page in the user's language.
#[derive(Debug)]
pub struct UiError {
    lang: Lang,
    kind: ErrorKind,
    /// On a page for clients (a public form): the county's name, shown in
    /// place of the staff menu.
    client: Option<String>,
}

impl UiError {
    /// An error in `lang`.
    pub fn new(lang: Lang, kind: ErrorKind) -> Self {
        UiError {
            lang,
            kind,
            client: None,
        }
    }

    /// The error as a client's page shows it: the county's name in place of
    /// the staff menu.
    pub fn for_client(mut self, county: String) -> Self {
        self.client = Some(county);
        self
    }

    /// Redirect to the login page, returning to `next` afterwards.
    pub fn login(lang: Lang, next: &str) -> Self {
        UiError {
            lang,
            kind: ErrorKind::Login(next.to_string()),
            client: None,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    heading: String,
    message: String,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, key) = match &self.kind {
            ErrorKind::Login(next) => {
                let target = format!("/login?next={}", crate::html::url_encode(next));
                return Redirect::to(&target).into_response();
            }
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "error-not-found"),
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "error-forbidden"),
            ErrorKind::Csrf => (StatusCode::FORBIDDEN, "error-csrf"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "error-conflict"),
            ErrorKind::BadRequest(k) => (StatusCode::BAD_REQUEST, *k),
            ErrorKind::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "error-too-many"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "error-unavailable"),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "error-internal"),
        };
        let mut l = Layout::bare(self.lang);
        l.title = l.tr.t(&format!("{key}-title"));
        // Too many submissions come from public forms (and the sign-in
        // page): never the staff menu there.
        l.client = self.client.or_else(|| {
            matches!(self.kind, ErrorKind::TooManyRequests).then(|| "Valvo".to_string())
        });
        let page = ErrorPage {
            heading: l.tr.t(&format!("{key}-title")),
            message: l.tr.t(key),
            l,
        };
        let mut resp = match page.render() {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, key).into_response(),
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        resp
    }
}
