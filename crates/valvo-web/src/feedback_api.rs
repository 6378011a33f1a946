//! The feedback part of the JSON API: answers (from kiosks, integrations and
//! invitation links), invitations in bulk, CSV import, statistics, the
//! national export, the survey and the handling queue.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use valvo_core::access::Principal;
use valvo_core::disclosure::Shown;
use valvo_core::feedback::{
    CaseDeadlines, CaseState, Channel, Filter, RawAnswer, RawCase, Respondent, ServiceLang,
};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_store::{AnswerTarget, CaseUpdate, StoreError, Submission};

use crate::api::{
    json_body, json_str, parse_period, readable, ApiError, ApiPath, ApiQuery, ApiResult, Caller,
};
use crate::AppState;

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// The caller of a bearer token, if one is given (an unknown token is
/// refused); `method` is the request's (a read-only token only reads).
pub(crate) async fn optional_caller(
    state: &AppState,
    headers: &HeaderMap,
    method: &axum::http::Method,
) -> ApiResult<Option<Principal>> {
    crate::api::bearer_caller(state, headers, method).await
}

/// A JSON value as the text a form would have sent.
fn as_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Number(n)) => crate::api::as_int(v)
            .map(|i| i.to_string())
            .unwrap_or_else(|| n.to_string()),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

fn raw_answer(body: &Value) -> RawAnswer {
    let mut raw = RawAnswer {
        nps: as_text(body.get("nps")),
        text: as_text(body.get("text")),
        service_lang: as_text(body.get("service_lang")),
        age_group: as_text(body.get("age_group")),
        respondent: as_text(body.get("respondent")),
        service_date: as_text(body.get("service_date")),
        contact: as_text(body.get("contact")),
        ..RawAnswer::default()
    };
    if let Some(Value::Object(map)) = body.get("scores") {
        for (k, v) in map {
            raw.scores.insert(k.clone(), as_text(Some(v)));
        }
    }
    raw
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(code) if code == "invitation_used" => ApiError::new(
            StatusCode::CONFLICT,
            "invitation_used",
            "this invitation has already been answered",
        ),
        StoreError::Conflict(code) if code == "invitation_expired" => ApiError::new(
            StatusCode::GONE,
            "invitation_expired",
            "this invitation has expired",
        ),
        StoreError::Conflict(code) if code == "token_unknown" => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown, revoked or expired token",
        ),
        StoreError::Conflict(code) if code == "token_read_only" => ApiError::new(
            StatusCode::FORBIDDEN,
            "read_only_token",
            "this token only reads",
        ),
        StoreError::Forbidden => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the org unit is outside your scope",
        ),
        other => other.into(),
    }
}

/// `POST /api/v1/feedback/answers`: one answer. With `"invitation": TOKEN`
/// no bearer token is needed (the invitation is used up); with
/// `"org_unit": ID` the caller needs a bearer token that may write the unit
/// (a kiosk or an integration). Answered 201 once the answer is on disk.
pub async fn submit(
    State(state): State<AppState>,
    crate::ops::ClientIp(ip): crate::ops::ClientIp,
    headers: HeaderMap,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let raw = raw_answer(&body);
    let (target, channel) = match (json_str(&body, "invitation"), body.get("org_unit")) {
        (Some(token), _) if !token.is_empty() => {
            // Without a bearer token: limited per client address like the public pages.
            if !state.allow_public_write(ip).await {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "too many answers from this address; try again later",
                ));
            }
            (AnswerTarget::Invitation(token), Channel::Invitation)
        }
        (_, Some(org)) => {
            let org = crate::api::as_int(org);
            let channel = match json_str(&body, "channel").as_deref() {
                None | Some("") => Some(Channel::Web),
                Some(c) => Channel::parse(c).filter(|c| *c != Channel::Invitation),
            };
            let token = crate::api::bearer_token(&headers);
            let (Some(org), Some(channel), Some(token)) = (org, channel, token) else {
                // Refused before it is queued; the token is checked first,
                // as on every other write.
                optional_caller(&state, &headers, &axum::http::Method::POST)
                    .await?
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            "unauthorized",
                            "a bearer token is required without an invitation",
                        )
                    })?;
                let field = if org.is_none() { "org_unit" } else { "channel" };
                return Err(ApiError::invalid(vec![FieldError::new(
                    field,
                    ErrorCode::Invalid,
                )]));
            };
            // The token and the unit are checked in the answer's own write
            // transaction (see `AnswerTarget::UnitWithToken`).
            (
                AnswerTarget::UnitWithToken {
                    unit: org,
                    token: token.to_owned(),
                },
                channel,
            )
        }
        _ => {
            return Err(ApiError::invalid(vec![FieldError::new(
                "org_unit",
                ErrorCode::Required,
            )]))
        }
    };
    let sub = Submission {
        target,
        raw,
        channel,
        today: today(),
        once: None,
    };
    let done = state
        .store()
        .submit_answer(sub)
        .await
        .map_err(store_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": done.answer_id, "org_unit": done.org_unit_id, "case": done.case_id })),
    )
        .into_response())
}

/// The public link of an invitation.
pub(crate) fn invitation_link(state: &AppState, headers: &HeaderMap, token: &str) -> String {
    format!(
        "{}/feedback/i/{token}",
        crate::feedback::base_url(state, headers)
    )
}

/// `POST /api/v1/feedback/invitations` `{"org_unit", "service_date", "count", "valid_days"}`:
/// one-time tokens (and their links) for SMS after a visit.
pub async fn invitations(
    State(state): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let org = body.get("org_unit").and_then(crate::api::as_int);
    if org.is_none() {
        errors.push(FieldError::new("org_unit", ErrorCode::Required));
    }
    let date = json_str(&body, "service_date")
        .as_deref()
        .and_then(valvo_core::feedback::parse_date);
    if date.is_none() {
        errors.push(FieldError::new("service_date", ErrorCode::Invalid));
    }
    let count = body
        .get("count")
        .and_then(crate::api::as_int)
        .map_or(1, |n| n.max(0) as u64);
    let valid_days = body
        .get("valid_days")
        .and_then(crate::api::as_int)
        .unwrap_or(30);
    let (Some(org), Some(date)) = (org, date) else {
        return Err(ApiError::invalid(errors));
    };
    readable(&state, &p, org).await?;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let tokens = state
        .store()
        .create_invitations(&p, org, date, count, valid_days, today())
        .await?;
    let links: Vec<String> = tokens
        .iter()
        .map(|t| invitation_link(&state, &headers, t))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "org_unit": org, "service_date": date.to_string(), "tokens": tokens, "links": links })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct StatsQuery {
    org_unit: Option<String>,
    period: Option<String>,
    service_lang: Option<String>,
    channel: Option<String>,
    respondent: Option<String>,
}

fn filter_of(q: &StatsQuery) -> ApiResult<Filter> {
    fn one<T>(
        name: &str,
        raw: &Option<String>,
        parse: fn(&str) -> Option<T>,
    ) -> ApiResult<Option<T>> {
        match raw.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => parse(s).map(Some).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_parameter",
                    format!("unknown {name} {s:?}"),
                )
            }),
        }
    }
    Ok(Filter {
        lang: one("service_lang", &q.service_lang, ServiceLang::parse)?,
        channel: one("channel", &q.channel, Channel::parse)?,
        respondent: one("respondent", &q.respondent, Respondent::parse)?,
    })
}

pub(crate) fn org_param(raw: Option<&str>) -> ApiResult<i64> {
    raw.and_then(|s| s.trim().parse().ok()).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "org_unit must be an org unit id",
        )
    })
}

/// `GET /api/v1/feedback/stats?org_unit=ID&period=P[&lang=&channel=&respondent=]`:
/// with a bearer token that may read the unit's statistics, every figure; without one,
/// the public figures (cells under 5 answers withheld).
pub async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Value>> {
    let org = org_param(q.org_unit.as_deref())?;
    let period = parse_period(q.period.as_deref().unwrap_or(""))?;
    let caller = optional_caller(&state, &headers, &axum::http::Method::GET).await?;
    let filter = filter_of(&q)?;
    if caller.is_none() && !crate::feedback::public_period(&period) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "public statistics are by tertial (2024T1, 2024T2, 2024T3); other periods need a bearer token",
        ));
    }
    if caller.is_none() && filter != Filter::default() {
        // Every filtered view would be one more table to give a small group away through.
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "background filters (service_lang, channel, respondent) need a bearer token",
        ));
    }
    let tree = match &caller {
        Some(p) => crate::api::statistics_readable(&state, p, org).await?,
        None => {
            let tree = state.store().org_tree().await?;
            if tree.get(org).is_none() {
                return Err(StoreError::NotFound.into());
            }
            tree
        }
    };
    let stats = state
        .store()
        .feedback_stats(&tree, org, period, filter)
        .await?;
    if caller.is_some() {
        return Ok(Json(json!({ "public": false, "stats": stats })));
    }
    let vis = crate::feedback::public_view(&state, &tree, &stats).await?;
    let by = |list: &[valvo_store::Breakdown], shown: &[(Shown, Shown)]| -> Vec<Value> {
        list.iter()
            .zip(shown)
            .map(|(b, (c, p))| json!({ "key": b.key, "current": b.current.public_with(c), "prev": b.prev.public_with(p) }))
            .collect()
    };
    let trend: Vec<Value> = stats
        .trend
        .iter()
        .zip(&vis.trend)
        .map(|(y, (answers, nps))| {
            json!({ "year": y.year, "answers": answers.then_some(y.answers), "nps": (*answers && *nps).then_some(y.nps) })
        })
        .collect();
    let lang_nps_shown = |code: &str| {
        stats
            .by_lang
            .iter()
            .position(|b| b.key == code)
            .is_some_and(|i| vis.dims[0][i].0.nps)
    };
    Ok(Json(json!({
        "public": true,
        "min_cell": valvo_core::feedback::MIN_PUBLIC_CELL,
        "stats": {
            "org_unit_id": org,
            "period": stats.period,
            "previous": stats.previous,
            "filter": stats.filter,
            "current": stats.current.public_with(&vis.current),
            "prev": stats.prev.public_with(&vis.prev),
            "by_lang": by(&stats.by_lang, &vis.dims[0]),
            "by_channel": by(&stats.by_channel, &vis.dims[1]),
            "by_respondent": by(&stats.by_respondent, &vis.dims[2]),
            "by_child": stats.by_child.iter().zip(&vis.children).map(|(c, (a, b))| json!({ "org_unit_id": c.org_unit_id, "current": c.current.public_with(a), "prev": c.prev.public_with(b) })).collect::<Vec<_>>(),
            "trend": trend,
            "topics": stats.topics.iter().filter(|t| t.comments >= valvo_core::feedback::MIN_PUBLIC_CELL).collect::<Vec<_>>(),
            "lang_gap": stats.lang_gap.filter(|_| lang_nps_shown("fi") && lang_nps_shown("sv")),
        }
    })))
}

/// `GET /api/v1/feedback/export?org_unit=ID&period=P`: the national export (CSV).
pub async fn export(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Response> {
    let org = org_param(q.org_unit.as_deref())?;
    let period = parse_period(q.period.as_deref().unwrap_or(""))?;
    readable(&state, &p, org).await?;
    let (keys, rows, report) = state.store().national_export(&p, org, period).await?;
    let mut resp = (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        crate::feedback::export_csv(&keys, &rows),
    )
        .into_response();
    if let Ok(v) = serde_json::to_string(&report).unwrap_or_default().parse() {
        resp.headers_mut().insert("x-valvo-suppression", v);
    }
    Ok(resp)
}

/// `GET /api/v1/feedback/survey`: the current survey (public), every
/// statement with its `county` when it is a county's own. With
/// `?county=CODE`: the survey as asked in that county (the shared statements
/// and its own).
pub async fn survey(
    State(state): State<AppState>,
    crate::api::ApiQuery(q): crate::api::ApiQuery<crate::county_lists::CountyQuery>,
) -> ApiResult<Json<Value>> {
    let tree = state.store().org_tree().await?;
    let county = crate::county_lists::asked_county(&tree, &q)?;
    let s = state.store().current_survey().await?;
    let def = match county {
        Some(c) => s.def.for_county(Some(&c)),
        None => s.def,
    };
    Ok(Json(json!({ "version": s.version, "survey": def })))
}

/// `GET /api/v1/feedback/cases`: the caller's queue.
pub async fn cases(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<Json<Value>> {
    let list = state.store().feedback_queue(&p, today(), 1000).await?;
    Ok(Json(json!({ "cases": list })))
}

/// `GET /api/v1/feedback/cases/{id}`
pub async fn case(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<valvo_store::FeedbackCase>> {
    Ok(Json(state.store().feedback_case(&p, id).await?))
}

/// `POST /api/v1/feedback/cases` `{"org_unit", "kind", "received_on", "due_on", "text", "contact"}`:
/// a remark or complaint.
pub async fn create_case(
    State(state): State<AppState>,
    Caller(p): Caller,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let org = body
        .get("org_unit")
        .and_then(crate::api::as_int)
        .ok_or_else(|| ApiError::invalid(vec![FieldError::new("org_unit", ErrorCode::Required)]))?;
    let raw = RawCase {
        kind: as_text(body.get("kind")),
        received_on: as_text(body.get("received_on")),
        due_on: as_text(body.get("due_on")),
        text: as_text(body.get("text")),
        contact: as_text(body.get("contact")),
    };
    let case = raw
        .parse(&CaseDeadlines::default(), today())
        .map_err(ApiError::invalid)?;
    let id = state.store().create_case(&p, org, &case).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "due_on": case.due_on.to_string() })),
    )
        .into_response())
}

/// `POST /api/v1/feedback/cases/{id}` `{"state", "tags", "note", "reply", "route_to"}`.
pub async fn update_case(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Json<valvo_store::FeedbackCase>> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let case_state = match json_str(&body, "state") {
        None => None,
        Some(s) => {
            let v = CaseState::parse(&s);
            if v.is_none() {
                errors.push(FieldError::new("state", ErrorCode::Invalid));
            }
            v
        }
    };
    let route_to = match body.get("route_to") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let id = crate::api::as_int(v);
            if id.is_none() {
                errors.push(FieldError::new("route_to", ErrorCode::Invalid));
            }
            id
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let update = CaseUpdate {
        state: case_state,
        tags: json_str(&body, "tags"),
        note: json_str(&body, "note"),
        reply: json_str(&body, "reply"),
        route_to,
    };
    Ok(Json(
        state.store().update_case(&p, id, &update, today()).await?,
    ))
}

#[derive(Deserialize)]
pub struct ComparisonQuery {
    period: Option<String>,
    service_type: Option<String>,
}

/// `GET /api/v1/feedback/comparison?period=P`: every county's NPS and
/// national statements beside the country's, raw and standardised to the
/// national mix of respondent, age group and language of service, with 95 %
/// intervals (see [`valvo_core::comparison`]). Public for the public
/// statistics' periods (tertials), any period with a token.
pub async fn comparison(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ComparisonQuery>,
) -> ApiResult<Json<Value>> {
    if q.service_type.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "service_type: a service's comparison is /api/v1/feedback/comparison/{service_type}?period=P",
        ));
    }
    comparison_of(&state, &headers, q.period.as_deref(), None).await
}

/// `GET /api/v1/feedback/comparison/{service_type}?period=P`: the same of
/// the answers of the units giving that service (a unit's own type, or else
/// that of the nearest unit above it with one), in every county that has
/// such units; by tertial, half year or year.
pub async fn comparison_of_service(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<ComparisonQuery>,
) -> ApiResult<Json<Value>> {
    let service = valvo_core::ServiceType::parse(&code).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such service type (health_station, oral_health, …: see the API description)",
        )
    })?;
    comparison_of(&state, &headers, q.period.as_deref(), Some(service)).await
}

async fn comparison_of(
    state: &AppState,
    headers: &HeaderMap,
    period: Option<&str>,
    service: Option<valvo_core::ServiceType>,
) -> ApiResult<Json<Value>> {
    let period = parse_period(period.unwrap_or(""))?;
    if service.is_some() && !valvo_store::comparison::SERVICE_PERIODS.contains(&period.kind()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "period: by service type the counties are compared by tertial, half year or year (2024T1, 2024H1, 2024)",
        ));
    }
    let caller = optional_caller(state, headers, &axum::http::Method::GET).await?;
    if caller.is_none() && !crate::feedback::public_period(&period) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "public statistics are by tertial (2024T1, 2024T2, 2024T3); other periods need a bearer token",
        ));
    }
    Ok(Json(comparison_json(state, period, service).await?))
}

/// The comparison of `period` (of the units giving `service`) as JSON (the
/// API's answer, and the page's data).
pub(crate) async fn comparison_json(
    state: &AppState,
    period: valvo_core::Period,
    service: Option<valvo_core::ServiceType>,
) -> Result<Value, StoreError> {
    use valvo_core::comparison::{Compared, Figures};
    let crate::comparison::Loaded {
        tree,
        national,
        all,
        each,
    } = crate::comparison::load(state, period, service).await?;
    let figure = |c: &Compared| json!(c);
    let figures = |f: &Figures| {
        json!({
            "nps": figure(&f.nps),
            "statements": f.statements.iter().zip(&national).map(|((key, c), s)| json!({
                "key": key, "text": s.text, "figure": figure(c),
            })).collect::<Vec<_>>(),
        })
    };
    let counties: Vec<Value> = each
        .iter()
        .filter_map(|(id, f)| {
            let node = tree.get(*id)?;
            Some(json!({ "id": id, "code": node.code, "name": node.name, "figures": figures(f) }))
        })
        .collect();
    Ok(json!({
        "period": period.to_string(),
        "service_type": service,
        "method": {
            "standardised_to": ["respondent", "age_group", "service_lang"],
            "interval": 0.95,
            "min_answers": valvo_core::comparison::MIN_ANSWERS,
            "min_coverage": valvo_core::comparison::MIN_COVERAGE,
        },
        "national": figures(&all),
        "counties": counties,
    }))
}
