//! The JSON API under `/api/v1`, authenticated with bearer tokens.
//! Errors are `{"error": {"code": "...", "message": "...", "fields": [...]}}`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use valvo_core::access::Principal;
use valvo_core::plan::{ErrorCode, FieldError, FollowUpInput};
use valvo_core::{I18nText, OrgTree, Period};
use valvo_store::{FollowUp, Indicator, StoreError};

use crate::AppState;

#[path = "api_incidents.rs"]
pub mod incidents;

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Vec<FieldError>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Fields that break a rule: 422, also when what a field names does not
    /// exist (`not_found`: the request's own resource, its path, was found;
    /// 404 is kept for that); 409 when the state does not allow it (every
    /// field `state_conflict`), so a well-formed request is never told it is
    /// malformed.
    pub(crate) fn invalid(fields: Vec<FieldError>) -> Self {
        let names: Vec<String> = fields
            .iter()
            .map(|f| format!("{} ({})", f.field, f.code.code()))
            .collect();
        let of_state =
            !fields.is_empty() && fields.iter().all(|f| f.code == ErrorCode::StateConflict);
        let (status, code, what) = if of_state {
            (StatusCode::CONFLICT, "conflict", "not possible now")
        } else {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                "invalid fields",
            )
        };
        ApiError {
            status,
            code,
            message: format!("{what}: {}", names.join(", ")),
            fields,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
            }
            StoreError::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "not allowed for this user",
            ),
            StoreError::Conflict(m) | StoreError::Retry(m) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", m)
            }
            StoreError::AlreadySent => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "sent already")
            }
            StoreError::Invalid(f) => ApiError::invalid(f),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database does not answer for now; try again shortly",
                )
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message, "fields": self.fields } })),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            if let Ok(v) = "Bearer realm=\"valvo\"".parse() {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A request body of the media type the operation takes (415 otherwise):
/// CSV for the answer import (`text/csv`, `text/plain` or none given),
/// JSON (`application/json`) everywhere else. Read after the caller is
/// known, so an unauthenticated request is told 401 first.
pub struct ApiBody(pub axum::body::Bytes);

impl axum::extract::FromRequest<AppState> for ApiBody {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let wanted = body_type(req.uri().path());
        let method = req.method().as_str().to_owned();
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(|m| m.as_str().to_owned());
        let given = media_type(req.headers());
        let ok = match wanted {
            "text/csv" => matches!(given.as_deref(), None | Some("text/csv" | "text/plain")),
            _ => {
                given.as_deref() == Some(wanted)
                    || given
                        .as_deref()
                        .is_some_and(|g| g.starts_with("application/") && g.ends_with("+json"))
            }
        };
        if !ok && has_body(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("the body must be {wanted}"),
            )
            .into_response());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                ApiError::new(
                    e.status(),
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        "payload_too_large"
                    } else {
                        "invalid_body"
                    },
                    e.body_text(),
                )
                .into_response()
            })?;
        // The documented schema of the operation is the contract: types,
        // required fields and limits are checked before a handler reads it.
        if wanted == "application/json" {
            if let Some(route) = route {
                let mut value = json_body(&bytes).map_err(IntoResponse::into_response)?;
                let errors = crate::openapi::check_body(state, &method, &route, &value).await;
                if !errors.is_empty() {
                    return Err(ApiError::invalid(errors).into_response());
                }
                if strip_nul(&mut value) {
                    return Ok(ApiBody(axum::body::Bytes::from(value.to_string())));
                }
            }
        } else if bytes.contains(&0) {
            let clean: Vec<u8> = bytes.iter().copied().filter(|b| *b != 0).collect();
            return Ok(ApiBody(axum::body::Bytes::from(clean)));
        }
        Ok(ApiBody(bytes))
    }
}

/// Removes NUL characters from every string (and key) of a JSON value; true
/// when there were any. No text means anything with one, and PostgreSQL
/// cannot store it: a NUL would otherwise fail the write there, and only there.
pub(crate) fn strip_nul(v: &mut Value) -> bool {
    match v {
        Value::String(s) if s.contains('\0') => {
            s.retain(|c| c != '\0');
            true
        }
        Value::Array(a) => a.iter_mut().fold(false, |acc, x| strip_nul(x) | acc),
        Value::Object(o) => {
            let mut changed = false;
            if o.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(o);
                for (k, x) in old {
                    o.insert(k.replace('\0', ""), x);
                }
                changed = true;
            }
            o.values_mut().fold(changed, |acc, x| strip_nul(x) | acc)
        }
        _ => false,
    }
}

/// The media type a request body to `path` must have: CSV for the answer
/// import, JSON everywhere else.
fn body_type(path: &str) -> &'static str {
    if path.ends_with("/import") {
        "text/csv"
    } else {
        "application/json"
    }
}

pub(crate) fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

fn has_body(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

/// The API's contract at its edge: every error answer is JSON of the
/// documented shape, also those that axum itself gives (405 for a method a
/// path does not take, 413 for a body over the limit).
pub async fn contract(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = media_type(resp.headers()).as_deref() == Some("application/json");
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::BAD_REQUEST => "bad_request",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let allow = resp.headers().get(header::ALLOW).cloned();
    let body = axum::body::to_bytes(resp.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if body.is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        body
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

/// `Path` whose rejection is a JSON error.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(t)) => Ok(ApiPath(t)),
            // An id that is not a number (or too large to be one) names no resource.
            Err(e) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                e.body_text(),
            )),
        }
    }
}

/// `Query` whose rejection is a JSON error.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(t)) => Ok(ApiQuery(t)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                e.body_text(),
            )),
        }
    }
}

/// The caller, from `Authorization: Bearer <token>`.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer_caller(state, &parts.headers, &parts.method).await? {
            Some(p) => Ok(Caller(p)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a bearer token is required",
            )),
        }
    }
}

/// The caller of `Authorization: Bearer <token>`, if the header is given:
/// 401 for a token that is unknown, revoked or expired (or whose user is
/// deactivated), read at every request from the database, so a revocation
/// holds at once on every instance; 403 for a read-only token on anything
/// but a read.
/// The bearer token of a request's `Authorization` header, if any.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

pub(crate) async fn bearer_caller(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    method: &axum::http::Method,
) -> ApiResult<Option<Principal>> {
    let Some(token) = bearer_token(headers) else {
        return Ok(None);
    };
    match state.store().token_caller(token).await? {
        Some(c)
            if c.read_only
                && !(method == axum::http::Method::GET || method == axum::http::Method::HEAD) =>
        {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "read_only_token",
                "this token only reads",
            ))
        }
        Some(c) => Ok(Some(c.principal)),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown, revoked or expired token",
        )),
    }
}

pub(crate) async fn readable(state: &AppState, p: &Principal, org: i64) -> ApiResult<Arc<OrgTree>> {
    allowed_unit(state, org, |tree| p.can_read(tree, org)).await
}

/// The org tree, if `org` exists (404) and `allowed` says yes (403).
async fn allowed_unit(
    state: &AppState,
    org: i64,
    allowed: impl FnOnce(&OrgTree) -> bool,
) -> ApiResult<Arc<OrgTree>> {
    let tree = state.store().org_tree().await?;
    if tree.get(org).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("org unit {org} does not exist"),
        ));
    }
    if !allowed(&tree) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("org unit {org} is outside your scope"),
        ));
    }
    Ok(tree)
}

/// The org tree, if `p` may read the statistics of `org` beyond the public
/// ones (also the national role, which reads nothing else).
pub(crate) async fn statistics_readable(
    state: &AppState,
    p: &Principal,
    org: i64,
) -> ApiResult<Arc<OrgTree>> {
    allowed_unit(state, org, |tree| p.can_read_statistics(tree, org)).await
}

pub(crate) fn parse_period(raw: &str) -> ApiResult<Period> {
    raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_period",
            format!("unknown period {raw:?}: use 2024-03, 2024Q1, 2024T1, 2024H1 or 2024"),
        )
    })
}

/// Fallback inside `/api`.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

#[derive(Serialize)]
struct OrgUnitOut {
    id: i64,
    parent_id: Option<i64>,
    code: String,
    name: I18nText,
    producer: valvo_core::ProducerType,
    /// Its own service type (`null`: that of the unit above).
    service_type: Option<valvo_core::ServiceType>,
}

/// `GET /api/v1/org-units`
pub async fn org_units(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<Json<Value>> {
    let tree = state.store().org_tree().await?;
    let list: Vec<OrgUnitOut> = tree
        .walk()
        .into_iter()
        .filter(|(_, n)| p.can_read(&tree, n.id))
        .map(|(_, n)| OrgUnitOut {
            id: n.id,
            parent_id: n.parent_id,
            code: n.code.clone(),
            name: n.name.clone(),
            producer: n.producer,
            service_type: n.service_type,
        })
        .collect();
    Ok(Json(json!({ "org_units": list })))
}

/// `GET /api/v1/org-units/{id}/plan/{year}`
pub async fn plan(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath((id, year)): ApiPath<(i64, i32)>,
) -> ApiResult<Json<Value>> {
    if !(valvo_core::period::MIN_PERIOD_YEAR..=valvo_core::period::MAX_PERIOD_YEAR).contains(&year)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "year must be 1900..2999",
        ));
    }
    readable(&state, &p, id).await?;
    let goals = state.store().plan(id, year).await?;
    Ok(Json(
        json!({ "org_unit": id, "year": year, "goals": goals }),
    ))
}

#[derive(Deserialize)]
pub struct IndicatorQuery {
    org_unit: Option<String>,
    year: Option<String>,
}

/// A follow-up as JSON: its raw number (`value`), a ratio's `parts`, a
/// text, the figure printed in each language (`formatted`), its status
/// and the previous period's number.
fn follow_up_json(ind: &Indicator, f: &FollowUp, previous: Option<&FollowUp>) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("value_kind".into(), json!(ind.value_kind));
        o.insert(
            "formatted".into(),
            crate::plan::formatted(ind.value_kind, &f.figure()),
        );
        o.insert("status".into(), json!(ind.status_of(f.value)));
        o.insert(
            "previous_value".into(),
            json!(previous.and_then(|p| p.value)),
        );
    }
    v
}

fn follow_ups_out(ind: &Indicator, list: &[FollowUp]) -> Vec<Value> {
    list.iter()
        .map(|f| {
            let prev = f
                .period
                .prev()
                .and_then(|pp| list.iter().find(|x| x.period == pp));
            follow_up_json(ind, f, prev)
        })
        .collect()
}

/// `GET /api/v1/indicators?org_unit=ID[&year=Y]`
pub async fn indicators(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<IndicatorQuery>,
) -> ApiResult<Json<Value>> {
    let Some(raw) = q
        .org_unit
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            "query parameter org_unit is required",
        ));
    };
    let org: i64 = raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("org_unit must be an integer id, got {raw:?}"),
        )
    })?;
    let year = match q.year.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(y) => Some(
            y.parse::<i32>()
                .ok()
                .filter(|y| {
                    (valvo_core::period::MIN_PERIOD_YEAR..=valvo_core::period::MAX_PERIOD_YEAR)
                        .contains(y)
                })
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_parameter",
                        format!("year must be a year 1900..2999, got {y:?}"),
                    )
                })?,
        ),
    };
    readable(&state, &p, org).await?;
    let list = state.store().indicators_of(org, year).await?;
    Ok(Json(json!({ "indicators": list })))
}

async fn readable_indicator(state: &AppState, p: &Principal, id: i64) -> ApiResult<Indicator> {
    let ind = state.store().indicator(id).await?;
    readable(state, p, ind.org_unit_id).await?;
    Ok(ind)
}

/// `GET /api/v1/indicators/{id}`
pub async fn indicator(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Indicator>> {
    Ok(Json(readable_indicator(&state, &p, id).await?))
}

/// `GET /api/v1/indicators/{id}/follow-ups`
pub async fn follow_ups(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let ind = readable_indicator(&state, &p, id).await?;
    let list = state.store().follow_ups(id).await?;
    Ok(Json(
        json!({ "indicator_id": id, "follow_ups": follow_ups_out(&ind, &list) }),
    ))
}

/// `GET /api/v1/indicators/{id}/follow-ups/{period}`
pub async fn follow_up(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath((id, period)): ApiPath<(i64, String)>,
) -> ApiResult<Json<Value>> {
    let period = parse_period(&period)?;
    let ind = readable_indicator(&state, &p, id).await?;
    let list = state.store().follow_ups(id).await?;
    match list.iter().find(|f| f.period == period) {
        Some(f) => {
            let prev = period
                .prev()
                .and_then(|pp| list.iter().find(|x| x.period == pp));
            Ok(Json(follow_up_json(&ind, f, prev)))
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no follow-up for {period}"),
        )),
    }
}

pub(crate) fn text_field(body: &Value, name: &str, errors: &mut Vec<FieldError>) -> I18nText {
    let mut t = I18nText::default();
    match body.get(name) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match (valvo_core::Lang::parse(k).filter(|l| l.code() == k), v) {
                    (Some(l), Value::String(s)) => t.set(l, Some(s.clone())),
                    (Some(_), Value::Null) => {}
                    _ => errors.push(FieldError {
                        field: format!("{name}.{k}"),
                        code: ErrorCode::Invalid,
                    }),
                }
            }
        }
        Some(_) => errors.push(FieldError {
            field: name.to_string(),
            code: ErrorCode::Invalid,
        }),
    }
    t.normalized()
}

/// `PUT /api/v1/indicators/{id}/follow-ups/{period}` with
/// `{"value": 12.5, "assessment": {"fi": "...", "sv": "..."}, "corrective": {...}}`.
pub async fn put_follow_up(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath((id, period)): ApiPath<(i64, String)>,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Response> {
    let period = parse_period(&period)?;
    let body: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("body is not valid JSON: {e}"),
        )
    })?;
    if !body.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "body must be a JSON object",
        ));
    }
    let mut errors = Vec::new();
    let ind = state.store().indicator(id).await?;
    // Out of scope reads as unknown, before anything of the body is judged.
    let tree = readable(&state, &p, ind.org_unit_id).await?;
    let figure =
        match crate::plan::json_figure(ind.value_kind, body.get("value").unwrap_or(&Value::Null)) {
            Ok(f) => f,
            Err(code) => {
                errors.push(FieldError::new("value", code));
                None
            }
        };
    let input = FollowUpInput::of(
        figure,
        text_field(&body, "assessment", &mut errors),
        text_field(&body, "corrective", &mut errors),
    );
    if let Some(obj) = body.as_object() {
        for k in obj.keys() {
            if !["value", "assessment", "corrective"].contains(&k.as_str()) {
                errors.push(FieldError {
                    field: k.clone(),
                    code: ErrorCode::Invalid,
                });
            }
        }
    }
    if let Err(mut more) = input.validate() {
        errors.append(&mut more);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    if !p.can_write(&tree, ind.org_unit_id) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you may not write this org unit's plan",
        ));
    }
    let (saved, created) = state.store().put_follow_up(&p, id, period, &input).await?;
    let out = json!({
        "follow_up": follow_up_json(&ind, &saved, None),
        "status": ind.status_of(saved.value),
    });
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(out)).into_response())
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<i64>,
    before: Option<i64>,
    entity: Option<String>,
}

/// `GET /api/v1/audit` (administrators): newest first.
pub async fn audit(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Value>> {
    if !p.can_read_audit() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the audit log is for administrators",
        ));
    }
    if q.entity.as_ref().is_some_and(|e| e.chars().count() > 100) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "entity is at most 100 characters",
        ));
    }
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "before must be an entry id (1 or more)",
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "limit must be 1..1000",
        ));
    }
    let list = state
        .store()
        .audit_log_for(&p, limit, q.before, q.entity.as_deref())
        .await?;
    Ok(Json(json!({ "entries": list })))
}

// ---------------------------------------------------------------- incidents

/// A JSON integer: `7`, and `7.0` too (JSON Schema counts a number with no
/// fraction as an integer, and so do clients that write all numbers as floats).
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

pub(crate) fn json_str(body: &Value, name: &str) -> Option<String> {
    body.get(name)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
}

pub(crate) fn json_enum<T>(
    body: &Value,
    name: &str,
    parse: fn(&str) -> Option<T>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let raw = json_str(body, name).unwrap_or_default();
    let v = parse(&raw);
    if v.is_none() {
        errors.push(FieldError {
            field: name.into(),
            code: if raw.is_empty() {
                ErrorCode::Required
            } else {
                ErrorCode::Invalid
            },
        });
    }
    v
}

pub(crate) fn json_body(bytes: &[u8]) -> ApiResult<Value> {
    let body: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("body is not valid JSON: {e}"),
        )
    })?;
    if !body.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "body must be a JSON object",
        ));
    }
    Ok(body)
}

pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

pub(crate) fn iso_date(s: &str) -> Option<time::Date> {
    time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok()
}

/// `POST /api/v1/incidents`: a report. With `"anonymous": true` nothing about the caller is stored.
pub async fn create_incident(
    State(state): State<AppState>,
    Caller(p): Caller,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Response> {
    use valvo_core::incident::{Consequence, EventType, IncidentKind, NewIncident, ReporterRole};
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let org_unit_id = body.get("org_unit").and_then(as_int);
    if org_unit_id.is_none() {
        errors.push(FieldError {
            field: "org_unit".into(),
            code: ErrorCode::Required,
        });
    }
    let occurred_on = json_str(&body, "occurred_on").and_then(|s| iso_date(&s));
    if occurred_on.is_none() {
        errors.push(FieldError {
            field: "occurred_on".into(),
            code: ErrorCode::Invalid,
        });
    }
    let time_raw = json_str(&body, "occurred_time").unwrap_or_default();
    let occurred_time = if time_raw.is_empty() {
        None
    } else {
        let parsed = time_raw
            .split_once(':')
            .and_then(|(h, m)| time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok());
        if parsed.is_none() {
            errors.push(FieldError {
                field: "occurred_time".into(),
                code: ErrorCode::Invalid,
            });
        }
        parsed
    };
    let kind = json_enum(&body, "kind", IncidentKind::parse, &mut errors);
    // Any active type of the taxonomy; unknown and deactivated ones are refused.
    let types = state.store().event_types().await?;
    let event_type = json_enum(&body, "event_type", EventType::parse, &mut errors);
    let event_type = match event_type {
        Some(t) if !types.iter().any(|d| d.code == t && d.active) => {
            errors.push(FieldError {
                field: "event_type".into(),
                code: ErrorCode::Invalid,
            });
            None
        }
        other => other,
    };
    let consequence = json_enum(&body, "consequence", Consequence::parse, &mut errors);
    let role = json_enum(&body, "reporter_role", ReporterRole::parse, &mut errors);
    let anonymous = body
        .get("anonymous")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let name = json_str(&body, "reporter_name")
        .filter(|s| !s.is_empty())
        .or_else(|| Some(p.label.clone()));
    let (
        Some(org_unit_id),
        Some(occurred_on),
        Some(kind),
        Some(event_type),
        Some(consequence),
        Some(reporter_role),
    ) = (
        org_unit_id,
        occurred_on,
        kind,
        event_type,
        consequence,
        role,
    )
    else {
        return Err(ApiError::invalid(errors));
    };
    let input = NewIncident {
        org_unit_id,
        occurred_on,
        occurred_time,
        place: json_str(&body, "place").unwrap_or_default(),
        kind,
        event_type,
        description: json_str(&body, "description").unwrap_or_default(),
        consequence,
        never_event: body
            .get("never_event")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        contributing_factors: json_str(&body, "contributing_factors").unwrap_or_default(),
        immediate_actions: json_str(&body, "immediate_actions").unwrap_or_default(),
        reporter_role,
        reporter_name: if anonymous { None } else { name },
        reporter_contact: if anonymous {
            None
        } else {
            json_str(&body, "reporter_contact").filter(|s| !s.is_empty())
        },
    };
    if let Err(mut more) = input.validate(today()) {
        errors.append(&mut more);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let reporter = if anonymous { None } else { Some(&p) };
    let (id, receipt) = state
        .store()
        .create_incident(reporter, &input, today())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "receipt": receipt })),
    )
        .into_response())
}

async fn handler_incident(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> ApiResult<valvo_store::Incident> {
    let inc = state.store().incident(id).await?;
    let tree = state.store().org_tree().await?;
    // The unit's handlers: whoever may write it, and its named handlers.
    if !state
        .store()
        .may_handle_incidents(p, &tree, inc.org_unit_id)
        .await?
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "reports are for the unit's handlers",
        ));
    }
    Ok(inc)
}

/// `GET /api/v1/incidents/{id}` (the unit's handlers).
pub async fn incident(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<valvo_store::Incident>> {
    Ok(Json(handler_incident(&state, &p, id).await?))
}

/// `POST /api/v1/incidents/{id}/handling` with `{"state", "analysis", "outcome", "forward_to"}`.
pub async fn handle_incident(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Json<valvo_store::Incident>> {
    use valvo_core::incident::IncidentState;
    let body = json_body(&body)?;
    handler_incident(&state, &p, id).await?;
    let mut errors = Vec::new();
    let new_state = json_enum(&body, "state", IncidentState::parse, &mut errors);
    let forward_to = match body.get("forward_to") {
        None | Some(Value::Null) => None,
        Some(v) => match as_int(v) {
            Some(id) => Some(id),
            None => {
                errors.push(FieldError {
                    field: "forward_to".into(),
                    code: ErrorCode::Invalid,
                });
                None
            }
        },
    };
    let Some(new_state) = new_state.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let h = valvo_store::Handling {
        state: new_state,
        analysis: json_str(&body, "analysis").unwrap_or_default(),
        outcome: json_str(&body, "outcome").unwrap_or_default(),
        forward_to,
    };
    Ok(Json(
        state.store().handle_incident(&p, id, &h, today()).await?,
    ))
}

/// `POST /api/v1/incidents/{id}/actions` with `{"text", "owner", "due_on"}`.
pub async fn incident_action(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    handler_incident(&state, &p, id).await?;
    let Some(due) = json_str(&body, "due_on").and_then(|s| iso_date(&s)) else {
        return Err(ApiError::invalid(vec![FieldError {
            field: "due_on".into(),
            code: ErrorCode::Invalid,
        }]));
    };
    let action = state
        .store()
        .add_incident_action(
            &p,
            id,
            &json_str(&body, "text").unwrap_or_default(),
            &json_str(&body, "owner").unwrap_or_default(),
            due,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(action)).into_response())
}

#[derive(Deserialize)]
pub struct StatsQuery {
    pub(crate) org_unit: Option<String>,
    pub(crate) period: Option<String>,
}

/// `GET /api/v1/incidents/stats?org_unit=ID&period=P`: public (no free text),
/// with the previous period beside.
pub async fn incident_stats(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Value>> {
    let policy = state.config().deadlines;
    let org: i64 = q
        .org_unit
        .as_deref()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                "org_unit must be an org unit id",
            )
        })?;
    let period = parse_period(q.period.as_deref().unwrap_or(""))?;
    let tree = state.store().org_tree().await?;
    if tree.get(org).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("org unit {org} does not exist"),
        ));
    }
    let stats = state
        .store()
        .incident_stats(&tree, org, period, &policy, today())
        .await?;
    let previous = match period.prev() {
        Some(prev) => Some(
            state
                .store()
                .incident_stats(&tree, org, prev, &policy, today())
                .await?,
        ),
        None => None,
    };
    // The names of the event types in the figures, in every language.
    let names: serde_json::Map<String, Value> = state
        .store()
        .event_types()
        .await?
        .into_iter()
        .filter(|t| {
            std::iter::once(&stats)
                .chain(previous.as_ref())
                .any(|s| s.top_event_types.iter().any(|(c, _)| *c == t.code))
        })
        .map(|t| (t.code.code().to_string(), json!(t.name)))
        .collect();
    Ok(Json(
        json!({ "org_unit": org, "period": period, "stats": stats, "previous": previous, "event_type_names": names }),
    ))
}
