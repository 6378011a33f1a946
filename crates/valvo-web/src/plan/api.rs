//! The whole plan through the API: `POST /api/v1/org-units`, `/goals`,
//! `/indicators`, `/actions`, and `GET`, `PATCH`, `DELETE` on each `/{id}`.
//! A `PATCH` changes the fields it names and keeps the others as they are at
//! that moment (merged under the row's lock); a `DELETE` of an indicator with
//! follow-ups retires it and keeps its history; goals and org units that still
//! hold something are refused with 409.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use valvo_core::access::Principal;
use valvo_core::model::Indicator;
use valvo_core::plan::{
    ActionInput, ActionStatus, Area, ErrorCode, FieldError, GoalInput, IndicatorInput,
};
use valvo_core::{Direction, I18nText, PeriodKind, ProducerType, ServiceType, ValueKind};
use valvo_store::{NewOrgUnit, Removed};

use super::json_number;
use crate::api::{
    as_int, json_body, json_enum, readable, text_field, ApiBody, ApiError, ApiPath, ApiResult,
    Caller,
};
use crate::AppState;

fn invalid(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(errors))
    }
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// A field given as a JSON integer.
fn int_field(body: &Value, name: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    match body.get(name) {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = as_int(v);
            if n.is_none() {
                errors.push(FieldError::new(name, ErrorCode::Invalid));
            }
            n
        }
    }
}

/// An enum field when it is there.
fn enum_field<T>(
    body: &Value,
    name: &str,
    parse: fn(&str) -> Option<T>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    body.get(name)
        .filter(|v| !v.is_null())
        .and_then(|_| json_enum(body, name, parse, errors))
}

async fn writable(state: &AppState, p: &Principal, org: i64) -> ApiResult<()> {
    let tree = readable(state, p, org).await?;
    if !p.can_write(&tree, org) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you may not write this org unit's plan",
        ));
    }
    Ok(())
}

fn org_unit_json(n: &valvo_core::OrgNode) -> Value {
    json!({
        "id": n.id, "parent_id": n.parent_id, "code": n.code, "name": n.name,
        "producer": n.producer, "sort_order": n.sort_order, "service_type": n.service_type,
    })
}

// ------------------------------------------------------------- org units

/// `POST /api/v1/org-units` (administrators): `{"parent_id", "code", "name",
/// "producer", "service_type"}`.
pub async fn create_org_unit(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let parent_id = int_field(&body, "parent_id", &mut errors);
    let code = crate::api::json_str(&body, "code").unwrap_or_default();
    let name = text_field(&body, "name", &mut errors);
    let producer = enum_field(&body, "producer", ProducerType::parse, &mut errors)
        .unwrap_or(ProducerType::Own);
    let sort_order = int_field(&body, "sort_order", &mut errors).unwrap_or(0);
    let service_type = enum_field(&body, "service_type", ServiceType::parse, &mut errors);
    invalid(errors)?;
    let unit = NewOrgUnit {
        parent_id,
        code,
        name,
        producer,
        sort_order: sort_order.clamp(i32::MIN.into(), i32::MAX.into()) as i32,
        service_type,
    };
    let id = state.store().create_org_unit(&p, &unit).await?;
    let tree = state.store().org_tree().await?;
    let node = tree.get(id).ok_or(valvo_store::StoreError::NotFound)?;
    Ok(created(json!({ "org_unit": org_unit_json(node) })))
}

/// `GET /api/v1/org-units/{id}`
pub async fn get_org_unit(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let tree = readable(&state, &p, id).await?;
    let node = tree.get(id).ok_or(valvo_store::StoreError::NotFound)?;
    Ok(Json(json!({ "org_unit": org_unit_json(node) })))
}

/// `PATCH /api/v1/org-units/{id}`: any of `{"name"}`, `{"producer"}` and
/// `{"service_type"}` (`null` clears it).
pub async fn patch_org_unit(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let name = body
        .get("name")
        .map(|_| text_field(&body, "name", &mut errors));
    let producer = enum_field(&body, "producer", ProducerType::parse, &mut errors);
    let service_type = body
        .get("service_type")
        .map(|_| enum_field(&body, "service_type", ServiceType::parse, &mut errors));
    invalid(errors)?;
    readable(&state, &p, id).await?;
    let node = state
        .store()
        .patch_org_unit(&p, id, name.as_ref(), producer, service_type)
        .await?;
    Ok(Json(json!({ "org_unit": org_unit_json(&node) })))
}

/// `DELETE /api/v1/org-units/{id}`: 204, or 409 while anything refers to it.
pub async fn delete_org_unit(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    readable(&state, &p, id).await?;
    state.store().delete_org_unit(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----------------------------------------------------------------- goals

fn goal_fields(
    body: &Value,
    errors: &mut Vec<FieldError>,
) -> (Option<i32>, Option<Area>, Option<I18nText>) {
    let year = int_field(body, "year", errors).map(|y| y.clamp(0, 9999) as i32);
    let area = enum_field(body, "area", Area::parse, errors);
    let title = body.get("title").map(|_| text_field(body, "title", errors));
    (year, area, title)
}

/// `POST /api/v1/goals`: `{"org_unit", "year", "area", "title"}`.
pub async fn create_goal(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let org = int_field(&body, "org_unit", &mut errors);
    let (year, area, title) = goal_fields(&body, &mut errors);
    for (field, missing) in [
        ("org_unit", org.is_none()),
        ("year", year.is_none()),
        ("area", area.is_none()),
    ] {
        if missing && !errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(field, ErrorCode::Required));
        }
    }
    invalid(errors)?;
    let (Some(org), Some(year), Some(area)) = (org, year, area) else {
        return Err(ApiError::invalid(vec![FieldError::new(
            "body",
            ErrorCode::Required,
        )]));
    };
    let tree = state.store().org_tree().await?;
    if tree.get(org).is_none() {
        return Err(ApiError::invalid(vec![FieldError::new(
            "org_unit",
            ErrorCode::NotFound,
        )]));
    }
    writable(&state, &p, org).await?;
    let input = GoalInput {
        area,
        year,
        title: title.unwrap_or_default(),
    };
    let goal = state.store().create_goal(&p, org, &input).await?;
    Ok(created(json!({ "goal": goal })))
}

async fn goal_for(state: &AppState, p: &Principal, id: i64) -> ApiResult<valvo_core::model::Goal> {
    let goal = state.store().goal(id).await?;
    readable(state, p, goal.org_unit_id).await?;
    Ok(goal)
}

/// `GET /api/v1/goals/{id}`
pub async fn get_goal(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let goal = goal_for(&state, &p, id).await?;
    Ok(Json(json!({ "goal": goal })))
}

/// `PATCH /api/v1/goals/{id}`: any of `year`, `area`, `title`.
pub async fn patch_goal(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let (year, area, title) = goal_fields(&body, &mut errors);
    invalid(errors)?;
    let goal = goal_for(&state, &p, id).await?;
    writable(&state, &p, goal.org_unit_id).await?;
    let goal = state
        .store()
        .update_goal_with(&p, id, move |g| GoalInput {
            year: year.unwrap_or(g.year),
            area: area.unwrap_or(g.area),
            title: title.unwrap_or_else(|| g.title.clone()),
        })
        .await?;
    Ok(Json(json!({ "goal": goal })))
}

/// `DELETE /api/v1/goals/{id}`: 204, or 409 while it holds indicators,
/// actions or reviews.
pub async fn delete_goal(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let goal = goal_for(&state, &p, id).await?;
    writable(&state, &p, goal.org_unit_id).await?;
    state.store().delete_goal(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------ indicators

/// The fields of an indicator a body names (`None`: not named).
#[derive(Default)]
struct IndicatorFields {
    code: Option<Option<String>>,
    name: Option<I18nText>,
    unit: Option<I18nText>,
    value_kind: Option<ValueKind>,
    direction: Option<Direction>,
    baseline: Option<Option<f64>>,
    target: Option<Option<f64>>,
    target_max: Option<Option<f64>>,
    period_kind: Option<PeriodKind>,
    note: Option<I18nText>,
    until_year: Option<Option<i32>>,
    min_value: Option<Option<f64>>,
    max_value: Option<Option<f64>>,
    reference: Option<Option<valvo_core::model::Reference>>,
    retired: Option<bool>,
}

/// Reads the fields of an indicator; numbers are read as `kind` (the one
/// the body gives, else `current`).
fn indicator_fields(
    body: &Value,
    current: ValueKind,
    errors: &mut Vec<FieldError>,
) -> IndicatorFields {
    let value_kind = enum_field(body, "value_kind", ValueKind::parse, errors);
    let kind = value_kind.unwrap_or(current);
    IndicatorFields {
        code: body.get("code").map(|v| {
            v.as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        }),
        name: body.get("name").map(|_| text_field(body, "name", errors)),
        unit: body.get("unit").map(|_| text_field(body, "unit", errors)),
        value_kind,
        direction: enum_field(body, "direction", Direction::parse, errors),
        baseline: json_number(kind, body, "baseline", errors),
        target: json_number(kind, body, "target", errors),
        target_max: json_number(kind, body, "target_max", errors),
        period_kind: enum_field(body, "period_kind", PeriodKind::parse, errors),
        note: body.get("note").map(|_| text_field(body, "note", errors)),
        until_year: body.get("until_year").map(|v| {
            if v.is_null() {
                None
            } else {
                as_int(v).map(|y| y.clamp(0, 9999) as i32)
            }
        }),
        min_value: json_number(kind, body, "min_value", errors),
        max_value: json_number(kind, body, "max_value", errors),
        reference: body.get("reference").map(|v| {
            if v.is_null() {
                return None;
            }
            let r = serde_json::from_value::<valvo_core::model::Reference>(v.clone());
            if r.is_err() {
                errors.push(FieldError::new("reference", ErrorCode::Invalid));
            }
            r.ok()
        }),
        retired: body.get("retired").and_then(Value::as_bool),
    }
}

impl IndicatorFields {
    /// The input these fields make of `current` (a new indicator: of the
    /// defaults).
    fn apply(self, current: Option<&Indicator>) -> IndicatorInput {
        let or = |v: Option<I18nText>, c: fn(&Indicator) -> &I18nText| {
            v.unwrap_or_else(|| current.map(|i| c(i).clone()).unwrap_or_default())
        };
        IndicatorInput {
            name: or(self.name, |i| &i.name),
            unit: or(self.unit, |i| &i.unit),
            note: or(self.note, |i| &i.note),
            direction: self
                .direction
                .or(current.map(|i| i.direction))
                .unwrap_or(Direction::Higher),
            baseline: self
                .baseline
                .unwrap_or_else(|| current.and_then(|i| i.baseline)),
            target: self
                .target
                .unwrap_or_else(|| current.and_then(|i| i.target)),
            target_max: self
                .target_max
                .unwrap_or_else(|| current.and_then(|i| i.target_max)),
            period_kind: self
                .period_kind
                .or(current.map(|i| i.period_kind))
                .unwrap_or(PeriodKind::Tertial),
            code: self
                .code
                .unwrap_or_else(|| current.and_then(|i| i.code.clone())),
            value_kind: self
                .value_kind
                .or(current.map(|i| i.value_kind))
                .unwrap_or_default(),
            until_year: self
                .until_year
                .unwrap_or_else(|| current.and_then(|i| i.until_year)),
            min_value: self
                .min_value
                .unwrap_or_else(|| current.and_then(|i| i.min_value)),
            max_value: self
                .max_value
                .unwrap_or_else(|| current.and_then(|i| i.max_value)),
            reference: self
                .reference
                .unwrap_or_else(|| current.and_then(|i| i.reference.clone())),
        }
    }
}

/// `POST /api/v1/indicators`: `{"goal", "code", "name", "unit", "value_kind",
/// "direction", "baseline", "target", "target_max", "period_kind", "note",
/// "until_year", "min_value", "max_value"}`; baseline and target as numbers
/// or as typed for the kind (`"0:10:00"`, `"90 %"`).
pub async fn create_indicator(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let goal_id = int_field(&body, "goal", &mut errors);
    let fields = indicator_fields(&body, ValueKind::Number, &mut errors);
    for (field, missing) in [
        ("goal", goal_id.is_none()),
        ("direction", fields.direction.is_none()),
        ("period_kind", fields.period_kind.is_none()),
    ] {
        if missing && !errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(field, ErrorCode::Required));
        }
    }
    invalid(errors)?;
    let goal_id = goal_id.unwrap_or_default();
    let goal = match state.store().goal(goal_id).await {
        Ok(g) => g,
        Err(valvo_store::StoreError::NotFound) => {
            return Err(ApiError::invalid(vec![FieldError::new(
                "goal",
                ErrorCode::NotFound,
            )]))
        }
        Err(e) => return Err(e.into()),
    };
    writable(&state, &p, goal.org_unit_id).await?;
    let input = fields.apply(None);
    let ind = state.store().create_indicator(&p, goal_id, &input).await?;
    Ok(created(json!({ "indicator": ind })))
}

async fn indicator_for(state: &AppState, p: &Principal, id: i64) -> ApiResult<Indicator> {
    let ind = state.store().indicator(id).await?;
    readable(state, p, ind.org_unit_id).await?;
    Ok(ind)
}

/// `PATCH /api/v1/indicators/{id}`: the fields named (as in `POST`), and
/// `"retired": true / false` to retire it or take it back.
pub async fn patch_indicator(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Value>> {
    let body = json_body(&body)?;
    let current = indicator_for(&state, &p, id).await?;
    let mut errors = Vec::new();
    let mut fields = indicator_fields(&body, current.value_kind, &mut errors);
    invalid(errors)?;
    writable(&state, &p, current.org_unit_id).await?;
    let retired = fields.retired.take();
    let changes = body
        .as_object()
        .is_some_and(|o| o.keys().any(|k| k != "retired"));
    let mut ind = current;
    if changes {
        ind = state
            .store()
            .update_indicator_with(&p, id, move |i| fields.apply(Some(i)))
            .await?;
    }
    match retired {
        Some(true) if ind.retired_at.is_none() => {
            if state.store().delete_indicator(&p, id).await? == Removed::Deleted {
                return Ok(Json(
                    json!({ "indicator": Value::Null, "result": "deleted" }),
                ));
            }
            ind = state.store().indicator(id).await?;
        }
        Some(false) if ind.retired_at.is_some() => {
            ind = state.store().restore_indicator(&p, id).await?;
        }
        _ => {}
    }
    Ok(Json(json!({ "indicator": ind })))
}

/// `DELETE /api/v1/indicators/{id}`: deleted, or retired when it has
/// follow-ups (`{"result": "deleted" | "retired"}`).
pub async fn delete_indicator(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let ind = indicator_for(&state, &p, id).await?;
    writable(&state, &p, ind.org_unit_id).await?;
    let result = state.store().delete_indicator(&p, id).await?;
    Ok(Json(json!({ "result": result })))
}

// --------------------------------------------------------------- actions

/// `POST /api/v1/actions`: `{"goal", "text", "status"}`.
pub async fn create_action(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let goal_id = int_field(&body, "goal", &mut errors);
    let text = text_field(&body, "text", &mut errors);
    let status = enum_field(&body, "status", ActionStatus::parse, &mut errors)
        .unwrap_or(ActionStatus::Planned);
    if goal_id.is_none() && !errors.iter().any(|e| e.field == "goal") {
        errors.push(FieldError::new("goal", ErrorCode::Required));
    }
    invalid(errors)?;
    let goal_id = goal_id.unwrap_or_default();
    let goal = match state.store().goal(goal_id).await {
        Ok(g) => g,
        Err(valvo_store::StoreError::NotFound) => {
            return Err(ApiError::invalid(vec![FieldError::new(
                "goal",
                ErrorCode::NotFound,
            )]))
        }
        Err(e) => return Err(e.into()),
    };
    writable(&state, &p, goal.org_unit_id).await?;
    let action = state
        .store()
        .create_action(&p, goal_id, &ActionInput { text, status })
        .await?;
    Ok(created(json!({ "action": action })))
}

async fn action_for(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> ApiResult<(valvo_core::model::Action, i64)> {
    let (action, goal) = state.store().action(id).await?;
    readable(state, p, goal.org_unit_id).await?;
    Ok((action, goal.org_unit_id))
}

/// `GET /api/v1/actions/{id}`
pub async fn get_action(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let (action, _) = action_for(&state, &p, id).await?;
    Ok(Json(json!({ "action": action })))
}

/// `PATCH /api/v1/actions/{id}`: `text` and / or `status`.
pub async fn patch_action(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let text = body
        .get("text")
        .map(|_| text_field(&body, "text", &mut errors));
    let status = enum_field(&body, "status", ActionStatus::parse, &mut errors);
    invalid(errors)?;
    let (_, org) = action_for(&state, &p, id).await?;
    writable(&state, &p, org).await?;
    let action = state
        .store()
        .update_action_with(&p, id, move |a| ActionInput {
            text: text.unwrap_or_else(|| a.text.clone()),
            status: status.unwrap_or(a.status),
        })
        .await?;
    Ok(Json(json!({ "action": action })))
}

/// `DELETE /api/v1/actions/{id}`: 204.
pub async fn delete_action(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let (_, org) = action_for(&state, &p, id).await?;
    writable(&state, &p, org).await?;
    state.store().delete_action(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
