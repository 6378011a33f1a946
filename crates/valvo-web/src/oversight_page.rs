//! The page the ombudsperson and supervision modules share: details, tables
//! with small forms beside them, a period chooser and a form to record.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use valvo_core::report::ReportTable;
use valvo_core::{Period, PeriodKind};

use crate::ctx::Page;
use crate::error::{ErrorKind, UiError};
use crate::forms::FormView;
use crate::html::{escape, Layout};
use crate::report_html::{table_view, TableView};
use crate::ui::render;

/// A field of an [`InlineForm`]: (id, name, value, label, input type or `hidden`).
pub(crate) type InlineField = (String, String, String, String, String);

/// A small form beside a section: (action, fields, button).
pub(crate) type InlineForm = (String, Vec<InlineField>, String);

/// A part of the page under its own heading.
#[derive(Default)]
pub(crate) struct Section {
    pub(crate) heading: String,
    pub(crate) note: String,
    /// Text as HTML (escaped paragraphs).
    pub(crate) html: String,
    /// Shown when there are no tables.
    pub(crate) empty: String,
    pub(crate) tables: Vec<TableView>,
    pub(crate) actions: Vec<InlineForm>,
}

#[derive(Template)]
#[template(path = "oversight/page.html")]
struct Rendered {
    l: Layout,
    crumbs: Vec<(String, String)>,
    b: OversightPage,
}

/// What the page shows.
#[derive(Default)]
pub(crate) struct OversightPage {
    pub(crate) crumbs: Vec<(String, String)>,
    pub(crate) notice: String,
    pub(crate) intro: String,
    pub(crate) links: Vec<(String, String)>,
    pub(crate) base: String,
    pub(crate) periods: Vec<(String, String, bool)>,
    /// Definition lists: (term, HTML value).
    pub(crate) details: Vec<Vec<(String, String)>>,
    pub(crate) sections: Vec<Section>,
    pub(crate) form_heading: String,
    pub(crate) form_intro: String,
    pub(crate) form: Option<FormView>,
    /// The county's branding, on a public page.
    pub(crate) brand: Option<crate::html::BrandHead>,
    /// Fields the period chooser keeps: (name, value).
    pub(crate) hidden: Vec<(String, String)>,
    /// More choices beside the period's.
    pub(crate) choices: Vec<Choice>,
}

/// A list to choose from beside the period (a query parameter).
pub(crate) struct Choice {
    /// The parameter's name (and the list's id).
    pub(crate) name: String,
    /// Its label.
    pub(crate) label: String,
    /// (value, label, selected).
    pub(crate) options: Vec<(String, String, bool)>,
}

/// Escapes a table's row labels: the page prints labels as HTML (some
/// are links), and a report table's labels are text (a reason's name is
/// whatever a county typed).
fn escaped(mut t: TableView) -> TableView {
    let esc = |labels: &mut Vec<String>| {
        for l in labels.iter_mut() {
            *l = escape(l);
        }
    };
    for (labels, _) in &mut t.rows {
        esc(labels);
    }
    if let Some((labels, _)) = &mut t.total {
        esc(labels);
    }
    t
}

/// A text in the page's language (another when it has none), as plain text.
pub(crate) fn plain(page: &Page, t: &valvo_core::I18nText) -> String {
    t.resolve(page.tr.lang())
        .map(|r| r.text.to_string())
        .unwrap_or_default()
}

/// A section holding one table.
pub(crate) fn table_section(page: &Page, heading: String, t: &ReportTable) -> Section {
    Section {
        heading,
        tables: vec![escaped(table_view(&page.tr, t))],
        ..Default::default()
    }
}

/// A table of text: a caption, column heads, rows of (labels, cells).
pub(crate) fn plain_table(
    caption: String,
    head: Vec<String>,
    label_cols: usize,
    rows: Vec<(Vec<String>, Vec<String>)>,
) -> TableView {
    escaped(html_table(caption, head, label_cols, rows))
}

/// A table whose labels are HTML already (escaped text, links).
pub(crate) fn html_table(
    caption: String,
    head: Vec<String>,
    label_cols: usize,
    rows: Vec<(Vec<String>, Vec<String>)>,
) -> TableView {
    TableView {
        caption,
        head,
        label_cols,
        rows,
        total: None,
        chart: String::new(),
    }
}

/// `fi` or `sv` from a file name `report-fi.pdf`.
pub(crate) fn pdf_lang(page: &Page, name: &str) -> Result<valvo_core::Lang, UiError> {
    name.strip_prefix("report-")
        .and_then(|r| r.strip_suffix(".pdf"))
        .and_then(|l| valvo_core::Lang::parse(l).filter(|x| x.code() == l))
        .ok_or_else(|| page.error(ErrorKind::NotFound))
}

/// A document about `unit` typeset as PDF in its turn (as report PDFs
/// are), with its county's branding, sent as a download.
pub(crate) async fn plain_pdf(
    state: &crate::AppState,
    page: &Page,
    (tree, unit): (&valvo_core::OrgTree, i64),
    mut doc: valvo_report::PlainDocument,
    lang: valvo_core::Lang,
    name: &str,
) -> Result<Response, UiError> {
    // As a page's head: a branding that cannot be read leaves the document
    // unbranded rather than undelivered.
    if let Some(root) = tree.root_of(unit) {
        match state.store().branding_at_root(root).await {
            Ok(b) => doc.branding = b,
            Err(e) => tracing::warn!(error = %e, "reading the county's branding failed"),
        }
    }
    let pdf = crate::reports::render_blocking(state, page, true, move || {
        valvo_report::render_plain_pdf(&doc, lang)
    })
    .await?;
    Ok(crate::reports::download("application/pdf", name, pdf))
}

/// Renders the page; 422 when its form has errors.
pub(crate) fn show(page: &Page, title: String, mut p: OversightPage) -> Response {
    let crumbs = std::mem::take(&mut p.crumbs);
    let mut l = Layout::new(page, title);
    l.brand = p.brand.take();
    let status = if p.form.as_ref().is_some_and(|f| !f.errors.is_empty()) {
        l.title_prefix = Some(page.tr.t("form-has-errors"));
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(&Rendered { l, crumbs, b: p }, status)
}

/// The periods a statistics page offers: the quarters, tertials, halves and
/// years of this year and the one before, `period` selected.
pub(crate) fn period_choices(period: Period) -> Vec<(String, String, bool)> {
    let year = time::OffsetDateTime::now_utc()
        .year()
        .max(period.year_number());
    let mut out = Vec::new();
    for y in [year, year - 1, period.year_number()] {
        if out
            .iter()
            .any(|(c, _, _): &(String, String, bool)| c == &y.to_string())
        {
            continue;
        }
        if let Ok(yp) = Period::year(y) {
            for kind in [
                PeriodKind::Quarter,
                PeriodKind::Tertial,
                PeriodKind::Half,
                PeriodKind::Year,
            ] {
                for sub in yp.sub_periods(kind) {
                    out.push((sub.to_string(), sub.label(), sub == period));
                }
            }
        }
    }
    out
}

/// The period asked for, or the last ended quarter.
pub(crate) fn period_param(page: &Page, raw: Option<&str>) -> Result<Period, UiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            let today = time::OffsetDateTime::now_utc().date();
            let current = Period::containing(today, PeriodKind::Quarter);
            Ok(current.prev().unwrap_or(current))
        }
        Some(s) => s
            .parse()
            .map_err(|_| page.error(ErrorKind::BadRequest("error-period-invalid"))),
    }
}
