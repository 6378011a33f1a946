//! `valvo`: the one binary. `serve`, `demo`, `user add`, `token create`.

mod accounts;
mod bench;
mod bench_ops;
mod bench_oversight;
mod demo;
mod import;
mod logs;
mod report;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// mimalloc instead of the system's allocator: a request allocates and
/// frees many small buffers on two or more threads, where glibc's malloc
/// spent about a sixth of the server's time (measured with `perf` under
/// answer ingest).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use valvo_core::access::{Principal, Role};
use valvo_store::{ImportKind, Store};
use valvo_web::{AppState, WebConfig};

#[derive(Parser, Debug)]
#[command(
    name = "valvo",
    version,
    about = "Valvo: self-monitoring (omavalvonta / egenkontroll) for social and health care"
)]
struct Cli {
    /// Database: an SQLite file path or URL (sqlite://valvo.db), or postgres://user@host/db.
    #[arg(
        long,
        env = "VALVO_DATABASE_URL",
        default_value = "valvo.db",
        global = true
    )]
    database_url: String,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "VALVO_LOG_JSON", global = true)]
    log_json: bool,
    /// The county's own topic list for reading comments (the format of
    /// crates/valvo-text/data/lexicon/topics.txt); the defaults without it.
    #[arg(long, env = "VALVO_TOPICS_FILE", global = true)]
    topics_file: Option<std::path::PathBuf>,
    /// Most database connections of this process (default: SQLite 8, PostgreSQL 16).
    #[arg(long, env = "VALVO_DB_POOL_SIZE", global = true)]
    db_pool_size: Option<u32>,
    /// Seconds a request waits for a database connection before it fails
    /// (503) instead of hanging while the database is unreachable.
    #[arg(
        long,
        env = "VALVO_DB_ACQUIRE_TIMEOUT",
        default_value_t = 5,
        global = true
    )]
    db_acquire_timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VALVO_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Mark cookies Secure (browsers then send them over HTTPS only; keep on behind TLS).
    #[arg(long, env = "VALVO_COOKIE_SECURE", default_value_t = true, action = clap::ArgAction::Set)]
    cookie_secure: bool,
    /// Public reports and receipt look-ups allowed per client address per 10 minutes.
    #[arg(long, env = "VALVO_PUBLIC_RATE_LIMIT", default_value_t = 20)]
    public_rate_limit: u32,
    /// Failed logins allowed per client address per 10 minutes (answered 429 above it).
    #[arg(long, env = "VALVO_LOGIN_RATE_LIMIT", default_value_t = 20)]
    login_rate_limit: u32,
    /// Days before an unhandled misconduct report is flagged.
    #[arg(long, env = "VALVO_MISCONDUCT_DEADLINE_DAYS", default_value_t = 7)]
    misconduct_deadline_days: i64,
    /// Days before other unhandled incident reports are flagged.
    #[arg(long, env = "VALVO_INCIDENT_DEADLINE_DAYS", default_value_t = 30)]
    incident_deadline_days: i64,
    /// The public address of the service (https://valvo.example.fi), printed in
    /// QR codes and invitation links; by default taken from each request's host.
    #[arg(long, env = "VALVO_PUBLIC_URL")]
    public_url: Option<String>,
    /// Reverse proxies and load balancers whose X-Forwarded-For / Forwarded
    /// headers name the client (comma-separated addresses or CIDR blocks,
    /// e.g. 10.0.0.0/8,192.168.1.5); without it the connecting address is the client.
    #[arg(long, env = "VALVO_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: String,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, env = "VALVO_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a client may take to send a request's body.
    #[arg(long, env = "VALVO_BODY_TIMEOUT", default_value_t = 30)]
    body_timeout: u64,
    /// Seconds requests under way may take to finish after SIGTERM.
    #[arg(long, env = "VALVO_SHUTDOWN_GRACE", default_value_t = 20)]
    shutdown_grace: u64,
    /// Seconds /readyz answers 503 after SIGTERM before new connections are
    /// refused (let the load balancer notice first).
    #[arg(long, env = "VALVO_DRAIN_DELAY", default_value_t = 0)]
    drain_delay: u64,
    /// The header the trusted proxies write the client's address into:
    /// x-forwarded-for or forwarded (RFC 7239). Only that one is read.
    #[arg(
        long,
        env = "VALVO_FORWARDED_HEADER",
        default_value = "x-forwarded-for"
    )]
    forwarded_header: String,
    /// Report PDFs rendered at once (each holds tens of megabytes); more wait their turn.
    #[arg(long, env = "VALVO_RENDER_CONCURRENCY", default_value_t = 1)]
    render_concurrency: usize,
    /// A bearer token that /metrics asks for (open without one).
    #[arg(long, env = "VALVO_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    #[command(flatten)]
    sso: SsoArgs,
    /// The SMTP server notifications are sent through: smtp://host:25,
    /// smtp://user:password@host:587?tls=required or smtps://host:465.
    /// Needs --public-url (the messages link to it) and --smtp-from.
    #[arg(long, env = "VALVO_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender of notifications: "Valvo <valvo@county.fi>".
    #[arg(long, env = "VALVO_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Seconds between looks at the outbox of notifications.
    #[arg(long, env = "VALVO_MAIL_INTERVAL", default_value_t = 10)]
    mail_interval: u64,
}

impl ServeArgs {
    fn mail(&self) -> Result<Option<valvo_web::ops::mailer::MailSettings>, String> {
        let Some(url) = self.smtp_url.clone().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let public_url = self
            .public_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .ok_or("--smtp-url needs --public-url (the messages link to the service)")?;
        let from = self
            .smtp_from
            .clone()
            .filter(|f| !f.trim().is_empty())
            .ok_or("--smtp-url needs --smtp-from (the sender of the messages)")?;
        let settings = valvo_web::ops::mailer::MailSettings {
            smtp_url: url,
            from,
            public_url,
            interval: std::time::Duration::from_secs(self.mail_interval.max(1)),
            scan_every: std::time::Duration::from_secs(600),
        };
        settings.check()?;
        Ok(Some(settings))
    }
}

/// Sign-in through the county's identity provider (OpenID Connect).
#[derive(Args, Debug, Clone)]
struct SsoArgs {
    /// The identity provider's issuer URL (its discovery document is at
    /// /.well-known/openid-configuration under it). Needs --public-url: the
    /// redirect URI registered at the provider is <public-url>/login/sso/callback.
    #[arg(long, env = "VALVO_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    /// The client id Valvo is registered with at the provider.
    #[arg(long, env = "VALVO_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// The client secret.
    #[arg(long, env = "VALVO_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// Scopes asked for besides openid (space-separated).
    #[arg(long, env = "VALVO_OIDC_SCOPES", default_value = "email profile")]
    oidc_scopes: String,
    /// A TOML file mapping the provider's groups to Valvo roles and scopes
    /// (see the README); without it, only existing accounts sign in.
    #[arg(long, env = "VALVO_OIDC_ROLES")]
    oidc_roles: Option<std::path::PathBuf>,
    /// Offer sign-in with e-mail and password (turn off when everyone signs
    /// in through the identity provider).
    #[arg(long, env = "VALVO_PASSWORD_LOGIN", default_value_t = true, action = clap::ArgAction::Set)]
    password_login: bool,
}

impl SsoArgs {
    fn settings(
        &self,
        public_url: Option<&str>,
    ) -> Result<Option<valvo_web::OidcSettings>, String> {
        let Some(issuer) = self.oidc_issuer.clone().filter(|s| !s.trim().is_empty()) else {
            if !self.password_login {
                return Err(
                    "--password-login false needs --oidc-issuer: nobody could sign in".into(),
                );
            }
            return Ok(None);
        };
        let public_url = public_url
            .filter(|u| !u.trim().is_empty())
            .ok_or("--oidc-issuer needs --public-url (the redirect URI is built from it)")?;
        let client_id = self
            .oidc_client_id
            .clone()
            .filter(|s| !s.trim().is_empty())
            .ok_or("--oidc-issuer needs --oidc-client-id")?;
        let mapping = match &self.oidc_roles {
            None => valvo_core::sso::Mapping::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--oidc-roles {}: {e}", path.display()))?;
                valvo_core::sso::Mapping::parse(&text)
                    .map_err(|e| format!("--oidc-roles {}: {e}", path.display()))?
            }
        };
        let settings = valvo_web::OidcSettings {
            issuer,
            client_id,
            client_secret: self.oidc_client_secret.clone().filter(|s| !s.is_empty()),
            scopes: self
                .oidc_scopes
                .split_whitespace()
                .filter(|s| *s != "openid")
                .map(str::to_string)
                .collect(),
            mapping,
            redirect_uri: format!("{}/login/sso/callback", public_url.trim_end_matches('/')),
        };
        settings.check()?;
        Ok(Some(settings))
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Load the demo county (once) and run the server.
    Demo {
        #[command(flatten)]
        serve: DemoServeArgs,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage the organisation tree.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write a report to a file: PDF, HTML, JSON or CSV. Uses the newest version
    /// of the period's report (frozen figures once approved), else the live data.
    Report {
        /// Org unit code or id.
        #[arg(long)]
        org: String,
        /// Period, e.g. 2024T2, 2024H1, 2024.
        #[arg(long)]
        period: String,
        /// fi, sv, en, or bilingual (Swedish and Finnish side by side).
        #[arg(long, default_value = "fi")]
        lang: String,
        /// pdf, html, json or csv.
        #[arg(long, default_value = "pdf")]
        format: String,
        /// Without a chapter for each child unit.
        #[arg(long)]
        no_children: bool,
        /// Output file.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Measure page render and API timings on the demo county (a fresh temporary database
    /// unless --database-url is given explicitly).
    Bench(bench::BenchArgs),
    /// Customer feedback.
    Feedback {
        #[command(subcommand)]
        command: FeedbackCommand,
    },
    /// Import a file from another system: every line or none, errors by line
    /// and column, a progress bar on a terminal.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Free-text analysis, offline.
    Text {
        #[command(subcommand)]
        command: TextCommand,
    },
}

#[derive(Args, Debug, Clone)]
struct DemoServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VALVO_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Load the demo data and exit without serving.
    #[arg(long)]
    load_only: bool,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a user. The password comes from VALVO_PASSWORD, or a random one is printed.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, quality_coordinator, area_manager or viewer.
        #[arg(long)]
        role: String,
        /// Org unit code or id the user is limited to (required for area managers).
        #[arg(long)]
        scope: Option<String>,
        #[arg(long, env = "VALVO_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List users: id, e-mail, role, scope, active.
    List,
    /// Deactivate a user: their sessions end and their tokens stop at once.
    Deactivate {
        #[arg(long)]
        email: String,
    },
    /// Let a deactivated user sign in again.
    Reactivate {
        #[arg(long)]
        email: String,
    },
    /// Change a user's role and scope.
    SetRole {
        #[arg(long)]
        email: String,
        /// admin, quality_coordinator, area_manager, viewer, ombudsperson or supervisor.
        #[arg(long)]
        role: String,
        /// Org unit code or id (required for area managers; none: the whole county).
        #[arg(long)]
        scope: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum OrgCommand {
    /// Add an org unit (a county when --parent is not given).
    Add {
        /// Short unique code (letters, digits, hyphens).
        #[arg(long)]
        code: String,
        /// Parent unit's code or id.
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        name_fi: Option<String>,
        #[arg(long)]
        name_sv: Option<String>,
        #[arg(long)]
        name_en: Option<String>,
        /// own, purchased, service_voucher or private.
        #[arg(long, default_value = "own")]
        producer: String,
        /// The service it gives, from the national list (health_station,
        /// oral_health, maternity_child, emergency, hospital, mental_health,
        /// rehabilitation, home_care, housing, disability, social_work);
        /// without it, that of the unit above.
        #[arg(long)]
        service_type: Option<String>,
    },
    /// Print the tree: id, code, producer, names and the unit's own service type.
    List,
}

#[derive(Subcommand, Debug)]
enum FeedbackCommand {
    /// Import answers from a CSV file (header: unit, service_date, nps, statement
    /// keys, text, service_lang, age_group, respondent, contact): every line or
    /// none; errors name the line and column.
    Import(ImportArgs),
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// Customer feedback answers (CSV; header: unit, service_date, nps,
    /// statement keys, text, service_lang, age_group, respondent, contact).
    Feedback(ImportArgs),
    /// Incident and misconduct report history, from a HaiPro- or SPro-style
    /// CSV export (header: unit, reported_on, occurred_on, kind, event_type,
    /// consequence, reporter_role, state, handled_on, never_event, place,
    /// description, contributing_factors, immediate_actions).
    Incidents(ImportArgs),
    /// Follow-up figures of indicators named by their codes (CSV or XLSX;
    /// header: indicator, period, value, and optionally assessment_fi,
    /// assessment_sv, assessment_en, corrective_fi, corrective_sv,
    /// corrective_en). Importing the same file again changes nothing.
    Figures(ImportArgs),
    /// An ombudsperson's log of contacts, one line per item (header:
    /// contact, contacted_on, channel, language, client_group, measures,
    /// unit, producer, sector, reasons); lines with the same contact number
    /// one after another make one contact. Ombudspersons and administrators.
    Ombudsman(ImportArgs),
    /// National and regional reference values from a Sotkanet CSV export
    /// (columns indicator, region, year, gender, value or primary value),
    /// shown beside the indicators that name the series.
    Sotkanet(ImportArgs),
}

#[derive(Args, Debug, Clone)]
struct ImportArgs {
    /// The file: CSV (UTF-8 with or without BOM, comma or semicolon
    /// separated) or an XLSX workbook.
    file: std::path::PathBuf,
    /// Check the whole file and report every error, without writing anything.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Subcommand, Debug)]
enum TextCommand {
    /// Reads JSON lines {"text": "..."} on standard input and writes one JSON
    /// line per comment: language, sentiment, topics and the redacted text.
    Analyze,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create an API token for a user and print it (shown once).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Days until it stops working (1–3650); without: until revoked.
        #[arg(long)]
        expires_in_days: Option<i64>,
        /// It only reads (GET); writes answer 403.
        #[arg(long)]
        read_only: bool,
        /// Org unit code or id: narrower than the user's own scope.
        #[arg(long)]
        scope: Option<String>,
    },
    /// List tokens (of one user with --email): id, user, name, state,
    /// created, expires, last used, read-only, scope.
    List {
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke a token by its id: it answers 401 at once on every instance.
    Revoke { id: i64 },
}

fn init_logs(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VALVO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    // Colours only on a terminal: a log file or a collector gets plain
    // lines (and formatting them costs less under load).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(logs::Stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The benchmark would otherwise log every one of its thousands of requests.
    let default_filter = match cli.command {
        Command::Bench(_) => "warn",
        _ => "info,sqlx=warn",
    };
    init_logs(cli.log_json, default_filter);
    logs::start();
    let result = run(cli).await;
    logs::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("valvo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

async fn serve(store: Store, addr: SocketAddr, config: WebConfig) -> Result<(), String> {
    // Imports whose process died (kill -9, a crash) leave nothing behind.
    match store.reap_imports().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(imports = n, "removed the rows of interrupted imports"),
        Err(e) => tracing::warn!(error = %e, "could not clean up interrupted imports"),
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Valvo listening on http://{local}/");
    let state = AppState::new(store.clone(), config);
    let result = valvo_web::serve(listener, state, shutdown_signal()).await;
    // A handler still holding a connection past the grace time does not
    // keep the process alive.
    if tokio::time::timeout(std::time::Duration::from_secs(3), store.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still in use at exit");
    }
    result.map_err(|e| e.to_string())
}

pub(crate) async fn find_scope(store: &Store, scope: Option<&str>) -> Result<Option<i64>, String> {
    let Some(s) = scope else { return Ok(None) };
    let tree = store.org_tree().await.map_err(|e| e.to_string())?;
    let found = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.code == s || n.id.to_string() == s)
        .map(|n| n.id);
    found
        .map(Some)
        .ok_or_else(|| format!("no org unit with code or id {s:?}"))
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Some(path) = &cli.topics_file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let topics =
            valvo_text::Topic::parse_list(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        valvo_text::configure_topics(topics);
    }
    if let Command::Text {
        command: TextCommand::Analyze,
    } = &cli.command
    {
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        let stats = valvo_text::analyze_lines(stdin.lock(), std::io::BufWriter::new(stdout.lock()))
            .map_err(|e| format!("text analyze: {e}"))?;
        eprintln!(
            "valvo text analyze: {} lines, {} analysed, {} with errors",
            stats.lines, stats.analysed, stats.errors
        );
        return Ok(());
    }
    if let Command::Bench(args) = &cli.command {
        return bench::run(
            args,
            std::env::var("VALVO_DATABASE_URL")
                .ok()
                .or_else(|| explicit_db(&cli)),
        )
        .await;
    }
    let pool = valvo_store::PoolConfig {
        max_connections: cli.db_pool_size,
        acquire_timeout: std::time::Duration::from_secs(cli.db_acquire_timeout.max(1)),
    };
    let store = Store::connect_with(&cli.database_url, pool)
        .await
        .map_err(|e| format!("database {}: {e}", redact(&cli.database_url)))?;
    match cli.command {
        Command::Serve(args) => {
            let trusted_proxies = valvo_web::ops::Cidr::parse_list(&args.trusted_proxies)
                .map_err(|e| format!("--trusted-proxies: {e}"))?;
            let forwarded_header = args
                .forwarded_header
                .parse()
                .map_err(|e| format!("--forwarded-header: {e}"))?;
            let oidc = args.sso.settings(args.public_url.as_deref())?;
            let mail = args.mail()?;
            serve(
                store,
                args.addr,
                WebConfig {
                    oidc,
                    mail,
                    password_login: args.sso.password_login,
                    trusted_proxies,
                    forwarded_header,
                    drain_delay: std::time::Duration::from_secs(args.drain_delay),
                    header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
                    body_timeout: std::time::Duration::from_secs(args.body_timeout.max(1)),
                    shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace),
                    render_concurrency: args.render_concurrency.max(1),
                    metrics_token: args.metrics_token.filter(|t| !t.is_empty()),
                    cookie_secure: args.cookie_secure,
                    public_rate_limit: args.public_rate_limit,
                    login_rate_limit: args.login_rate_limit,
                    public_url: args.public_url,
                    deadlines: valvo_core::incident::DeadlinePolicy {
                        misconduct_days: args.misconduct_deadline_days.max(0),
                        default_days: args.incident_deadline_days.max(0),
                        ..Default::default()
                    },
                },
            )
            .await
        }
        Command::Demo { serve: args } => {
            let password = demo::load(&store).await?;
            println!(
                "Demo county loaded. Log in as {} with password: {password}",
                demo::ADMIN_EMAIL
            );
            if args.load_only {
                store.close().await;
                return Ok(());
            }
            // The demo runs over plain HTTP on the local machine: Secure cookies would not be sent.
            serve(
                store,
                args.addr,
                WebConfig {
                    cookie_secure: false,
                    ..WebConfig::default()
                },
            )
            .await
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    role,
                    scope,
                    password,
                },
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                format!(
                    "unknown role {role:?}: use admin, quality_coordinator, area_manager or viewer"
                )
            })?;
            let scope = find_scope(&store, scope.as_deref()).await?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(demo::random_password);
            let user = store
                .create_user(
                    &Principal::system("cli"),
                    &email,
                    &name,
                    role,
                    scope,
                    Some(&password),
                )
                .await
                .map_err(describe)?;
            println!(
                "Created user {} ({}) with id {}",
                user.email,
                role.code(),
                user.id
            );
            if generated {
                println!("Password: {password}");
            }
            store.close().await;
            Ok(())
        }
        Command::User {
            command: UserCommand::List,
        } => {
            for u in store.users().await.map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.id,
                    u.email,
                    u.role.code(),
                    u.scope.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                    if u.active { "active" } else { "deactivated" }
                );
            }
            store.close().await;
            Ok(())
        }
        Command::User { command } => {
            let result = accounts::user(&store, command).await;
            store.close().await;
            result
        }
        Command::Bench(_) | Command::Text { .. } => Ok(()),
        Command::Feedback {
            command: FeedbackCommand::Import(args),
        } => {
            let result = import::run(&store, ImportKind::Feedback, &args.file, args.dry_run).await;
            store.close().await;
            result
        }
        Command::Import {
            command: ImportCommand::Sotkanet(args),
        } => {
            let result = import::sotkanet(&store, &args.file, args.dry_run).await;
            store.close().await;
            result
        }
        Command::Import { command } => {
            let (kind, args) = match command {
                ImportCommand::Sotkanet(_) => unreachable!("handled above"),
                ImportCommand::Feedback(a) => (ImportKind::Feedback, a),
                ImportCommand::Incidents(a) => (ImportKind::Incidents, a),
                ImportCommand::Figures(a) => (ImportKind::Figures, a),
                ImportCommand::Ombudsman(a) => (ImportKind::Ombudsman, a),
            };
            let result = import::run(&store, kind, &args.file, args.dry_run).await;
            store.close().await;
            result
        }
        Command::Report {
            org,
            period,
            lang,
            format,
            no_children,
            out,
        } => {
            let result =
                report::write(&store, &org, &period, &lang, &format, !no_children, &out).await;
            store.close().await;
            result
        }
        Command::Org {
            command:
                OrgCommand::Add {
                    code,
                    parent,
                    name_fi,
                    name_sv,
                    name_en,
                    producer,
                    service_type,
                },
        } => {
            let service_type = match service_type.as_deref() {
                None => None,
                Some(s) => Some(valvo_core::ServiceType::parse(s).ok_or_else(|| {
                    let all: Vec<&str> = valvo_core::ServiceType::ALL
                        .iter()
                        .map(|t| t.code())
                        .collect();
                    format!("unknown service type {s:?}: use one of {}", all.join(", "))
                })?),
            };
            let producer = valvo_core::ProducerType::parse(&producer).ok_or_else(|| {
                format!(
                    "unknown producer {producer:?}: use own, purchased, service_voucher or private"
                )
            })?;
            let parent_id = find_scope(&store, parent.as_deref()).await?;
            let unit = valvo_store::NewOrgUnit {
                parent_id,
                code: code.clone(),
                name: valvo_core::I18nText::new(name_fi, name_sv, name_en),
                producer,
                sort_order: match parent_id {
                    Some(p) => store
                        .org_tree()
                        .await
                        .map_err(|e| e.to_string())?
                        .children(p)
                        .len() as i32,
                    None => 0,
                },
                service_type,
            };
            let id = store
                .create_org_unit(&Principal::system("cli"), &unit)
                .await
                .map_err(describe)?;
            println!("Created org unit {code} with id {id}");
            store.close().await;
            Ok(())
        }
        Command::Org {
            command: OrgCommand::List,
        } => {
            let tree = store.org_tree().await.map_err(|e| e.to_string())?;
            for (depth, n) in tree.walk() {
                println!(
                    "{}{}\t{}\t{}\t{}{}",
                    "  ".repeat(depth),
                    n.id,
                    n.code,
                    n.producer.code(),
                    [
                        n.name.fi.as_deref(),
                        n.name.sv.as_deref(),
                        n.name.en.as_deref()
                    ]
                    .iter()
                    .flatten()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" / "),
                    n.service_type
                        .map(|t| format!("\t{}", t.code()))
                        .unwrap_or_default()
                );
            }
            store.close().await;
            Ok(())
        }
        Command::Token { command } => {
            let result = accounts::token(&store, command).await;
            store.close().await;
            result
        }
    }
}

/// A store error as a message that names the fields.
fn describe(e: valvo_store::StoreError) -> String {
    match e {
        valvo_store::StoreError::Invalid(fields) => format!(
            "invalid: {}",
            fields
                .iter()
                .map(|f| format!("{} ({})", f.field, f.code.code()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// The database URL if the user gave one on the command line (not the default).
fn explicit_db(cli: &Cli) -> Option<String> {
    std::env::args()
        .any(|a| a.starts_with("--database-url"))
        .then(|| cli.database_url.clone())
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
