//! Imports over HTTP: the API (`POST /api/v1/feedback/import`,
//! `POST /api/v1/incidents/import`, `GET /api/v1/imports/{id}`) and the
//! pages (`/imports`: upload, then a page per import with its progress and
//! result). Every one goes through the store's streaming import pipeline:
//! the body or the uploaded file is read as it arrives, never held whole.
//! An upload runs in the background of the server; its page can be reloaded
//! or left and come back to.

use std::io::Read;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use valvo_core::access::Principal;
use valvo_store::{ImportJob, ImportKind, ImportState};

use crate::api::{ApiError, ApiPath, ApiResult, Caller};
use crate::ctx::{Page, UiPath};
use crate::error::ErrorKind;
use crate::html::Layout;
use crate::ui::{render, see_other, UiResult};
use crate::AppState;

/// The largest file a page upload takes (it is stored on disk as it
/// arrives, then read as a stream).
pub const MAX_UPLOAD: usize = 4 << 30;

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// A request body as a blocking reader for the import's reader thread: the
/// frames are handed over through a small channel as they arrive.
struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl BodyReader {
    fn new(body: Body) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            use http_body_util::BodyExt;
            let mut body = body;
            while let Some(frame) = body.frame().await {
                let item = match frame {
                    Ok(f) => match f.into_data() {
                        Ok(b) => Ok(b),
                        Err(_) => continue,
                    },
                    Err(e) => Err(e.to_string()),
                };
                let stop = item.is_err();
                if tx.send(item).await.is_err() || stop {
                    break;
                }
            }
        });
        BodyReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

#[derive(Deserialize)]
pub struct ImportQuery {
    dry_run: Option<String>,
    file_name: Option<String>,
}

fn flag(v: &Option<String>) -> Result<bool, ApiError> {
    match v.as_deref().map(str::trim) {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "dry_run: true or false",
        )),
    }
}

/// The JSON of an import (the API's answer and `GET /api/v1/imports/{id}`).
pub fn job_json(job: &ImportJob) -> Value {
    let mut v = serde_json::to_value(job).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("percent".into(), json!(job.percent()));
    }
    v
}

/// An import's end as an API response: 200 when done or checked, 422
/// `invalid_lines` naming every line (the first 100) when nothing was
/// imported for errors in the file.
fn api_outcome(job: ImportJob) -> ApiResult<Response> {
    match job.state {
        ImportState::Done | ImportState::Checked | ImportState::Running => Ok(Json(json!({
            "imported": if job.state == ImportState::Done { job.rows_written } else { 0 },
            "checked": job.rows_read,
            "import": job_json(&job),
        }))
        .into_response()),
        ImportState::Failed if job.error_count > 0 => {
            let fields: Vec<Value> = job
                .errors
                .iter()
                .map(|e| json!({ "field": format!("{}.{}", e.line, e.field), "code": e.code.code() }))
                .collect();
            let lines: Vec<Value> = job
                .errors
                .iter()
                .map(|e| json!({ "sheet": e.sheet, "line": e.line, "field": e.field, "code": e.code.code(), "expected": e.expected, "message": e.to_string() }))
                .collect();
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "error": {
                    "code": "invalid_lines",
                    "message": format!("{} errors; nothing was imported", job.error_count),
                    "fields": fields,
                    "lines": lines,
                    "import": job_json(&job),
                } })),
            )
                .into_response())
        }
        ImportState::Failed => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "import_failed",
            "the import stopped; nothing was imported",
        )),
    }
}

async fn api_import(
    state: AppState,
    p: Principal,
    kind: ImportKind,
    q: ImportQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let dry_run = flag(&q.dry_run)?;
    match crate::api::media_type(&headers).as_deref() {
        None
        | Some("text/csv")
        | Some("text/plain")
        | Some("application/csv")
        | Some(XLSX_TYPE)
        | Some("application/octet-stream") => {}
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("the body must be CSV (text/csv) or XLSX ({XLSX_TYPE})"),
            ))
        }
    }
    let size = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let name = q.file_name.unwrap_or_else(|| "api".into());
    let store = state.store();
    let id = store.create_import(&p, kind, &name, size, dry_run).await?;
    let job = store
        .run_import(&p, id, BodyReader::new(body), today(), None)
        .await?;
    api_outcome(job)
}

/// The media type of an XLSX workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `POST /api/v1/follow-ups/import` (body: CSV or XLSX, `?dry_run=true` to
/// check only and keep the comparison as a preview).
pub async fn figures(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    api_import(state, p, ImportKind::Figures, q, headers, body).await
}

/// `POST /api/v1/reference/sotkanet` (body: a Sotkanet CSV export).
pub async fn sotkanet(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    if !matches!(
        crate::api::media_type(&headers).as_deref(),
        None | Some("text/csv") | Some("text/plain") | Some("application/csv")
    ) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be CSV (text/csv)",
        ));
    }
    let name = q.file_name.unwrap_or_else(|| "api".into());
    match state.store().import_sotkanet(&p, &name, &body).await? {
        Ok(done) => Ok(Json(json!(done)).into_response()),
        Err(errors) => {
            let fields: Vec<Value> = errors
                .first
                .iter()
                .map(|e| json!({ "field": format!("{}.{}", e.line, e.field), "code": e.code.code() }))
                .collect();
            let lines: Vec<Value> = errors
                .first
                .iter()
                .map(|e| json!({ "line": e.line, "field": e.field, "code": e.code.code(), "expected": e.expected, "message": e.to_string() }))
                .collect();
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "error": {
                    "code": "invalid_lines",
                    "message": format!("{} errors; nothing was stored", errors.count),
                    "fields": fields,
                    "lines": lines,
                } })),
            )
                .into_response())
        }
    }
}

/// `POST /api/v1/imports/{id}/apply`: a checked figures import applied (its
/// preview confirmed).
pub async fn apply(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let job = state.store().apply_import(&p, id).await?;
    api_outcome(job)
}

/// `POST /api/v1/feedback/import` (body: CSV, `?dry_run=true` to check only).
pub async fn feedback(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    api_import(state, p, ImportKind::Feedback, q, headers, body).await
}

/// `POST /api/v1/incidents/import` (body: CSV, `?dry_run=true` to check only).
pub async fn incidents(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    api_import(state, p, ImportKind::Incidents, q, headers, body).await
}

/// `POST /api/v1/ombudsman/import` (body: CSV, `?dry_run=true` to check only).
pub async fn ombudsman(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    api_import(state, p, ImportKind::Ombudsman, q, headers, body).await
}

/// Whether `p` may see import `job`: who started it, or an administrator.
fn may_see(p: &Principal, job: &ImportJob) -> bool {
    p.can_administer() || (p.user_id.is_some() && job.user_id == p.user_id)
}

/// `GET /api/v1/imports/{id}`: an import's progress and result.
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    store.reap_imports().await?;
    match store.import_job(id).await? {
        Some(job) if may_see(&p, &job) => Ok(Json(job_json(&job))),
        _ => Err(valvo_store::StoreError::NotFound.into()),
    }
}

// ---------------------------------------------------------------- pages

struct JobRow {
    href: String,
    kind: String,
    file_name: String,
    state: String,
    started: String,
    rows: String,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ListPage {
    l: Layout,
    kinds: Vec<(String, String)>,
    jobs: Vec<JobRow>,
    error: Option<String>,
}

struct ErrorRow {
    sheet: String,
    line: String,
    column: String,
    problem: String,
    expected: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct JobPage {
    l: Layout,
    crumbs: Vec<(String, String)>,
    kind: String,
    file_name: String,
    state_code: String,
    state: String,
    running: bool,
    percent: u8,
    read: String,
    rows: String,
    written: String,
    started: String,
    finished: String,
    error_count: String,
    errors: Vec<ErrorRow>,
    more_errors: Option<String>,
    message: Option<String>,
    href: String,
    with_sheets: bool,
    /// A figures import's comparison: (label, count).
    summary: Vec<(String, String)>,
    changes: Vec<ChangeRow>,
    more_changes: bool,
    /// A checked figures import that may be applied.
    apply: Option<String>,
}

struct ChangeRow {
    place: String,
    indicator: String,
    period: String,
    before: String,
    after: String,
    note: String,
}

fn importer(page: &Page) -> Result<Principal, crate::error::UiError> {
    let p = page.principal()?;
    if p.role.writes() || p.role == valvo_core::access::Role::Ombudsperson {
        Ok(p)
    } else {
        Err(page.error(ErrorKind::Forbidden))
    }
}

fn kinds(page: &Page, p: &Principal) -> Vec<(String, String)> {
    ImportKind::ALL
        .into_iter()
        .filter(|k| match k {
            ImportKind::Incidents => valvo_core::incident::may_configure(p),
            ImportKind::Ombudsman => matches!(
                p.role,
                valvo_core::access::Role::Ombudsperson | valvo_core::access::Role::Admin
            ),
            ImportKind::Feedback | ImportKind::Figures => p.role.writes(),
        })
        .map(|k| {
            (
                k.code().to_owned(),
                page.tr.t(&format!("import-kind-{}", k.code())),
            )
        })
        .collect()
}

fn when(page: &Page, at: &str) -> String {
    valvo_core::period::format_time(at, page.lang)
}

fn num(page: &Page, n: u64) -> String {
    valvo_core::format_number(n as f64, page.lang)
}

async fn list_page(
    state: &AppState,
    page: &Page,
    error: Option<String>,
    status: StatusCode,
) -> UiResult {
    let p = importer(page)?;
    let store = state.store();
    store.reap_imports().await.map_err(|e| page.error(e))?;
    let jobs = store
        .import_jobs(&p, 20)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|j| JobRow {
            href: format!("/imports/{}", j.id),
            kind: page.tr.t(&format!("import-kind-{}", j.kind.code())),
            file_name: j.file_name.clone(),
            state: page.tr.t(&format!("import-state-{}", j.state.code())),
            started: when(page, &j.created_at),
            rows: num(
                page,
                if j.state == ImportState::Done {
                    j.rows_written
                } else {
                    j.rows_read
                },
            ),
        })
        .collect();
    let l = Layout::new(page, page.tr.t("imports-title"));
    Ok(render(
        &ListPage {
            kinds: kinds(page, &p),
            l,
            jobs,
            error,
        },
        status,
    ))
}

/// `GET /imports`: upload a file, and the latest imports.
pub async fn list(State(state): State<AppState>, page: Page) -> UiResult {
    list_page(&state, &page, None, StatusCode::OK).await
}

/// `POST /imports` (multipart: `csrf`, `kind`, `dry_run`, `file`): stores the
/// upload in a temporary file as it arrives, starts the import in the
/// background and sends the browser to its page.
pub async fn upload(State(state): State<AppState>, page: Page, mut form: Multipart) -> UiResult {
    let p = importer(&page)?;
    let mut csrf = None;
    let mut kind = None;
    let mut dry_run = false;
    let mut file: Option<(std::path::PathBuf, String, u64)> = None;
    let bad = |key: &'static str| page.error(ErrorKind::BadRequest(key));
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|_| bad("import-error-upload"))?
    {
        match field.name().unwrap_or("") {
            "csrf" => csrf = Some(field.text().await.map_err(|_| bad("import-error-upload"))?),
            "kind" => {
                kind =
                    ImportKind::parse(&field.text().await.map_err(|_| bad("import-error-upload"))?)
            }
            "dry_run" => dry_run = !field.text().await.unwrap_or_default().is_empty(),
            "file" => {
                // The form's token comes first: nothing is stored for a forged post.
                page.check_csrf(csrf.as_ref())?;
                let name = field.file_name().unwrap_or("").to_owned();
                let path = std::env::temp_dir().join(format!(
                    "valvo-upload-{}-{}.csv",
                    std::process::id(),
                    valvo_store::random_secret()
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(16)
                        .collect::<String>()
                ));
                let mut out = tokio::fs::File::create(&path)
                    .await
                    .map_err(|e| internal(&page, e))?;
                let mut size = 0u64;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            size += chunk.len() as u64;
                            use tokio::io::AsyncWriteExt;
                            if let Err(e) = out.write_all(&chunk).await {
                                let _ = tokio::fs::remove_file(&path).await;
                                return Err(internal(&page, e));
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {
                            let _ = tokio::fs::remove_file(&path).await;
                            return Err(bad("import-error-upload"));
                        }
                    }
                }
                use tokio::io::AsyncWriteExt;
                let _ = out.flush().await;
                file = Some((path, name, size));
            }
            _ => {}
        }
    }
    page.check_csrf(csrf.as_ref())?;
    if let Some((path, name, size)) = &file {
        if *size == 0 && name.is_empty() {
            // No file chosen: the browser sends an empty part.
            let _ = tokio::fs::remove_file(path).await;
            file = None;
        }
    }
    let Some((path, name, size)) = file else {
        return list_page(
            &state,
            &page,
            Some(page.tr.t("import-error-no-file")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let Some(kind) = kind.filter(|k| kinds(&page, &p).iter().any(|(c, _)| c == k.code())) else {
        let _ = tokio::fs::remove_file(&path).await;
        return list_page(
            &state,
            &page,
            Some(page.tr.t("import-error-kind")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let store = state.store().clone();
    let id = match store.create_import(&p, kind, &name, size, dry_run).await {
        Ok(id) => id,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(page.error(e));
        }
    };
    let reader = std::fs::File::open(&path).map_err(|e| internal(&page, e))?;
    tokio::spawn(async move {
        if let Err(e) = store.run_import(&p, id, reader, today(), None).await {
            tracing::warn!(import = id, error = %e, "import failed");
        }
        let _ = tokio::fs::remove_file(&path).await;
    });
    Ok(see_other(&format!("/imports/{id}")))
}

/// `GET /imports/{id}`: how far an import is, and how it ended.
pub async fn show(State(state): State<AppState>, page: Page, UiPath(id): UiPath<i64>) -> UiResult {
    let p = importer(&page)?;
    let store = state.store();
    store.reap_imports().await.map_err(|e| page.error(e))?;
    let job = match store.import_job(id).await.map_err(|e| page.error(e))? {
        Some(j) if may_see(&p, &j) => j,
        _ => return Err(page.error(ErrorKind::NotFound)),
    };
    let tr = &page.tr;
    let errors = job
        .errors
        .iter()
        .map(|e| ErrorRow {
            sheet: e.sheet.clone().unwrap_or_default(),
            line: e.line.to_string(),
            column: e.field.clone(),
            problem: tr.t(&format!("error-{}", e.code.code())),
            expected: e
                .hint
                .as_ref()
                .map(|h| expected_text(&page, h))
                .or_else(|| e.expected.clone())
                .unwrap_or_default(),
        })
        .collect();
    let more_errors = (job.error_count > job.errors.len() as u64).then(|| {
        tr.t_args(
            "import-more-errors",
            &[
                ("shown", crate::i18n::arg_str(job.errors.len().to_string())),
                ("count", crate::i18n::arg_str(num(&page, job.error_count))),
            ],
        )
    });
    let with_sheets = job.errors.iter().any(|e| e.sheet.is_some());
    let lang = page.lang;
    let (summary, changes, more_changes) = match &job.summary {
        Some(sm) => (
            vec![
                (tr.t("import-new-figures"), num(&page, sm.new)),
                (tr.t("import-changed-figures"), num(&page, sm.changed)),
                (tr.t("import-unchanged-figures"), num(&page, sm.unchanged)),
                (tr.t("import-flagged-figures"), num(&page, sm.flagged)),
            ],
            sm.changes
                .iter()
                .map(|c| {
                    let fig = |f: &Option<valvo_core::Figure>| {
                        f.as_ref()
                            .map(|f| c.value_kind.format_figure(f, lang))
                            .unwrap_or_else(|| "–".into())
                    };
                    let mut note = Vec::new();
                    if c.texts {
                        note.push(tr.t("import-texts-change"));
                    }
                    if c.flagged {
                        note.push(tr.t("flagged"));
                    }
                    ChangeRow {
                        place: match &c.sheet {
                            Some(sh) => format!("{sh} {}", c.line),
                            None => c.line.to_string(),
                        },
                        indicator: c.indicator.clone(),
                        period: c.period.label(),
                        before: fig(&c.before),
                        after: fig(&c.after),
                        note: note.join(", "),
                    }
                })
                .collect(),
            (sm.changes.len() as u64) < sm.new + sm.changed,
        ),
        None => (Vec::new(), Vec::new(), false),
    };
    let apply = (job.kind == ImportKind::Figures && job.state == ImportState::Checked)
        .then(|| format!("/imports/{}/apply", job.id));
    let title = format!("{} {}", tr.t("import-title"), job.id);
    let l = Layout::new(&page, title);
    Ok(render(
        &JobPage {
            crumbs: vec![("/imports".into(), tr.t("imports-title"))],
            kind: tr.t(&format!("import-kind-{}", job.kind.code())),
            file_name: job.file_name.clone(),
            state_code: job.state.code().to_owned(),
            state: tr.t(&format!("import-state-{}", job.state.code())),
            running: job.running(),
            percent: job.percent().unwrap_or(0),
            read: format!(
                "{} / {}",
                bytes(job.bytes_read.min(job.bytes_total.max(job.bytes_read))),
                bytes(job.bytes_total)
            ),
            rows: num(&page, job.rows_read),
            written: num(
                &page,
                if job.state == ImportState::Done {
                    job.rows_written
                } else {
                    0
                },
            ),
            started: when(&page, &job.created_at),
            finished: job
                .finished_at
                .as_deref()
                .map(|f| when(&page, f))
                .unwrap_or_default(),
            error_count: num(&page, job.error_count),
            errors,
            more_errors,
            message: job.message.as_ref().map(|m| {
                if m == "interrupted" {
                    tr.t("import-interrupted")
                } else {
                    m.clone()
                }
            }),
            href: format!("/imports/{}", job.id),
            with_sheets,
            summary,
            changes,
            more_changes,
            apply,
            l,
        },
        StatusCode::OK,
    ))
}

/// `POST /imports/{id}/apply`: a checked figures import confirmed.
pub async fn apply_page(
    State(state): State<AppState>,
    page: Page,
    UiPath(id): UiPath<i64>,
    axum::Form(data): axum::Form<std::collections::HashMap<String, String>>,
) -> UiResult {
    page.check_csrf(data.get("csrf"))?;
    let p = importer(&page)?;
    match state.store().apply_import(&p, id).await {
        Ok(_) | Err(valvo_store::StoreError::Invalid(_)) => {
            Ok(see_other(&format!("/imports/{id}")))
        }
        Err(e) => Err(page.error(e)),
    }
}

/// What a cell should have held, in the page's language.
fn expected_text(page: &Page, e: &valvo_core::import::Expected) -> String {
    use crate::i18n::arg_str;
    use valvo_core::import::Expected as E;
    let tr = &page.tr;
    let day = |d: &str| {
        valvo_core::feedback::parse_date(d)
            .map(valvo_core::period::format_date)
            .unwrap_or_else(|| d.to_owned())
    };
    match e {
        E::Literal(s) => s.clone(),
        E::UnitCode => tr.t("import-expect-unit"),
        E::UnitYouMayWrite(v) => {
            tr.t_args("import-expect-unit-not", &[("value", arg_str(v.clone()))])
        }
        E::AnswerContent => tr.t("import-expect-answer"),
        E::Scale(r) => tr.t_args("import-expect-scale", &[("range", arg_str(r.clone()))]),
        E::Day => tr.t("import-expect-day"),
        E::NotAfter(d) => tr.t_args("import-expect-not-after", &[("date", arg_str(day(d)))]),
        E::NotBefore(d) => tr.t_args("import-expect-not-before", &[("date", arg_str(day(d)))]),
        E::EventType => tr.t("import-expect-event-type"),
        E::EventTypeNot(v) => tr.t_args(
            "import-expect-event-type-not",
            &[("value", arg_str(v.clone()))],
        ),
        E::EmptyStatementOfOtherCounty => tr.t("import-expect-statement-other-county"),
        E::EventTypeOfCounty(v) => tr.t_args(
            "import-expect-event-type-county",
            &[("value", arg_str(v.clone()))],
        ),
        E::MaxChars(n) => tr.t_args("import-expect-max", &[("n", arg_str(n.to_string()))]),
        E::Columns(n) => tr.t_args("import-expect-columns", &[("n", arg_str(n.to_string()))]),
        E::YesNo => tr.t("import-expect-yes-no"),
        E::EmptyUnlessHandled => tr.t("import-expect-empty-unless-handled"),
        E::CsvLine => tr.t("import-expect-csv-line"),
        E::IndicatorYouMayWrite(v) => tr.t_args(
            "import-expect-indicator-not",
            &[("value", arg_str(v.clone()))],
        ),
        E::Period => tr.t("import-expect-period"),
        E::ItsPeriod(kind, year) => tr.t_args(
            "import-expect-its-period",
            &[
                ("kind", arg_str(tr.t(&format!("period-kind-{kind}")))),
                ("year", arg_str(year.to_string())),
            ],
        ),
        E::Figure(kind) => tr.t(&format!("hint-value-{}", kind.code())),
        E::NotAgainAfter(line) => {
            tr.t_args("import-expect-once", &[("line", arg_str(line.to_string()))])
        }
        E::ValueOrAssessment => tr.t("import-expect-value-or-assessment"),
    }
}

fn internal(page: &Page, e: impl std::fmt::Display) -> crate::error::UiError {
    tracing::error!(error = %e, "upload");
    page.error(ErrorKind::Internal)
}

fn bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / (1 << 20) as f64)
    } else {
        format!("{} kB", n.div_ceil(1024))
    }
}
