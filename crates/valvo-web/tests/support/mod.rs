//! Test support: a real server on a free port over a fresh database.
//!
//! `VALVO_TEST_DATABASE=postgres` runs against PostgreSQL (a new database per
//! test on `VALVO_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432`);
//! anything else (default) uses a new SQLite file per test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod oidc;
pub mod smtp;

use std::path::PathBuf;

use rand::Rng;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use valvo_core::access::{Principal, Role};
use valvo_core::plan::{ActionInput, ActionStatus, Area, GoalInput, IndicatorInput};
use valvo_core::{Direction, I18nText, PeriodKind, ProducerType};
use valvo_store::{NewOrgUnit, Store};
use valvo_web::{AppState, WebConfig};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub store: Store,
    db_url: String,
    tmp: Option<PathBuf>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

fn random_id() -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

pub fn backend() -> &'static str {
    match std::env::var("VALVO_TEST_DATABASE").as_deref() {
        Ok("postgres") | Ok("postgresql") => "postgres",
        _ => "sqlite",
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|c| c).await
    }

    /// A server whose settings `configure` changes from the tests' defaults.
    pub async fn spawn_with(configure: impl FnOnce(WebConfig) -> WebConfig) -> TestApp {
        TestApp::spawn_with_addr(|c, _| configure(c)).await
    }

    /// As [`TestApp::spawn_with`], `configure` also told the server's address.
    pub async fn spawn_with_addr(
        configure: impl FnOnce(WebConfig, std::net::SocketAddr) -> WebConfig,
    ) -> TestApp {
        let (db_url, tmp) = if backend() == "postgres" {
            let base = std::env::var("VALVO_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string());
            let url = format!("{}/valvo_test_{}", base.trim_end_matches('/'), random_id());
            valvo_store::create_database(&url)
                .await
                .expect("create test database");
            (url, None)
        } else {
            let dir = std::env::temp_dir().join(format!("valvo-test-{}", random_id()));
            std::fs::create_dir_all(&dir).unwrap();
            (
                format!("sqlite://{}", dir.join("valvo.db").display()),
                Some(dir),
            )
        };
        let store = Store::connect(&db_url).await.expect("connect");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = AppState::new(
            store.clone(),
            configure(
                WebConfig {
                    cookie_secure: false,
                    ..WebConfig::default()
                },
                addr,
            ),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            valvo_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base: format!("http://{addr}"),
            store,
            db_url,
            tmp,
            shutdown: Some(tx),
        }
    }

    /// Runs a statement on the test's database directly (to let time pass:
    /// a due time moved into the past). Returns the rows it changed.
    pub async fn sql(&self, statement: &str) -> u64 {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.db_url).await.unwrap();
        let n = sqlx::query(statement)
            .execute(&pool)
            .await
            .unwrap()
            .rows_affected();
        pool.close().await;
        n
    }

    /// A number one query gives (a count, as BIGINT on both databases).
    pub async fn scalar(&self, query: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.db_url).await.unwrap();
        let n = sqlx::query_scalar::<_, i64>(query)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            // Below the server's header timeout (10 s), which closes idle
            // connections: one reused at that moment would fail.
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap()
    }

    pub async fn add_user(&self, email: &str, role: Role, scope: Option<i64>) -> i64 {
        self.store
            .create_user(
                &Principal::system("test"),
                email,
                email,
                role,
                scope,
                Some(PASSWORD),
            )
            .await
            .unwrap()
            .id
    }

    pub async fn token(&self, email: &str) -> String {
        let user = self.store.user_by_email(email).await.unwrap().unwrap();
        self.store
            .create_token(&Principal::system("test"), user.id, "test")
            .await
            .unwrap()
    }

    /// Logs in through the login form; returns the client holding the session.
    pub async fn login(&self, email: &str) -> Client {
        let c = self.client();
        let page = c
            .get(self.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = hidden(&page, "token");
        let resp = c
            .post(self.url("/login"))
            .form(&[
                ("token", token.as_str()),
                ("next", "/"),
                ("email", email),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login of {email}");
        c
    }

    /// The logged-in session's form token (from the logout form on the front page).
    pub async fn csrf(&self, c: &Client) -> String {
        let page = c
            .get(self.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        hidden(&page, "csrf")
    }

    pub async fn post_form(&self, c: &Client, path: &str, fields: &[(&str, &str)]) -> Response {
        let csrf = self.csrf(c).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        c.post(self.url(path)).form(&all).send().await.unwrap()
    }

    /// A form's answer that is a redirect (post/redirect/get): checks it is
    /// 303 and follows it with the same client, as a browser does.
    pub async fn follow(&self, c: &Client, r: Response) -> Response {
        assert_eq!(
            r.status(),
            reqwest::StatusCode::SEE_OTHER,
            "a redirect after the post"
        );
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        c.get(self.url(&to)).send().await.unwrap()
    }

    pub async fn audit_count(&self) -> usize {
        self.store.audit_log(1000, None, None).await.unwrap().len()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.store.close().await;
        if backend() == "postgres" {
            let _ = valvo_store::drop_database(&self.db_url).await;
        }
        if let Some(dir) = self.tmp.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The value of a hidden input `name` in an HTML page.
pub fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no hidden {name} in page"))
        + needle.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

pub fn t(fi: &str, sv: &str) -> I18nText {
    I18nText::new(Some(fi.into()), Some(sv.into()), None)
}

/// County 1 → areas A, B → unit A1 under A. Each of A1 and B has a 2024 plan
/// with one goal, one indicator (baseline 40, target 100) and one action.
pub struct Fixture {
    pub county: i64,
    pub area_a: i64,
    pub unit_a1: i64,
    pub area_b: i64,
    pub goal_a1: i64,
    pub goal_b: i64,
    pub ind_a1: i64,
    pub ind_b: i64,
    pub action_a1: i64,
}

pub async fn fixture(app: &TestApp) -> Fixture {
    let sys = Principal::system("test");
    let s = &app.store;
    let unit = |parent: Option<i64>, code: &str, fi: &str, sv: &str| NewOrgUnit {
        parent_id: parent,
        code: code.into(),
        name: t(fi, sv),
        producer: ProducerType::Own,
        sort_order: 0,
        service_type: None,
    };
    let county = s
        .create_org_unit(
            &sys,
            &unit(
                None,
                "county",
                "Testin hyvinvointialue",
                "Testens välfärdsområde",
            ),
        )
        .await
        .unwrap();
    let area_a = s
        .create_org_unit(&sys, &unit(Some(county), "a", "Alue A", "Område A"))
        .await
        .unwrap();
    let unit_a1 = s
        .create_org_unit(&sys, &unit(Some(area_a), "a1", "Yksikkö A1", "Enhet A1"))
        .await
        .unwrap();
    let area_b = s
        .create_org_unit(&sys, &unit(Some(county), "b", "Alue B", "Område B"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for org in [unit_a1, area_b] {
        let goal = s
            .create_goal(
                &sys,
                org,
                &GoalInput {
                    area: Area::Access,
                    year: 2024,
                    title: t("Digitaalisuus kasvaa", "Digitaliseringen ökar"),
                },
            )
            .await
            .unwrap();
        let ind = s
            .create_indicator(
                &sys,
                goal.id,
                &IndicatorInput {
                    name: t(
                        "Puheentunnistuksen aktiivisten käyttäjien määrä",
                        "Antalet aktiva användare av taligenkänning",
                    ),
                    unit: t("hlö", "pers."),
                    direction: Direction::Higher,
                    baseline: Some(40.0),
                    target: Some(100.0),
                    target_max: None,
                    period_kind: PeriodKind::Tertial,
                    note: I18nText::default(),
                    code: None,
                    value_kind: Default::default(),
                    until_year: None,
                    min_value: None,
                    max_value: None,
                    reference: None,
                },
            )
            .await
            .unwrap();
        let action = s
            .create_action(
                &sys,
                goal.id,
                &ActionInput {
                    text: t("Markkinoidaan", "Marknadsförs"),
                    status: ActionStatus::Planned,
                },
            )
            .await
            .unwrap();
        ids.push((goal.id, ind.id, action.id));
    }
    Fixture {
        county,
        area_a,
        unit_a1,
        area_b,
        goal_a1: ids[0].0,
        goal_b: ids[1].0,
        ind_a1: ids[0].1,
        ind_b: ids[1].1,
        action_a1: ids[0].2,
    }
}

/// A client of the JSON API with one user's bearer token.
pub struct Api<'a> {
    pub app: &'a TestApp,
    pub c: reqwest::Client,
    pub token: String,
}

impl<'a> Api<'a> {
    /// The API as the user `email` (made with `add_user`).
    pub async fn of(app: &'a TestApp, email: &str) -> Api<'a> {
        Api {
            app,
            c: reqwest::Client::new(),
            token: app.token(email).await,
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut r = self
            .c
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let body = r
            .json::<serde_json::Value>()
            .await
            .unwrap_or(serde_json::Value::Null);
        (status, body)
    }
    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn put(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
    pub async fn patch(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn delete(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
    pub async fn import(
        &self,
        query: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let r = self
            .c
            .post(self.app.url(&format!("/api/v1/follow-ups/import{query}")))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }
}

/// The fields an API error names (`error.fields[].field`).
pub fn error_fields(body: &serde_json::Value) -> Vec<&str> {
    body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect()
}

/// The lines and columns an import error names (`error.lines[]`).
pub fn error_lines(body: &serde_json::Value) -> Vec<(u64, String)> {
    body["error"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
