//! Report pages inside the app: list and open, write the texts and figures,
//! the workflow, downloads.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use valvo_core::access::Principal;
use valvo_core::plan::{parse_number, ErrorCode, FieldError};
use valvo_core::report::{
    check_report_period, transition, ReportPeriodError, SectionKind, Transition,
};
use valvo_core::{I18nText, Lang, OrgTree, Period, PeriodKind};
use valvo_report::Layout as PdfLayout;
use valvo_store::{ReportError, ReportRow, SUMMARY};

use crate::ctx::{Page, UiPath, UiQuery};
use crate::error::{ErrorKind, UiError};
use crate::forms::{Builder, Field, FormData, FormView, Group, InputKind};
use crate::html::{escape, text_html, Layout};
use crate::report_html::{render_file, Body, FileKind};
use crate::ui::{can_read, can_write, crumbs, form_page, render, see_other, UiResult};
use crate::AppState;

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// The latest tertial that has ended: the default period of a new report.
fn last_ended_tertial() -> Period {
    let current = Period::containing(today(), PeriodKind::Tertial);
    current.prev().unwrap_or(current)
}

struct RowView {
    href: String,
    period: String,
    version: i64,
    state: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    rows: Vec<RowView>,
    form: Option<FormView>,
}

fn open_form(page: &Page, org: i64, data: FormData, errors: &[FieldError]) -> FormView {
    let b = Builder::new(&page.tr, data, errors);
    let mut period = b.plain("report_period", InputKind::Text, true);
    period.hint = Some(page.tr.t("hint-report-period"));
    let mut children = b.select("with_children", &["yes", "no"], "report-children");
    children.label = page.tr.t("field-with_children");
    b.form(
        format!("/org/{org}/reports"),
        "report-open",
        format!("/org/{org}"),
        vec![Group {
            legend: String::new(),
            fields: vec![period, children],
        }],
    )
}

async fn list_page(
    state: &AppState,
    page: &Page,
    org: i64,
    form_data: FormData,
    errors: &[FieldError],
) -> UiResult {
    let (p, tree) = can_read(state, page, org).await?;
    let rows = state
        .store()
        .reports_of(org)
        .await
        .map_err(|e| page.error(e))?;
    let tr = &page.tr;
    let rows = rows
        .iter()
        .map(|r| RowView {
            href: format!("/reports/{}", r.id),
            period: format!("{} ({})", r.period.label(), r.period),
            version: r.version,
            state: tr.t(&format!("report-state-{}", r.state.code())),
            updated: valvo_core::period::format_time(
                r.published_at
                    .as_deref()
                    .or(r.approved_at.as_deref())
                    .unwrap_or(&r.created_at),
                tr.lang(),
            ),
        })
        .collect();
    let writable = p.can_write(&tree, org);
    let form = writable.then(|| open_form(page, org, form_data, errors));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let name = tree
        .get(org)
        .and_then(|n| n.name.resolve(tr.lang()).map(|r| r.text.to_string()))
        .unwrap_or_default();
    let l = Layout::new(
        page,
        tr.t_args("reports-title", &[("org", crate::i18n::arg_str(name))]),
    );
    Ok(render(
        &ReportsPage {
            l,
            crumbs: crumbs(tr, &tree, &p, org),
            rows,
            form,
        },
        status,
    ))
}

/// `GET /org/{id}/reports`
pub async fn reports_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
) -> UiResult {
    page.require_user()?;
    let mut data = FormData::new();
    data.insert("report_period".into(), last_ended_tertial().to_string());
    data.insert("with_children".into(), "yes".into());
    list_page(&state, &page, org, data, &[]).await
}

/// `POST /org/{id}/reports`: opens the period's report (a new draft, or the open one).
pub async fn report_open(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (p, _) = can_write(&state, &page, org).await?;
    let raw = data.get("report_period").map(|s| s.trim()).unwrap_or("");
    let error = |code: ErrorCode| {
        vec![FieldError {
            field: "report_period".into(),
            code,
        }]
    };
    let period = match raw.parse::<Period>() {
        Ok(period) => period,
        Err(_) => {
            let errors = error(if raw.is_empty() {
                ErrorCode::Required
            } else {
                ErrorCode::Invalid
            });
            return list_page(&state, &page, org, data, &errors).await;
        }
    };
    match check_report_period(&period, today()) {
        Ok(()) => {}
        Err(ReportPeriodError::NotEnded) => {
            return list_page(&state, &page, org, data, &error(ErrorCode::OutOfRange)).await
        }
        Err(ReportPeriodError::Kind) => {
            return list_page(&state, &page, org, data, &error(ErrorCode::Invalid)).await
        }
    }
    let with_children = data.get("with_children").map(String::as_str) != Some("no");
    let row = state
        .store()
        .open_report(&p, org, period, with_children)
        .await
        .map_err(|e| page.error(e))?;
    Ok(see_other(&format!("/reports/{}", row.id)))
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    id: i64,
    views: Vec<(String, String, bool)>,
    files: Vec<(String, String)>,
    steps: Vec<(String, String)>,
    editable: bool,
    chapters: Vec<(String, String)>,
    csrf: String,
    new_version: bool,
    body: Body,
}

#[derive(Deserialize)]
pub struct ViewQuery {
    pub view: Option<String>,
}

pub(crate) fn parse_view(raw: Option<&str>, default: Lang) -> Option<PdfLayout> {
    match raw {
        None | Some("") => Some(PdfLayout::Single(default)),
        Some("bilingual") => Some(PdfLayout::Bilingual),
        Some(code) => Lang::parse(code)
            .filter(|l| l.code() == code)
            .map(PdfLayout::Single),
    }
}

pub(crate) fn view_links(
    base: &str,
    current: PdfLayout,
    tr: &crate::i18n::Tr,
) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = Lang::ALL
        .iter()
        .map(|l| {
            (
                format!("{base}?view={}", l.code()),
                tr.t(&format!("report-view-{}", l.code())),
                current == PdfLayout::Single(*l),
            )
        })
        .collect();
    out.push((
        format!("{base}?view=bilingual"),
        tr.t("report-view-bilingual"),
        current == PdfLayout::Bilingual,
    ));
    out
}

pub(crate) fn file_links(base: &str, tr: &crate::i18n::Tr) -> Vec<(String, String)> {
    FileKind::all_names()
        .into_iter()
        .map(|name| {
            (
                format!("{base}/{name}"),
                tr.t(&format!("file-{}", name.replace('.', "-"))),
            )
        })
        .collect()
}

async fn readable_report(
    state: &AppState,
    page: &Page,
    id: i64,
) -> Result<(ReportRow, Principal, std::sync::Arc<OrgTree>), UiError> {
    page.require_user()?;
    let row = state
        .store()
        .report_row(id)
        .await
        .map_err(|e| page.error(e))?;
    let (p, tree) = can_read(state, page, row.org_unit_id).await?;
    Ok((row, p, tree))
}

/// `GET /reports/{id}`
pub async fn report_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    UiQuery(q): UiQuery<ViewQuery>,
) -> UiResult {
    let (row, p, tree) = readable_report(&state, &page, id).await?;
    let layout =
        parse_view(q.view.as_deref(), page.lang).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let report = state
        .store()
        .report(&row)
        .await
        .map_err(|e| page.error(e))?;
    let writable = p.can_write(&tree, row.org_unit_id);
    let steps = Transition::ALL
        .iter()
        .filter(|s| transition(row.state, **s, &p, writable).is_ok_and(|next| next != row.state))
        .map(|s| {
            (
                s.code().to_string(),
                page.tr.t(&format!("report-step-{}", s.code())),
            )
        })
        .collect();
    let tr = &page.tr;
    let name = report
        .org_name
        .resolve(tr.lang())
        .map(|r| r.text.to_string())
        .unwrap_or_default();
    let title = format!(
        "{} – {} {}",
        tr.t("report-title"),
        name,
        report.period.label()
    );
    let base = format!("/reports/{id}");
    Ok(render(
        &ReportPage {
            l: Layout::new(&page, title),
            crumbs: crumbs(tr, &tree, &p, row.org_unit_id),
            id,
            views: view_links(&base, layout, tr),
            files: file_links(&format!("{base}/file"), tr),
            steps,
            editable: writable && !row.state.frozen(),
            chapters: report
                .chapters
                .iter()
                .skip(1)
                .map(|c| {
                    (
                        format!("/reports/{id}/inputs?org={}", c.org_id),
                        text_html(tr, &c.name),
                    )
                })
                .collect(),
            csrf: page.csrf.clone(),
            new_version: writable && row.state.frozen(),
            body: Body::new(&report, layout),
        },
        StatusCode::OK,
    ))
}

/// `POST /reports/{id}/step`
pub async fn report_step(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (row, p, _) = readable_report(&state, &page, id).await?;
    let step = data
        .get("step")
        .and_then(|s| Transition::parse(s))
        .ok_or_else(|| page.error(ErrorKind::BadRequest("error-invalid")))?;
    match state.store().report_step(&p, row.id, step).await {
        Ok(_) => Ok(see_other(&format!("/reports/{id}"))),
        Err(ReportError::Workflow(valvo_core::report::WorkflowError::Role)) => {
            Err(page.error(ErrorKind::Forbidden))
        }
        Err(ReportError::Workflow(_)) => Err(page.error(ErrorKind::Conflict)),
        Err(ReportError::Store(e)) => Err(page.error(e)),
    }
}

/// `POST /reports/{id}/new-version`: opens a correction of a frozen report.
pub async fn report_new_version(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (row, p, _) = readable_report(&state, &page, id).await?;
    let next = state
        .store()
        .open_report(&p, row.org_unit_id, row.period, row.with_children)
        .await
        .map_err(|e| page.error(e))?;
    Ok(see_other(&format!("/reports/{}", next.id)))
}

/// Serves a rendered file (PDF work runs on a blocking thread).
pub(crate) async fn file_response(
    state: &AppState,
    report: valvo_core::report::Report,
    name: &str,
    page: &Page,
) -> UiResult {
    let kind = FileKind::parse(name).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let pdf = matches!(kind, FileKind::Pdf(_));
    let (content_type, bytes) =
        render_blocking(state, page, pdf, move || render_file(&report, kind)).await?;
    Ok(download(content_type, name, bytes))
}

/// Runs a render on a blocking thread. A PDF (`queued`) waits its turn: a
/// burst of PDF requests queues instead of taking the server's memory (each
/// render holds tens of megabytes). The turn goes with the render: a client
/// that leaves does not free it while the render still runs.
pub(crate) async fn render_blocking<T, E>(
    state: &AppState,
    page: &Page,
    queued: bool,
    render: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, crate::error::UiError>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let turn = if queued {
        Some(
            state
                .render_turn()
                .await
                .ok_or_else(|| page.error(ErrorKind::Internal))?,
        )
    } else {
        None
    };
    tokio::task::spawn_blocking(move || {
        let out = render();
        drop(turn);
        out
    })
    .await
    .map_err(|_| page.error(ErrorKind::Internal))?
    .map_err(|e| {
        tracing::error!(error = %e, "rendering failed");
        page.error(ErrorKind::Internal)
    })
}

/// A rendered file: HTML shown in the browser, anything else downloaded as `name`.
pub(crate) fn download(content_type: &str, name: &str, bytes: Vec<u8>) -> Response {
    let disposition = if content_type.starts_with("text/html") {
        "inline".to_string()
    } else {
        format!("attachment; filename=\"{name}\"")
    };
    let mut resp = (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response();
    if content_type.starts_with("text/html") {
        // The standalone report carries its styles and logo within it (it
        // is also a file to keep); nothing else runs or loads.
        resp.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    resp
}

/// `GET /reports/{id}/file/{name}`
pub async fn report_file(
    State(state): State<AppState>,
    page: Page,
    UiPath((id, name)): UiPath<(i64, String)>,
) -> UiResult {
    let (row, _, _) = readable_report(&state, &page, id).await?;
    let report = state
        .store()
        .report(&row)
        .await
        .map_err(|e| page.error(e))?;
    file_response(&state, report, &name, &page).await
}

// ---------------------------------------------------------------- texts and figures

#[derive(Deserialize)]
pub struct OrgQuery {
    org: Option<i64>,
    /// `1`: replace the key observations with a new draft from the figures.
    draft: Option<String>,
}

fn lang_label(page: &Page, base: &str, lang: Lang) -> String {
    format!(
        "{} ({})",
        base,
        page.tr.t(&format!("fallback-{}", lang.code()))
    )
}

fn text_fields(
    page: &Page,
    data: &FormData,
    errors: &std::collections::HashMap<String, String>,
    name: &str,
    label: &str,
) -> Vec<Field> {
    Lang::ALL
        .iter()
        .map(|l| {
            let field = format!("{name}_{}", l.code());
            Field {
                label: lang_label(page, label, *l),
                hint: None,
                value: data.get(&field).cloned().unwrap_or_default(),
                kind: InputKind::Textarea,
                options: Vec::new(),
                error: errors.get(&field).or(errors.get(name)).cloned(),
                lang: Some(l.code()),
                required: false,
                input_type: "text",
                name: field,
            }
        })
        .collect()
}

fn inputs_form(
    page: &Page,
    report: i64,
    org: i64,
    is_report_org: bool,
    data: &FormData,
    errors: &[FieldError],
) -> FormView {
    let messages: std::collections::HashMap<String, String> = errors
        .iter()
        .map(|e| (e.field.clone(), crate::forms::error_message(&page.tr, e)))
        .collect();
    let mut groups = Vec::new();
    if is_report_org {
        groups.push(Group {
            legend: page.tr.t("report-summary"),
            fields: text_fields(page, data, &messages, SUMMARY, &page.tr.t("report-summary")),
        });
    }
    for kind in SectionKind::ALL {
        let heading = page.tr.t(&format!("report-section-{}", kind.code()));
        let mut fields = Vec::new();
        for key in kind.text_keys() {
            let label = page.tr.t(&format!("report-text-{key}"));
            fields.extend(text_fields(
                page,
                data,
                &messages,
                &format!("{}-{key}", kind.code()),
                &label,
            ));
        }
        for key in kind.figure_keys() {
            let name = format!("fig-{}-{key}", kind.code());
            fields.push(Field {
                label: page.tr.t(&format!("report-fig-{key}")),
                hint: None,
                value: data.get(&name).cloned().unwrap_or_default(),
                kind: InputKind::Number,
                options: Vec::new(),
                error: messages.get(&name).cloned(),
                lang: None,
                required: false,
                input_type: "text",
                name,
            });
        }
        groups.push(Group {
            legend: heading,
            fields,
        });
    }
    let mut errors_list = Vec::new();
    for g in &groups {
        for f in &g.fields {
            if let Some(e) = &f.error {
                errors_list.push((f.name.clone(), format!("{}: {}", f.label, e)));
            }
        }
    }
    FormView {
        action: format!("/reports/{report}/inputs?org={org}"),
        submit: page.tr.t("save"),
        cancel: format!("/reports/{report}"),
        groups,
        errors: errors_list,
        remove: None,
        once: None,
        multipart: false,
    }
}

fn text_of(data: &FormData, name: &str) -> I18nText {
    let get = |l: &str| data.get(&format!("{name}_{l}")).cloned();
    I18nText::new(get("fi"), get("sv"), get("en"))
}

/// Which org's inputs: the report's org or one of its chapters (children).
fn chapter_org(
    page: &Page,
    tree: &OrgTree,
    row: &ReportRow,
    org: Option<i64>,
) -> Result<i64, UiError> {
    let org = org.unwrap_or(row.org_unit_id);
    let ok = org == row.org_unit_id
        || (row.with_children && tree.get(org).and_then(|n| n.parent_id) == Some(row.org_unit_id));
    if ok {
        Ok(org)
    } else {
        Err(page.error(ErrorKind::NotFound))
    }
}

/// `GET /reports/{id}/inputs?org=ID`
pub async fn inputs_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    UiQuery(q): UiQuery<OrgQuery>,
) -> UiResult {
    let (row, p, tree) = readable_report(&state, &page, id).await?;
    let org = chapter_org(&page, &tree, &row, q.org)?;
    if !p.can_write(&tree, org) || row.state.frozen() {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let (summary, texts, figures) = state
        .store()
        .report_inputs(org, &row.period)
        .await
        .map_err(|e| page.error(e))?;
    let mut data = FormData::new();
    let mut put = |name: &str, t: &I18nText| {
        for l in Lang::ALL {
            data.insert(
                format!("{name}_{}", l.code()),
                t.get(l).unwrap_or("").to_string(),
            );
        }
    };
    // Key observations not yet written (or `?draft=1`): Valvo's draft from
    // the period's figures, to edit and save.
    let drafted = org == row.org_unit_id && (summary.is_empty() || q.draft.is_some());
    let summary = if drafted {
        let report = state
            .store()
            .report(&row)
            .await
            .map_err(|e| page.error(e))?;
        valvo_report::observations::draft(&report)
    } else {
        summary
    };
    put(SUMMARY, &summary);
    for (kind, key, t) in &texts {
        put(&format!("{}-{key}", kind.code()), t);
    }
    for (kind, key, v) in &figures {
        data.insert(
            format!("fig-{}-{key}", kind.code()),
            crate::html::num(Some(*v), Lang::En).replace(',', ""),
        );
    }
    Ok(inputs_response(
        &page,
        &tree,
        &p,
        &row,
        org,
        &data,
        &[],
        drafted,
    ))
}

#[allow(clippy::too_many_arguments)]
fn inputs_response(
    page: &Page,
    tree: &OrgTree,
    p: &Principal,
    row: &ReportRow,
    org: i64,
    data: &FormData,
    errors: &[FieldError],
    drafted: bool,
) -> Response {
    let form = inputs_form(page, row.id, org, org == row.org_unit_id, data, errors);
    let mut intro = format!(
        "{} · {} {}",
        tree.get(org)
            .map(|n| text_html(&page.tr, &n.name))
            .unwrap_or_default(),
        escape(&page.tr.t("report-period")),
        escape(&row.period.label())
    );
    if drafted {
        intro.push_str(&format!(
            "</p><p class=\"meta\" role=\"note\">{}",
            escape(&page.tr.t("report-draft-hint"))
        ));
    } else if org == row.org_unit_id {
        intro.push_str(&format!(
            "</p><p><a href=\"/reports/{}/inputs?org={org}&amp;draft=1\">{}</a>",
            row.id,
            escape(&page.tr.t("report-draft-again"))
        ));
    }
    form_page(
        page,
        page.tr.t("report-inputs-title"),
        crumbs(&page.tr, tree, p, org),
        intro,
        form,
    )
}

/// `POST /reports/{id}/inputs?org=ID`: saves every text and figure; input
/// with any error is shown again and nothing is written.
pub async fn inputs_save(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    UiQuery(q): UiQuery<OrgQuery>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (row, p, tree) = readable_report(&state, &page, id).await?;
    let org = chapter_org(&page, &tree, &row, q.org)?;
    if !p.can_write(&tree, org) || row.state.frozen() {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let mut errors = Vec::new();
    let mut texts: Vec<(String, String, I18nText)> = Vec::new();
    let mut figures: Vec<(String, String, Option<f64>)> = Vec::new();
    if org == row.org_unit_id {
        texts.push((SUMMARY.into(), "text".into(), text_of(&data, SUMMARY)));
    }
    for kind in SectionKind::ALL {
        for key in kind.text_keys() {
            texts.push((
                kind.code().into(),
                key.to_string(),
                text_of(&data, &format!("{}-{key}", kind.code())),
            ));
        }
        for key in kind.figure_keys() {
            let name = format!("fig-{}-{key}", kind.code());
            match parse_number(data.get(&name).map(String::as_str).unwrap_or("")) {
                Ok(v) => figures.push((kind.code().into(), key.to_string(), v)),
                Err(code) => errors.push(FieldError { field: name, code }),
            }
        }
    }
    for (section, key, t) in &texts {
        for l in Lang::ALL {
            if t.get(l)
                .is_some_and(|s| s.chars().count() > valvo_core::plan::MAX_TEXT)
            {
                let name = if section == SUMMARY {
                    SUMMARY.to_string()
                } else {
                    format!("{section}-{key}")
                };
                errors.push(FieldError {
                    field: format!("{name}_{}", l.code()),
                    code: ErrorCode::TooLong,
                });
            }
        }
    }
    if !errors.is_empty() {
        return Ok(inputs_response(
            &page, &tree, &p, &row, org, &data, &errors, false,
        ));
    }
    // All ~57 values in one transaction: saved together or not at all.
    state
        .store()
        .put_report_inputs(&p, Some(row.id), org, row.period, &texts, &figures)
        .await
        .map_err(|e| page.error(e))?;
    Ok(see_other(&format!("/reports/{id}")))
}
