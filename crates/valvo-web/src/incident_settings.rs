//! Incident settings in the UI (administrators and quality coordinators):
//! the event-type taxonomy (add, rename, reorder, deactivate, delete an
//! unused type) and the named incident handlers of each org unit.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use valvo_core::access::Principal;
use valvo_core::incident::{may_configure, EventType, EventTypeDef, EventTypeInput};
use valvo_core::plan::{parse_number, ErrorCode, FieldError};
use valvo_core::{I18nText, Lang};
use valvo_store::StoreError;

use crate::ctx::{Page, UiPath};
use crate::error::ErrorKind;
use crate::forms::{Builder, FormData, FormView, Group, InputKind};
use crate::html::{escape, text_html, Layout};
use crate::incidents::name_text;
use crate::ui::{form_page, render, see_other, tree, UiResult};
use crate::{county_lists, AppState};

const SETTINGS: &str = "/incidents/settings";

/// The principal, if it may change incident settings.
fn configurer(page: &Page) -> Result<Principal, crate::error::UiError> {
    let p = page.principal()?;
    if may_configure(&p) {
        Ok(p)
    } else {
        Err(page.error(ErrorKind::Forbidden))
    }
}

fn type_path(code: &EventType) -> String {
    format!("/incidents/event-types/{}", code.code())
}

struct TypeRow {
    /// The edit page, for a type the actor may change.
    href: Option<String>,
    /// Whose it is (in a service of several counties).
    county: String,
    name: String,
    plain_name: String,
    code: String,
    order: i64,
    active: String,
    reports: String,
    delete_href: Option<String>,
}

struct UnitRow {
    href: String,
    name: String,
    handlers: String,
}

#[derive(Template)]
#[template(path = "incident_settings.html")]
struct SettingsPage {
    l: Layout,
    types: Vec<TypeRow>,
    /// A service of several counties: the list says whose each type is.
    counties: bool,
    /// The actor may add a type (shared, or to its county's own).
    can_add: bool,
    units: Vec<UnitRow>,
}

/// `GET /incidents/settings`: the taxonomy and the named handlers of every unit.
pub async fn settings(State(state): State<AppState>, page: Page) -> UiResult {
    let p = configurer(&page)?;
    let store = state.store();
    let tr = &page.tr;
    let tree = tree(&state, &page).await?;
    // A county's people see the types offered in their county and its reports.
    let view = county_lists::view_county(&p, &tree);
    let uses = store
        .event_type_uses(view.as_deref())
        .await
        .map_err(|e| page.error(e))?;
    let types = uses
        .iter()
        .map(|u| {
            let owner = u.def.county.as_deref();
            let mine = county_lists::may_change(&p, &tree, owner);
            TypeRow {
                href: mine.then(|| format!("{}/edit", type_path(&u.def.code))),
                county: county_lists::owner_label(&page, &tree, owner),
                name: text_html(tr, &u.def.name),
                plain_name: name_text(&page, &u.def.name),
                code: u.def.code.code().to_string(),
                order: u.def.sort_order,
                active: tr.t(if u.def.active {
                    "yes-no-yes"
                } else {
                    "yes-no-no"
                }),
                reports: valvo_core::format_number(u.reports as f64, page.lang),
                delete_href: (mine && u.reports == 0)
                    .then(|| format!("{}/delete", type_path(&u.def.code))),
            }
        })
        .collect();
    let counties = tree.roots().len() > 1;
    let can_add = adds_types(&p, &tree);
    let named = store
        .all_incident_handlers()
        .await
        .map_err(|e| page.error(e))?;
    // Only the units the actor may configure, and so the names of their handlers.
    let units = tree
        .walk()
        .into_iter()
        .filter(|(_, n)| p.can_write(&tree, n.id))
        .map(|(depth, n)| {
            let names: Vec<String> = named
                .iter()
                .filter(|(org, _)| *org == n.id)
                .map(|(_, h)| h.name.clone())
                .collect();
            UnitRow {
                href: format!("/incidents/handlers/{}", n.id),
                name: format!("{}{}", "– ".repeat(depth), text_html(tr, &n.name)),
                handlers: if names.is_empty() {
                    tr.t("incident-handlers-none-short")
                } else {
                    names.join(", ")
                },
            }
        })
        .collect();
    let l = Layout::new(&page, tr.t("incident-settings-title"));
    Ok(render(
        &SettingsPage {
            l,
            types,
            counties,
            can_add,
            units,
        },
        StatusCode::OK,
    ))
}

// ---------------------------------------------------------------- event types

/// The form's groups; `county` asks whose a new type is.
fn type_groups(b: &Builder, new: bool, county: Option<crate::forms::Field>) -> Vec<Group> {
    let mut first = Vec::new();
    if new {
        first.push(b.plain("type_code", InputKind::Text, true));
    }
    first.extend(county);
    let name = b.i18n("name", InputKind::Text, true);
    let rest = vec![
        b.plain("sort_order", InputKind::Number, true),
        b.select("active", &["yes", "no"], "yes-no"),
    ];
    let mut groups = Vec::new();
    if !first.is_empty() {
        groups.push(Group {
            legend: String::new(),
            fields: first,
        });
    }
    groups.push(name);
    groups.push(Group {
        legend: String::new(),
        fields: rest,
    });
    groups
}

/// The store names the code `code`; the form field is `type_code` (the org
/// unit form's `code` has other rules).
fn form_errors(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            if e.field == "code" {
                FieldError::new("type_code", e.code)
            } else {
                e
            }
        })
        .collect()
}

fn parse_type(data: &FormData) -> Result<EventTypeInput, Vec<FieldError>> {
    let get = |k: &str| {
        data.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let sort_order = match parse_number(&get("sort_order")) {
        Ok(Some(v)) if v.fract() == 0.0 && v.abs() <= 1e15 => v as i64,
        Ok(None) => {
            errors.push(FieldError::new("sort_order", ErrorCode::Required));
            0
        }
        Ok(Some(_)) => {
            errors.push(FieldError::new("sort_order", ErrorCode::Invalid));
            0
        }
        Err(code) => {
            errors.push(FieldError::new("sort_order", code));
            0
        }
    };
    let active = match get("active").as_str() {
        "yes" => true,
        "no" => false,
        raw => {
            errors.push(FieldError::new(
                "active",
                if raw.is_empty() {
                    ErrorCode::Required
                } else {
                    ErrorCode::Invalid
                },
            ));
            true
        }
    };
    let name = I18nText::new(
        data.get("name_fi").cloned(),
        data.get("name_sv").cloned(),
        data.get("name_en").cloned(),
    );
    let input = EventTypeInput {
        name,
        active,
        sort_order,
    };
    if let Err(mut more) = input.validate() {
        errors.append(&mut more);
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(errors)
    }
}

fn type_data(def: &EventTypeDef) -> FormData {
    let mut d = FormData::new();
    for l in Lang::ALL {
        d.insert(
            format!("name_{}", l.code()),
            def.name.get(l).unwrap_or("").to_string(),
        );
    }
    d.insert("sort_order".into(), def.sort_order.to_string());
    d.insert(
        "active".into(),
        if def.active { "yes" } else { "no" }.into(),
    );
    d
}

fn settings_crumbs(page: &Page) -> Vec<(String, String)> {
    vec![
        (
            "/incidents".into(),
            escape(&page.tr.t("incident-queue-title")),
        ),
        (
            SETTINGS.into(),
            escape(&page.tr.t("incident-settings-title")),
        ),
    ]
}

fn new_type_form(
    page: &Page,
    tree: &valvo_core::OrgTree,
    p: &Principal,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let b = Builder::new(&page.tr, data, errors);
    let county =
        county_lists::asks_county(p, tree).then(|| county_lists::county_field(&b, page, tree));
    let groups = type_groups(&b, true, county);
    let form = b.form(
        "/incidents/event-types/new".into(),
        "save",
        SETTINGS.into(),
        groups,
    );
    form_page(
        page,
        page.tr.t("incident-type-new-title"),
        settings_crumbs(page),
        escape(&page.tr.t("incident-type-new-intro")),
        form,
    )
}

/// `GET /incidents/event-types/new`
pub async fn type_new(State(state): State<AppState>, page: Page) -> UiResult {
    let p = configurer(&page)?;
    let tree = tree(&state, &page).await?;
    if !adds_types(&p, &tree) {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let types = state
        .store()
        .event_types()
        .await
        .map_err(|e| page.error(e))?;
    let mut data = FormData::new();
    let last = types.iter().map(|t| t.sort_order).max().unwrap_or(0);
    data.insert("sort_order".into(), (last + 10).to_string());
    data.insert("active".into(), "yes".into());
    Ok(new_type_form(&page, &tree, &p, data, &[]))
}

/// `POST /incidents/event-types/new`
pub async fn type_create(
    State(state): State<AppState>,
    page: Page,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = configurer(&page)?;
    let tree = tree(&state, &page).await?;
    let code = data.get("type_code").cloned().unwrap_or_default();
    let input = match parse_type(&data) {
        Ok(i) => i,
        Err(mut errors) => {
            if EventType::parse(&code).is_none() {
                errors.insert(
                    0,
                    FieldError::new(
                        "type_code",
                        if code.trim().is_empty() {
                            ErrorCode::Required
                        } else {
                            ErrorCode::Invalid
                        },
                    ),
                );
            }
            return Ok(new_type_form(&page, &tree, &p, data, &errors));
        }
    };
    let county = county_lists::form_county(&p, &tree, &data);
    match state
        .store()
        .create_event_type(&p, &code, county.as_deref(), &input)
        .await
    {
        Ok(_) => Ok(see_other(SETTINGS)),
        Err(StoreError::Invalid(errors)) => {
            Ok(new_type_form(&page, &tree, &p, data, &form_errors(errors)))
        }
        Err(e) => Err(page.error(e)),
    }
}

async fn find_type(
    state: &AppState,
    page: &Page,
    raw: &str,
) -> Result<(EventTypeDef, u64), crate::error::UiError> {
    let code = EventType::parse(raw).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    state
        .store()
        .event_type_uses(None)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .find(|u| u.def.code == code)
        .map(|u| (u.def, u.reports))
        .ok_or_else(|| page.error(ErrorKind::NotFound))
}

/// Whether `p` may add types: to the shared ones, or to its county's own
/// (not a coordinator of an area).
fn adds_types(p: &Principal, tree: &valvo_core::OrgTree) -> bool {
    p.may_configure_lists(tree, p.own_county(tree))
}

/// Forbidden unless `p` may change `def` (a county's own type is its
/// county's; the shared ones are the service's).
async fn changeable(
    state: &AppState,
    page: &Page,
    p: &Principal,
    def: &EventTypeDef,
) -> Result<(), crate::error::UiError> {
    let tree = tree(state, page).await?;
    if county_lists::may_change(p, &tree, def.county.as_deref()) {
        Ok(())
    } else {
        Err(page.error(ErrorKind::Forbidden))
    }
}

fn edit_type_form(
    page: &Page,
    def: &EventTypeDef,
    reports: u64,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let b = Builder::new(&page.tr, data, errors);
    let groups = type_groups(&b, false, None);
    let form = b.form(
        format!("{}/edit", type_path(&def.code)),
        "save",
        SETTINGS.into(),
        groups,
    );
    let tr = &page.tr;
    let usage = if reports == 0 {
        tr.t("incident-type-not-used")
    } else {
        tr.t_args(
            "incident-type-in-use",
            &[("n", crate::i18n::arg_num(reports as f64))],
        )
    };
    let intro = format!(
        "{} <code>{}</code>. {}",
        escape(&tr.t("field-type_code")),
        escape(def.code.code()),
        escape(&usage)
    );
    form_page(
        page,
        tr.t_args(
            "incident-type-edit-title",
            &[("name", crate::i18n::arg_str(name_text(page, &def.name)))],
        ),
        settings_crumbs(page),
        intro,
        form,
    )
}

/// `GET /incidents/event-types/{code}/edit`
pub async fn type_edit(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
) -> UiResult {
    let p = configurer(&page)?;
    let (def, reports) = find_type(&state, &page, &code).await?;
    changeable(&state, &page, &p, &def).await?;
    Ok(edit_type_form(&page, &def, reports, type_data(&def), &[]))
}

/// `POST /incidents/event-types/{code}/edit`: rename, reorder, (de)activate.
pub async fn type_update(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = configurer(&page)?;
    let (def, reports) = find_type(&state, &page, &code).await?;
    changeable(&state, &page, &p, &def).await?;
    let input = match parse_type(&data) {
        Ok(i) => i,
        Err(errors) => return Ok(edit_type_form(&page, &def, reports, data, &errors)),
    };
    match state.store().update_event_type(&p, &def.code, &input).await {
        Ok(_) => Ok(see_other(SETTINGS)),
        Err(StoreError::Invalid(errors)) => Ok(edit_type_form(
            &page,
            &def,
            reports,
            data,
            &form_errors(errors),
        )),
        Err(e) => Err(page.error(e)),
    }
}

/// `POST /incidents/event-types/{code}/delete`: only a type no report has
/// (409 otherwise: deactivate it instead).
pub async fn type_delete(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = configurer(&page)?;
    let code = EventType::parse(&code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    state
        .store()
        .delete_event_type(&p, &code)
        .await
        .map_err(|e| page.error(e))?;
    Ok(see_other(SETTINGS))
}

// ---------------------------------------------------------------- handlers

#[derive(Template)]
#[template(path = "incident_handlers.html")]
struct HandlersPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    action: String,
    handlers: Vec<(i64, String, String)>,
    form: FormView,
}

async fn handlers_response(
    state: &AppState,
    page: &Page,
    org: i64,
    data: FormData,
    errors: &[FieldError],
) -> UiResult {
    let tree = tree(state, page).await?;
    let node = tree
        .get(org)
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let p = page.principal()?;
    if !p.can_write(&tree, org) {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let store = state.store();
    let current = store
        .incident_handlers(org)
        .await
        .map_err(|e| page.error(e))?;
    // Only the users the actor may name: a scoped coordinator does not get
    // the names and addresses of the county's other staff.
    let users: Vec<_> = store
        .users()
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .filter(|u| p.may_see_user(&tree, u.scope) && u.role != valvo_core::access::Role::National)
        .collect();
    let b = Builder::new(&page.tr, data, errors);
    let mut user = b.plain("handler_user", InputKind::Select, true);
    user.options = std::iter::once((String::new(), page.tr.t("incident-handler-choose")))
        .chain(
            users
                .iter()
                .filter(|u| u.active && !current.iter().any(|h| h.user_id == u.id))
                .map(|u| (u.id.to_string(), format!("{} ({})", u.name, u.email))),
        )
        .collect();
    let action = format!("/incidents/handlers/{org}");
    let mut form = b.form(
        action.clone(),
        "incident-handler-add",
        SETTINGS.into(),
        vec![Group {
            legend: String::new(),
            fields: vec![user],
        }],
    );
    form.submit = page.tr.t("incident-handler-add");
    let mut crumbs = settings_crumbs(page);
    crumbs.push((action.clone(), text_html(&page.tr, &node.name)));
    let name = name_text(page, &node.name);
    let mut l = Layout::new(
        page,
        page.tr.t_args(
            "incident-handlers-unit-title",
            &[("org", crate::i18n::arg_str(name))],
        ),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        l.title_prefix = Some(page.tr.t("form-has-errors"));
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(
        &HandlersPage {
            l,
            crumbs,
            action,
            handlers: current
                .into_iter()
                .map(|h| (h.user_id, h.name, h.email))
                .collect(),
            form,
        },
        status,
    ))
}

/// `GET /incidents/handlers/{org}`: the unit's named handlers.
pub async fn handlers_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
) -> UiResult {
    configurer(&page)?;
    handlers_response(&state, &page, org, FormData::new(), &[]).await
}

/// `POST /incidents/handlers/{org}` with `handler_user` (add) or `remove` (a user id).
pub async fn handlers_save(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = configurer(&page)?;
    let store = state.store();
    let mut ids: Vec<i64> = store
        .incident_handlers(org)
        .await
        .map_err(|e| page.error(e))?
        .iter()
        .map(|h| h.user_id)
        .collect();
    let get = |k: &str| {
        data.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    if let Some(remove) = data.get("remove") {
        let remove: i64 = remove
            .trim()
            .parse()
            .map_err(|_| page.error(ErrorKind::BadRequest("error-invalid")))?;
        ids.retain(|id| *id != remove);
    } else {
        let raw = get("handler_user");
        match raw.parse::<i64>() {
            Ok(id) => ids.push(id),
            Err(_) => {
                let code = if raw.is_empty() {
                    ErrorCode::Required
                } else {
                    ErrorCode::Invalid
                };
                let errors = [FieldError::new("handler_user", code)];
                return handlers_response(&state, &page, org, data, &errors).await;
            }
        }
    }
    match store.set_incident_handlers(&p, org, &ids).await {
        Ok(_) => Ok(see_other(&format!("/incidents/handlers/{org}"))),
        Err(StoreError::Invalid(_)) => {
            let errors = [FieldError::new("handler_user", ErrorCode::Invalid)];
            handlers_response(&state, &page, org, data, &errors).await
        }
        Err(e) => Err(page.error(e)),
    }
}
