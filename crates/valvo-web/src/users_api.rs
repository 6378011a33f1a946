//! Accounts in the API: users (administrators, within their scope) and
//! one's own API tokens. The same rules as the UI (`users.rs`): the store
//! checks the scope and audits every change.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use valvo_core::access::Role;
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_store::{StoreError, TokenInfo, TokenSpec, UserListing};

use crate::api::{json_body, ApiBody, ApiError, ApiPath, ApiQuery, ApiResult, Caller};
use crate::AppState;

fn user_json(l: &UserListing) -> Value {
    json!({
        "id": l.user.id, "email": l.user.email, "name": l.user.name,
        "role": l.user.role.code(), "scope": l.user.scope, "active": l.user.active,
        "sso": l.sso, "has_password": l.has_password,
        "last_sign_in_at": l.last_sign_in_at, "created_at": l.created_at,
    })
}

fn token_json(t: &TokenInfo) -> Value {
    let now = valvo_store::now_rfc3339();
    let state = if t.revoked_at.is_some() {
        "revoked"
    } else if t.live(&now) {
        "live"
    } else {
        "expired"
    };
    json!({
        "id": t.id, "user_id": t.user_id, "label": t.label, "state": state,
        "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at,
        "last_used_at": t.last_used_at, "read_only": t.read_only, "scope": t.scope,
    })
}

fn admin(p: &valvo_core::access::Principal) -> ApiResult<()> {
    if p.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only administrators manage users",
        ))
    }
}

#[derive(Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
}

/// `GET /api/v1/users?q=`
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<UsersQuery>,
) -> ApiResult<Json<Value>> {
    admin(&p)?;
    let q = q.q.unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "q: at most 200 characters",
        ));
    }
    let users = state.store().users_for(&p, &q).await?;
    Ok(Json(
        json!({ "users": users.iter().map(user_json).collect::<Vec<_>>() }),
    ))
}

fn string(body: &Value, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match body.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(name, ErrorCode::Invalid));
            None
        }
    }
}

/// The role and scope a body names (`None`: not named).
fn role_scope(body: &Value, errors: &mut Vec<FieldError>) -> (Option<Role>, Option<Option<i64>>) {
    let role = string(body, "role", errors).and_then(|r| {
        let role = Role::parse(&r);
        if role.is_none() {
            errors.push(FieldError::new("role", ErrorCode::Invalid));
        }
        role
    });
    let scope = match body.get("scope") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => match crate::api::as_int(v) {
            Some(id) => Some(Some(id)),
            None => {
                errors.push(FieldError::new("scope", ErrorCode::Invalid));
                None
            }
        },
    };
    (role, scope)
}

/// A scope outside the caller's, or a unit that does not exist: the field.
fn scope_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Forbidden => {
            ApiError::invalid(vec![FieldError::new("scope", ErrorCode::NotFound)])
        }
        other => other.into(),
    }
}

/// `POST /api/v1/users` `{email, name, role, scope}`: an invitation. With
/// passwords on, the answer holds a one-time link that sets the password.
pub async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    admin(&p)?;
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let email = string(&body, "email", &mut errors).unwrap_or_default();
    let name = string(&body, "name", &mut errors).unwrap_or_default();
    let (role, scope) = role_scope(&body, &mut errors);
    if role.is_none() && !errors.iter().any(|e| e.field == "role") {
        errors.push(FieldError::new("role", ErrorCode::Required));
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let store = state.store();
    let user = match store
        .create_user(&p, &email, &name, role, scope.flatten(), None)
        .await
    {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::invalid(vec![FieldError::new(
                "email",
                ErrorCode::StateConflict,
            )]))
        }
        Err(e) => return Err(scope_error(e)),
    };
    let link = if state.config().password_login {
        let secret = store.password_link(&p, user.id, false).await?;
        Some(format!(
            "{}/password/{secret}",
            crate::feedback::base_url(&state, &headers)
        ))
    } else {
        None
    };
    let listing = store.user_for(&p, user.id).await?;
    let mut out = user_json(&listing);
    out["password_link"] = json!(link);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/users/{}", user.id))],
        Json(out),
    )
        .into_response())
}

/// `GET /api/v1/users/{id}`
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    admin(&p)?;
    Ok(Json(user_json(&state.store().user_for(&p, id).await?)))
}

/// `PATCH /api/v1/users/{id}` `{role, scope, active}`: what is given changes.
pub async fn patch(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Value>> {
    admin(&p)?;
    let body = json_body(&body)?;
    if !body.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be an object",
        ));
    }
    let mut errors = Vec::new();
    let (role, scope) = role_scope(&body, &mut errors);
    let active = match body.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(FieldError::new("active", ErrorCode::Invalid));
            None
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let store = state.store();
    let current = store.user_for(&p, id).await?;
    if role.is_some() || scope.is_some() {
        let role = role.unwrap_or(current.user.role);
        let scope = scope.unwrap_or(current.user.scope);
        store
            .set_role(&p, id, role, scope)
            .await
            .map_err(scope_error)?;
    }
    if let Some(a) = active {
        store.set_active(&p, id, a).await?;
    }
    Ok(Json(user_json(&store.user_for(&p, id).await?)))
}

/// `POST /api/v1/users/{id}/password-reset`: removes the password, ends the
/// user's sessions, and answers a one-time link that sets a new one.
pub async fn reset_password(
    State(state): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    admin(&p)?;
    if !state.config().password_login {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "passwords_off",
            "sign-in with a password is turned off",
        ));
    }
    let secret = state.store().password_link(&p, id, true).await?;
    Ok(Json(json!({
        "password_link": format!("{}/password/{secret}", crate::feedback::base_url(&state, &headers))
    })))
}

/// `GET /api/v1/tokens`: the caller's own tokens (never their secrets).
pub async fn tokens(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<Json<Value>> {
    let Some(me) = p.user_id else {
        return Ok(Json(json!({ "tokens": [] })));
    };
    let list = state.store().tokens(&p, Some(me)).await?;
    Ok(Json(
        json!({ "tokens": list.iter().map(token_json).collect::<Vec<_>>() }),
    ))
}

/// `POST /api/v1/tokens` `{label, expires_in_days, read_only}`: a new token
/// of the caller's; its secret is in the answer, once.
pub async fn create_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let Some(me) = p.user_id else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "no user"));
    };
    let body = json_body(&body)?;
    let mut errors = Vec::new();
    let label = string(&body, "label", &mut errors).unwrap_or_default();
    let expires_in_days = match body.get("expires_in_days") {
        None | Some(Value::Null) => None,
        Some(v) => match crate::api::as_int(v) {
            Some(d) => Some(d),
            None => {
                errors.push(FieldError::new("expires_in_days", ErrorCode::Invalid));
                None
            }
        },
    };
    let read_only = match body.get("read_only") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("read_only", ErrorCode::Invalid));
            false
        }
    };
    let scope = match body.get("scope") {
        None | Some(Value::Null) => None,
        Some(v) => match crate::api::as_int(v) {
            Some(id) => Some(id),
            None => {
                errors.push(FieldError::new("scope", ErrorCode::Invalid));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let spec = TokenSpec {
        label,
        expires_in_days,
        read_only,
        // Within the caller's own scope (a narrower one than the user's, when
        // the request is made with such a token): the store checks the user's.
        scope: scope.or(p.scope),
    };
    if let (Some(want), Some(have)) = (spec.scope, p.scope) {
        let tree = state.store().org_tree().await?;
        if !tree.is_in_subtree(want, have) {
            return Err(ApiError::invalid(vec![FieldError::new(
                "scope",
                ErrorCode::NotFound,
            )]));
        }
    }
    let (id, secret) = state
        .store()
        .create_token_with(&p, me, &spec)
        .await
        .map_err(|e| match e {
            StoreError::Invalid(f) => ApiError::invalid(
                f.into_iter()
                    .map(|e| {
                        if e.field == "scope" {
                            FieldError::new("scope", ErrorCode::NotFound)
                        } else {
                            e
                        }
                    })
                    .collect(),
            ),
            other => other.into(),
        })?;
    let info = state.store().token(id).await?.ok_or(StoreError::NotFound)?;
    let mut out = token_json(&info);
    out["token"] = json!(secret);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/tokens/{id}"))],
        Json(out),
    )
        .into_response())
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the caller's tokens (an
/// administrator: anyone's); it answers 401 at once on every instance. The
/// token the request is made with cannot revoke itself (409): that is done
/// with another token or on the account page.
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let own = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    if let Some(secret) = own {
        if state.store().token_id_of(secret).await? == Some(id) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "a token cannot revoke itself; revoke it with another token or on the account page",
            ));
        }
    }
    state.store().revoke_token(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
