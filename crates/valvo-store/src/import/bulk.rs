//! The rows of answer and incident imports, written the fastest way each
//! database has, on a connection of the import's own.
//!
//! Through the Any driver every value of a multi-row statement is converted
//! and copied twice before the database sees it, which cost more than the
//! database spent on the rows (about 16 000 incident reports a second). So:
//!
//! - **PostgreSQL**: `COPY … FROM STDIN` in text format. The ids of the
//!   chunk's first table (every answer, every report) are drawn from its own
//!   sequence first, so the rows pointing at them (comment cases, handling
//!   spans) follow in the same chunk, and the chunk knows its id range.
//! - **SQLite**: one prepared single-row statement per table, run in
//!   `BEGIN IMMEDIATE` transactions of about 20 ms each with a pause after
//!   each for the live writers ([`SQLITE_HOLD`]; rusqlite on the same file
//!   and the same SQLite library the pool uses), each row's id from
//!   `last_insert_rowid`; checkpoints in a thread of their own
//!   ([`Checkpoints`]).
//!
//! A chunk is one transaction on PostgreSQL, and on SQLite one or more,
//! each ending with the import's heartbeat (which fails it when the import
//! is no longer running, so a chunk of a failed import never lands after
//! its rows were removed):
//! nothing here changes when rows count (when the import is marked done,
//! [`crate::write::visible`]). Each transaction also records the first and last id
//! of its first table's rows (`import_chunks`), by which a failed or killed
//! import's rows are found again: an index on `import_id` would cost every
//! imported row an index entry for the rare import that fails. On PostgreSQL two chunks are written at once, on
//! two connections: the server's work on a chunk (its indexes and foreign
//! keys) is most of an import's time, and one connection keeps one core busy.

use sqlx::Connection;

use crate::{Result, StoreError};

/// One value of a row.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Cell {
    Null,
    Int(i64),
    Text(String),
    /// The id of the `n`th row of the chunk's first table (filled in when
    /// that row has it).
    Parent(usize),
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_owned())
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// The rows of one table in a chunk.
pub(super) struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

/// A chunk: the rows others point at, then the rows pointing at them.
pub(super) struct Chunk {
    pub parents: Table,
    pub children: Table,
}

/// What the chunk's transaction records of the import's progress.
#[derive(Clone, Copy, Debug)]
pub(super) struct Heartbeat {
    pub id: i64,
    pub bytes_read: i64,
    pub rows_read: i64,
    /// The chunk's rows, added to those written: with two chunks at once
    /// the count is of committed rows whichever commits first.
    pub rows_added: i64,
    pub errors: i64,
}

/// Where a chunk's rows are (the ids of its first table's rows).
const RANGE: &str = "INSERT INTO import_chunks (import_id, first_id, last_id) VALUES ($1, $2, $3)";

/// An import's progress, recorded only while it runs.
const HEARTBEAT: &str = "UPDATE imports SET heartbeat_at = $1, bytes_read = $2, rows_read = $3, \
     rows_written = rows_written + $4, error_count = $5 WHERE id = $6 AND state = 'running'";

/// The import's writing connections and the chunks being written.
pub(super) struct Writers {
    url: std::sync::Arc<str>,
    /// Chunks written at once (1 on SQLite, which has one writer).
    most: usize,
    idle: Vec<Bulk>,
    running: std::collections::VecDeque<tokio::task::JoinHandle<(Bulk, Result<()>)>>,
}

impl Writers {
    pub fn new(url: std::sync::Arc<str>, sqlite: bool) -> Writers {
        Writers {
            url,
            most: if sqlite { 1 } else { 2 },
            idle: Vec::new(),
            running: Default::default(),
        }
    }

    /// Starts writing a chunk, after the oldest one running ends when as
    /// many run as may; with one writer, returns when the chunk is written.
    pub async fn write(&mut self, beat: Heartbeat, chunk: Chunk) -> Result<()> {
        if self.running.len() >= self.most {
            self.wait_oldest().await?;
        }
        let mut bulk = match self.idle.pop() {
            Some(b) => b,
            None => Bulk::open(&self.url).await?,
        };
        self.running.push_back(tokio::spawn(async move {
            let result = bulk.write(beat, chunk).await;
            (bulk, result)
        }));
        if self.most == 1 {
            self.wait_oldest().await?;
        }
        Ok(())
    }

    async fn wait_oldest(&mut self) -> Result<()> {
        let Some(handle) = self.running.pop_front() else {
            return Ok(());
        };
        let (bulk, result) = handle
            .await
            .map_err(|e| StoreError::Db(sqlx::Error::Protocol(e.to_string())))?;
        self.idle.push(bulk);
        result
    }

    /// Waits for every chunk still being written (the first error, if
    /// any, once all have ended).
    pub async fn drain(&mut self) -> Result<()> {
        let mut first = Ok(());
        while !self.running.is_empty() {
            let r = self.wait_oldest().await;
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// [`drain`](Self::drain), then closes the connections.
    pub async fn finish(mut self) -> Result<()> {
        let result = self.drain().await;
        for b in self.idle.drain(..) {
            b.close().await;
        }
        result
    }
}

pub(super) enum Bulk {
    Postgres(sqlx::PgConnection),
    /// `None` only while a chunk is written (on a blocking thread); and
    /// the import's checkpoints.
    Sqlite(Option<rusqlite::Connection>, Checkpoints),
}

fn sqlite_err(e: rusqlite::Error) -> StoreError {
    let busy = e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy);
    let e = sqlx::Error::Protocol(format!("sqlite: {e}"));
    if busy {
        StoreError::Unavailable(e)
    } else {
        StoreError::Db(e)
    }
}

/// The import was failed or counted as dead (reaped) meanwhile: stop.
pub(super) fn not_running() -> StoreError {
    crate::write::invalid("import", valvo_core::plan::ErrorCode::StateConflict)
}

impl Bulk {
    /// A connection of its own to the store's database (`url` as normalised
    /// by the store).
    pub async fn open(url: &str) -> Result<Bulk> {
        if let Some(rest) = url.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or(rest).to_owned();
            let conn = tokio::task::spawn_blocking(move || {
                let conn = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(std::time::Duration::from_secs(10))?;
                // As the pool's connections, with a page cache large enough
                // for the indexes the rows go into.
                conn.execute_batch(
                    "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;",
                )?;
                // No checkpoint in its own commits: see `Checkpoints`.
                conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
                let checkpoints = Checkpoints::start(&path)?;
                Ok::<_, rusqlite::Error>((conn, checkpoints))
            })
            .await
            .map_err(|e| StoreError::Db(sqlx::Error::Protocol(e.to_string())))?
            .map_err(sqlite_err)?;
            return Ok(Bulk::Sqlite(Some(conn.0), conn.1));
        }
        Ok(Bulk::Postgres(sqlx::PgConnection::connect(url).await?))
    }

    /// Writes a chunk with the heartbeat: in one transaction on PostgreSQL,
    /// in transactions of about [`SQLITE_HOLD`] on SQLite. Fails when the
    /// import is no longer running, writing nothing more (on SQLite the
    /// chunk's earlier transactions stay, their rows found by their ranges
    /// and removed with the failed import's).
    pub async fn write(&mut self, beat: Heartbeat, chunk: Chunk) -> Result<()> {
        match self {
            Bulk::Postgres(pg) => write_pg(pg, beat, chunk).await,
            Bulk::Sqlite(slot, checkpoints) => {
                let conn = slot.take().ok_or_else(|| {
                    StoreError::Db(sqlx::Error::Protocol("import connection lost".into()))
                })?;
                let checkpoints = checkpoints.clone();
                let (conn, result) = tokio::task::spawn_blocking(move || {
                    let result = write_sqlite(&conn, &checkpoints, beat, chunk);
                    (conn, result)
                })
                .await
                .map_err(|e| StoreError::Db(sqlx::Error::Protocol(e.to_string())))?;
                *slot = Some(conn);
                result
            }
        }
    }

    pub async fn close(self) {
        if let Bulk::Postgres(pg) = self {
            let _ = pg.close().await;
        }
    }
}

/// How long one transaction of a chunk holds SQLite's write lock, about:
/// live answers and reports wait for it meanwhile (over the lock a chunk
/// held whole, 70 ms for 5 000 incident reports, the live answers' p99
/// during an import was 200 ms). A chunk longer than this is written in
/// several transactions, each recording its own rows' range and the
/// heartbeat (so a failed import's rows are found, and none land after it
/// failed); rows count only when the import is marked done either way.
pub(super) const SQLITE_HOLD: std::time::Duration = std::time::Duration::from_millis(20);
/// The pause after each such transaction, in which a writer waiting for
/// the lock takes it: the ingest and the aggregator at once (they ask
/// every millisecond); other writers, waiting in SQLite's own sleeps of up
/// to 100 ms, in this pause or a later one.
pub(super) const SQLITE_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);
/// Rows written between looks at the clock.
const ROWS_PER_LOOK: usize = 64;

/// The log's length in pages beyond which the import's checkpoint thread
/// has it started again from its beginning (64 MB of 4 KB pages).
const RESTART_FRAMES: i64 = 16_384;
/// How long a restart waits at most (see [`Checkpoints::start`]): a
/// reader holding its snapshot for seconds would otherwise hold every
/// writer up to 5 s.
const RESTART_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// A thread of the import's own that checkpoints the database (copies the
/// write-ahead log's pages into the file, passively: never waiting for a
/// lock) after the import's commits, one at a time, while the import goes
/// on writing. In the writing thread itself (SQLite's automatic
/// checkpoint, every 10 000 pages) the import stood still meanwhile, more
/// often since its transactions are short.
#[derive(Clone)]
pub(super) struct Checkpoints(std::sync::mpsc::SyncSender<()>);

impl Checkpoints {
    fn start(path: &str) -> rusqlite::Result<Checkpoints> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // For the restarts below: how long one waits for the write lock
        // and then, holding it, for readers of the log's old pages to end
        // (live writers wait meanwhile). A restart given up is made after
        // the import's next commit.
        conn.busy_timeout(RESTART_WAIT)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        std::thread::spawn(move || {
            // Ends when the import's connection is gone.
            while rx.recv().is_ok() {
                let frames = conn
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
                    .unwrap_or(0);
                if frames > RESTART_FRAMES {
                    // A passive checkpoint beside the import's writing
                    // never catches up with the log, so the log is never
                    // started again from its beginning and grows with the
                    // import. This one holds the write lock while it
                    // copies the little the passive ones left (live
                    // writers wait those milliseconds), then the next
                    // commit starts the log again.
                    let _ = conn.execute_batch("PRAGMA wal_checkpoint(RESTART);");
                }
            }
        });
        Ok(Checkpoints(tx))
    }

    /// After a commit: a checkpoint soon (one asked for already is enough).
    fn ask(&self) {
        let _ = self.0.try_send(());
    }
}

fn write_sqlite(
    conn: &rusqlite::Connection,
    checkpoints: &Checkpoints,
    beat: Heartbeat,
    chunk: Chunk,
) -> Result<()> {
    let mut ids = Vec::with_capacity(chunk.parents.rows.len());
    // The parents' ids written by the transaction open now begin here.
    let mut part = Part::begin(conn, 0)?;
    for (table, parents) in [(&chunk.parents, true), (&chunk.children, false)] {
        if table.rows.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            table.columns.join(", "),
            vec!["?"; table.columns.len()].join(", ")
        );
        for rows in table.rows.chunks(ROWS_PER_LOOK) {
            if part.started.elapsed() >= SQLITE_HOLD {
                let from = ids.len();
                part.end(&beat, &ids, false)?;
                checkpoints.ask();
                std::thread::sleep(SQLITE_PAUSE);
                part = Part::begin(conn, from)?;
            }
            let mut stmt = part.tx.prepare_cached(&sql).map_err(sqlite_err)?;
            for row in rows {
                for (i, cell) in row.iter().enumerate() {
                    let i = i + 1;
                    match cell {
                        Cell::Null => stmt.raw_bind_parameter(i, rusqlite::types::Null),
                        Cell::Int(v) => stmt.raw_bind_parameter(i, v),
                        Cell::Text(v) => stmt.raw_bind_parameter(i, v.as_str()),
                        Cell::Parent(k) => stmt.raw_bind_parameter(i, ids[*k]),
                    }
                    .map_err(sqlite_err)?;
                }
                stmt.raw_execute().map_err(sqlite_err)?;
                if parents {
                    ids.push(part.tx.last_insert_rowid());
                }
            }
        }
    }
    part.end(&beat, &ids, true)?;
    checkpoints.ask();
    Ok(())
}

/// One transaction of a chunk on SQLite.
struct Part<'c> {
    tx: rusqlite::Transaction<'c>,
    started: std::time::Instant,
    /// The index of the first parent row it writes.
    from: usize,
}

impl<'c> Part<'c> {
    fn begin(conn: &'c rusqlite::Connection, from: usize) -> Result<Part<'c>> {
        // The transaction rolls back when dropped unless committed.
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
                .map_err(sqlite_err)?;
        Ok(Part {
            tx,
            started: std::time::Instant::now(),
            from,
        })
    }

    /// Records the range of the parent rows it wrote and the heartbeat
    /// (the chunk's rows counted as written by the last), and commits.
    fn end(self, beat: &Heartbeat, ids: &[i64], last: bool) -> Result<()> {
        let mine = &ids[self.from..];
        if let (Some(first), Some(end)) = (mine.iter().min(), mine.iter().max()) {
            self.tx
                .execute(
                    &RANGE.replace('$', "?"),
                    rusqlite::params![beat.id, first, end],
                )
                .map_err(sqlite_err)?;
        }
        let n = self
            .tx
            .execute(
                &HEARTBEAT.replace('$', "?"),
                rusqlite::params![
                    crate::now(),
                    beat.bytes_read,
                    beat.rows_read,
                    if last { beat.rows_added } else { 0 },
                    beat.errors,
                    beat.id
                ],
            )
            .map_err(sqlite_err)?;
        if n == 0 {
            return Err(not_running());
        }
        self.tx.commit().map_err(sqlite_err)
    }
}

async fn write_pg(pg: &mut sqlx::PgConnection, beat: Heartbeat, chunk: Chunk) -> Result<()> {
    let mut tx = pg.begin().await?;
    // The sequence's name found once per chunk (pg_get_serial_sequence as
    // nextval's argument ran once for every row).
    let sequence: String = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')")
        .bind(chunk.parents.name)
        .fetch_one(&mut *tx)
        .await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT nextval($1::regclass) FROM generate_series(1, $2)")
            .bind(sequence)
            .bind(chunk.parents.rows.len() as i64)
            .fetch_all(&mut *tx)
            .await?;
    for (table, with_ids) in [(&chunk.parents, true), (&chunk.children, false)] {
        if table.rows.is_empty() {
            continue;
        }
        let columns = if with_ids {
            format!("id, {}", table.columns.join(", "))
        } else {
            table.columns.join(", ")
        };
        let mut data = Vec::with_capacity(table.rows.len() * 96);
        for (k, row) in table.rows.iter().enumerate() {
            if with_ids {
                data.extend_from_slice(ids[k].to_string().as_bytes());
                data.push(b'\t');
            }
            copy_row(&mut data, row, &ids);
        }
        let mut copy = tx
            .copy_in_raw(&format!("COPY {} ({columns}) FROM STDIN", table.name))
            .await?;
        copy.send(data).await?;
        copy.finish().await?;
    }
    if let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) {
        sqlx::query(RANGE)
            .bind(beat.id)
            .bind(*first)
            .bind(*last)
            .execute(&mut *tx)
            .await?;
    }
    let n = sqlx::query(HEARTBEAT)
        .bind(crate::now())
        .bind(beat.bytes_read)
        .bind(beat.rows_read)
        .bind(beat.rows_added)
        .bind(beat.errors)
        .bind(beat.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(not_running());
    }
    tx.commit().await?;
    Ok(())
}

/// One row in COPY's text format: tab-separated, `\N` for null, backslash,
/// tab, newline and carriage return escaped.
fn copy_row(out: &mut Vec<u8>, row: &[Cell], ids: &[i64]) {
    for (i, cell) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match cell {
            Cell::Null => out.extend_from_slice(b"\\N"),
            Cell::Int(v) => out.extend_from_slice(v.to_string().as_bytes()),
            Cell::Parent(k) => out.extend_from_slice(ids[*k].to_string().as_bytes()),
            Cell::Text(s) => {
                for b in s.bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(b),
                    }
                }
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_escape_what_copy_reads_specially() {
        let mut out = Vec::new();
        copy_row(
            &mut out,
            &[
                Cell::Int(7),
                Cell::Null,
                Cell::Text("a\tb\\c\nd\re ö".into()),
                Cell::Parent(1),
            ],
            &[10, 11],
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "7\t\\N\ta\\tb\\\\c\\nd\\re ö\t11\n"
        );
    }
}
