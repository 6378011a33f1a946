//! Accounts in the UI: administrators list, search and invite users, change
//! their role and scope, deactivate them and reset their passwords
//! (`/users`); everyone manages their own API tokens (`/account`); a
//! one-time link sets a password (`/password/{link}`). An administrator
//! with a scope manages the users within it only. Every change is audited
//! by the store.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use valvo_core::access::{Principal, Role};
use valvo_core::period::format_time;
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::Lang;
use valvo_core::OrgTree;
use valvo_store::{Notify, StoreError, TokenInfo, TokenSpec, UserListing};

use crate::ctx::{Page, UiPath, UiQuery};
use crate::error::{ErrorKind, UiError};
use crate::forms::{Builder, FormData, Group, InputKind};
use crate::html::Layout;
use crate::ui::{form_page, render, see_other, tree, UiResult};
use crate::AppState;

/// The administrator acting.
fn admin(page: &Page) -> Result<Principal, UiError> {
    let p = page.principal()?;
    if p.role == Role::Admin {
        Ok(p)
    } else {
        Err(page.error(ErrorKind::Forbidden))
    }
}

fn role_codes() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.code()).collect()
}

fn unit_name(page: &Page, tree: &OrgTree, id: Option<i64>) -> String {
    match id.and_then(|i| tree.get(i)) {
        Some(n) => n
            .name
            .resolve(page.lang)
            .map(|r| r.text.to_string())
            .unwrap_or_else(|| n.code.clone()),
        None => page.tr.t("users-scope-all"),
    }
}

/// One row of the users table.
struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    scope: String,
    active: bool,
    sso: bool,
    last_sign_in: String,
}

fn user_row(page: &Page, tree: &OrgTree, l: &UserListing) -> UserRow {
    UserRow {
        id: l.user.id,
        email: l.user.email.clone(),
        name: l.user.name.clone(),
        role: page.tr.t(&format!("role-{}", l.user.role.code())),
        scope: unit_name(page, tree, l.user.scope),
        active: l.user.active,
        sso: l.sso,
        last_sign_in: l
            .last_sign_in_at
            .as_deref()
            .map(|t| format_time(t, page.lang))
            .unwrap_or_else(|| page.tr.t("users-never")),
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    l: Layout,
    q: String,
    rows: Vec<UserRow>,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// `GET /users?q=`: the users an administrator manages.
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    UiQuery(query): UiQuery<SearchQuery>,
) -> UiResult {
    let p = admin(&page)?;
    let q = query.q.unwrap_or_default();
    let tree = tree(&state, &page).await?;
    let users = state
        .store()
        .users_for(&p, &q)
        .await
        .map_err(|e| page.error(e))?;
    let rows = users.iter().map(|u| user_row(&page, &tree, u)).collect();
    let l = Layout::new(&page, page.tr.t("users-title"));
    Ok(render(&UsersPage { l, q, rows }, StatusCode::OK))
}

/// Units an administrator may give as a scope: (id, name by depth).
fn scope_options(page: &Page, tree: &OrgTree, p: &Principal) -> Vec<(String, String)> {
    let mut options = Vec::new();
    if p.scope.is_none() {
        options.push((String::new(), page.tr.t("users-scope-all")));
    }
    options.extend(crate::ombudsman::ui::unit_options(page, tree, &|id| {
        p.may_see_user(tree, Some(id))
    }));
    options
}

fn user_form(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let b = Builder::new(&page.tr, data, errors);
    let mut email = b.plain("email", InputKind::Text, true);
    email.input_type = "email";
    let name = b.plain("name", InputKind::Text, true);
    let role = b.select("role", &role_codes(), "role");
    let mut scope = b.plain("scope", InputKind::Select, false);
    scope.options = scope_options(page, tree, p);
    let groups = vec![Group {
        legend: String::new(),
        fields: vec![email, name, role, scope],
    }];
    let form = b.form("/users/new".into(), "users-invite", "/users".into(), groups);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut resp = form_page(
        page,
        page.tr.t("users-new-title"),
        vec![("/users".into(), page.tr.t("users-title"))],
        crate::html::escape(&page.tr.t("users-new-intro")),
        form,
    );
    *resp.status_mut() = status;
    resp
}

/// `GET /users/new`: the invitation form.
pub async fn new_form(State(state): State<AppState>, page: Page) -> UiResult {
    let p = admin(&page)?;
    let tree = tree(&state, &page).await?;
    let mut data = FormData::new();
    data.insert("role".into(), Role::Viewer.code().into());
    if let Some(s) = p.scope {
        data.insert("scope".into(), s.to_string());
    }
    Ok(user_form(&page, &tree, &p, data, &[]))
}

fn role_and_scope(data: &FormData, errors: &mut Vec<FieldError>) -> (Option<Role>, Option<i64>) {
    let role = data.get("role").and_then(|r| Role::parse(r));
    if role.is_none() {
        errors.push(FieldError::new("role", ErrorCode::Required));
    }
    let scope = match data.get("scope").map(|s| s.trim()).unwrap_or("") {
        "" => None,
        s => match s.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new("scope", ErrorCode::Invalid));
                None
            }
        },
    };
    (role, scope)
}

/// `POST /users/new`: makes the account; with passwords on, shows the
/// one-time link that sets the password (once: it is kept only hashed).
pub async fn create(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = admin(&page)?;
    let tree = tree(&state, &page).await?;
    let mut errors = Vec::new();
    let (role, scope) = role_and_scope(&data, &mut errors);
    let email = data.get("email").cloned().unwrap_or_default();
    let name = data.get("name").cloned().unwrap_or_default();
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Ok(user_form(&page, &tree, &p, data, &errors));
    };
    let store = state.store();
    let user = match store
        .create_user(&p, &email, &name, role, scope, None)
        .await
    {
        Ok(u) => u,
        Err(StoreError::Invalid(errors)) => return Ok(user_form(&page, &tree, &p, data, &errors)),
        Err(StoreError::Conflict(_)) => {
            let errors = [FieldError::new("email", ErrorCode::StateConflict)];
            return Ok(user_form(&page, &tree, &p, data, &errors));
        }
        Err(StoreError::Forbidden) => {
            let errors = [FieldError::new("scope", ErrorCode::Invalid)];
            return Ok(user_form(&page, &tree, &p, data, &errors));
        }
        Err(e) => return Err(page.error(e)),
    };
    if !state.config().password_login {
        return Ok(see_other(&format!("/users/{}", user.id)));
    }
    let link = store
        .password_link(&p, user.id, false)
        .await
        .map_err(|e| page.error(e))?;
    let link = format!(
        "{}/password/{link}",
        crate::feedback::base_url(&state, &headers)
    );
    user_page(&state, &page, &p, user.id, Some(link), StatusCode::CREATED).await
}

struct TokenRow {
    id: i64,
    label: String,
    state: String,
    live: bool,
    created: String,
    expires: String,
    last_used: String,
    access: String,
}

fn token_rows(page: &Page, tree: &OrgTree, tokens: &[TokenInfo]) -> Vec<TokenRow> {
    let now = valvo_store::now_rfc3339();
    let time = |t: &Option<String>, none: &str| {
        t.as_deref()
            .map(|t| format_time(t, page.lang))
            .unwrap_or_else(|| page.tr.t(none))
    };
    tokens
        .iter()
        .map(|t| {
            let state = if t.revoked_at.is_some() {
                "revoked"
            } else if t.live(&now) {
                "live"
            } else {
                "expired"
            };
            let mut access = page.tr.t(if t.read_only {
                "tokens-read-only"
            } else {
                "tokens-read-write"
            });
            if t.scope.is_some() {
                access = format!("{access}, {}", unit_name(page, tree, t.scope));
            }
            TokenRow {
                id: t.id,
                label: t.label.clone(),
                state: page.tr.t(&format!("tokens-state-{state}")),
                live: state == "live",
                created: format_time(&t.created_at, page.lang),
                expires: time(&t.expires_at, "tokens-no-expiry"),
                last_used: time(&t.last_used_at, "users-never"),
                access,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    l: Layout,
    u: UserRow,
    self_: bool,
    link: Option<String>,
    role_options: Vec<(String, String, bool)>,
    scope_options: Vec<(String, String, bool)>,
    password_login: bool,
    has_password: bool,
    tokens: Vec<TokenRow>,
    back: String,
}

async fn user_page(
    state: &AppState,
    page: &Page,
    p: &Principal,
    id: i64,
    link: Option<String>,
    status: StatusCode,
) -> UiResult {
    let store = state.store();
    let listing = store.user_for(p, id).await.map_err(|e| page.error(e))?;
    let tree = tree(state, page).await?;
    let tokens = store
        .tokens(&Principal::system("users"), Some(id))
        .await
        .map_err(|e| page.error(e))?;
    let u = user_row(page, &tree, &listing);
    let role_options = Role::ALL
        .iter()
        .map(|r| {
            (
                r.code().to_string(),
                page.tr.t(&format!("role-{}", r.code())),
                *r == listing.user.role,
            )
        })
        .collect();
    let current = listing
        .user
        .scope
        .map(|s| s.to_string())
        .unwrap_or_default();
    let scope_options = scope_options(page, &tree, p)
        .into_iter()
        .map(|(v, label)| {
            let chosen = v == current;
            (v, label, chosen)
        })
        .collect();
    let l = Layout::new(page, listing.user.name.clone());
    Ok(render(
        &UserPage {
            l,
            self_: p.user_id == Some(id),
            u,
            link,
            role_options,
            scope_options,
            password_login: state.config().password_login,
            has_password: listing.has_password,
            tokens: token_rows(page, &tree, &tokens),
            back: format!("/users/{id}"),
        },
        status,
    ))
}

/// `GET /users/{id}`
pub async fn show(State(state): State<AppState>, page: Page, UiPath(id): UiPath<i64>) -> UiResult {
    let p = admin(&page)?;
    user_page(&state, &page, &p, id, None, StatusCode::OK).await
}

/// `POST /users/{id}/role` (`role`, `scope`).
pub async fn set_role(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = admin(&page)?;
    let mut errors = Vec::new();
    let (role, scope) = role_and_scope(&data, &mut errors);
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Err(page.error(ErrorKind::BadRequest("error-invalid")));
    };
    match state.store().set_role(&p, id, role, scope).await {
        Ok(_) => Ok(see_other(&format!("/users/{id}"))),
        Err(StoreError::Invalid(_)) => Err(page.error(ErrorKind::BadRequest("users-error-scope"))),
        Err(e) => Err(page.error(e)),
    }
}

/// `POST /users/{id}/active` (`active`: 1 or 0).
pub async fn set_active(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = admin(&page)?;
    let active = data.get("active").map(String::as_str) == Some("1");
    state
        .store()
        .set_active(&p, id, active)
        .await
        .map_err(|e| page.error(e))?;
    Ok(see_other(&format!("/users/{id}")))
}

/// `POST /users/{id}/password`: removes the password, ends the user's
/// sessions and shows a one-time link to set a new one.
pub async fn reset_password(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = admin(&page)?;
    if !state.config().password_login {
        return Err(page.error(ErrorKind::NotFound));
    }
    let link = state
        .store()
        .password_link(&p, id, true)
        .await
        .map_err(|e| page.error(e))?;
    let link = format!(
        "{}/password/{link}",
        crate::feedback::base_url(&state, &headers)
    );
    user_page(&state, &page, &p, id, Some(link), StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    email: String,
    role: String,
    scope: String,
    tokens: Vec<TokenRow>,
    secret: Option<String>,
    form: crate::forms::FormView,
    back: String,
    notify_options: Vec<(String, String, bool)>,
    lang_options: Vec<(String, String, bool)>,
    notify_saved: bool,
}

fn token_form(page: &Page, data: FormData, errors: &[FieldError]) -> crate::forms::FormView {
    let b = Builder::new(&page.tr, data, errors);
    let label = b.plain("token_label", InputKind::Text, true);
    let expiry = b.select(
        "token_expiry",
        &["30", "90", "365", "never"],
        "tokens-expiry",
    );
    let access = b.select("token_access", &["read", "write"], "tokens-access");
    let groups = vec![Group {
        legend: b.legend_text("tokens-new"),
        fields: vec![label, expiry, access],
    }];
    b.form(
        "/account/tokens".into(),
        "tokens-create",
        String::new(),
        groups,
    )
}

async fn account_page(
    state: &AppState,
    page: &Page,
    data: FormData,
    errors: &[FieldError],
    secret: Option<String>,
) -> UiResult {
    let user = page.require_user()?.clone();
    let p = user.principal();
    let tree = tree(state, page).await?;
    let tokens = state
        .store()
        .tokens(&p, Some(user.id))
        .await
        .map_err(|e| page.error(e))?;
    let (notify, lang) = state
        .store()
        .notify_prefs(user.id)
        .await
        .map_err(|e| page.error(e))?;
    let notify_options = Notify::ALL
        .iter()
        .map(|n| {
            (
                n.code().to_string(),
                page.tr.t(&format!("notify-{}", n.code())),
                *n == notify,
            )
        })
        .collect();
    let lang_options = Lang::ALL
        .iter()
        .map(|l| {
            (
                l.code().to_string(),
                page.tr.t(&format!("lang-{}", l.code())),
                l.code() == lang,
            )
        })
        .collect();
    let l = Layout::new(page, page.tr.t("account-title"));
    let status = if !errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if secret.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(render(
        &AccountPage {
            l,
            email: user.email.clone(),
            role: page.tr.t(&format!("role-{}", user.role.code())),
            scope: unit_name(page, &tree, user.scope),
            tokens: token_rows(page, &tree, &tokens),
            secret,
            form: token_form(page, data, errors),
            back: "/account".into(),
            notify_options,
            lang_options,
            notify_saved: page.query.split('&').any(|kv| kv == "saved=1"),
        },
        status,
    ))
}

/// `GET /account`: one's own account and API tokens.
pub async fn account(State(state): State<AppState>, page: Page) -> UiResult {
    let mut data = FormData::new();
    data.insert("token_expiry".into(), "90".into());
    data.insert("token_access".into(), "read".into());
    account_page(&state, &page, data, &[], None).await
}

/// `POST /account/tokens` (`token_label`, `token_expiry`, `token_access`):
/// a new token, its secret shown once.
pub async fn create_token(
    State(state): State<AppState>,
    page: Page,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let user = page.require_user()?.clone();
    let mut errors = Vec::new();
    let label = data
        .get("token_label")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if label.is_empty() {
        errors.push(FieldError::new("token_label", ErrorCode::Required));
    }
    let expires_in_days = match data.get("token_expiry").map(String::as_str) {
        Some("never") => None,
        Some(d) => match d.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new("token_expiry", ErrorCode::Invalid));
                None
            }
        },
        None => {
            errors.push(FieldError::new("token_expiry", ErrorCode::Required));
            None
        }
    };
    let read_only = match data.get("token_access").map(String::as_str) {
        Some("read") => true,
        Some("write") => false,
        _ => {
            errors.push(FieldError::new("token_access", ErrorCode::Required));
            true
        }
    };
    if !errors.is_empty() {
        return account_page(&state, &page, data, &errors, None).await;
    }
    let spec = TokenSpec {
        label,
        expires_in_days,
        read_only,
        scope: None,
    };
    match state
        .store()
        .create_token_with(&user.principal(), user.id, &spec)
        .await
    {
        Ok((_, secret)) => {
            let mut fresh = FormData::new();
            fresh.insert("token_expiry".into(), "90".into());
            fresh.insert("token_access".into(), "read".into());
            account_page(&state, &page, fresh, &[], Some(secret)).await
        }
        Err(StoreError::Invalid(errors)) => {
            let errors: Vec<FieldError> = errors
                .into_iter()
                .map(|e| {
                    let field = match e.field.as_str() {
                        "expires_in_days" => "token_expiry",
                        _ => "token_label",
                    };
                    FieldError::new(field, e.code)
                })
                .collect();
            account_page(&state, &page, data, &errors, None).await
        }
        Err(e) => Err(page.error(e)),
    }
}

/// `POST /tokens/{id}/revoke` (`back`: the page to return to).
pub async fn revoke_token(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = page.principal()?;
    state
        .store()
        .revoke_token(&p, id)
        .await
        .map_err(|e| page.error(e))?;
    let back = crate::ui::safe_next(data.get("back").map(String::as_str));
    Ok(see_other(&back))
}

fn password_form(page: &Page, secret: &str, errors: &[FieldError]) -> Response {
    let b = Builder::new(&page.tr, FormData::new(), errors);
    let mut pw = b.plain("new_password", InputKind::Text, true);
    pw.input_type = "password";
    let mut again = b.plain("new_password_again", InputKind::Text, true);
    again.input_type = "password";
    let groups = vec![Group {
        legend: String::new(),
        fields: vec![pw, again],
    }];
    let form = b.form(format!("/password/{secret}"), "save", "/".into(), groups);
    let mut resp = form_page(
        page,
        page.tr.t("password-title"),
        Vec::new(),
        crate::html::escape(&page.tr.t("password-intro")),
        form,
    );
    if !errors.is_empty() {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

/// `GET /password/{link}`: the form that sets a password, while the link works.
pub async fn password_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(secret): UiPath<String>,
) -> UiResult {
    match state
        .store()
        .password_link_user(&secret)
        .await
        .map_err(|e| page.error(e))?
    {
        Some(_) => Ok(password_form(&page, &secret, &[])),
        None => Err(page.error(ErrorKind::BadRequest("password-link-gone"))),
    }
}

/// `POST /password/{link}` (`new_password`, `new_password_again`). The
/// link is the proof: a page opened without a session carries no form token.
pub async fn password_set(
    State(state): State<AppState>,
    page: Page,
    UiPath(secret): UiPath<String>,
    Form(data): Form<FormData>,
) -> UiResult {
    let pw = data.get("new_password").cloned().unwrap_or_default();
    let again = data.get("new_password_again").cloned().unwrap_or_default();
    if pw != again {
        let errors = [FieldError::new("new_password_again", ErrorCode::Invalid)];
        return Ok(password_form(&page, &secret, &errors));
    }
    match state.store().use_password_link(&secret, &pw).await {
        Ok(_) => Ok(crate::ui::login_notice(&state, &page, "password-set")),
        Err(StoreError::Invalid(_)) => {
            let errors = [FieldError::new("new_password", ErrorCode::Invalid)];
            Ok(password_form(&page, &secret, &errors))
        }
        Err(StoreError::NotFound) => Err(page.error(ErrorKind::BadRequest("password-link-gone"))),
        Err(e) => Err(page.error(e)),
    }
}

/// `POST /account/notify` (`notify`, `notify_lang`): how one hears of
/// reports and deadlines.
pub async fn set_notify(
    State(state): State<AppState>,
    page: Page,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let user = page.require_user()?.clone();
    let notify = data.get("notify").and_then(|n| Notify::parse(n));
    let lang = data.get("notify_lang").and_then(|l| Lang::parse(l));
    let (Some(notify), Some(lang)) = (notify, lang) else {
        return Err(page.error(ErrorKind::BadRequest("error-invalid")));
    };
    state
        .store()
        .set_notify_prefs(&user, notify, lang)
        .await
        .map_err(|e| page.error(e))?;
    Ok(see_other("/account?saved=1#notify-heading"))
}
