//! The import pipeline every import shares: feedback answers and incident
//! history today, the figures and the ombudsperson log next.
//!
//! A file is read once, as a stream: a reader thread parses and validates
//! each CSV record into a typed row (the domain core's column parsers) and
//! gathers the statistics' aggregate changes, while this side writes the rows
//! in chunks of [`CHUNK`], each in its own short transaction, tagged with the
//! import's id. Until the import is marked `done` its rows count nowhere
//! ([`crate::write::visible`]); the aggregates are added in the one short
//! transaction that marks it done. An error on any line stops the writing,
//! the rest of the file is still checked (the first
//! [`MAX_REPORTED`](valvo_core::import::MAX_REPORTED) errors are kept, all are
//! counted), and the rows written so far are removed: a file lands whole or
//! not at all. An import whose process died is found by [`Store::reap_imports`]
//! (at start, and before every import) and removed the same way.
//!
//! Memory stays bounded whatever the file's size: one chunk of rows in
//! flight, and aggregate changes kept per unit and month (spilled to a
//! staging table when they grow).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use sqlx::{AnyConnection, Row};
use tokio::sync::mpsc;
use valvo_core::access::Principal;
use valvo_core::feedback::{
    AnswerColumns, Channel, Counts, Dims, Respondent, ServiceLang, SurveyDef,
};
use valvo_core::import::{header_names, LineError, LineErrors};
use valvo_core::incident::{CountKey, EventTypeDef, HistoryColumns, HistoryRow};
use valvo_core::plan::ErrorCode;
use valvo_core::{OrgTree, Period, PeriodKind};

use crate::feedback::{bind_agg_row, scoped_cells, scores_json, survey_in, values};
use crate::incidents::{Deltas, OPEN_SPAN_DAYS};
use crate::write::audit;
use crate::{load_tree, now, Result, Store, StoreError};
use bulk::Cell;

mod bulk;
mod figures;
mod ombudsman;
mod xlsx;

pub use figures::{FigureChange, FiguresSummary};

/// Rows per write transaction: short enough that SQLite's write lock is
/// never held for long (live answers wait at most one chunk, about 0.1 s),
/// long enough that the index pages every chunk touches are written
/// rarely enough (2 000 made 36 000 reports a second, 5 000 makes 55 000).
pub const CHUNK: usize = 5_000;
/// Rows per INSERT statement of `cols` columns (up to 6 000 parameters on
/// PostgreSQL, 2 000 on SQLite). SQLite looks a numbered parameter (`$7`) up
/// by name in a list, so binding n of them costs n²: its multi-row
/// statements use anonymous `?` parameters instead ([`multi_row`]).
pub(crate) fn statement_rows(conn: &AnyConnection, cols: usize) -> usize {
    let params = if conn.backend_name() == "PostgreSQL" {
        6_000
    } else {
        2_000
    };
    (params / cols.max(1)).max(1)
}
/// Aggregate keys held in memory before they are spilled to staging.
const SPILL_KEYS: usize = 200_000;
/// A running import whose process is not known to be alive counts as dead
/// when it has not written for this long (seconds).
const STALE_SECS: i64 = 600;

/// What an import reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// Customer feedback answers.
    Feedback,
    /// Incident and misconduct report history (HaiPro / SPro exports).
    Incidents,
    /// Follow-up figures of indicators named by their codes.
    Figures,
    /// An ombudsperson's log of contacts.
    Ombudsman,
}

impl ImportKind {
    /// Every kind.
    pub const ALL: [ImportKind; 4] = [
        ImportKind::Feedback,
        ImportKind::Incidents,
        ImportKind::Figures,
        ImportKind::Ombudsman,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Feedback => "feedback",
            ImportKind::Incidents => "incidents",
            ImportKind::Figures => "figures",
            ImportKind::Ombudsman => "ombudsman",
        }
    }

    /// Parses a [`code`](Self::code).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s.trim())
    }
}

/// Where an import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Reading and writing.
    Running,
    /// Every row is in and counted.
    Done,
    /// A check without writing found no errors.
    Checked,
    /// Nothing was imported (errors, or the process stopped).
    Failed,
}

impl ImportState {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ImportState::Running => "running",
            ImportState::Done => "done",
            ImportState::Checked => "checked",
            ImportState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "running" => ImportState::Running,
            "done" => ImportState::Done,
            "checked" => ImportState::Checked,
            _ => ImportState::Failed,
        }
    }
}

/// An import as stored: what it read, how far it is, how it ended.
#[derive(Clone, Debug, Serialize)]
pub struct ImportJob {
    /// Id.
    pub id: i64,
    /// What it reads.
    pub kind: ImportKind,
    /// The file's name as given.
    pub file_name: String,
    /// Where it is.
    pub state: ImportState,
    /// Checked only, nothing written.
    pub dry_run: bool,
    /// Who started it (user id).
    pub user_id: Option<i64>,
    /// Who started it, as the audit log names them.
    pub actor: String,
    /// When it started (RFC 3339).
    pub created_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// The file's size in bytes (0 when not known).
    pub bytes_total: u64,
    /// Bytes read so far.
    pub bytes_read: u64,
    /// Data lines read so far.
    pub rows_read: u64,
    /// Rows written so far (counted only once done).
    pub rows_written: u64,
    /// Line errors found (all of them).
    pub error_count: u64,
    /// The first line errors.
    pub errors: Vec<LineError>,
    /// Why it stopped, when not for line errors (`interrupted`, a database
    /// error).
    pub message: Option<String>,
    /// What a figures import changes (its preview when checked).
    pub summary: Option<figures::FiguresSummary>,
}

impl ImportJob {
    /// Share read, 0–100 (`None` when the size is not known).
    pub fn percent(&self) -> Option<u8> {
        (self.bytes_total > 0).then(|| {
            ((self.bytes_read.min(self.bytes_total) * 100) / self.bytes_total).min(100) as u8
        })
    }

    /// Still running.
    pub fn running(&self) -> bool {
        self.state == ImportState::Running
    }
}

/// How far an import is, for a progress bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportProgress {
    /// Bytes read.
    pub bytes_read: u64,
    /// The file's size (0 when not known).
    pub bytes_total: u64,
    /// Data lines read.
    pub rows: u64,
    /// Line errors so far.
    pub errors: u64,
}

/// Called as an import goes on.
pub type OnProgress = Arc<dyn Fn(ImportProgress) + Send + Sync>;

const JOB_COLS: &str =
    "id, kind, file_name, state, dry_run, user_id, actor, created_at, finished_at, \
     bytes_total, bytes_read, rows_read, rows_written, error_count, errors, message, summary";

fn job_row(row: &sqlx::any::AnyRow) -> Result<ImportJob> {
    let kind: String = row.try_get("kind")?;
    let errors: String = row.try_get("errors")?;
    let n = |c: &str| -> Result<u64> { Ok(row.try_get::<i64, _>(c)?.max(0) as u64) };
    Ok(ImportJob {
        id: row.try_get("id")?,
        kind: ImportKind::parse(&kind).ok_or_else(|| crate::rows::corrupt("kind", &kind))?,
        file_name: row.try_get("file_name")?,
        state: ImportState::parse(&row.try_get::<String, _>("state")?),
        dry_run: row.try_get::<i64, _>("dry_run")? != 0,
        user_id: row.try_get("user_id")?,
        actor: row.try_get("actor")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
        bytes_total: n("bytes_total")?,
        bytes_read: n("bytes_read")?,
        rows_read: n("rows_read")?,
        rows_written: n("rows_written")?,
        error_count: n("error_count")?,
        errors: serde_json::from_str(&errors).unwrap_or_default(),
        message: row.try_get("message")?,
        summary: row
            .try_get::<Option<String>, _>("summary")?
            .and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// This process, as an import's `owner`: host and process id.
fn this_process() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// Whether the process that owns an import is known to be gone: it ran on
/// this host and its process id no longer exists.
fn owner_gone(owner: &str) -> bool {
    let Some((host, pid)) = owner.rsplit_once(':') else {
        return true;
    };
    if host != host_name() || host.is_empty() {
        return false;
    }
    if pid == std::process::id().to_string() {
        return false;
    }
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
    /// Pass NUL bytes on (a spreadsheet is binary); CSV leaves them out.
    keep_nul: bool,
}

impl<R: Read> Read for Counting<R> {
    /// Reads on, leaving out NUL bytes from text (no database text can hold
    /// them, and no CSV means them).
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            self.read.fetch_add(n as u64, Ordering::Relaxed);
            if self.keep_nul {
                return Ok(n);
            }
            let mut kept = 0;
            for i in 0..n {
                if buf[i] != 0 {
                    buf[kept] = buf[i];
                    kept += 1;
                }
            }
            if kept > 0 || n == 0 {
                return Ok(kept);
            }
        }
    }
}

/// What the reader thread sends.
enum Msg<R, A> {
    /// Rows to write (none once an error was found), and where the reading is.
    Rows { rows: R, progress: ImportProgress },
    /// Aggregate changes to keep in staging.
    Spill(A),
    /// The end of the file.
    End {
        errors: LineErrors,
        rows: u64,
        finish: A,
    },
}

/// One kind of import on the reader side: the columns, one record to one row,
/// and the aggregate changes of the rows read.
trait Parser: Send + 'static {
    type Row: Send + 'static;
    type Agg: Send + 'static + Default;
    fn header(&mut self, headers: Vec<String>) -> std::result::Result<(), Vec<LineError>>;
    fn record(
        &mut self,
        line: usize,
        record: &csv::StringRecord,
        sheet: Option<&str>,
    ) -> std::result::Result<Self::Row, Vec<LineError>>;
    /// A row held back until the file ended (a contact whose lines ran to
    /// the last one).
    fn flush(&mut self) -> std::result::Result<Option<Self::Row>, Vec<LineError>> {
        Ok(None)
    }
    /// Aggregate changes to write now (when they have grown), or all that are
    /// left (`last`).
    fn spill(&mut self, last: bool) -> Option<Self::Agg>;
    fn rows(rows: Vec<Self::Row>) -> Rows;
    fn agg(agg: Self::Agg) -> Agg;
}

/// Sends what the reader finds, in chunks, and keeps the errors: shared by
/// CSV files and spreadsheets.
struct Feed<'a, P: Parser> {
    parser: &'a mut P,
    tx: &'a mpsc::Sender<Msg<Rows, Agg>>,
    read: Arc<AtomicU64>,
    bytes_total: u64,
    chunk: Vec<P::Row>,
    rows: u64,
    errors: LineErrors,
}

impl<'a, P: Parser> Feed<'a, P> {
    fn new(
        parser: &'a mut P,
        tx: &'a mpsc::Sender<Msg<Rows, Agg>>,
        read: Arc<AtomicU64>,
        bytes_total: u64,
    ) -> Self {
        Feed {
            parser,
            tx,
            read,
            bytes_total,
            chunk: Vec::with_capacity(CHUNK),
            rows: 0,
            errors: LineErrors::default(),
        }
    }

    fn send(&self, m: Msg<Vec<P::Row>, P::Agg>) -> std::result::Result<(), ()> {
        let m = match m {
            Msg::Rows { rows, progress } => Msg::Rows {
                rows: P::rows(rows),
                progress,
            },
            Msg::Spill(a) => Msg::Spill(P::agg(a)),
            Msg::End {
                errors,
                rows,
                finish,
            } => Msg::End {
                errors,
                rows,
                finish: P::agg(finish),
            },
        };
        self.tx.blocking_send(m).map_err(|_| ())
    }

    fn progress(&self) -> ImportProgress {
        ImportProgress {
            bytes_read: self.read.load(Ordering::Relaxed),
            bytes_total: self.bytes_total,
            rows: self.rows,
            errors: self.errors.count,
        }
    }

    /// The header; false when it is wrong (the errors are kept).
    fn header(&mut self, headers: Vec<String>, sheet: Option<&str>) -> bool {
        if headers.iter().all(|h| h.is_empty()) {
            self.errors.extend([in_sheet(
                LineError::new(1, "header", ErrorCode::Required),
                sheet,
            )]);
        } else if let Err(e) = self.parser.header(headers) {
            self.errors
                .extend(e.into_iter().map(|e| in_sheet(e, sheet)));
        }
        self.errors.is_empty()
    }

    /// One data line.
    fn record(
        &mut self,
        line: usize,
        record: &csv::StringRecord,
        sheet: Option<&str>,
    ) -> std::result::Result<(), ()> {
        if record.iter().all(|c| c.trim().is_empty()) {
            return Ok(());
        }
        self.rows += 1;
        match self.parser.record(line, record, sheet) {
            Ok(row) if self.errors.is_empty() => self.chunk.push(row),
            Ok(_) => {}
            Err(e) => {
                self.errors
                    .extend(e.into_iter().map(|e| in_sheet(e, sheet)));
                self.chunk.clear();
            }
        }
        self.after_line()
    }

    /// A line that could not be read at all.
    fn bad_line(
        &mut self,
        line: usize,
        what: valvo_core::import::Expected,
    ) -> std::result::Result<(), ()> {
        self.rows += 1;
        self.errors
            .extend([LineError::new(line, "line", ErrorCode::Invalid).expecting(what)]);
        self.chunk.clear();
        self.after_line()
    }

    fn after_line(&mut self) -> std::result::Result<(), ()> {
        if self.chunk.len() >= CHUNK
            || (self.rows.is_multiple_of(CHUNK as u64) && !self.errors.is_empty())
        {
            let progress = self.progress();
            let rows = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            self.send(Msg::Rows { rows, progress })?;
            if self.errors.is_empty() {
                if let Some(a) = self.parser.spill(false) {
                    self.send(Msg::Spill(a))?;
                }
            }
        }
        Ok(())
    }

    /// The end of the file (or of every sheet).
    fn end(mut self) -> std::result::Result<(), ()> {
        match self.parser.flush() {
            Ok(Some(row)) if self.errors.is_empty() => self.chunk.push(row),
            Ok(_) => {}
            Err(e) => {
                self.errors.extend(e);
                self.chunk.clear();
            }
        }
        if self.errors.is_empty() && !self.chunk.is_empty() {
            let progress = self.progress();
            let rows = std::mem::take(&mut self.chunk);
            self.send(Msg::Rows { rows, progress })?;
        }
        let finish = if self.errors.is_empty() {
            self.parser.spill(true).unwrap_or_default()
        } else {
            P::Agg::default()
        };
        let errors = std::mem::take(&mut self.errors);
        let rows = self.rows;
        self.send(Msg::End {
            errors,
            rows,
            finish,
        })
    }
}

fn in_sheet(mut e: LineError, sheet: Option<&str>) -> LineError {
    e.sheet = sheet.map(str::to_owned);
    e
}

/// Reads the whole file on this (blocking) thread and sends rows in chunks:
/// a spreadsheet (XLSX, told by its first bytes) or CSV.
fn read_file<P: Parser, R: Read>(
    parser: &mut P,
    mut input: R,
    bytes_total: u64,
    tx: &mpsc::Sender<Msg<Rows, Agg>>,
) -> std::result::Result<(), ()> {
    let read = Arc::new(AtomicU64::new(0));
    let mut feed = Feed::new(parser, tx, read.clone(), bytes_total);
    // The first bytes tell a spreadsheet (a zip archive) from text, and a
    // text's first line its separator: read up to the first line's end.
    let mut peek = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < peek.len() && !(got >= 4 && peek[..got].contains(&b'\n')) {
        match input.read(&mut peek[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                feed.errors
                    .extend([LineError::new(1, "header", ErrorCode::Invalid)]);
                return feed.end();
            }
        }
    }
    peek.truncate(got);
    let spreadsheet = peek.starts_with(b"PK\x03\x04");
    let input = std::io::Cursor::new(peek).chain(input);
    if spreadsheet {
        // A spreadsheet is read whole (it is compressed; a sheet holds at
        // most about a million rows).
        let mut bytes = Vec::new();
        let mut counted = Counting {
            inner: input,
            read: read.clone(),
            keep_nul: true,
        };
        if counted.read_to_end(&mut bytes).is_err() {
            feed.errors
                .extend([LineError::new(1, "header", ErrorCode::Invalid)]);
            return feed.end();
        }
        return xlsx::read(feed, bytes);
    }
    let mut buffered = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: input,
            read: read.clone(),
            keep_nul: false,
        },
    );
    let head = match buffered.fill_buf() {
        Ok(b) => b,
        Err(_) => {
            feed.errors
                .extend([LineError::new(1, "header", ErrorCode::Invalid)]);
            return feed.end();
        }
    };
    let bom = head.starts_with("\u{feff}".as_bytes());
    let delimiter = valvo_core::import::delimiter(if bom { &head[3..] } else { head });
    if bom {
        buffered.consume(3);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(buffered);
    let headers = match reader.headers() {
        Ok(h) => header_names(h.iter()),
        Err(_) => Vec::new(),
    };
    if !feed.header(headers, None) {
        return feed.end();
    }
    let mut record = csv::StringRecord::new();
    let mut line = 1usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                line = record
                    .position()
                    .map(|p| p.line() as usize)
                    .unwrap_or(line + 1);
                feed.record(line, &record, None)?;
            }
            Err(e) => {
                line = e.position().map(|p| p.line() as usize).unwrap_or(line + 1);
                let what = if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    valvo_core::import::Expected::Literal("UTF-8".into())
                } else {
                    valvo_core::import::Expected::CsvLine
                };
                feed.bad_line(line, what)?;
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    feed.end()
}

/// Unit codes (lower case) → id, or why a row may not name it.
fn unit_codes(p: &Principal, tree: &OrgTree) -> HashMap<String, std::result::Result<i64, ()>> {
    tree.nodes()
        .iter()
        .map(|n| {
            let ok = if p.can_write(tree, n.id) {
                Ok(n.id)
            } else {
                Err(())
            };
            (n.code.to_lowercase(), ok)
        })
        .collect()
}

fn resolve_unit(
    units: &HashMap<String, std::result::Result<i64, ()>>,
    line: usize,
    code: &str,
) -> std::result::Result<i64, LineError> {
    match units.get(&code.trim().to_lowercase()) {
        Some(Ok(id)) => Ok(*id),
        // Out of scope reads as unknown: nothing is told of other units.
        _ => Err(LineError::new(line, "unit", ErrorCode::NotFound).expecting(
            valvo_core::import::Expected::UnitYouMayWrite(code.trim().to_owned()),
        )),
    }
}

/// A record's row and its unit's id, or every problem of the line when
/// either failed.
fn with_unit<T>(
    parsed: std::result::Result<T, Vec<LineError>>,
    units: &HashMap<String, std::result::Result<i64, ()>>,
    line: usize,
    unit: &str,
) -> std::result::Result<(T, i64), Vec<LineError>> {
    let org = (!unit.is_empty()).then(|| resolve_unit(units, line, unit));
    match (parsed, org) {
        (Ok(row), Some(Ok(org))) => Ok((row, org)),
        (Ok(_), Some(Err(e))) => Err(vec![e]),
        (Err(mut errs), Some(Err(e))) => {
            errs.push(e);
            Err(errs)
        }
        // The column parsers name an empty unit themselves.
        (Err(errs), _) => Err(errs),
        (Ok(_), None) => Err(Vec::new()),
    }
}

use crate::write::scopes;

// ---- feedback answers ----

/// An answer as written: unit, answer, and its text analysed.
struct AnswerRow {
    org: i64,
    month: String,
    answer: valvo_core::feedback::Answer,
    analysis: Option<valvo_text::Analysis>,
}

/// Unit-level aggregate key: unit, month, background, item.
type UnitKey = (i64, String, Dims, String);
/// An aggregate row: scope, period key, background, item; its counts.
type ScopeCell = ((i64, String, Dims, String), Counts);

#[derive(Default)]
struct FeedbackAgg {
    /// feedback_agg rows (scope, period key, background, item).
    cells: Vec<ScopeCell>,
    /// feedback_text_agg rows (scope, month, topic, sentiment) → n.
    text: BTreeMap<(i64, String, String, &'static str), i64>,
    /// feedback_strata rows (scope, period key, stratum, item).
    strata: crate::comparison::StrataRows,
}

struct FeedbackParser {
    survey: SurveyDef,
    today: time::Date,
    tree: OrgTree,
    units: HashMap<String, std::result::Result<i64, ()>>,
    columns: Option<AnswerColumns>,
    unit_column: usize,
    cells: HashMap<UnitKey, Counts>,
    text: BTreeMap<(i64, String, String, &'static str), i64>,
    strata: crate::comparison::StrataRows,
}

impl Parser for FeedbackParser {
    type Row = AnswerRow;
    type Agg = FeedbackAgg;

    fn rows(rows: Vec<AnswerRow>) -> Rows {
        Rows::Feedback(rows)
    }

    fn agg(agg: FeedbackAgg) -> Agg {
        Agg::Feedback(agg)
    }

    fn header(&mut self, headers: Vec<String>) -> std::result::Result<(), Vec<LineError>> {
        self.unit_column = headers.iter().position(|h| h == "unit").unwrap_or(0);
        self.columns = Some(AnswerColumns::new(headers, &self.survey)?);
        Ok(())
    }

    fn record(
        &mut self,
        line: usize,
        record: &csv::StringRecord,
        _sheet: Option<&str>,
    ) -> std::result::Result<AnswerRow, Vec<LineError>> {
        let Some(columns) = &self.columns else {
            return Err(Vec::new());
        };
        let parsed = columns.record(line, record.iter(), &self.survey, self.today);
        let unit = record.get(self.unit_column).unwrap_or("").trim();
        let ((_, answer), org) = with_unit(parsed, &self.units, line, unit)?;
        // A county's own statement only for that county's units.
        let refused = self.survey.not_asked(&answer, self.tree.county_code(org));
        if !refused.is_empty() {
            return Err(refused
                .into_iter()
                .map(|key| {
                    LineError::new(line, key, ErrorCode::Invalid)
                        .expecting(valvo_core::import::Expected::EmptyStatementOfOtherCounty)
                })
                .collect());
        }
        let month =
            valvo_core::feedback::month_of(answer.service_date.unwrap_or(self.today)).to_string();
        let analysis = answer.text.as_deref().map(valvo_text::analyze);
        for c in answer.cells(Channel::Import) {
            self.cells
                .entry((org, month.clone(), c.dims, c.item))
                .or_default()
                .add(&c.counts);
        }
        let up = scopes(&self.tree, org);
        let root = self.tree.root_of(org).unwrap_or(org);
        crate::comparison::add_answer(&mut self.strata, &up, root, &month, &answer);
        if let Some(a) = &analysis {
            let sentiment = a.sentiment.code();
            for &scope in &up {
                *self
                    .text
                    .entry((scope, month.clone(), String::new(), sentiment))
                    .or_default() += 1;
                for t in &a.topics {
                    *self
                        .text
                        .entry((scope, month.clone(), t.clone(), sentiment))
                        .or_default() += 1;
                }
            }
        }
        Ok(AnswerRow {
            org,
            month,
            answer,
            analysis,
        })
    }

    fn spill(&mut self, last: bool) -> Option<FeedbackAgg> {
        if !last && self.cells.len() + self.strata.len() < SPILL_KEYS {
            return None;
        }
        // Each unit-month cell under every scope above it and every period
        // containing the month, merged.
        let mut merged: HashMap<(i64, String, Dims, String), Counts> = HashMap::new();
        let mut out = Vec::new();
        for ((org, month, dims, item), counts) in self.cells.drain() {
            out.clear();
            scoped_cells(
                &scopes(&self.tree, org),
                &month,
                vec![valvo_core::feedback::Cell { dims, item, counts }],
                &mut out,
            );
            for (scope, key, c) in out.drain(..) {
                merged
                    .entry((scope, key, c.dims, c.item))
                    .or_default()
                    .add(&c.counts);
            }
        }
        let mut cells: Vec<_> = merged.into_iter().collect();
        cells.sort_by(|a, b| a.0.cmp(&b.0));
        Some(FeedbackAgg {
            cells,
            strata: std::mem::take(&mut self.strata),
            text: if last {
                std::mem::take(&mut self.text)
            } else {
                BTreeMap::new()
            },
        })
    }
}

// ---- incident history ----

struct IncidentRow {
    org: i64,
    row: HistoryRow,
}

#[derive(Default)]
struct IncidentAgg {
    deltas: Deltas,
}

struct IncidentParser {
    today: time::Date,
    types: Vec<EventTypeDef>,
    /// For the county of each row's unit (a county's own event types).
    tree: OrgTree,
    type_column: usize,
    units: HashMap<String, std::result::Result<i64, ()>>,
    columns: Option<HistoryColumns>,
    unit_column: usize,
    deltas: Deltas,
}

impl Parser for IncidentParser {
    type Row = IncidentRow;
    type Agg = IncidentAgg;

    fn rows(rows: Vec<IncidentRow>) -> Rows {
        Rows::Incidents(rows)
    }

    fn agg(agg: IncidentAgg) -> Agg {
        Agg::Incidents(agg)
    }

    fn header(&mut self, headers: Vec<String>) -> std::result::Result<(), Vec<LineError>> {
        self.unit_column = headers.iter().position(|h| h == "unit").unwrap_or(0);
        self.type_column = headers.iter().position(|h| h == "event_type").unwrap_or(0);
        self.columns = Some(HistoryColumns::new(headers, &self.types)?);
        Ok(())
    }

    fn record(
        &mut self,
        line: usize,
        record: &csv::StringRecord,
        _sheet: Option<&str>,
    ) -> std::result::Result<IncidentRow, Vec<LineError>> {
        let Some(columns) = &self.columns else {
            return Err(Vec::new());
        };
        let parsed = columns.record(line, record.iter(), self.today);
        let unit = record.get(self.unit_column).unwrap_or("").trim();
        let (mut row, org) = with_unit(parsed, &self.units, line, unit)?;
        // A county's own type only for the county's units; a name two
        // counties both use is the type of the unit's county.
        let county = self.tree.county_code(org).unwrap_or("");
        let offered =
            |t: &EventTypeDef| valvo_core::access::offered_in(t.county.as_deref(), Some(county));
        if !self
            .types
            .iter()
            .any(|t| t.code == row.report.event_type && offered(t))
        {
            let raw = record
                .get(self.type_column)
                .unwrap_or("")
                .trim()
                .to_lowercase();
            let by_name = self.types.iter().find(|t| {
                offered(t)
                    && valvo_core::Lang::ALL.iter().any(|l| {
                        t.name
                            .get(*l)
                            .is_some_and(|n| n.trim().to_lowercase() == raw)
                    })
            });
            match by_name {
                Some(t) => row.report.event_type = t.code.clone(),
                None => {
                    return Err(vec![LineError::new(
                        line,
                        "event_type",
                        ErrorCode::NotFound,
                    )
                    .expecting(
                        valvo_core::import::Expected::EventTypeOfCounty(
                            row.report.event_type.code().to_string(),
                        ),
                    )])
                }
            }
        }
        let key = CountKey {
            month: Period::containing(row.reported_on, PeriodKind::Month),
            kind: row.report.kind,
            event_type: row.report.event_type.clone(),
            consequence: row.report.consequence,
            client_reported: row.report.reporter_role.is_client_side(),
            never_event: row.report.never_event,
        };
        self.deltas.count(org, &key, 1);
        if let Some(h) = row.handled_on {
            self.deltas.handled(
                org,
                key.month.to_string(),
                (h - row.reported_on).whole_days(),
                1,
            );
        }
        // Its span (see incident_chunk).
        self.deltas.span(
            org,
            row.report.kind,
            row.reported_on,
            row.reported_on,
            row.handled_on,
            1,
        );
        Ok(IncidentRow { org, row })
    }

    fn spill(&mut self, last: bool) -> Option<IncidentAgg> {
        // Marginals and handling days are kept per unit and month: small
        // beside the rows, applied when the import is done.
        last.then(|| IncidentAgg {
            deltas: std::mem::take(&mut self.deltas),
        })
    }
}

// ---- the writing side ----

/// Binds `n` rows of `cols` columns into one multi-row statement.
pub(crate) fn multi_row(
    conn: &AnyConnection,
    prefix: &str,
    n: usize,
    cols: usize,
    suffix: &str,
) -> String {
    if conn.backend_name() == "PostgreSQL" {
        return format!("{prefix} VALUES {}{suffix}", values(n, cols));
    }
    // SQLite: anonymous `?` parameters, bound in order (see statement_rows).
    let row = format!("({})", vec!["?"; cols].join(","));
    format!("{prefix} VALUES {}{suffix}", vec![row; n].join(","))
}

/// Runs a multi-row `INSERT … RETURNING id` and gives the ids in the order
/// of its VALUES list: both databases hand them out in that order, so
/// sorted they pair with the rows.
pub(crate) async fn inserted_ids<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    conn: &mut AnyConnection,
) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = q
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<std::result::Result<_, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// An answer chunk: the answers, then a case for each with a comment.
fn answer_chunk(survey_id: i64, job: i64, rows: &[AnswerRow]) -> bulk::Chunk {
    let at = now();
    let deadlines = valvo_core::feedback::CaseDeadlines::default();
    let today = time::OffsetDateTime::now_utc().date();
    let due = deadlines
        .due(valvo_core::feedback::CaseKind::Feedback, today)
        .to_string();
    let mut answers = Vec::with_capacity(rows.len());
    let mut cases = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        let a = &r.answer;
        answers.push(vec![
            Cell::Int(survey_id),
            Cell::Int(r.org),
            Cell::from(at.as_str()),
            Cell::from(r.month.as_str()),
            Cell::from(a.service_date.map(|d| d.to_string())),
            Cell::from(Channel::Import.code()),
            Cell::from(a.service_lang.map(ServiceLang::code)),
            Cell::from(a.age_group.map(valvo_core::feedback::AgeGroup::code)),
            Cell::from(a.respondent.map(Respondent::code)),
            Cell::from(a.nps.map(i64::from)),
            Cell::Text(scores_json(&a.scores)),
            Cell::Int(0),
            Cell::Int(i64::from(a.text.is_some())),
            Cell::Int(job),
        ]);
        let Some(text) = &a.text else { continue };
        let analysis = r.analysis.as_ref();
        cases.push(vec![
            Cell::Int(r.org),
            Cell::Parent(k),
            Cell::from(valvo_core::feedback::CaseKind::Feedback.code()),
            Cell::from(valvo_core::feedback::CaseState::New.code()),
            Cell::Text(today.to_string()),
            Cell::from(due.as_str()),
            Cell::from(text.as_str()),
            Cell::from(a.contact.clone()),
            Cell::from(at.as_str()),
            Cell::from(analysis.map(|a| a.language.code())),
            Cell::from(analysis.map(|a| a.sentiment.code())),
            Cell::Text(analysis.map(|a| a.topics.join(",")).unwrap_or_default()),
            Cell::Text(analysis.map(|a| a.redacted.clone()).unwrap_or_default()),
            Cell::Int(job),
        ]);
    }
    bulk::Chunk {
        parents: bulk::Table {
            name: "feedback_answers",
            columns: &[
                "survey_id",
                "org_unit_id",
                "received_at",
                "month",
                "service_date",
                "channel",
                "service_lang",
                "age_group",
                "respondent",
                "nps",
                "scores",
                "pending",
                "has_text",
                "import_id",
            ],
            rows: answers,
        },
        children: bulk::Table {
            name: "feedback_cases",
            columns: &[
                "org_unit_id",
                "answer_id",
                "kind",
                "state",
                "received_on",
                "due_on",
                "text",
                "contact",
                "created_at",
                "text_lang",
                "sentiment",
                "topics",
                "redacted",
                "import_id",
            ],
            rows: cases,
        },
    }
}

/// A chunk of reports (`first` is how many the import wrote before), each
/// with its handling span.
fn incident_chunk(job: i64, first: u64, rows: &[IncidentRow]) -> bulk::Chunk {
    let at = now();
    let mut reports = Vec::with_capacity(rows.len());
    let mut spans = Vec::with_capacity(rows.len());
    for (k, IncidentRow { org, row }) in rows.iter().enumerate() {
        let input = &row.report;
        let seq = first + k as u64 + 1;
        let reported_on = row.reported_on.to_string();
        reports.push(vec![
            Cell::Int(*org),
            Cell::from(at.as_str()),
            Cell::from(reported_on.as_str()),
            Cell::Text(Period::containing(row.reported_on, PeriodKind::Month).to_string()),
            Cell::Text(input.occurred_on.to_string()),
            Cell::from(input.place.trim()),
            Cell::from(input.kind.code()),
            Cell::from(input.event_type.code()),
            Cell::from(input.description.trim()),
            Cell::from(input.consequence.code()),
            Cell::Int(i64::from(input.never_event)),
            Cell::from(input.contributing_factors.trim()),
            Cell::from(input.immediate_actions.trim()),
            Cell::from(input.reporter_role.code()),
            // History has no receipt anyone holds: a unique key that is
            // not a digest (never matches a code typed in), in order.
            Cell::Text(format!("import:{job}:{seq:012}")),
            Cell::from(row.state.code()),
            Cell::from(row.handled_on.map(|d| format!("{d}T00:00:00Z"))),
            Cell::from(row.handled_on.map(|d| d.to_string())),
            Cell::Int(job),
        ]);
        let handled = row.handled_on;
        spans.push(vec![
            Cell::Parent(k),
            Cell::Int(*org),
            Cell::from(input.kind.code()),
            Cell::from(reported_on.as_str()),
            Cell::Text(reported_on),
            Cell::from(handled.map(|d| d.to_string())),
            Cell::Int(
                handled
                    .map(|h| (h - row.reported_on).whole_days().max(0))
                    .unwrap_or(OPEN_SPAN_DAYS),
            ),
            Cell::Int(job),
        ]);
    }
    bulk::Chunk {
        parents: bulk::Table {
            name: "incidents",
            columns: &[
                "org_unit_id",
                "reported_at",
                "reported_on",
                "month",
                "occurred_on",
                "place",
                "kind",
                "event_type",
                "description",
                "consequence",
                "never_event",
                "contributing_factors",
                "immediate_actions",
                "reporter_role",
                "receipt_hash",
                "state",
                "handled_at",
                "handled_on",
                "import_id",
            ],
            rows: reports,
        },
        children: bulk::Table {
            name: "incident_spans",
            columns: &[
                "incident_id",
                "org_unit_id",
                "kind",
                "reported_on",
                "opened_on",
                "closed_on",
                "span_days",
                "import_id",
            ],
            rows: spans,
        },
    }
}

const B_COLS: &str = "b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs";

/// Adds aggregate rows to the import's staging rows.
async fn stage_cells(conn: &mut AnyConnection, job: i64, cells: &[ScopeCell]) -> Result<()> {
    for part in cells.chunks(statement_rows(conn, 19)) {
        let sql = multi_row(
            conn,
            &format!(
                "INSERT INTO import_feedback_agg (import_id, scope_id, month, lang, channel, respondent, item, {B_COLS})"
            ),
            part.len(),
            19,
            &format!(
                " ON CONFLICT (import_id, scope_id, month, lang, channel, respondent, item) DO UPDATE SET {}",
                crate::feedback::add_counts("import_feedback_agg")
            ),
        );
        let mut q = sqlx::query(&sql);
        for (key, c) in part {
            q = bind_agg_row(q.bind(job), key, c);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds the import's staged and last aggregate rows to the live ones, in key
/// order (as every other writer of these rows: texts byte by byte, whatever
/// the database's collation).
async fn finish_feedback(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    job: i64,
    agg: &FeedbackAgg,
) -> Result<()> {
    let bytes = match backend {
        crate::Backend::Postgres => " COLLATE \"C\"",
        crate::Backend::Sqlite => "",
    };
    let order = |cols: &[&str]| {
        std::iter::once("scope_id".to_owned())
            .chain(cols.iter().map(|c| format!("{c}{bytes}")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let agg_order = order(&["month", "lang", "channel", "respondent", "item"]);
    let totals_order = order(&["month", "item"]);
    sqlx::query(&format!(
        "INSERT INTO feedback_agg (scope_id, month, lang, channel, respondent, item, {B_COLS}) \
         SELECT scope_id, month, lang, channel, respondent, item, {B_COLS} FROM import_feedback_agg \
         WHERE import_id = $1 ORDER BY {agg_order} \
         ON CONFLICT (scope_id, month, lang, channel, respondent, item) DO UPDATE SET {}",
        crate::feedback::add_counts("feedback_agg")
    ))
    .bind(job)
    .execute(&mut *conn)
    .await?;
    // Their sums over the background, after them (every writer's order).
    let sums = B_COLS
        .split(", ")
        .map(|c| format!("SUM({c})"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "INSERT INTO feedback_totals (scope_id, month, item, {B_COLS}) \
         SELECT scope_id, month, item, {sums} FROM import_feedback_agg \
         WHERE import_id = $1 GROUP BY scope_id, month, item ORDER BY {totals_order} \
         ON CONFLICT (scope_id, month, item) DO UPDATE SET {}",
        crate::feedback::add_counts("feedback_totals")
    ))
    .bind(job)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM import_feedback_agg WHERE import_id = $1")
        .bind(job)
        .execute(&mut *conn)
        .await?;
    // The counts by stratum, after both (every writer's order).
    crate::comparison::finish_import(conn, backend, job).await?;
    let text: Vec<_> = agg.text.iter().collect();
    for part in text.chunks(statement_rows(conn, 5)) {
        let sql = multi_row(
            conn,
            "INSERT INTO feedback_text_agg (scope_id, month, topic, sentiment, n)",
            part.len(),
            5,
            " ON CONFLICT (scope_id, month, topic, sentiment) DO UPDATE SET n = feedback_text_agg.n + excluded.n",
        );
        let mut q = sqlx::query(&sql);
        for ((scope, month, topic, sentiment), n) in part {
            q = q
                .bind(*scope)
                .bind(month.clone())
                .bind(topic.clone())
                .bind(*sentiment)
                .bind(**n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// An incident import's aggregate changes as staged rows: (target, scope,
/// k1, k2, k3, n), see migration 0029.
type StagedIncidentRow = (&'static str, i64, String, String, String, i64);

fn incident_rows(d: &Deltas) -> Vec<StagedIncidentRow> {
    let mut rows = Vec::new();
    for ((scope, month, dim, key), n) in &d.marginals {
        rows.push((
            "marginals",
            *scope,
            month.clone(),
            (*dim).to_owned(),
            key.clone(),
            *n,
        ));
    }
    for ((scope, month, days), n) in &d.days {
        rows.push((
            "days",
            *scope,
            month.clone(),
            days.to_string(),
            String::new(),
            *n,
        ));
    }
    for ((scope, kind, reported, opened), n) in &d.open {
        rows.push((
            "open",
            *scope,
            (*kind).to_owned(),
            reported.clone(),
            opened.clone(),
            *n,
        ));
    }
    for ((scope, month, kind, reported), n) in &d.month_ends {
        rows.push((
            "month_ends",
            *scope,
            month.clone(),
            (*kind).to_owned(),
            reported.clone(),
            *n,
        ));
    }
    rows.retain(|r| r.5 != 0);
    rows
}

async fn stage_incident_rows(
    conn: &mut AnyConnection,
    job: i64,
    rows: &[StagedIncidentRow],
) -> Result<()> {
    for part in rows.chunks(statement_rows(conn, 7)) {
        let sql = multi_row(
            conn,
            "INSERT INTO import_incident_agg (import_id, target, scope_id, k1, k2, k3, n)",
            part.len(),
            7,
            "",
        );
        let mut q = sqlx::query(&sql);
        for (target, scope, k1, k2, k3, n) in part {
            q = q
                .bind(job)
                .bind(*target)
                .bind(*scope)
                .bind(k1.clone())
                .bind(k2.clone())
                .bind(k3.clone())
                .bind(*n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds an incident import's staged aggregate changes to the live
/// aggregates, by the database, each in key order (as every writer of
/// these rows: texts byte by byte, days as numbers).
async fn finish_incidents(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    job: i64,
) -> Result<()> {
    let c = match backend {
        crate::Backend::Postgres => " COLLATE \"C\"",
        crate::Backend::Sqlite => "",
    };
    for (table, target, cols, select, order) in [
        (
            "incident_scope_marginals",
            "marginals",
            "scope_id, month, dim, key",
            "scope_id, k1, k2, k3",
            format!("scope_id, k1{c}, k2{c}, k3{c}"),
        ),
        (
            "incident_scope_days",
            "days",
            "scope_id, month, days",
            "scope_id, k1, CAST(k2 AS BIGINT)",
            format!("scope_id, k1{c}, CAST(k2 AS BIGINT)"),
        ),
        (
            "incident_open_spans",
            "open",
            "scope_id, kind, reported_on, opened_on",
            "scope_id, k1, k2, k3",
            format!("scope_id, k1{c}, k2{c}, k3{c}"),
        ),
        (
            "incident_month_ends",
            "month_ends",
            "scope_id, month, kind, reported_on",
            "scope_id, k1, k2, k3",
            format!("scope_id, k1{c}, k2{c}, k3{c}"),
        ),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {table} ({cols}, n) SELECT {select}, n FROM import_incident_agg \
             WHERE import_id = $1 AND target = $2 ORDER BY {order} \
             ON CONFLICT ({cols}) DO UPDATE SET n = {table}.n + excluded.n"
        ))
        .bind(job)
        .bind(target)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("DELETE FROM import_incident_agg WHERE import_id = $1")
        .bind(job)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Adds an import's marginal counts to the live ones, many rows per
/// statement and in key order (as every writer of these rows): the last
/// transaction stays short beside the rows it makes count.
async fn finish_marginals(
    conn: &mut AnyConnection,
    table: &'static str,
    deltas: &crate::write::MarginalDeltas,
) -> Result<()> {
    let rows: Vec<_> = deltas.iter().filter(|(_, n)| **n != 0).collect();
    for part in rows.chunks(statement_rows(conn, 5)) {
        let sql = multi_row(
            conn,
            &format!("INSERT INTO {table} (org_unit_id, month, dim, key, n)"),
            part.len(),
            5,
            &format!(
                " ON CONFLICT (org_unit_id, month, dim, key) DO UPDATE SET n = {table}.n + excluded.n"
            ),
        );
        let mut q = sqlx::query(&sql);
        for ((org, month, dim, key), n) in part {
            q = q
                .bind(*org)
                .bind(month.clone())
                .bind(dim.clone())
                .bind(key.clone())
                .bind(**n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The kind-specific writes of one import.
enum Sink {
    Feedback { survey_id: i64 },
    Incidents,
    Figures,
    Ombudsman,
}

enum Rows {
    Feedback(Vec<AnswerRow>),
    Incidents(Vec<IncidentRow>),
    Figures(Vec<figures::FigureRow>),
    Ombudsman(Vec<Option<ombudsman::ContactRow>>),
}

enum Agg {
    Feedback(FeedbackAgg),
    Incidents(IncidentAgg),
    Figures,
    Ombudsman(crate::write::MarginalDeltas),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::Feedback(r) => r.len(),
            Rows::Incidents(r) => r.len(),
            Rows::Figures(r) => r.len(),
            Rows::Ombudsman(r) => r.len(),
        }
    }
}

impl Store {
    /// Starts an import of `kind` (a row in `imports`, state running) and
    /// returns its id; [`run_import`](Self::run_import) then reads the file.
    /// Answers may be imported by whoever writes feedback (each line's unit
    /// must be theirs); incident history by administrators and quality
    /// coordinators.
    pub async fn create_import(
        &self,
        p: &Principal,
        kind: ImportKind,
        file_name: &str,
        bytes_total: u64,
        dry_run: bool,
    ) -> Result<i64> {
        let allowed = match kind {
            // Each line's unit or indicator must be theirs to write.
            ImportKind::Feedback | ImportKind::Figures => p.role.writes(),
            ImportKind::Incidents => valvo_core::incident::may_configure(p),
            // Each line's unit must be in their scope.
            ImportKind::Ombudsman => matches!(
                p.role,
                valvo_core::access::Role::Ombudsperson | valvo_core::access::Role::Admin
            ),
        };
        if !allowed {
            return Err(StoreError::Forbidden);
        }
        self.reap_imports().await?;
        let name: String = file_name
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let at = now();
        let row = sqlx::query(
            "INSERT INTO imports (kind, file_name, state, dry_run, owner, heartbeat_at, user_id, actor, created_at, bytes_total) \
             VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(kind.code())
        .bind(if name.trim().is_empty() { "-".to_owned() } else { name })
        .bind(i64::from(dry_run))
        .bind(this_process())
        .bind(at.clone())
        .bind(p.user_id)
        .bind(p.label.clone())
        .bind(at)
        .bind(bytes_total.min(i64::MAX as u64) as i64)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Imports a file held in memory (an API body, the demo): creates the
    /// import and runs it to its end.
    pub async fn import_bytes(
        &self,
        p: &Principal,
        kind: ImportKind,
        file_name: &str,
        data: Vec<u8>,
        dry_run: bool,
        today: time::Date,
    ) -> Result<ImportJob> {
        let id = self
            .create_import(p, kind, file_name, data.len() as u64, dry_run)
            .await?;
        self.run_import(p, id, std::io::Cursor::new(data), today, None)
            .await
    }

    /// An import by id.
    pub async fn import_job(&self, id: i64) -> Result<Option<ImportJob>> {
        let row = sqlx::query(&format!("SELECT {JOB_COLS} FROM imports WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_row).transpose()
    }

    /// The latest imports `p` may see: their own, or every one for an
    /// administrator.
    pub async fn import_jobs(&self, p: &Principal, limit: i64) -> Result<Vec<ImportJob>> {
        let rows = if p.can_administer() {
            sqlx::query(&format!(
                "SELECT {JOB_COLS} FROM imports ORDER BY id DESC LIMIT {}",
                limit.clamp(1, 1000)
            ))
            .fetch_all(&self.pool)
            .await?
        } else {
            sqlx::query(&format!(
                "SELECT {JOB_COLS} FROM imports WHERE user_id = $1 ORDER BY id DESC LIMIT {}",
                limit.clamp(1, 1000)
            ))
            .bind(p.user_id.unwrap_or(-1))
            .fetch_all(&self.pool)
            .await?
        };
        rows.iter().map(job_row).collect()
    }

    /// Marks imports whose process is gone as failed and removes the rows of
    /// every failed import (in short transactions). Returns how many imports
    /// were cleaned up.
    pub async fn reap_imports(&self) -> Result<usize> {
        let stale = (time::OffsetDateTime::now_utc() - time::Duration::seconds(STALE_SECS))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let running: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, owner, heartbeat_at FROM imports WHERE state = 'running'")
                .fetch_all(&self.pool)
                .await?;
        for (id, owner, heartbeat) in running {
            if owner_gone(&owner) || heartbeat < stale {
                sqlx::query(
                    "UPDATE imports SET state = 'failed', message = 'interrupted', finished_at = $1 \
                     WHERE id = $2 AND state = 'running' AND heartbeat_at = $3",
                )
                .bind(now())
                .bind(id)
                .bind(heartbeat)
                .execute(&self.pool)
                .await?;
            }
        }
        // A check never confirmed keeps its lines for a day.
        let day_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let unconfirmed: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM imports WHERE state = 'checked' AND kind = 'figures' AND purged = 0 AND finished_at < $1",
        )
        .bind(day_ago)
        .fetch_all(&self.pool)
        .await?;
        for (id,) in unconfirmed {
            // Claimed first: a confirmation under way keeps it whole.
            sqlx::query(
                "UPDATE imports SET state = 'failed', message = 'expired' WHERE id = $1 AND state = 'checked'",
            )
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        let failed: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM imports WHERE state = 'failed' AND purged = 0")
                .fetch_all(&self.pool)
                .await?;
        for (id,) in &failed {
            self.purge_import(*id).await?;
        }
        Ok(failed.len())
    }

    /// Removes the rows of a failed import, a few thousand per statement.
    async fn purge_import(&self, id: i64) -> Result<()> {
        // Contacts a few thousand at a time, each batch's items first (they name it).
        loop {
            let batch: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM ombudsman_contacts WHERE import_id = $1 ORDER BY id LIMIT 2000",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                break;
            };
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "DELETE FROM ombudsman_items WHERE contact_id IN \
                 (SELECT id FROM ombudsman_contacts WHERE import_id = $1 AND id >= $2 AND id <= $3)",
            )
            .bind(id)
            .bind(*first)
            .bind(*last)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM ombudsman_contacts WHERE import_id = $1 AND id >= $2 AND id <= $3",
            )
            .bind(id)
            .bind(*first)
            .bind(*last)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        // Answers and reports a chunk at a time, by the id ranges the chunks
        // recorded (an import wrote either kind, the other finds nothing),
        // the rows pointing at them first.
        loop {
            let range: Option<(i64, i64)> = sqlx::query_as(
                "SELECT first_id, last_id FROM import_chunks WHERE import_id = $1 \
                 ORDER BY first_id LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            let Some((first, last)) = range else {
                break;
            };
            // At most a chunk's worth of ids in one transaction (a range
            // recorded when the table was made spans a whole import).
            let upto = last.min(first.saturating_add(CHUNK as i64 - 1));
            let mut tx = self.pool.begin().await?;
            for sql in [
                "DELETE FROM feedback_cases WHERE answer_id >= $2 AND answer_id <= $3 AND import_id = $1",
                "DELETE FROM feedback_answers WHERE id >= $2 AND id <= $3 AND import_id = $1",
                "DELETE FROM incident_spans WHERE incident_id >= $2 AND incident_id <= $3 AND import_id = $1",
                "DELETE FROM incidents WHERE id >= $2 AND id <= $3 AND import_id = $1",
            ] {
                sqlx::query(sql)
                    .bind(id)
                    .bind(first)
                    .bind(upto)
                    .execute(&mut *tx)
                    .await?;
            }
            let rest = if upto == last {
                sqlx::query("DELETE FROM import_chunks WHERE import_id = $1 AND first_id = $2")
                    .bind(id)
                    .bind(first)
            } else {
                sqlx::query(
                    "UPDATE import_chunks SET first_id = $3 WHERE import_id = $1 AND first_id = $2",
                )
                .bind(id)
                .bind(first)
                .bind(upto + 1)
            };
            rest.execute(&mut *tx).await?;
            tx.commit().await?;
        }
        sqlx::query("DELETE FROM import_feedback_agg WHERE import_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM import_feedback_strata WHERE import_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM import_incident_agg WHERE import_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.drop_staged(id).await?;
        sqlx::query("UPDATE imports SET purged = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn fail_import(&self, id: i64, errors: &LineErrors, message: Option<&str>) -> Result<()> {
        sqlx::query(
            "UPDATE imports SET state = 'failed', finished_at = $1, error_count = $2, errors = $3, message = $4 \
             WHERE id = $5 AND state = 'running'",
        )
        .bind(now())
        .bind(errors.count as i64)
        .bind(serde_json::to_string(&errors.first).unwrap_or_else(|_| "[]".into()))
        .bind(message.map(str::to_owned))
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.purge_import(id).await
    }

    /// Reads and imports a file for the import `id` (see
    /// [`create_import`](Self::create_import)), all or nothing, and returns
    /// how it ended. Line errors end it as failed (not as an `Err`); an
    /// `Err` is a database problem (the import is then failed too).
    pub async fn run_import<R: Read + Send + 'static>(
        &self,
        p: &Principal,
        id: i64,
        input: R,
        today: time::Date,
        on_progress: Option<OnProgress>,
    ) -> Result<ImportJob> {
        let job = self.import_job(id).await?.ok_or(StoreError::NotFound)?;
        let result = self.run(p, &job, input, today, on_progress).await;
        if let Err(e) = &result {
            let msg = e.to_string();
            self.fail_import(id, &LineErrors::default(), Some(&msg))
                .await?;
        }
        result?;
        self.import_job(id).await?.ok_or(StoreError::NotFound)
    }

    async fn run<R: Read + Send + 'static>(
        &self,
        p: &Principal,
        job: &ImportJob,
        input: R,
        today: time::Date,
        on_progress: Option<OnProgress>,
    ) -> Result<()> {
        // One connection for every chunk; on SQLite with a page cache large
        // enough for the indexes the rows go into (set back at the end).
        let mut conn = self.pool.acquire().await?;
        if self.backend == crate::Backend::Sqlite {
            sqlx::query("PRAGMA cache_size = -65536")
                .execute(&mut *conn)
                .await?;
        }
        let result = self
            .run_on(&mut conn, p, job, input, today, on_progress)
            .await;
        if self.backend == crate::Backend::Sqlite {
            sqlx::query("PRAGMA cache_size = -2000")
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    async fn run_on<R: Read + Send + 'static>(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        p: &Principal,
        job: &ImportJob,
        input: R,
        today: time::Date,
        on_progress: Option<OnProgress>,
    ) -> Result<()> {
        let tree = load_tree(conn).await?;
        let units = unit_codes(p, &tree);
        let (tx, mut rx) = mpsc::channel::<Msg<Rows, Agg>>(4);
        let bytes_total = job.bytes_total;
        let sink = match job.kind {
            ImportKind::Feedback => {
                let survey = survey_in(conn).await?;
                let parser = FeedbackParser {
                    survey: survey.def,
                    today,
                    tree,
                    units,
                    columns: None,
                    unit_column: 0,
                    cells: HashMap::new(),
                    text: BTreeMap::new(),
                    strata: HashMap::new(),
                };
                spawn_reader(parser, input, bytes_total, tx);
                Sink::Feedback {
                    survey_id: survey.id,
                }
            }
            ImportKind::Incidents => {
                let parser = IncidentParser {
                    today,
                    types: self.event_types().await?,
                    tree: tree.clone(),
                    type_column: 0,
                    units,
                    columns: None,
                    unit_column: 0,
                    deltas: Deltas::default(),
                };
                spawn_reader(parser, input, bytes_total, tx);
                Sink::Incidents
            }
            ImportKind::Figures => {
                let parser = figures::FiguresParser::load(conn, p, &tree, today).await?;
                spawn_reader(parser, input, bytes_total, tx);
                Sink::Figures
            }
            ImportKind::Ombudsman => {
                let parser = ombudsman::OmbudsmanParser::load(conn, p, &tree, today).await?;
                spawn_reader(parser, input, bytes_total, tx);
                Sink::Ombudsman
            }
        };
        let mut written = 0u64;
        let mut last_update = std::time::Instant::now();
        // Answers and reports are written on connections of their own
        // (opened at the first chunk); `written` counts the rows handed to them.
        let mut writers =
            bulk::Writers::new(self.url.clone(), self.backend == crate::Backend::Sqlite);
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Rows { rows, progress } => {
                    if let Some(f) = &on_progress {
                        f(progress);
                    }
                    let n = rows.len() as u64;
                    // A figures check keeps its lines too (its preview, and
                    // what a confirmation applies).
                    let write = (!job.dry_run || matches!(sink, Sink::Figures))
                        && progress.errors == 0
                        && n > 0;
                    if !write && last_update.elapsed() < std::time::Duration::from_millis(500) {
                        continue;
                    }
                    last_update = std::time::Instant::now();
                    let chunk = match (&sink, &rows) {
                        _ if !write => None,
                        (Sink::Feedback { survey_id }, Rows::Feedback(r)) => {
                            Some(answer_chunk(*survey_id, job.id, r))
                        }
                        (_, Rows::Incidents(r)) => Some(incident_chunk(job.id, written, r)),
                        _ => None,
                    };
                    if let Some(chunk) = chunk {
                        let beat = bulk::Heartbeat {
                            id: job.id,
                            bytes_read: progress.bytes_read as i64,
                            rows_read: progress.rows as i64,
                            rows_added: n as i64,
                            errors: progress.errors as i64,
                        };
                        if let Err(e) = writers.write(beat, chunk).await {
                            let _ = writers.finish().await;
                            return Err(e);
                        }
                        written += n;
                    } else {
                        // The chunks being written first: `written` counts them.
                        writers.drain().await?;
                        let mut tx = crate::feedback::begin_write(conn, self.backend).await?;
                        self.heartbeat(
                            &mut tx,
                            job.id,
                            &progress,
                            written + if write { n } else { 0 },
                        )
                        .await?;
                        if write {
                            match &rows {
                                Rows::Figures(r) => figures::stage(&mut tx, job.id, r).await?,
                                Rows::Ombudsman(r) => {
                                    let r: Vec<_> = r.iter().flatten().collect();
                                    ombudsman::write(&mut tx, job.id, &r).await?
                                }
                                _ => {}
                            }
                            written += n;
                        }
                        tx.commit().await?;
                    }
                    if write && self.backend == crate::Backend::Sqlite {
                        // Let writers waiting for SQLite's one write lock (live
                        // answers) have it now and then (see `bulk::SQLITE_PAUSE`).
                        tokio::time::sleep(bulk::SQLITE_PAUSE).await;
                    }
                }
                Msg::Spill(Agg::Feedback(agg)) if !job.dry_run => {
                    self.stage_feedback(conn, job.id, &agg.cells, agg.strata)
                        .await?;
                }
                Msg::Spill(_) => {}
                Msg::End {
                    errors,
                    rows,
                    finish,
                } => {
                    writers.finish().await?;
                    let progress = ImportProgress {
                        bytes_read: bytes_total.max(job.bytes_read),
                        bytes_total,
                        rows,
                        errors: errors.count,
                    };
                    if let Some(f) = &on_progress {
                        f(progress);
                    }
                    if !errors.is_empty() {
                        sqlx::query("UPDATE imports SET rows_read = $1 WHERE id = $2")
                            .bind(rows as i64)
                            .bind(job.id)
                            .execute(&self.pool)
                            .await?;
                        return self.fail_import(job.id, &errors, None).await;
                    }
                    if matches!(sink, Sink::Figures) {
                        sqlx::query("UPDATE imports SET rows_read = $1 WHERE id = $2")
                            .bind(rows as i64)
                            .bind(job.id)
                            .execute(&self.pool)
                            .await?;
                        return self.finish_figures(conn, p, job).await;
                    }
                    if job.dry_run {
                        sqlx::query(
                            "UPDATE imports SET state = 'checked', finished_at = $1, rows_read = $2, bytes_read = bytes_total \
                             WHERE id = $3 AND state = 'running'",
                        )
                        .bind(now())
                        .bind(rows as i64)
                        .bind(job.id)
                        .execute(&self.pool)
                        .await?;
                        return Ok(());
                    }
                    return self.finish(conn, p, job, rows, written, finish).await;
                }
            }
        }
        // The reader stopped without an end: it failed (its panic is logged).
        self.fail_import(job.id, &LineErrors::default(), Some("reader stopped"))
            .await
    }

    async fn heartbeat(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        progress: &ImportProgress,
        written: u64,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE imports SET heartbeat_at = $1, bytes_read = $2, rows_read = $3, rows_written = $4, error_count = $5 \
             WHERE id = $6 AND state = 'running'",
        )
        .bind(now())
            .bind(progress.bytes_read as i64)
            .bind(progress.rows as i64)
            .bind(written as i64)
            .bind(progress.errors as i64)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if n == 0 {
            // Reaped (counted as dead) meanwhile: stop.
            return Err(bulk::not_running());
        }
        Ok(())
    }

    /// Removes the lines a figures import kept, a few thousand per statement.
    async fn drop_staged(&self, id: i64) -> Result<()> {
        loop {
            let done = sqlx::query(
                "DELETE FROM import_figures WHERE import_id = $1 AND seq IN \
                 (SELECT seq FROM import_figures WHERE import_id = $1 ORDER BY seq LIMIT 5000)",
            )
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if done == 0 {
                return Ok(());
            }
        }
    }

    /// The end of a figures import's reading: repeated lines fail it; a
    /// check keeps its comparison as the preview (and its lines for a
    /// confirmation); an import is applied.
    async fn finish_figures(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        p: &Principal,
        job: &ImportJob,
    ) -> Result<()> {
        let repeated = figures::repeated_lines(conn, job.id).await?;
        if !repeated.is_empty() {
            return self.fail_import(job.id, &repeated, None).await;
        }
        if job.dry_run {
            let summary = figures::compare(conn, job.id, &job.file_name, p, false, None).await?;
            sqlx::query(
                "UPDATE imports SET state = 'checked', finished_at = $1, bytes_read = bytes_total, summary = $2 \
                 WHERE id = $3 AND state = 'running'",
            )
            .bind(now())
            .bind(serde_json::to_string(&summary).ok())
            .bind(job.id)
            .execute(&mut **conn)
            .await?;
            return Ok(());
        }
        self.apply_figures(conn, p, job).await
    }

    /// Writes a figures import's new and changed follow-ups in one
    /// transaction that marks it done.
    async fn apply_figures(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        p: &Principal,
        job: &ImportJob,
    ) -> Result<()> {
        let mut tx = crate::feedback::begin_write(conn, self.backend).await?;
        let n = sqlx::query(
            "UPDATE imports SET state = 'done', finished_at = $1, bytes_read = bytes_total, dry_run = 0 \
             WHERE id = $2 AND state = 'running'",
        )
        .bind(now())
        .bind(job.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(bulk::not_running());
        }
        let tree = self.tree_in(&mut tx).await?;
        let summary =
            figures::compare(&mut tx, job.id, &job.file_name, p, true, Some(&tree)).await?;
        sqlx::query("UPDATE imports SET rows_written = $1, summary = $2 WHERE id = $3")
            .bind((summary.new + summary.changed) as i64)
            .bind(serde_json::to_string(&summary).ok())
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            p,
            "import",
            "follow_ups",
            &job.id.to_string(),
            None,
            None,
            Some(serde_json::json!({
                "file": job.file_name, "new": summary.new, "changed": summary.changed,
                "unchanged": summary.unchanged, "flagged": summary.flagged,
            })),
        )
        .await?;
        tx.commit().await?;
        self.drop_staged(job.id).await
    }

    /// Applies a checked figures import (its preview confirmed): by whoever
    /// checked it or an administrator, once.
    pub async fn apply_import(&self, p: &Principal, id: i64) -> Result<ImportJob> {
        let job = self.import_job(id).await?.ok_or(StoreError::NotFound)?;
        if !(p.can_administer() || (p.user_id.is_some() && job.user_id == p.user_id)) {
            return Err(StoreError::NotFound);
        }
        if !p.role.writes() {
            return Err(StoreError::Forbidden);
        }
        let purged: i64 = sqlx::query_scalar("SELECT purged FROM imports WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        if job.kind != ImportKind::Figures || job.state != ImportState::Checked || purged != 0 {
            return Err(crate::write::invalid("import", ErrorCode::StateConflict));
        }
        let n = sqlx::query(
            "UPDATE imports SET state = 'running', owner = $1, heartbeat_at = $2 \
             WHERE id = $3 AND state = 'checked' AND purged = 0",
        )
        .bind(this_process())
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(crate::write::invalid("import", ErrorCode::StateConflict));
        }
        let mut conn = self.pool.acquire().await?;
        let result = self.apply_figures(&mut conn, p, &job).await;
        drop(conn);
        if let Err(e) = &result {
            let msg = e.to_string();
            self.fail_import(id, &LineErrors::default(), Some(&msg))
                .await?;
        }
        result?;
        self.import_job(id).await?.ok_or(StoreError::NotFound)
    }

    /// Adds aggregate rows of an answer import to its staging rows, in
    /// short transactions ([`staged_per_transaction`](Self::staged_per_transaction):
    /// on SQLite 2 500 rows each, 10 000 before) with the pause after each
    /// that the rows' own transactions have, as live answers wait for that
    /// lock meanwhile.
    async fn stage_feedback(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        job: i64,
        cells: &[ScopeCell],
        strata: crate::comparison::StrataRows,
    ) -> Result<()> {
        let rows = self.staged_per_transaction();
        for part in cells.chunks(rows) {
            let mut tx = crate::feedback::begin_write(conn, self.backend).await?;
            stage_cells(&mut tx, job, part).await?;
            tx.commit().await?;
            self.pause_for_live_writers().await;
        }
        let strata: Vec<_> = strata.into_iter().collect();
        for part in strata.chunks(rows) {
            let mut tx = crate::feedback::begin_write(conn, self.backend).await?;
            crate::comparison::upsert(&mut tx, Some(job), part.iter().cloned().collect()).await?;
            tx.commit().await?;
            self.pause_for_live_writers().await;
        }
        Ok(())
    }

    /// Staged aggregate rows written in one transaction.
    fn staged_per_transaction(&self) -> usize {
        match self.backend {
            crate::Backend::Sqlite => CHUNK / 2,
            crate::Backend::Postgres => CHUNK * 2,
        }
    }

    /// On SQLite, the pause after an import's transaction in which a live
    /// writer waiting for the one write lock takes it.
    async fn pause_for_live_writers(&self) {
        if self.backend == crate::Backend::Sqlite {
            tokio::time::sleep(bulk::SQLITE_PAUSE).await;
        }
    }

    /// The one short transaction that makes an import count: marks it done
    /// (only if still running) and adds its aggregates.
    async fn finish(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        p: &Principal,
        job: &ImportJob,
        rows: u64,
        written: u64,
        agg: Agg,
    ) -> Result<()> {
        // The last aggregate rows into staging first, in short transactions
        // like the rows themselves; the final one only adds staging up.
        let mut agg = agg;
        if let Agg::Feedback(a) = &mut agg {
            let strata = std::mem::take(&mut a.strata);
            self.stage_feedback(conn, job.id, &a.cells, strata).await?;
        }
        if let Agg::Incidents(a) = &agg {
            // Counted in their units' scopes as the tree is now (as the
            // answers' cells are staged).
            let rows = incident_rows(&a.deltas.scoped(conn).await?);
            for part in rows.chunks(self.staged_per_transaction()) {
                let mut tx = crate::feedback::begin_write(conn, self.backend).await?;
                stage_incident_rows(&mut tx, job.id, part).await?;
                tx.commit().await?;
                self.pause_for_live_writers().await;
            }
        }
        let mut tx = crate::feedback::begin_write(conn, self.backend).await?;
        let n = sqlx::query(
            "UPDATE imports SET state = 'done', finished_at = $1, rows_read = $2, rows_written = $3, bytes_read = bytes_total \
             WHERE id = $4 AND state = 'running'",
        )
        .bind(now())
        .bind(rows as i64)
        .bind(written as i64)
        .bind(job.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(bulk::not_running());
        }
        // The rows count now and are never removed as an import's.
        sqlx::query("DELETE FROM import_chunks WHERE import_id = $1")
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
        let entity = match &agg {
            Agg::Feedback(a) => {
                finish_feedback(&mut tx, self.backend, job.id, a).await?;
                "feedback_answers"
            }
            Agg::Incidents(_) => {
                finish_incidents(&mut tx, self.backend, job.id).await?;
                "incident"
            }
            // Applied by finish_figures, never here.
            Agg::Figures => "follow_ups",
            Agg::Ombudsman(deltas) => {
                finish_marginals(&mut tx, "ombudsman_marginals", deltas).await?;
                "ombudsman_contact"
            }
        };
        audit(
            &mut tx,
            p,
            "import",
            entity,
            &job.id.to_string(),
            None,
            None,
            Some(serde_json::json!({ "file": job.file_name, "rows": written })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn spawn_reader<P, R>(mut parser: P, input: R, bytes_total: u64, tx: mpsc::Sender<Msg<Rows, Agg>>)
where
    P: Parser,
    R: Read + Send + 'static,
{
    std::thread::spawn(move || {
        let _ = read_file(&mut parser, input, bytes_total, &tx);
    });
}
