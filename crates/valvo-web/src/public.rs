//! The public site, without login: every published report by organisation
//! and period (HTML, PDF, data) at stable addresses, and the current
//! self-monitoring plan of every unit.
//!
//! Addresses:
//! - `/public` — organisations with their published reports and plans
//! - `/public/org/{code}` — one organisation
//! - `/public/org/{code}/plan/{year}` (and `/bilingual`) — its plan
//! - `/public/org/{code}/reports/{period}` — the newest published version
//! - `/public/org/{code}/reports/{period}/v{n}` — one version, forever
//! - `/public/org/{code}/reports/{period}/v{n}/{file}` — its PDF, CSV, JSON, HTML

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use valvo_core::{OrgNode, OrgTree, Period};
use valvo_store::ReportRow;

use crate::ctx::{Page, UiPath, UiQuery};
use crate::error::{ErrorKind, UiError};
use crate::html::{text_html, Layout};
use crate::report_html::Body;
use crate::reports::{file_links, file_response, parse_view, view_links, ViewQuery};
use crate::ui::{
    bilingual_response, plan_response, render, tree, valid_year, PeriodQuery, PlanView, UiResult,
};
use crate::AppState;

struct OrgEntry {
    depth: usize,
    href: String,
    name: String,
    reports: usize,
}

#[derive(Template)]
#[template(path = "public_index.html")]
struct IndexPage {
    l: Layout,
    orgs: Vec<OrgEntry>,
}

/// `GET /public`
pub async fn index(State(state): State<AppState>, page: Page) -> UiResult {
    let tree = tree(&state, &page).await?;
    let published = state
        .store()
        .published_reports()
        .await
        .map_err(|e| page.error(e))?;
    let orgs = tree
        .walk()
        .into_iter()
        .map(|(depth, n)| OrgEntry {
            depth,
            href: format!("/public/org/{}", n.code),
            name: text_html(&page.tr, &n.name),
            reports: published.iter().filter(|r| r.org_unit_id == n.id).count(),
        })
        .collect();
    let l = Layout::new(&page, page.tr.t("public-title"));
    Ok(render(&IndexPage { l, orgs }, StatusCode::OK))
}

fn by_code<'a>(page: &Page, tree: &'a OrgTree, code: &str) -> Result<&'a OrgNode, UiError> {
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.code == code)
        .ok_or_else(|| page.error(ErrorKind::NotFound))
}

fn public_crumbs(page: &Page, tree: &OrgTree, id: i64) -> Vec<(String, String)> {
    let mut out = vec![(
        "/public".to_string(),
        crate::html::escape(&page.tr.t("public-title")),
    )];
    out.extend(tree.path(id).into_iter().map(|n| {
        (
            format!("/public/org/{}", n.code),
            text_html(&page.tr, &n.name),
        )
    }));
    out
}

struct ReportLink {
    href: String,
    period: String,
    version: i64,
    published: String,
    latest: bool,
}

#[derive(Template)]
#[template(path = "public_org.html")]
struct OrgPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    reports: Vec<ReportLink>,
    years: Vec<(String, i32)>,
    children: Vec<(String, String)>,
    incident_form: String,
    incident_stats: String,
    feedback_form: String,
    feedback_stats: String,
    base_public: String,
    /// A whole county (its ombudsperson figures are public).
    county: bool,
    /// The county among the others: the fair comparison, its row marked.
    comparison: String,
}

/// `GET /public/COUNTY`: a county's own public address (its code), which
/// is its public page; any other address there is not found.
pub async fn county(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
) -> UiResult {
    let tree = tree(&state, &page).await?;
    match tree
        .roots()
        .into_iter()
        .find(|n| n.code.eq_ignore_ascii_case(&code))
    {
        Some(n) => {
            let mut query = page.query.clone();
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str("lang=");
            query.push_str(page.lang.code());
            Ok(crate::ui::see_other(&format!(
                "/public/org/{}?{query}",
                n.code
            )))
        }
        None => Err(page.error(ErrorKind::NotFound)),
    }
}

/// `GET /public/org/{code}`
pub async fn org(
    State(state): State<AppState>,
    page: Page,
    UiPath(code): UiPath<String>,
) -> UiResult {
    let tree = tree(&state, &page).await?;
    let node = by_code(&page, &tree, &code)?;
    let published = state
        .store()
        .published_reports()
        .await
        .map_err(|e| page.error(e))?;
    let mut seen = std::collections::HashSet::new();
    let reports = published
        .iter()
        .filter(|r| r.org_unit_id == node.id)
        .map(|r| ReportLink {
            href: format!(
                "/public/org/{}/reports/{}/v{}",
                node.code, r.period, r.version
            ),
            period: r.period.label(),
            version: r.version,
            published: r
                .published_at
                .as_deref()
                .map(|t| valvo_core::period::format_day(t, page.lang))
                .unwrap_or_default(),
            latest: seen.insert(r.period),
        })
        .collect();
    let years = state
        .store()
        .plan_years(node.id)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|y| (format!("/public/org/{}/plan/{y}", node.code), y))
        .collect();
    let children = tree
        .children(node.id)
        .into_iter()
        .map(|c| {
            (
                format!("/public/org/{}", c.code),
                text_html(&page.tr, &c.name),
            )
        })
        .collect();
    let mut crumbs = public_crumbs(&page, &tree, node.id);
    crumbs.pop();
    let name = node
        .name
        .resolve(page.lang)
        .map(|r| r.text.to_string())
        .unwrap_or_default();
    let mut l = Layout::new(&page, name);
    l.brand = crate::branding::head(&state, &page, &tree, node.id).await;
    Ok(render(
        &OrgPage {
            l,
            crumbs,
            reports,
            years,
            children,
            incident_form: format!("/report/{}", node.code),
            incident_stats: format!("/public/org/{}/incidents", node.code),
            feedback_form: format!("/feedback/{}", node.code),
            feedback_stats: format!("/public/org/{}/feedback", node.code),
            comparison: tree
                .root_of(node.id)
                .and_then(|r| tree.get(r))
                .map(|r| format!("/public/comparison?county={}", r.code))
                .unwrap_or_default(),
            base_public: format!("/public/org/{}", node.code),
            county: node.parent_id.is_none(),
        },
        StatusCode::OK,
    ))
}

/// `GET /public/org/{code}/plan/{year}`
pub async fn plan(
    State(state): State<AppState>,
    page: Page,
    UiPath((code, year)): UiPath<(String, i32)>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    let year = valid_year(&page, year)?;
    let tree = tree(&state, &page).await?;
    let node = by_code(&page, &tree, &code)?;
    let view = PlanView {
        crumbs: public_crumbs(&page, &tree, node.id),
        writable: false,
        public: true,
        base: format!("/public/org/{code}/plan/{year}"),
    };
    plan_response(&state, &page, &tree, node.id, year, q, view).await
}

/// `GET /public/org/{code}/plan/{year}/bilingual`
pub async fn plan_bilingual(
    State(state): State<AppState>,
    page: Page,
    UiPath((code, year)): UiPath<(String, i32)>,
    UiQuery(q): UiQuery<PeriodQuery>,
) -> UiResult {
    let year = valid_year(&page, year)?;
    let tree = tree(&state, &page).await?;
    let node = by_code(&page, &tree, &code)?;
    bilingual_response(
        &state,
        &page,
        &tree,
        node.id,
        year,
        q,
        format!("/public/org/{code}/plan/{year}"),
    )
    .await
}

async fn published(
    state: &AppState,
    page: &Page,
    code: &str,
    period: &str,
    version: Option<&str>,
) -> Result<(ReportRow, std::sync::Arc<OrgTree>), UiError> {
    let tree = tree(state, page).await?;
    let node = by_code(page, &tree, code)?;
    let period: Period = period
        .parse()
        .map_err(|_| page.error(ErrorKind::NotFound))?;
    let version = match version {
        None => None,
        Some(v) => Some(
            v.strip_prefix('v')
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| page.error(ErrorKind::NotFound))?,
        ),
    };
    let rows = state
        .store()
        .published_reports()
        .await
        .map_err(|e| page.error(e))?;
    let row = rows
        .into_iter()
        .filter(|r| r.org_unit_id == node.id && r.period == period)
        .find(|r| version.is_none_or(|v| r.version == v))
        .ok_or_else(|| page.error(ErrorKind::NotFound))?;
    Ok((row, tree))
}

#[derive(Template)]
#[template(path = "public_report.html")]
struct ReportPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    views: Vec<(String, String, bool)>,
    files: Vec<(String, String)>,
    permalink: String,
    body: Body,
}

async fn report_page(
    state: AppState,
    page: Page,
    code: String,
    period: String,
    version: Option<String>,
    q: ViewQuery,
) -> UiResult {
    let (row, tree) = published(&state, &page, &code, &period, version.as_deref()).await?;
    let layout =
        parse_view(q.view.as_deref(), page.lang).ok_or_else(|| page.error(ErrorKind::NotFound))?;
    let report = state
        .store()
        .report(&row)
        .await
        .map_err(|e| page.error(e))?;
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
    let permalink = format!("/public/org/{code}/reports/{}/v{}", row.period, row.version);
    // Headed by the county's branding as the report was approved with it.
    let mut l = Layout::new(&page, title);
    let county = report
        .county_name
        .resolve(tr.lang())
        .map(|r| r.text.to_string())
        .unwrap_or_default();
    l.brand = crate::branding::head_of(&report.branding, county, tr.lang());
    Ok(render(
        &ReportPage {
            l,
            crumbs: public_crumbs(&page, &tree, row.org_unit_id),
            views: view_links(&page.path, layout, tr),
            files: file_links(&permalink, tr),
            permalink,
            body: Body::new(&report, layout),
        },
        StatusCode::OK,
    ))
}

/// `GET /public/org/{code}/reports/{period}`: the newest published version.
pub async fn report_latest(
    State(state): State<AppState>,
    page: Page,
    UiPath((code, period)): UiPath<(String, String)>,
    UiQuery(q): UiQuery<ViewQuery>,
) -> UiResult {
    report_page(state, page, code, period, None, q).await
}

/// `GET /public/org/{code}/reports/{period}/v{n}`
pub async fn report_version(
    State(state): State<AppState>,
    page: Page,
    UiPath((code, period, version)): UiPath<(String, String, String)>,
    UiQuery(q): UiQuery<ViewQuery>,
) -> UiResult {
    report_page(state, page, code, period, Some(version), q).await
}

/// `GET /public/org/{code}/reports/{period}/v{n}/{file}`
pub async fn report_file(
    State(state): State<AppState>,
    page: Page,
    UiPath((code, period, version, file)): UiPath<(String, String, String, String)>,
) -> UiResult {
    let (row, _) = published(&state, &page, &code, &period, Some(&version)).await?;
    let report = state
        .store()
        .report(&row)
        .await
        .map_err(|e| page.error(e))?;
    file_response(&state, report, &file, &page).await
}
