//! Incident and misconduct reporting in the UI: the report form (logged in,
//! and public per unit for clients, relatives and anonymous staff), receipts,
//! the handler's queue and handling page, and statistics.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use valvo_core::access::Principal;
use valvo_core::incident::{
    Consequence, DeadlinePolicy, EventType, EventTypeDef, IncidentKind, IncidentState,
    IncidentStats, NewIncident, ReporterRole,
};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::{format_number, I18nText, Lang, OrgNode, OrgTree, Period, PeriodKind};
use valvo_store::{Handling, Incident, IncidentHandler, StoreError};

use crate::ctx::{Page, UiPath, UiQuery};
use crate::error::ErrorKind;
use crate::forms::{
    new_once_key, once_claim, once_key, Builder, FormData, FormView, Group, InputKind,
};
use crate::html::{escape, text_html, Layout};
use crate::ui::{crumbs, form_page, render, see_other, tree, UiResult};
use crate::AppState;

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|x| code(*x)).collect()
}

/// A multilingual name as plain text (select options, titles): a fallback
/// language is named in brackets.
pub(crate) fn name_text(page: &Page, name: &I18nText) -> String {
    match name.resolve(page.lang) {
        Some(r) if !r.fallback => r.text.to_string(),
        Some(r) => format!(
            "{} ({})",
            r.text,
            page.tr.t(&format!("fallback-{}", r.lang.code()))
        ),
        None => page.tr.t("text-missing"),
    }
}

/// An event type's name as HTML in the reader's language (fallback marked
/// like every multilingual text); a code missing from the taxonomy shows as
/// itself.
pub(crate) fn type_html(page: &Page, types: &[EventTypeDef], t: &EventType) -> String {
    match types.iter().find(|d| d.code == *t) {
        Some(d) => text_html(&page.tr, &d.name),
        None => escape(t.code()),
    }
}

/// The taxonomy (every type, for names).
pub(crate) async fn taxonomy(
    state: &AppState,
    page: &Page,
) -> Result<Vec<EventTypeDef>, crate::error::UiError> {
    state.store().event_types().await.map_err(|e| page.error(e))
}

/// The types a report about `unit` may have (`None`: a form where the unit
/// is chosen, for someone in every county): shared, or the own ones of the
/// unit's county.
async fn offered_types(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    unit: Option<i64>,
) -> Result<Vec<EventTypeDef>, crate::error::UiError> {
    let county = unit.and_then(|u| tree.county_code(u));
    let mut types = taxonomy(state, page).await?;
    types.retain(|t| valvo_core::access::offered_in(t.county.as_deref(), county));
    Ok(types)
}

fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(
        s.trim(),
        &time::format_description::well_known::Iso8601::DATE,
    )
    .ok()
}

fn parse_time(s: &str) -> Option<time::Time> {
    let (h, m) = s.trim().split_once(':')?;
    time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

/// The report form's fields. `unit` is fixed on the public page. Nothing
/// that the statistics count is chosen in advance: the kind, the event type
/// and the consequence start empty. The public page asks in plain words and
/// leaves out what only staff can tell (never event, contributing factors,
/// immediate actions).
fn report_groups(
    page: &Page,
    tree: &OrgTree,
    b: &Builder,
    types: &[EventTypeDef],
    units: Option<&[(i64, String)]>,
    public: bool,
) -> Vec<Group> {
    let tr = &page.tr;
    // A plainer label (and option texts) on the public page.
    let plain = |mut f: crate::forms::Field, options: Option<&str>| {
        if public {
            let key = format!("public-field-{}", f.name);
            if tr.has(&key) {
                f.label = tr.t(&key);
            }
            if let Some(prefix) = options {
                for (code, label) in &mut f.options {
                    *label = tr.t(&format!("{prefix}-{code}"));
                }
            }
        }
        f
    };
    let mut first = Vec::new();
    if let Some(units) = units {
        let mut f = b.plain("org_unit", InputKind::Select, true);
        f.options = units
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone()))
            .collect();
        first.push(f);
    }
    first.push(
        plain(
            b.select(
                "kind",
                &codes(&IncidentKind::ALL, IncidentKind::code),
                "incident-kind",
            ),
            Some("public-incident-kind"),
        )
        .choose_first(tr),
    );
    // Active types only: a deactivated type is not offered. Where the list
    // holds the own types of several counties (someone who works for every
    // county), each of those names its county.
    let mut event_type = b.plain("event_type", InputKind::Select, true);
    let owners: std::collections::BTreeSet<&str> =
        types.iter().filter_map(|t| t.county.as_deref()).collect();
    let view = (owners.len() < 2).then_some("");
    event_type.options = types
        .iter()
        .filter(|t| t.active)
        .map(|t| {
            let name = name_text(page, &t.name);
            let label =
                crate::county_lists::option_label(page, tree, view, name, t.county.as_deref());
            (t.code.code().to_string(), label)
        })
        .collect();
    first.push(plain(event_type, None).choose_first(tr));
    let mut when = b.plain("occurred_on", InputKind::Text, true);
    when.input_type = "date";
    let mut at = b.plain("occurred_time", InputKind::Text, false);
    at.input_type = "time";
    let roles: Vec<&str> = if public {
        vec!["client", "relative", "staff", "student", "other"]
    } else {
        codes(&ReporterRole::ALL, ReporterRole::code)
    };
    let mut what = vec![
        plain(b.plain("description", InputKind::Textarea, true), None),
        plain(
            b.select(
                "consequence",
                &codes(&Consequence::ALL, Consequence::code),
                "consequence",
            ),
            Some("public-consequence"),
        )
        .choose_first(tr),
    ];
    if !public {
        what.extend([
            b.select("never_event", &["no", "yes"], "yes-no"),
            b.plain("contributing_factors", InputKind::Textarea, false),
            b.plain("immediate_actions", InputKind::Textarea, false),
        ]);
    }
    let mut role = plain(
        b.select("reporter_role", &roles, "reporter-role"),
        Some("public-reporter-role"),
    );
    if public {
        role = role.choose_first(tr);
    }
    vec![
        Group {
            legend: String::new(),
            fields: first,
        },
        Group {
            legend: b.legend("incident-when"),
            fields: vec![
                plain(when, None),
                at,
                plain(b.plain("place", InputKind::Text, false), None),
            ],
        },
        Group {
            legend: b.legend("incident-what"),
            fields: what,
        },
        Group {
            legend: b.legend("incident-reporter"),
            // The name and contact fields hide while "anonymous" is chosen (style.css).
            fields: vec![
                role,
                b.select("anonymous", &["yes", "no"], "yes-no"),
                b.plain("reporter_name", InputKind::Text, false),
                b.plain("reporter_contact", InputKind::Text, false),
            ],
        },
    ]
}

fn parse_report(
    data: &FormData,
    types: &[EventTypeDef],
    org: Option<i64>,
    today: time::Date,
) -> Result<NewIncident, Vec<FieldError>> {
    let mut errors = Vec::new();
    let get = |k: &str| {
        data.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut need = |name: &str, ok: bool, empty: bool| {
        if !ok {
            errors.push(FieldError {
                field: name.into(),
                code: if empty {
                    ErrorCode::Required
                } else {
                    ErrorCode::Invalid
                },
            });
        }
    };
    let org_unit_id = org.or_else(|| get("org_unit").parse().ok());
    need(
        "org_unit",
        org_unit_id.is_some(),
        get("org_unit").is_empty(),
    );
    let kind = IncidentKind::parse(&get("kind"));
    need("kind", kind.is_some(), get("kind").is_empty());
    // Any active type of the taxonomy; unknown and deactivated ones are refused.
    let event_type = EventType::parse(&get("event_type"))
        .filter(|t| types.iter().any(|d| d.code == *t && d.active));
    need(
        "event_type",
        event_type.is_some(),
        get("event_type").is_empty(),
    );
    let consequence = Consequence::parse(&get("consequence"));
    need(
        "consequence",
        consequence.is_some(),
        get("consequence").is_empty(),
    );
    let role = ReporterRole::parse(&get("reporter_role"));
    need(
        "reporter_role",
        role.is_some(),
        get("reporter_role").is_empty(),
    );
    let occurred_on = parse_date(&get("occurred_on"));
    need(
        "occurred_on",
        occurred_on.is_some(),
        get("occurred_on").is_empty(),
    );
    let time_raw = get("occurred_time");
    let occurred_time = if time_raw.is_empty() {
        None
    } else {
        parse_time(&time_raw)
    };
    need(
        "occurred_time",
        time_raw.is_empty() || occurred_time.is_some(),
        false,
    );
    // Checked here too, so that an empty form names every missing field at once.
    need(
        "description",
        !get("description").is_empty(),
        get("description").is_empty(),
    );
    let anonymous = get("anonymous") != "no";
    let name = get("reporter_name");
    if !anonymous && name.is_empty() {
        errors.push(FieldError {
            field: "reporter_name".into(),
            code: ErrorCode::Required,
        });
    }
    let (
        Some(org_unit_id),
        Some(kind),
        Some(event_type),
        Some(consequence),
        Some(reporter_role),
        Some(occurred_on),
    ) = (
        org_unit_id,
        kind,
        event_type,
        consequence,
        role,
        occurred_on,
    )
    else {
        return Err(errors);
    };
    let input = NewIncident {
        org_unit_id,
        occurred_on,
        occurred_time,
        place: get("place"),
        kind,
        event_type,
        description: get("description"),
        consequence,
        never_event: get("never_event") == "yes",
        contributing_factors: get("contributing_factors"),
        immediate_actions: get("immediate_actions"),
        reporter_role,
        reporter_name: (!anonymous).then_some(name),
        reporter_contact: (!anonymous && !get("reporter_contact").is_empty())
            .then(|| get("reporter_contact")),
    };
    if let Err(mut more) = input.validate(today) {
        errors.append(&mut more);
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(errors)
    }
}

#[allow(clippy::too_many_arguments)]
fn report_form(
    page: &Page,
    tree: &OrgTree,
    types: &[EventTypeDef],
    action: String,
    units: Option<&[(i64, String)]>,
    public: bool,
    data: FormData,
    errors: &[FieldError],
    intro: String,
    county: Option<crate::ui::County>,
) -> Response {
    // The page's one-time key: kept from the sent form when it comes back
    // with errors, so that it still saves once.
    let once = once_key(&data).unwrap_or_else(new_once_key);
    let b = Builder::new(&page.tr, data, errors);
    let groups = report_groups(page, tree, &b, types, units, public);
    let cancel = if public { String::new() } else { "/".into() };
    let mut form = b.form(action, "incident-send", cancel, groups);
    form.once = Some(once);
    let title = page.tr.t("incident-new-title");
    match county {
        Some(county) => crate::ui::client_form_page(page, title, intro, form, county),
        None => form_page(page, title, Vec::new(), intro, form),
    }
}

/// What the staff form starts with: who reports (the staff member, named).
/// The public form starts empty but for "anonymous", the private choice.
fn defaults(public: bool) -> FormData {
    let mut d = FormData::new();
    if public {
        d.insert("anonymous".into(), "yes".into());
    } else {
        d.insert("occurred_on".into(), today().to_string());
        d.insert("reporter_role".into(), "staff".into());
        d.insert("anonymous".into(), "no".into());
        d.insert("never_event".into(), "no".into());
    }
    d
}

fn unit_choices(page: &Page, tree: &OrgTree) -> Vec<(i64, String)> {
    tree.walk()
        .into_iter()
        .map(|(depth, n)| {
            let name = n
                .name
                .resolve(page.lang)
                .map(|r| r.text.to_string())
                .unwrap_or_default();
            (n.id, format!("{}{}", "– ".repeat(depth), name))
        })
        .collect()
}

/// `GET /incidents/new`: a staff member's report (named or anonymous).
pub async fn new_form(State(state): State<AppState>, page: Page) -> UiResult {
    let user = page.require_user()?;
    let tree = tree(&state, &page).await?;
    let mut data = defaults(false);
    data.insert("reporter_name".into(), user.name.clone());
    data.insert("reporter_contact".into(), user.email.clone());
    if let Some(scope) = user.scope {
        data.insert("org_unit".into(), scope.to_string());
    }
    let units = unit_choices(&page, &tree);
    let types = offered_types(&state, &page, &tree, user.scope).await?;
    Ok(report_form(
        &page,
        &tree,
        &types,
        "/incidents/new".into(),
        Some(&units),
        false,
        data,
        &[],
        escape(&page.tr.t("incident-intro")),
        None,
    ))
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    l: Layout,
    code: String,
    status: Option<(String, String, String)>,
    just_sent: bool,
    /// What is wrong with the code sent (none given, or no report has it),
    /// shown at the field.
    error: Option<String>,
}

/// The cookie that carries a receipt code from the post to the page that
/// shows it once: the code stays out of the address (a browser's history on
/// a shared tablet would otherwise let the next user follow the report).
const RECEIPT_COOKIE: &str = "valvo_receipt";

/// The cookie that carries the unit reported for to the same page, so
/// that the county of that unit heads it.
const RECEIPT_UNIT_COOKIE: &str = "valvo_receipt_unit";

/// Saves a report sent from a form page (its one-time key in `data`) and
/// answers with a redirect to its receipt (post/redirect/get): a reload
/// of the receipt saves nothing, and a form sent again with the same key
/// leads to the same receipt.
async fn save_and_show_receipt(
    state: &AppState,
    page: &Page,
    reporter: Option<&Principal>,
    input: &NewIncident,
    data: &FormData,
) -> Result<Result<Response, Vec<FieldError>>, crate::error::UiError> {
    let once = once_claim(data);
    let code = match state
        .store()
        .create_incident_once(reporter, input, today(), once.as_deref())
        .await
    {
        Ok((_, receipt)) => receipt,
        // The same page and content again: the same receipt, shortly after
        // the first send only (later, the thanks without the code).
        Err(StoreError::AlreadySent) => match &once {
            Some(key)
                if state
                    .store()
                    .form_sent_within(key, 600)
                    .await
                    .map_err(|e| page.error(e))? =>
            {
                valvo_store::receipt_of_key(key)
            }
            Some(_) => return Ok(Ok(see_other("/receipt?sent=1"))),
            None => return Err(page.error(ErrorKind::Conflict)),
        },
        Err(StoreError::Invalid(errors)) => return Ok(Err(errors)),
        Err(e) => return Err(page.error(e)),
    };
    let mut resp = see_other("/receipt?sent=1");
    for (name, value) in [
        (RECEIPT_COOKIE, code),
        (RECEIPT_UNIT_COOKIE, input.org_unit_id.to_string()),
    ] {
        let c = crate::ctx::set_cookie(name, &value, Some(600), state.config().cookie_secure);
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    Ok(Ok(resp))
}

/// `POST /incidents/new`
pub async fn create_staff(
    State(state): State<AppState>,
    page: Page,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = page.principal()?;
    let tree = tree(&state, &page).await?;
    let units = unit_choices(&page, &tree);
    let types = offered_types(&state, &page, &tree, p.scope).await?;
    let errors = match parse_report(&data, &types, None, today()) {
        Ok(input) => match save_and_show_receipt(&state, &page, Some(&p), &input, &data).await? {
            Ok(done) => return Ok(done),
            Err(errors) => errors,
        },
        Err(errors) => errors,
    };
    Ok(report_form(
        &page,
        &tree,
        &types,
        "/incidents/new".into(),
        Some(&units),
        false,
        data,
        &errors,
        String::new(),
        None,
    ))
}

pub(crate) fn unit_by_code<'a>(tree: &'a OrgTree, code: &str) -> Option<&'a OrgNode> {
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.code == code)
}

/// The public form's introduction: the unit, and who may report here.
fn public_intro(page: &Page, unit: &OrgNode) -> String {
    format!(
        "{} · {}",
        text_html(&page.tr, &unit.name),
        escape(&page.tr.t("incident-public-intro"))
    )
}

/// `GET /report/{code}`: the public report page of a unit (clients, relatives, anonymous staff).
pub async fn public_form(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let unit = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let types = offered_types(&state, &page, &tree, Some(unit.id)).await?;
    Ok(report_form(
        &page,
        &tree,
        &types,
        format!("/report/{code}"),
        None,
        true,
        defaults(true),
        &[],
        public_intro(&page, unit),
        Some(crate::ui::county(&state, &page, &tree, unit.id).await),
    ))
}

/// `POST /report/{code}`: rate-limited per client address (answered 429).
pub async fn public_create(
    State(state): State<AppState>,
    crate::ops::ClientIp(ip): crate::ops::ClientIp,
    page: Page,
    UiPath(code): UiPath<String>,
    Form(data): Form<FormData>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let unit = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    if !state.allow_public_write(ip).await {
        let county = crate::ui::county(&state, &page, &tree, unit.id).await;
        return Err(page
            .error(ErrorKind::TooManyRequests)
            .for_client(county.name));
    }
    let types = offered_types(&state, &page, &tree, Some(unit.id)).await?;
    let errors = match parse_report(&data, &types, Some(unit.id), today()) {
        Ok(input) => match save_and_show_receipt(&state, &page, None, &input, &data).await? {
            Ok(done) => return Ok(done),
            Err(errors) => errors,
        },
        Err(errors) => errors,
    };
    Ok(report_form(
        &page,
        &tree,
        &types,
        format!("/report/{code}"),
        None,
        true,
        data,
        &errors,
        public_intro(&page, unit),
        Some(crate::ui::county(&state, &page, &tree, unit.id).await),
    ))
}

#[derive(Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
    /// Set by the redirect after a report was sent.
    sent: Option<String>,
}

/// `GET /receipt`: the form that asks for a receipt code. After a report
/// was sent (`?sent=1`), the same page thanks the reporter and shows the
/// code to keep, once (from a cookie it then clears). `?code=…` still
/// looks a code up, for links made before the form posted.
pub async fn receipt(
    State(state): State<AppState>,
    ip: crate::ops::ClientIp,
    page: Page,
    headers: axum::http::HeaderMap,
    UiQuery(q): UiQuery<CodeQuery>,
) -> UiResult {
    if q.sent.is_some() {
        // Headed by the county of the unit the report was for.
        let tree = tree(&state, &page).await?;
        let unit = crate::ctx::cookie(&headers, RECEIPT_UNIT_COOKIE)
            .and_then(|u| u.parse::<i64>().ok())
            .filter(|u| tree.get(*u).is_some());
        let county = receipt_county(&state, &page, &tree, unit).await;
        let code = crate::ctx::cookie(&headers, RECEIPT_COOKIE)
            .filter(|c| valvo_core::incident::normalize_receipt(c).is_some())
            .unwrap_or_default()
            .to_owned();
        let mut resp = render(
            &ReceiptPage {
                l: Layout::client(&page, page.tr.t("incident-sent-title"), county),
                code,
                status: None,
                just_sent: true,
                error: None,
            },
            StatusCode::OK,
        );
        for name in [RECEIPT_COOKIE, RECEIPT_UNIT_COOKIE] {
            let clear = crate::ctx::set_cookie(name, "", Some(0), state.config().cookie_secure);
            if let Ok(v) = clear.parse() {
                resp.headers_mut().append(axum::http::header::SET_COOKIE, v);
            }
        }
        return Ok(resp);
    }
    look_up_receipt(&state, ip, &page, q.code.unwrap_or_default(), false).await
}

#[derive(Deserialize)]
pub struct ReceiptForm {
    code: Option<String>,
}

/// `POST /receipt`: looks a code up. Sent in the body, the code stays out
/// of the address and so out of a shared device's history. Like the other
/// public forms it has no session and no form token: it changes nothing,
/// and look-ups are rate-limited per address.
pub async fn receipt_lookup(
    State(state): State<AppState>,
    ip: crate::ops::ClientIp,
    page: Page,
    axum::Form(form): axum::Form<ReceiptForm>,
) -> UiResult {
    look_up_receipt(&state, ip, &page, form.code.unwrap_or_default(), true).await
}

/// The county heading a receipt page: that of the report's unit, else the
/// first county of the tree.
async fn receipt_county(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    unit: Option<i64>,
) -> crate::ui::County {
    let unit = unit.or_else(|| tree.roots().first().map(|r| r.id));
    match unit {
        Some(u) => crate::ui::county(state, page, tree, u).await,
        None => crate::ui::County {
            name: String::new(),
            brand: None,
        },
    }
}

/// Looks `code` up; `sent` when the form was sent (an empty code is then
/// an error at the field, not the empty form again).
async fn look_up_receipt(
    state: &AppState,
    crate::ops::ClientIp(ip): crate::ops::ClientIp,
    page: &Page,
    code: String,
    sent: bool,
) -> UiResult {
    let tree = tree(state, page).await?;
    let show = |code: String, status, error: Option<(StatusCode, String)>, county| {
        let mut l = Layout::client(page, page.tr.t("receipt-title"), county);
        let http = match &error {
            Some((http, _)) => {
                l.title_prefix = Some(page.tr.t("form-has-errors"));
                *http
            }
            None => StatusCode::OK,
        };
        render(
            &ReceiptPage {
                l,
                code,
                status,
                just_sent: false,
                error: error.map(|(_, e)| e),
            },
            http,
        )
    };
    if code.trim().is_empty() {
        let county = receipt_county(state, page, &tree, None).await;
        let error = sent.then(|| {
            let e = FieldError::new("code", ErrorCode::Required);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                crate::forms::error_message(&page.tr, &e),
            )
        });
        return Ok(show(String::new(), None, error, county));
    }
    if !state.allow_public_write(ip).await {
        return Err(page.error(ErrorKind::TooManyRequests));
    }
    let found = state
        .store()
        .receipt(&code)
        .await
        .map_err(|e| page.error(e))?;
    let county = receipt_county(state, page, &tree, found.as_ref().map(|r| r.org_unit_id)).await;
    let status = found.map(|r| {
        (
            page.tr.t(&format!("incident-state-{}", r.state.code())),
            valvo_core::period::format_date(r.reported_on),
            r.outcome,
        )
    });
    let error = status
        .is_none()
        .then(|| (StatusCode::NOT_FOUND, page.tr.t("receipt-not-found")));
    Ok(show(code, status, error, county))
}

// ---------------------------------------------------------------- handlers

struct QueueRow {
    href: String,
    reported: String,
    unit: String,
    kind: String,
    consequence: String,
    state: String,
    flags: String,
}

#[derive(Template)]
#[template(path = "incident_queue.html")]
struct QueuePage {
    l: Layout,
    rows: Vec<QueueRow>,
    configure: bool,
}

fn flags(page: &Page, policy: &DeadlinePolicy, i: &Incident, today: time::Date) -> String {
    let mut out = Vec::new();
    if policy.is_stale(i.reported_on, i.state, today) {
        out.push(page.tr.t("incident-stale"));
    } else if policy.is_overdue(i.kind, i.reported_on, i.state, today) {
        out.push(page.tr.t("incident-overdue"));
    }
    if i.consequence.is_serious() {
        out.push(page.tr.t("incident-serious"));
    }
    if i.never_event {
        out.push(page.tr.t("incident-never"));
    }
    out.join(", ")
}

/// `GET /incidents`: the handler's queue, most urgent first.
pub async fn queue(State(state): State<AppState>, page: Page) -> UiResult {
    let p = page.principal()?;
    let policy = state.config().deadlines;
    let today = today();
    let tree = tree(&state, &page).await?;
    let list = state
        .store()
        .incident_queue(&p, &policy, today, 500)
        .await
        .map_err(|e| page.error(e))?;
    let tr = &page.tr;
    let rows = list
        .iter()
        .map(|i| QueueRow {
            href: format!("/incidents/{}", i.id),
            reported: valvo_core::period::format_date(i.reported_on),
            unit: tree
                .get(i.org_unit_id)
                .map(|n| text_html(tr, &n.name))
                .unwrap_or_default(),
            kind: tr.t(&format!("incident-kind-{}", i.kind.code())),
            consequence: tr.t(&format!("consequence-{}", i.consequence.code())),
            state: tr.t(&format!("incident-state-{}", i.state.code())),
            flags: flags(&page, &policy, i, today),
        })
        .collect();
    let l = Layout::new(&page, tr.t("incident-queue-title"));
    let configure = valvo_core::incident::may_configure(&p);
    Ok(render(&QueuePage { l, rows, configure }, StatusCode::OK))
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    details: Vec<(String, String)>,
    texts: Vec<(String, String)>,
    actions: Vec<(String, String, String)>,
    handling: FormView,
    action_form: FormView,
}

fn handling_form(
    page: &Page,
    id: i64,
    tree: &OrgTree,
    data: FormData,
    errors: &[FieldError],
) -> (FormView, FormView) {
    let b = Builder::new(&page.tr, data, errors);
    let mut forward = b.plain("forward_to", InputKind::Select, false);
    forward.options = std::iter::once((String::new(), page.tr.t("incident-no-forward")))
        .chain(
            unit_choices(page, tree)
                .into_iter()
                .map(|(id, n)| (id.to_string(), n)),
        )
        .collect();
    let handling = vec![Group {
        legend: String::new(),
        fields: vec![
            b.select(
                "state",
                &codes(&IncidentState::ALL, IncidentState::code),
                "incident-state",
            ),
            forward,
            b.plain("analysis", InputKind::Textarea, false),
            b.plain("outcome", InputKind::Textarea, false),
        ],
    }];
    let mut due = b.plain("action_due", InputKind::Text, true);
    due.input_type = "date";
    let action = vec![Group {
        legend: String::new(),
        fields: vec![
            b.plain("action_text", InputKind::Textarea, true),
            b.plain("action_owner", InputKind::Text, true),
            due,
        ],
    }];
    let hf = FormView {
        action: format!("/incidents/{id}/handling"),
        submit: page.tr.t("save"),
        cancel: "/incidents".into(),
        errors: Vec::new(),
        groups: handling,
        remove: None,
        once: None,
        multipart: false,
    };
    let af = FormView {
        action: format!("/incidents/{id}/actions"),
        submit: page.tr.t("incident-action-add"),
        cancel: "/incidents".into(),
        errors: Vec::new(),
        groups: action,
        remove: None,
        once: None,
        multipart: false,
    };
    let mut both = (hf, af);
    // Error summaries per form.
    for form in [&mut both.0, &mut both.1] {
        form.errors = form
            .groups
            .iter()
            .flat_map(|g| g.fields.iter())
            .filter_map(|f| {
                f.error
                    .as_ref()
                    .map(|e| (f.name.clone(), format!("{}: {}", f.label, e)))
            })
            .collect();
    }
    both
}

/// A report as its handler sees it, with what the page needs beside it.
struct HandlerView {
    p: Principal,
    tree: std::sync::Arc<OrgTree>,
    inc: Incident,
    types: Vec<EventTypeDef>,
    handlers: Vec<IncidentHandler>,
}

async fn handler_view(
    state: &AppState,
    page: &Page,
    id: i64,
) -> Result<HandlerView, crate::error::UiError> {
    let p = page.principal()?;
    let store = state.store();
    let inc = store.incident(id).await.map_err(|e| page.error(e))?;
    let tree = tree(state, page).await?;
    if tree.get(inc.org_unit_id).is_none() {
        return Err(page.error(ErrorKind::NotFound));
    }
    // Free text and the reporter's identity are for the unit's handlers only:
    // those who may write the unit and its named handlers.
    let allowed = store
        .may_handle_incidents(&p, &tree, inc.org_unit_id)
        .await
        .map_err(|e| page.error(e))?;
    if !allowed {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let types = taxonomy(state, page).await?;
    let handlers = store
        .incident_handlers(inc.org_unit_id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(HandlerView {
        p,
        tree,
        inc,
        types,
        handlers,
    })
}

fn incident_page(
    page: &Page,
    policy: &DeadlinePolicy,
    v: &HandlerView,
    data: FormData,
    errors: &[FieldError],
) -> Response {
    let (tree, p, inc) = (&v.tree, &v.p, &v.inc);
    let tr = &page.tr;
    let reporter = match &inc.reporter_name {
        Some(name) => format!(
            "{name}{}",
            inc.reporter_contact
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
        None => tr.t("incident-anonymous"),
    };
    let handlers = if v.handlers.is_empty() {
        escape(&tr.t("incident-handlers-none"))
    } else {
        v.handlers
            .iter()
            .map(|h| escape(&h.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unit_name = tree
        .get(inc.org_unit_id)
        .map(|n| text_html(tr, &n.name))
        .unwrap_or_default();
    let forwarded_from = inc
        .forwarded_from
        .and_then(|id| tree.get(id))
        .map(|n| text_html(tr, &n.name));
    // Values are HTML: names in a fallback language carry their `lang`.
    let e = |key: String| escape(&tr.t(&key));
    let mut details = vec![
        (tr.t("field-org_unit"), unit_name),
        (tr.t("incident-handlers"), handlers),
        (
            tr.t("field-kind"),
            e(format!("incident-kind-{}", inc.kind.code())),
        ),
        (
            tr.t("field-event_type"),
            type_html(page, &v.types, &inc.event_type),
        ),
        (
            tr.t("field-consequence"),
            e(format!("consequence-{}", inc.consequence.code())),
        ),
        (
            tr.t("field-never_event"),
            e(if inc.never_event {
                "yes-no-yes"
            } else {
                "yes-no-no"
            }
            .to_string()),
        ),
        (
            tr.t("field-occurred_on"),
            escape(
                format!(
                    "{} {}",
                    valvo_core::period::format_date(inc.occurred_on),
                    inc.occurred_time.clone().unwrap_or_default()
                )
                .trim_end(),
            ),
        ),
        (tr.t("field-place"), escape(&inc.place)),
        (
            tr.t("incident-reported"),
            valvo_core::period::format_date(inc.reported_on),
        ),
        (
            tr.t("incident-deadline"),
            valvo_core::period::format_date(policy.deadline(inc.kind, inc.reported_on)),
        ),
        (
            tr.t("field-reporter_role"),
            e(format!("reporter-role-{}", inc.reporter_role.code())),
        ),
        (tr.t("incident-reporter"), escape(&reporter)),
        (
            tr.t("field-state"),
            e(format!("incident-state-{}", inc.state.code())),
        ),
    ];
    if let Some(from) = forwarded_from {
        details.push((tr.t("incident-forwarded-from"), from));
    }
    let texts = vec![
        (tr.t("field-description"), inc.description.clone()),
        (
            tr.t("field-contributing_factors"),
            inc.contributing_factors.clone(),
        ),
        (
            tr.t("field-immediate_actions"),
            inc.immediate_actions.clone(),
        ),
    ]
    .into_iter()
    .filter(|(_, t)| !t.is_empty())
    .collect();
    let actions = inc
        .actions
        .iter()
        .map(|a| {
            (
                a.text.clone(),
                a.owner.clone(),
                valvo_core::period::format_date(a.due_on),
            )
        })
        .collect();
    let (handling, action_form) = handling_form(page, inc.id, tree, data, errors);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let l = Layout::new(page, format!("{} #{}", tr.t("incident-title"), inc.id));
    render(
        &IncidentPage {
            l,
            crumbs: crumbs(tr, tree, p, inc.org_unit_id),
            details,
            texts,
            actions,
            handling,
            action_form,
        },
        status,
    )
}

fn incident_data(inc: &Incident) -> FormData {
    let mut d = FormData::new();
    d.insert("state".into(), inc.state.code().into());
    d.insert("analysis".into(), inc.analysis.clone());
    d.insert("outcome".into(), inc.outcome.clone());
    d.insert(
        "action_due".into(),
        (today() + time::Duration::days(30)).to_string(),
    );
    d
}

/// `GET /incidents/{id}`
pub async fn detail(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
) -> UiResult {
    let v = handler_view(&state, &page, id).await?;
    Ok(incident_page(
        &page,
        &state.config().deadlines,
        &v,
        incident_data(&v.inc),
        &[],
    ))
}

/// `POST /incidents/{id}/handling`
pub async fn handle(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let v = handler_view(&state, &page, id).await?;
    let get = |k: &str| {
        data.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let Some(new_state) = IncidentState::parse(&get("state")) else {
        let errors = vec![FieldError {
            field: "state".into(),
            code: ErrorCode::Invalid,
        }];
        return Ok(incident_page(
            &page,
            &state.config().deadlines,
            &v,
            data,
            &errors,
        ));
    };
    let forward_to = match get("forward_to").as_str() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                let errors = vec![FieldError {
                    field: "forward_to".into(),
                    code: ErrorCode::Invalid,
                }];
                return Ok(incident_page(
                    &page,
                    &state.config().deadlines,
                    &v,
                    data,
                    &errors,
                ));
            }
        },
    };
    let h = Handling {
        state: new_state,
        analysis: get("analysis"),
        outcome: get("outcome"),
        forward_to,
    };
    match state.store().handle_incident(&v.p, id, &h, today()).await {
        Ok(_) => Ok(see_other(&format!("/incidents/{id}"))),
        Err(StoreError::Invalid(errors)) => Ok(incident_page(
            &page,
            &state.config().deadlines,
            &v,
            data,
            &errors,
        )),
        Err(e) => Err(page.error(e)),
    }
}

/// `POST /incidents/{id}/actions`
pub async fn add_action(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let v = handler_view(&state, &page, id).await?;
    let get = |k: &str| {
        data.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let Some(due) = parse_date(&get("action_due")) else {
        let code = if get("action_due").is_empty() {
            ErrorCode::Required
        } else {
            ErrorCode::Invalid
        };
        return Ok(incident_page(
            &page,
            &state.config().deadlines,
            &v,
            data,
            &[FieldError {
                field: "action_due".into(),
                code,
            }],
        ));
    };
    match state
        .store()
        .add_incident_action(&v.p, id, &get("action_text"), &get("action_owner"), due)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/incidents/{id}"))),
        Err(StoreError::Invalid(errors)) => Ok(incident_page(
            &page,
            &state.config().deadlines,
            &v,
            data,
            &errors,
        )),
        Err(e) => Err(page.error(e)),
    }
}

// ---------------------------------------------------------------- statistics

/// A statistics table row: label (HTML), this period, previous period.
pub struct StatRow {
    pub label: String,
    pub value: String,
    pub previous: String,
}

#[derive(Template)]
#[template(path = "incident_stats.html")]
struct StatsPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    /// As of which days the handling figures stand.
    as_of: String,
    period_label: String,
    previous_label: String,
    periods: Vec<(String, String, bool)>,
    base: String,
    tables: Vec<(String, Vec<StatRow>)>,
    chart: String,
}

/// A share as the statistics print it: one decimal always (`50,0 %`), as
/// the report's incident tables round them.
fn pct(v: f64, lang: Lang) -> String {
    valvo_core::format_percent((v * 10.0).round() / 10.0, 1, lang)
}

/// The rows of the statistics tables (also used by the public page).
fn stat_rows(
    page: &Page,
    types: &[EventTypeDef],
    cur: &IncidentStats,
    prev: &IncidentStats,
) -> (Vec<StatRow>, Vec<StatRow>, Vec<StatRow>, Vec<StatRow>) {
    let tr = &page.tr;
    let lang = page.lang;
    let n = |v: u64| format_number(v as f64, lang);
    let row = |label: String, value: String, previous: String| StatRow {
        label: escape(&label),
        value,
        previous,
    };
    // SPro's share of a by-kind list; the rest is HaiPro's.
    let misconduct = |list: &[(IncidentKind, u64)]| {
        list.iter()
            .filter(|(k, _)| *k == IncidentKind::Misconduct)
            .map(|(_, v)| *v)
            .sum::<u64>()
    };
    let summary = vec![
        row(tr.t("stat-total"), n(cur.total), n(prev.total)),
        row(
            tr.t("stat-serious"),
            format!("{} ({})", pct(cur.serious_share, lang), n(cur.serious)),
            format!("{} ({})", pct(prev.serious_share, lang), n(prev.serious)),
        ),
        row(
            tr.t("stat-never"),
            format!(
                "{} ({} / {})",
                pct(cur.never_event_share, lang),
                n(cur.never_events),
                n(cur.total)
            ),
            format!(
                "{} ({} / {})",
                pct(prev.never_event_share, lang),
                n(prev.never_events),
                n(prev.total)
            ),
        ),
        row(
            tr.t("stat-client-reported"),
            n(cur.client_reported),
            n(prev.client_reported),
        ),
        row(
            tr.t("stat-unhandled"),
            n(cur.unhandled_over_two_months),
            n(prev.unhandled_over_two_months),
        ),
        row(
            tr.t("stat-unhandled-safety"),
            n(cur.unhandled_over_two_months - misconduct(&cur.unhandled_over_two_months_by_kind)),
            n(
                prev.unhandled_over_two_months
                    - misconduct(&prev.unhandled_over_two_months_by_kind),
            ),
        ),
        row(
            tr.t("stat-unhandled-misconduct"),
            n(misconduct(&cur.unhandled_over_two_months_by_kind)),
            n(misconduct(&prev.unhandled_over_two_months_by_kind)),
        ),
        row(tr.t("stat-overdue"), n(cur.overdue), n(prev.overdue)),
        row(
            tr.t("stat-median-days"),
            cur.median_handling_days
                .map(|d| format_number(d, lang))
                .unwrap_or_else(|| "–".into()),
            prev.median_handling_days
                .map(|d| format_number(d, lang))
                .unwrap_or_else(|| "–".into()),
        ),
    ];
    let kinds = cur
        .by_kind
        .iter()
        .zip(prev.by_kind.iter())
        .map(|((k, v), (_, p))| row(tr.t(&format!("incident-kind-{}", k.code())), n(*v), n(*p)))
        .collect();
    let consequences = cur
        .by_consequence
        .iter()
        .zip(cur.consequence_shares.iter())
        .zip(prev.consequence_shares.iter())
        .map(|(((c, v), (_, share)), (_, pshare))| {
            row(
                tr.t(&format!("consequence-{}", c.code())),
                format!("{} ({})", pct(*share, lang), n(*v)),
                pct(*pshare, lang),
            )
        })
        .collect();
    let types = cur
        .top_event_types
        .iter()
        .map(|(t, v)| {
            let p = prev
                .top_event_types
                .iter()
                .find(|(pt, _)| pt == t)
                .map(|(_, c)| n(*c))
                .unwrap_or_else(|| "–".into());
            StatRow {
                label: type_html(page, types, t),
                value: n(*v),
                previous: p,
            }
        })
        .collect();
    (summary, kinds, consequences, types)
}

/// An accessible bar chart of consequence shares.
fn consequence_chart(page: &Page, stats: &IncidentStats) -> String {
    let tr = &page.tr;
    let title = escape(&tr.t("stat-consequences"));
    let desc: Vec<String> = stats
        .consequence_shares
        .iter()
        .map(|(c, s)| {
            format!(
                "{} {}",
                tr.t(&format!("consequence-{}", c.code())),
                pct(*s, page.lang)
            )
        })
        .collect();
    // Each label on a line of its own above its bar, 400 wide: on a phone
    // the chart is shown at nine tenths of its size, its text still 12 px.
    let row_h = 38;
    let height = stats.consequence_shares.len() * row_h + 8;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"cc-t cc-d\" width=\"400\" height=\"{height}\" viewBox=\"0 0 400 {height}\" font-size=\"13\" font-family=\"Inter, system-ui, sans-serif\"><title id=\"cc-t\">{title}</title><desc id=\"cc-d\">{}</desc>",
        escape(&desc.join(", "))
    );
    for (i, (c, share)) in stats.consequence_shares.iter().enumerate() {
        let y = i * row_h + 4;
        let w = (share / 100.0 * 320.0).round() as i64;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" fill=\"#1a1a1a\">{}</text><rect x=\"0\" y=\"{}\" width=\"{}\" height=\"13\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" fill=\"#1a1a1a\" font-weight=\"bold\">{}</text>",
            y + 13,
            escape(&tr.t(&format!("consequence-{}", c.code()))),
            y + 18,
            w.max(1),
            if c.is_serious() { "#a0002a" } else { "#0000bf" },
            w.max(1) + 6,
            y + 30,
            escape(&pct(*share, page.lang))
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[derive(Deserialize)]
pub struct StatsQuery {
    period: Option<String>,
}

fn stats_period(page: &Page, raw: Option<&str>) -> Result<Period, crate::error::UiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            let current = Period::containing(today(), PeriodKind::Tertial);
            Ok(current.prev().unwrap_or(current))
        }
        Some(s) => s
            .parse()
            .map_err(|_| page.error(ErrorKind::BadRequest("error-period-invalid"))),
    }
}

pub(crate) async fn stats_response(
    state: &AppState,
    page: &Page,
    tree: &OrgTree,
    org: i64,
    period: Period,
    crumbs: Vec<(String, String)>,
    base: String,
) -> UiResult {
    let policy = state.config().deadlines;
    let store = state.store();
    let cur = store
        .incident_stats(tree, org, period, &policy, today())
        .await
        .map_err(|e| page.error(e))?;
    let prev_period = period.prev().unwrap_or(period);
    let prev = store
        .incident_stats(tree, org, prev_period, &policy, today())
        .await
        .map_err(|e| page.error(e))?;
    let taxonomy = taxonomy(state, page).await?;
    let (summary, kinds, consequences, types) = stat_rows(page, &taxonomy, &cur, &prev);
    let mut periods = Vec::new();
    let year = period.year_number();
    for y in [year, year - 1] {
        if let Ok(yp) = Period::year(y) {
            for kind in [PeriodKind::Tertial, PeriodKind::Half, PeriodKind::Year] {
                for sub in yp.sub_periods(kind) {
                    periods.push((sub.to_string(), sub.label(), sub == period));
                }
            }
        }
    }
    let name = tree
        .get(org)
        .and_then(|n| n.name.resolve(page.lang).map(|r| r.text.to_string()))
        .unwrap_or_default();
    let mut l = Layout::new(
        page,
        page.tr
            .t_args("stat-title", &[("org", crate::i18n::arg_str(name))]),
    );
    if base.starts_with("/public/") {
        // Public: headed by the county, as its other public pages are.
        l.brand = crate::branding::head(state, page, tree, org).await;
    }
    Ok(render(
        &StatsPage {
            l,
            crumbs,
            as_of: page.tr.t_args(
                "stat-as-of",
                &[
                    (
                        "date",
                        crate::i18n::arg_str(
                            cur.as_of
                                .map(valvo_core::period::format_date)
                                .unwrap_or_else(|| "–".into()),
                        ),
                    ),
                    (
                        "prev",
                        crate::i18n::arg_str(
                            prev.as_of
                                .map(valvo_core::period::format_date)
                                .unwrap_or_else(|| "–".into()),
                        ),
                    ),
                ],
            ),
            period_label: period.label(),
            previous_label: prev_period.label(),
            periods,
            base,
            chart: consequence_chart(page, &cur),
            tables: vec![
                (page.tr.t("stat-summary"), summary),
                (page.tr.t("stat-kinds"), kinds),
                (page.tr.t("stat-consequences"), consequences),
                (page.tr.t("stat-types"), types),
            ],
        },
        StatusCode::OK,
    ))
}

/// `GET /org/{id}/incidents?period=P`
pub async fn stats(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    UiQuery(q): UiQuery<StatsQuery>,
) -> UiResult {
    let (p, tree) = crate::ui::can_read_statistics(&state, &page, org).await?;
    let period = stats_period(&page, q.period.as_deref())?;
    let crumbs = crate::ui::statistics_crumbs(&page.tr, &tree, &p, org, "incidents");
    stats_response(
        &state,
        &page,
        &tree,
        org,
        period,
        crumbs,
        format!("/org/{org}/incidents"),
    )
    .await
}

/// `GET /public/org/{code}/incidents?period=P`: the same figures, public (no free text).
pub async fn public_stats(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
    UiQuery(q): UiQuery<StatsQuery>,
) -> UiResult {
    let tree = crate::ui::tree(&state, &page).await?;
    let node = unit_by_code(&tree, &code).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let period = stats_period(&page, q.period.as_deref())?;
    let mut crumbs = vec![("/public".to_string(), escape(&page.tr.t("public-title")))];
    crumbs.extend(tree.path(node.id).into_iter().map(|n| {
        (
            format!("/public/org/{}", n.code),
            text_html(&page.tr, &n.name),
        )
    }));
    stats_response(
        &state,
        &page,
        &tree,
        node.id,
        period,
        crumbs,
        format!("/public/org/{code}/incidents"),
    )
    .await
}
