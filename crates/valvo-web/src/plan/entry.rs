//! Bulk entry of a unit's figures for a period (one table, saved in one
//! transaction, errors per cell, what was typed kept), the template to hand
//! to whoever holds the figures (XLSX, pre-filled with the unit's
//! indicators), and what is still missing across the units (a reporting
//! rate), with the values flagged for a look and those kept outside their
//! indicator's own periods.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use valvo_core::access::Principal;
use valvo_core::plan::{FieldError, FollowUpInput};
use valvo_core::{I18nText, Period};

use crate::ctx::{Page, UiPath, UiQuery};
use crate::error::ErrorKind;
use crate::forms::{error_message, FormData};
use crate::html::{text_html, Layout};
use crate::ui::{can_read, can_write, crumbs, render, see_other, UiResult};
use crate::AppState;

#[derive(Deserialize)]
pub struct EntryQuery {
    period: Option<String>,
    year: Option<String>,
    saved: Option<String>,
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// The periods a unit's entry page offers (see `Store::entry_periods`).
async fn periods(
    state: &AppState,
    org: i64,
    page: &Page,
) -> Result<Vec<Period>, crate::error::UiError> {
    state
        .store()
        .entry_periods(org, today())
        .await
        .map_err(|e| page.error(e))
}

/// The period asked for, else the latest one that has ended.
fn chosen(
    page: &Page,
    raw: Option<&str>,
    offered: &[Period],
) -> Result<Option<Period>, crate::error::UiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s
            .parse::<Period>()
            .map(Some)
            .map_err(|_| page.error(ErrorKind::BadRequest("error-period-invalid"))),
        None => Ok(offered
            .iter()
            .find(|p| p.has_ended(today()))
            .or(offered.first())
            .copied()),
    }
}

struct Row {
    id: i64,
    code: String,
    name: String,
    kind: String,
    hint: String,
    value: String,
    assessment: String,
    corrective: String,
    value_error: Option<String>,
    assessment_error: Option<String>,
    flagged: bool,
}

#[derive(Template)]
#[template(path = "figures_entry.html")]
struct EntryPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    org: i64,
    unit: String,
    period: String,
    period_label: String,
    periods: Vec<(String, String, bool)>,
    rows: Vec<Row>,
    errors: Vec<(String, String)>,
    lang: &'static str,
    saved: Option<String>,
}

fn entry_page(
    page: &Page,
    crumbs: Vec<(String, String)>,
    unit: String,
    org: i64,
    period: Option<Period>,
    offered: &[Period],
    sheet: &[(
        valvo_core::model::Indicator,
        Option<valvo_core::model::FollowUp>,
    )],
    typed: Option<&FormData>,
    errors: &[FieldError],
    saved: Option<String>,
) -> Response {
    let tr = &page.tr;
    let lang = tr.lang();
    let err_of: HashMap<String, String> = errors
        .iter()
        .map(|e| {
            let base = e.field.rsplit_once('_').map(|(b, _)| b).unwrap_or(&e.field);
            (
                e.field.clone(),
                error_message(tr, &FieldError::new(base, e.code)),
            )
        })
        .collect();
    let rows: Vec<Row> = sheet
        .iter()
        .map(|(ind, fu)| {
            let id = ind.id;
            let stored = |f: &dyn Fn(&valvo_core::model::FollowUp) -> String| {
                fu.as_ref().map(f).unwrap_or_default()
            };
            let typed_or = |name: String, stored: String| {
                typed.and_then(|t| t.get(&name).cloned()).unwrap_or(stored)
            };
            Row {
                id,
                code: ind.code.clone().unwrap_or_default(),
                name: text_html(tr, &ind.name),
                kind: tr.t(&format!("value-kind-{}", ind.value_kind.code())),
                hint: tr.t(&format!("hint-value-{}", ind.value_kind.code())),
                value: typed_or(
                    format!("value_{id}"),
                    stored(&|f| ind.value_kind.input_text(&f.figure(), lang)),
                ),
                assessment: typed_or(
                    format!("assessment_{id}"),
                    stored(&|f| f.assessment.get(lang).unwrap_or("").to_owned()),
                ),
                corrective: typed_or(
                    format!("corrective_{id}"),
                    stored(&|f| f.corrective.get(lang).unwrap_or("").to_owned()),
                ),
                value_error: err_of.get(&format!("value_{id}")).cloned(),
                assessment_error: err_of
                    .get(&format!("assessment_{}_{id}", lang.code()))
                    .or_else(|| err_of.get(&format!("assessment_{id}")))
                    .cloned(),
                flagged: fu.as_ref().is_some_and(|f| f.flagged),
            }
        })
        .collect();
    let mut summary = Vec::new();
    for r in &rows {
        if let Some(e) = &r.value_error {
            summary.push((
                format!("value_{}", r.id),
                format!("{}: {e}", strip_tags(&r.name)),
            ));
        }
        if let Some(e) = &r.assessment_error {
            summary.push((
                format!("assessment_{}", r.id),
                format!("{}: {e}", strip_tags(&r.name)),
            ));
        }
    }
    if let Some(e) = err_of.get("period") {
        summary.push(("period".into(), e.clone()));
    }
    let status = if summary.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let period_label = period.map(|p| p.label()).unwrap_or_default();
    let mut l = Layout::new(page, format!("{} {period_label}", tr.t("entry-title")));
    if !summary.is_empty() {
        l.title_prefix = Some(tr.t("form-has-errors"));
    }
    render(
        &EntryPage {
            crumbs,
            org,
            unit,
            period: period.map(|p| p.to_string()).unwrap_or_default(),
            period_label,
            periods: offered
                .iter()
                .map(|p| {
                    (
                        p.to_string(),
                        format!("{} ({p})", p.label()),
                        Some(*p) == period,
                    )
                })
                .collect(),
            rows,
            errors: summary,
            lang: lang.code(),
            saved,
            l,
        },
        status,
    )
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// `GET /org/{id}/figures?period=P`: every figure of the unit's plan for a
/// period in one table.
pub async fn entry(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    UiQuery(q): UiQuery<EntryQuery>,
) -> UiResult {
    page.require_user()?;
    let (p, tree) = can_write(&state, &page, org).await?;
    let offered = periods(&state, org, &page).await?;
    let period = chosen(&page, q.period.as_deref(), &offered)?;
    let sheet = match period {
        Some(per) => state
            .store()
            .entry_sheet(org, per)
            .await
            .map_err(|e| page.error(e))?,
        None => Vec::new(),
    };
    let unit = tree
        .get(org)
        .map(|n| text_html(&page.tr, &n.name))
        .unwrap_or_default();
    let saved = q.saved.map(|_| page.tr.t("entry-saved"));
    Ok(entry_page(
        &page,
        crumbs(&page.tr, &tree, &p, org),
        unit,
        org,
        period,
        &offered,
        &sheet,
        None,
        &[],
        saved,
    ))
}

/// `POST /org/{id}/figures`: the table saved, every figure or none.
pub async fn entry_save(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    Form(data): Form<FormData>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let (p, tree) = can_write(&state, &page, org).await?;
    let offered = periods(&state, org, &page).await?;
    let Some(period) = chosen(&page, data.get("period").map(String::as_str), &offered)? else {
        return Err(page.error(ErrorKind::BadRequest("error-period-invalid")));
    };
    let sheet = state
        .store()
        .entry_sheet(org, period)
        .await
        .map_err(|e| page.error(e))?;
    let lang = page.tr.lang();
    let mut errors = Vec::new();
    let mut inputs = Vec::new();
    for (ind, fu) in &sheet {
        let id = ind.id;
        let get = |name: &str| {
            data.get(&format!("{name}_{id}"))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let (value, assessment, corrective) = (get("value"), get("assessment"), get("corrective"));
        let figure = match ind.value_kind.parse_figure(&value) {
            Ok(f) => f,
            Err(code) => {
                errors.push(FieldError::new(format!("value_{id}"), code));
                continue;
            }
        };
        // The other languages' texts stay as they are.
        let merge = |stored: Option<&I18nText>, typed: String| {
            let mut t = stored.cloned().unwrap_or_default();
            t.set(lang, (!typed.is_empty()).then_some(typed));
            t.normalized()
        };
        let input = FollowUpInput::of(
            figure,
            merge(fu.as_ref().map(|f| &f.assessment), assessment),
            merge(fu.as_ref().map(|f| &f.corrective), corrective),
        );
        if fu.is_none()
            && input.figure().is_empty()
            && input.assessment.is_empty()
            && input.corrective.is_empty()
        {
            continue;
        }
        inputs.push((id, input));
    }
    let unit = tree
        .get(org)
        .map(|n| text_html(&page.tr, &n.name))
        .unwrap_or_default();
    if errors.is_empty() {
        match state.store().put_follow_ups(&p, org, period, &inputs).await {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/org/{org}/figures?period={period}&saved=1"
                )));
            }
            Err(valvo_store::StoreError::Invalid(e)) => errors = e,
            Err(e) => return Err(page.error(e)),
        }
    }
    // Errors of the assessment name its language field as the form has it.
    let errors: Vec<FieldError> = errors
        .into_iter()
        .map(|mut e| {
            for l in valvo_core::Lang::ALL {
                let prefix = format!("assessment_{}_", l.code());
                if let Some(id) = e.field.strip_prefix(&prefix) {
                    e.field = format!("assessment_{id}");
                }
            }
            e
        })
        .collect();
    Ok(entry_page(
        &page,
        crumbs(&page.tr, &tree, &p, org),
        unit,
        org,
        Some(period),
        &offered,
        &sheet,
        Some(&data),
        &errors,
        None,
    ))
}

/// `GET /org/{id}/figures/template.xlsx?period=P`: the unit's indicators of
/// the period in a workbook to fill in and import.
pub async fn template(
    State(state): State<AppState>,
    page: Page,
    UiPath(org): UiPath<i64>,
    UiQuery(q): UiQuery<EntryQuery>,
) -> UiResult {
    page.require_user()?;
    let (_, tree) = can_read(&state, &page, org).await?;
    let offered = periods(&state, org, &page).await?;
    let Some(period) = chosen(&page, q.period.as_deref(), &offered)? else {
        return Err(page.error(ErrorKind::NotFound));
    };
    let sheet = state
        .store()
        .entry_sheet(org, period)
        .await
        .map_err(|e| page.error(e))?;
    let lang = page.tr.lang();
    let bytes = workbook(&page, &sheet, period, lang).map_err(|e| {
        tracing::error!(error = %e, "template workbook");
        page.error(ErrorKind::Internal)
    })?;
    let code = tree.get(org).map(|n| n.code.clone()).unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, crate::imports::XLSX_TYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"figures-{code}-{period}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn workbook(
    page: &Page,
    sheet: &[(
        valvo_core::model::Indicator,
        Option<valvo_core::model::FollowUp>,
    )],
    period: Period,
    lang: valvo_core::Lang,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let tr = &page.tr;
    let mut book = Workbook::new();
    let text = Format::new().set_num_format("@");
    let bold = Format::new().set_bold();
    let ws = book.add_worksheet();
    ws.set_name(&tr.t("template-sheet"))?;
    let assessment = format!("assessment_{}", lang.code());
    let headers = [
        "indicator",
        "period",
        "value",
        assessment.as_str(),
        "name",
        "value_kind",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, (ind, fu)) in sheet.iter().enumerate() {
        let r = r as u32 + 1;
        let name = ind
            .name
            .resolve(lang)
            .map(|x| x.text.to_owned())
            .unwrap_or_default();
        ws.write_string_with_format(r, 0, ind.code.as_deref().unwrap_or(""), &text)?;
        ws.write_string_with_format(r, 1, period.to_string(), &text)?;
        // Typed as text, so the spreadsheet keeps 0:13:25 and 90 % as written.
        let value = fu
            .as_ref()
            .map(|f| ind.value_kind.input_text(&f.figure(), lang))
            .unwrap_or_default();
        ws.write_string_with_format(r, 2, value, &text)?;
        let a = fu
            .as_ref()
            .and_then(|f| f.assessment.get(lang))
            .unwrap_or("")
            .to_owned();
        ws.write_string_with_format(r, 3, a, &text)?;
        ws.write_string(r, 4, name)?;
        ws.write_string(r, 5, tr.t(&format!("value-kind-{}", ind.value_kind.code())))?;
    }
    ws.set_column_width(0, 18)?;
    ws.set_column_width(2, 16)?;
    ws.set_column_width(3, 40)?;
    ws.set_column_width(4, 50)?;
    ws.set_column_width(5, 24)?;
    let help = book.add_worksheet();
    help.set_name(&tr.t("template-help-sheet"))?;
    for (r, key) in ["template-help-1", "template-help-2", "template-help-3"]
        .iter()
        .enumerate()
    {
        help.write_string(r as u32, 0, tr.t(key))?;
    }
    help.set_column_width(0, 100)?;
    book.save_to_buffer()
}

struct MissingRow {
    unit: String,
    period: String,
    href: String,
    entered: String,
    expected: String,
    done: bool,
}

struct ListedRow {
    unit: String,
    indicator: String,
    href: String,
    period: String,
    value: String,
    by: String,
}

#[derive(Template)]
#[template(path = "figures_overview.html")]
struct OverviewPage {
    l: Layout,
    year: i32,
    years: Vec<(i32, bool)>,
    missing: Vec<MissingRow>,
    flagged: Vec<ListedRow>,
    stray: Vec<ListedRow>,
}

/// Rows of what is missing, for the overview and the home page.
pub(crate) async fn missing_rows(
    state: &AppState,
    page: &Page,
    p: &Principal,
    year: i32,
    only_missing: bool,
) -> Result<Vec<(String, String, String, u64, u64)>, crate::error::UiError> {
    let tree = state.store().org_tree().await.map_err(|e| page.error(e))?;
    let list = state
        .store()
        .completeness(p, None, year, today())
        .await
        .map_err(|e| page.error(e))?;
    Ok(list
        .into_iter()
        .filter(|c| !only_missing || c.entered < c.expected)
        .filter(|c| p.can_write(&tree, c.org_unit_id))
        .map(|c| {
            (
                tree.get(c.org_unit_id)
                    .map(|n| text_html(&page.tr, &n.name))
                    .unwrap_or_default(),
                c.period.label(),
                format!("/org/{}/figures?period={}", c.org_unit_id, c.period),
                c.entered,
                c.expected,
            )
        })
        .collect())
}

/// `GET /figures?year=Y`: what is in and what is missing per unit and
/// period, the values flagged for a look, and follow-ups outside their
/// indicator's own periods.
pub async fn overview(
    State(state): State<AppState>,
    page: Page,
    UiQuery(q): UiQuery<EntryQuery>,
) -> UiResult {
    let p = page.principal()?;
    if !p.role.writes() {
        return Err(page.error(ErrorKind::Forbidden));
    }
    let this = today().year();
    let year = q
        .year
        .as_deref()
        .and_then(|y| y.trim().parse::<i32>().ok())
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or(this);
    let lang = page.tr.lang();
    let num = |n: u64| valvo_core::format_number(n as f64, lang);
    let missing = missing_rows(&state, &page, &p, year, false)
        .await?
        .into_iter()
        .map(|(unit, period, href, entered, expected)| MissingRow {
            unit,
            period,
            href,
            done: entered >= expected,
            entered: num(entered),
            expected: num(expected),
        })
        .collect();
    let tree = state.store().org_tree().await.map_err(|e| page.error(e))?;
    let listed = |l: Vec<valvo_store::Listed>| -> Vec<ListedRow> {
        l.into_iter()
            .map(|x| ListedRow {
                unit: tree
                    .get(x.indicator.org_unit_id)
                    .map(|n| text_html(&page.tr, &n.name))
                    .unwrap_or_default(),
                indicator: text_html(&page.tr, &x.indicator.name),
                href: format!("/indicators/{}#fu-{}", x.indicator.id, x.follow_up.period),
                period: x.follow_up.period.label(),
                value: x.indicator.figure_text(Some(&x.follow_up), None, lang),
                by: x.follow_up.updated_by.clone(),
            })
            .collect()
    };
    let flagged = listed(
        state
            .store()
            .flagged_follow_ups(&p, 200)
            .await
            .map_err(|e| page.error(e))?,
    );
    let stray = listed(
        state
            .store()
            .stray_follow_ups(&p, 200)
            .await
            .map_err(|e| page.error(e))?,
    );
    let l = Layout::new(&page, page.tr.t("figures-title"));
    Ok(render(
        &OverviewPage {
            l,
            year,
            years: (this - 3..=this).rev().map(|y| (y, y == year)).collect(),
            missing,
            flagged,
            stray,
        },
        StatusCode::OK,
    ))
}
