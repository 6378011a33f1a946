//! Valvo persistence: one `Store` over SQLite (default) or PostgreSQL.
//!
//! Both backends go through sqlx's `Any` driver with portable SQL (`$1`
//! placeholders, `RETURNING`), and each has its own migration folder. Every
//! write checks the acting principal's scope and writes its audit row inside
//! the same transaction, so a refused or failed write leaves nothing behind.

mod accounts;
mod auth;
mod branding;
mod classification;
pub mod comparison;
mod feedback;
mod figures;
mod import;
mod incidents;
mod notifications;
mod ombudsman;
mod plan;
mod reference;
mod report_sections;
mod reports;
mod rows;
mod supervision;
mod write;

pub use accounts::{
    SsoGrant, SsoIdentity, SsoOutcome, TokenCaller, TokenInfo, TokenSpec, UserListing,
    PASSWORD_LINK_DAYS, SSO_LOGIN_MINUTES,
};
pub use auth::{hash_password, random_secret, verify_password, SessionInfo, User};
pub use branding::LogoChange;
pub use feedback::IngestState;
pub use feedback::{
    AnswerTarget, Breakdown, CaseUpdate, ChildFigures, FeedbackCase, FeedbackStats, Submission,
    Submitted, SurveyVersion, YearFigures,
};
pub use figures::{Completeness, Listed};
pub use import::{
    FigureChange, FiguresSummary, ImportJob, ImportKind, ImportProgress, ImportState, OnProgress,
    CHUNK as IMPORT_CHUNK,
};
pub use incidents::{
    receipt_of_key, EventTypeUse, Handling, Incident, IncidentAction, IncidentHandler, Receipt,
};
pub use notifications::{digest_due, is_email, Notify, OutboxRow, Outgoing, REMIND_DAYS};
pub use ombudsman::{home_of, ContactItem, ContactRecord};
pub use plan::{AuditEntry, NewOrgUnit, Removed};
pub use reference::{parse_sotkanet, ReferenceImport};
pub use reports::{ReportError, ReportRow, SUMMARY};
pub use supervision::{Finding, Visit};
pub use valvo_core::model::{
    Action, FollowUp, Goal, GoalFull, GoalReview, Indicator, IndicatorFull,
};

use sqlx::any::AnyPoolOptions;
use sqlx::AnyConnection;
use sqlx::AnyPool;
use valvo_core::plan::FieldError;
use valvo_core::{OrgNode, OrgTree};

/// Which database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The entity does not exist (or is not visible to the principal).
    #[error("not found")]
    NotFound,
    /// The principal may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The write conflicts with existing data (e.g. a duplicate e-mail).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input did not validate.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The write lost a race the database settled (a key taken a moment
    /// before, a deadlock or serialization failure, a row it refers to
    /// removed): nothing of it was written; try again.
    #[error("conflict: {0}")]
    Retry(String),
    /// A public form sent again with a one-time key already used (a reload,
    /// a double click): nothing new was written.
    #[error("already sent")]
    AlreadySent,
    /// The database URL is not understood.
    #[error("unsupported database URL: {0}")]
    Url(String),
    /// Stored data that cannot be read back (a bug or manual tampering).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The database does not answer for now (no connection within the
    /// acquire timeout, or the link to it failed): try again shortly.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    /// A write that lost a race the database settled (a unique key taken a
    /// moment before, a deadlock or serialization failure PostgreSQL broke)
    /// is a conflict to try again, answered 409,
    /// never a server error; writes read their state under a row lock, so
    /// none is expected, and each is logged.
    fn from(e: sqlx::Error) -> Self {
        if let Some(what) = lost_race(&e) {
            tracing::warn!(error = %e, "{what}: answered as a conflict");
            return StoreError::Retry(format!("{what}; try again"));
        }
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e)
            }
            e => StoreError::Db(e),
        }
    }
}

fn lost_race(e: &sqlx::Error) -> Option<&'static str> {
    if is_unique_violation(e) {
        return Some("a concurrent write took the same key");
    }
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    match db.code().as_deref() {
        Some("40P01") => Some("deadlock"),
        Some("40001") => Some("serialization failure"),
        // What the row refers to was removed a moment before (PostgreSQL,
        // SQLite's SQLITE_CONSTRAINT_FOREIGNKEY).
        Some("23503") | Some("787") => Some("what it refers to was removed meanwhile"),
        _ => None,
    }
}

/// Result alias of the storage layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The database handle shared by the web server and the command line.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The database's URL as normalised (imports open a connection of
    /// their own for their rows).
    url: std::sync::Arc<str>,
    feedback: std::sync::Arc<feedback::FeedbackShared>,
    tree_cache: std::sync::Arc<TreeCache>,
}

/// The organisation tree as last read, with the version it was read at: read
/// on almost every request (access checks), changed rarely. Every change of
/// `org_units` adds one to `org_version` in its own transaction, and a read
/// takes the cached tree only when the version it reads now is the cached
/// one, so a unit added a moment ago through another instance is known at
/// once: the cache saves reading the tree, it never decides what a unit is.
#[derive(Debug, Default)]
pub(crate) struct TreeCache {
    inner: std::sync::RwLock<Option<(i64, std::sync::Arc<OrgTree>)>>,
}

impl TreeCache {
    fn cached(&self, version: i64) -> Option<std::sync::Arc<OrgTree>> {
        let guard = self.inner.read().ok()?;
        match &*guard {
            Some((v, tree)) if *v == version => Some(tree.clone()),
            _ => None,
        }
    }

    fn put(&self, version: i64, tree: std::sync::Arc<OrgTree>) {
        if let Ok(mut guard) = self.inner.write() {
            if guard.as_ref().is_none_or(|(v, _)| *v <= version) {
                *guard = Some((version, tree));
            }
        }
    }

    /// The tree as it is on `conn` now (in its transaction, if any): the
    /// version is read first, so a tree read after a concurrent change is
    /// kept under the older number and read again next time, never the
    /// other way round.
    pub(crate) async fn tree(&self, conn: &mut AnyConnection) -> Result<std::sync::Arc<OrgTree>> {
        let version = org_version(conn).await?;
        if let Some(t) = self.cached(version) {
            return Ok(t);
        }
        let tree = std::sync::Arc::new(load_tree(conn).await?);
        self.put(version, tree.clone());
        Ok(tree)
    }
}

async fn org_version(conn: &mut AnyConnection) -> Result<i64> {
    let row: (i64,) = sqlx::query_as("SELECT version FROM org_version WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.0)
}

/// Marks a change of the organisation tree, in the transaction that makes it
/// (after its other writes: the version row is the last lock it takes).
pub(crate) async fn bump_org_version(conn: &mut AnyConnection) -> Result<()> {
    sqlx::query("UPDATE org_version SET version = version + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Turns what a user gives (`valvo.db`, `sqlite://x.db`, `postgres://…`) into a
/// URL sqlx understands, and tells the backend.
pub fn normalize_url(url: &str) -> Result<(String, Backend)> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((url.to_string(), Backend::Postgres));
    }
    let rest = if let Some(r) = url.strip_prefix("sqlite://") {
        r
    } else if let Some(r) = url.strip_prefix("sqlite:") {
        r
    } else if url.contains("://") {
        return Err(StoreError::Url(url.to_string()));
    } else {
        url
    };
    if rest.is_empty() {
        return Err(StoreError::Url(url.to_string()));
    }
    let with_mode = if rest.contains("mode=") {
        rest.to_string()
    } else if rest.contains('?') {
        format!("{rest}&mode=rwc")
    } else {
        format!("{rest}?mode=rwc")
    };
    Ok((format!("sqlite://{with_mode}"), Backend::Sqlite))
}

/// How the connection pool is sized and how long a request waits for a
/// connection before it fails (instead of hanging while the database is
/// unreachable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections; `None` for the backend's default (SQLite 8, PostgreSQL 16).
    pub max_connections: Option<u32>,
    /// How long to wait for a free or new connection.
    pub acquire_timeout: std::time::Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: None,
            acquire_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// The pool as it is now, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Of them, idle.
    pub idle: u32,
    /// The most there may be.
    pub max: u32,
}

impl Store {
    /// Connects, creating an SQLite file if needed, and applies the migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, PoolConfig::default()).await
    }

    /// [`Store::connect`] with the pool sized and timed by `config`.
    pub async fn connect_with(url: &str, config: PoolConfig) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalize_url(url)?;
        let max = config.max_connections.unwrap_or(match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        });
        let pool = AnyPoolOptions::new()
            .max_connections(max.max(2))
            .acquire_timeout(config.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(feedback::POOL_WAIT).execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            // WAL is a property of the file: set once, readers never block the writer.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Store {
            pool,
            backend,
            url: url.as_str().into(),
            feedback: feedback::shared(),
            tree_cache: Default::default(),
        })
    }

    /// A write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout): a transaction
    /// that reads before it writes would otherwise fail when another
    /// connection (the feedback aggregator, say) commits in between.
    pub(crate) async fn begin_write(
        &self,
    ) -> std::result::Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers and has every migration this build
    /// knows applied (an older instance on a newer schema is still ready;
    /// a schema behind this build is not).
    pub async fn ready(&self) -> Result<bool> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await?;
        Ok(applied.unwrap_or(0) >= latest)
    }

    /// The pool's connections now.
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Adds `add` events to `key`'s count in `bucket` for the window that
    /// began at `window_start` (a Unix time) and returns the count, in one
    /// statement: every instance on the database counts the same events, and
    /// two at once both see the other's. Windows that ended an hour ago or
    /// more are removed now and then.
    pub async fn rate_count(
        &self,
        bucket: &str,
        key: &str,
        window_start: i64,
        add: i64,
    ) -> Result<i64> {
        if rand::random::<u8>() == 0 {
            sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
                .bind(window_start - 3600)
                .execute(&self.pool)
                .await?;
        }
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (bucket, key, window_start, n) VALUES ($1, $2, $3, GREATEST($4, 0)) \
             ON CONFLICT (bucket, key, window_start) DO UPDATE SET n = GREATEST(rate_limits.n + $4, 0) RETURNING n",
        )
        .bind(bucket)
        .bind(key)
        .bind(window_start)
        .bind(add)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Closes the pool (waits for connections to return).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The whole organisation tree, as it is in the database now (shared:
    /// a national service's tree is thousands of units, and a request only
    /// reads it).
    pub async fn org_tree(&self) -> Result<std::sync::Arc<OrgTree>> {
        let mut conn = self.pool.acquire().await?;
        self.tree_cache.tree(&mut conn).await
    }

    /// The organisation tree as it is now on `conn` (in its transaction).
    pub(crate) async fn tree_in(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<std::sync::Arc<OrgTree>> {
        self.tree_cache.tree(conn).await
    }

    /// A value from the key–value table.
    pub async fn meta_get(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.0))
    }
}

pub(crate) async fn load_tree(conn: &mut AnyConnection) -> Result<OrgTree> {
    let rows = sqlx::query(
        "SELECT id, parent_id, code, name_fi, name_sv, name_en, producer, sort_order, service_type \
         FROM org_units ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let nodes = rows
        .iter()
        .map(rows::org_node)
        .collect::<Result<Vec<OrgNode>>>()?;
    OrgTree::new(nodes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Now, as the database stores times (RFC 3339, UTC).
pub fn now_rfc3339() -> String {
    now()
}

pub(crate) fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.message().contains("UNIQUE constraint failed")
                || db.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}

/// Creates an empty database (PostgreSQL; SQLite files are created on connect).
/// Used by the test suites to give every test its own database.
pub async fn create_database(url: &str) -> Result<()> {
    use sqlx::migrate::MigrateDatabase;
    sqlx::any::install_default_drivers();
    let (url, _) = normalize_url(url)?;
    if !sqlx::Any::database_exists(&url).await? {
        sqlx::Any::create_database(&url).await?;
    }
    Ok(())
}

/// Drops a database (PostgreSQL) or deletes an SQLite file.
pub async fn drop_database(url: &str) -> Result<()> {
    use sqlx::migrate::MigrateDatabase;
    sqlx::any::install_default_drivers();
    let (url, _) = normalize_url(url)?;
    if sqlx::Any::database_exists(&url).await? {
        sqlx::Any::drop_database(&url).await?;
    }
    Ok(())
}
