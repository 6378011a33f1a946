//! Ombudsperson contacts and supervision visits through the API: recorded
//! by their roles, refused to others, counted on write, and the statistics
//! compared with the test's own count of what it posted.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};
use valvo_core::access::{Principal, Role};
use valvo_core::ProducerType;
use valvo_store::NewOrgUnit;

use crate::support::{fixture, t, Api, Fixture, TestApp};

/// The fixture, with a purchased unit P under area A and a private unit V under B.
async fn county(app: &TestApp) -> (Fixture, i64, i64) {
    let f = fixture(app).await;
    let sys = Principal::system("test");
    let unit = |parent, code: &str, producer| NewOrgUnit {
        parent_id: Some(parent),
        code: code.into(),
        name: t(&format!("Yksikkö {code}"), &format!("Enhet {code}")),
        producer,
        sort_order: 0,
        service_type: None,
    };
    let p = app
        .store
        .create_org_unit(&sys, &unit(f.area_a, "p", ProducerType::Purchased))
        .await
        .unwrap();
    let v = app
        .store
        .create_org_unit(&sys, &unit(f.area_b, "v", ProducerType::Private))
        .await
        .unwrap();
    (f, p, v)
}

const REASONS: [&str; 6] = [
    "care",
    "conduct",
    "service",
    "legal_remedies",
    "information",
    "fees",
];

#[tokio::test]
async fn ombudsperson_contacts_are_counted_on_write_and_read_back_by_scope() {
    let app = TestApp::spawn().await;
    let (f, p_unit, v_unit) = county(&app).await;
    app.add_user("omb@x.fi", Role::Ombudsperson, None).await;
    app.add_user("mgr@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    app.add_user("view@x.fi", Role::Viewer, None).await;
    app.add_user("sup@x.fi", Role::Supervisor, None).await;
    let omb = Api::of(&app, "omb@x.fi").await;
    let mgr = Api::of(&app, "mgr@x.fi").await;

    // 60 contacts over 2024 Q1, with one to three items each; the test
    // counts what it posts on its own.
    let units = [
        Some(f.unit_a1),
        Some(p_unit),
        Some(v_unit),
        Some(f.area_b),
        None,
    ];
    let producer_of = |u: Option<i64>| match u {
        Some(x) if x == p_unit => "purchased",
        Some(x) if x == v_unit => "private",
        Some(_) => "own",
        None => "other_organiser",
    };
    let in_area_a = |u: Option<i64>| u == Some(f.unit_a1) || u == Some(p_unit);
    let mut contacts_a = 0u64;
    let mut items_all = 0u64;
    let mut items_a = 0u64;
    let mut reasons_all: BTreeMap<&str, u64> = BTreeMap::new();
    let mut producers_all: BTreeMap<&str, u64> = BTreeMap::new();
    let mut languages_all: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_month = [0u64; 3];
    for i in 0..60usize {
        let n_items = 1 + i % 3;
        let mut items = Vec::new();
        let mut item_units = Vec::new();
        for k in 0..n_items {
            let u = units[(i + 2 * k) % units.len()];
            let reasons: Vec<&str> = (0..1 + (i + k) % 2)
                .map(|j| REASONS[(i * 7 + k * 3 + j * 5) % REASONS.len()])
                .collect();
            let sector = ["health", "social", "other"][(i + k) % 3];
            let mut item = json!({ "sector": sector, "reasons": reasons });
            match u {
                Some(u) => item["org_unit"] = json!(u),
                None => item["producer"] = json!("other_organiser"),
            }
            items.push(item);
            item_units.push(u);
            items_all += 1;
            *producers_all.entry(producer_of(u)).or_default() += 1;
            let lang = ["fi", "fi", "fi", "sv", "en"][i % 5];
            *languages_all.entry(lang).or_default() += 1;
            if in_area_a(u) {
                items_a += 1;
            }
            let mut seen = reasons.clone();
            seen.sort();
            seen.dedup();
            for r in seen {
                *reasons_all.entry(r).or_default() += 1;
            }
        }
        if item_units.iter().all(|u| in_area_a(*u)) {
            contacts_a += 1;
        }
        let month = 1 + i % 3;
        by_month[i % 3] += 1;
        let channel = ["phone", "email", "letter", "meeting", "e_service"][i % 5];
        let language = ["fi", "fi", "fi", "sv", "en"][i % 5];
        let group = ["adult", "adult", "family", "minor"][i % 4];
        let (s, body) = omb
            .post(
                "/api/v1/ombudsman/contacts",
                json!({
                    "contacted_on": format!("2024-{month:02}-{:02}", 1 + i % 28),
                    "channel": channel,
                    "language": language,
                    "client_group": group,
                    "items": items,
                    "measures": ["advice"],
                    "note": "Asiakas 010190-123M soitti numerosta 040 1234567",
                }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }

    let (s, county_stats) = omb
        .get(&format!(
            "/api/v1/ombudsman/stats?org_unit={}&period=2024Q1",
            f.county
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{county_stats}");
    assert_eq!(county_stats["contacts"], 60);
    assert_eq!(county_stats["items"], items_all);
    assert_eq!(county_stats["previous_contacts"], 0);
    let listed = |v: &Value, list: &str| -> BTreeMap<String, u64> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["count"].as_u64().unwrap_or(0) > 0)
            .map(|e| {
                (
                    e["code"].as_str().unwrap().to_string(),
                    e["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let own = |m: &BTreeMap<&str, u64>| -> BTreeMap<String, u64> {
        m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    assert_eq!(listed(&county_stats, "reasons"), own(&reasons_all));
    assert_eq!(listed(&county_stats, "producers"), own(&producers_all));
    assert_eq!(listed(&county_stats, "languages"), own(&languages_all));
    let mentions: u64 = reasons_all.values().sum();
    let top = &county_stats["reasons"][0];
    let top_count = top["count"].as_u64().unwrap();
    assert_eq!(
        top_count,
        *reasons_all.values().max().unwrap(),
        "most mentioned first"
    );
    let expected_share = (top_count as f64 * 10_000.0 / mentions as f64).round() / 100.0;
    assert_eq!(top["share"].as_f64().unwrap(), expected_share);
    let months: Vec<u64> = county_stats["by_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["contacts"].as_u64().unwrap())
        .collect();
    assert_eq!(months, by_month.to_vec());
    let measures = listed(&county_stats, "measures");
    assert_eq!(measures.get("advice"), Some(&60));

    // The area manager reads area A's figures, not the county's, and records nothing.
    let (s, area) = mgr
        .get(&format!(
            "/api/v1/ombudsman/stats?org_unit={}&period=2024Q1",
            f.area_a
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        area["contacts"], contacts_a,
        "contacts wholly inside area A"
    );
    assert_eq!(area["items"], items_a);
    let (s, _) = mgr
        .get(&format!(
            "/api/v1/ombudsman/stats?org_unit={}&period=2024Q1",
            f.county
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let one = json!({
        "contacted_on": "2024-02-01", "channel": "phone", "language": "fi", "client_group": "adult",
        "items": [{ "org_unit": f.unit_a1, "sector": "health", "reasons": ["care"] }],
    });
    for who in ["mgr@x.fi", "view@x.fi", "sup@x.fi"] {
        let (s, _) = Api::of(&app, who)
            .await
            .post("/api/v1/ombudsman/contacts", one.clone())
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who} records no contacts");
    }

    // The ombudsperson's own log keeps the note with personal data replaced;
    // nobody else reads contacts.
    let (s, log) = omb.get("/api/v1/ombudsman/contacts?period=2024Q1").await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let contacts = log["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 60);
    let note = contacts[0]["note"].as_str().unwrap();
    assert!(
        note.contains("[HETU]") && note.contains("[PHONE]") && !note.contains("010190-123M"),
        "{note}"
    );
    let (s, _) = mgr.get("/api/v1/ombudsman/contacts?period=2024Q1").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The kept counts agree with a count of the contacts themselves.
    let tree = app.store.org_tree().await.unwrap();
    let q1 = "2024Q1".parse().unwrap();
    for org in [f.county, f.area_a, f.area_b, p_unit] {
        let kept = app.store.ombudsman_stats(org, q1).await.unwrap();
        let counted = app
            .store
            .ombudsman_stats_counted(&tree, org, q1)
            .await
            .unwrap();
        assert_eq!(kept, counted, "unit {org}");
    }

    // A plan indicator fills itself from the contacts (source ombudsman.contacts).
    app.store
        .set_indicator_source(
            &Principal::system("test"),
            f.ind_a1,
            Some(valvo_core::incident::IndicatorSource::OmbudsmanContacts),
        )
        .await
        .unwrap();
    let (_, ups) = omb
        .get(&format!("/api/v1/org-units/{}/plan/2024", f.unit_a1))
        .await;
    let t1 = "2024T1".parse().unwrap();
    let want = app
        .store
        .ombudsman_stats(f.unit_a1, t1)
        .await
        .unwrap()
        .contacts;
    assert!(want > 0);
    let got = ups.to_string();
    let follow_ups = ups["goals"][0]["indicators"][0]["follow_ups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        follow_ups
            .iter()
            .any(|u| u["period"] == "2024T1" && u["value"].as_f64() == Some(want as f64)),
        "{want} contacts in T1: {got}"
    );

    // Bad input names each field; nothing is written.
    let before = app.audit_count().await;
    let (s, body) = omb
        .post(
            "/api/v1/ombudsman/contacts",
            json!({
                "contacted_on": "2024-13-01", "channel": "pigeon", "language": "fi", "client_group": "adult",
                "items": [{ "sector": "health", "reasons": [] }, { "org_unit": f.unit_a1, "sector": "moon", "reasons": ["care"] }],
                "measures": ["advice", "magic"],
            }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = crate::support::error_fields(&body);
    for f in ["contacted_on", "channel", "measures.1", "items.1.sector"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let (s, body) = omb
        .post(
            "/api/v1/ombudsman/contacts",
            json!({
                "contacted_on": "2024-02-01", "channel": "phone", "language": "fi", "client_group": "adult",
                "items": [{ "sector": "health", "reasons": [] }],
            }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = crate::support::error_fields(&body);
    assert_eq!(fields, vec!["items.0.producer", "items.0.reasons"]);
    let (s, _) = omb
        .post(
            "/api/v1/ombudsman/contacts",
            json!({
                "contacted_on": "2024-02-01", "channel": "phone", "language": "fi", "client_group": "adult",
                "items": [{ "producer": "own", "sector": "health", "reasons": ["no_such_reason"] }],
            }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown reason is named as not found"
    );
    assert_eq!(app.audit_count().await, before);

    // A county renames a reason and retires one; a retired reason is refused.
    app.add_user("coord@x.fi", Role::QualityCoordinator, None)
        .await;
    let coord = Api::of(&app, "coord@x.fi").await;
    let (s, r) = coord
        .put(
            "/api/v1/ombudsman/reasons/fees",
            json!({ "name": { "fi": "<i>Maksut</i>", "sv": "Avgifter" }, "active": false }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, _) = omb
        .put(
            "/api/v1/ombudsman/reasons/fees",
            json!({ "name": { "fi": "x", "sv": "y" } }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut retired = one.clone();
    retired["items"][0]["reasons"] = json!(["fees"]);
    let (s, _) = omb.post("/api/v1/ombudsman/contacts", retired).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = omb.get("/api/v1/ombudsman/reasons").await;
    let fees = list["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "fees")
        .unwrap();
    assert_eq!(
        (fees["active"].as_bool(), fees["name"]["sv"].as_str()),
        (Some(false), Some("Avgifter"))
    );

    // Public: only a whole county's figures (a county less its areas would
    // tell what no page shows); small cells withheld with a complement.
    let r = reqwest::get(app.url(&format!(
        "/api/v1/ombudsman/stats?org_unit={p_unit}&period=2024Q1"
    )))
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a unit's figures need a token"
    );
    let january: valvo_core::Period = "2024-01".parse().unwrap();
    let r = reqwest::get(app.url(&format!(
        "/api/v1/ombudsman/stats?org_unit={}&period=2024-01",
        f.county
    )))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let public: Value = r.json().await.unwrap();
    assert_eq!(public["public"], true);
    let full = app.store.ombudsman_stats(f.county, january).await.unwrap();
    let mut withheld_somewhere = false;
    for (list, shares) in [
        ("reasons", &full.reasons),
        ("sectors", &full.sectors),
        ("languages", &full.languages),
    ] {
        let shown = public[list].as_array().unwrap();
        let hidden: Vec<bool> = shown.iter().map(|e| e["count"].is_null()).collect();
        for (e, s) in shown.iter().zip(shares.iter()) {
            if s.count > 0 && s.count < 5 {
                assert!(
                    e["count"].is_null(),
                    "{list} {} = {} withheld",
                    s.code,
                    s.count
                );
            }
        }
        assert!(
            hidden.iter().filter(|h| **h).count() != 1,
            "{list}: one withheld cell would follow from the total"
        );
        withheld_somewhere |= hidden.iter().any(|h| *h);
    }
    assert!(
        withheld_somewhere,
        "the unit's figures have small cells to withhold"
    );
    let months: Vec<&Value> = public["by_month"].as_array().unwrap().iter().collect();
    let shown: u64 = months.iter().filter_map(|m| m["contacts"].as_u64()).sum();
    let hidden_months = months.iter().filter(|m| m["contacts"].is_null()).count();
    if let Some(total) = public["contacts"].as_u64() {
        assert!(
            hidden_months != 1 || shown == total,
            "a single withheld month would follow from the total"
        );
    }
    // The public page shows the same withheld figures: no count under five.
    let unit_page = reqwest::get(app.url("/public/org/p/ombudsman?period=2024Q1"))
        .await
        .unwrap();
    assert_eq!(unit_page.status(), StatusCode::NOT_FOUND);
    let page = reqwest::get(app.url("/public/org/county/ombudsman?period=2024-01&lang=en"))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Statistical items by producer"), "{page}");
    let quarter = reqwest::get(app.url("/public/org/county/ombudsman?period=2024Q1&lang=en"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        quarter.contains("&lt;i&gt;Maksut") && !quarter.contains("<i>Maksut"),
        "a name a county typed is text, never markup"
    );
    for n in 1..5 {
        assert!(
            !page.contains(&format!("<td class=\"num\">{n}</td>")),
            "a count of {n} on the public page: {page}"
        );
    }
    app.stop().await;
}

/// Seed 003's visits table, Q1 2024 (KÄYNNIT Tammi Helmi Maalis Yht):
/// (producer, kind, visits in January, February, March).
const SEED_003_VISITS: [(&str, &str, [u64; 3]); 7] = [
    ("purchased", "unannounced", [12, 10, 6]),
    ("purchased", "announced", [0, 0, 1]),
    ("purchased", "follow_up", [0, 1, 1]),
    ("own", "unannounced", [5, 3, 6]),
    ("own", "announced", [0, 1, 3]),
    ("own", "follow_up", [1, 0, 0]),
    ("private", "unannounced", [2, 5, 2]),
];

/// Records seed 003's visits of Q1 2024 as `sup`, after a first visit to
/// each unit in December 2023 that the follow-ups follow.
async fn seed_003_visits(sup: &Api<'_>, f: &Fixture, p_unit: i64, v_unit: i64) {
    let unit_of = |producer: &str| match producer {
        "purchased" => p_unit,
        "private" => v_unit,
        _ => f.unit_a1,
    };
    // A first visit to each unit, which the follow-ups follow: in the
    // December before, so the quarter holds exactly the seed's visits.
    let mut first = BTreeMap::new();
    for producer in ["purchased", "own", "private"] {
        let (s, v) = sup
            .post(
                "/api/v1/supervision/visits",
                json!({ "org_unit": unit_of(producer), "visited_on": "2023-12-05", "kind": "announced" }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        first.insert(producer, v["id"].as_i64().unwrap());
    }
    for (producer, kind, months) in SEED_003_VISITS {
        for (m, n) in months.iter().enumerate() {
            for k in 0..*n {
                let mut body = json!({
                    "org_unit": unit_of(producer),
                    "visited_on": format!("2024-{:02}-{:02}", m + 1, 1 + k),
                    "kind": kind,
                    "topics": ["self_monitoring_plan", "medication_safety"],
                });
                if kind == "follow_up" {
                    body["follows"] = json!(first[producer]);
                }
                let (s, v) = sup.post("/api/v1/supervision/visits", body).await;
                assert_eq!(s, StatusCode::CREATED, "{v}");
            }
        }
    }
}

#[tokio::test]
async fn seed_003_visits_fill_the_table_and_corrections_are_followed() {
    let app = TestApp::spawn().await;
    let (f, p_unit, v_unit) = county(&app).await;
    app.add_user("sup@x.fi", Role::Supervisor, None).await;
    app.add_user("supb@x.fi", Role::Supervisor, Some(f.area_b))
        .await;
    app.add_user("mgr@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let sup = Api::of(&app, "sup@x.fi").await;
    seed_003_visits(&sup, &f, p_unit, v_unit).await;
    // One visit with findings: a correction overdue, one to come, an observation.
    let (s, v) = sup
        .post(
            "/api/v1/supervision/visits",
            json!({
                "org_unit": p_unit, "visited_on": "2024-03-20", "kind": "unannounced",
                "findings": [
                    { "topic": "premises", "severity": "shortcoming", "text": { "fi": "Kulkureitit tukossa", "sv": "Gångvägar blockerade" }, "correction_due": "2024-04-30" },
                    { "topic": "client_records", "severity": "serious", "text": { "sv": "Journaler saknas" }, "correction_due": "2099-01-31" },
                    { "topic": "active_everyday", "severity": "observation", "text": { "fi": "Hyvä arki" } },
                ],
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings[0]["state"], "overdue");
    assert_eq!(findings[1]["state"], "open");
    assert!(
        findings[2]["state"].is_null(),
        "no correction asked of an observation"
    );

    let (s, stats) = sup
        .get(&format!(
            "/api/v1/supervision/stats?org_unit={}&period=2024Q1",
            f.county
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    let table = &stats["table"];
    assert_eq!(
        table["month_totals"],
        json!([20, 20, 20]),
        "the seed's 20 20 19, and the visit with findings in March"
    );
    assert_eq!(table["total"], 60);
    let rows: BTreeMap<(String, String), Vec<u64>> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let months: Vec<u64> = r["months"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap())
                .collect();
            assert_eq!(
                r["total"].as_u64().unwrap(),
                months.iter().sum::<u64>(),
                "row total"
            );
            (
                (
                    r["producer"].as_str().unwrap().to_string(),
                    r["kind"].as_str().unwrap().to_string(),
                ),
                months,
            )
        })
        .collect();
    for (producer, kind, months) in SEED_003_VISITS {
        let mut want = months.to_vec();
        if (producer, kind) == ("purchased", "unannounced") {
            want[2] += 1;
        }
        assert_eq!(
            rows[&(producer.to_string(), kind.to_string())],
            want,
            "{producer}/{kind}"
        );
    }
    assert_eq!(
        rows.len(),
        SEED_003_VISITS.len(),
        "a row only where there were visits"
    );
    assert_eq!(stats["previous_visits"], 3);
    assert_eq!(
        (
            stats["corrections_open"].as_u64(),
            stats["corrections_overdue"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(stats["corrections_requested"], 2);
    // The kept counts agree with a count of the visits themselves.
    let tree = app.store.org_tree().await.unwrap();
    let q1: valvo_core::Period = "2024Q1".parse().unwrap();
    let counted = app.store.visits_counted(&tree, f.county, q1).await.unwrap();
    assert_eq!(counted.values().sum::<u64>(), 60);
    for row in table["rows"].as_array().unwrap() {
        let key = format!(
            "{}/{}",
            row["producer"].as_str().unwrap(),
            row["kind"].as_str().unwrap()
        );
        for (i, m) in ["2024-01", "2024-02", "2024-03"].iter().enumerate() {
            assert_eq!(
                counted
                    .get(&(key.clone(), m.to_string()))
                    .copied()
                    .unwrap_or(0),
                row["months"][i].as_u64().unwrap()
            );
        }
    }

    // The area manager reads its area's figures and the visit to its unit, records none.
    let mgr = Api::of(&app, "mgr@x.fi").await;
    let (s, area) = mgr
        .get(&format!(
            "/api/v1/supervision/stats?org_unit={}&period=2024Q1",
            f.area_a
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(area["table"]["total"], 60 - 9, "all but the private unit's");
    let visit_id = v["id"].as_i64().unwrap();
    let (s, _) = mgr
        .get(&format!("/api/v1/supervision/visits/{visit_id}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = mgr
        .post(
            "/api/v1/supervision/visits",
            json!({ "org_unit": f.unit_a1, "visited_on": "2024-03-01", "kind": "announced" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A supervisor of area B does not see area A's units at all.
    let supb = Api::of(&app, "supb@x.fi").await;
    let (s, _) = supb
        .post(
            "/api/v1/supervision/visits",
            json!({ "org_unit": f.unit_a1, "visited_on": "2024-03-01", "kind": "announced" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = supb
        .get(&format!("/api/v1/supervision/visits/{visit_id}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A county renames and retires topics of its checklist; a retired topic is refused.
    app.add_user("coord@x.fi", Role::QualityCoordinator, None)
        .await;
    let coord = Api::of(&app, "coord@x.fi").await;
    let (s, t) = coord
        .put(
            "/api/v1/supervision/topics/premises",
            json!({ "name": { "fi": "Tilat ja kalusteet", "sv": "Lokaler och möbler" }, "active": false }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (s, _) = sup
        .put(
            "/api/v1/supervision/topics/premises",
            json!({ "name": { "fi": "x", "sv": "y" } }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a supervisor does not change the checklist"
    );
    let (s, body) = sup
        .post(
            "/api/v1/supervision/visits",
            json!({ "org_unit": f.unit_a1, "visited_on": "2024-03-01", "kind": "announced", "topics": ["premises"] }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "topics.0");
    let (_, list) = sup.get("/api/v1/supervision/topics").await;
    let premises = list["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "premises")
        .unwrap();
    assert_eq!(
        (
            premises["active"].as_bool(),
            premises["name"]["sv"].as_str()
        ),
        (Some(false), Some("Lokaler och möbler"))
    );

    // Bad input names each field.
    let (s, body) = sup
        .post(
            "/api/v1/supervision/visits",
            json!({ "org_unit": f.unit_a1, "visited_on": "2024-03-01", "kind": "follow_up",
                    "findings": [{ "topic": "weather", "severity": "awful" }] }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = crate::support::error_fields(&body);
    assert!(fields.contains(&"findings.0.severity"), "{fields:?}");

    // The producer's reply closes a correction; the overdue count follows.
    let fid = findings[0]["id"].as_i64().unwrap();
    let (s, done) = sup
        .post(
            &format!("/api/v1/supervision/findings/{fid}/correction"),
            json!({ "done": true, "reply": "Reitit avattu" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "done");
    let (s, _) = mgr
        .post(
            &format!("/api/v1/supervision/findings/{fid}/correction"),
            json!({ "done": false }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, stats) = sup
        .get(&format!(
            "/api/v1/supervision/stats?org_unit={}&period=2024Q1",
            f.county
        ))
        .await;
    assert_eq!(
        (
            stats["corrections_open"].as_u64(),
            stats["corrections_overdue"].as_u64()
        ),
        (Some(1), Some(0))
    );
    // The inspection report went to AVI.
    let (s, sent) = sup
        .post(
            &format!("/api/v1/supervision/visits/{visit_id}/avi"),
            json!({ "sent_on": "2024-03-25" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sent}");
    assert_eq!(sent["avi_sent_on"], "2024-03-25");
    let (s, _) = sup
        .post(
            &format!("/api/v1/supervision/visits/{visit_id}/avi"),
            json!({ "sent_on": "2024-03-01" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not before the visit");
    app.stop().await;
}

#[tokio::test]
async fn the_report_fills_its_supervision_and_ombudsman_sections_by_itself() {
    let app = TestApp::spawn().await;
    let (f, p_unit, v_unit) = county(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    app.add_user("sup@x.fi", Role::Supervisor, None).await;
    app.add_user("omb@x.fi", Role::Ombudsperson, None).await;
    seed_003_visits(&Api::of(&app, "sup@x.fi").await, &f, p_unit, v_unit).await;
    // 40 contacts in Q1: care 20 times, conduct 12, fees 6, access twice
    // (5 %, not printed); 30 about own units, 10 about a purchased one.
    let omb = Api::of(&app, "omb@x.fi").await;
    for i in 0..40usize {
        let reason = match i {
            0..20 => "care",
            20..32 => "conduct",
            32..38 => "fees",
            _ => "access",
        };
        let unit = if i % 4 == 3 { p_unit } else { f.unit_a1 };
        let (s, b) = omb
            .post(
                "/api/v1/ombudsman/contacts",
                json!({
                    "contacted_on": format!("2024-0{}-10", 1 + i % 3), "channel": "phone", "language": "sv",
                    "client_group": "adult", "items": [{ "org_unit": unit, "sector": "health", "reasons": [reason] }],
                }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let admin = app.login("admin@x.fi").await;
    let r = app
        .post_form(
            &admin,
            &format!("/org/{}/reports", f.county),
            &[("report_period", "2024Q1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let report = r.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let html = admin
        .get(app.url(&format!("{report}?view=sv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "Tillsynsbesök efter producent och typ av besök",
        "köptjänst</th><td>oanmält</td><td class=\"num\">12</td><td class=\"num\">10</td><td class=\"num\">6</td><td class=\"num\">28</td>",
        "<td class=\"num\">20</td><td class=\"num\">20</td><td class=\"num\">19</td><td class=\"num\">59</td>",
        "Vanligaste kontaktorsakerna (över 5 %)",
        "Missnöje med vården</th><td class=\"num\">20</td><td class=\"num\">50\u{a0}%</td>",
        "Bemötande</th><td class=\"num\">12</td><td class=\"num\">30\u{a0}%</td>",
        // Withheld beside access (2): else 40 mentions less the others would give it away.
        "Klientavgifter</th><td class=\"num\">\u{2013}</td><td class=\"num\">\u{2013}</td>",
        "egen produktion</th><td class=\"num\">30</td><td class=\"num\">75\u{a0}%</td>",
        "Siffrorna från patient- och socialombudets kontakter i Valvo.",
    ] {
        assert!(html.contains(want), "{want} in the Swedish report");
    }
    assert!(
        !html.contains("Tillgång till vård</th>"),
        "a reason at 5 % is not among the main ones"
    );
    let pdf = admin
        .get(app.url(&format!("{report}/file/report-fi.pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    let squeezed = pdf_text(pdf).await;
    for want in [
        "Valvontakäynnit tuottajan ja käynnin lajin mukaan",
        "ostopalvelu ennalta ilmoittamaton 12 10 6 28",
        "Yhteensä 20 20 19 59",
        "Tyytymättömyys hoitoon 20 50 %",
        "Luvut Valvoon kirjatuista potilas- ja sosiaaliasiavastaavan yhteydenotoista.",
    ] {
        assert!(
            squeezed.contains(want),
            "{want} in the Finnish PDF: {squeezed}"
        );
    }
    app.stop().await;
}

/// No message key shown as itself (a missing message renders as `[key]`).
fn all_messages_found(html: &str) {
    let missing = html
        .split('[')
        .skip(1)
        .filter_map(|s| s.split(']').next())
        .find(|k| {
            k.contains('-')
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
        });
    assert_eq!(missing, None, "a message key shown as itself");
}

/// A PDF answer's text as pdftotext reads it, white space squeezed.
async fn pdf_text(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.unwrap();
    let dir = std::env::temp_dir().join(format!("valvo-oversight-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.pdf");
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    std::fs::remove_dir_all(&dir).ok();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_pages_record_contacts_and_visits_and_show_them_to_whom_they_concern() {
    let app = TestApp::spawn().await;
    let (f, p_unit, _) = county(&app).await;
    app.add_user("omb@x.fi", Role::Ombudsperson, None).await;
    app.add_user("sup@x.fi", Role::Supervisor, None).await;
    app.add_user("mgr@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let today = time::OffsetDateTime::now_utc().date();
    let quarter =
        valvo_core::Period::containing(today, valvo_core::PeriodKind::Quarter).to_string();
    let year = today.year().to_string();
    let body = |r: reqwest::Response| async move { r.text().await.unwrap() };

    // The ombudsperson records a contact through the form; errors name the fields.
    let omb = app.login("omb@x.fi").await;
    let page = body(omb.get(app.url("/ombudsman?lang=fi")).send().await.unwrap()).await;
    all_messages_found(&page);
    assert!(
        page.contains("name=\"item1_reason1\"")
            && page.contains("Potilas- ja sosiaaliasiavastaavan yhteydenotot")
    );
    let unit = f.unit_a1.to_string();
    let bad = app
        .post_form(
            &omb,
            "/ombudsman",
            &[
                ("contacted_on", ""),
                ("channel", "phone"),
                ("contact_language", "fi"),
                ("client_group", "adult"),
                ("item1_sector", "health"),
                ("item1_reason1", "care"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body(bad).await;
    assert!(
        html.contains("href=\"#contacted_on\"") && html.contains("href=\"#item1_producer\""),
        "{html}"
    );
    let ok = app
        .post_form(
            &omb,
            "/ombudsman",
            &[
                ("contacted_on", &today.to_string()),
                ("channel", "phone"),
                ("contact_language", "sv"),
                ("client_group", "adult"),
                ("measure", "advice"),
                ("contact_note", "Soitti 040 1234567"),
                ("item1_org_unit", &unit),
                ("item1_sector", "health"),
                ("item1_reason1", "care"),
                ("item1_reason2", "conduct"),
                ("item2_producer", "other_organiser"),
                ("item2_sector", "social"),
                ("item2_reason1", "access"),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()["location"], "/ombudsman?recorded=1");
    let stats = body(
        omb.get(app.url(&format!(
            "/org/{}/ombudsman?period={quarter}&lang=en",
            f.county
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        stats.contains("Dissatisfaction with care") && stats.contains("another organiser"),
        "{stats}"
    );

    // The area manager reads area A's figures only, and records nothing.
    let mgr = app.login("mgr@x.fi").await;
    assert_eq!(
        mgr.get(app.url("/ombudsman"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let area = mgr
        .get(app.url(&format!(
            "/org/{}/ombudsman?period={quarter}&lang=en",
            f.area_a
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(area.status(), StatusCode::OK);
    let area = body(area).await;
    assert!(
        area.contains("Dissatisfaction with care") && !area.contains("another organiser"),
        "the county-level item is not area A's"
    );
    assert_eq!(
        mgr.get(app.url(&format!("/org/{}/ombudsman", f.county)))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );

    // The supervisor records a visit with a finding, marks it corrected, and sends it to AVI.
    let sup = app.login("sup@x.fi").await;
    let p = p_unit.to_string();
    let due = (today + time::Duration::days(30)).to_string();
    let bad = app
        .post_form(
            &sup,
            "/supervision",
            &[
                ("visit_org_unit", &p),
                ("visited_on", &today.to_string()),
                ("visit_kind", "unannounced"),
                ("finding1_topic", "premises"),
                ("finding1_severity", "observation"),
                ("finding1_text_fi", "Käytävät tukossa"),
                ("finding1_due", &due),
            ],
        )
        .await;
    assert_eq!(
        bad.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "an observation asks for no correction"
    );
    assert!(body(bad).await.contains("href=\"#finding1_due\""));
    let ok = app
        .post_form(
            &sup,
            "/supervision",
            &[
                ("visit_org_unit", &p),
                ("visited_on", &today.to_string()),
                ("visit_kind", "unannounced"),
                ("topic1", "premises"),
                ("finding1_topic", "premises"),
                ("finding1_severity", "shortcoming"),
                ("finding1_text_fi", "Käytävät tukossa"),
                ("finding1_due", &due),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let visit = ok.headers()["location"]
        .to_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let page = body(
        sup.get(app.url(&format!("{visit}?lang=fi")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        page.contains("Käytävät tukossa") && page.contains("avoin"),
        "{page}"
    );
    let finding = crate::support::hidden(&page, "finding");
    let r = app
        .post_form(
            &sup,
            &visit,
            &[
                ("action", "correction"),
                ("finding", &finding),
                ("done", "1"),
                ("correction_reply", "Käytävät tyhjennetty"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &sup,
            &visit,
            &[("action", "avi"), ("sent_on", &today.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = body(
        sup.get(app.url(&format!("{visit}?lang=fi")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("korjattu") && page.contains("Käytävät tyhjennetty"));
    assert!(page.contains(&valvo_core::period::format_date(today)));
    // The inspection report, in Swedish (the finding written in Finnish
    // only), with the county's contact details as its report has them.
    app.add_user("brand@x.fi", Role::Admin, None).await;
    let admin = app.token("brand@x.fi").await;
    let r = app
        .client()
        .put(app.url(&format!("/api/v1/branding/{}", f.county)))
        .bearer_auth(&admin)
        .json(&json!({ "contact": { "sv": "Registratorskontoret, PB 1" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = pdf_text(
        sup.get(app.url(&format!("{visit}/report-sv.pdf")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for want in [
        "Granskningsrapport",
        "Lokaler (brist): Käytävät tukossa",
        "Ska rättas senast",
        "regionförvaltningsverket",
        "Kontaktuppgifter Registratorskontoret, PB 1",
    ] {
        assert!(pdf.contains(want), "{want} in {pdf}");
    }
    let stats = body(
        sup.get(app.url(&format!(
            "/org/{}/supervision?period={year}&lang=fi",
            f.county
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        stats.contains("ostopalvelu") && stats.contains("ennalta ilmoittamaton"),
        "{stats}"
    );

    // The ombudsperson writes the year's review; the annual report carries it.
    let annual = format!("/org/{}/ombudsman/annual/{year}", f.county);
    let r = app
        .post_form(
            &omb,
            &annual,
            &[
                ("annual_text_fi", "Vuonna yhteydenottoja oli vähän."),
                ("annual_text_sv", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = body(
        omb.get(app.url(&format!("{annual}?lang=fi")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    all_messages_found(&page);
    assert!(
        page.contains("Vuonna yhteydenottoja oli vähän.")
            && page.contains("Yhteydenotot kuukausittain")
    );
    let pdf = pdf_text(
        omb.get(app.url(&format!("{annual}/report-fi.pdf")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for want in [
        "Potilas- ja sosiaaliasiavastaavan vuosiraportti",
        "Vuonna yhteydenottoja oli vähän.",
        "Yhteydenotot kuukausittain",
        "Yhteensä \u{2013}",
    ] {
        assert!(pdf.contains(want), "{want} in {pdf}");
    }
    let r = app
        .post_form(
            &mgr,
            &format!("/org/{}/ombudsman/annual/{year}", f.area_a),
            &[("annual_text_fi", "x")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "only the ombudsperson writes the review"
    );

    // The area manager sees the visit to its unit but cannot change it.
    let list = body(
        mgr.get(app.url(&format!("/supervision?period={year}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(list.contains(&visit) && !list.contains("name=\"visit_org_unit\""));
    let r = app
        .post_form(
            &mgr,
            &visit,
            &[("action", "avi"), ("sent_on", &today.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

async fn import(app: &TestApp, token: &str, query: &str, csv: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/ombudsman/import{query}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_ombudspersons_log_imports_whole_or_not_at_all() {
    let app = TestApp::spawn().await;
    let (f, _, _) = county(&app).await;
    app.add_user("omb@x.fi", Role::Ombudsperson, None).await;
    app.add_user("mgr@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let token = app.token("omb@x.fi").await;
    // Contact 17 has two items (a unit, and HUS); 18 and 19 one each (19
    // names only its producer).
    let good = "contact;contacted_on;channel;language;client_group;measures;unit;producer;sector;reasons\n\
                17;2024-02-05;phone;fi;adult;advice|remark;a1;;health;care,conduct\n\
                17;2024-02-05;phone;fi;adult;advice;;other_organiser;health;access\n\
                18;6.3.2024;email;sv;family;;p;;social;service\n\
                19;2024-03-09;letter;fi;minor;;;own;other;information\n";
    let (s, body) = import(&app, &token, "?dry_run=true", good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let tree = app.store.org_tree().await.unwrap();
    let q1: valvo_core::Period = "2024Q1".parse().unwrap();
    assert_eq!(
        app.store
            .ombudsman_stats(f.county, q1)
            .await
            .unwrap()
            .contacts,
        0,
        "a check writes nothing"
    );
    let (s, body) = import(&app, &token, "", good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let kept = app.store.ombudsman_stats(f.county, q1).await.unwrap();
    assert_eq!((kept.contacts, kept.items, kept.reason_mentions), (3, 4, 5));
    assert_eq!(
        kept,
        app.store
            .ombudsman_stats_counted(&tree, f.county, q1)
            .await
            .unwrap()
    );
    let remarks = kept.measures.iter().find(|m| m.code == "remark").unwrap();
    assert_eq!(
        remarks.count, 1,
        "the contact's measures come from its first line"
    );
    // Contact 17 spans unit A1 and the county (HUS): it counts at the county, not in area A.
    let area = app.store.ombudsman_stats(f.area_a, q1).await.unwrap();
    assert_eq!(
        (area.contacts, area.items),
        (1, 2),
        "contact 18 at P is area A's; 17 is the county's"
    );

    // A bad last line, and bad lines before it: every one named, nothing written.
    let bad = "contact;contacted_on;channel;language;client_group;unit;producer;sector;reasons\n\
               1;2024-02-05;phone;fi;adult;a1;;health;care\n\
               2;2024-02-06;pigeon;fi;adult;nowhere;;health;care\n\
               3;2024-02-07;phone;fi;adult;;;health;care\n\
               4;2024-02-08;phone;fi;adult;a1;;health;no_such_reason\n";
    let (s, body) = import(&app, &token, "", bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let got: Vec<(u64, String)> = crate::support::error_lines(&body);
    for want in [(3, "channel"), (3, "unit"), (4, "producer"), (5, "reasons")] {
        assert!(
            got.contains(&(want.0, want.1.to_owned())),
            "{want:?} in {got:?}"
        );
    }
    let after = app.store.ombudsman_stats(f.county, q1).await.unwrap();
    assert_eq!(after, kept, "nothing of the bad file counts");
    assert_eq!(
        after,
        app.store
            .ombudsman_stats_counted(&tree, f.county, q1)
            .await
            .unwrap()
    );
    // A number met again after other lines is an error; lines without a
    // number are contacts of their own.
    let again = "contact;contacted_on;channel;language;client_group;unit;sector;reasons\n\
                 5;2024-02-05;phone;fi;adult;a1;health;care\n\
                 6;2024-02-05;phone;fi;adult;a1;health;care\n\
                 5;2024-02-05;phone;fi;adult;a1;health;care\n";
    let (s, body) = import(&app, &token, "", again).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["lines"][0]["line"], 4);
    assert_eq!(body["error"]["lines"][0]["field"], "contact");
    let loose = "contact;contacted_on;channel;language;client_group;unit;sector;reasons\n\
                 ;2024-03-05;phone;fi;adult;a1;health;care\n\
                 ;2024-03-05;phone;fi;adult;a1;health;care\n";
    let (s, body) = import(&app, &token, "", loose).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let now = app.store.ombudsman_stats(f.county, q1).await.unwrap();
    assert_eq!(
        now.contacts,
        kept.contacts + 2,
        "two lines without a number: two contacts"
    );

    // Only ombudspersons (and administrators) import a log.
    let (s, _) = import(&app, &app.token("mgr@x.fi").await, "", good).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.stop().await;
}
