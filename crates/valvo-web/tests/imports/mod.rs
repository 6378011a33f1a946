//! Imports as a user meets them: the API (feedback answers, incident
//! history) and the upload pages, on SQLite and PostgreSQL alike. A file
//! lands whole or not at all, every bad line is named, a check writes
//! nothing, and past periods' incident figures come out of the history.

use reqwest::{header, StatusCode};
use serde_json::Value;
use valvo_core::access::Role;

use crate::support::{fixture, hidden, TestApp};

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

async fn answers(app: &TestApp, token: &str, org: i64) -> i64 {
    let year = today().year();
    let r = app
        .client()
        .get(app.url(&format!(
            "/api/v1/feedback/stats?org_unit={org}&period={year}&channel=import"
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["stats"]["current"]["answers"].as_i64().unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: String) -> (StatusCode, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

/// `n` answer lines dated this year, spread over units A1 and B (a text on
/// every seventh).
fn answer_file(n: usize) -> String {
    let d = today() - time::Duration::days(i64::from(today().ordinal()) - 1);
    let mut s = String::from("\u{feff}unit;service_date;nps;safe;text;service_lang\n");
    for i in 0..n {
        let unit = if i % 3 == 0 { "b" } else { "a1" };
        let text = if i % 7 == 0 { "Hyvä palvelu" } else { "" };
        s.push_str(&format!("{unit};{d};{};{};{text};fi\n", i % 11, 1 + i % 5));
    }
    s
}

#[tokio::test]
async fn answers_land_whole_or_not_at_all_and_every_bad_line_is_named() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let token = app.token("admin@x.fi").await;
    // More rows than one chunk: written in several transactions.
    let n = valvo_store::IMPORT_CHUNK * 2 + 345;
    // A bad last line: nothing of the file counts, and its rows are gone.
    let mut bad = answer_file(n);
    bad.push_str("a1;2024-02-30;5;;;fi\n");
    let (status, body) = post(&app, &token, "/api/v1/feedback/import", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let lines = body["error"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["line"], n as u64 + 2);
    assert_eq!(lines[0]["field"], "service_date");
    assert_eq!(lines[0]["expected"], "YYYY-MM-DD");
    let id = body["error"]["import"]["id"].as_i64().unwrap();
    assert_eq!(answers(&app, &token, f.county).await, 0);
    // The chunks written before the bad line are gone, comments with them.
    assert_eq!(
        left_by(&app, id, &["feedback_answers", "feedback_cases"]).await,
        0
    );
    let job = app.store.import_job(id).await.unwrap().unwrap();
    assert_eq!(job.state, valvo_store::ImportState::Failed);
    assert_eq!(job.rows_read, n as u64 + 1);
    // Every bad line counted, the first 100 listed.
    let many: String = std::iter::once("unit;nps\n".to_string())
        .chain((0..250).map(|i| format!("a1;{}\n", 11 + i)))
        .collect();
    let (status, body) = post(&app, &token, "/api/v1/feedback/import", many).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["lines"].as_array().unwrap().len(), 100);
    assert_eq!(body["error"]["import"]["error_count"], 250);
    assert_eq!(body["error"]["lines"][99]["line"], 101);
    // A check reads the whole file and writes nothing.
    let (status, body) = post(
        &app,
        &token,
        "/api/v1/feedback/import?dry_run=true",
        answer_file(n),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["import"]["state"], "checked");
    assert_eq!(body["checked"], n as u64);
    assert_eq!(body["imported"], 0);
    assert_eq!(answers(&app, &token, f.county).await, 0);
    // A good file lands whole: in its units, their areas and the county.
    let (status, body) = post(&app, &token, "/api/v1/feedback/import", answer_file(n)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], n as u64);
    let in_b = (0..n).filter(|i| i % 3 == 0).count() as i64;
    assert_eq!(answers(&app, &token, f.county).await, n as i64);
    assert_eq!(answers(&app, &token, f.area_b).await, in_b);
    assert_eq!(answers(&app, &token, f.area_a).await, n as i64 - in_b);
    assert_eq!(answers(&app, &token, f.unit_a1).await, n as i64 - in_b);
    // Its texts are cases to handle, as answers with texts are.
    let r = app
        .client()
        .get(app.url("/api/v1/feedback/cases"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let cases: Value = r.json().await.unwrap();
    let listed = cases["cases"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        listed,
        (0..n).filter(|i| i % 7 == 0).count().min(listed.max(1))
    );
    assert!(listed > 0);
    // A comment is kept exactly as written, with what the database's bulk
    // formats treat specially (tab, backslash, newlines, quotes).
    let said = "Rivi 1 \\N\t\"lainaus\" \\ loppu\r\nRivi 2";
    let file = format!(
        "unit;service_date;nps;text\nA1;{};9;\"{}\"\n",
        today(),
        said.replace('"', "\"\"")
    );
    let (status, one) = post(&app, &token, "/api/v1/feedback/import", file).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let kept = app
        .sql(&format!(
            "UPDATE feedback_cases SET note = note WHERE text = '{said}'"
        ))
        .await;
    assert_eq!(kept, 1, "the comment {said:?} kept as written");
    // The import can be read back, by its starter.
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/imports/{}", body["import"]["id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["state"], "done");
    assert_eq!(job["percent"], 100);
    app.add_user("other@x.fi", Role::QualityCoordinator, None)
        .await;
    let other = app.token("other@x.fi").await;
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/imports/{}", body["import"]["id"])))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "not another user's import"
    );
    app.stop().await;
}

#[tokio::test]
async fn incident_history_fills_past_periods_as_they_stood() {
    use valvo_core::incident::DeadlinePolicy;
    use valvo_core::Period;
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("qc@x.fi", Role::QualityCoordinator, None)
        .await;
    let token = app.token("qc@x.fi").await;
    // Received in January 2024 and handled in August: unhandled over two
    // months at the end of 2024H1, not at the end of 2024H2. Types by code
    // or by name, dates as exports write them.
    let file = "unit;reported_on;kind;event_type;consequence;state;handled_on;never_event\n\
        a1;10.1.2024;client_safety;lääke- ja nestehoito;mild;;1.8.2024;ei\n\
        a1;2024-03-05;client_safety;FALL_ACCIDENT;no_harm;handled;2024-03-07;\n\
        b;2024-05-20;misconduct;other;no_harm;new;;\n\
        b;2024-09-01;work_safety;other;mild;;;\n"
        .to_string();
    let (status, body) = post(&app, &token, "/api/v1/incidents/import", file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 4);
    let tree = app.store.org_tree().await.unwrap();
    let policy = DeadlinePolicy::default();
    let stats = |period: &str| {
        let (tree, store) = (tree.clone(), app.store.clone());
        let period: Period = period.parse().unwrap();
        async move {
            store
                .incident_stats(&tree, f.county, period, &policy, today())
                .await
                .unwrap()
        }
    };
    let h1 = stats("2024H1").await;
    assert_eq!(h1.total, 3);
    assert_eq!(
        h1.unhandled_over_two_months, 1,
        "the January report, on 30.6.2024"
    );
    let h2 = stats("2024H2").await;
    assert_eq!(h2.total, 1);
    // The misconduct report of May (open) and the September one (received
    // 1.9.: not yet two months) at 31.12.2024; the January one was handled.
    assert_eq!(h2.unhandled_over_two_months, 2);
    // Unknown types and bad lines are named; nothing lands.
    let bad = "unit;reported_on;kind;event_type;consequence\n\
        a1;2024-01-10;client_safety;Medication and fluid therapy;mild\n\
        a1;2024-01-11;client_safety;Kaatuminen portaissa;mild\n\
        zz;2024-01-12;haipro;fall_accident;worse\n"
        .to_string();
    let (status, body) = post(&app, &token, "/api/v1/incidents/import", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let got: Vec<(u64, String)> = body["error"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (3, "event_type".to_string()),
            (4, "kind".to_string()),
            (4, "consequence".to_string()),
            (4, "unit".to_string())
        ]
    );
    assert!(body["error"]["lines"][0]["expected"]
        .as_str()
        .unwrap()
        .contains("Kaatuminen portaissa"));
    assert_eq!(stats("2024H1").await.total, 3);
    // More reports than one chunk, then a bad last line: the chunks written
    // are gone, their handling spans with them.
    let mut long = String::from("unit;reported_on;kind;event_type;consequence;handled_on\n");
    for i in 0..valvo_store::IMPORT_CHUNK + 7 {
        long.push_str(&format!(
            "a1;2024-03-{:02};client_safety;fall_accident;mild;2024-04-01\n",
            1 + i % 28
        ));
    }
    long.push_str("a1;2024-03-40;client_safety;fall_accident;mild;\n");
    let (status, body) = post(&app, &token, "/api/v1/incidents/import", long).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"]["lines"].as_array().unwrap().len(),
        1,
        "{body}"
    );
    assert_eq!(body["error"]["lines"][0]["field"], "reported_on");
    let id = body["error"]["import"]["id"].as_i64().unwrap();
    assert_eq!(
        left_by(
            &app,
            id,
            &["incidents", "incident_spans", "import_incident_agg"]
        )
        .await,
        0
    );
    assert_eq!(stats("2024H1").await.total, 3);
    // Incident history is for coordinators and administrators.
    app.add_user("mgr@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let mgr = app.token("mgr@x.fi").await;
    let r = app
        .client()
        .post(app.url("/api/v1/incidents/import"))
        .bearer_auth(&mgr)
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

/// Rows of import `id` still in `tables`, and chunk ranges still recorded
/// for it (a failed import's are removed with its rows).
async fn left_by(app: &TestApp, id: i64, tables: &[&str]) -> u64 {
    let mut n = app
        .sql(&format!(
            "UPDATE import_chunks SET last_id = last_id WHERE import_id = {id}"
        ))
        .await;
    for t in tables {
        n += app
            .sql(&format!(
                "UPDATE {t} SET import_id = import_id WHERE import_id = {id}"
            ))
            .await;
    }
    n
}

async fn wait_done(app: &TestApp, c: &reqwest::Client, path: &str, lang: &str) -> String {
    for _ in 0..200 {
        let page = c
            .get(app.url(&format!("{path}?lang={lang}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if !page.contains("class=\"import-running\"") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import of {path} did not end");
}

#[tokio::test]
async fn an_upload_runs_in_the_background_and_its_page_shows_the_result() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let token = app.token("admin@x.fi").await;
    let c = app.login("admin@x.fi").await;
    let page = c
        .get(app.url("/imports?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Importera en fil"), "{page}");
    let csrf = hidden(&page, "csrf");
    let upload = |csrf: String, body: String, name: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .text("kind", "feedback")
            .part(
                "file",
                reqwest::multipart::Part::bytes(body.into_bytes())
                    .file_name(name)
                    .mime_str("text/csv")
                    .unwrap(),
            );
        c.post(app.url("/imports")).multipart(form).send()
    };
    let r = upload(csrf.clone(), answer_file(3000), "svar.csv")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(to.starts_with("/imports/"));
    let page = wait_done(&app, &c, &to, "sv").await;
    assert!(page.contains("Importerad"), "{page}");
    assert!(page.contains("svar.csv"));
    assert_eq!(answers(&app, &token, f.county).await, 3000);
    // A bad file: the errors by line and column, in Finnish.
    let r = upload(
        csrf.clone(),
        "unit;nps\na1;5\na1;12\nzz;3\n".into(),
        "huono.csv",
    )
    .await
    .unwrap();
    let to = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let page = wait_done(&app, &c, &to, "fi").await;
    assert!(page.contains("Ei tuotu"), "{page}");
    assert!(
        page.contains("<td class=\"num\">3</td><td><code>nps</code></td>"),
        "{page}"
    );
    assert!(page.contains("<td class=\"num\">4</td><td><code>unit</code></td>"));
    // What was expected, said in the page's language.
    assert!(page.contains("ei ”zz”"), "{page}");
    assert_eq!(answers(&app, &token, f.county).await, 3000);
    // The list shows both; a forged post stores nothing.
    let list = c
        .get(app.url("/imports?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("svar.csv") && list.contains("huono.csv"));
    let r = upload("forged".into(), answer_file(5), "x.csv")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}
