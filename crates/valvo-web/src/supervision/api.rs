//! Supervision visits in the API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::supervision::{NewFinding, NewVisit, Severity, VisitKind};

use crate::api::{
    as_int, iso_date, json_body, json_enum, json_str, parse_period, readable, today, ApiBody,
    ApiError, ApiPath, ApiQuery, ApiResult, Caller, StatsQuery,
};
use crate::AppState;

/// A date field: `None` when absent, an error when not `YYYY-MM-DD`.
fn opt_date(
    body: &Value,
    name: &str,
    field: String,
    errors: &mut Vec<FieldError>,
) -> Option<time::Date> {
    match body.get(name) {
        None | Some(Value::Null) => None,
        Some(v) => {
            let d = v.as_str().and_then(iso_date);
            if d.is_none() {
                errors.push(FieldError::new(field, ErrorCode::Invalid));
            }
            d
        }
    }
}

/// A text in fi/sv/en, given as an object or as one string (Finnish).
fn i18n(v: Option<&Value>) -> Option<valvo_core::I18nText> {
    let s = |k: &str| v?.get(k)?.as_str().map(str::to_string);
    match v {
        None | Some(Value::Null) => Some(Default::default()),
        Some(Value::Object(_)) => Some(valvo_core::I18nText::new(s("fi"), s("sv"), s("en"))),
        _ => None,
    }
}

/// A visit from a JSON body; errors name the field (`findings.0.severity`).
pub(crate) fn parse_visit(body: &Value, errors: &mut Vec<FieldError>) -> Option<NewVisit> {
    let org_unit = body.get("org_unit").and_then(as_int);
    if org_unit.is_none() {
        errors.push(FieldError::new("org_unit", ErrorCode::Required));
    }
    let visited_on = match json_str(body, "visited_on") {
        None => {
            errors.push(FieldError::new("visited_on", ErrorCode::Required));
            None
        }
        Some(s) => {
            let d = iso_date(&s);
            if d.is_none() {
                errors.push(FieldError::new("visited_on", ErrorCode::Invalid));
            }
            d
        }
    };
    let kind = json_enum(body, "kind", VisitKind::parse, errors);
    let topics: Vec<String> = match body.get("topics") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(l)) => l
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let s = v.as_str().map(str::to_string);
                if s.is_none() {
                    errors.push(FieldError::new(format!("topics.{i}"), ErrorCode::Invalid));
                }
                s
            })
            .collect(),
        Some(_) => {
            errors.push(FieldError::new("topics", ErrorCode::Invalid));
            Vec::new()
        }
    };
    let follows = match body.get("follows") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let id = as_int(v);
            if id.is_none() {
                errors.push(FieldError::new("follows", ErrorCode::NotANumber));
            }
            id
        }
    };
    let mut findings = Vec::new();
    match body.get("findings") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, f) in list.iter().enumerate() {
                let field = |n: &str| format!("findings.{i}.{n}");
                if !f.is_object() {
                    errors.push(FieldError::new(format!("findings.{i}"), ErrorCode::Invalid));
                    continue;
                }
                let topic = json_str(f, "topic").unwrap_or_default();
                let mut sub = Vec::new();
                let severity = json_enum(f, "severity", Severity::parse, &mut sub);
                errors.extend(
                    sub.into_iter()
                        .map(|e| FieldError::new(field(&e.field), e.code)),
                );
                let text = i18n(f.get("text"));
                if text.is_none() {
                    errors.push(FieldError::new(field("text"), ErrorCode::Invalid));
                }
                let due = opt_date(f, "correction_due", field("correction_due"), errors);
                if let (Some(severity), Some(text)) = (severity, text) {
                    findings.push(NewFinding {
                        topic,
                        severity,
                        text,
                        correction_due: due,
                    });
                }
            }
        }
        Some(_) => errors.push(FieldError::new("findings", ErrorCode::Invalid)),
    }
    Some(NewVisit {
        org_unit: org_unit?,
        visited_on: visited_on?,
        kind: kind?,
        topics,
        findings,
        follows,
    })
}

/// `POST /api/v1/supervision/visits`: records a visit with its findings
/// (supervisors, quality coordinators, administrators). 201 with the visit.
pub async fn create_visit(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let visit = parse_visit(&body, &mut errors);
    let Some(visit) = visit.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let id = state.store().create_visit(&p, &visit, today()).await?;
    let out = state.store().visit(&p, id, today()).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Who follows visits and their findings: supervisors, quality
/// coordinators, administrators, and area managers for their units (as on
/// the pages); not viewers or ombudspersons.
fn follows_visits(p: &valvo_core::access::Principal) -> ApiResult<()> {
    use valvo_core::access::Role;
    if matches!(
        p.role,
        Role::Supervisor | Role::QualityCoordinator | Role::Admin | Role::AreaManager
    ) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only those who follow supervision read visits",
        ))
    }
}

/// `GET /api/v1/supervision/visits/{id}`.
pub async fn visit(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<valvo_store::Visit>> {
    follows_visits(&p)?;
    Ok(Json(state.store().visit(&p, id, today()).await?))
}

/// `POST /api/v1/supervision/visits/{id}/avi` with `sent_on`: the day the
/// inspection report went to the regional state administrative agency.
pub async fn avi_sent(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<valvo_store::Visit>> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let sent = opt_date(&body, "sent_on", "sent_on".into(), &mut errors);
    let Some(sent) = sent.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.push(FieldError::new("sent_on", ErrorCode::Required));
        }
        return Err(ApiError::invalid(errors));
    };
    Ok(Json(
        state.store().set_avi_sent(&p, id, sent, today()).await?,
    ))
}

/// `POST /api/v1/supervision/findings/{id}/correction` with `done` (bool)
/// and `reply`: the producer's reply to a requested correction.
pub async fn correction(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<valvo_store::Finding>> {
    let body = json_body(&body)?;
    let done = match body.get("done") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => {
            return Err(ApiError::invalid(vec![FieldError::new(
                "done",
                ErrorCode::Required,
            )]))
        }
        Some(_) => {
            return Err(ApiError::invalid(vec![FieldError::new(
                "done",
                ErrorCode::Invalid,
            )]))
        }
    };
    let reply = json_str(&body, "reply").unwrap_or_default();
    Ok(Json(
        state
            .store()
            .update_correction(&p, id, done, &reply, today())
            .await?,
    ))
}

/// `GET /api/v1/supervision/stats?org_unit=ID&period=P`.
pub async fn stats(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Value>> {
    let org = crate::feedback_api::org_param(q.org_unit.as_deref())?;
    let period = parse_period(q.period.as_deref().unwrap_or(""))?;
    let tree = readable(&state, &p, org).await?;
    let stats = state
        .store()
        .supervision_stats(&tree, org, period, today())
        .await?;
    let mut out = json!(stats);
    out["org_unit"] = json!(org);
    Ok(Json(out))
}

/// `GET /api/v1/supervision/topics[?county=CODE]`: the checklist, active
/// and retired (public): every county's, or the topics offered in one.
pub async fn topics(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<crate::county_lists::CountyQuery>,
) -> ApiResult<Json<Value>> {
    let tree = state.store().org_tree().await?;
    let county = crate::county_lists::asked_county(&tree, &q)?;
    let mut list = state.store().supervision_topics().await?;
    crate::county_lists::keep_offered(&mut list, county.as_deref(), |t| t.county.as_deref());
    Ok(Json(json!({ "topics": list })))
}

/// `PUT /api/v1/supervision/topics/{code}` with `name` (fi and sv), and
/// optionally `active` and `sort_order`: adds or changes a topic of the
/// checklist (county-wide quality coordinators and administrators).
pub async fn put_topic(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(code): ApiPath<String>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<valvo_core::supervision::Topic>> {
    let existing = state.store().supervision_topics().await?;
    let topic = crate::ombudsman::api::classified_entry(&state, &p, code, &body, &existing).await?;
    Ok(Json(state.store().put_supervision_topic(&p, &topic).await?))
}
