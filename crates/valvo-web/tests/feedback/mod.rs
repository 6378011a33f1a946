//! Customer feedback as users meet it: the public answer page, invitations,
//! import, statistics checked against an independent computation, handling,
//! the national export and the survey. Part of the `http` test binary.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use valvo_core::access::Role;

use crate::support::{fixture, hidden, TestApp};

fn this_year() -> String {
    time::OffsetDateTime::now_utc().year().to_string()
}

/// The tertial running now (public statistics are by tertial).
fn this_tertial() -> String {
    valvo_core::Period::containing(
        time::OffsetDateTime::now_utc().date(),
        valvo_core::PeriodKind::Tertial,
    )
    .to_string()
}

fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

async fn stats(app: &TestApp, token: Option<&str>, query: &str) -> Value {
    let mut req = app
        .client()
        .get(app.url(&format!("/api/v1/feedback/stats?{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "stats {query}");
    r.json().await.unwrap()
}

async fn admin(app: &TestApp) -> String {
    app.add_user("admin@x.fi", Role::Admin, None).await;
    app.token("admin@x.fi").await
}

#[tokio::test]
async fn public_answer_page_stores_answers_and_refuses_bad_input() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    let c = app.client();
    // The page: every statement as a group of radios, in the visitor's language.
    let page = c.get(app.url("/feedback/a1?lang=sv")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Jag fick hjälp när jag behövde den"));
    assert!(html.contains("name=\"scores.safe\""));
    assert!(html.contains("Kan inte säga"));
    // A bad answer names the field and writes nothing.
    let r = c
        .post(app.url("/feedback/a1"))
        .form(&[("nps", "11"), ("scores.safe", "9"), ("text", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("href=\"#nps\""),
        "error summary links to the field"
    );
    assert!(html.contains("href=\"#scores.safe\""));
    // Read out of place (as a screen reader lists links), a summary link
    // still names its question.
    let first_link = html
        .split("<li><a href=\"#nps\">")
        .nth(1)
        .and_then(|r| r.split("</a>").next())
        .unwrap_or_default()
        .to_owned();
    assert!(first_link.contains("? – "), "{first_link}");
    // Nothing answered: the form asks for one answer (all are voluntary).
    let r = c
        .post(app.url("/feedback/a1?lang=sv"))
        .form(&[("text", "  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("\">Svara på minst en fråga eller skriv något</a>"),
        "{html}"
    );
    let s = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await;
    assert_eq!(s["stats"]["current"]["answers"], 0);
    // A good one.
    let r = c
        .post(app.url("/feedback/a1?c=qr"))
        .form(&[
            ("nps", "10"),
            ("scores.safe", "5"),
            ("scores.holistic", "cannot_say"),
            ("text", "Hyvää palvelua, kiitos!"),
            ("service_lang", "fi"),
            ("respondent", "client"),
        ])
        .send()
        .await
        .unwrap();
    let thanks = app.follow(&c, r).await;
    assert_eq!(thanks.status(), StatusCode::OK);
    let thanks = thanks.text().await.unwrap();
    assert!(thanks.contains("Din respons har tagits emot"), "{thanks}");
    // No dead end: on to the unit's public reports.
    assert!(thanks.contains("href=\"/public/org/a1\""), "{thanks}");
    // A client's page: headed by the county, without the staff menu.
    assert!(thanks.contains("<p class=\"brand county\">Testens välfärdsområde</p>"));
    assert!(!thanks.contains("href=\"/incidents\"") && !thanks.contains("href=\"/login\""));
    let s = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await;
    let cur = &s["stats"]["current"];
    assert_eq!(cur["answers"], 1);
    assert_eq!(cur["with_text"], 1);
    assert_eq!(cur["nps"]["nps"], 100.0);
    let safe = cur["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "safe")
        .unwrap();
    assert_eq!(safe["mean"], 5.0);
    let holistic = cur["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "holistic")
        .unwrap();
    assert_eq!(holistic["cannot_say"], 1);
    assert_eq!(holistic["n"], 0);
    let by_channel = s["stats"]["by_channel"].as_array().unwrap();
    assert_eq!(by_channel.len(), 1);
    assert_eq!(by_channel[0]["key"], "qr");
    // The same form sent twice (a double click, a reload of the post, the
    // back button): saved once, and both lead to the thanks.
    let page = c.get(app.url("/feedback/a1")).send().await.unwrap();
    let once = hidden(&page.text().await.unwrap(), "once");
    let form = [("once", once.as_str()), ("nps", "3"), ("scores.safe", "2")];
    let (first, second) = tokio::join!(
        c.post(app.url("/feedback/a1")).form(&form).send(),
        c.post(app.url("/feedback/a1")).form(&form).send(),
    );
    for r in [first.unwrap(), second.unwrap()] {
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/feedback/a1/thanks");
    }
    let r = c
        .post(app.url("/feedback/a1"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a third time, later");
    let s = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await;
    assert_eq!(
        s["stats"]["current"]["answers"], 2,
        "one answer more, not three"
    );
    // The other area has nothing; the public API withholds a cell of one answer.
    let s = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.area_b, this_year()),
    )
    .await;
    assert_eq!(s["stats"]["current"]["answers"], 0);
    let public = stats(
        &app,
        None,
        &format!("org_unit={}&period={}", f.county, this_tertial()),
    )
    .await;
    assert_eq!(public["public"], true);
    assert_eq!(public["stats"]["current"]["suppressed"], true);
    assert!(public["stats"]["current"]["answers"].is_null());
    assert!(!public.to_string().contains("Hyvää palvelua"));
    // The text is in the unit's queue.
    let q: Value = c
        .get(app.url("/api/v1/feedback/cases"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(q["cases"][0]["text"], "Hyvää palvelua, kiitos!");
    assert_eq!(q["cases"][0]["org_unit_id"], f.unit_a1);
    // Unknown unit.
    let r = c.get(app.url("/feedback/nonesuch")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn public_answers_are_rate_limited() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    let c = app.client();
    let mut limited = false;
    for _ in 0..25 {
        let r = c
            .post(app.url("/feedback/a1"))
            .form(&[("nps", "8")])
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    assert!(limited, "429 after the limit");
    app.stop().await;
}

#[tokio::test]
async fn invitations_are_answered_once() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    let c = app.client();
    let r = c
        .post(app.url("/api/v1/feedback/invitations"))
        .bearer_auth(&token)
        .json(&json!({ "org_unit": f.unit_a1, "service_date": today(), "count": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let tokens: Vec<String> = body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 3);
    assert!(body["links"][0]
        .as_str()
        .unwrap()
        .ends_with(&format!("/feedback/i/{}", tokens[0])));
    // Only hashes are stored: the token itself is nowhere in the database.
    // The page shows the visit's date.
    let page = c
        .get(app.url(&format!("/feedback/i/{}", tokens[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let day = time::Date::parse(
        &today(),
        &time::format_description::well_known::Iso8601::DATE,
    )
    .unwrap();
    assert!(page.text().await.unwrap().contains(&format!(
        "{}.{}.{}",
        day.day(),
        u8::from(day.month()),
        day.year()
    )));
    // Answer through the API without a bearer token.
    let r = c
        .post(app.url("/api/v1/feedback/answers"))
        .json(&json!({ "invitation": tokens[0], "nps": 9, "scores": { "useful": 4 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["org_unit"], f.unit_a1);
    // A replay is refused and changes nothing.
    let r = c
        .post(app.url("/api/v1/feedback/answers"))
        .json(&json!({ "invitation": tokens[0], "nps": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invitation_used");
    let page = c
        .get(app.url(&format!("/feedback/i/{}", tokens[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    // An invalid answer does not use the token up.
    let r = c
        .post(app.url(&format!("/feedback/i/{}", tokens[1])))
        .form(&[("nps", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .post(app.url(&format!("/feedback/i/{}", tokens[1])))
        .form(&[("nps", "3"), ("service_lang", "sv")])
        .send()
        .await
        .unwrap();
    let thanks = app.follow(&c, r).await;
    assert_eq!(
        thanks.status(),
        StatusCode::OK,
        "the thanks after the answer"
    );
    let r = c
        .post(app.url(&format!("/feedback/i/{}", tokens[1])))
        .form(&[("nps", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    // Unknown token; a unit answer without a bearer token.
    let r = c
        .post(app.url("/api/v1/feedback/answers"))
        .json(&json!({ "invitation": "nonsense", "nps": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["fields"][0],
        json!({ "field": "invitation", "code": "not_found" })
    );
    let r = c
        .post(app.url("/api/v1/feedback/answers"))
        .json(&json!({ "org_unit": f.unit_a1, "nps": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let s = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await;
    assert_eq!(s["stats"]["current"]["answers"], 2);
    assert_eq!(s["stats"]["by_channel"][0]["key"], "invitation");
    app.stop().await;
}

/// An answer sent with a bearer token has its token and unit checked in
/// the write's own transaction: what is refused is refused as before the
/// check moved there, and a token revoked a moment before writes nothing.
#[tokio::test]
async fn an_answer_sent_with_a_token_is_checked_where_it_is_written() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let admin = admin(&app).await;
    app.add_user("mgr-a@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let token = app.token("mgr-a@x.fi").await;
    let c = app.client();
    let send = |bearer: Option<String>, body: Value| {
        let mut req = c.post(app.url("/api/v1/feedback/answers")).json(&body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send(
        Some(token.clone()),
        json!({ "org_unit": f.unit_a1, "nps": 9 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["org_unit"], f.unit_a1);
    // Outside the token's scope; a unit that does not exist (named); an
    // unknown token.
    let (status, body) = send(
        Some(token.clone()),
        json!({ "org_unit": f.area_b, "nps": 9 }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, body) = send(
        Some(token.clone()),
        json!({ "org_unit": 999_999, "nps": 9 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["fields"][0],
        json!({ "field": "org_unit", "code": "not_found" })
    );
    let (status, _) = send(
        Some("nonsense".into()),
        json!({ "org_unit": f.unit_a1, "nps": 9 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A channel of the schema's that an answer with a unit may not name
    // (an invitation's): the token is checked first, as before.
    let (status, _) = send(
        Some("nonsense".into()),
        json!({ "org_unit": f.unit_a1, "channel": "invitation", "nps": 3 }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the token is checked first"
    );
    let (status, body) = send(
        Some(token.clone()),
        json!({ "org_unit": f.unit_a1, "channel": "invitation", "nps": 3 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"][0]["field"], "channel");
    // An answer that does not validate: named, after the token was found good.
    let (status, body) = send(
        Some(token.clone()),
        json!({ "org_unit": f.unit_a1, "nps": 11 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"][0]["field"], "nps");
    // A read-only token only reads.
    let r = c
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .json(&json!({ "label": "dashboard", "read_only": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let read_only = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = send(Some(read_only), json!({ "org_unit": f.unit_a1, "nps": 9 })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("read_only_token"))
    );
    // Revoked (by the administrator): the next answers are refused at once.
    let mine: Value = c
        .get(app.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = mine["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "test")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = c
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for _ in 0..3 {
        let (status, _) = send(
            Some(token.clone()),
            json!({ "org_unit": f.unit_a1, "nps": 3 }),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Only the first answer was written.
    let s = stats(
        &app,
        Some(&admin),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await;
    assert_eq!(s["stats"]["current"]["answers"], 1);
    app.stop().await;
}

/// An independent computation from the answers themselves.
fn expected(
    answers: &[(i64, Option<u8>, Option<&str>, &str)],
    keep: impl Fn(i64, &str) -> bool,
) -> (usize, Option<f64>, Option<f64>, Option<f64>) {
    let sel: Vec<_> = answers.iter().filter(|a| keep(a.0, a.3)).collect();
    let scores: Vec<f64> = sel
        .iter()
        .filter_map(|a| a.1)
        .map(|n| {
            if n >= 9 {
                1.0
            } else if n <= 6 {
                -1.0
            } else {
                0.0
            }
        })
        .collect();
    let (nps, half) = if scores.is_empty() {
        (None, None)
    } else {
        let m = scores.iter().sum::<f64>() / scores.len() as f64;
        let var = scores.iter().map(|x| (x - m).powi(2)).sum::<f64>() / scores.len() as f64;
        (
            Some(100.0 * m),
            Some(100.0 * 1.96 * (var / scores.len() as f64).sqrt()),
        )
    };
    let vals: Vec<f64> = sel
        .iter()
        .filter_map(|a| a.2)
        .filter_map(|s| s.parse::<f64>().ok())
        .collect();
    let mean = (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64);
    (sel.len(), nps, half, mean)
}

#[tokio::test]
async fn statistics_match_an_independent_computation() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    let c = app.client();
    // Pseudo-random answers over two units and two languages.
    let mut seed: u64 = 42;
    let mut next = |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    let mut answers = Vec::new();
    for _ in 0..80 {
        let org = if next(3) == 0 { f.area_b } else { f.unit_a1 };
        let nps = (next(6) != 0).then(|| next(11) as u8);
        let score = match next(7) {
            0 => None,
            1 => Some("cannot_say"),
            k => Some(["1", "2", "3", "4", "5"][(k as usize - 2) % 5]),
        };
        // As the API documents it: a scale point is a number.
        let score_json = |s: &str| {
            s.parse::<u8>()
                .map(|n| json!(n))
                .unwrap_or_else(|_| json!(s))
        };
        let lang = ["fi", "sv"][next(2) as usize];
        let mut body = json!({ "org_unit": org, "service_lang": lang, "text": "" });
        if let Some(n) = nps {
            body["nps"] = json!(n);
        }
        if let Some(s) = score {
            body["scores"] = json!({ "help_when_needed": score_json(s) });
        }
        if nps.is_none() && score.is_none() {
            body["text"] = json!("Ei numeroita");
        }
        let r = c
            .post(app.url("/api/v1/feedback/answers"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{body}");
        answers.push((org, nps, score, lang));
    }
    let close = |a: &Value, b: Option<f64>| match b {
        None => assert!(a.is_null(), "{a} should be null"),
        Some(b) => assert!((a.as_f64().unwrap() - b).abs() < 1e-9, "{a} != {b}"),
    };
    for (scope, keep) in [
        (
            f.county,
            Box::new(|_: i64, _: &str| true) as Box<dyn Fn(i64, &str) -> bool>,
        ),
        (f.area_a, Box::new(|o: i64, _: &str| o != f.area_b)),
        (f.area_b, Box::new(|o: i64, _: &str| o == f.area_b)),
    ] {
        let s = stats(
            &app,
            Some(&token),
            &format!("org_unit={scope}&period={}", this_year()),
        )
        .await;
        let (n, nps, half, mean) = expected(&answers, &keep);
        let cur = &s["stats"]["current"];
        assert_eq!(cur["answers"], n as u64);
        close(&cur["nps"]["nps"], nps);
        if let (Some(nps), Some(half)) = (nps, half) {
            close(&cur["nps"]["ci_high"], Some((nps + half).min(100.0)));
            close(&cur["nps"]["ci_low"], Some((nps - half).max(-100.0)));
        }
        let st = cur["statements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["key"] == "help_when_needed")
            .unwrap();
        close(&st["mean"], mean);
        // The Swedish-language filter against the same computation.
        let s = stats(
            &app,
            Some(&token),
            &format!("org_unit={scope}&period={}&service_lang=sv", this_year()),
        )
        .await;
        let (n, nps, _, _) = expected(&answers, |o, l| keep(o, l) && l == "sv");
        assert_eq!(s["stats"]["current"]["answers"], n as u64);
        close(&s["stats"]["current"]["nps"]["nps"], nps);
    }
    // A year is read from its own rows, a tertial from its months: they agree.
    let year_answers = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await["stats"]["current"]["answers"]
        .as_u64()
        .unwrap();
    let mut tertials = 0;
    for t in 1..=3 {
        tertials += stats(
            &app,
            Some(&token),
            &format!("org_unit={}&period={}T{t}", f.county, this_year()),
        )
        .await["stats"]["current"]["answers"]
            .as_u64()
            .unwrap();
    }
    assert_eq!(tertials, year_answers);
    // The county's page shows the same NPS, rounded, and the trend.
    let s = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await;
    let rounded = s["stats"]["current"]["nps"]["nps"]
        .as_f64()
        .unwrap()
        .round() as i64;
    assert_eq!(s["stats"]["trend"].as_array().unwrap().len(), 1);
    assert_eq!(s["stats"]["by_child"].as_array().unwrap().len(), 2);
    app.add_user("viewer@x.fi", Role::Viewer, None).await;
    let v = app.login("viewer@x.fi").await;
    let html = v
        .get(app.url(&format!(
            "/org/{}/feedback?period={}",
            f.county,
            this_year()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("<td class=\"num\">{rounded}</td>")),
        "NPS {rounded} on the page"
    );
    assert!(html.contains("<svg"));
    // Bad parameters.
    let r = c
        .get(app.url("/api/v1/feedback/stats?org_unit=1&period=2024X9"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .get(app.url(&format!(
            "/api/v1/feedback/stats?org_unit={}&period=2024&service_lang=de",
            f.county
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn csv_import_names_lines_and_writes_all_or_nothing() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    let c = app.client();
    let d = today();
    let bad = format!(
        "unit;service_date;nps;safe;service_lang\na1;{d};9;5;fi\na1;{d};11;5;fi\nzz;{d};5;4;sv\n"
    );
    let r = c
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "text/csv")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    let lines: Vec<(u64, String)> = crate::support::error_lines(&body);
    // Every line with an error, not only the first.
    assert_eq!(lines, [(3, "nps".to_string()), (4, "unit".to_string())]);
    assert_eq!(body["error"]["lines"][0]["expected"], "0–10");
    let unknown_unit = "unit;nps\na1;9\nzz;5\n".to_string();
    let body: Value = c
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&token)
        .body(unknown_unit)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"]["lines"][0]["line"], 3);
    assert_eq!(body["error"]["lines"][0]["field"], "unit");
    let s = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await;
    assert_eq!(s["stats"]["current"]["answers"], 0, "nothing imported");
    let good = format!("unit;service_date;nps;safe;service_lang;text\na1;{d};9;5;fi;\nb;{d};2;x;sv;Jonotin liian kauan\n");
    let r = c
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&token)
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["imported"], 2);
    let s = stats(
        &app,
        Some(&token),
        &format!(
            "org_unit={}&period={}&channel=import",
            f.county,
            this_year()
        ),
    )
    .await;
    assert_eq!(s["stats"]["current"]["answers"], 2);
    assert_eq!(s["stats"]["current"]["nps"]["nps"], 0.0);
    // An area manager may not import into another area.
    app.add_user("mgr@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let t = app.token("mgr@x.fi").await;
    let r = c
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&t)
        .body("unit;nps\nb;5\n")
        .send()
        .await
        .unwrap();
    // Its line names the unit as one the manager may not write (as unknown).
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["lines"][0]["field"], "unit");
    assert_eq!(body["error"]["lines"][0]["code"], "not_found");
    app.stop().await;
}

#[tokio::test]
async fn feedback_is_handled_rerouted_and_replied() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    app.add_user("b@x.fi", Role::AreaManager, Some(f.area_b))
        .await;
    let tb = app.token("b@x.fi").await;
    let c = app.client();
    let r = c
        .post(app.url("/feedback/a1"))
        .form(&[
            ("nps", "2"),
            ("text", "Laboratorion jono oli pitkä"),
            ("contact", "asiakas@example.fi"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let q: Value = c
        .get(app.url("/api/v1/feedback/cases"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = q["cases"][0]["id"].as_i64().unwrap();
    // Area B's manager does not see area A's feedback.
    let r = c
        .get(app.url(&format!("/api/v1/feedback/cases/{id}")))
        .bearer_auth(&tb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The coordinator re-routes it through the case page.
    app.add_user("coord@x.fi", Role::QualityCoordinator, None)
        .await;
    let admin_ui = app.login("coord@x.fi").await;
    let page = admin_ui
        .get(app.url(&format!("/feedback/cases/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Laboratorion jono oli pitkä"));
    assert!(page.contains("asiakas@example.fi"));
    let csrf = hidden(&page, "csrf");
    let r = admin_ui
        .post(app.url(&format!("/feedback/cases/{id}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("case_state", "in_handling"),
            ("tags", "laboratory, waiting"),
            ("case_note", ""),
            ("reply", ""),
            ("route_to", &f.area_b.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let case: Value = c
        .get(app.url(&format!("/api/v1/feedback/cases/{id}")))
        .bearer_auth(&tb)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(case["org_unit_id"], f.area_b);
    assert_eq!(case["routed_from"], f.unit_a1);
    assert_eq!(case["state"], "new");
    assert_eq!(case["tags"], json!(["laboratory", "waiting"]));
    // B replies and marks it handled.
    let r = c
        .post(app.url(&format!("/api/v1/feedback/cases/{id}")))
        .bearer_auth(&tb)
        .json(
            &json!({ "reply": "Kiitos, laboratorion ajanvaraus on lisätty.", "state": "handled" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let case: Value = r.json().await.unwrap();
    assert_eq!(case["state"], "handled");
    assert!(case["replied_on"].is_string());
    let q: Value = c
        .get(app.url("/api/v1/feedback/cases"))
        .bearer_auth(&tb)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        q["cases"].as_array().unwrap().len(),
        0,
        "handled leaves the queue"
    );
    // The next laboratory comment at A1 gets a suggestion learnt from that decision.
    let r = c
        .post(app.url("/feedback/a1"))
        .form(&[(
            "text",
            "Laboratorion jono oli taas pitkä ja laboratorion aulassa ahdasta",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let q: Value = c
        .get(app.url("/api/v1/feedback/cases"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next_id = q["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["text"].as_str().unwrap().contains("taas"))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let page = admin_ui
        .get(app.url(&format!("/feedback/cases/{next_id}?lang=fi")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Ehdotettu yksikkö: Alue B"),
        "routing suggestion shown"
    );
    assert!(page.contains("laborator"), "with the words behind it");
    // The audit log has the re-routing but not the text or contact.
    let audit: Value = c
        .get(app.url("/api/v1/audit?entity=feedback_case"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dump = audit.to_string();
    assert!(dump.contains("\"route\""));
    assert!(!dump.contains("asiakas@example.fi"));
    assert!(!dump.contains("Laboratorion jono"));
    // A remark through the form: a missing text is named; then recorded with its deadline.
    let page = admin_ui
        .get(app.url(&format!("/org/{}/feedback/cases/new", f.unit_a1)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf");
    let r = admin_ui
        .post(app.url(&format!("/org/{}/feedback/cases/new", f.unit_a1)))
        .form(&[
            ("csrf", csrf.as_str()),
            ("case_kind", "remark"),
            ("received_on", "2026-01-05"),
            ("due_on", ""),
            ("case_text", " "),
            ("contact", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("href=\"#case_text\""));
    let r = admin_ui
        .post(app.url(&format!("/org/{}/feedback/cases/new", f.unit_a1)))
        .form(&[
            ("csrf", csrf.as_str()),
            ("case_kind", "remark"),
            ("received_on", "2026-01-05"),
            ("due_on", ""),
            ("case_text", "Muistutus kotihoidon käynneistä"),
            ("contact", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let q: Value = c
        .get(app.url("/api/v1/feedback/cases"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let remark = q["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kind"] == "remark")
        .unwrap();
    assert_eq!(remark["due_on"], "2026-02-04");
    // A reply needs contact details.
    let rid = remark["id"].as_i64().unwrap();
    let r = c
        .post(app.url(&format!("/api/v1/feedback/cases/{rid}")))
        .bearer_auth(&token)
        .json(&json!({ "reply": "Vastaus" }))
        .send()
        .await
        .unwrap();
    // No contact to reply to: the case's state does not allow it.
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let queue_page = admin_ui
        .get(app.url("/feedback/cases"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue_page.contains("Muistutus kotihoidon"));
    app.stop().await;
}

#[tokio::test]
async fn national_export_withholds_small_groups_and_has_no_text() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    let c = app.client();
    let d = today();
    let mut csv =
        String::from("unit;service_date;nps;safe;service_lang;age_group;respondent;text;contact\n");
    for i in 0..5 {
        csv.push_str(&format!(
            "a1;{d};{};5;fi;18-34;client;Salainen teksti {i};soita 0401234567\n",
            5 + i
        ));
    }
    csv.push_str(&format!("a1;{d};1;x;sv;75+;relative;;\n"));
    let r = c
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .get(app.url(&format!(
            "/api/v1/feedback/export?org_unit={}&period={}",
            f.county,
            this_year()
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert!(
        lines[0].starts_with("unit;month;channel;service_lang;age_group;respondent;nps;holistic")
    );
    assert_eq!(lines.len(), 7);
    assert!(!body.contains("Salainen") && !body.contains("0401234567"));
    let ym = &d[..7];
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("a1;{ym};4;1;2;1;")))
            .count(),
        5
    );
    // The lone Swedish-speaking relative over 75: background withheld.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("a1;{ym};4;;;;1;"))),
        "{body}"
    );
    assert!(body.contains("EOS"));
    // The page link and the UI download.
    app.add_user("v@x.fi", Role::Viewer, None).await;
    let v = app.login("v@x.fi").await;
    let r = v
        .get(app.url(&format!(
            "/org/{}/feedback/export.csv?period={}",
            f.county,
            this_year()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    app.stop().await;
}

#[tokio::test]
async fn own_statement_makes_a_new_survey_version() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    app.add_user("coord@x.fi", Role::QualityCoordinator, None)
        .await;
    app.add_user("view@x.fi", Role::Viewer, None).await;
    let c = app.login("coord@x.fi").await;
    let page = c
        .get(app.url("/feedback/survey"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("mother_tongue"));
    let csrf = hidden(&page, "csrf");
    let r = c
        .post(app.url("/feedback/survey"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("statement_key", "Parking!"),
            ("statement_text_fi", "Pysäköinti oli helppoa"),
            ("statement_text_sv", ""),
            ("statement_text_en", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#statement_key\""));
    assert!(html.contains("href=\"#statement_text_sv\""));
    let r = c
        .post(app.url("/feedback/survey"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("statement_key", "parking"),
            ("statement_text_fi", "Pysäköinti oli helppoa"),
            ("statement_text_sv", "Det var lätt att parkera"),
            ("statement_text_en", "Parking was easy"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let s: Value = c
        .get(app.url("/api/v1/feedback/survey"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["version"], 2);
    assert_eq!(s["survey"]["statements"][8]["key"], "parking");
    let page = app
        .client()
        .get(app.url("/feedback/a1?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Det var lätt att parkera"));
    let r = app
        .client()
        .post(app.url("/feedback/a1"))
        .form(&[("scores.parking", "4")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // A viewer may not change the survey.
    let v = app.login("view@x.fi").await;
    let page = v
        .get(app.url("/feedback/survey"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("statement_key\""));
    let csrf = hidden(&page, "csrf");
    let r = v
        .post(app.url("/feedback/survey"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("statement_key", "x2"),
            ("statement_text_fi", "a"),
            ("statement_text_sv", "b"),
            ("statement_text_en", "c"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn qr_code_poster_and_public_statistics_page() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let c = app.client();
    let r = c.get(app.url("/feedback/a1/qr.svg")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("image/svg+xml"));
    let svg = r.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<title"));
    let host = app.url("").replace("http://", "");
    assert!(svg.contains(&format!("http://{host}/feedback/a1?c=qr")));
    let poster = c
        .get(app.url("/feedback/a1/poster?lang=fi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(poster.contains("/feedback/a1?c=qr"));
    assert!(poster.contains("Yksikkö A1"));
    for _ in 0..3 {
        let r = c
            .post(app.url("/feedback/a1"))
            .form(&[("nps", "9")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let html = c
        .get(app.url(&format!(
            "/public/org/county/feedback?period={}&lang=en",
            this_tertial()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<td class=\"num\">..</td>"),
        "withheld cell shown: {html}"
    );
    assert!(
        !html.contains("<td class=\"num\">3</td>"),
        "the count of 3 is not published"
    );
    let _ = f;
    app.stop().await;
}

#[tokio::test]
async fn comments_are_analysed_redacted_and_counted_by_topic() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    let c = app.client();
    let texts = [
        "Jouduin odottamaan vastaanotolla kaksi tuntia, jono oli todella pitkä.",
        "Jonotin puhelimessa 40 minuuttia eikä kukaan vastannut. Soittakaa minulle 040 123 4567.",
        "Väntade i tre timmar på jouren, alldeles för lång kö.",
        "Henkilökunta oli ystävällistä ja hoito hyvää, kiitos!",
        "Mycket bra bemötande av personalen, tack!",
        "Odotusaika oli liian pitkä ja ajanvaraus ei toiminut.",
    ];
    for t in texts {
        let r = c
            .post(app.url("/api/v1/feedback/answers"))
            .bearer_auth(&token)
            .json(&json!({ "org_unit": f.unit_a1, "text": t }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let s = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={}", f.county, this_year()),
    )
    .await;
    let topics = s["stats"]["topics"].as_array().unwrap();
    assert_eq!(topics[0]["topic"], "");
    assert_eq!(topics[0]["comments"], 6);
    let waiting = topics
        .iter()
        .find(|t| t["topic"] == "waiting")
        .expect("waiting topic");
    assert!(waiting["comments"].as_u64().unwrap() >= 3, "{waiting}");
    assert!(
        waiting["negative_share"].as_f64().unwrap() >= 50.0,
        "{waiting}"
    );
    // The handler sees the original text; the analysis keeps a redacted copy.
    let q: Value = c
        .get(app.url("/api/v1/feedback/cases"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let phone = q["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["text"].as_str().unwrap().contains("040 123 4567"))
        .unwrap();
    assert!(phone["redacted"].as_str().unwrap().contains("[PHONE]"));
    assert!(!phone["redacted"].as_str().unwrap().contains("4567"));
    assert_eq!(phone["text_lang"], "fi");
    assert_eq!(phone["sentiment"], "negative");
    let sv = q["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["text"].as_str().unwrap().starts_with("Mycket bra"))
        .unwrap();
    assert_eq!(sv["text_lang"], "sv");
    assert_eq!(sv["sentiment"], "positive");
    // Public: the topic figures, never the text.
    let public = stats(
        &app,
        None,
        &format!("org_unit={}&period={}", f.county, this_tertial()),
    )
    .await;
    let dump = public.to_string();
    assert!(dump.contains("\"comments\":6"));
    assert!(!dump.contains("4567") && !dump.contains("Jonotin"));
    app.stop().await;
}

#[tokio::test]
async fn the_report_takes_its_customer_experience_figures_from_feedback() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    let c = app.client();
    // Six answers in May 2025 (NPS 50: 4 promoters, 1 passive, 1 detractor), one negative comment of two.
    let mut csv = String::from("unit;service_date;nps;text\n");
    for (nps, text) in [
        (10, ""),
        (9, ""),
        (10, ""),
        (9, "Kiitos hyvästä hoidosta!"),
        (8, ""),
        (2, "Jouduin odottamaan kaksi tuntia, huono palvelu."),
    ] {
        csv.push_str(&format!("a1;2025-05-10;{nps};{text}\n"));
    }
    let r = c
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.add_user("coord@x.fi", Role::QualityCoordinator, None)
        .await;
    let m = app.login("coord@x.fi").await;
    let r = app
        .post_form(
            &m,
            &format!("/org/{}/reports", f.unit_a1),
            &[("report_period", "2025T2")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let report = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    let html = m
        .get(app.url(&format!("{report}?lang=en")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Figures from the customer feedback in Valvo."),
        "source named"
    );
    let section = &html[html.find("Customer experience").expect("section")..];
    assert!(section.contains(">50<"), "NPS 50 in the report");
    assert!(section.contains(">6<"), "6 answers");
    // Two comments: their negative share (50 %) is not published.
    assert!(
        !section.contains("Negative comments (%)"),
        "a share of fewer than five comments is withheld"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_plan_indicator_takes_its_values_from_feedback() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let token = admin(&app).await;
    let c = app.client();
    // 2025T1: NPS 0 (one promoter, one detractor); 2025T2: NPS 100.
    let csv = "unit;service_date;nps\na1;2025-02-01;10\na1;2025-03-01;3\na1;2025-06-01;9\n";
    let r = c
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.add_user("coord@x.fi", Role::QualityCoordinator, None)
        .await;
    let m = app.login("coord@x.fi").await;
    let goal = app
        .store
        .create_goal(
            &valvo_core::access::Principal::system("test"),
            f.unit_a1,
            &valvo_core::plan::GoalInput {
                area: valvo_core::plan::Area::CustomerExperience,
                year: 2025,
                title: crate::support::t("Asiakaskokemus", "Kundupplevelse"),
            },
        )
        .await
        .unwrap();
    let r = app
        .post_form(
            &m,
            &format!("/goals/{}/indicators/new", goal.id),
            &[
                ("name_fi", "NPS"),
                ("direction", "higher"),
                ("target", "50"),
                ("period_kind", "tertial"),
                ("source", "feedback.nps"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let plan = app.store.plan(f.unit_a1, 2025).await.unwrap();
    let ind = &plan
        .iter()
        .find(|g| g.goal.id == goal.id)
        .unwrap()
        .indicators[0];
    let value = |p: &str| {
        ind.follow_ups
            .iter()
            .find(|x| x.period.to_string() == p)
            .and_then(|x| x.value)
    };
    assert_eq!(value("2025T1"), Some(0.0));
    assert_eq!(value("2025T2"), Some(100.0));
    assert_eq!(value("2025T3"), None);
    assert_eq!(ind.follow_ups[0].updated_by, "feedback.nps");
    app.stop().await;
}

/// The dashboard's statistics, read from sums the database makes over the
/// aggregates, equal a direct count of the answers themselves: for every
/// filter, the subtree and its children, each breakdown, the previous
/// period and the trend.
#[tokio::test]
async fn statistics_equal_a_direct_count_of_the_answers_under_every_filter() {
    use valvo_core::feedback::{
        AgeGroup, Answer, Channel, Filter, Respondent, Score, ServiceLang, Summary, Tally,
    };
    use valvo_core::Period;
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let survey = app.store.current_survey().await.unwrap().def;
    let tree = app.store.org_tree().await.unwrap();
    let units = [f.county, f.area_a, f.unit_a1, f.area_b];
    // Reproducible answers over 2023–2025 with every background combination.
    let mut seed: u64 = 0x5eed_f00d;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let points: Vec<u8> = survey.scale.points().map(|p| p as u8).collect();
    let start = time::Date::from_calendar_date(2023, time::Month::January, 1).unwrap();
    let mut rows: Vec<(i64, Answer, Channel)> = Vec::new();
    for _ in 0..1500 {
        let mut scores = std::collections::BTreeMap::new();
        for s in &survey.statements {
            match next(4) {
                0 => {}
                1 => {
                    scores.insert(s.key.clone(), Score::CannotSay);
                }
                _ => {
                    scores.insert(s.key.clone(), Score::Value(points[next(points.len())]));
                }
            }
        }
        let answer = Answer {
            nps: (next(5) > 0).then(|| next(11) as u8),
            scores,
            text: None,
            service_lang: [
                None,
                Some(ServiceLang::Fi),
                Some(ServiceLang::Sv),
                Some(ServiceLang::Other),
            ][next(4)],
            age_group: [None, Some(AgeGroup::ALL[0])][next(2)],
            respondent: [None, Some(Respondent::Client), Some(Respondent::Relative)][next(3)],
            service_date: Some(start + time::Duration::days(next(3 * 365) as i64)),
            contact: None,
        };
        rows.push((
            units[next(units.len())],
            answer,
            Channel::ALL[next(Channel::ALL.len())],
        ));
    }
    let sys = valvo_core::access::Principal::system("test");
    let today = time::OffsetDateTime::now_utc().date();
    app.store.load_answers(&sys, &rows, today).await.unwrap();

    // The direct count: the answers of the subtree in the period that pass.
    let count =
        |scope: i64, period: &Period, filter: &Filter, extra: &dyn Fn(&Answer, Channel) -> bool| {
            let subtree = tree.subtree_ids(scope);
            let mut t = Tally::default();
            for (unit, a, ch) in &rows {
                let passes = subtree.contains(unit)
                    && period.contains_date(a.service_date.unwrap())
                    && (filter.lang.is_none() || filter.lang == a.service_lang)
                    && (filter.channel.is_none() || filter.channel == Some(*ch))
                    && (filter.respondent.is_none() || filter.respondent == a.respondent)
                    && extra(a, *ch);
                if passes {
                    for c in a.cells(*ch) {
                        t.add(&c.item, &c.counts);
                    }
                }
            }
            t
        };
    let summary = |t: Tally| -> Summary { t.summary(&survey) };
    let filters = [
        Filter::default(),
        Filter {
            lang: Some(ServiceLang::Sv),
            ..Default::default()
        },
        Filter {
            channel: Some(Channel::ALL[1]),
            ..Default::default()
        },
        Filter {
            respondent: Some(Respondent::Relative),
            ..Default::default()
        },
        Filter {
            lang: Some(ServiceLang::Fi),
            channel: Some(Channel::ALL[0]),
            respondent: Some(Respondent::Client),
        },
    ];
    let mut compared = 0;
    for (scope, period) in [
        (f.county, "2024"),
        (f.county, "2025T2"),
        (f.area_a, "2024H2"),
        (f.unit_a1, "2025"),
    ] {
        let period: Period = period.parse().unwrap();
        let prev = period.prev().unwrap();
        for filter in filters {
            let s = app
                .store
                .feedback_stats(&tree, scope, period, filter)
                .await
                .unwrap();
            let none = |_: &Answer, _: Channel| true;
            assert_eq!(
                s.current,
                summary(count(scope, &period, &filter, &none)),
                "{scope} {period} {filter:?}"
            );
            assert_eq!(s.prev, summary(count(scope, &prev, &filter, &none)));
            assert!(
                s.current.answers > 0 || filter.respondent.is_some(),
                "the sample reaches {period}"
            );
            // Each child.
            for child in &s.by_child {
                assert_eq!(
                    child.current,
                    summary(count(child.org_unit_id, &period, &filter, &none))
                );
                assert_eq!(
                    child.prev,
                    summary(count(child.org_unit_id, &prev, &filter, &none))
                );
            }
            assert_eq!(s.by_child.len(), tree.children(scope).len());
            // Each breakdown: every value with answers in either period, the
            // breakdown's own dimension not filtered.
            let check = |got: &[valvo_store::Breakdown],
                         keys: Vec<(String, Box<dyn Fn(&Answer, Channel) -> bool>)>,
                         f: Filter| {
                let mut want = Vec::new();
                for (key, keep) in &keys {
                    let cur = summary(count(scope, &period, &f, keep.as_ref()));
                    let prv = summary(count(scope, &prev, &f, keep.as_ref()));
                    if cur.answers > 0 || prv.answers > 0 {
                        want.push((key.clone(), cur, prv));
                    }
                }
                let got: Vec<_> = got
                    .iter()
                    .map(|b| (b.key.clone(), b.current.clone(), b.prev.clone()))
                    .collect();
                assert_eq!(got, want, "{scope} {period} {filter:?}");
            };
            let mut lang_keys: Vec<(String, Box<dyn Fn(&Answer, Channel) -> bool>)> = Vec::new();
            for l in ServiceLang::ALL.iter().copied().map(Some).chain([None]) {
                lang_keys.push((
                    l.map(ServiceLang::code).unwrap_or("").to_owned(),
                    Box::new(move |a: &Answer, _| a.service_lang == l),
                ));
            }
            check(
                &s.by_lang,
                lang_keys,
                Filter {
                    lang: None,
                    ..filter
                },
            );
            let mut channel_keys: Vec<(String, Box<dyn Fn(&Answer, Channel) -> bool>)> = Vec::new();
            for c in Channel::ALL {
                channel_keys.push((c.code().to_owned(), Box::new(move |_: &Answer, ch| ch == c)));
            }
            check(
                &s.by_channel,
                channel_keys,
                Filter {
                    channel: None,
                    ..filter
                },
            );
            let mut resp_keys: Vec<(String, Box<dyn Fn(&Answer, Channel) -> bool>)> = Vec::new();
            for r in Respondent::ALL.iter().copied().map(Some).chain([None]) {
                resp_keys.push((
                    r.map(Respondent::code).unwrap_or("").to_owned(),
                    Box::new(move |a: &Answer, _| a.respondent == r),
                ));
            }
            check(
                &s.by_respondent,
                resp_keys,
                Filter {
                    respondent: None,
                    ..filter
                },
            );
            // The trend: each year up to the period's with answers in the
            // subtree, counted under the filter.
            let trend: Vec<(i32, u64)> = s.trend.iter().map(|y| (y.year, y.answers)).collect();
            let want: Vec<(i32, u64)> = (2023..=period.year_number())
                .filter(|y| {
                    let p = Period::year(*y).unwrap();
                    summary(count(scope, &p, &Filter::default(), &none)).answers > 0
                })
                .map(|y| {
                    let p = Period::year(y).unwrap();
                    (y, summary(count(scope, &p, &filter, &none)).answers)
                })
                .collect();
            assert_eq!(trend, want, "{scope} {period} {filter:?}");
            compared += 1;
        }
    }
    assert_eq!(compared, 20);
    // The totals kept over the whole background equal the background rows
    // summed, after each writer: the bulk load above, live answers, and an
    // import.
    assert_eq!(totals_differ(&app).await, 0);
    let token = admin(&app).await;
    for nps in [3, 9, 10] {
        let r = app
            .client()
            .post(app.url("/api/v1/feedback/answers"))
            .bearer_auth(&token)
            .json(&json!({ "org_unit": f.unit_a1, "nps": nps, "service_lang": "sv" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = app
        .client()
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body("unit;service_date;nps;service_lang\nb;2024-05-02;7;fi\na1;2024-05-03;2;\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let year = Period::year(today.year()).unwrap();
    let s = app
        .store
        .feedback_stats(&tree, f.county, year, Filter::default())
        .await
        .unwrap();
    assert_eq!(
        s.current.answers,
        summary(count(f.county, &year, &Filter::default(), &|_, _| true)).answers + 3
    );
    let y2024 = Period::year(2024).unwrap();
    let s = app
        .store
        .feedback_stats(&tree, f.county, y2024, Filter::default())
        .await
        .unwrap();
    assert_eq!(
        s.current.answers,
        summary(count(f.county, &y2024, &Filter::default(), &|_, _| true)).answers + 2,
        "the two imported answers"
    );
    assert_eq!(totals_differ(&app).await, 0);
    app.stop().await;
}

/// Rows of `feedback_totals` and of `feedback_agg` summed over the
/// background that differ (both ways).
async fn totals_differ(app: &TestApp) -> i64 {
    let cols = [
        "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "cs",
    ];
    let sums: Vec<String> = cols
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
        .collect();
    let summed = format!(
        "SELECT scope_id, month, item, {} FROM feedback_agg GROUP BY scope_id, month, item",
        sums.join(", ")
    );
    let kept = format!(
        "SELECT scope_id, month, item, {} FROM feedback_totals",
        cols.join(", ")
    );
    let mut n = 0;
    for (a, b) in [(&summed, &kept), (&kept, &summed)] {
        n += app
            .scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM ({a} EXCEPT {b}) x"
            ))
            .await;
    }
    n
}

/// A second county beside the fixture's, without units ("toinen").
async fn other_county(app: &TestApp) -> i64 {
    app.store
        .create_org_unit(
            &valvo_core::access::Principal::system("test"),
            &valvo_store::NewOrgUnit {
                parent_id: None,
                code: "toinen".into(),
                name: crate::support::t("Toinen hyvinvointialue", "Annat välfärdsområde"),
                producer: valvo_core::ProducerType::Own,
                sort_order: 1,
                service_type: None,
            },
        )
        .await
        .unwrap()
}

/// Two counties hearing from different people: the comparison the API
/// gives, raw and standardised, is the one computed from the answers
/// themselves, whichever way they arrived (one by one over HTTP, an import,
/// a bulk load), and the migration's count of existing answers gives the
/// same rows as the writers kept.
#[tokio::test]
async fn counties_compare_as_computed_from_the_answers_whichever_way_they_came() {
    use std::collections::BTreeMap;
    use valvo_core::comparison::{compare_counties, Strata, Stratum};
    use valvo_core::feedback::{AgeGroup, Answer, Channel, Respondent, Score, ServiceLang};
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let sys = valvo_core::access::Principal::system("test");
    let other = other_county(&app).await;
    let other_unit = app
        .store
        .create_org_unit(
            &sys,
            &valvo_store::NewOrgUnit {
                parent_id: Some(other),
                code: "t1".into(),
                name: crate::support::t("Yksikkö T1", "Enhet T1"),
                producer: valvo_core::ProducerType::Own,
                sort_order: 0,
                service_type: None,
            },
        )
        .await
        .unwrap();
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let token = app.token("admin@x.fi").await;
    let survey = app.store.current_survey().await.unwrap().def;
    let keys: Vec<String> = survey
        .statements
        .iter()
        .filter(|s| s.national)
        .map(|s| s.key.clone())
        .collect();

    // The county hears mostly from clients, the other mostly from
    // relatives, who everywhere answer lower.
    let mut seed: u64 = 0xc0ff_ee11;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let mut answers: Vec<(i64, i64, Answer)> = Vec::new();
    for i in 0..360 {
        let (county, unit) = if i % 2 == 0 {
            (f.county, f.unit_a1)
        } else {
            (other, other_unit)
        };
        let relative = next(10) < if county == f.county { 2 } else { 8 };
        let low = if relative { 4 } else { 0 };
        let mut scores = BTreeMap::new();
        for k in &keys {
            if next(6) == 0 {
                scores.insert(k.clone(), Score::CannotSay);
            } else if next(6) > 0 {
                scores.insert(
                    k.clone(),
                    Score::Value((1 + next(5 - low / 2) + low / 4) as u8 % 5 + 1),
                );
            }
        }
        let day = time::Date::from_calendar_date(2024, time::Month::January, 1).unwrap()
            + time::Duration::days(next(120) as i64);
        answers.push((
            county,
            unit,
            Answer {
                nps: (next(8) > 0).then(|| (next(11 - low) + low / 2) as u8),
                scores,
                text: None,
                service_lang: [None, Some(ServiceLang::Fi), Some(ServiceLang::Sv)][next(3)],
                age_group: [None, Some(AgeGroup::From35), Some(AgeGroup::From75)][next(3)],
                respondent: Some(if relative {
                    Respondent::Relative
                } else {
                    Respondent::Client
                }),
                service_date: Some(day),
                contact: None,
            },
        ));
    }
    // A third one by one over HTTP, a third in an import, a third in a
    // bulk load.
    let code = |v: Option<&'static str>| v.unwrap_or("");
    let mut csv = format!(
        "unit;service_date;nps;{};service_lang;age_group;respondent\n",
        keys.join(";")
    );
    let mut bulk = Vec::new();
    for (i, (_, unit, a)) in answers.iter().enumerate() {
        match i % 3 {
            0 => {
                let scores: serde_json::Map<String, Value> = a
                    .scores
                    .iter()
                    .map(|(k, s)| {
                        let v = match s {
                            Score::Value(v) => json!(v),
                            Score::CannotSay => json!("cannot_say"),
                        };
                        (k.clone(), v)
                    })
                    .collect();
                let mut body = json!({
                    "org_unit": unit, "scores": scores,
                    "service_date": a.service_date.unwrap().to_string(),
                });
                if let Some(n) = a.nps {
                    body["nps"] = json!(n);
                }
                // A background question not answered is left out.
                for (k, v) in [
                    ("service_lang", a.service_lang.map(ServiceLang::code)),
                    ("age_group", a.age_group.map(AgeGroup::code)),
                    ("respondent", a.respondent.map(Respondent::code)),
                ] {
                    if let Some(v) = v {
                        body[k] = json!(v);
                    }
                }
                let r = app
                    .client()
                    .post(app.url("/api/v1/feedback/answers"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    r.status(),
                    StatusCode::CREATED,
                    "{body} {}",
                    r.text().await.unwrap()
                );
            }
            1 => {
                let unit = if *unit == f.unit_a1 { "a1" } else { "t1" };
                let cells: Vec<String> = keys
                    .iter()
                    .map(|k| match a.scores.get(k) {
                        Some(Score::Value(v)) => v.to_string(),
                        Some(Score::CannotSay) => "x".into(),
                        None => String::new(),
                    })
                    .collect();
                csv.push_str(&format!(
                    "{unit};{};{};{};{};{};{}\n",
                    a.service_date.unwrap(),
                    a.nps.map(|n| n.to_string()).unwrap_or_default(),
                    cells.join(";"),
                    code(a.service_lang.map(ServiceLang::code)),
                    code(a.age_group.map(AgeGroup::code)),
                    code(a.respondent.map(Respondent::code)),
                ));
            }
            _ => bulk.push((*unit, a.clone(), Channel::Web)),
        }
    }
    let r = app
        .client()
        .post(app.url("/api/v1/feedback/import"))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let today = time::OffsetDateTime::now_utc().date();
    app.store.load_answers(&sys, &bulk, today).await.unwrap();

    // The comparison computed from the answers themselves.
    let mut by: BTreeMap<i64, Strata> = BTreeMap::new();
    for (county, _, a) in &answers {
        let stratum = Stratum {
            respondent: a.respondent,
            age_group: a.age_group,
            lang: a.service_lang,
        };
        for c in a.cells(Channel::Web) {
            if c.item == valvo_core::feedback::ITEM_ANSWERS {
                continue;
            }
            by.entry(*county)
                .or_default()
                .entry(c.item)
                .or_default()
                .entry(stratum)
                .or_default()
                .add(&c.counts);
        }
    }
    let (national, each) = compare_counties(&by, &keys);
    let figures = |f: &valvo_core::comparison::Figures| {
        (
            serde_json::to_value(&f.nps).unwrap(),
            f.statements
                .iter()
                .map(|(_, c)| serde_json::to_value(c).unwrap())
                .collect::<Vec<_>>(),
        )
    };
    // The API's answer is the comparison of these counts.
    let check_against = |body: &Value, by: &BTreeMap<i64, Strata>| {
        let (national, each) = compare_counties(by, &keys);
        let got = |v: &Value| {
            (
                v["nps"].clone(),
                v["statements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["figure"].clone())
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(got(&body["national"]), figures(&national), "national");
        for c in body["counties"].as_array().unwrap() {
            let id = c["id"].as_i64().unwrap();
            assert_eq!(got(&c["figures"]), figures(&each[&id]), "county {id}");
        }
        assert_eq!(body["counties"].as_array().unwrap().len(), by.len());
    };
    let check = |body: &Value| check_against(body, &by);
    let r = app
        .client()
        .get(app.url("/api/v1/feedback/comparison?period=2024T1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    check(&body);
    // The mixes differ, and so do the raw figures and the standardised ones.
    let nps = |id: i64, which: &str| {
        body["counties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["figures"]["nps"][which]["value"]
            .as_f64()
            .unwrap()
    };
    assert!(nps(f.county, "raw") > nps(other, "raw"));
    assert!(
        (nps(f.county, "raw") - nps(other, "raw")).abs()
            > (nps(f.county, "standardised") - nps(other, "standardised")).abs(),
        "standardising narrows the gap the mix made"
    );
    // Another period's rows hold none of these.
    let r = app
        .client()
        .get(app.url("/api/v1/feedback/comparison?period=2024"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    check(&r.json().await.unwrap());
    let r = app
        .client()
        .get(app.url("/api/v1/feedback/comparison?period=2024T2"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let empty: Value = r.json().await.unwrap();
    assert_eq!(empty["national"]["nps"]["answers"], 0);
    // Without a token, only the public statistics' periods.
    let r = app
        .client()
        .get(app.url("/api/v1/feedback/comparison?period=2024H1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // The public page: the same figures, the county's own row marked.
    let page = app
        .client()
        .get(app.url("/public/comparison?period=2024T1&county=county&lang=fi"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let shown = |e: &valvo_core::comparison::Estimate| {
        let f = |v: f64| {
            let s = format!("{v:.0}");
            let s = if s == "-0" { "0".to_owned() } else { s };
            s.replace('.', ",")
        };
        format!("{} ({}\u{2026}{})", f(e.value), f(e.low), f(e.high))
    };
    let mine = &each[&f.county];
    for e in [
        mine.nps.raw.as_ref().unwrap(),
        mine.nps.standardised.as_ref().unwrap(),
        national.nps.raw.as_ref().unwrap(),
    ] {
        assert!(html.contains(&shown(e)), "{} not on the page", shown(e));
    }
    assert!(html.contains("<strong>Testin hyvinvointialue</strong> (tämä alue)"));
    assert!(html.contains("Testin hyvinvointialue verrattuna koko maahan"));
    for (path, status) in [
        ("/public/comparison?period=2024H1", StatusCode::BAD_REQUEST),
        (
            "/public/comparison?period=2024T1&county=a",
            StatusCode::NOT_FOUND,
        ),
        (
            "/public/comparison?period=2024T1&county=nope",
            StatusCode::NOT_FOUND,
        ),
        ("/public/comparison?period=2024T1", StatusCode::OK),
    ] {
        let r = app.client().get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    // The county's public page leads there.
    let org = app
        .client()
        .get(app.url("/public/org/a1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(org.contains("href=\"/public/comparison?county=county\""));

    // The county's report sets it beside the country on the same questions;
    // a unit's report has no such table.
    fn tables_of(v: &Value, key: &str, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if m.get("key").and_then(Value::as_str) == Some(key) && m.contains_key("rows") {
                    out.push(v.clone());
                }
                m.values().for_each(|x| tables_of(x, key, out));
            }
            Value::Array(a) => a.iter().for_each(|x| tables_of(x, key, out)),
            _ => {}
        }
    }
    // Every answer is in 1–4/2024: the half year holds the same ones.
    let h1: valvo_core::Period = "2024H1".parse().unwrap();
    let report = app.store.preview_report(f.county, h1, false).await.unwrap();
    let mut found = Vec::new();
    tables_of(
        &serde_json::to_value(&report).unwrap(),
        "fb_comparison",
        &mut found,
    );
    assert_eq!(
        found.len(),
        1,
        "one comparison table in the county's report"
    );
    let nps_row = &found[0]["rows"][0]["cells"];
    let mine = &each[&f.county];
    assert_eq!(
        nps_row[0]["value"].as_f64(),
        mine.nps.raw.map(|e| e.value.round())
    );
    assert_eq!(
        nps_row[1]["value"].as_f64(),
        mine.nps.standardised.map(|e| e.value.round())
    );
    assert_eq!(
        nps_row[2]["value"].as_f64(),
        national.nps.raw.map(|e| e.value.round())
    );
    assert_eq!(found[0]["rows"].as_array().unwrap().len(), 1 + keys.len());
    let unit_report = app
        .store
        .preview_report(f.unit_a1, h1, false)
        .await
        .unwrap();
    let mut none = Vec::new();
    tables_of(
        &serde_json::to_value(&unit_report).unwrap(),
        "fb_comparison",
        &mut none,
    );
    assert!(none.is_empty());

    // The migration counting the answers already there gives the same rows
    // (every scope's: the unit, its area, its county).
    let fingerprint = "SELECT CAST(COUNT(*) * 1000003 + SUM((scope_id % 997 + 1) * LENGTH(month) * \
        (b0 + 2 * b1 + 3 * b2 + 5 * b3 + 7 * b4 + 11 * b5 + 13 * b6 + 17 * b7 + 19 * b8 + 23 * b9 + 29 * b10 + 31 * cs) \
        * (LENGTH(item) + 3 * LENGTH(respondent) + 5 * LENGTH(age_group) + 7 * LENGTH(lang))) AS BIGINT) \
        FROM feedback_strata";
    let before = app.scalar(fingerprint).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(DISTINCT scope_id) FROM feedback_strata WHERE scope_id IN ({}, {}, {}, {}, {})",
            f.county, f.area_a, f.unit_a1, other, other_unit
        ))
        .await,
        5
    );
    let migration = if crate::support::backend() == "postgres" {
        include_str!("../../../valvo-store/migrations/postgres/0027_service_types.sql")
    } else {
        include_str!("../../../valvo-store/migrations/sqlite/0027_service_types.sql")
    };
    let backfill = &migration[migration.find("DELETE FROM feedback_strata").unwrap()..];
    for statement in backfill.split(";\n").filter(|s| !s.trim().is_empty()) {
        app.sql(statement).await;
    }
    assert_eq!(app.scalar(fingerprint).await, before);
    let r = app
        .client()
        .get(app.url("/api/v1/feedback/comparison?period=2024T1"))
        .send()
        .await
        .unwrap();
    check(&r.json().await.unwrap());

    // By service type: the answers of the units giving it, whichever unit
    // names the type (the unit or one above it), as computed from the
    // answers themselves; a change of type shows at once.
    let patch = async |unit: i64, body: Value| {
        let r = app
            .client()
            .patch(app.url(&format!("/api/v1/org-units/{unit}")))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        v["org_unit"]["service_type"].clone()
    };
    let by_service = async |service: &str| -> Value {
        let r = app
            .client()
            .get(app.url(&format!(
                "/api/v1/feedback/comparison/{service}?period=2024T1"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["service_type"], service);
        body
    };
    let only = |counties: &[(i64, bool)]| -> BTreeMap<i64, Strata> {
        counties
            .iter()
            .map(|(c, answers)| {
                let strata = if *answers {
                    by[c].clone()
                } else {
                    Strata::new()
                };
                (*c, strata)
            })
            .collect()
    };
    // No unit gives it yet: no county.
    check_against(&by_service("health_station").await, &BTreeMap::new());
    assert_eq!(
        patch(f.area_a, json!({ "service_type": "health_station" })).await,
        "health_station"
    );
    assert_eq!(
        patch(other_unit, json!({ "service_type": "health_station" })).await,
        "health_station"
    );
    check_against(&by_service("health_station").await, &by);
    // The list of units gives each unit's own type (null: inherited).
    let list: Value = app
        .client()
        .get(app.url("/api/v1/org-units"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let type_of = |id: i64| {
        list["org_units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id)
            .unwrap()["service_type"]
            .clone()
    };
    assert_eq!(type_of(f.area_a), "health_station");
    assert_eq!(type_of(f.unit_a1), Value::Null);
    // The area naming the service has the county's place in it in its
    // report; its unit (giving the area's service) and the county have no
    // such table.
    let service_tables = async |unit: i64| {
        let report = app.store.preview_report(unit, h1, false).await.unwrap();
        let mut found = Vec::new();
        tables_of(
            &serde_json::to_value(&report).unwrap(),
            "fb_comparison_health_station",
            &mut found,
        );
        found
    };
    let found = service_tables(f.area_a).await;
    assert_eq!(found.len(), 1);
    let (h1_national, h1_each) = compare_counties(&by, &keys);
    assert_eq!(
        found[0]["rows"][0]["cells"][0]["value"].as_f64(),
        h1_each[&f.county].nps.raw.map(|e| e.value.round())
    );
    assert_eq!(
        found[0]["rows"][0]["cells"][2]["value"].as_f64(),
        h1_national.nps.raw.map(|e| e.value.round())
    );
    assert!(service_tables(f.unit_a1).await.is_empty());
    assert!(service_tables(f.county).await.is_empty());
    // A unit below naming another service leaves the area's: the county
    // still has an area giving it, without answers.
    assert_eq!(
        patch(f.unit_a1, json!({ "service_type": "oral_health" })).await,
        "oral_health"
    );
    check_against(
        &by_service("health_station").await,
        &only(&[(f.county, false), (other, true)]),
    );
    check_against(&by_service("oral_health").await, &only(&[(f.county, true)]));
    // The name and producer stay when only the type changes, and null
    // clears it: the unit gives its area's service again.
    assert_eq!(
        patch(f.unit_a1, json!({ "service_type": null })).await,
        Value::Null
    );
    let unit = app
        .store
        .org_tree()
        .await
        .unwrap()
        .get(f.unit_a1)
        .cloned()
        .unwrap();
    assert_eq!(unit.code, "a1");
    assert_eq!(unit.service_type, None);
    check_against(&by_service("health_station").await, &by);
    check_against(&by_service("oral_health").await, &BTreeMap::new());
    // An unknown type is no such comparison; the parameter on the
    // counties' comparison is refused, naming where a service's is.
    let r = app
        .client()
        .get(app.url("/api/v1/feedback/comparison/dentistry?period=2024T1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .client()
        .get(app.url("/api/v1/feedback/comparison?period=2024T1&service_type=health_station"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("/api/v1/feedback/comparison/{service_type}"));
    // By service, tertials, half years and years (what the units below a
    // county keep), not months or quarters.
    for (period, status) in [
        ("2024-02", StatusCode::BAD_REQUEST),
        ("2024Q1", StatusCode::BAD_REQUEST),
        ("2024H1", StatusCode::OK),
        ("2024", StatusCode::OK),
    ] {
        let r = app
            .client()
            .get(app.url(&format!(
                "/api/v1/feedback/comparison/health_station?period={period}"
            )))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{period}");
        if status == StatusCode::OK {
            // Every answer is in 1–4/2024.
            check_against(&r.json().await.unwrap(), &by);
        }
    }
    let r = app
        .client()
        .patch(app.url(&format!("/api/v1/org-units/{}", f.unit_a1)))
        .bearer_auth(&token)
        .json(&json!({ "service_type": "dentistry" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("service_type"));

    // The public page: the list of services, the chosen one's figures, and
    // a county without such units told so.
    let page = |path: &str| {
        let url = app.url(path);
        let client = app.client();
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, html) =
        page("/public/comparison?period=2024T1&service_type=health_station&lang=sv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<option value=\"health_station\" selected>hälsostationer</option>"));
    assert!(html.contains("Annat välfärdsområde"));
    patch(other_unit, json!({ "service_type": "home_care" })).await;
    let (status, html) =
        page("/public/comparison?period=2024T1&service_type=health_station&county=toinen&lang=fi")
            .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Toinen hyvinvointialue: ei palvelutyypin ”terveysasemat” yksiköitä."),
        "{html}"
    );
    let (status, _) = page("/public/comparison?period=2024T1&service_type=dentistry").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The unit's page names the service it gives (its area's).
    let admin = app.login("admin@x.fi").await;
    let html = admin
        .get(app.url(&format!("/org/{}?lang=en", f.unit_a1)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Service: health stations"), "{html}");
}

/// The national role (THL, the ministry) reads the statistics of every
/// county, any period and filter, in the API and on the statistics pages,
/// and nothing else: no unit page, plan, incident report, feedback case,
/// answer export or user.
#[tokio::test]
async fn the_national_role_reads_every_countys_statistics_and_nothing_else() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let other = other_county(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    app.add_user("thl@x.fi", Role::National, None).await;
    app.add_user("region@x.fi", Role::National, Some(other))
        .await;
    let admin = app.token("admin@x.fi").await;
    let thl = app.token("thl@x.fi").await;
    let region = app.token("region@x.fi").await;
    let c = app.client();
    // Answers with text in both counties (each a case in its unit's queue),
    // and an incident report.
    let mut answers = Vec::new();
    for (i, unit) in [f.unit_a1, f.unit_a1, f.unit_a1, other]
        .into_iter()
        .enumerate()
    {
        let r = c
            .post(app.url("/api/v1/feedback/answers"))
            .bearer_auth(&admin)
            .json(
                &json!({ "org_unit": unit, "nps": 6 + i, "service_lang": "sv",
                           "service_date": "2024-03-0".to_string() + &(i + 1).to_string(),
                           "text": format!("Salainen kommentti {i}") }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        answers.push(r.json::<Value>().await.unwrap());
    }
    let r = c
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&admin)
        .json(
            &json!({ "org_unit": f.unit_a1, "occurred_on": "2024-02-01", "kind": "client_safety",
                        "event_type": "fall_accident", "description": "Salainen kuvaus",
                        "consequence": "mild", "reporter_role": "staff" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let incident = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // Every figure, in a period and with a filter the public never gets.
    let s = stats(
        &app,
        Some(&thl),
        &format!("org_unit={}&period=2024-03&service_lang=sv", f.county),
    )
    .await;
    assert_eq!(s["public"], json!(false));
    assert_eq!(s["stats"]["current"]["answers"], json!(3));
    let s = stats(&app, Some(&thl), &format!("org_unit={other}&period=2024")).await;
    assert_eq!(
        s["stats"]["current"]["answers"],
        json!(1),
        "a county of one answer: not withheld"
    );
    let get = |token: &str, path: &str| c.get(app.url(path)).bearer_auth(token.to_string()).send();
    // A national role with a scope reads that county's only.
    let r = get(
        &region,
        &format!("/api/v1/feedback/stats?org_unit={}&period=2024", f.county),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = get(
        &region,
        &format!("/api/v1/feedback/stats?org_unit={other}&period=2024"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(
        &thl,
        &format!("/api/v1/incidents/stats?org_unit={}&period=2024", f.county),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&thl, "/api/v1/feedback/comparison?period=2024")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Nothing else: cases, answers, incident reports, plans, users.
    let case = answers[0]["case"]
        .as_i64()
        .expect("an answer with text is a case");
    for path in [
        format!("/api/v1/feedback/cases/{case}"),
        format!("/api/v1/incidents/{incident}"),
        format!("/api/v1/org-units/{}/plan/2024", f.unit_a1),
        format!("/api/v1/feedback/export?org_unit={}&period=2024", f.county),
        "/api/v1/users".to_string(),
    ] {
        let r = get(&thl, &path).await.unwrap();
        assert!(
            [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&r.status()),
            "{path}: {}",
            r.status()
        );
        assert!(!r.text().await.unwrap().contains("Salainen"), "{path}");
    }
    let r = get(
        &thl,
        &format!("/api/v1/feedback/cases?org_unit={}", f.county),
    )
    .await
    .unwrap();
    let body = r.text().await.unwrap();
    assert!(!body.contains("Salainen"), "the queue: {body}");

    // The pages: the counties and their statistics, nothing more.
    let u = app.login("thl@x.fi").await;
    let home = u
        .get(app.url("/?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Välfärdsområdenas statistik"), "{home}");
    assert!(
        !home.contains("plan för egenkontroll"),
        "no plan offered: {home}"
    );
    for (county, name) in [
        (f.county, "Testens välfärdsområde"),
        (other, "Annat välfärdsområde"),
    ] {
        assert!(home.contains(name) && home.contains(&format!("/org/{county}/feedback")));
    }
    assert!(
        !home.contains("href=\"/incidents\"") && !home.contains("/feedback/cases"),
        "no staff menu"
    );
    for path in [
        format!("/org/{}/feedback?period=2024-03&lang=sv", f.unit_a1),
        format!("/org/{}/incidents?period=2024", f.county),
    ] {
        let r = u.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            !html.contains("Salainen") && !html.contains("export.csv"),
            "{path}"
        );
        assert!(
            !html.contains(&format!("href=\"/org/{}\"", f.county)),
            "{path}: no link to the unit page"
        );
    }
    for path in [
        format!("/org/{}", f.county),
        format!("/org/{}/plan/2024", f.unit_a1),
        format!("/incidents/{incident}"),
        format!("/feedback/cases/{case}"),
        format!("/org/{}/feedback/export.csv?period=2024", f.county),
        "/users".to_string(),
    ] {
        let r = u.get(app.url(&path)).send().await.unwrap();
        assert!(
            [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&r.status()),
            "{path}: {}",
            r.status()
        );
    }
    for queue in ["/feedback/cases", "/incidents"] {
        let html = u
            .get(app.url(queue))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("Salainen"), "{queue}");
    }

    // Each county's public site at its own address.
    let r = c
        .get(app.url("/public/TOINEN?lang=sv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/public/org/toinen?lang=sv");
    let r = c.get(app.url("/public/a1")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "a unit is not a county");
    app.stop().await;
}

/// A page's HTML, as `c` sees it.
async fn html(app: &TestApp, c: &reqwest::Client, path: &str) -> String {
    c.get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The keys of a summary's statements (`stats.current.statements`).
fn statement_keys(s: &Value) -> Vec<String> {
    s["stats"]["current"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["key"].as_str().unwrap().to_owned())
        .collect()
}

/// A statement's number of valued answers in a summary.
fn statement_n(s: &Value, key: &str) -> u64 {
    s["stats"]["current"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == key)
        .unwrap_or_else(|| panic!("{key} in {s}"))["n"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn each_county_asks_its_own_statements_beside_the_shared_ones() {
    use crate::support::{error_fields, error_lines};
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let sys = valvo_core::access::Principal::system("test");
    let unit = |parent: Option<i64>, code: &str| valvo_store::NewOrgUnit {
        parent_id: parent,
        code: code.into(),
        name: crate::support::t(&format!("Yksikkö {code}"), &format!("Enhet {code}")),
        producer: valvo_core::ProducerType::Own,
        sort_order: 1,
        service_type: None,
    };
    let other = other_county(&app).await;
    let t1 = app
        .store
        .create_org_unit(&sys, &unit(Some(other), "t1"))
        .await
        .unwrap();
    app.add_user("admin@x.fi", Role::Admin, None).await;
    app.add_user("qc@x.fi", Role::QualityCoordinator, Some(f.county))
        .await;
    app.add_user("qc2@x.fi", Role::QualityCoordinator, Some(other))
        .await;
    app.add_user("area@x.fi", Role::QualityCoordinator, Some(f.area_a))
        .await;
    let add = |key: &'static str, county: Option<&'static str>| {
        let mut fields = vec![
            ("statement_key", key),
            ("statement_text_fi", "Sauna oli lämmin"),
            ("statement_text_sv", "Bastun var varm"),
            ("statement_text_en", "The sauna was warm"),
        ];
        if let Some(c) = county {
            fields.push(("county", c));
        }
        fields
    };

    // ---- who adds what
    let qc = app.login("qc@x.fi").await;
    let page = html(&app, &qc, "/feedback/survey").await;
    assert!(
        page.contains("name=\"statement_key\""),
        "a county's coordinator adds"
    );
    assert!(
        !page.contains("name=\"county\""),
        "to their own county, unasked"
    );
    let r = app
        .post_form(&qc, "/feedback/survey", &add("sauna", None))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let qc2 = app.login("qc2@x.fi").await;
    // Keys are unique across counties.
    let r = app
        .post_form(&qc2, "/feedback/survey", &add("sauna", None))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("href=\"#statement_key\""));
    let r = app
        .post_form(&qc2, "/feedback/survey", &add("ferry", None))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // An area's coordinator keeps no survey.
    let area = app.login("area@x.fi").await;
    let page = html(&app, &area, "/feedback/survey").await;
    assert!(!page.contains("name=\"statement_key\""));
    let r = app
        .post_form(&area, "/feedback/survey", &add("bus", None))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Someone who works for every county chooses: shared, or a county's.
    let admin = app.login("admin@x.fi").await;
    let page = html(&app, &admin, "/feedback/survey?lang=sv").await;
    assert!(page.contains("name=\"county\""));
    assert!(page.contains("Alla välfärdsområden (gemensam)"));
    let r = app
        .post_form(&admin, "/feedback/survey", &add("parking", Some("")))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(&admin, "/feedback/survey", &add("bus", Some("nowhere")))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A county's coordinator sees the shared statements and their own.
    let page = html(&app, &qc, "/feedback/survey?lang=fi").await;
    assert!(page.contains("<code>sauna</code>") && page.contains("<code>parking</code>"));
    assert!(!page.contains("<code>ferry</code>"), "not another county's");
    assert!(page.contains("Testin hyvinvointialue") && page.contains("Kaikki hyvinvointialueet"));

    // ---- two counties adding at once: both additions are kept (the one
    // that lost the version is made again on the winner's); the same key
    // goes to one of them.
    let csrf = (app.csrf(&qc).await, app.csrf(&qc2).await);
    let post = |c: &reqwest::Client, csrf: &str, key: String| {
        let req = c.post(app.url("/feedback/survey")).form(&[
            ("csrf", csrf.to_string()),
            ("statement_key", key),
            ("statement_text_fi", "a".into()),
            ("statement_text_sv", "b".into()),
            ("statement_text_en", "c".into()),
        ]);
        async move { req.send().await.unwrap().status() }
    };
    for i in 0..6 {
        let (s1, s2) = tokio::join!(
            post(&qc, &csrf.0, format!("race_a{i}")),
            post(&qc2, &csrf.1, format!("race_b{i}")),
        );
        assert_eq!(
            (s1, s2),
            (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER),
            "{i}"
        );
        let (s1, s2) = tokio::join!(
            post(&qc, &csrf.0, format!("race_same{i}")),
            post(&qc2, &csrf.1, format!("race_same{i}")),
        );
        let mut got = [s1, s2];
        got.sort();
        assert_eq!(
            got,
            [StatusCode::SEE_OTHER, StatusCode::UNPROCESSABLE_ENTITY],
            "{i}"
        );
    }
    let v: Value = app
        .client()
        .get(app.url("/api/v1/feedback/survey"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let raced: Vec<(String, String)> = v["survey"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["key"].as_str().unwrap().starts_with("race_"))
        .map(|s| {
            (
                s["key"].as_str().unwrap().into(),
                s["county"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(raced.len(), 18, "{raced:?}");
    for (key, county) in &raced {
        if key.starts_with("race_a") {
            assert_eq!(county, "county");
        } else if key.starts_with("race_b") {
            assert_eq!(county, "toinen");
        }
    }
    // 3 added above, 18 here, on top of version 1.
    assert_eq!(v["version"], 22);

    // ---- the survey as asked in each county
    let c = app.client();
    let survey = |q: &'static str| {
        let c = c.clone();
        let url = app.url(&format!("/api/v1/feedback/survey{q}"));
        async move {
            let r = c.get(url).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let keys = |v: &Value| -> Vec<(String, Value)> {
        v["survey"]["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["key"].as_str().unwrap().to_owned(), s["county"].clone()))
            .collect()
    };
    let (s, all) = survey("").await;
    assert_eq!(s, StatusCode::OK);
    let all = keys(&all);
    assert_eq!(all.len(), 11 + 18);
    assert_eq!(all[8], ("sauna".into(), json!("county")));
    assert_eq!(all[9], ("ferry".into(), json!("toinen")));
    assert_eq!(all[10], ("parking".into(), Value::Null));
    let (_, theirs) = survey("?county=toinen").await;
    let theirs: Vec<String> = keys(&theirs).into_iter().map(|k| k.0).collect();
    // The shared ones, the county's own and its raced six and some of the same.
    assert!(theirs.len() >= 10 + 6, "{theirs:?}");
    assert!(
        !theirs.iter().any(|k| k.starts_with("race_a")),
        "{theirs:?}"
    );
    assert!(theirs.contains(&"ferry".to_string()) && !theirs.contains(&"sauna".to_string()));
    assert_eq!(survey("?county=nowhere").await.0, StatusCode::NOT_FOUND);
    // The answer pages ask the unit's county's statements.
    for (code, asked, not) in [("a1", "sauna", "ferry"), ("t1", "ferry", "sauna")] {
        let page = html(&app, &c, &format!("/feedback/{code}")).await;
        assert!(page.contains(&format!("name=\"scores.{asked}\"")), "{code}");
        assert!(page.contains("name=\"scores.parking\""), "{code}");
        assert!(!page.contains(&format!("name=\"scores.{not}\"")), "{code}");
    }

    // ---- answers: another county's statement is refused, naming it
    let token = app.token("admin@x.fi").await;
    let answer = |body: Value| {
        let c = c.clone();
        let url = app.url("/api/v1/feedback/answers");
        // An invitation is its own key; a unit's answer needs a token.
        let bearer = body.get("invitation").is_none().then(|| token.clone());
        async move {
            let mut r = c.post(url).json(&body);
            if let Some(t) = bearer {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, body) =
        answer(json!({ "org_unit": t1, "nps": 9, "scores": { "sauna": 4, "ferry": 5 } })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["scores.sauna"]);
    let (s, body) =
        answer(json!({ "org_unit": f.unit_a1, "nps": 9, "scores": { "sauna": 4, "parking": 3 } }))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _) =
        answer(json!({ "org_unit": t1, "nps": 7, "scores": { "ferry": 5, "parking": 2 } })).await;
    assert_eq!(s, StatusCode::CREATED);
    // The public form refuses it too, and shows the unit's statements again.
    let r = c
        .post(app.url("/feedback/t1"))
        .form(&[("nps", "5"), ("scores.sauna", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("name=\"scores.ferry\"") && !html.contains("name=\"scores.sauna\""));
    // An invitation: the refused answer leaves the token for the right one.
    let r: Value = c
        .post(app.url("/api/v1/feedback/invitations"))
        .bearer_auth(&token)
        .json(&json!({ "org_unit": t1, "service_date": today(), "count": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let inv = r["tokens"][0].as_str().unwrap().to_owned();
    let (s, body) = answer(json!({ "invitation": inv, "scores": { "sauna": 2 } })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["scores.sauna"]);
    let (s, body) = answer(json!({ "invitation": inv, "scores": { "ferry": 4 } })).await;
    assert_eq!(s, StatusCode::CREATED, "the token was kept: {body}");
    // A used token is named as used, whatever the answer scores.
    let (s, body) = answer(json!({ "invitation": inv, "scores": { "sauna": 2 } })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");

    // ---- the import: a line of the other county's unit is named
    let d = today();
    let import = |csv: String| {
        let c = c.clone();
        let url = app.url("/api/v1/feedback/import");
        let token = token.clone();
        async move {
            let r = c
                .post(url)
                .bearer_auth(&token)
                .header(header::CONTENT_TYPE, "text/csv")
                .body(csv)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (s, body) = import(format!(
        "unit;service_date;nps;sauna;ferry\na1;{d};9;5;\nt1;{d};8;;3\nt1;{d};7;4;\n"
    ))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_lines(&body), [(4, "sauna".to_string())]);
    assert!(
        body["error"]["lines"][0]["expected"]
            .as_str()
            .unwrap()
            .contains("another county's own"),
        "{body}"
    );
    let (s, body) = import(format!(
        "unit;service_date;nps;sauna;ferry\na1;{d};9;5;\nt1;{d};8;;3\n"
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // ---- the figures: each county's own statements in its own only
    let token = app.token("admin@x.fi").await;
    let year = this_year();
    let mine = stats(
        &app,
        Some(&token),
        &format!("org_unit={}&period={year}", f.county),
    )
    .await;
    let theirs = stats(
        &app,
        Some(&token),
        &format!("org_unit={other}&period={year}"),
    )
    .await;
    let k = statement_keys(&mine);
    assert!(
        k.contains(&"sauna".into())
            && k.contains(&"parking".into())
            && !k.contains(&"ferry".into())
    );
    let k = statement_keys(&theirs);
    assert!(k.contains(&"ferry".into()) && !k.contains(&"sauna".into()));
    // Also a county's own statement nobody has answered yet (a statement
    // with answers would be listed from its counts alone).
    assert!(statement_keys(&mine).contains(&"race_a0".into()) && !k.contains(&"race_a0".into()));
    assert!(k.contains(&"race_b0".into()) && !statement_keys(&mine).contains(&"race_b0".into()));
    // The API answer and the imported line in the county; in the other
    // county the two API answers (the invitation's too) and the line.
    assert_eq!(statement_n(&mine, "sauna"), 2);
    assert_eq!(statement_n(&theirs, "ferry"), 3);
    assert_eq!(statement_n(&theirs, "parking"), 1);
    assert_eq!(theirs["stats"]["current"]["answers"], 3);
    // The export's columns are those asked in the scope's county.
    let r = c
        .get(app.url(&format!(
            "/api/v1/feedback/export?org_unit={other}&period={year}"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.contains("ferry") && !header.contains("sauna"),
        "{header}"
    );
    // Written down who added what.
    let log = app.store.audit_log(1000, None, None).await.unwrap();
    let added: Vec<String> = log
        .iter()
        .filter(|e| e.entity == "survey")
        .map(|e| e.after.as_ref().map(|d| d.to_string()).unwrap_or_default())
        .collect();
    assert!(
        added
            .iter()
            .any(|d| d.contains("\"ferry\"") && d.contains("\"toinen\"")),
        "{added:?}"
    );
    app.stop().await;
}
