//! Per-request context: language, session, CSRF, security headers.

use std::time::Instant;

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use valvo_core::access::Principal;
use valvo_core::Lang;
use valvo_store::User;

use crate::error::UiError;
use crate::i18n::Tr;
use crate::AppState;

/// Cookie holding the session secret.
pub const SESSION_COOKIE: &str = "valvo_session";
/// Cookie holding the chosen UI language.
pub const LANG_COOKIE: &str = "valvo_lang";
/// Cookie holding the login form's double-submit token.
pub const LOGIN_CSRF_COOKIE: &str = "valvo_login_csrf";

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value with our defaults.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language of a request: `?lang=`, then the cookie, then `Accept-Language`, then Finnish.
pub fn request_lang(parts: &Parts) -> Lang {
    query_param(parts.uri.query(), "lang")
        .and_then(Lang::parse)
        .or_else(|| cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse))
        .or_else(|| {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::Fi)
}

/// Everything a page handler needs to know about the request.
#[derive(Clone, Debug)]
pub struct Page {
    /// UI language.
    pub lang: Lang,
    /// Translator.
    pub tr: Tr,
    /// The logged-in user.
    pub user: Option<User>,
    /// The session's form token (empty when logged out).
    pub csrf: String,
    /// The request path (for language links and redirects).
    pub path: String,
    /// The query string without `lang` (kept by the language links).
    pub query: String,
}

impl Page {
    /// The logged-in user, or a redirect to the login page.
    pub fn require_user(&self) -> Result<&User, UiError> {
        self.user
            .as_ref()
            .ok_or_else(|| UiError::login(self.lang, &self.path))
    }

    /// The principal of the logged-in user.
    pub fn principal(&self) -> Result<Principal, UiError> {
        self.require_user().map(User::principal)
    }

    /// An error page in this page's language.
    pub fn error(&self, e: impl Into<crate::error::ErrorKind>) -> UiError {
        UiError::new(self.lang, e.into())
    }

    /// Checks a submitted form token against the session's.
    pub fn check_csrf(&self, submitted: Option<&String>) -> Result<(), UiError> {
        match submitted {
            Some(t) if !self.csrf.is_empty() && constant_eq(t.as_bytes(), self.csrf.as_bytes()) => {
                Ok(())
            }
            _ => Err(self.error(crate::error::ErrorKind::Csrf)),
        }
    }
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Page {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = request_lang(parts);
        let mut user = None;
        let mut csrf = String::new();
        if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
            match state.store().session(secret).await {
                Ok(Some(s)) => {
                    user = Some(s.user);
                    csrf = s.csrf;
                }
                Ok(None) => {}
                Err(e) => return Err(UiError::new(lang, e.into())),
            }
        }
        Ok(Page {
            lang,
            tr: Tr::new(lang),
            user,
            csrf,
            path: parts.uri.path().to_string(),
            query: parts
                .uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
                .collect::<Vec<_>>()
                .join("&"),
        })
    }
}

fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
        if origin == "null" || origin_host != host {
            return false;
        }
    }
    true
}

/// Security headers, the cross-site check on unsafe methods, the language
/// cookie for `?lang=`, and one log line per request.
pub async fn security_layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let is_api = path.starts_with("/api/");
    let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let set_lang = query_param(req.uri().query(), "lang").and_then(Lang::parse);
    let secure = state.config().cookie_secure;
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();

    let mut resp = if unsafe_method && !is_api && !same_origin(req.headers()) {
        (StatusCode::FORBIDDEN, "cross-site request refused").into_response()
    } else {
        next.run(req).await
    };

    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // A response that set its own policy (a logo, a standalone report
    // file with its styles inline) keeps it.
    if !is_api && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(lang) = set_lang {
        let c = set_cookie(LANG_COOKIE, lang.code(), Some(60 * 60 * 24 * 365), secure);
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    tracing::info!(
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        // To the microsecond: `2.151`, not `2.1508439999999998`.
        ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0,
        request_id = %request_id,
        "request"
    );
    resp
}

/// Requests without NUL characters (`%00`) in the address or a form post: no
/// text means anything with one, and PostgreSQL cannot store it, so a
/// crafted form would fail there (and only there) with a server error. A
/// form body is read here up to the forms' own limit (2 MB, 413 above it;
/// 408 when it does not arrive within the body timeout).
pub async fn forms_without_nul(req: Request, next: Next) -> Response {
    // In the address (a query parameter) it is refused outright.
    let uri = req.uri().to_string();
    if uri.contains("%00") {
        let message = "NUL characters are not accepted";
        if req.uri().path().starts_with("/api/") {
            return crate::api::ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
                .into_response();
        }
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 2 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => {
            let timed_out =
                std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
                    e.source()
                })
                .any(|e| e.is::<tower_http::timeout::TimeoutError>());
            return if timed_out {
                (
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive in time",
                )
                    .into_response()
            } else {
                (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response()
            };
        }
    };
    let has_nul = bytes.contains(&0)
        || bytes
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0');
    let bytes = if has_nul {
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == 0 {
                i += 1;
            } else if bytes[i..].starts_with(b"%00") {
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        axum::body::Bytes::from(out)
    } else {
        bytes
    };
    let mut parts = parts;
    if let Ok(v) = HeaderValue::from_str(&bytes.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, v);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// `Path` whose rejection is the localized "not found" page (`/org/abc`).
pub struct UiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for UiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(t)) => Ok(UiPath(t)),
            Err(_) => Err(UiError::new(
                request_lang(parts),
                crate::error::ErrorKind::NotFound,
            )),
        }
    }
}

/// `Query` whose rejection is a localized "bad request" page (`?year=abc`).
pub struct UiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for UiQuery<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(t)) => Ok(UiQuery(t)),
            Err(_) => Err(UiError::new(
                request_lang(parts),
                crate::error::ErrorKind::BadRequest("error-invalid"),
            )),
        }
    }
}
