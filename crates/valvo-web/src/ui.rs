//! The server-rendered UI. Works without JavaScript; every string comes from
//! the Fluent files; every write goes through the store, which checks scope.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use valvo_core::access::Principal;
use valvo_core::incident::IndicatorSource;
use valvo_core::plan::{
    ActionInput, ActionStatus, Area, ErrorCode, FieldError, FollowUpInput, GoalInput,
    IndicatorInput,
};
use valvo_core::{
    change, Direction, I18nText, Lang, OrgTree, Period, PeriodKind, ProducerType, ServiceType,
};
use valvo_store::{FollowUp, GoalFull, Indicator, StoreError};

use crate::ctx::{cookie, set_cookie, Page, UiPath, UiQuery, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::{ErrorKind, UiError};
use crate::forms::{self, Builder, FormData, FormView, Group, InputKind};
use crate::html::{escape, paragraphs_html, paragraphs_in, status_html, text_html, Layout};
use crate::i18n::Tr;
use crate::AppState;

pub(crate) type UiResult = Result<Response, UiError>;

pub(crate) fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn this_year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

pub(crate) async fn tree(
    state: &AppState,
    page: &Page,
) -> Result<std::sync::Arc<OrgTree>, UiError> {
    state.store().org_tree().await.map_err(|e| page.error(e))
}

/// The principal, after checking it may read `org`.
pub(crate) async fn can_read(
    state: &AppState,
    page: &Page,
    org: i64,
) -> Result<(Principal, std::sync::Arc<OrgTree>), UiError> {
    allowed_unit(state, page, org, |p, tree| p.can_read(tree, org)).await
}

/// The principal and the org tree, if `org` exists (404) and `allowed`
/// says yes (403).
async fn allowed_unit(
    state: &AppState,
    page: &Page,
    org: i64,
    allowed: impl FnOnce(&Principal, &OrgTree) -> bool,
) -> Result<(Principal, std::sync::Arc<OrgTree>), UiError> {
    let p = page.principal()?;
    let tree = tree(state, page).await?;
    if tree.get(org).is_none() {
        return Err(page.error(ErrorKind::NotFound));
    }
    if !allowed(&p, &tree) {
        return Err(page.error(ErrorKind::Forbidden));
    }
    Ok((p, tree))
}

/// The page of `org`'s statistics: for whoever reads the unit, and for the
/// national role (which reads statistics and nothing else).
pub(crate) async fn can_read_statistics(
    state: &AppState,
    page: &Page,
    org: i64,
) -> Result<(Principal, std::sync::Arc<OrgTree>), UiError> {
    allowed_unit(state, page, org, |p, tree| p.can_read_statistics(tree, org)).await
}

/// The trail above a statistics page: to the units' own pages for whoever
/// reads them, to the same statistics of each unit for the national role.
pub(crate) fn statistics_crumbs(
    tr: &Tr,
    tree: &OrgTree,
    p: &Principal,
    id: i64,
    page: &str,
) -> Vec<(String, String)> {
    if p.role != valvo_core::access::Role::National {
        return crumbs(tr, tree, p, id);
    }
    tree.path(id)
        .into_iter()
        .filter(|n| p.can_read_statistics(tree, n.id))
        .map(|n| (format!("/org/{}/{page}", n.id), text_html(tr, &n.name)))
        .collect()
}

pub(crate) async fn can_write(
    state: &AppState,
    page: &Page,
    org: i64,
) -> Result<(Principal, std::sync::Arc<OrgTree>), UiError> {
    let (p, tree) = can_read(state, page, org).await?;
    if !p.can_write(&tree, org) {
        return Err(page.error(ErrorKind::Forbidden));
    }
    Ok((p, tree))
}

fn org_name(tr: &Tr, tree: &OrgTree, id: i64) -> String {
    tree.get(id)
        .map(|n| text_html(tr, &n.name))
        .unwrap_or_default()
}

fn org_name_plain(tr: &Tr, tree: &OrgTree, id: i64) -> String {
    tree.get(id)
        .and_then(|n| n.name.resolve(tr.lang()).map(|r| r.text.to_string()))
        .unwrap_or_default()
}

/// Breadcrumb links: (href, html label), root first, only readable nodes.
pub(crate) fn crumbs(tr: &Tr, tree: &OrgTree, p: &Principal, id: i64) -> Vec<(String, String)> {
    tree.path(id)
        .into_iter()
        .filter(|n| p.can_read(tree, n.id))
        .map(|n| (format!("/org/{}", n.id), text_html(tr, &n.name)))
        .collect()
}

// ---------------------------------------------------------------- home, login

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    tree_html: String,
    /// The sentence above the tree.
    intro: String,
    admin: bool,
    /// Missing figures: (unit, period, href, entered, expected).
    missing: Vec<(String, String, String, String, String)>,
}

/// The national role's start: every county in its scope, with the links to
/// its statistics, and the comparison of them.
fn national_home(tr: &Tr, tree: &OrgTree, p: &Principal) -> String {
    let mut html = format!(
        "<p><a href=\"/public/comparison\">{}</a></p><h2>{}</h2><ul class=\"plain\">",
        escape(&tr.t("national-comparison")),
        escape(&tr.t("national-counties"))
    );
    // The highest units in scope: the counties, or the scope's root.
    let tops = tree.nodes().iter().filter(|n| {
        p.can_read_statistics(tree, n.id)
            && n.parent_id
                .is_none_or(|parent| !p.can_read_statistics(tree, parent))
    });
    for n in tops {
        html.push_str(&format!(
            "<li>{} · <a href=\"/org/{id}/feedback\">{}</a> · <a href=\"/org/{id}/incidents\">{}</a></li>",
            text_html(tr, &n.name),
            escape(&tr.t("national-feedback")),
            escape(&tr.t("national-incidents")),
            id = n.id,
        ));
    }
    html.push_str("</ul>");
    html
}

/// `GET /`: the org tree the user may see.
pub async fn home(State(state): State<AppState>, page: Page) -> UiResult {
    let mut l = Layout::new(&page, page.tr.t("home-title"));
    let Some(user) = &page.user else {
        l.title = page.tr.t("welcome-title");
        return Ok(render(
            &HomePage {
                l,
                tree_html: String::new(),
                intro: String::new(),
                admin: false,
                missing: Vec::new(),
            },
            StatusCode::OK,
        ));
    };
    let p = user.principal();
    let tree = tree(&state, &page).await?;
    if p.role == valvo_core::access::Role::National {
        l.title = page.tr.t("national-title");
        return Ok(render(
            &HomePage {
                l,
                tree_html: national_home(&page.tr, &tree, &p),
                intro: page.tr.t("national-intro"),
                admin: false,
                missing: Vec::new(),
            },
            StatusCode::OK,
        ));
    }
    let mut html = String::new();
    let mut depth_stack: Vec<usize> = Vec::new();
    for (_, node) in tree.walk() {
        if !p.can_read(&tree, node.id) {
            continue;
        }
        // Depth relative to the nearest visible ancestor keeps scoped users' trees tidy.
        let visible_depth = tree
            .ancestors(node.id)
            .iter()
            .filter(|a| p.can_read(&tree, a.id))
            .count();
        while depth_stack.last().is_some_and(|d| *d > visible_depth) {
            html.push_str("</li></ul>");
            depth_stack.pop();
        }
        if depth_stack.last() == Some(&visible_depth) {
            html.push_str("</li>");
        } else {
            html.push_str("<ul class=\"tree\">");
            depth_stack.push(visible_depth);
        }
        html.push_str(&format!(
            "<li><a href=\"/org/{}\">{}</a> <span class=\"meta\">{}</span>",
            node.id,
            text_html(&page.tr, &node.name),
            escape(&page.tr.t(&format!("producer-{}", node.producer.code())))
        ));
    }
    while depth_stack.pop().is_some() {
        html.push_str("</li></ul>");
    }
    if html.is_empty() {
        html = format!("<p>{}</p>", escape(&page.tr.t("tree-empty")));
    }
    // What the user's units still lack of this year's ended periods (the
    // first few; the figures page has all).
    let missing = if p.role.writes() {
        let lang = page.tr.lang();
        crate::plan::entry::missing_rows(&state, &page, &p, this_year(), true)
            .await?
            .into_iter()
            .rev()
            .take(8)
            .map(|(u, per, href, e, x)| {
                (
                    u,
                    per,
                    href,
                    valvo_core::format_number(e as f64, lang),
                    valvo_core::format_number(x as f64, lang),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(
        &HomePage {
            l,
            tree_html: html,
            intro: page.tr.t("home-intro"),
            admin: p.can_administer(),
            missing,
        },
        StatusCode::OK,
    ))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    next: String,
    token: String,
    email: String,
    failed: bool,
    /// Sign-in through the county's identity provider is offered.
    sso: bool,
    /// Where it starts (returning to `next`).
    sso_href: String,
    /// The e-mail and password form is offered.
    password: bool,
    /// Why a sign-in through the identity provider did not succeed (a message key).
    notice: Option<&'static str>,
    /// Something done that the person is told of (a message key).
    info: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where to go after logging in: a local path only. Browsers drop tabs and
/// line breaks from a URL and read `\` as `/`, so `/\t/evil.example`
/// would become `//evil.example`, another site: any control character,
/// space or backslash, and a second leading slash, refuse the address.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod next_tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        for good in ["/", "/org/1", "/incidents?x=1#y", "/%2F%2Fevil.example"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "evil.example",
            "",
            "/\u{0}x",
            "/\u{2028}/evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

pub(crate) fn login_form(
    state: &AppState,
    page: &Page,
    next: String,
    email: String,
    failed: bool,
) -> Response {
    login_page_with(state, page, next, email, failed, None)
}

/// The sign-in page telling of something done (`info`, a message key).
pub(crate) fn login_notice(state: &AppState, page: &Page, info: &'static str) -> Response {
    login_full(
        state,
        page,
        "/".into(),
        String::new(),
        false,
        None,
        Some(info),
    )
}

/// The sign-in page, with `notice` (a message key) saying why a sign-in
/// through the identity provider did not succeed.
pub(crate) fn login_page_with(
    state: &AppState,
    page: &Page,
    next: String,
    email: String,
    failed: bool,
    notice: Option<&'static str>,
) -> Response {
    login_full(state, page, next, email, failed, notice, None)
}

fn login_full(
    state: &AppState,
    page: &Page,
    next: String,
    email: String,
    failed: bool,
    notice: Option<&'static str>,
    info: Option<&'static str>,
) -> Response {
    let token = valvo_store::random_secret();
    let l = Layout::new(page, page.tr.t("login-title"));
    let status = if failed || notice.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut resp = render(
        &LoginPage {
            l,
            sso_href: crate::sso::start_path(&next),
            next,
            token: token.clone(),
            email,
            failed,
            sso: state.oidc().is_some(),
            info,
            password: state.config().password_login,
            notice,
        },
        status,
    );
    let c = set_cookie(
        LOGIN_CSRF_COOKIE,
        &token,
        Some(3600),
        state.config().cookie_secure,
    );
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// `GET /login`
pub async fn login_page(
    State(state): State<AppState>,
    page: Page,
    UiQuery(q): UiQuery<NextQuery>,
) -> UiResult {
    let next = safe_next(q.next.as_deref());
    // With passwords off, the county's sign-in service is the only way in.
    if !state.config().password_login && state.oidc().is_some() {
        return Ok(see_other(&crate::sso::start_path(&next)));
    }
    Ok(login_form(&state, &page, next, String::new(), false))
}

/// `POST /login`
pub async fn login(
    State(state): State<AppState>,
    crate::ops::ClientIp(ip): crate::ops::ClientIp,
    page: Page,
    headers: HeaderMap,
    Form(data): Form<FormData>,
) -> UiResult {
    let submitted = data.get("token").map(String::as_str).unwrap_or("");
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !crate::ctx::constant_eq(submitted.as_bytes(), expected.as_bytes()) {
        return Err(page.error(ErrorKind::Csrf));
    }
    // Counted before the password is checked: attempts at once cannot
    // together exceed the limit, on this instance or any other.
    let Some(window) = state.login_attempt(ip).await else {
        tracing::warn!("login refused: too many failed attempts");
        return Err(page.error(ErrorKind::TooManyRequests));
    };
    let email = data.get("email").cloned().unwrap_or_default();
    let password = data.get("password").cloned().unwrap_or_default();
    let next = safe_next(data.get("next").map(String::as_str));
    if !state.config().password_login {
        return Ok(login_page_with(
            &state,
            &page,
            next,
            String::new(),
            false,
            Some("login-password-off"),
        ));
    }
    let user = state
        .store()
        .authenticate(&email, &password)
        .await
        .map_err(|e| page.error(e))?;
    let Some(user) = user else {
        tracing::info!("login failed");
        if let Err(e) = state
            .store()
            .record_failed_sign_in(&email, "password", "password")
            .await
        {
            tracing::warn!(error = %e, "could not record a failed sign-in");
        }
        return Ok(login_form(&state, &page, next, email, true));
    };
    state.login_succeeded(ip, window).await;
    state
        .store()
        .record_sign_in(&user, "password", page.lang)
        .await
        .map_err(|e| page.error(e))?;
    let secret = state
        .store()
        .create_session(user.id)
        .await
        .map_err(|e| page.error(e))?;
    let mut resp = see_other(&next);
    let secure = state.config().cookie_secure;
    for c in [
        set_cookie(SESSION_COOKIE, &secret, None, secure),
        set_cookie(LOGIN_CSRF_COOKIE, "", Some(0), secure),
    ] {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// `POST /logout`
pub async fn logout(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state
            .store()
            .delete_session(secret)
            .await
            .map_err(|e| page.error(e))?;
    }
    let mut resp = see_other("/");
    if let Ok(v) = set_cookie(SESSION_COOKIE, "", Some(0), state.config().cookie_secure).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    l: Layout,
}

/// `GET /accessibility`: the accessibility statement (public).
pub async fn accessibility(page: Page) -> UiResult {
    let l = Layout::new(&page, page.tr.t("a11y-title"));
    Ok(render(&AccessibilityPage { l }, StatusCode::OK))
}

/// Fallback: 404 page.
pub async fn not_found(page: Page) -> UiError {
    page.error(ErrorKind::NotFound)
}

// ---------------------------------------------------------------- org

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    producer: String,
    /// The service type it gives (its own or from above), or empty.
    service: String,
    children: Vec<(String, String)>,
    years: Vec<i32>,
    id: i64,
    writable: bool,
    admin: bool,
    new_year: i32,
}

/// `GET /org/{id}`
pub async fn org_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
) -> UiResult {
    let (p, tree) = can_read(&state, &page, id).await?;
    let node = tree
        .get(id)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let years = state
        .store()
        .plan_years(id)
        .await
        .map_err(|e| page.error(e))?;
    let children = tree
        .children(id)
        .into_iter()
        .map(|c| (format!("/org/{}", c.id), text_html(&page.tr, &c.name)))
        .collect();
    let mut c = crumbs(&page.tr, &tree, &p, id);
    c.pop();
    let l = Layout::new(&page, org_name_plain(&page.tr, &tree, id));
    Ok(render(
        &OrgPage {
            producer: page.tr.t(&format!("producer-{}", node.producer.code())),
            service: tree
                .service_type_of(id)
                .map(|t| page.tr.t(&format!("service-type-{}", t.code())))
                .unwrap_or_default(),
            crumbs: c,
            children,
            years,
            id,
            writable: p.can_write(&tree, id),
            admin: p.can_administer(),
            new_year: this_year(),
            l,
        },
        StatusCode::OK,
    ))
}

// ---------------------------------------------------------------- org units (administrators)

fn org_form(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    parent: Option<i64>,
    edit: Option<i64>,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let b = Builder::new(&page.tr, data, errors);
    let codes: Vec<&str> = ProducerType::ALL.iter().map(|x| x.code()).collect();
    let mut first = Vec::new();
    if edit.is_none() {
        first.push(b.plain("code", InputKind::Text, true));
    }
    first.push(b.select("producer", &codes, "producer"));
    let services: Vec<&str> = std::iter::once("")
        .chain(ServiceType::ALL.iter().map(|x| x.code()))
        .collect();
    let mut service = b.select("service_type", &services, "service-type");
    service.required = false;
    if let Some(o) = service.options.first_mut() {
        o.1 = page.tr.t("service-type-none");
    }
    first.push(service);
    let groups = vec![
        b.i18n("name", InputKind::Text, true),
        Group {
            legend: String::new(),
            fields: first,
        },
    ];
    let (action, title, cancel, at) = match (edit, parent) {
        (Some(id), _) => (
            format!("/org/{id}/edit"),
            page.tr.t("org-edit-title"),
            format!("/org/{id}"),
            Some(id),
        ),
        (None, Some(parent)) => (
            format!("/org/{parent}/units/new"),
            page.tr.t("org-new-title"),
            format!("/org/{parent}"),
            Some(parent),
        ),
        (None, None) => (
            "/org/new".to_string(),
            page.tr.t("org-new-title"),
            "/".to_string(),
            None,
        ),
    };
    let mut form = b.form(action, "save", cancel, groups);
    if let Some(id) = edit {
        form.remove = Some((format!("/org/{id}/delete"), page.tr.t("org-delete")));
    }
    let crumbs = at
        .map(|id| crumbs(&page.tr, tree, p, id))
        .unwrap_or_default();
    let intro = at
        .map(|id| org_name(&page.tr, tree, id))
        .unwrap_or_default();
    form_page(page, title, crumbs, intro, form)
}

async fn administrator(
    state: &AppState,
    page: &Page,
) -> Result<(Principal, std::sync::Arc<OrgTree>), UiError> {
    let p = page.principal()?;
    if !p.can_administer() {
        return Err(page.error(ErrorKind::Forbidden));
    }
    Ok((p, tree(state, page).await?))
}

/// What the org unit form gives: its name, producer type and service type
/// (`Ok(None)`: none of its own), and what is wrong with them.
type OrgInput = (
    I18nText,
    Option<ProducerType>,
    Option<ServiceType>,
    Vec<FieldError>,
);

fn org_input(data: &FormData) -> OrgInput {
    let get = |k: &str| data.get(k).cloned();
    let name = I18nText::new(get("name_fi"), get("name_sv"), get("name_en"));
    let mut errors = Vec::new();
    if !name.has_national() {
        errors.push(FieldError {
            field: "name".into(),
            code: ErrorCode::NationalLanguageRequired,
        });
    }
    let producer = ProducerType::parse(data.get("producer").map(String::as_str).unwrap_or(""));
    if producer.is_none() {
        errors.push(FieldError {
            field: "producer".into(),
            code: ErrorCode::Invalid,
        });
    }
    let service = data
        .get("service_type")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    let service_type = service.and_then(ServiceType::parse);
    if service.is_some() && service_type.is_none() {
        errors.push(FieldError {
            field: "service_type".into(),
            code: ErrorCode::Invalid,
        });
    }
    (name, producer, service_type, errors)
}

fn org_store_errors(page: &Page, e: StoreError) -> Result<Vec<FieldError>, UiError> {
    match e {
        StoreError::Conflict(_) => Ok(vec![FieldError {
            field: "code".into(),
            code: ErrorCode::Invalid,
        }]),
        other => store_errors(page, other),
    }
}

/// `GET /org/new`
pub async fn org_root_new(State(state): State<AppState>, page: Page) -> UiResult {
    org_new_form(state, page, None).await
}

/// `GET /org/{id}/units/new`
pub async fn org_new(
    State(state): State<AppState>,
    page: Page,
    UiPath(parent): UiPath<i64>,
) -> UiResult {
    org_new_form(state, page, Some(parent)).await
}

/// `POST /org/new`
pub async fn org_root_create(
    State(state): State<AppState>,
    page: Page,
    Form(data): Form<FormData>,
) -> UiResult {
    org_create_in(state, page, None, data).await
}

/// `POST /org/{id}/units/new`
pub async fn org_create(
    State(state): State<AppState>,
    page: Page,
    UiPath(parent): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    org_create_in(state, page, Some(parent), data).await
}

async fn org_new_form(state: AppState, page: Page, parent: Option<i64>) -> UiResult {
    let (p, tree) = administrator(&state, &page).await?;
    if let Some(id) = parent {
        tree.get(id)
            .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    }
    let mut data = FormData::new();
    data.insert("producer".into(), ProducerType::Own.code().into());
    Ok(org_form(&page, &tree, &p, parent, None, data, &[]))
}

async fn org_create_in(
    state: AppState,
    page: Page,
    parent: Option<i64>,
    data: FormData,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (p, tree) = administrator(&state, &page).await?;
    if let Some(id) = parent {
        tree.get(id)
            .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    }
    let (name, producer, service_type, mut errors) = org_input(&data);
    let code = data
        .get("code")
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    if code.is_empty() {
        errors.push(FieldError {
            field: "code".into(),
            code: ErrorCode::Required,
        });
    }
    let Some(producer) = producer.filter(|_| errors.is_empty()) else {
        return Ok(org_form(&page, &tree, &p, parent, None, data, &errors));
    };
    let sort_order = parent.map(|id| tree.children(id).len() as i32).unwrap_or(0);
    let unit = valvo_store::NewOrgUnit {
        parent_id: parent,
        code,
        name,
        producer,
        sort_order,
        service_type,
    };
    match state.store().create_org_unit(&p, &unit).await {
        Ok(id) => Ok(see_other(&format!("/org/{id}"))),
        Err(e) => {
            let errors = org_store_errors(&page, e)?;
            Ok(org_form(&page, &tree, &p, parent, None, data, &errors))
        }
    }
}

/// `GET /org/{id}/edit`
pub async fn org_edit(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
) -> UiResult {
    let (p, tree) = administrator(&state, &page).await?;
    let node = tree
        .get(id)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let mut data = FormData::new();
    for l in Lang::ALL {
        data.insert(
            format!("name_{}", l.code()),
            node.name.get(l).unwrap_or("").to_string(),
        );
    }
    data.insert("producer".into(), node.producer.code().into());
    data.insert(
        "service_type".into(),
        node.service_type.map_or("", ServiceType::code).into(),
    );
    Ok(org_form(&page, &tree, &p, None, Some(id), data, &[]))
}

/// `POST /org/{id}/edit`
pub async fn org_update(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (p, tree) = administrator(&state, &page).await?;
    tree.get(id)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let (name, producer, service_type, errors) = org_input(&data);
    let Some(producer) = producer.filter(|_| errors.is_empty()) else {
        return Ok(org_form(&page, &tree, &p, None, Some(id), data, &errors));
    };
    match state
        .store()
        .update_org_unit(&p, id, &name, producer, service_type)
        .await
    {
        Ok(()) => Ok(see_other(&format!("/org/{id}"))),
        Err(e) => {
            let errors = org_store_errors(&page, e)?;
            Ok(org_form(&page, &tree, &p, None, Some(id), data, &errors))
        }
    }
}

// ---------------------------------------------------------------- plan

struct IndView {
    id: i64,
    name: String,
    unit: String,
    baseline: String,
    target: String,
    value: String,
    value_period: String,
    status: String,
    note: String,
}

struct ActView {
    id: i64,
    text: String,
    status: String,
}

struct GoalView {
    id: i64,
    area: String,
    title: String,
    indicators: Vec<IndView>,
    actions: Vec<ActView>,
    review: String,
}

fn target_text(tr: &Tr, ind: &Indicator) -> String {
    ind.target_text(tr.lang())
}

fn ind_view(tr: &Tr, full: &valvo_core::model::IndicatorFull, period: &Period) -> IndView {
    let lang = tr.lang();
    let ind = &full.indicator;
    let (current, previous) = valvo_core::model::figure_as_of(&full.follow_ups, period);
    let mut value = ind.figure_text(current, previous, lang);
    if let Some((v, label)) = current.and_then(|c| full.reference_for(c.period.year_number())) {
        let name = label
            .resolve(lang)
            .map(|r| r.text.to_owned())
            .unwrap_or_default();
        value.push_str(&format!(" ({name} {})", ind.value_kind.format(v, lang)));
    }
    let number = current.and_then(|f| f.value);
    let unit = ind.shown_unit();
    IndView {
        id: ind.id,
        name: text_html(tr, &ind.name),
        unit: if unit.is_empty() {
            String::new()
        } else {
            text_html(tr, &unit)
        },
        baseline: ind.number_text(ind.baseline, lang),
        target: target_text(tr, ind),
        value,
        value_period: current.map(|f| f.period.label()).unwrap_or_default(),
        status: status_html(tr, ind.status_of(number)),
        note: if ind.note.is_empty() {
            String::new()
        } else {
            text_html(tr, &ind.note)
        },
    }
}

fn default_period(plan: &[GoalFull], year: i32) -> Period {
    let mut best: Option<Period> = None;
    for g in plan {
        let periods = g
            .indicators
            .iter()
            .flat_map(|i| i.follow_ups.iter().map(|f| f.period))
            .chain(g.reviews.iter().map(|r| r.period));
        for p in periods.filter(|p| p.year_number() == year) {
            if best.is_none_or(|b| (p.end(), p.kind()) > (b.end(), b.kind())) {
                best = Some(p);
            }
        }
    }
    best.or_else(|| Period::year(year).ok()).unwrap_or_else(|| {
        Period::containing(time::OffsetDateTime::now_utc().date(), PeriodKind::Year)
    })
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    pub period: Option<String>,
}

fn parse_period(page: &Page, raw: Option<&str>) -> Result<Option<Period>, UiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<Period>()
            .map(Some)
            .map_err(|_| page.error(ErrorKind::BadRequest("error-period-invalid"))),
    }
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    org_id: i64,
    year: i32,
    period: String,
    period_label: String,
    periods: Vec<(String, String, bool)>,
    goals: Vec<GoalView>,
    writable: bool,
    public: bool,
    base: String,
}

pub(crate) fn valid_year(page: &Page, year: i32) -> Result<i32, UiError> {
    if (valvo_core::plan::MIN_YEAR..=valvo_core::plan::MAX_YEAR).contains(&year) {
        Ok(year)
    } else {
        Err(page.error(ErrorKind::NotFound))
    }
}

/// `GET /org/{id}/plan/{year}`: the plan laid out as the seeds' table.
pub async fn plan_page(
    State(state): State<AppState>,
    page: Page,
    UiPath((id, year)): UiPath<(i64, i32)>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    let year = valid_year(&page, year)?;
    let (p, tree) = can_read(&state, &page, id).await?;
    let view = PlanView {
        crumbs: crumbs(&page.tr, &tree, &p, id),
        writable: p.can_write(&tree, id),
        public: false,
        base: format!("/org/{id}/plan/{year}"),
    };
    plan_response(&state, &page, &tree, id, year, q, view).await
}

/// How a plan page is shown: inside the app, or on the public site.
pub(crate) struct PlanView {
    pub crumbs: Vec<(String, String)>,
    pub writable: bool,
    pub public: bool,
    pub base: String,
}

pub(crate) async fn plan_response(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    id: i64,
    year: i32,
    q: PeriodQuery,
    view: PlanView,
) -> UiResult {
    let plan = state
        .store()
        .plan(id, year)
        .await
        .map_err(|e| page.error(e))?;
    let period = match parse_period(page, q.period.as_deref())? {
        Some(p) => p,
        None => default_period(&plan, year),
    };
    let tr = &page.tr;
    let goals = plan
        .iter()
        .map(|g| GoalView {
            id: g.goal.id,
            area: tr.t(&format!("area-{}", g.goal.area.code())),
            title: text_html(tr, &g.goal.title),
            indicators: g
                .indicators
                .iter()
                .map(|i| ind_view(tr, i, &period))
                .collect(),
            actions: g
                .actions
                .iter()
                .map(|a| ActView {
                    id: a.id,
                    text: text_html(tr, &a.text),
                    status: tr.t(&format!("action-{}", a.status.code())),
                })
                .collect(),
            review: g
                .reviews
                .iter()
                .find(|r| r.period == period)
                .map(|r| paragraphs_html(tr, &r.text))
                .unwrap_or_default(),
        })
        .collect();
    // Period choices: the year's halves, tertials, quarters and the year itself.
    let mut periods = Vec::new();
    for kind in [
        PeriodKind::Year,
        PeriodKind::Half,
        PeriodKind::Tertial,
        PeriodKind::Quarter,
    ] {
        if let Ok(y) = Period::year(year) {
            for sub in y.sub_periods(kind) {
                periods.push((sub.to_string(), sub.label(), sub == period));
            }
        }
    }
    let title = format!("{} {}", org_name_plain(tr, tree, id), year);
    let l = Layout::new(
        page,
        tr.t_args("plan-title", &[("org", crate::i18n::arg_str(title))]),
    );
    Ok(render(
        &PlanPage {
            crumbs: view.crumbs,
            org_id: id,
            year,
            period: period.to_string(),
            period_label: period.label(),
            periods,
            goals,
            writable: view.writable,
            public: view.public,
            base: view.base,
            l,
        },
        StatusCode::OK,
    ))
}

struct BiRow {
    fi: String,
    sv: String,
}

struct GoalBi {
    area_fi: String,
    area_sv: String,
    title: BiRow,
    indicators: Vec<BiRow>,
    actions: Vec<BiRow>,
    review: BiRow,
}

#[derive(Template)]
#[template(path = "bilingual.html")]
struct BilingualPage {
    l: Layout,
    base: String,
    period: String,
    period_label: String,
    name_fi: String,
    name_sv: String,
    goals: Vec<GoalBi>,
    h_fi: [String; 4],
    h_sv: [String; 4],
}

fn only(text: &I18nText, lang: Lang, tr: &Tr) -> String {
    match text.get(lang) {
        Some(t) => escape(t),
        None => format!(
            "<span class=\"missing\">{}</span>",
            escape(&tr.t("text-missing-lang"))
        ),
    }
}

fn indicator_line(
    ind: &Indicator,
    fu: &[FollowUp],
    period: &Period,
    lang: Lang,
    tr: &Tr,
) -> String {
    let lt = Tr::new(lang);
    let unit = ind
        .shown_unit()
        .get(lang)
        .map(|u| format!(" ({})", escape(u)))
        .unwrap_or_default();
    let (cur, prev) = valvo_core::model::figure_as_of(fu, period);
    let mut s = format!(
        "<strong>{}{}</strong><br>{} {}, {} {}",
        only(&ind.name, lang, tr),
        unit,
        escape(&lt.t("baseline")),
        ind.number_text(ind.baseline, lang),
        escape(&lt.t("target")),
        target_text(&lt, ind)
    );
    if let Some(c) = cur {
        s.push_str(&format!(
            "<br>{} {}: {} {}",
            escape(&lt.t("value")),
            escape(&c.period.label()),
            escape(&ind.figure_text(Some(c), prev, lang)),
            status_html(&lt, ind.status_of(c.value))
        ));
    }
    s
}

/// `GET /org/{id}/plan/{year}/bilingual`: Finnish and Swedish side by side, as seed 002 prints it.
pub async fn bilingual_page(
    State(state): State<AppState>,
    page: Page,
    UiPath((id, year)): UiPath<(i64, i32)>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    let year = valid_year(&page, year)?;
    let (_p, tree) = can_read(&state, &page, id).await?;
    bilingual_response(
        &state,
        &page,
        &tree,
        id,
        year,
        q,
        format!("/org/{id}/plan/{year}"),
    )
    .await
}

pub(crate) async fn bilingual_response(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    id: i64,
    year: i32,
    q: PeriodQuery,
    base: String,
) -> UiResult {
    let plan = state
        .store()
        .plan(id, year)
        .await
        .map_err(|e| page.error(e))?;
    let period = match parse_period(page, q.period.as_deref())? {
        Some(p) => p,
        None => default_period(&plan, year),
    };
    let tr = &page.tr;
    let (fi, sv) = (Tr::new(Lang::Fi), Tr::new(Lang::Sv));
    let goals = plan
        .iter()
        .map(|g| GoalBi {
            area_fi: fi.t(&format!("area-{}", g.goal.area.code())),
            area_sv: sv.t(&format!("area-{}", g.goal.area.code())),
            title: BiRow {
                fi: only(&g.goal.title, Lang::Fi, tr),
                sv: only(&g.goal.title, Lang::Sv, tr),
            },
            indicators: g
                .indicators
                .iter()
                .map(|i| BiRow {
                    fi: indicator_line(&i.indicator, &i.follow_ups, &period, Lang::Fi, tr),
                    sv: indicator_line(&i.indicator, &i.follow_ups, &period, Lang::Sv, tr),
                })
                .collect(),
            actions: g
                .actions
                .iter()
                .map(|a| BiRow {
                    fi: only(&a.text, Lang::Fi, tr),
                    sv: only(&a.text, Lang::Sv, tr),
                })
                .collect(),
            review: g
                .reviews
                .iter()
                .find(|r| r.period == period)
                .map(|r| BiRow {
                    fi: paragraphs_in(&r.text, Lang::Fi, tr),
                    sv: paragraphs_in(&r.text, Lang::Sv, tr),
                })
                .unwrap_or(BiRow {
                    fi: String::new(),
                    sv: String::new(),
                }),
        })
        .collect();
    let node = tree
        .get(id)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let heads = |t: &Tr| {
        [
            t.t("col-goal"),
            t.t("col-indicators"),
            t.t("col-actions"),
            t.t("col-follow-up"),
        ]
    };
    let l = Layout::new(
        page,
        tr.t_args(
            "bilingual-title",
            &[(
                "org",
                crate::i18n::arg_str(format!("{} {}", org_name_plain(tr, tree, id), year)),
            )],
        ),
    );
    Ok(render(
        &BilingualPage {
            base,
            period: period.to_string(),
            period_label: period.label(),
            name_fi: only(&node.name, Lang::Fi, tr),
            name_sv: only(&node.name, Lang::Sv, tr),
            goals,
            h_fi: heads(&fi),
            h_sv: heads(&sv),
            l,
        },
        StatusCode::OK,
    ))
}

// ---------------------------------------------------------------- forms

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    intro: String,
    form: FormView,
}

pub(crate) fn form_page(
    page: &Page,
    title: String,
    crumbs: Vec<(String, String)>,
    intro: String,
    form: FormView,
) -> Response {
    form_page_in(Layout::new(page, title), page, crumbs, intro, form)
}

/// The county a unit belongs to (its tree's root), for the head of the
/// pages its clients see: its name and branding.
pub(crate) struct County {
    /// Its name in the page's language.
    pub name: String,
    /// Its logo, colour and contact details, when set.
    pub brand: Option<crate::html::BrandHead>,
}

/// The [`County`] of `unit`.
pub(crate) async fn county(state: &AppState, page: &Page, tree: &OrgTree, unit: i64) -> County {
    let name = tree
        .root_of(unit)
        .and_then(|r| tree.get(r))
        .and_then(|n| n.name.resolve(page.lang).map(|r| r.text.to_string()))
        .unwrap_or_default();
    let brand = crate::branding::head(state, page, tree, unit).await;
    County { name, brand }
}

/// A form for clients and relatives (no account): headed by the county's
/// name, without the staff menu.
pub(crate) fn client_form_page(
    page: &Page,
    title: String,
    intro: String,
    form: FormView,
    county: County,
) -> Response {
    form_page_in(
        Layout::client(page, title, county),
        page,
        Vec::new(),
        intro,
        form,
    )
}

fn form_page_in(
    mut l: Layout,
    page: &Page,
    crumbs: Vec<(String, String)>,
    intro: String,
    form: FormView,
) -> Response {
    let status = if form.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    if !form.errors.is_empty() {
        l.title_prefix = Some(page.tr.t("form-has-errors"));
    }
    render(
        &FormPage {
            l,
            crumbs,
            intro,
            form,
        },
        status,
    )
}

fn goal_groups(b: &Builder) -> Vec<Group> {
    let codes: Vec<&str> = Area::ALL.iter().map(|a| a.code()).collect();
    vec![
        Group {
            legend: String::new(),
            fields: vec![
                b.select("area", &codes, "area"),
                b.plain("year", InputKind::Number, true),
            ],
        },
        b.i18n("title", InputKind::Textarea, true),
    ]
}

fn store_errors(page: &Page, e: StoreError) -> Result<Vec<FieldError>, UiError> {
    match e {
        StoreError::Invalid(errors) => Ok(errors),
        other => Err(page.error(other)),
    }
}

/// `GET /org/{id}/goals/new`
pub async fn goal_new(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    UiQuery(q): UiQuery<YearQuery>,
) -> UiResult {
    let (p, tree) = can_write(&state, &page, org).await?;
    let mut data = FormData::new();
    data.insert("year".into(), q.year.unwrap_or_else(this_year).to_string());
    data.insert("area".into(), Area::Access.code().into());
    Ok(goal_form(&page, &tree, &p, org, None, data, &[]))
}

#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
}

fn goal_form(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    org: i64,
    goal: Option<i64>,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let b = Builder::new(&page.tr, data, errors);
    let groups = goal_groups(&b);
    let (action, title) = match goal {
        Some(id) => (format!("/goals/{id}/edit"), page.tr.t("goal-edit-title")),
        None => (format!("/org/{org}/goals/new"), page.tr.t("goal-new-title")),
    };
    let mut form = b.form(action, "save", format!("/org/{org}"), groups);
    if let Some(id) = goal {
        form.remove = Some((format!("/goals/{id}/delete"), page.tr.t("goal-delete")));
    }
    form_page(
        page,
        title,
        crumbs(&page.tr, tree, p, org),
        org_name(&page.tr, tree, org),
        form,
    )
}

/// `POST /org/{id}/goals/new`
pub async fn goal_create(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (p, tree) = can_write(&state, &page, org).await?;
    let input = match forms::goal_input(&data) {
        Ok(i) => i,
        Err(errors) => return Ok(goal_form(&page, &tree, &p, org, None, data, &errors)),
    };
    match state.store().create_goal(&p, org, &input).await {
        Ok(g) => Ok(see_other(&format!(
            "/org/{org}/plan/{}#goal-{}",
            g.year, g.id
        ))),
        Err(e) => {
            let errors = store_errors(&page, e)?;
            Ok(goal_form(&page, &tree, &p, org, None, data, &errors))
        }
    }
}

/// `GET /goals/{id}/edit`
pub async fn goal_edit(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
) -> UiResult {
    page.require_user()?;
    let goal = state.store().goal(id).await.map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, goal.org_unit_id).await?;
    let data = forms::goal_data(&GoalInput {
        area: goal.area,
        year: goal.year,
        title: goal.title,
    });
    Ok(goal_form(
        &page,
        &tree,
        &p,
        goal.org_unit_id,
        Some(id),
        data,
        &[],
    ))
}

/// `POST /goals/{id}/edit`
pub async fn goal_update(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let goal = state.store().goal(id).await.map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, goal.org_unit_id).await?;
    let org = goal.org_unit_id;
    let input = match forms::goal_input(&data) {
        Ok(i) => i,
        Err(errors) => return Ok(goal_form(&page, &tree, &p, org, Some(id), data, &errors)),
    };
    match state.store().update_goal(&p, id, &input).await {
        Ok(g) => Ok(see_other(&format!("/org/{org}/plan/{}#goal-{id}", g.year))),
        Err(e) => {
            let errors = store_errors(&page, e)?;
            Ok(goal_form(&page, &tree, &p, org, Some(id), data, &errors))
        }
    }
}

fn indicator_groups(b: &Builder) -> Vec<Group> {
    let dirs: Vec<&str> = Direction::ALL.iter().map(|d| d.code()).collect();
    let kinds: Vec<&str> = PeriodKind::ALL.iter().map(|k| k.code()).collect();
    let value_kinds: Vec<&str> = valvo_core::ValueKind::ALL
        .iter()
        .map(|k| k.code())
        .collect();
    vec![
        b.i18n("name", InputKind::Textarea, true),
        Group {
            legend: String::new(),
            fields: vec![
                {
                    let mut code = b.plain("code", InputKind::Text, false);
                    code.hint = Some(b.legend_text("hint-indicator-code"));
                    code
                },
                b.select("value_kind", &value_kinds, "value-kind"),
            ],
        },
        b.i18n("unit", InputKind::Text, false),
        Group {
            legend: b.legend("figures"),
            fields: vec![
                b.select("direction", &dirs, "direction"),
                b.plain("baseline", InputKind::Text, false),
                b.plain("target", InputKind::Text, false),
                b.plain("target_max", InputKind::Text, false),
                b.select("period_kind", &kinds, "period-kind"),
                b.plain("until_year", InputKind::Number, false),
            ],
        },
        Group {
            legend: b.legend("quality"),
            fields: vec![
                b.plain("min_value", InputKind::Text, false),
                b.plain("max_value", InputKind::Text, false),
            ],
        },
        Group {
            legend: b.legend("reference"),
            fields: vec![
                b.plain("reference_series", InputKind::Text, false),
                b.plain("reference_region", InputKind::Text, false),
            ],
        },
        b.i18n("reference_label", InputKind::Text, false),
        b.i18n("note", InputKind::Textarea, false),
        Group {
            legend: String::new(),
            fields: vec![source_field(b)],
        },
    ]
}

/// The indicator's source: entered by hand, or filled from a module.
fn source_field(b: &Builder) -> crate::forms::Field {
    let mut f = b.plain("source", InputKind::Select, false);
    f.options = std::iter::once(String::new())
        .chain(IndicatorSource::ALL.iter().map(|s| s.code().to_string()))
        .map(|code| {
            let key = if code.is_empty() {
                "source-manual".to_string()
            } else {
                format!("source-{}", code.replace(['.', '_'], "-"))
            };
            (code, b.legend_text(&key))
        })
        .collect();
    f
}

fn source_of(data: &FormData) -> Result<Option<IndicatorSource>, FieldError> {
    match data.get("source").map(|s| s.trim()).unwrap_or("") {
        "" => Ok(None),
        code => IndicatorSource::parse(code).map(Some).ok_or(FieldError {
            field: "source".into(),
            code: ErrorCode::Invalid,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn indicator_form(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    goal_id: i64,
    org: i64,
    ind: Option<i64>,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let b = Builder::new(&page.tr, data, errors);
    let groups = indicator_groups(&b);
    let (action, title, cancel) = match ind {
        Some(id) => (
            format!("/indicators/{id}/edit"),
            page.tr.t("indicator-edit-title"),
            format!("/indicators/{id}"),
        ),
        None => (
            format!("/goals/{goal_id}/indicators/new"),
            page.tr.t("indicator-new-title"),
            format!("/org/{org}"),
        ),
    };
    let form = b.form(action, "save", cancel, groups);
    form_page(
        page,
        title,
        crumbs(&page.tr, tree, p, org),
        org_name(&page.tr, tree, org),
        form,
    )
}

/// `GET /goals/{id}/indicators/new`
pub async fn indicator_new(
    State(state): State<AppState>,
    page: Page,
    UiPath(goal_id): UiPath<i64>,
) -> UiResult {
    page.require_user()?;
    let goal = state
        .store()
        .goal(goal_id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, goal.org_unit_id).await?;
    let mut data = FormData::new();
    data.insert("direction".into(), Direction::Higher.code().into());
    data.insert("period_kind".into(), PeriodKind::Tertial.code().into());
    Ok(indicator_form(
        &page,
        &tree,
        &p,
        goal_id,
        goal.org_unit_id,
        None,
        data,
        &[],
    ))
}

/// `POST /goals/{id}/indicators/new`
pub async fn indicator_create(
    State(state): State<AppState>,
    page: Page,
    UiPath(goal_id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let goal = state
        .store()
        .goal(goal_id)
        .await
        .map_err(|e| page.error(e))?;
    let org = goal.org_unit_id;
    let (p, tree) = can_write(&state, &page, org).await?;
    let (input, source) = match (forms::indicator_input(&data), source_of(&data)) {
        (Ok(i), Ok(s)) => (i, s),
        (i, s) => {
            let mut errors = i.err().unwrap_or_default();
            errors.extend(s.err());
            return Ok(indicator_form(
                &page, &tree, &p, goal_id, org, None, data, &errors,
            ));
        }
    };
    match state.store().create_indicator(&p, goal_id, &input).await {
        Ok(i) => {
            state
                .store()
                .set_indicator_source(&p, i.id, source)
                .await
                .map_err(|e| page.error(e))?;
            Ok(see_other(&format!("/indicators/{}", i.id)))
        }
        Err(e) => {
            let errors = store_errors(&page, e)?;
            Ok(indicator_form(
                &page, &tree, &p, goal_id, org, None, data, &errors,
            ))
        }
    }
}

fn indicator_input_of(i: &Indicator) -> IndicatorInput {
    IndicatorInput {
        name: i.name.clone(),
        unit: i.unit.clone(),
        direction: i.direction,
        baseline: i.baseline,
        target: i.target,
        target_max: i.target_max,
        period_kind: i.period_kind,
        note: i.note.clone(),
        code: i.code.clone(),
        value_kind: i.value_kind,
        until_year: i.until_year,
        min_value: i.min_value,
        max_value: i.max_value,
        reference: i.reference.clone(),
    }
}

/// `GET /indicators/{id}/edit`
pub async fn indicator_edit(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
) -> UiResult {
    page.require_user()?;
    let ind = state
        .store()
        .indicator(id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, ind.org_unit_id).await?;
    let mut data = forms::indicator_data(&indicator_input_of(&ind), page.tr.lang());
    data.insert(
        "source".into(),
        ind.source.map(|s| s.code().to_string()).unwrap_or_default(),
    );
    Ok(indicator_form(
        &page,
        &tree,
        &p,
        ind.goal_id,
        ind.org_unit_id,
        Some(id),
        data,
        &[],
    ))
}

/// `POST /indicators/{id}/edit`
pub async fn indicator_update(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let ind = state
        .store()
        .indicator(id)
        .await
        .map_err(|e| page.error(e))?;
    let org = ind.org_unit_id;
    let (p, tree) = can_write(&state, &page, org).await?;
    let (input, source) = match (forms::indicator_input(&data), source_of(&data)) {
        (Ok(i), Ok(s)) => (i, s),
        (i, s) => {
            let mut errors = i.err().unwrap_or_default();
            errors.extend(s.err());
            return Ok(indicator_form(
                &page,
                &tree,
                &p,
                ind.goal_id,
                org,
                Some(id),
                data,
                &errors,
            ));
        }
    };
    match state.store().update_indicator(&p, id, &input).await {
        Ok(_) => {
            state
                .store()
                .set_indicator_source(&p, id, source)
                .await
                .map_err(|e| page.error(e))?;
            Ok(see_other(&format!("/indicators/{id}")))
        }
        Err(e) => {
            let errors = store_errors(&page, e)?;
            Ok(indicator_form(
                &page,
                &tree,
                &p,
                ind.goal_id,
                org,
                Some(id),
                data,
                &errors,
            ))
        }
    }
}

struct FollowRow {
    period: String,
    period_label: String,
    value: String,
    status: String,
    change: String,
    assessment: String,
    corrective: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "indicator.html")]
struct IndicatorPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    id: i64,
    goal_title: String,
    plan_href: String,
    unit: String,
    code: String,
    value_kind: String,
    retired: bool,
    has_follow_ups: bool,
    direction: String,
    baseline: String,
    target: String,
    period_kind: String,
    note: String,
    rows: Vec<FollowRow>,
    writable: bool,
    suggested: String,
}

/// `POST /indicators/{id}/remove`: deletes an indicator without follow-ups,
/// retires one with them (its history kept).
pub async fn indicator_remove(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let ind = state
        .store()
        .indicator(id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, _) = can_write(&state, &page, ind.org_unit_id).await?;
    let goal = state
        .store()
        .goal(ind.goal_id)
        .await
        .map_err(|e| page.error(e))?;
    match state
        .store()
        .delete_indicator(&p, id)
        .await
        .map_err(|e| page.error(e))?
    {
        valvo_store::Removed::Retired => Ok(see_other(&format!("/indicators/{id}"))),
        valvo_store::Removed::Deleted => Ok(see_other(&format!(
            "/org/{}/plan/{}#goal-{}",
            goal.org_unit_id, goal.year, goal.id
        ))),
    }
}

/// `POST /indicators/{id}/restore`: a retired indicator followed up again.
pub async fn indicator_restore(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let ind = state
        .store()
        .indicator(id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, _) = can_write(&state, &page, ind.org_unit_id).await?;
    state
        .store()
        .restore_indicator(&p, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(see_other(&format!("/indicators/{id}")))
}

/// `POST /org/{id}/delete`: an org unit nothing refers to (administrators).
pub async fn org_delete(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = page.principal()?;
    let tree = tree(&state, &page).await?;
    let parent = tree.get(id).and_then(|n| n.parent_id);
    match state.store().delete_org_unit(&p, id).await {
        Ok(()) => Ok(see_other(
            &parent
                .map(|p| format!("/org/{p}"))
                .unwrap_or_else(|| "/".into()),
        )),
        Err(valvo_store::StoreError::Invalid(_)) => {
            Err(page.error(ErrorKind::BadRequest("error-org-in-use")))
        }
        Err(e) => Err(page.error(e)),
    }
}

/// `POST /goals/{id}/delete`: a goal with nothing under it.
pub async fn goal_delete(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let goal = state.store().goal(id).await.map_err(|e| page.error(e))?;
    let (p, _) = can_write(&state, &page, goal.org_unit_id).await?;
    match state.store().delete_goal(&p, id).await {
        Ok(()) => Ok(see_other(&format!(
            "/org/{}/plan/{}",
            goal.org_unit_id, goal.year
        ))),
        Err(valvo_store::StoreError::Invalid(_)) => {
            Err(page.error(ErrorKind::BadRequest("error-goal-not-empty")))
        }
        Err(e) => Err(page.error(e)),
    }
}

/// `POST /actions/{id}/delete`
pub async fn action_delete(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (_, goal) = state.store().action(id).await.map_err(|e| page.error(e))?;
    let (p, _) = can_write(&state, &page, goal.org_unit_id).await?;
    state
        .store()
        .delete_action(&p, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(see_other(&format!(
        "/org/{}/plan/{}#goal-{}",
        goal.org_unit_id, goal.year, goal.id
    )))
}

/// The indicator's own period a follow-up form starts at: `from` when it is
/// one (the period chosen on the plan page), else the last offered one that
/// ends by `from`'s end, else the latest offered.
fn suggested_period(ind: &Indicator, from: Option<Period>, offered: &[Period]) -> Option<Period> {
    match from {
        Some(f) if f.kind() == ind.period_kind && offered.contains(&f) => Some(f),
        Some(f) => offered
            .iter()
            .find(|p| p.end() <= f.end())
            .or(offered.first())
            .copied(),
        None => offered.first().copied(),
    }
}

/// `GET /indicators/{id}`: the indicator with its follow-up history.
pub async fn indicator_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    page.require_user()?;
    let ind = state
        .store()
        .indicator(id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, tree) = can_read(&state, &page, ind.org_unit_id).await?;
    let goal = state
        .store()
        .goal(ind.goal_id)
        .await
        .map_err(|e| page.error(e))?;
    let list = state
        .store()
        .follow_ups(id)
        .await
        .map_err(|e| page.error(e))?;
    let tr = &page.tr;
    let lang = tr.lang();
    let spec = ind.spec();
    let rows = list
        .iter()
        .rev()
        .map(|f| {
            let prev = f
                .period
                .prev()
                .and_then(|pp| list.iter().find(|x| x.period == pp && x.has_figure()));
            let ch = change(&spec, f.value, prev.and_then(|x| x.value));
            let mut value = ind.figure_text(Some(f), prev, lang);
            if f.flagged {
                value.push_str(&format!(" ({})", tr.t("flagged")));
            }
            FollowRow {
                period: f.period.to_string(),
                period_label: f.period.label(),
                value,
                status: status_html(tr, ind.status_of(f.value)),
                change: match ch.and_then(|c| c.improved) {
                    Some(true) => tr.t("change-better"),
                    Some(false) => tr.t("change-worse"),
                    None if ch.is_some() => tr.t("change-same"),
                    None => String::new(),
                },
                assessment: paragraphs_html(tr, &f.assessment),
                corrective: paragraphs_html(tr, &f.corrective),
                updated: format!(
                    "{} {}",
                    valvo_core::period::format_day(&f.updated_at, page.lang),
                    f.updated_by
                ),
            }
        })
        .collect();
    // A new follow-up for the period the user came from (the plan page's),
    // else the latest of the indicator's own periods.
    let today = time::OffsetDateTime::now_utc().date();
    let offered = valvo_core::model::offered_periods(&ind, today);
    let from = parse_period(&page, q.period.as_deref())?;
    let suggested = suggested_period(&ind, from, &offered)
        .map(|p| p.to_string())
        .unwrap_or_default();
    let title = ind
        .name
        .resolve(lang)
        .map(|r| r.text.to_string())
        .unwrap_or_default();
    let l = Layout::new(&page, title);
    Ok(render(
        &IndicatorPage {
            crumbs: crumbs(tr, &tree, &p, ind.org_unit_id),
            id,
            goal_title: text_html(tr, &goal.title),
            plan_href: format!(
                "/org/{}/plan/{}#goal-{}",
                goal.org_unit_id, goal.year, goal.id
            ),
            unit: if ind.unit.is_empty() {
                "–".into()
            } else {
                text_html(tr, &ind.unit)
            },
            code: ind.code.clone().unwrap_or_else(|| "–".into()),
            value_kind: tr.t(&format!("value-kind-{}", ind.value_kind.code())),
            retired: ind.retired_at.is_some(),
            has_follow_ups: !list.is_empty(),
            direction: tr.t(&format!("direction-{}", ind.direction.code())),
            baseline: ind.number_text(ind.baseline, lang),
            target: target_text(tr, &ind),
            period_kind: tr.t(&format!("period-kind-{}", ind.period_kind.code())),
            note: paragraphs_html(tr, &ind.note),
            rows,
            writable: p.can_write(&tree, ind.org_unit_id),
            suggested,
            l,
        },
        StatusCode::OK,
    ))
}

fn follow_up_form_view(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    ind: &Indicator,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let today = time::OffsetDateTime::now_utc().date();
    let mut offered = valvo_core::model::offered_periods(ind, today);
    // A period of the indicator's history being edited stays choosable.
    if let Some(p) = data
        .get("period")
        .and_then(|s| s.parse::<Period>().ok())
        .filter(|p| valvo_core::model::accepts_period(ind, p, today) && !offered.contains(p))
    {
        offered.push(p);
    }
    let b = Builder::new(&page.tr, data, errors);
    let mut period = b.plain("period", InputKind::Select, true);
    period.options = offered.iter().map(|p| (p.to_string(), p.label())).collect();
    period.hint = Some(page.tr.t("hint-period-own"));
    let mut value = b.plain(
        "value",
        if ind.value_kind.has_number() {
            InputKind::Text
        } else {
            InputKind::Textarea
        },
        false,
    );
    value.hint = Some(page.tr.t(&format!("hint-value-{}", ind.value_kind.code())));
    let groups = vec![
        Group {
            legend: String::new(),
            fields: vec![period, value],
        },
        b.i18n("assessment", InputKind::Textarea, false),
        b.i18n("corrective", InputKind::Textarea, false),
    ];
    let form = b.form(
        format!("/indicators/{}/follow-up", ind.id),
        "save",
        format!("/indicators/{}", ind.id),
        groups,
    );
    let intro = text_html(&page.tr, &ind.name);
    form_page(
        page,
        page.tr.t("follow-up-title"),
        crumbs(&page.tr, tree, p, ind.org_unit_id),
        intro,
        form,
    )
}

/// `GET /indicators/{id}/follow-up?period=P`: the form of one of the
/// indicator's own periods, P when it is one (from the page the user came
/// from), else the latest.
pub async fn follow_up_form(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    page.require_user()?;
    let ind = state
        .store()
        .indicator(id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, ind.org_unit_id).await?;
    let today = time::OffsetDateTime::now_utc().date();
    let asked = parse_period(&page, q.period.as_deref())?;
    let period = match asked {
        Some(a) if valvo_core::model::accepts_period(&ind, &a, today) => Some(a),
        a => suggested_period(&ind, a, &valvo_core::model::offered_periods(&ind, today)),
    };
    let existing = match &period {
        Some(per) => state
            .store()
            .follow_up(id, per)
            .await
            .map_err(|e| page.error(e))?,
        None => None,
    };
    let input = existing.map(|f| FollowUpInput::of(Some(f.figure()), f.assessment, f.corrective));
    let data = forms::follow_up_data(
        &period.map(|x| x.to_string()).unwrap_or_default(),
        input.as_ref(),
        ind.value_kind,
        page.tr.lang(),
    );
    Ok(follow_up_form_view(&page, &tree, &p, &ind, data, &[]))
}

/// `POST /indicators/{id}/follow-up`. A figure far outside the indicator's
/// earlier ones is kept only with an assessment that explains it (the form
/// asks for one first).
pub async fn follow_up_save(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let ind = state
        .store()
        .indicator(id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, ind.org_unit_id).await?;
    let (period, input) = match forms::follow_up_input(&data, ind.value_kind) {
        Ok(x) => x,
        Err(errors) => return Ok(follow_up_form_view(&page, &tree, &p, &ind, data, &errors)),
    };
    if input.assessment.is_empty()
        && state
            .store()
            .would_flag(&ind, &period, input.value)
            .await
            .map_err(|e| page.error(e))?
    {
        let errors = [FieldError::new("value", ErrorCode::FarOutside)];
        return Ok(follow_up_form_view(&page, &tree, &p, &ind, data, &errors));
    }
    match state.store().put_follow_up(&p, id, period, &input).await {
        Ok(_) => Ok(see_other(&format!("/indicators/{id}#fu-{period}"))),
        Err(e) => {
            let errors = store_errors(&page, e)?;
            Ok(follow_up_form_view(&page, &tree, &p, &ind, data, &errors))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn action_form(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    goal_id: i64,
    org: i64,
    action: Option<i64>,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let b = Builder::new(&page.tr, data, errors);
    let codes: Vec<&str> = ActionStatus::ALL.iter().map(|s| s.code()).collect();
    let groups = vec![
        b.i18n("text", InputKind::Textarea, true),
        Group {
            legend: String::new(),
            fields: vec![b.select("status", &codes, "action")],
        },
    ];
    let (url, title) = match action {
        Some(id) => (
            format!("/actions/{id}/edit"),
            page.tr.t("action-edit-title"),
        ),
        None => (
            format!("/goals/{goal_id}/actions/new"),
            page.tr.t("action-new-title"),
        ),
    };
    let mut form = b.form(url, "save", format!("/org/{org}"), groups);
    if let Some(id) = action {
        form.remove = Some((format!("/actions/{id}/delete"), page.tr.t("action-delete")));
    }
    form_page(
        page,
        title,
        crumbs(&page.tr, tree, p, org),
        org_name(&page.tr, tree, org),
        form,
    )
}

/// `GET /goals/{id}/actions/new`
pub async fn action_new(
    State(state): State<AppState>,
    page: Page,
    UiPath(goal_id): UiPath<i64>,
) -> UiResult {
    page.require_user()?;
    let goal = state
        .store()
        .goal(goal_id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, goal.org_unit_id).await?;
    let mut data = FormData::new();
    data.insert("status".into(), ActionStatus::Planned.code().into());
    Ok(action_form(
        &page,
        &tree,
        &p,
        goal_id,
        goal.org_unit_id,
        None,
        data,
        &[],
    ))
}

/// `POST /goals/{id}/actions/new`
pub async fn action_create(
    State(state): State<AppState>,
    page: Page,
    UiPath(goal_id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let goal = state
        .store()
        .goal(goal_id)
        .await
        .map_err(|e| page.error(e))?;
    let org = goal.org_unit_id;
    let (p, tree) = can_write(&state, &page, org).await?;
    let input = match forms::action_input(&data) {
        Ok(i) => i,
        Err(errors) => {
            return Ok(action_form(
                &page, &tree, &p, goal_id, org, None, data, &errors,
            ))
        }
    };
    match state.store().create_action(&p, goal_id, &input).await {
        Ok(_) => Ok(see_other(&format!(
            "/org/{org}/plan/{}#goal-{goal_id}",
            goal.year
        ))),
        Err(e) => {
            let errors = store_errors(&page, e)?;
            Ok(action_form(
                &page, &tree, &p, goal_id, org, None, data, &errors,
            ))
        }
    }
}

/// `GET /actions/{id}/edit`
pub async fn action_edit(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
) -> UiResult {
    page.require_user()?;
    let (action, goal) = state.store().action(id).await.map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, goal.org_unit_id).await?;
    let data = forms::action_data(&ActionInput {
        text: action.text,
        status: action.status,
    });
    Ok(action_form(
        &page,
        &tree,
        &p,
        goal.id,
        goal.org_unit_id,
        Some(id),
        data,
        &[],
    ))
}

/// `POST /actions/{id}/edit`
pub async fn action_update(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (_, goal) = state.store().action(id).await.map_err(|e| page.error(e))?;
    let org = goal.org_unit_id;
    let (p, tree) = can_write(&state, &page, org).await?;
    let input = match forms::action_input(&data) {
        Ok(i) => i,
        Err(errors) => {
            return Ok(action_form(
                &page,
                &tree,
                &p,
                goal.id,
                org,
                Some(id),
                data,
                &errors,
            ))
        }
    };
    match state.store().update_action(&p, id, &input).await {
        Ok(_) => Ok(see_other(&format!(
            "/org/{org}/plan/{}#goal-{}",
            goal.year, goal.id
        ))),
        Err(e) => {
            let errors = store_errors(&page, e)?;
            Ok(action_form(
                &page,
                &tree,
                &p,
                goal.id,
                org,
                Some(id),
                data,
                &errors,
            ))
        }
    }
}

fn review_form_view(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    goal: &valvo_store::Goal,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let b = Builder::new(&page.tr, data, errors);
    let groups = vec![
        Group {
            legend: String::new(),
            fields: vec![b.plain("period", InputKind::Text, true)],
        },
        b.i18n("text", InputKind::Textarea, true),
    ];
    let form = b.form(
        format!("/goals/{}/review", goal.id),
        "save",
        format!(
            "/org/{}/plan/{}#goal-{}",
            goal.org_unit_id, goal.year, goal.id
        ),
        groups,
    );
    let intro = text_html(&page.tr, &goal.title);
    form_page(
        page,
        page.tr.t("review-title"),
        crumbs(&page.tr, tree, p, goal.org_unit_id),
        intro,
        form,
    )
}

/// `GET /goals/{id}/review?period=P`
pub async fn review_form(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    page.require_user()?;
    let goal = state.store().goal(id).await.map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, goal.org_unit_id).await?;
    let period = parse_period(&page, q.period.as_deref())?;
    let existing = match &period {
        Some(per) => state
            .store()
            .goal_review(id, per)
            .await
            .map_err(|e| page.error(e))?,
        None => None,
    };
    let data = forms::review_data(
        &period.map(|x| x.to_string()).unwrap_or_default(),
        existing.as_ref().map(|r| &r.text),
    );
    Ok(review_form_view(&page, &tree, &p, &goal, data, &[]))
}

/// `POST /goals/{id}/review`
pub async fn review_save(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let goal = state.store().goal(id).await.map_err(|e| page.error(e))?;
    let (p, tree) = can_write(&state, &page, goal.org_unit_id).await?;
    let (period, input) = match forms::review_input(&data) {
        Ok(x) => x,
        Err(errors) => return Ok(review_form_view(&page, &tree, &p, &goal, data, &errors)),
    };
    match state.store().put_goal_review(&p, id, period, &input).await {
        Ok(_) => Ok(see_other(&format!(
            "/org/{}/plan/{}?period={period}#goal-{id}",
            goal.org_unit_id, goal.year
        ))),
        Err(e) => {
            let errors = store_errors(&page, e)?;
            Ok(review_form_view(&page, &tree, &p, &goal, data, &errors))
        }
    }
}

// ---------------------------------------------------------------- audit

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    rows: Vec<AuditRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// `GET /audit`: the audit log, newest first (administrators).
pub async fn audit_page(
    State(state): State<AppState>,
    page: Page,
    UiQuery(q): UiQuery<AuditQuery>,
) -> UiResult {
    let p = page.principal()?;
    if !p.can_read_audit() {
        return Err(page.error(ErrorKind::Forbidden));
    }
    const PAGE: i64 = 100;
    let list = state
        .store()
        .audit_log_for(&p, PAGE, q.before, None)
        .await
        .map_err(|e| page.error(e))?;
    let older = if list.len() as i64 == PAGE {
        list.last().map(|e| e.id)
    } else {
        None
    };
    let pretty = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
            .unwrap_or_default()
    };
    let rows = list
        .iter()
        .map(|e| AuditRow {
            at: valvo_core::period::format_time(&e.at, page.lang),
            actor: e.actor.clone(),
            action: page.tr.t(&format!("audit-action-{}", e.action)),
            entity: page.tr.t(&format!("entity-{}", e.entity)),
            entity_id: e.entity_id.clone(),
            before: pretty(&e.before),
            after: pretty(&e.after),
        })
        .collect();
    let l = Layout::new(&page, page.tr.t("audit-title"));
    Ok(render(&AuditPage { l, rows, older }, StatusCode::OK))
}
