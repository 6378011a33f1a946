//! Incident settings as users meet them, over HTTP on a fresh database
//! (SQLite, or PostgreSQL with VALVO_TEST_DATABASE=postgres): the
//! configurable event-type taxonomy and named incident handlers per unit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

mod support;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use support::{fixture, TestApp};
use valvo_core::access::Role;

async fn text(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

async fn get(c: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    let status = r.status();
    (status, text(r).await)
}

fn period_now() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    valvo_core::Period::containing(today, valvo_core::PeriodKind::Tertial).to_string()
}

fn public_report(event_type: &str) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "client_safety".into()),
        ("event_type", event_type.into()),
        ("occurred_on", "2024-01-15".into()),
        ("description", "Käsidesi oli loppu".into()),
        ("consequence", "near_miss".into()),
        ("never_event", "no".into()),
        ("reporter_role", "client".into()),
        ("anonymous", "yes".into()),
    ]
}

async fn event_types(app: &TestApp) -> Vec<Value> {
    let list: Value = app
        .client()
        .get(app.url("/api/v1/incidents/event-types"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["event_types"].as_array().unwrap().clone()
}

async fn stats_total(app: &TestApp, org: i64) -> i64 {
    let s: Value = app
        .client()
        .get(app.url(&format!(
            "/api/v1/incidents/stats?org_unit={org}&period={}",
            period_now()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    s["stats"]["total"].as_i64().unwrap()
}

#[tokio::test]
async fn event_types_are_configured_offered_counted_and_named() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    app.add_user("coordinator@test.fi", Role::QualityCoordinator, None)
        .await;
    app.add_user("manager-a@test.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let anon = app.client();
    let period = period_now();

    // The default taxonomy, translated, public in the API.
    let types = event_types(&app).await;
    assert_eq!(types.len(), 11);
    assert_eq!(types[0]["code"], "medication");
    assert_eq!(types[0]["name"]["sv"], "Läkemedels- och vätskebehandling");
    assert_eq!(types[10]["code"], "other");
    assert!(types
        .iter()
        .all(|t| t["active"] == true && t["reports"] == 0));

    // Only administrators and quality coordinators change it.
    let m = app.login("manager-a@test.fi").await;
    assert_eq!(
        get(&m, &app, "/incidents/settings").await.0,
        StatusCode::FORBIDDEN
    );
    let r = app
        .post_form(
            &m,
            "/incidents/event-types/new",
            &[
                ("type_code", "x_ray"),
                ("name_fi", "Röntgen"),
                ("sort_order", "5"),
                ("active", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let manager_token = app.token("manager-a@test.fi").await;
    let api = app.client();
    let r = api
        .post(app.url("/api/v1/incidents/event-types"))
        .bearer_auth(&manager_token)
        .json(&json!({ "code": "x_ray", "name": { "fi": "Röntgen" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let queue = text(m.get(app.url("/incidents?lang=en")).send().await.unwrap()).await;
    assert!(!queue.contains("/incidents/settings"));

    // A coordinator adds one on the settings page; bad input is named and writes nothing.
    let c = app.login("coordinator@test.fi").await;
    let queue = text(c.get(app.url("/incidents?lang=fi")).send().await.unwrap()).await;
    assert!(queue.contains("href=\"/incidents/settings\""));
    let (status, page) = get(&c, &app, "/incidents/settings?lang=fi").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Lääke- ja nestehoito") && page.contains("/incidents/handlers/"));
    let before = app.audit_count().await;
    for (fields, named) in [
        (
            vec![
                ("type_code", "Käsi hygienia"),
                ("name_fi", ""),
                ("name_sv", ""),
                ("sort_order", "105"),
                ("active", "yes"),
            ],
            vec!["type_code", "name_fi"],
        ),
        (
            vec![
                ("type_code", "medication"),
                ("name_fi", "Lääkkeet"),
                ("sort_order", "105"),
                ("active", "yes"),
            ],
            vec!["type_code"],
        ),
        (
            vec![
                ("type_code", ""),
                ("name_fi", &"x".repeat(201)),
                ("sort_order", "kymmenen"),
                ("active", "maybe"),
            ],
            vec!["type_code", "name_fi", "sort_order", "active"],
        ),
    ] {
        let r = app
            .post_form(&c, "/incidents/event-types/new?lang=en", &fields)
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let body = text(r).await;
        for field in named {
            assert!(
                body.contains(&format!("href=\"#{field}\"")),
                "{field} named in {fields:?}"
            );
        }
    }
    assert_eq!(app.audit_count().await, before, "nothing written");
    let r = app
        .post_form(
            &c,
            "/incidents/event-types/new",
            &[
                ("type_code", "hand_hygiene"),
                ("name_fi", "Käsihygienia"),
                ("name_sv", "Handhygien"),
                ("name_en", ""),
                ("sort_order", "105"),
                ("active", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // … and one through the API, named in Finnish only.
    let token = app.token("coordinator@test.fi").await;
    let r = api
        .post(app.url("/api/v1/incidents/event-types"))
        .bearer_auth(&token)
        .json(&json!({ "code": "lifting", "name": { "fi": "Nostot ja siirrot" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert_eq!(
        (created["code"].clone(), created["active"].clone()),
        (json!("lifting"), json!(true))
    );
    let r = api
        .post(app.url("/api/v1/incidents/event-types"))
        .bearer_auth(&token)
        .json(&json!({ "code": "9", "name": { "en": "Only English" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = r.json().await.unwrap();
    let fields: Vec<&str> = err["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "name"]);
    let types = event_types(&app).await;
    let codes: Vec<&str> = types.iter().map(|t| t["code"].as_str().unwrap()).collect();
    assert_eq!(codes.len(), 13);
    assert_eq!(
        codes[10], "hand_hygiene",
        "ordered by sort order: before other"
    );
    assert_eq!(codes[12], "lifting", "after the last by default");

    // The forms offer it, in the reader's language; reports with it are taken.
    let form = text(
        anon.get(app.url("/report/a1?lang=sv"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(form.contains("<option value=\"hand_hygiene\">Handhygien</option>"));
    assert!(form.contains("<option value=\"lifting\">Nostot ja siirrot (på finska)</option>"));
    let r = anon
        .post(app.url("/report/a1"))
        .form(&public_report("hand_hygiene"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = api
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&manager_token)
        .json(&json!({ "org_unit": f.unit_a1, "occurred_on": "2024-02-01", "kind": "work_safety", "event_type": "lifting",
                        "description": "Selkä kipeytyi nostossa", "consequence": "mild", "reporter_role": "staff" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let lifting_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let staff = app.login("manager-a@test.fi").await;
    let r = app
        .post_form(
            &staff,
            "/incidents/new",
            &[
                ("org_unit", &f.unit_a1.to_string()),
                ("kind", "client_safety"),
                ("event_type", "hand_hygiene"),
                ("occurred_on", "2024-01-16"),
                ("description", "Desiautomaatti rikki"),
                ("consequence", "no_harm"),
                ("never_event", "no"),
                ("reporter_role", "staff"),
                ("anonymous", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, detail) = get(&staff, &app, &format!("/incidents/{lifting_id}?lang=sv")).await;
    assert!(detail.contains(
        "<span lang=\"fi\">Nostot ja siirrot</span> <span class=\"fallback\">(på finska)</span>"
    ));

    // Statistics name the custom types in Finnish and Swedish (a missing language visibly).
    let fi = text(
        anon.get(app.url(&format!(
            "/public/org/county/incidents?period={period}&lang=fi"
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        fi.contains("<th scope=\"row\">Käsihygienia</th><td class=\"num\">2</td>"),
        "{fi}"
    );
    assert!(fi.contains("<th scope=\"row\">Nostot ja siirrot</th><td class=\"num\">1</td>"));
    let sv = text(
        anon.get(app.url(&format!(
            "/public/org/county/incidents?period={period}&lang=sv"
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(sv.contains("<th scope=\"row\">Handhygien</th><td class=\"num\">2</td>"));
    assert!(sv.contains("<th scope=\"row\"><span lang=\"fi\">Nostot ja siirrot</span> <span class=\"fallback\">(på finska)</span></th>"));
    let staff_stats = text(
        staff
            .get(app.url(&format!(
                "/org/{}/incidents?period={period}&lang=sv",
                f.area_a
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(staff_stats.contains("Handhygien"));
    let api_stats: Value = anon
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
    assert_eq!(
        api_stats["stats"]["top_event_types"][0],
        json!(["hand_hygiene", 2])
    );
    assert_eq!(
        api_stats["event_type_names"]["hand_hygiene"]["sv"],
        "Handhygien"
    );
    assert_eq!(
        api_stats["event_type_names"]["lifting"]["fi"],
        "Nostot ja siirrot"
    );

    // Deactivated: not offered, refused with a field error and nothing written; old figures keep the name.
    let (status, edit) = get(&c, &app, "/incidents/event-types/hand_hygiene/edit?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(edit.contains("2 reports have this type"));
    let r = app
        .post_form(
            &c,
            "/incidents/event-types/hand_hygiene/edit",
            &[
                ("name_fi", "Käsihygienia ja aseptiikka"),
                ("name_sv", "Handhygien och aseptik"),
                ("name_en", "Hand hygiene"),
                ("sort_order", "105"),
                ("active", "no"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let form = text(
        anon.get(app.url("/report/a1?lang=sv"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!form.contains("hand_hygiene") && form.contains("value=\"lifting\""));
    let before = app.audit_count().await;
    let r = anon
        .post(app.url("/report/a1?lang=en"))
        .form(&public_report("hand_hygiene"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(r).await.contains("href=\"#event_type\""));
    for code in ["hand_hygiene", "no_such_type", "Ääni"] {
        let r = api
            .post(app.url("/api/v1/incidents"))
            .bearer_auth(&manager_token)
            .json(&json!({ "org_unit": f.unit_a1, "occurred_on": "2024-02-01", "kind": "client_safety", "event_type": code,
                            "description": "x", "consequence": "mild", "reporter_role": "staff" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["fields"][0]["field"], "event_type", "{code}");
    }
    assert_eq!(app.audit_count().await, before, "nothing written");
    assert_eq!(stats_total(&app, f.county).await, 3);
    let sv = text(
        anon.get(app.url(&format!(
            "/public/org/county/incidents?period={period}&lang=sv"
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(sv.contains("Handhygien och aseptik"));
    let settings = text(
        c.get(app.url("/incidents/settings?lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(settings.contains("Hand hygiene"));

    // Rename and reorder through the API.
    let r = api
        .put(app.url("/api/v1/incidents/event-types/lifting"))
        .bearer_auth(&token)
        .json(&json!({ "name": { "fi": "Nostot", "sv": "Lyft" }, "sort_order": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let types = event_types(&app).await;
    assert_eq!(
        (
            types[0]["code"].clone(),
            types[0]["name"]["sv"].clone(),
            types[0]["reports"].clone()
        ),
        (json!("lifting"), json!("Lyft"), json!(1))
    );
    let r = api
        .put(app.url("/api/v1/incidents/event-types/nothing_here"))
        .bearer_auth(&token)
        .json(&json!({ "active": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A type in use cannot be deleted; an unused one can.
    let r = app
        .post_form(&c, "/incidents/event-types/hand_hygiene/delete", &[])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = api
        .post(app.url("/api/v1/incidents/event-types"))
        .bearer_auth(&token)
        .json(&json!({ "code": "typo_type", "name": { "fi": "Kirjoitusvirhe" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .post_form(&c, "/incidents/event-types/typo_type/delete", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!event_types(&app)
        .await
        .iter()
        .any(|t| t["code"] == "typo_type"));

    // Every change is in the audit log.
    let log = app
        .store
        .audit_log(1000, None, Some("incident_event_type"))
        .await
        .unwrap();
    let actions: Vec<(String, String)> = log
        .iter()
        .map(|e| (e.action.clone(), e.entity_id.clone()))
        .collect();
    for expected in [
        ("create", "hand_hygiene"),
        ("create", "lifting"),
        ("update", "hand_hygiene"),
        ("update", "lifting"),
        ("create", "typo_type"),
        ("delete", "typo_type"),
    ] {
        assert!(
            actions.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {actions:?}"
        );
    }
    let a = app.login("admin@test.fi").await;
    let audit = text(a.get(app.url("/audit?lang=en")).send().await.unwrap()).await;
    assert!(audit.contains("incident event type") && audit.contains("deleted"));
    app.stop().await;
}

#[tokio::test]
async fn named_handlers_see_and_handle_exactly_their_units_reports() {
    use valvo_core::incident::{Consequence, EventType, IncidentKind, NewIncident, ReporterRole};
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    app.add_user("manager-a@test.fi", Role::AreaManager, Some(f.area_a))
        .await;
    // A viewer of area B named as the handler of unit A1; another viewer not named.
    let h = app
        .add_user("handler@test.fi", Role::Viewer, Some(f.area_b))
        .await;
    app.add_user("viewer@test.fi", Role::Viewer, None).await;
    app.add_user("handler-b@test.fi", Role::Viewer, None).await;
    let today = time::OffsetDateTime::now_utc().date();
    let report = |org: i64, desc: &str| NewIncident {
        org_unit_id: org,
        occurred_on: today,
        occurred_time: None,
        place: String::new(),
        kind: IncidentKind::ClientSafety,
        event_type: EventType::other(),
        description: desc.into(),
        consequence: Consequence::Mild,
        never_event: false,
        contributing_factors: String::new(),
        immediate_actions: String::new(),
        reporter_role: ReporterRole::Staff,
        reporter_name: None,
        reporter_contact: None,
    };
    let mut ids = Vec::new();
    for (org, desc) in [
        (f.unit_a1, "Yksikön A1 ilmoitus"),
        (f.area_a, "Alueen A oma ilmoitus"),
        (f.area_b, "Alueen B ilmoitus"),
    ] {
        let (id, _) = app
            .store
            .create_incident(None, &report(org, desc), today)
            .await
            .unwrap();
        ids.push(id);
    }
    let (a1_report, a_report, b_report) = (ids[0], ids[1], ids[2]);

    // Not named yet: the viewer sees nothing.
    let hc = app.login("handler@test.fi").await;
    assert_eq!(
        get(&hc, &app, &format!("/incidents/{a1_report}")).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, queue) = get(&hc, &app, "/incidents?lang=en").await;
    assert!(queue.contains("No open reports"));
    assert_eq!(
        get(&hc, &app, &format!("/incidents/handlers/{}", f.unit_a1))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // Only administrators and quality coordinators name handlers.
    let m = app.login("manager-a@test.fi").await;
    let r = app
        .post_form(
            &m,
            &format!("/incidents/handlers/{}", f.unit_a1),
            &[("handler_user", &h.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let manager_token = app.token("manager-a@test.fi").await;
    let api = app.client();
    let r = api
        .put(app.url(&format!(
            "/api/v1/org-units/{}/incident-handlers",
            f.unit_a1
        )))
        .bearer_auth(&manager_token)
        .json(&json!({ "users": [h] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The administrator names the handler of A1 on the unit's handler page.
    let a = app.login("admin@test.fi").await;
    let (status, page) = get(
        &a,
        &app,
        &format!("/incidents/handlers/{}?lang=en", f.unit_a1),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("none named") && page.contains("handler@test.fi"));
    let r = app
        .post_form(
            &a,
            &format!("/incidents/handlers/{}", f.unit_a1),
            &[("handler_user", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(r).await.contains("href=\"#handler_user\""));
    let r = app
        .post_form(
            &a,
            &format!("/incidents/handlers/{}", f.unit_a1),
            &[("handler_user", &h.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, settings) = get(&a, &app, "/incidents/settings?lang=en").await;
    assert!(
        settings.contains("<td>handler@test.fi</td>"),
        "the overview names the handler"
    );
    let log = app
        .store
        .audit_log(100, None, Some("incident_handler"))
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entity_id, f.unit_a1.to_string());

    // The named handler sees and handles exactly A1's reports.
    let (status, page) = get(&hc, &app, &format!("/incidents/{a1_report}?lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Yksikön A1 ilmoitus") && page.contains("Named handlers"));
    assert!(
        page.contains("<dd>handler@test.fi</dd>"),
        "the named handler shown"
    );
    for other in [a_report, b_report] {
        assert_eq!(
            get(&hc, &app, &format!("/incidents/{other}")).await.0,
            StatusCode::FORBIDDEN,
            "report {other} is not A1's"
        );
    }
    let (_, queue) = get(&hc, &app, "/incidents?lang=en").await;
    let rows: Vec<&str> = queue
        .split("<th scope=\"row\"><a href=\"/incidents/")
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].starts_with(&format!("{a1_report}\"")));
    let h_token = app.token("handler@test.fi").await;
    let r = api
        .get(app.url(&format!("/api/v1/incidents/{a1_report}")))
        .bearer_auth(&h_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = api
        .get(app.url(&format!("/api/v1/incidents/{b_report}")))
        .bearer_auth(&h_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post_form(
            &hc,
            &format!("/incidents/{a1_report}/actions"),
            &[
                ("action_text", "Perehdytys"),
                ("action_owner", "Osastonhoitaja"),
                ("action_due", "2030-01-31"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Nothing else is widened: the handler still cannot write A1's plan.
    let r = app
        .post_form(
            &hc,
            &format!("/indicators/{}/follow-up", f.ind_a1),
            &[("period", "2024T1"), ("value", "50")],
        )
        .await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&r.status()),
        "{}",
        r.status()
    );
    // A viewer not named, and anyone without login, still get nothing.
    let v = app.login("viewer@test.fi").await;
    assert_eq!(
        get(&v, &app, &format!("/incidents/{a1_report}")).await.0,
        StatusCode::FORBIDDEN
    );
    let r = app
        .post_form(
            &v,
            &format!("/incidents/{a1_report}/handling"),
            &[("state", "handled")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The area manager keeps the unit's reports.
    assert_eq!(
        get(&m, &app, &format!("/incidents/{a1_report}")).await.0,
        StatusCode::OK
    );

    // B's handler is named through the API (by e-mail); unknown users are refused.
    let admin_token = app.token("admin@test.fi").await;
    let r = api
        .put(app.url(&format!("/api/v1/org-units/{}/incident-handlers", f.area_b)))
        .bearer_auth(&admin_token)
        .json(&json!({ "users": ["nobody@test.fi"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = api
        .put(app.url(&format!("/api/v1/org-units/{}/incident-handlers", f.area_b)))
        .bearer_auth(&admin_token)
        .json(&json!({ "users": ["handler-b@test.fi"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let listed: Value = api
        .get(app.url(&format!("/api/v1/org-units/{}/incident-handlers", f.area_b)))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["handlers"][0]["email"], "handler-b@test.fi");

    // Forwarding moves the report to B: its handler sees it, A1's handler no longer does.
    let r = app
        .post_form(
            &hc,
            &format!("/incidents/{a1_report}/handling"),
            &[
                ("state", "forwarded"),
                ("forward_to", &f.area_b.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get(&hc, &app, &format!("/incidents/{a1_report}")).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, queue) = get(&hc, &app, "/incidents?lang=en").await;
    assert!(queue.contains("No open reports"));
    let hb = app.login("handler-b@test.fi").await;
    let (status, page) = get(&hb, &app, &format!("/incidents/{a1_report}?lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Forwarded from") && page.contains("Yksikkö A1"));
    let (_, queue) = get(&hb, &app, "/incidents?lang=en").await;
    let rows = queue
        .matches("<th scope=\"row\"><a href=\"/incidents/")
        .count();
    assert_eq!(rows, 2, "B's own report and the forwarded one");
    assert_eq!(
        get(&m, &app, &format!("/incidents/{a1_report}")).await.0,
        StatusCode::FORBIDDEN,
        "out of the manager's area"
    );

    // Removing the handler takes the access away again.
    let r = app
        .post_form(
            &a,
            &format!("/incidents/handlers/{}", f.area_b),
            &[("remove", &listed["handlers"][0]["user_id"].to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get(&hb, &app, &format!("/incidents/{a1_report}")).await.0,
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

/// Two counties on one service: each keeps its own event types, ombudsperson
/// reasons and supervision topics beside the shared ones; they are offered
/// (and accepted) only for the county's units; nobody changes another
/// county's entries, and a county's people change the shared ones only
/// when theirs is the only county.
#[tokio::test]
async fn each_county_keeps_its_own_lists_beside_the_shared_ones() {
    use support::{error_fields, Api};
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let sys = valvo_core::access::Principal::system("test");
    let unit = |parent: Option<i64>, code: &str| valvo_store::NewOrgUnit {
        parent_id: parent,
        code: code.into(),
        name: support::t(&format!("Yksikkö {code}"), &format!("Enhet {code}")),
        producer: valvo_core::ProducerType::Own,
        sort_order: 1,
        service_type: None,
    };
    app.add_user("admin@x.fi", Role::Admin, None).await;
    // Alone, the county's coordinator keeps the shared list (it is theirs).
    app.add_user("qc@x.fi", Role::QualityCoordinator, Some(f.county))
        .await;
    let qc = Api::of(&app, "qc@x.fi").await;
    let (s, body) = qc
        .put(
            "/api/v1/incidents/event-types/equipment",
            json!({ "sort_order": 95 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "one county: {body}");
    assert_eq!(body["county"], Value::Null);
    // A second county joins.
    let other = app
        .store
        .create_org_unit(&sys, &unit(None, "toinen"))
        .await
        .unwrap();
    let t1 = app
        .store
        .create_org_unit(&sys, &unit(Some(other), "t1"))
        .await
        .unwrap();
    app.add_user("qc2@x.fi", Role::QualityCoordinator, Some(other))
        .await;
    app.add_user("area@x.fi", Role::QualityCoordinator, Some(f.area_a))
        .await;
    app.add_user("omb@x.fi", Role::Ombudsperson, None).await;
    app.add_user("sup@x.fi", Role::Supervisor, None).await;
    let (admin, qc2, area) = (
        Api::of(&app, "admin@x.fi").await,
        Api::of(&app, "qc2@x.fi").await,
        Api::of(&app, "area@x.fi").await,
    );
    let name = json!({ "fi": "Käsihygienia", "sv": "Handhygien" });

    // ---- event types
    let (s, body) = qc
        .post(
            "/api/v1/incidents/event-types",
            json!({ "code": "hand_hygiene", "name": name }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["county"], "county",
        "a county's coordinator adds the county's own"
    );
    let (s, body) = qc
        .put(
            "/api/v1/incidents/event-types/equipment",
            json!({ "sort_order": 96 }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "two counties: the shared ones are not one county's: {body}"
    );
    for (who, path, body) in [
        (
            &qc2,
            "/api/v1/incidents/event-types/hand_hygiene",
            json!({ "sort_order": 1 }),
        ),
        (
            &qc2,
            "/api/v1/incidents/event-types",
            json!({ "code": "shared_x", "name": name, "county": null }),
        ),
        (
            &qc2,
            "/api/v1/incidents/event-types",
            json!({ "code": "theirs_x", "name": name, "county": "county" }),
        ),
        (
            &area,
            "/api/v1/incidents/event-types",
            json!({ "code": "area_x", "name": name }),
        ),
    ] {
        let (s, b) = if path.ends_with("event-types") {
            who.post(path, body).await
        } else {
            who.put(path, body).await
        };
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {b}");
    }
    let (s, body) = admin
        .put(
            "/api/v1/incidents/event-types/hand_hygiene",
            json!({ "county": "toinen" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "a type's county is fixed: {body}");
    assert_eq!(error_fields(&body), ["county"]);
    let (s, body) = admin
        .post(
            "/api/v1/incidents/event-types",
            json!({ "code": "nowhere", "name": name, "county": "ei_ole" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["county"]);
    let (s, body) = admin
        .post(
            "/api/v1/incidents/event-types",
            json!({ "code": "toinen_only", "name": name, "county": "toinen" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = qc2
        .put(
            "/api/v1/incidents/event-types/toinen_only",
            json!({ "sort_order": 7 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let codes = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["code"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = admin.get("/api/v1/incidents/event-types").await;
    let (_, mine) = admin
        .get("/api/v1/incidents/event-types?county=county")
        .await;
    let (_, theirs) = admin
        .get("/api/v1/incidents/event-types?county=toinen")
        .await;
    let (all, mine, theirs) = (
        codes(&all, "event_types"),
        codes(&mine, "event_types"),
        codes(&theirs, "event_types"),
    );
    assert!(all.contains(&"hand_hygiene".into()) && all.contains(&"toinen_only".into()));
    assert!(mine.contains(&"hand_hygiene".into()) && !mine.contains(&"toinen_only".into()));
    assert!(theirs.contains(&"toinen_only".into()) && !theirs.contains(&"hand_hygiene".into()));
    assert!(mine.contains(&"medication".into()) && theirs.contains(&"medication".into()));
    let (s, _) = admin
        .get("/api/v1/incidents/event-types?county=ei_ole")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Offered and accepted for the county's units only.
    let report = |unit: i64, t: &str| {
        json!({ "org_unit": unit, "occurred_on": "2024-02-01", "kind": "client_safety", "event_type": t,
                "description": "Käsidesi oli loppu", "consequence": "near_miss", "reporter_role": "staff" })
    };
    let (s, body) = admin
        .post("/api/v1/incidents", report(f.unit_a1, "hand_hygiene"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = admin
        .post("/api/v1/incidents", report(t1, "hand_hygiene"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["event_type"]);
    let (_, form) = get(&app.client(), &app, "/report/a1").await;
    assert!(form.contains("value=\"hand_hygiene\"") && !form.contains("value=\"toinen_only\""));
    let (_, form) = get(&app.client(), &app, "/report/t1").await;
    assert!(form.contains("value=\"toinen_only\"") && !form.contains("value=\"hand_hygiene\""));
    assert!(form.contains("value=\"medication\""));
    // A history import: the other county's unit cannot have the type.
    let import = |file: &str| {
        app.client()
            .post(app.url("/api/v1/incidents/import"))
            .bearer_auth(&admin.token)
            .header("content-type", "text/csv")
            .body(file.to_string())
            .send()
    };
    let r = import(
        "unit;reported_on;kind;event_type;consequence\n\
         a1;2024-01-10;client_safety;hand_hygiene;mild\n\
         t1;2024-01-11;client_safety;hand_hygiene;mild\n",
    )
    .await
    .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        support::error_lines(&body),
        [(3, "event_type".to_string())],
        "{body}"
    );
    // The two counties' types have the same name: by name, each unit's own.
    let r = import(
        "unit;reported_on;kind;event_type;consequence\n\
         a1;2024-01-10;client_safety;käsihygienia;mild\n\
         t1;2024-01-11;client_safety;KÄSIHYGIENIA;mild\n\
         t1;2024-01-12;client_safety;handhygien;mild\n",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let reports = |v: &Value, code: &str| {
        v["event_types"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == code)
            .unwrap()["reports"]
            .as_i64()
    };
    let (_, mine) = admin
        .get("/api/v1/incidents/event-types?county=county")
        .await;
    let (_, theirs) = admin
        .get("/api/v1/incidents/event-types?county=toinen")
        .await;
    assert_eq!(
        reports(&mine, "hand_hygiene"),
        Some(2),
        "one over the API, one imported"
    );
    assert_eq!(reports(&theirs, "toinen_only"), Some(2));
    assert_eq!(
        reports(&theirs, "medication"),
        Some(0),
        "the county's own reports only"
    );

    // ---- ombudsperson reasons
    let (s, body) = qc
        .put(
            "/api/v1/ombudsman/reasons/language_barrier",
            json!({ "name": { "fi": "Kielimuuri", "sv": "Språkbarriär" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["county"], "county");
    for (who, code) in [
        (&qc2, "language_barrier"),
        (&qc, "fees"),
        (&area, "area_reason"),
    ] {
        let (s, b) = who
            .put(
                &format!("/api/v1/ombudsman/reasons/{code}"),
                json!({ "name": { "fi": "x", "sv": "y" } }),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{code}: {b}");
    }
    let omb = Api::of(&app, "omb@x.fi").await;
    let contact = |unit: i64| {
        json!({ "contacted_on": "2024-02-01", "channel": "phone", "language": "fi", "client_group": "adult",
                "items": [{ "org_unit": unit, "sector": "health", "reasons": ["care", "language_barrier"] }] })
    };
    let (s, body) = omb.post("/api/v1/ombudsman/contacts", contact(t1)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["items.0.reasons.1"]);
    let (s, body) = omb
        .post("/api/v1/ombudsman/contacts", contact(f.unit_a1))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (_, list) = omb.get("/api/v1/ombudsman/reasons?county=toinen").await;
    assert!(!codes(&list, "reasons").contains(&"language_barrier".into()));
    assert!(codes(&list, "reasons").contains(&"care".into()));
    let (_, list) = omb.get("/api/v1/ombudsman/reasons?county=county").await;
    assert!(codes(&list, "reasons").contains(&"language_barrier".into()));

    // Two counties adding the same new code at once: one gets it, the
    // other is refused, and the names are the winner's (never the loser's
    // names on the winner's entry).
    for i in 0..12 {
        let code = format!("race_{i}");
        let path = format!("/api/v1/ombudsman/reasons/{code}");
        let ((s1, b1), (s2, b2)) = tokio::join!(
            qc.put(&path, json!({ "name": { "fi": "yksi", "sv": "ett" } })),
            qc2.put(&path, json!({ "name": { "fi": "kaksi", "sv": "två" } })),
        );
        let ok = [s1, s2].iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(ok, 1, "{code}: {s1} {b1} / {s2} {b2}");
        let (_, list) = omb.get("/api/v1/ombudsman/reasons").await;
        let kept = list["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code.as_str())
            .unwrap()
            .clone();
        let winner = if s1 == StatusCode::OK {
            (&b1, "county")
        } else {
            (&b2, "toinen")
        };
        assert_eq!(
            (&kept["county"], &kept["name"]),
            (&json!(winner.1), &winner.0["name"]),
            "{code}"
        );
    }

    // ---- supervision topics
    let (s, body) = qc2
        .put(
            "/api/v1/supervision/topics/fire_safety",
            json!({ "name": { "fi": "Paloturvallisuus", "sv": "Brandsäkerhet" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["county"], "toinen");
    let (s, body) = qc
        .put(
            "/api/v1/supervision/topics/fire_safety",
            json!({ "name": { "fi": "x", "sv": "y" } }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let sup = Api::of(&app, "sup@x.fi").await;
    let visit = |unit: i64| json!({ "org_unit": unit, "visited_on": "2024-02-01", "kind": "announced", "topics": ["premises", "fire_safety"] });
    let (s, body) = sup
        .post("/api/v1/supervision/visits", visit(f.unit_a1))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["topics.1"]);
    let (s, body) = sup.post("/api/v1/supervision/visits", visit(t1)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");

    // On the forms of someone who works for every county, a county's own
    // entry names its county.
    let c = app.login("omb@x.fi").await;
    let (s, page) = get(&c, &app, "/ombudsman").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("Kielimuuri (Testin hyvinvointialue)"),
        "{page}"
    );
    let c = app.login("sup@x.fi").await;
    let (s, page) = get(&c, &app, "/supervision").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Paloturvallisuus (Yksikkö toinen)"), "{page}");
    assert!(
        !page.contains("Toimitilat ("),
        "a shared topic is not named with a county"
    );

    // ---- the settings page, as each county's coordinator and the administrator
    let c = app.login("qc@x.fi").await;
    let (s, page) = get(&c, &app, "/incidents/settings").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("href=\"/incidents/event-types/hand_hygiene/edit\""));
    assert!(!page.contains("href=\"/incidents/event-types/medication/edit\""));
    assert!(
        !page.contains("toinen_only"),
        "another county's own types are not listed"
    );
    assert!(page.contains("Kaikki hyvinvointialueet (yhteinen)") && page.contains("vain luku"));
    let (s, _) = get(&c, &app, "/incidents/event-types/medication/edit").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, new) = get(&c, &app, "/incidents/event-types/new").await;
    assert!(
        !new.contains("name=\"county\""),
        "a county's own, without asking"
    );
    let csrf = app.csrf(&c).await;
    let r = app
        .post_form(
            &c,
            "/incidents/event-types/new",
            &[
                ("csrf", csrf.as_str()),
                ("type_code", "lifting"),
                ("name_fi", "Nostot"),
                ("name_sv", "Lyft"),
                ("name_en", ""),
                ("sort_order", "500"),
                ("active", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // An area's coordinator keeps no list: no button, no form.
    let c = app.login("area@x.fi").await;
    let (s, page) = get(&c, &app, "/incidents/settings").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!page.contains("href=\"/incidents/event-types/new\""));
    let (s, _) = get(&c, &app, "/incidents/event-types/new").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let a = app.login("admin@x.fi").await;
    let (_, new) = get(&a, &app, "/incidents/event-types/new").await;
    assert!(new.contains("name=\"county\"") && new.contains("value=\"toinen\""));
    // The staff form of someone who works for every county names the
    // county of each county's own type (two counties' types share a name);
    // a county's own people see theirs as it is.
    let (_, form) = get(&a, &app, "/incidents/new").await;
    assert!(
        form.contains("Käsihygienia (Testin hyvinvointialue)")
            && form.contains("Käsihygienia (Yksikkö toinen)"),
        "{form}"
    );
    let (_, form) = get(&app.login("qc@x.fi").await, &app, "/incidents/new").await;
    assert!(form.contains(">Käsihygienia<") && !form.contains("Käsihygienia ("));
    let (_, page) = get(&a, &app, "/incidents/settings").await;
    assert!(page.contains("href=\"/incidents/event-types/toinen_only/edit\""));
    assert!(page.contains("href=\"/incidents/event-types/lifting/edit\""));
    let lifting = event_types(&app)
        .await
        .into_iter()
        .find(|t| t["code"] == "lifting")
        .unwrap();
    assert_eq!(lifting["county"], "county", "{lifting}");
    // Every change is in the audit log with the county it went to.
    let audited = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE entity IN ('incident_event_type', 'ombudsman_reason', 'supervision_topic') AND after_json LIKE '%\"county\":\"%'")
        .await;
    assert_eq!(
        audited, 18,
        "hand_hygiene, toinen_only (created and changed), language_barrier, the 12 races' winners, fire_safety, lifting"
    );
}
