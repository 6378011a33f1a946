//! The incident settings in the API: the event-type taxonomy and the named
//! incident handlers of org units.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use valvo_core::incident::{may_configure, EventType, EventTypeInput};
use valvo_core::plan::{ErrorCode, FieldError};

use super::{json_body, readable, text_field, ApiError, ApiPath, ApiResult, Caller};
use crate::AppState;

fn forbidden_unless_configurer(p: &valvo_core::access::Principal) -> ApiResult<()> {
    if may_configure(p) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only administrators and quality coordinators change incident settings",
        ))
    }
}

fn type_code(raw: &str) -> ApiResult<EventType> {
    EventType::parse(raw).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no event type {raw:?}"),
        )
    })
}

/// `active` and `sort_order` from a body, each `None` when absent.
fn flags(body: &Value, errors: &mut Vec<FieldError>) -> (Option<bool>, Option<i64>) {
    let active = match body.get("active") {
        None | Some(Value::Null) => None,
        Some(v) => {
            if v.as_bool().is_none() {
                errors.push(FieldError::new("active", ErrorCode::Invalid));
            }
            v.as_bool()
        }
    };
    let sort_order = match body.get("sort_order") {
        None | Some(Value::Null) => None,
        Some(v) => {
            if crate::api::as_int(v).is_none() {
                errors.push(FieldError::new("sort_order", ErrorCode::NotANumber));
            }
            crate::api::as_int(v)
        }
    };
    (active, sort_order)
}

/// `GET /api/v1/incidents/event-types`: the taxonomy, active and inactive, in
/// list order, with the number of reports of each type (public: report forms
/// elsewhere may offer the same choices).
///
/// With `?county=CODE`: the types offered in that county (shared and its
/// own) and the county's reports.
pub async fn event_types(
    State(state): State<AppState>,
    crate::api::ApiQuery(q): crate::api::ApiQuery<crate::county_lists::CountyQuery>,
) -> ApiResult<Json<Value>> {
    let tree = state.store().org_tree().await?;
    let county = crate::county_lists::asked_county(&tree, &q)?;
    let list = state.store().event_type_uses(county.as_deref()).await?;
    Ok(Json(json!({ "event_types": list })))
}

/// `POST /api/v1/incidents/event-types` with
/// `{"code", "name": {"fi", "sv", "en"}, "sort_order", "active"}`.
pub async fn create_event_type(
    State(state): State<AppState>,
    Caller(p): Caller,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Response> {
    forbidden_unless_configurer(&p)?;
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let tree = state.store().org_tree().await?;
    let own = crate::county_lists::own_county(&p, &tree);
    let county = crate::county_lists::body_county(&body, None, own, &mut errors);
    let name = text_field(&body, "name", &mut errors);
    let (active, sort_order) = flags(&body, &mut errors);
    let code = body
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let input = EventTypeInput {
        name,
        active: active.unwrap_or(true),
        sort_order: match sort_order {
            Some(o) => o,
            None => next_order(&state).await?,
        },
    };
    if let Err(mut more) = input.validate_new(&code) {
        errors.append(&mut more);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let def = state
        .store()
        .create_event_type(&p, &code, county.as_deref(), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(def)).into_response())
}

/// After the last type.
pub(crate) async fn next_order(state: &AppState) -> ApiResult<i64> {
    let types = state.store().event_types().await?;
    // After the last type, within the range a type's order may have.
    Ok((types.iter().map(|t| t.sort_order).max().unwrap_or(0) + 10).min(1_000_000))
}

/// `PUT /api/v1/incidents/event-types/{code}` with any of `name`,
/// `sort_order` and `active` (what is left out stays as it is).
pub async fn update_event_type(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(code): ApiPath<String>,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Response> {
    forbidden_unless_configurer(&p)?;
    let body = json_body(&body)?;
    let code = type_code(&code)?;
    let current = state
        .store()
        .event_types()
        .await?
        .into_iter()
        .find(|t| t.code == code)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no event type {code}"),
            )
        })?;
    let mut errors = Vec::new();
    let name = match body.get("name") {
        None | Some(Value::Null) => current.name.clone(),
        Some(_) => text_field(&body, "name", &mut errors),
    };
    let (active, sort_order) = flags(&body, &mut errors);
    // A type's county is fixed: asked for another, a conflict.
    let owner = current.county.as_deref();
    if crate::county_lists::body_county(&body, Some(owner), None, &mut errors).as_deref() != owner {
        errors.push(FieldError::new("county", ErrorCode::StateConflict));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let input = EventTypeInput {
        name,
        active: active.unwrap_or(current.active),
        sort_order: sort_order.unwrap_or(current.sort_order),
    };
    let def = state.store().update_event_type(&p, &code, &input).await?;
    Ok(Json(def).into_response())
}

/// `GET /api/v1/org-units/{id}/incident-handlers`: the unit's named handlers.
pub async fn handlers(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(org): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    readable(&state, &p, org).await?;
    let list = state.store().incident_handlers(org).await?;
    Ok(Json(json!({ "org_unit": org, "handlers": list })))
}

/// `PUT /api/v1/org-units/{id}/incident-handlers` with `{"users": [id or e-mail, …]}`:
/// names the unit's handlers (replacing the previous ones; `[]` names none).
pub async fn set_handlers(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(org): ApiPath<i64>,
    crate::api::ApiBody(body): crate::api::ApiBody,
) -> ApiResult<Json<Value>> {
    forbidden_unless_configurer(&p)?;
    let body = json_body(&body)?;
    let Some(items) = body.get("users").and_then(Value::as_array) else {
        return Err(ApiError::invalid(vec![FieldError::new(
            "users",
            ErrorCode::Required,
        )]));
    };
    let mut ids = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = match item {
            Value::Number(_) => crate::api::as_int(item),
            Value::String(email) => state.store().user_by_email(email).await?.map(|u| u.id),
            _ => {
                return Err(ApiError::invalid(vec![FieldError::new(
                    format!("users.{i}"),
                    ErrorCode::Invalid,
                )]))
            }
        };
        match id {
            Some(id) => ids.push(id),
            // As for a user outside the caller's scope (the store's answer):
            // nobody learns from the answer which addresses have accounts.
            None => {
                return Err(ApiError::invalid(vec![FieldError::new(
                    "users",
                    ErrorCode::NotFound,
                )]))
            }
        }
    }
    let list = state.store().set_incident_handlers(&p, org, &ids).await?;
    Ok(Json(json!({ "org_unit": org, "handlers": list })))
}
