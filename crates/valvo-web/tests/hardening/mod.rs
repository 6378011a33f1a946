//! What an outside look found, each as a user meets it: scope of handler
//! naming and of the audit log, complementary suppression in public, CSV
//! cells a spreadsheet would run, the login's `next`, the language cookie,
//! report inputs saved together, login attempts at once, forwarded client
//! addresses, the API's error shape, health, readiness and metrics, and
//! incident figures as they stood at the end of a period.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use valvo_core::access::{Principal, Role};
use valvo_core::incident::{
    Consequence, DeadlinePolicy, EventType, IncidentKind, IncidentState, NewIncident, OpenSpan,
    ReporterRole,
};
use valvo_core::{I18nText, Period};

use crate::support::{fixture, hidden, TestApp, PASSWORD};

fn this_year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

/// The tertial running now (public statistics are by tertial).
fn this_tertial() -> String {
    Period::containing(today(), valvo_core::PeriodKind::Tertial).to_string()
}

#[tokio::test]
async fn a_scoped_coordinator_names_handlers_only_within_its_area() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let coord = app
        .add_user("coord-a@x.fi", Role::QualityCoordinator, Some(f.area_a))
        .await;
    let in_a1 = app
        .add_user("nurse-a1@x.fi", Role::AreaManager, Some(f.unit_a1))
        .await;
    let in_b = app
        .add_user("nurse-b@x.fi", Role::AreaManager, Some(f.area_b))
        .await;
    app.add_user("county-viewer@x.fi", Role::Viewer, None).await;
    let token = app.token("coord-a@x.fi").await;
    let c = app.client();
    let put = |org: i64, users: Value| {
        c.put(app.url(&format!("/api/v1/org-units/{org}/incident-handlers")))
            .bearer_auth(&token)
            .json(&json!({ "users": users }))
            .send()
    };
    // Naming oneself the handler of another area's unit: refused.
    let r = put(f.area_b, json!([coord])).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Naming someone of another area, or a county-wide user, for one's own unit: refused.
    // (The same answer as for a user who does not exist: nobody learns who is
    // outside their scope.)
    for outside in [
        json!([in_b]),
        json!(["county-viewer@x.fi"]),
        json!([999_999]),
    ] {
        let r = put(f.unit_a1, outside).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["error"]["fields"][0],
            json!({ "field": "users", "code": "not_found" })
        );
    }
    let r = put(f.unit_a1, json!([in_a1, coord])).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.store.incident_handlers(f.unit_a1).await.unwrap().len(),
        2
    );
    assert!(app
        .store
        .incident_handlers(f.area_b)
        .await
        .unwrap()
        .is_empty());
    // The pages: only the units and users within the area.
    let web = app.login("coord-a@x.fi").await;
    let page = web
        .get(app.url(&format!("/incidents/handlers/{}", f.unit_a1)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        !page.contains("nurse-b@x.fi"),
        "a user of another area listed"
    );
    assert!(
        !page.contains("county-viewer@x.fi"),
        "a county-wide user listed"
    );
    let r = web
        .get(app.url(&format!("/incidents/handlers/{}", f.area_b)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let settings = web
        .get(app.url("/incidents/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(settings.contains(&format!("/incidents/handlers/{}\"", f.unit_a1)));
    assert!(!settings.contains(&format!("/incidents/handlers/{}\"", f.area_b)));
    // And a report of area B stays out of reach.
    let sys = Principal::system("test");
    let (id, _) = app
        .store
        .create_incident(
            Some(&sys),
            &incident(f.area_b, IncidentKind::ClientSafety),
            today(),
        )
        .await
        .unwrap();
    let r = c
        .get(app.url(&format!("/api/v1/incidents/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&r.status()),
        "{}",
        r.status()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_scoped_administrator_reads_only_its_subtree_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin-a@x.fi", Role::Admin, Some(f.area_a))
        .await;
    let token = app.token("admin-a@x.fi").await;
    let sys = Principal::system("test");
    let (b_report, _) = app
        .store
        .create_incident(
            Some(&sys),
            &incident(f.area_b, IncidentKind::Misconduct),
            today(),
        )
        .await
        .unwrap();
    app.store
        .handle_incident(
            &sys,
            b_report,
            &valvo_store::Handling {
                state: IncidentState::InHandling,
                analysis: "Area B's confidential analysis".into(),
                outcome: String::new(),
                forward_to: None,
            },
            today(),
        )
        .await
        .unwrap();
    let entries: Value = app
        .client()
        .get(app.url("/api/v1/audit?limit=1000"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = entries["entries"].as_array().unwrap();
    assert!(!entries.is_empty(), "the area's own entries are there");
    let tree = app.store.org_tree().await.unwrap();
    for e in entries {
        let org = e["org_unit_id"].as_i64().expect("an entry about a unit");
        assert!(
            tree.is_in_subtree(org, f.area_a),
            "entry of unit {org}: {e}"
        );
    }
    assert!(!entries
        .iter()
        .any(|e| e.to_string().contains("confidential")));
    let page = app
        .login("admin-a@x.fi")
        .await
        .get(app.url("/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("confidential"));
    // An unscoped administrator still reads everything.
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let all: Value = app
        .client()
        .get(app.url("/api/v1/audit?limit=1000"))
        .bearer_auth(app.token("admin@x.fi").await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(all.to_string().contains("confidential"));
    app.stop().await;
}

/// In one breakdown of a public answer: `None` for a withheld count.
fn counts(list: &Value, side: &str) -> Vec<Option<u64>> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|b| b[side]["answers"].as_u64())
        .collect()
}

#[tokio::test]
async fn public_feedback_statistics_give_no_withheld_cell_away() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let token = app.token("admin@x.fi").await;
    let c = app.client();
    // Unit A1: 14 answers in Finnish, 2 in Swedish, 6 without a language;
    // area B: 9 in Finnish. The county: 31.
    let mut answers = Vec::new();
    answers.extend(std::iter::repeat_n((f.unit_a1, Some("fi")), 14));
    answers.extend(std::iter::repeat_n((f.unit_a1, Some("sv")), 2));
    answers.extend(std::iter::repeat_n((f.unit_a1, None), 6));
    answers.extend(std::iter::repeat_n((f.area_b, Some("fi")), 9));
    for (i, (org, lang)) in answers.into_iter().enumerate() {
        let mut body = json!({ "org_unit": org, "nps": i % 11 });
        if let Some(l) = lang {
            body["service_lang"] = json!(l);
        }
        let r = c
            .post(app.url("/api/v1/feedback/answers"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // Every page of the tertial: the unit, its area (which has no answers
    // of its own) and the county; what one withholds, the others do not give.
    let mut pages = Vec::new();
    for org in [f.unit_a1, f.area_a, f.county] {
        let s: Value = c
            .get(app.url(&format!(
                "/api/v1/feedback/stats?org_unit={org}&period={}",
                this_tertial()
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(s["public"], true);
        pages.push(s.clone());
        let total = s["stats"]["current"]["answers"].as_u64();
        for dim in ["by_lang", "by_channel", "by_respondent"] {
            let cells = counts(&s["stats"][dim], "current");
            let withheld = cells.iter().filter(|c| c.is_none()).count();
            let shown: u64 = cells.iter().flatten().sum();
            if let Some(total) = total {
                assert!(
                    withheld != 1,
                    "{org} {dim}: one withheld cell is {total} minus the rest: {cells:?}"
                );
                if withheld >= 2 {
                    assert!(
                        total - shown >= 5,
                        "{org} {dim}: the withheld cells are known to be small: {cells:?}"
                    );
                }
            }
            for c in cells.iter().flatten() {
                assert!(*c == 0 || *c >= 5, "{org} {dim}: small cell {c} shown");
            }
        }
        // Two Swedish answers are never shown, nor computable, on any page.
        {
            let langs = s["stats"]["by_lang"].as_array().unwrap();
            let sv = langs.iter().find(|b| b["key"] == "sv").unwrap();
            assert!(sv["current"]["answers"].is_null(), "{sv}");
            assert!(sv["current"]["nps"].is_null(), "{sv}");
        }
        // The trend's year beside the period: no more than the period gives.
        for y in s["stats"]["trend"].as_array().unwrap() {
            if let Some(n) = y["answers"].as_u64() {
                assert!(n == 0 || n >= 5);
            }
        }
    }
    // Across pages: the area is A1 and nothing else, and the county is the
    // area and B: a Swedish count withheld on one page is withheld on all.
    let sv = |page: &Value| {
        page["stats"]["by_lang"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["key"] == "sv")
            .map(|b| b["current"]["answers"].clone())
    };
    let first = sv(&pages[0]);
    assert!(
        pages.iter().all(|p| sv(p) == first),
        "the same withheld on every page"
    );
    // Public answers take no background filter.
    let r = c
        .get(app.url(&format!(
            "/api/v1/feedback/stats?org_unit={}&period={}&service_lang=sv",
            f.county,
            this_tertial()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Other periods are not public: they would overlap the tertials.
    let r = c
        .get(app.url(&format!(
            "/api/v1/feedback/stats?org_unit={}&period={}",
            f.county,
            this_year()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The public page shows the same: no 2, and no 6 beside a 14 and a 22.
    let html = c
        .get(app.url(&format!(
            "/public/org/a1/feedback?period={}&lang=fi",
            this_tertial()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<td class=\"num\">2</td>"));
    assert!(
        !html.contains("id=\"f-service_lang\""),
        "no filter in public"
    );
    app.stop().await;
}

#[tokio::test]
async fn report_csv_cells_never_run_as_formulas() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let sys = Principal::system("test");
    app.store
        .update_org_unit(
            &sys,
            f.unit_a1,
            &I18nText::new(
                Some("=HYPERLINK(\"http://evil.example\";\"A1\")".into()),
                Some("@SUM(1+1)".into()),
                None,
            ),
            valvo_core::ProducerType::Own,
            None,
        )
        .await
        .unwrap();
    app.add_user("coord@x.fi", Role::QualityCoordinator, None)
        .await;
    let c = app.login("coord@x.fi").await;
    let r = app
        .post_form(
            &c,
            &format!("/org/{}/reports", f.area_a),
            &[("report_period", "2024T1"), ("with_children", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let report = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    for (file, bad) in [("report-fi.csv", "=HYPERLINK"), ("report-sv.csv", "@SUM")] {
        let csv = c
            .get(app.url(&format!("{report}/file/{file}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(csv.contains(&format!("'{bad}")), "{file}: {csv}");
        for cell in csv.split([',', '\n']) {
            let cell = cell.trim_start_matches('"');
            assert!(!cell.starts_with(bad), "{file}: a cell begins with {bad}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn after_login_only_a_local_path_is_followed() {
    let app = TestApp::spawn().await;
    app.add_user("u@x.fi", Role::Viewer, None).await;
    for next in [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
    ] {
        let c = app.client();
        let page = c
            .get(app.url("/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(hidden(&page, "next"), "/", "{next:?}");
        let token = hidden(&page, "token");
        let r = c
            .post(app.url("/login"))
            .form(&[
                ("token", token.as_str()),
                ("next", next),
                ("email", "u@x.fi"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/", "{next:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_language_cookie_is_secure_when_cookies_are() {
    let app = TestApp::spawn_with(|c| valvo_web::WebConfig {
        cookie_secure: true,
        ..c
    })
    .await;
    let r = app.client().get(app.url("/?lang=sv")).send().await.unwrap();
    let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("valvo_lang=sv"), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
    app.stop().await;
}

#[tokio::test]
async fn report_inputs_are_saved_together_or_not_at_all() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let sys = Principal::system("test");
    let period: Period = "2024T1".parse().unwrap();
    let text = I18nText::new(
        Some("Yhteenveto".into()),
        Some("Sammanfattning".into()),
        None,
    );
    // The last of three values is refused: the first two are not written either.
    let r = app
        .store
        .put_report_inputs(
            &sys,
            None,
            f.county,
            period,
            &[(valvo_store::SUMMARY.into(), "text".into(), text.clone())],
            &[
                ("safety".into(), "incident_reports".into(), Some(12.0)),
                ("safety".into(), "incident_reports".into(), Some(f64::NAN)),
            ],
        )
        .await;
    assert!(r.is_err());
    let (summary, texts, figures) = app.store.report_inputs(f.county, &period).await.unwrap();
    assert!(summary.is_empty() && texts.is_empty() && figures.is_empty());
    let audits = app.audit_count().await;
    app.store
        .put_report_inputs(
            &sys,
            None,
            f.county,
            period,
            &[(valvo_store::SUMMARY.into(), "text".into(), text)],
            &[("safety".into(), "incident_reports".into(), Some(12.0))],
        )
        .await
        .unwrap();
    let (summary, _, figures) = app.store.report_inputs(f.county, &period).await.unwrap();
    assert!(!summary.is_empty());
    assert_eq!(figures.len(), 1);
    assert_eq!(app.audit_count().await, audits + 2);
    app.stop().await;
}

async fn login_status(app: &TestApp, forwarded_for: Option<&str>, password: &str) -> StatusCode {
    let c = app.client();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&page, "token");
    let mut req = c.post(app.url("/login")).form(&[
        ("token", token.as_str()),
        ("next", "/"),
        ("email", "u@x.fi"),
        ("password", password),
    ]);
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn login_attempts_at_once_never_exceed_the_limit() {
    let app = TestApp::spawn_with(|c| valvo_web::WebConfig {
        login_rate_limit: 5,
        ..c
    })
    .await;
    app.add_user("u@x.fi", Role::Viewer, None).await;
    let mut tasks = Vec::new();
    let app = std::sync::Arc::new(app);
    for _ in 0..20 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            login_status(&app, None, "wrong").await
        }));
    }
    let mut checked = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((checked, refused), (5, 15));
    // A right password succeeds only while attempts are left.
    assert_eq!(
        login_status(&app, None, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    std::sync::Arc::try_unwrap(app).ok().unwrap().stop().await;
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    // Behind a trusted proxy (this machine), each client has its own limit.
    let app = TestApp::spawn_with(|c| valvo_web::WebConfig {
        login_rate_limit: 2,
        trusted_proxies: valvo_web::ops::Cidr::parse_list("127.0.0.1/32, ::1").unwrap(),
        ..c
    })
    .await;
    app.add_user("u@x.fi", Role::Viewer, None).await;
    for _ in 0..2 {
        assert_eq!(
            login_status(&app, Some("203.0.113.1"), "wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_status(&app, Some("203.0.113.1"), "wrong").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_status(&app, Some("203.0.113.2"), PASSWORD).await,
        StatusCode::SEE_OTHER,
        "another client is not locked out"
    );
    // A client cannot pick a fresh address by sending the header itself.
    assert_eq!(
        login_status(&app, Some("198.51.100.7, 203.0.113.1"), "wrong").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.stop().await;
    // Without trusted proxies the header is ignored: everyone here is 127.0.0.1.
    let app = TestApp::spawn_with(|c| valvo_web::WebConfig {
        login_rate_limit: 2,
        ..c
    })
    .await;
    app.add_user("u@x.fi", Role::Viewer, None).await;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(
            login_status(&app, Some(ip), "wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_status(&app, Some("203.0.113.3"), "wrong").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.stop().await;
}

#[tokio::test]
async fn api_errors_are_json_of_the_documented_shape() {
    let app = TestApp::spawn().await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let token = app.token("admin@x.fi").await;
    let c = app.client();
    let check = |r: reqwest::Response, status: StatusCode, code: &'static str| async move {
        assert_eq!(r.status(), status);
        assert!(r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let allow = r.headers().get(header::ALLOW).cloned();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].is_string());
        assert!(body["error"]["fields"].is_array());
        allow
    };
    let allow = check(
        c.delete(app.url("/api/v1/incidents"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    assert!(allow.is_some_and(|a| a.to_str().unwrap().contains("POST")));
    check(
        c.post(app.url("/api/v1/incidents"))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "text/plain")
            .body("{\"org_unit\": 1}")
            .send()
            .await
            .unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    check(
        c.post(app.url("/api/v1/incidents"))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(vec![b' '; 3 * 1024 * 1024])
            .send()
            .await
            .unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    // Unauthenticated is told so first, whatever the body.
    check(
        c.post(app.url("/api/v1/incidents"))
            .header(header::CONTENT_TYPE, "text/plain")
            .body("x")
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // An id that is no number names no resource.
    check(
        c.get(app.url("/api/v1/indicators/abc"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The documented schema is enforced: a string where a number belongs,
    // a missing required field, each named.
    let r = c
        .post(app.url("/api/v1/feedback/answers"))
        .bearer_auth(&token)
        .json(&json!({ "org_unit": 1, "nps": "5" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "nps", "{body}");
    let r = c
        .post(app.url("/api/v1/incidents/1/actions"))
        .bearer_auth(&token)
        .json(&json!({ "text": "Koulutus", "owner": 7 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    let fields: Vec<&str> = crate::support::error_fields(&body);
    assert!(
        fields.contains(&"owner") && fields.contains(&"due_on"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ready");
    assert!(r_has_request_id(&c, &app).await);
    c.get(app.url("/api/v1/indicators/1")).send().await.unwrap();
    // A write, counted by kind.
    app.add_user("metrics@x.fi", Role::Viewer, None).await;
    let text = c
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "valvo_http_requests_total{",
        "route=\"/api/v1/indicators/{id}\"",
        "status=\"401\"",
        "valvo_http_request_duration_seconds_bucket{",
        "valvo_db_pool_connections ",
        "valvo_db_pool_in_use ",
        "valvo_feedback_pending_answers ",
        "valvo_feedback_aggregator_lag_seconds ",
        "valvo_feedback_ingest_queue ",
        "valvo_writes_total{",
        "entity=\"user\"",
    ] {
        assert!(text.contains(needle), "{needle} not in /metrics:\n{text}");
    }
    assert!(
        !text.contains("route=\"/api/v1/indicators/1\""),
        "one series per route, not per path"
    );
    app.stop().await;
    // With a token, only with it.
    let app = TestApp::spawn_with(|c| valvo_web::WebConfig {
        metrics_token: Some("scrape-secret".into()),
        ..c
    })
    .await;
    let c = app.client();
    assert_eq!(
        c.get(app.url("/metrics")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.get(app.url("/metrics"))
            .bearer_auth("scrape-secret")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.stop().await;
}

async fn r_has_request_id(c: &reqwest::Client, app: &TestApp) -> bool {
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    let given = c
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    r.headers().contains_key("x-request-id") && given.headers()["x-request-id"] == "abc-123"
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn day(s: &str) -> time::Date {
    time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE).unwrap()
}

fn incident(org: i64, kind: IncidentKind) -> NewIncident {
    NewIncident {
        org_unit_id: org,
        occurred_on: day("2024-01-01"),
        occurred_time: None,
        place: String::new(),
        kind,
        event_type: EventType::defaults()[0].clone(),
        description: "Tapahtuma.".into(),
        consequence: Consequence::Mild,
        never_event: false,
        contributing_factors: String::new(),
        immediate_actions: String::new(),
        reporter_role: ReporterRole::Staff,
        reporter_name: None,
        reporter_contact: None,
    }
}

#[tokio::test]
async fn unhandled_and_overdue_stand_as_at_the_end_of_each_period() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let sys = Principal::system("test");
    let sys = &sys;
    let s = &app.store;
    let handle = |id: i64, state: IncidentState, on: &str| {
        let h = valvo_store::Handling {
            state,
            analysis: String::new(),
            outcome: String::new(),
            forward_to: None,
        };
        let on = day(on);
        async move { s.handle_incident(sys, id, &h, on).await.unwrap() }
    };
    let make = |kind: IncidentKind, received: &str| {
        let received = day(received);
        async move {
            s.create_incident(None, &incident(f.unit_a1, kind), received)
                .await
                .unwrap()
                .0
        }
    };
    // Received 1.4, handled 15.7: waiting over two months on 30.6 only.
    let r1 = make(IncidentKind::ClientSafety, "2024-04-01").await;
    handle(r1, IncidentState::Handled, "2024-07-15").await;
    // Received 15.3, still open: not yet two months on 31.3 or 30.4, then yes.
    let r2 = make(IncidentKind::ClientSafety, "2024-03-15").await;
    // Misconduct received 20.6, open: overdue (7 days) on 30.6, not two months.
    let r3 = make(IncidentKind::Misconduct, "2024-06-20").await;
    // Received 10.1, handled 1.2, reopened 1.5 and still open.
    let r4 = make(IncidentKind::WorkSafety, "2024-01-10").await;
    handle(r4, IncidentState::Handled, "2024-02-01").await;
    handle(r4, IncidentState::InHandling, "2024-05-01").await;
    let _ = (r2, r3);
    let spans = [
        (
            IncidentKind::ClientSafety,
            "2024-04-01",
            "2024-04-01",
            Some("2024-07-15"),
        ),
        (IncidentKind::ClientSafety, "2024-03-15", "2024-03-15", None),
        (IncidentKind::Misconduct, "2024-06-20", "2024-06-20", None),
        (
            IncidentKind::WorkSafety,
            "2024-01-10",
            "2024-01-10",
            Some("2024-02-01"),
        ),
        (IncidentKind::WorkSafety, "2024-01-10", "2024-05-01", None),
    ]
    .map(|(kind, r, o, c)| OpenSpan {
        kind,
        reported_on: day(r),
        opened_on: day(o),
        closed_on: c.map(day),
    });
    let policy = DeadlinePolicy::default();
    let c = app.client();
    // (period, unhandled over two months, overdue) at its end, by hand:
    // 31.3: the report of 15.3 has waited 16 days; 30.4: 46 (overdue);
    // 30.6: 1.4 waited 90, 15.3 107, 10.1 (reopened 1.5) 172, the
    // misconduct report of 20.6 10 days (overdue after 7); 31.12: 1.4 was
    // handled on 15.7, the other three wait.
    let expected = [
        ("2017", 0, 0),
        ("2024Q1", 0, 0),
        ("2024T1", 0, 1),
        ("2024Q2", 3, 4),
        ("2024H1", 3, 4),
        ("2024H2", 3, 3),
        ("2024", 3, 3),
    ];
    for (period, stale_n, overdue_n) in expected {
        let p: Period = period.parse().unwrap();
        let as_of = valvo_core::incident::as_of(p, today());
        let (stale, overdue) = match as_of {
            Some(d) => valvo_core::incident::waiting_at(&spans, d, &policy),
            None => ([0; 4], [0; 4]),
        };
        let body: Value = c
            .get(app.url(&format!(
                "/api/v1/incidents/stats?org_unit={}&period={period}",
                f.county
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let st = &body["stats"];
        assert_eq!(
            st["unhandled_over_two_months"].as_u64().unwrap(),
            stale.iter().sum::<u64>(),
            "{period}: {st}"
        );
        assert_eq!(
            st["overdue"].as_u64().unwrap(),
            overdue.iter().sum::<u64>(),
            "{period}"
        );
        assert_eq!(
            (stale.iter().sum::<u64>(), overdue.iter().sum::<u64>()),
            (stale_n, overdue_n),
            "{period}: the reference count"
        );
        let by_kind: Vec<u64> = st["unhandled_over_two_months_by_kind"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].as_u64().unwrap())
            .collect();
        assert_eq!(by_kind, stale.to_vec(), "{period}");
    }
    // The worked cases, by hand: received 1.4 and handled 15.7 counts on
    // 30.6 and not on 31.12; received 15.3 counts on 30.6 and not on 31.3.
    let at = |d: &str| valvo_core::incident::waiting_at(&spans[..2], day(d), &policy).0[0];
    assert_eq!(
        (at("2024-03-31"), at("2024-06-30"), at("2024-12-31")),
        (0, 2, 1)
    );
    let year: Value = c
        .get(app.url(&format!(
            "/api/v1/incidents/stats?org_unit={}&period=2024H1",
            f.county
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(year["stats"]["as_of"], "2024-06-30");
    assert_eq!(year["previous"]["as_of"], "2023-12-31");
    assert_eq!(year["stats"]["unhandled_over_two_months"], 3);
    // Seed 003 prints HaiPro and SPro apart: misconduct is SPro's.
    let kinds = year["stats"]["overdue_by_kind"].as_array().unwrap();
    let misconduct = kinds.iter().find(|k| k[0] == "misconduct").unwrap();
    assert_eq!(misconduct[1], 1);
    app.stop().await;
}

#[tokio::test]
async fn a_forwarded_report_leaves_the_past_figures_of_the_unit_that_held_it() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let sys = Principal::system("test");
    let s = &app.store;
    // Received by unit A1 on 2.1.2024, still open there on 30.6.2024,
    // forwarded to area B on 10.9.2024, handled there on 1.10.2024.
    let (id, _) = s
        .create_incident(
            None,
            &incident(f.unit_a1, IncidentKind::ClientSafety),
            day("2024-01-02"),
        )
        .await
        .unwrap();
    let stats = |org: i64, period: &'static str| {
        let c = app.client();
        let url = app.url(&format!(
            "/api/v1/incidents/stats?org_unit={org}&period={period}"
        ));
        async move {
            let body: Value = c.get(url).send().await.unwrap().json().await.unwrap();
            body["stats"]["unhandled_over_two_months"].as_u64().unwrap()
        }
    };
    let before = (
        stats(f.unit_a1, "2024H1").await,
        stats(f.area_b, "2024H1").await,
    );
    assert_eq!(before, (1, 0));
    let forward = valvo_store::Handling {
        state: IncidentState::Forwarded,
        analysis: String::new(),
        outcome: String::new(),
        forward_to: Some(f.area_b),
    };
    s.handle_incident(&sys, id, &forward, day("2024-09-10"))
        .await
        .unwrap();
    // 30.6.2024 stands as it stood: open in A1, not in B.
    assert_eq!(
        (
            stats(f.unit_a1, "2024H1").await,
            stats(f.area_b, "2024H1").await
        ),
        before
    );
    // On 31.8 it still waited in A1; on 30.9 in B; the county saw it all along.
    assert_eq!(
        (
            stats(f.unit_a1, "2024-08").await,
            stats(f.area_b, "2024-08").await
        ),
        (1, 0)
    );
    assert_eq!(
        (
            stats(f.unit_a1, "2024-09").await,
            stats(f.area_b, "2024-09").await
        ),
        (0, 1)
    );
    for p in ["2024H1", "2024-08", "2024-09"] {
        assert_eq!(stats(f.county, p).await, 1, "{p}");
    }
    let handled = valvo_store::Handling {
        state: IncidentState::Handled,
        analysis: String::new(),
        outcome: "Käsitelty.".into(),
        forward_to: None,
    };
    s.handle_incident(&sys, id, &handled, day("2024-10-01"))
        .await
        .unwrap();
    assert_eq!(
        (
            stats(f.unit_a1, "2024-09").await,
            stats(f.area_b, "2024-09").await
        ),
        (0, 1)
    );
    assert_eq!(stats(f.county, "2024-10").await, 0);
    // A period not yet begun has no figure to stand at: nothing, not today's.
    let next_year = today().year() + 1;
    let body: Value = app
        .client()
        .get(app.url(&format!(
            "/api/v1/incidents/stats?org_unit={}&period={next_year}",
            f.county
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["stats"]["unhandled_over_two_months"], 0, "{body}");
    assert_eq!(body["stats"]["as_of"], Value::Null, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn nul_characters_never_reach_the_database() {
    // PostgreSQL cannot store U+0000: a name or a form field with one must
    // not become a server error there (and must not differ between backends).
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let token = app.token("admin@x.fi").await;
    let c = app.client();
    let r = c
        .post(app.url("/api/v1/incidents/event-types"))
        .bearer_auth(&token)
        .json(&json!({ "code": "nul_test", "name": { "fi": "Nol\u{0}la", "sv": "\u{0}Noll" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["name"]["fi"], "Nolla");
    let web = app.login("admin@x.fi").await;
    let r = app
        .post_form(
            &web,
            &format!("/org/{}/goals/new", f.unit_a1),
            &[
                ("area", "access"),
                ("year", "2024"),
                ("title_fi", "Ta\u{0}voite"),
                ("title_sv", "Mål"),
            ],
        )
        .await;
    assert!(
        r.status().is_redirection() || r.status() == StatusCode::OK,
        "{}",
        r.status()
    );
    let plan = app.store.plan(f.unit_a1, 2024).await.unwrap();
    assert!(plan
        .iter()
        .any(|g| g.goal.title.fi.as_deref() == Some("Tavoite")));
    let r = c
        .get(app.url("/api/v1/audit?entity=%00"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "bad_request"
    );
    app.stop().await;
}
