//! Figures flow in: a plan made through the API with indicators of every
//! value kind, figures typed as people type them and printed as the seeds
//! print them, periods bound to the indicator, retiring and deleting, and
//! the figures import from CSV and XLSX (all or nothing, a preview to
//! confirm, the same file twice changes nothing).

use reqwest::StatusCode;
use serde_json::{json, Value};
use valvo_core::access::Role;

use crate::support::{fixture, Api, TestApp};

/// Seed 000's customer and resource centre, 9–12/2023: one indicator of
/// each kind, (code, kind, name, figure as the seed prints it).
const SEED_000: [(&str, &str, &str, &str); 7] = [
    ("KRC-QUEUE", "duration", "Kötid", "0:13:25"),
    (
        "KRC-CALLBACK",
        "duration",
        "Väntetid för återuppringning",
        "5:51:11",
    ),
    ("KRC-CALLS", "count", "Samtal", "96 624"),
    ("KRC-ANSWERED", "percent", "Besvarade samtal", "90 %"),
    ("KRC-SHIFTS", "ratio", "Egna/utomstående pass", "192/469"),
    ("KRC-COST", "money", "Kostnad per kontakt", "12,50"),
    (
        "KRC-NOTE",
        "text",
        "Iakttagelse",
        "Kötiden förkortades under hösten.",
    ),
];

async fn plan_of_every_kind(api: &Api<'_>, parent: i64) -> (i64, Vec<i64>) {
    let (s, unit) = api
        .post(
            "/api/v1/org-units",
            json!({ "parent_id": parent, "code": "krc", "name": { "fi": "Asiakas- ja resurssikeskus", "sv": "Kund- och resurscenter" } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{unit}");
    let unit = unit["org_unit"]["id"].as_i64().unwrap();
    let (s, goal) = api
        .post(
            "/api/v1/goals",
            json!({ "org_unit": unit, "year": 2023, "area": "access", "title": { "sv": "Tjänsterna nås snabbt", "fi": "Palvelut saavutetaan nopeasti" } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{goal}");
    let goal = goal["goal"]["id"].as_i64().unwrap();
    let mut ids = Vec::new();
    for (code, kind, name, _) in SEED_000 {
        let mut body = json!({
            "goal": goal, "code": code, "value_kind": kind, "name": { "sv": name },
            "direction": "lower", "period_kind": "tertial"
        });
        if kind == "duration" {
            body["target"] = json!("0:10:00");
        }
        let (s, ind) = api.post("/api/v1/indicators", body).await;
        assert_eq!(s, StatusCode::CREATED, "{code}: {ind}");
        ids.push(ind["indicator"]["id"].as_i64().unwrap());
    }
    (unit, ids)
}

#[tokio::test]
async fn a_plan_of_every_kind_made_through_the_api_takes_figures_as_typed() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let api = Api {
        app: &app,
        c: app.client(),
        token: app.token("admin@x.fi").await,
    };
    let (unit, ids) = plan_of_every_kind(&api, f.area_a).await;
    let (_, ind) = api.get(&format!("/api/v1/indicators/{}", ids[0])).await;
    assert_eq!(ind["value_kind"], "duration");
    assert_eq!(ind["target"], json!(600.0), "0:10:00 kept in seconds");

    // Each figure as the seed prints it, through the API; read back raw and printed.
    let expect_sv = [
        "0:13:25",
        "5:51:11",
        "96\u{a0}624",
        "90\u{a0}%",
        "192/469 (29\u{a0}%)",
        "12,50\u{a0}€",
        "Kötiden förkortades under hösten.",
    ];
    let raw = [
        json!(805.0),
        json!(21071.0),
        json!(96624.0),
        json!(90.0),
        Value::Null,
        json!(12.5),
        Value::Null,
    ];
    for (i, (code, _, _, typed)) in SEED_000.iter().enumerate() {
        let (s, body) = api
            .put(
                &format!("/api/v1/indicators/{}/follow-ups/2023T3", ids[i]),
                json!({ "value": typed }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{code}: {body}");
        let fu = &body["follow_up"];
        assert_eq!(fu["formatted"]["sv"], expect_sv[i], "{code}");
        if !raw[i].is_null() {
            assert_eq!(fu["value"], raw[i], "{code}");
        }
    }
    let (_, shifts) = api
        .get(&format!("/api/v1/indicators/{}/follow-ups/2023T3", ids[4]))
        .await;
    assert_eq!(shifts["parts"], json!([192.0, 469.0]));
    assert!((shifts["value"].as_f64().unwrap() - 29.0469).abs() < 0.001);
    // The label Valvo prints is the same period; a ratio also as [a, b].
    let (s, body) = api
        .put(
            &format!(
                "/api/v1/indicators/{}/follow-ups/9%E2%80%9312%2F2023",
                ids[4]
            ),
            json!({ "value": [200, 461] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["follow_up"]["formatted"]["fi"], "200/461 (30\u{a0}%)");

    // What people cannot mean is named and nothing written.
    for (i, bad, code) in [
        (0, json!("13,4"), "not_a_duration"),
        (2, json!("1,5"), "not_a_count"),
        (3, json!("ninety"), "not_a_number"),
        (4, json!("192"), "not_a_ratio"),
        (4, json!(29.0), "not_a_ratio"),
        (6, json!(5), "invalid"),
    ] {
        let (s, body) = api
            .put(
                &format!("/api/v1/indicators/{}/follow-ups/2023T2", ids[i]),
                json!({ "value": bad }),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["fields"][0]["field"], "value");
        assert_eq!(body["error"]["fields"][0]["code"], code, "{bad}");
    }
    // Only the indicator's own periods: a tertial indicator, not a quarter;
    // not a period that has not begun.
    for period in ["2023Q3", "2023H2", "2099T1"] {
        let (s, body) = api
            .put(
                &format!("/api/v1/indicators/{}/follow-ups/{period}", ids[2]),
                json!({ "value": 1 }),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{period}");
        assert_eq!(body["error"]["fields"][0]["field"], "period", "{period}");
    }
    assert_eq!(
        app.store.follow_ups(ids[2]).await.unwrap().len(),
        1,
        "nothing written by the refused ones"
    );

    // The plan page in Swedish prints them as the seed does, without a
    // misleading unit beside a duration.
    let web = app.login("admin@x.fi").await;
    let page = web
        .get(app.url(&format!("/org/{unit}/plan/2023?period=2023T3&lang=sv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for s in [
        "0:13:25",
        "5:51:11",
        "96\u{a0}624",
        "90\u{a0}%",
        "200/461 (30\u{a0}%)",
        "12,50\u{a0}€",
    ] {
        assert!(page.contains(s), "the plan page shows {s}");
    }

    // Changing: a PATCH changes what it names; the kind stays once there are figures.
    let (s, body) = api
        .patch(
            &format!("/api/v1/indicators/{}", ids[0]),
            json!({ "target": "0:12:00", "name": { "sv": "Kötid i telefon" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["indicator"]["target"], json!(720.0));
    assert_eq!(
        body["indicator"]["code"], "KRC-QUEUE",
        "untouched fields stay"
    );
    let (s, body) = api
        .patch(
            &format!("/api/v1/indicators/{}", ids[0]),
            json!({ "value_kind": "number" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    // A code is the county's: another indicator cannot take it, in any letter case.
    let (s, _) = api
        .post("/api/v1/indicators", json!({ "goal": f.goal_a1, "code": "krc-queue", "name": { "fi": "Jono" }, "direction": "lower", "period_kind": "tertial" }))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Removing: an indicator with figures is retired and keeps them; it
    // takes no new ones until taken back; one without figures is deleted.
    let (s, body) = api.delete(&format!("/api/v1/indicators/{}", ids[1])).await;
    assert_eq!(
        (s, body["result"].clone()),
        (StatusCode::OK, json!("retired"))
    );
    let (s, _) = api
        .put(
            &format!("/api/v1/indicators/{}/follow-ups/2023T2", ids[1]),
            json!({ "value": "0:05:00" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(app.store.follow_ups(ids[1]).await.unwrap().len(), 1);
    let (s, body) = api
        .patch(
            &format!("/api/v1/indicators/{}", ids[1]),
            json!({ "retired": false }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["indicator"]["retired_at"], Value::Null);
    let (s, fresh) = api
        .post("/api/v1/indicators", json!({ "goal": f.goal_a1, "name": { "fi": "Uusi" }, "direction": "higher", "period_kind": "year" }))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let fresh = fresh["indicator"]["id"].as_i64().unwrap();
    let (s, body) = api.delete(&format!("/api/v1/indicators/{fresh}")).await;
    assert_eq!(
        (s, body["result"].clone()),
        (StatusCode::OK, json!("deleted"))
    );
    assert_eq!(
        api.get(&format!("/api/v1/indicators/{fresh}")).await.0,
        StatusCode::NOT_FOUND
    );

    // Goals, actions and org units: removed when nothing is under them.
    let goal = ind["goal_id"].as_i64().unwrap();
    assert_eq!(
        api.delete(&format!("/api/v1/goals/{goal}")).await.0,
        StatusCode::CONFLICT
    );
    let (s, action) = api
        .post(
            "/api/v1/actions",
            json!({ "goal": goal, "text": { "sv": "Fler återuppringningar" } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(action["action"]["status"], "planned");
    let action = action["action"]["id"].as_i64().unwrap();
    let (s, body) = api
        .patch(
            &format!("/api/v1/actions/{action}"),
            json!({ "status": "ongoing" }),
        )
        .await;
    assert_eq!(
        (s, body["action"]["text"]["sv"].clone()),
        (StatusCode::OK, json!("Fler återuppringningar"))
    );
    assert_eq!(
        api.delete(&format!("/api/v1/actions/{action}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.delete(&format!("/api/v1/org-units/{unit}")).await.0,
        StatusCode::CONFLICT
    );
    let (_, empty) = api
        .post(
            "/api/v1/org-units",
            json!({ "parent_id": f.area_b, "code": "empty", "name": { "fi": "Tyhjä" } }),
        )
        .await;
    let empty = empty["org_unit"]["id"].as_i64().unwrap();
    let (s, body) = api
        .patch(
            &format!("/api/v1/org-units/{empty}"),
            json!({ "producer": "purchased" }),
        )
        .await;
    assert_eq!(
        (s, body["org_unit"]["name"]["fi"].clone()),
        (StatusCode::OK, json!("Tyhjä"))
    );
    assert_eq!(
        api.delete(&format!("/api/v1/org-units/{empty}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.get(&format!("/api/v1/org-units/{empty}")).await.0,
        StatusCode::NOT_FOUND
    );

    // Scope: an area manager of A writes A's plan, not B's, and adds no units.
    app.add_user("manager-a@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let m = Api {
        app: &app,
        c: app.client(),
        token: app.token("manager-a@x.fi").await,
    };
    let (s, _) = m
        .post(
            "/api/v1/goals",
            json!({ "org_unit": f.area_b, "year": 2024, "area": "access", "title": { "fi": "B" } }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = m
        .post(
            "/api/v1/org-units",
            json!({ "parent_id": f.area_a, "code": "x", "name": { "fi": "X" } }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        m.delete(&format!("/api/v1/indicators/{}", f.ind_b)).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = m
        .post("/api/v1/goals", json!({ "org_unit": f.unit_a1, "year": 2024, "area": "access", "title": { "fi": "A1" } }))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.stop().await;
}

fn xlsx(rows: &[Vec<&str>], percent_cell: Option<(u32, u16, f64)>) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Siffror").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell.parse::<f64>() {
                Ok(n) if !cell.contains(':') => sheet.write_number(r as u32, c as u16, n).unwrap(),
                _ => sheet.write_string(r as u32, c as u16, *cell).unwrap(),
            };
        }
    }
    if let Some((r, c, v)) = percent_cell {
        let fmt = rust_xlsxwriter::Format::new().set_num_format("0 %");
        sheet.write_number_with_format(r, c, v, &fmt).unwrap();
    }
    let help = book.add_worksheet();
    help.write_string(0, 0, "Fyll i siffrorna på första bladet.")
        .unwrap();
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn figures_import_from_csv_and_xlsx_all_or_nothing_and_the_same_file_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let api = Api {
        app: &app,
        c: app.client(),
        token: app.token("admin@x.fi").await,
    };
    let (_, ids) = plan_of_every_kind(&api, f.area_a).await;
    let csv = "indicator;period;value;assessment_sv\n\
               KRC-QUEUE;2023T3;0:13:25;Kortare än i våras\n\
               KRC-CALLBACK;9–12/2023;5:51:11;\n\
               krc-calls;2023T3;96 624;\n\
               KRC-ANSWERED;2023T3;90 %;\n\
               KRC-SHIFTS;2023T3;192/469;\n\
               KRC-COST;2023T3;12,50;\n\
               KRC-NOTE;2023T3;Kötiden förkortades under hösten.;\n"
        .as_bytes()
        .to_vec();
    let audits = app.audit_count().await;

    // A check first: nothing written, a preview of what would change.
    let (s, body) = api.import("?dry_run=true", "text/csv", csv.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["import"]["state"], "checked");
    assert_eq!(body["import"]["summary"]["new"], 7);
    assert!(app.store.follow_ups(ids[0]).await.unwrap().is_empty());
    assert_eq!(app.audit_count().await, audits);
    // Confirmed: written, one audit row each naming the file, plus the import's.
    let job = body["import"]["id"].as_i64().unwrap();
    let r = api
        .c
        .post(app.url(&format!("/api/v1/imports/{job}/apply")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["import"]["state"], "done");
    assert_eq!(body["imported"], 7);
    assert_eq!(app.audit_count().await, audits + 8);
    let entries = app
        .store
        .audit_log(20, None, Some("follow_up"))
        .await
        .unwrap();
    assert!(entries
        .iter()
        .take(7)
        .all(|e| e.after.as_ref().unwrap()["import"]["id"] == job));
    let (_, fu) = api
        .get(&format!("/api/v1/indicators/{}/follow-ups/2023T3", ids[0]))
        .await;
    assert_eq!(fu["value"], json!(805.0));
    assert_eq!(fu["assessment"]["sv"], "Kortare än i våras");
    // A confirmed check cannot be applied twice.
    let r = api
        .c
        .post(app.url(&format!("/api/v1/imports/{job}/apply")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // A check applied after its indicator was retired: refused, nothing written.
    let (s, body) = api
        .import(
            "?dry_run=true",
            "text/csv",
            "indicator;period;value\nKRC-NOTE;2023T2;Hösten var lugn.\n"
                .as_bytes()
                .to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let checked = body["import"]["id"].as_i64().unwrap();
    assert_eq!(
        api.delete(&format!("/api/v1/indicators/{}", ids[6]))
            .await
            .1["result"],
        "retired"
    );
    let r = api
        .c
        .post(app.url(&format!("/api/v1/imports/{checked}/apply")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(app.store.follow_ups(ids[6]).await.unwrap().len(), 1);
    api.patch(
        &format!("/api/v1/indicators/{}", ids[6]),
        json!({ "retired": false }),
    )
    .await;
    let audits = app.audit_count().await;

    // The same file again changes nothing.
    let (s, body) = api.import("", "text/csv", csv.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["import"]["summary"]["unchanged"], 7);
    assert_eq!(body["imported"], 0);
    assert_eq!(
        app.audit_count().await,
        audits + 1,
        "only the import's own row"
    );

    // The same from a workbook: a number cell formatted as a percentage
    // reads as the percentage it shows; one changed figure is one change.
    let (s, body) = api
        .import(
            "",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx(
                &[
                    vec!["indicator", "period", "value"],
                    vec!["KRC-QUEUE", "2023T3", "0:12:00"],
                    vec!["KRC-CALLS", "2023T3", "96624"],
                    vec!["KRC-ANSWERED", "2023T3", ""],
                ],
                Some((3, 2, 0.9)),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["import"]["summary"]["changed"].clone(),
            body["import"]["summary"]["unchanged"].clone()
        ),
        (json!(1), json!(2)),
        "{body}"
    );
    let (_, fu) = api
        .get(&format!("/api/v1/indicators/{}/follow-ups/2023T3", ids[0]))
        .await;
    assert_eq!(fu["value"], json!(720.0));

    // One bad cell anywhere: every error named by sheet, line and column,
    // nothing written.
    let before = app.store.follow_ups(ids[0]).await.unwrap();
    let (s, body) = api
        .import(
            "",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx(
                &[
                    vec!["indicator", "period", "value"],
                    vec!["KRC-QUEUE", "2023T2", "0:11:00"],
                    vec!["KRC-SHIFTS", "2023T2", "192"],
                    vec!["KRC-QUEUE", "2023Q3", "0:11:00"],
                    vec!["NOPE", "2023T2", "1"],
                ],
                None,
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let lines: Vec<(Value, Value, Value)> = body["error"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["sheet"].clone(), l["line"].clone(), l["field"].clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (json!("Siffror"), json!(3), json!("value")),
            (json!("Siffror"), json!(4), json!("period")),
            (json!("Siffror"), json!(5), json!("indicator"))
        ]
    );
    assert_eq!(app.store.follow_ups(ids[0]).await.unwrap(), before);
    // A bad last line of a CSV file: nothing of the good lines before it.
    let mut csv2 = String::from("indicator,period,value\n");
    for t in ["2022T1", "2022T2", "2022T3"] {
        csv2.push_str(&format!("KRC-CALLS,{t},100\n"));
    }
    csv2.push_str("KRC-CALLS,2023T1,lots\n");
    let (s, body) = api.import("", "text/csv", csv2.into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["lines"][0]["line"], 5);
    assert_eq!(body["error"]["lines"][0]["field"], "value");
    assert_eq!(app.store.follow_ups(ids[2]).await.unwrap().len(), 1);
    // The same indicator and period twice: the later line named.
    let (s, body) = api
        .import(
            "",
            "text/csv",
            b"indicator;period;value\nKRC-CALLS;2023T2;5\nKRC-CALLS;2023T2;6\n".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["lines"][0]["line"], 3);
    assert!(body["error"]["lines"][0]["expected"]
        .as_str()
        .unwrap()
        .contains("line 2"));
    // Out of scope reads as unknown.
    app.add_user("manager-b@x.fi", Role::AreaManager, Some(f.area_b))
        .await;
    let m = Api {
        app: &app,
        c: app.client(),
        token: app.token("manager-b@x.fi").await,
    };
    let (s, body) = m
        .import(
            "",
            "text/csv",
            b"indicator;period;value\nKRC-CALLS;2023T2;5\n".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["lines"][0]["code"], "not_found");
    app.stop().await;
}

#[tokio::test]
async fn the_follow_up_form_offers_the_indicators_periods_and_asks_why_a_figure_jumps() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let web = app.login("admin@x.fi").await;
    // The fixture's indicator is tertial, plan year 2024.
    let form = web
        .get(app.url(&format!(
            "/indicators/{}/follow-up?period=2024H1&lang=sv",
            f.ind_a1
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("<select id=\"period\""),
        "a select of its periods"
    );
    assert!(
        form.contains("<option value=\"2024T1\" selected>"),
        "the last of its periods within 1–6/2024"
    );
    assert!(
        form.contains("<option value=\"2023T3\""),
        "the year before, for the previous figure"
    );
    assert!(!form.contains("2024H1\""), "a half year is not its period");
    // A history of figures, then one ten times bigger: kept only with a comment.
    let sys = valvo_core::access::Principal::system("t");
    for (p, v) in [
        ("2023T1", 41.0),
        ("2023T2", 44.0),
        ("2023T3", 43.0),
        ("2024T1", 46.0),
    ] {
        let input = valvo_core::plan::FollowUpInput::of(
            Some(valvo_core::Figure::number(v)),
            valvo_core::I18nText::default(),
            valvo_core::I18nText::default(),
        );
        app.store
            .put_follow_up(&sys, f.ind_a1, p.parse().unwrap(), &input)
            .await
            .unwrap();
    }
    let r = app
        .post_form(
            &web,
            &format!("/indicators/{}/follow-up?lang=en", f.ind_a1),
            &[("period", "2024T2"), ("value", "470")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("far from this indicator"), "asks why");
    assert!(page.contains("value=\"470\""), "keeps what was typed");
    let r = app
        .post_form(
            &web,
            &format!("/indicators/{}/follow-up", f.ind_a1),
            &[
                ("period", "2024T2"),
                ("value", "470"),
                ("assessment_en", "A new service was counted in."),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let fu = app
        .store
        .follow_up(f.ind_a1, &"2024T2".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(fu.flagged, "kept, flagged for the coordinator");
    app.stop().await;
}

#[tokio::test]
async fn a_units_figures_entered_in_one_table_saved_together_and_what_is_missing() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let api = Api {
        app: &app,
        c: app.client(),
        token: app.token("admin@x.fi").await,
    };
    let (unit, ids) = plan_of_every_kind(&api, f.area_a).await;
    let web = app.login("admin@x.fi").await;
    let page = web
        .get(app.url(&format!("/org/{unit}/figures?period=2023T3&lang=sv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for id in &ids {
        assert!(
            page.contains(&format!("name=\"value_{id}\"")),
            "a field for {id}"
        );
    }
    assert!(page.contains("for=\"value_"), "each field labelled");
    // One bad cell: nothing saved, the cell named, what was typed kept.
    let mut fields: Vec<(String, String)> = SEED_000
        .iter()
        .zip(&ids)
        .map(|((_, _, _, typed), id)| (format!("value_{id}"), typed.to_string()))
        .collect();
    fields.push((format!("value_{}", ids[4]), "192 av 469".into()));
    fields.retain(|(k, v)| !(k == &format!("value_{}", ids[4]) && v == "192/469"));
    fields.push(("period".into(), "2023T3".into()));
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app
        .post_form(&web, &format!("/org/{unit}/figures?lang=sv"), &form)
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!("href=\"#value_{}\"", ids[4])),
        "the cell is named"
    );
    assert!(
        page.contains("value=\"192 av 469\"") && page.contains("value=\"0:13:25\""),
        "typed values kept"
    );
    for id in &ids {
        assert!(
            app.store.follow_ups(*id).await.unwrap().is_empty(),
            "nothing saved"
        );
    }
    // Corrected: all saved at once.
    let fixed: Vec<(&str, &str)> = form
        .iter()
        .map(|(k, v)| {
            if *v == "192 av 469" {
                (*k, "192/469")
            } else {
                (*k, *v)
            }
        })
        .collect();
    let r = app
        .post_form(&web, &format!("/org/{unit}/figures"), &fixed)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for id in &ids {
        assert_eq!(app.store.follow_ups(*id).await.unwrap().len(), 1);
    }
    // The same again changes nothing (no new audit rows).
    let audits = app.audit_count().await;
    let r = app
        .post_form(&web, &format!("/org/{unit}/figures"), &fixed)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count().await, audits);

    // The template to hand on: the unit's indicators with their figures,
    // read back by the import unchanged.
    let r = web
        .get(app.url(&format!("/org/{unit}/figures/template.xlsx?period=2023T3")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    let book = r.bytes().await.unwrap().to_vec();
    let (s, body) = api
        .import(
            "",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            book,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["import"]["summary"]["unchanged"], 7, "{body}");

    // What is missing: 2023's tertials of this unit, the third one complete.
    let overview = web
        .get(app.url("/figures?year=2023&lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains(&format!("/org/{unit}/figures?period=2023T3")));
    assert!(overview.contains("complete") && overview.contains("missing"));
    let done = app
        .store
        .completeness(
            &valvo_core::access::Principal::system("t"),
            Some(unit),
            2023,
            time::OffsetDateTime::now_utc().date(),
        )
        .await
        .unwrap();
    let t3 = done
        .iter()
        .find(|c| c.period.to_string() == "2023T3")
        .unwrap();
    assert_eq!((t3.entered, t3.expected), (7, 7));
    let t1 = done
        .iter()
        .find(|c| c.period.to_string() == "2023T1")
        .unwrap();
    assert_eq!((t1.entered, t1.expected), (0, 7));

    // The goal moved to 2022: its 2023 figures are past the plan's years,
    // kept and listed for the coordinator.
    let sys = valvo_core::access::Principal::system("t");
    assert!(app
        .store
        .stray_follow_ups(&sys, 100)
        .await
        .unwrap()
        .is_empty());
    let goal = app.store.indicator(ids[0]).await.unwrap().goal_id;
    let (s, _) = api
        .patch(&format!("/api/v1/goals/{goal}"), json!({ "year": 2022 }))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.store.stray_follow_ups(&sys, 100).await.unwrap().len(),
        7
    );
    let overview = web
        .get(app.url("/figures?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains(&format!("/indicators/{}#fu-2023T3", ids[0])));
    // A manager of area B sees none of area A's.
    app.add_user("manager-b@x.fi", Role::AreaManager, Some(f.area_b))
        .await;
    let b = app
        .store
        .user_by_email("manager-b@x.fi")
        .await
        .unwrap()
        .unwrap()
        .principal();
    assert!(app
        .store
        .stray_follow_ups(&b, 100)
        .await
        .unwrap()
        .is_empty());
    app.stop().await;
}
