//! Valvo as a user meets it: a real server on a free port, a fresh database
//! (SQLite, or PostgreSQL with VALVO_TEST_DATABASE=postgres), HTTP only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

mod accounts;
mod branding;
mod feedback;
mod figures;
mod hardening;
mod imports;
mod oversight;
mod support;

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use support::{fixture, hidden, TestApp};
use valvo_core::access::Role;

async fn text(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

#[tokio::test]
async fn health_security_headers_and_openapi() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = c.get(app.url("/")).send().await.unwrap();
    let h = r.headers();
    assert!(h[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let doc: Value = c
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/org-units",
        "/api/v1/org-units/{id}/plan/{year}",
        "/api/v1/indicators",
        "/api/v1/indicators/{id}",
        "/api/v1/indicators/{id}/follow-ups",
        "/api/v1/indicators/{id}/follow-ups/{period}",
        "/api/v1/goals",
        "/api/v1/goals/{id}",
        "/api/v1/actions",
        "/api/v1/actions/{id}",
        "/api/v1/org-units/{id}",
        "/api/v1/audit",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    assert!(paths["/api/v1/indicators/{id}/follow-ups/{period}"]["put"].is_object());

    // Every documented operation exists on the server: 401 without a token
    // (never 404 or 405), except those documented as public.
    for (p, ops) in paths {
        let concrete = p
            .replace("{id}", "1")
            .replace("{year}", "2024")
            .replace("{period}", "2024T1")
            .replace("{code}", "other")
            .replace("{service_type}", "oral_health");
        for (method, op) in ops.as_object().unwrap() {
            // Public, or with an optional token ([{}, {"bearer": []}]).
            let public = op["security"]
                .as_array()
                .is_some_and(|s| s.is_empty() || s.iter().any(|r| r == &json!({})));
            let req = match method.as_str() {
                "get" => c.get(app.url(&concrete)),
                "put" => c.put(app.url(&concrete)).json(&json!({})),
                "post" => c.post(app.url(&concrete)).json(&json!({})),
                "patch" => c.patch(app.url(&concrete)).json(&json!({})),
                "delete" => c.delete(app.url(&concrete)),
                other => panic!("{other}"),
            };
            let r = req.send().await.unwrap();
            if public {
                assert!(
                    ![
                        StatusCode::NOT_FOUND,
                        StatusCode::METHOD_NOT_ALLOWED,
                        StatusCode::UNAUTHORIZED
                    ]
                    .contains(&r.status()),
                    "{method} {concrete}: {}",
                    r.status()
                );
            } else {
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {concrete}");
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized");
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn login_logout_and_csrf() {
    let app = TestApp::spawn().await;
    app.add_user("admin@test.fi", Role::Admin, None).await;

    // Pages need a login.
    let c = app.client();
    let r = c.get(app.url("/audit")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login?next=/audit"));

    // Wrong password: 401 and a message, no session.
    let page = text(c.get(app.url("/login?lang=fi")).send().await.unwrap()).await;
    let token = hidden(&page, "token");
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("token", token.as_str()),
            ("email", "admin@test.fi"),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(text(r)
        .await
        .contains("Sähköpostiosoite tai salasana on väärin"));

    // Login form without its token is refused.
    let r = app
        .client()
        .post(app.url("/login"))
        .form(&[("email", "admin@test.fi"), ("password", support::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A session cookie is HttpOnly and SameSite.
    let c = app.client();
    let page = text(c.get(app.url("/login")).send().await.unwrap()).await;
    let token = hidden(&page, "token");
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("token", token.as_str()),
            ("next", "/audit"),
            ("email", "ADMIN@test.fi"),
            ("password", support::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/audit");
    let cookies: Vec<&str> = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("valvo_session="))
        .unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert_eq!(
        c.get(app.url("/audit")).send().await.unwrap().status(),
        StatusCode::OK
    );

    // An open redirect through `next` is not possible.
    let c2 = app.client();
    let page = text(c2.get(app.url("/login")).send().await.unwrap()).await;
    let token = hidden(&page, "token");
    let r = c2
        .post(app.url("/login"))
        .form(&[
            ("token", token.as_str()),
            ("next", "//evil.example/x"),
            ("email", "admin@test.fi"),
            ("password", support::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[header::LOCATION], "/");

    // Logout needs the form token; a cross-site POST is refused outright.
    let r = c
        .post(app.url("/logout"))
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let csrf = app.csrf(&c).await;
    let r = c
        .post(app.url("/logout"))
        .header(header::ORIGIN, "http://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(app.url("/logout"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        c.get(app.url("/audit")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    // Guessing is stopped: after the limit of failed logins, even the right password is refused for a while.
    let guesser = app.client();
    let mut refused = false;
    for _ in 0..25 {
        let page = text(guesser.get(app.url("/login")).send().await.unwrap()).await;
        let token = hidden(&page, "token");
        let r = guesser
            .post(app.url("/login"))
            .form(&[
                ("token", token.as_str()),
                ("email", "admin@test.fi"),
                ("password", "guess guess guess"),
            ])
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(refused, "429 after too many failed logins");

    app.stop().await;
}

#[tokio::test]
async fn language_is_switchable_on_every_page() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    let c = app.login("admin@test.fi").await;

    let pages = [
        "/".to_string(),
        "/accessibility".to_string(),
        format!("/org/{}", f.unit_a1),
        format!("/org/{}/plan/2024", f.unit_a1),
        format!("/org/{}/plan/2024/bilingual", f.unit_a1),
        format!("/indicators/{}", f.ind_a1),
        format!("/indicators/{}/follow-up?period=2024T3", f.ind_a1),
        format!("/goals/{}/edit", f.goal_a1),
        format!("/goals/{}/review?period=2024T3", f.goal_a1),
        format!("/actions/{}/edit", f.action_a1),
        "/audit".to_string(),
    ];
    let expect = [
        ("fi", "Siirry sisältöön"),
        ("sv", "Hoppa till innehållet"),
        ("en", "Skip to content"),
    ];
    for p in &pages {
        for (lang, skip) in expect {
            let sep = if p.contains('?') { '&' } else { '?' };
            let r = c
                .get(app.url(&format!("{p}{sep}lang={lang}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{p} in {lang}");
            let body = text(r).await;
            assert!(
                body.contains(&format!("<html lang=\"{lang}\">")),
                "{p} lang {lang}"
            );
            assert!(body.contains(skip), "{p} skip link in {lang}");
            for other in ["fi", "sv", "en"] {
                assert!(
                    body.contains(&format!("lang={other}\"")),
                    "{p} links to {other}"
                );
            }
            assert!(
                !body.contains("[field-") && !body.contains("[error-"),
                "{p} has an untranslated key"
            );
        }
    }
    // The choice sticks (cookie); a new visitor gets Accept-Language.
    let _ = c.get(app.url("/?lang=sv")).send().await.unwrap();
    assert!(text(c.get(app.url("/")).send().await.unwrap())
        .await
        .contains("<html lang=\"sv\">"));
    let r = app
        .client()
        .get(app.url("/"))
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.8")
        .send()
        .await
        .unwrap();
    assert!(text(r).await.contains("<html lang=\"en\">"));
    app.stop().await;
}

#[tokio::test]
async fn plan_shows_indicator_in_swedish_finnish_and_side_by_side() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("viewer@test.fi", Role::Viewer, None).await;
    let c = app.login("viewer@test.fi").await;

    let sv = text(
        c.get(app.url(&format!("/org/{}/plan/2024?lang=sv", f.unit_a1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(sv.contains("Antalet aktiva användare av taligenkänning"));
    assert!(sv.contains("Utgångsläge</dt><dd>40</dd>"));
    assert!(sv.contains("Mål</dt><dd>100</dd>"));
    assert!(sv.contains("Marknadsförs"));
    assert!(!sv.contains("Ny mätare"), "a viewer gets no edit links");
    // Stacked on a phone, each block is named by its column.
    for col in ["Mätare", "Åtgärder"] {
        assert!(sv.contains(&format!("<td data-label=\"{col}\">")), "{col}");
    }

    let fi = text(
        c.get(app.url(&format!("/org/{}/plan/2024?lang=fi", f.unit_a1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(fi.contains("Puheentunnistuksen aktiivisten käyttäjien määrä"));
    assert!(fi.contains("Lähtötaso</dt><dd>40</dd>"));

    let bi = text(
        c.get(app.url(&format!("/org/{}/plan/2024/bilingual", f.unit_a1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(bi.contains("<section lang=\"sv\"") && bi.contains("<section lang=\"fi\""));
    assert!(
        bi.contains("Antalet aktiva användare av taligenkänning")
            && bi.contains("Puheentunnistuksen aktiivisten käyttäjien määrä")
    );
    assert!(bi.contains("Utgångsläge 40") && bi.contains("Lähtötaso 40"));

    // A text missing in the reader's language falls back visibly, marked with its language.
    let sys = valvo_core::access::Principal::system("test");
    let only_fi = valvo_core::I18nText::new(Some("Vain suomeksi".into()), None, None);
    app.store
        .create_goal(
            &sys,
            f.unit_a1,
            &valvo_core::plan::GoalInput {
                area: valvo_core::plan::Area::Equality,
                year: 2024,
                title: only_fi,
            },
        )
        .await
        .unwrap();
    let sv = text(
        c.get(app.url(&format!("/org/{}/plan/2024?lang=sv", f.unit_a1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(sv.contains(
        "<span lang=\"fi\">Vain suomeksi</span> <span class=\"fallback\">(på finska)</span>"
    ));
    let bi = text(
        c.get(app.url(&format!("/org/{}/plan/2024/bilingual", f.unit_a1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(bi.contains("ingen text på detta språk") || bi.contains("ei tekstiä tällä kielellä"));

    // Unknown period and unknown year are clear errors.
    let r = c
        .get(app.url(&format!(
            "/org/{}/plan/2024?period=2024Q5&lang=en",
            f.unit_a1
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(text(r).await.contains("unknown period"));
    let r = c.get(app.url("/org/999999")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c.get(app.url("/org/abc?lang=sv")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(text(r).await.contains("Hittades inte"));
    let r = c
        .get(app.url(&format!("/org/{}/plan/20x4", f.unit_a1)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn follow_up_through_the_form_shows_status_change_and_audit() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    let c = app.login("admin@test.fi").await;

    let path = format!("/indicators/{}/follow-up", f.ind_a1);
    let r = app
        .post_form(
            &c,
            &path,
            &[
                ("period", "2024T2"),
                ("value", "50"),
                ("assessment_fi", "Kasvua"),
                ("assessment_sv", "Ökning"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &c,
            &path,
            &[
                ("period", "2024T3"),
                ("value", "55,5"),
                ("corrective_fi", "Lisää koulutusta"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[header::LOCATION],
        format!("/indicators/{}#fu-2024T3", f.ind_a1).as_str()
    );

    let page = text(
        c.get(app.url(&format!("/indicators/{}?lang=fi", f.ind_a1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        page.contains("55,5 (50)"),
        "value with the previous period in brackets"
    );
    assert!(page.contains("status-on_the_way"));
    assert!(page.contains("edistynyt"));
    assert!(page.contains("Lisää koulutusta"));
    let plan = text(
        c.get(app.url(&format!(
            "/org/{}/plan/2024?period=2024T3&lang=sv",
            f.unit_a1
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(plan.contains("55,5 (50)") && plan.contains("på väg"));

    // Reaching the target: met. Editing the same period replaces it.
    let r = app
        .post_form(&c, &path, &[("period", "2024T3"), ("value", "100")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = text(
        c.get(app.url(&format!("/indicators/{}?lang=en", f.ind_a1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("100 (50)") && page.contains("status-met"));
    assert_eq!(app.store.follow_ups(f.ind_a1).await.unwrap().len(), 2);

    // The audit log has it, newest first, with before and after.
    let log = app.store.audit_log(10, None, None).await.unwrap();
    assert_eq!(log[0].entity, "follow_up");
    assert_eq!(log[0].entity_id, format!("{}/2024T3", f.ind_a1));
    assert_eq!(log[0].actor, "admin@test.fi");
    assert_eq!(log[0].before.as_ref().unwrap()["value"], json!(55.5));
    assert_eq!(log[0].after.as_ref().unwrap()["value"], json!(100.0));
    let audit = text(c.get(app.url("/audit?lang=en")).send().await.unwrap()).await;
    assert!(audit.contains("follow-up") && audit.contains(&format!("{}/2024T3", f.ind_a1)));
    app.stop().await;
}

#[tokio::test]
async fn bad_form_input_is_named_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    let c = app.login("admin@test.fi").await;
    let _ = c.get(app.url("/?lang=fi")).send().await.unwrap();
    let before = app.audit_count().await;

    let fu = format!("/indicators/{}/follow-up", f.ind_a1);
    let long = "x".repeat(10_001);
    let cases: Vec<(String, Vec<(&str, &str)>, &str, &str)> = vec![
        (
            fu.clone(),
            vec![("period", "2024T3"), ("value", "abc")],
            "value",
            "pitää olla luku",
        ),
        (
            fu.clone(),
            vec![("period", "2024Q9"), ("value", "5")],
            "period",
            "tuntematon jakso",
        ),
        (
            fu.clone(),
            vec![("period", ""), ("value", "5")],
            "period",
            "pakollinen tieto puuttuu",
        ),
        (
            fu.clone(),
            vec![
                ("period", "2024T3"),
                ("value", "5"),
                ("assessment_fi", long.as_str()),
            ],
            "assessment_fi",
            "liian pitkä",
        ),
        (
            fu.clone(),
            vec![("period", "2024T3"), ("value", "")],
            "value",
            "pakollinen tieto puuttuu",
        ),
        (
            format!("/org/{}/goals/new", f.unit_a1),
            vec![
                ("area", "access"),
                ("year", "2024"),
                ("title_fi", ""),
                ("title_sv", " "),
            ],
            "title_fi",
            "kirjoita suomeksi tai ruotsiksi",
        ),
        (
            format!("/org/{}/goals/new", f.unit_a1),
            vec![
                ("area", "access"),
                ("year", "kaksituhatta"),
                ("title_fi", "x"),
            ],
            "year",
            "pitää olla luku",
        ),
        (
            format!("/org/{}/goals/new", f.unit_a1),
            vec![("area", "weather"), ("year", "2024"), ("title_fi", "x")],
            "area",
            "virheellinen arvo",
        ),
        (
            format!("/goals/{}/indicators/new", f.goal_a1),
            vec![
                ("name_fi", "Mittari"),
                ("direction", "higher"),
                ("period_kind", "year"),
                ("baseline", "kymmenen"),
            ],
            "baseline",
            "pitää olla luku",
        ),
        (
            format!("/goals/{}/indicators/new", f.goal_a1),
            vec![
                ("name_fi", "Mittari"),
                ("direction", "band"),
                ("period_kind", "year"),
                ("target", "5"),
            ],
            "target_max",
            "",
        ),
        (
            format!("/goals/{}/actions/new", f.goal_a1),
            vec![("text_fi", ""), ("status", "planned")],
            "text_fi",
            "kirjoita suomeksi tai ruotsiksi",
        ),
    ];
    for (path, fields, field, message) in cases {
        let r = app.post_form(&c, &path, &fields).await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {field}"
        );
        let body = text(r).await;
        assert!(
            body.contains(&format!("href=\"#{field}\"")),
            "{path}: summary links to {field}"
        );
        assert!(
            body.contains(&format!("id=\"{field}-error\"")),
            "{path}: message at {field}"
        );
        assert!(body.contains(message), "{path}: {field} says {message}");
        assert!(body.contains("role=\"alert\""));
    }
    // The entered values are kept for correction.
    let r = app
        .post_form(
            &c,
            &fu,
            &[
                ("period", "2024T3"),
                ("value", "abc"),
                ("assessment_sv", "Behålls"),
            ],
        )
        .await;
    let body = text(r).await;
    assert!(body.contains("value=\"abc\"") && body.contains("Behålls"));

    assert_eq!(app.audit_count().await, before, "nothing written");
    assert!(app.store.follow_ups(f.ind_a1).await.unwrap().is_empty());
    assert_eq!(app.store.plan(f.unit_a1, 2024).await.unwrap().len(), 1);

    // Unknown targets.
    let r = app
        .post_form(
            &c,
            "/org/999999/goals/new",
            &[("area", "access"), ("year", "2024"), ("title_fi", "x")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .post_form(
            &c,
            "/indicators/999999/follow-up",
            &[("period", "2024T3"), ("value", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.audit_count().await, before);
    app.stop().await;
}

#[tokio::test]
async fn goals_indicators_actions_and_reviews_are_created_and_edited_through_forms() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("coord@test.fi", Role::QualityCoordinator, None)
        .await;
    let c = app.login("coord@test.fi").await;

    let r = app
        .post_form(
            &c,
            &format!("/org/{}/goals/new", f.area_b),
            &[
                ("area", "personnel"),
                ("year", "2025"),
                ("title_fi", "Riittävä henkilöstö"),
                ("title_sv", "Tillräcklig personal"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(loc.starts_with(&format!("/org/{}/plan/2025#goal-", f.area_b)));
    let goal: i64 = loc.rsplit('-').next().unwrap().parse().unwrap();

    let r = app
        .post_form(
            &c,
            &format!("/goals/{goal}/indicators/new"),
            &[
                ("name_fi", "Poissaoloprosentti"),
                ("name_sv", "Frånvaroprocent"),
                ("unit_fi", "%"),
                ("unit_sv", "%"),
                ("direction", "lower"),
                ("baseline", "5,0"),
                ("target", "4.8"),
                ("period_kind", "half"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let ind: i64 = r.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let r = app
        .post_form(
            &c,
            &format!("/goals/{goal}/actions/new"),
            &[
                ("text_fi", "Rekrytoidaan"),
                ("text_sv", "Rekrytera"),
                ("status", "ongoing"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &c,
            &format!("/goals/{goal}/review"),
            &[
                ("period", "2025H1"),
                ("text_fi", "Poissaolot vähenivät."),
                ("text_sv", "Frånvaron minskade."),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &c,
            &format!("/indicators/{ind}/follow-up"),
            &[("period", "2025H1"), ("value", "3,7")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let plan = text(
        c.get(app.url(&format!(
            "/org/{}/plan/2025?period=2025H1&lang=sv",
            f.area_b
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    for s in [
        "Tillräcklig personal",
        "Frånvaroprocent",
        "Utgångsläge</dt><dd>5</dd>",
        "Mål</dt><dd>4,8</dd>",
        "3,7",
        "uppnått",
        "Rekrytera",
        "pågår",
        "Frånvaron minskade.",
    ] {
        assert!(plan.contains(s), "plan shows {s}");
    }

    // Edit: the goal's title, the indicator's target, the action's status.
    let r = app
        .post_form(
            &c,
            &format!("/goals/{goal}/edit"),
            &[
                ("area", "personnel"),
                ("year", "2025"),
                ("title_fi", "Osaava henkilöstö"),
                ("title_sv", "Kunnig personal"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let edit = text(
        c.get(app.url(&format!("/indicators/{ind}/edit")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        edit.contains("value=\"4,8\""),
        "the form shows the stored target"
    );
    let r = app
        .post_form(
            &c,
            &format!("/indicators/{ind}/edit"),
            &[
                ("name_fi", "Poissaoloprosentti"),
                ("name_sv", "Frånvaroprocent"),
                ("direction", "lower"),
                ("baseline", "5"),
                ("target", "3"),
                ("period_kind", "half"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let plan_data = app.store.plan(f.area_b, 2025).await.unwrap();
    let action = plan_data[0].actions[0].id;
    let r = app
        .post_form(
            &c,
            &format!("/actions/{action}/edit"),
            &[
                ("text_fi", "Rekrytoidaan"),
                ("text_sv", "Rekrytera"),
                ("status", "done"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let plan = text(
        c.get(app.url(&format!(
            "/org/{}/plan/2025?period=2025H1&lang=sv",
            f.area_b
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    for s in [
        "Kunnig personal",
        "Mål</dt><dd>3</dd>",
        "på väg",
        "genomförd",
    ] {
        assert!(plan.contains(s), "edited plan shows {s}");
    }
    let org = text(
        c.get(app.url(&format!("/org/{}", f.area_b)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        org.contains(&format!("/org/{}/plan/2025", f.area_b))
            && org.contains(&format!("/org/{}/plan/2024", f.area_b))
    );
    let entities: Vec<String> = app
        .store
        .audit_log(100, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entity)
        .collect();
    for e in ["goal", "indicator", "action", "goal_review", "follow_up"] {
        assert!(
            entities.iter().filter(|x| *x == e).count() >= 1,
            "audit has {e}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn api_reads_and_writes_follow_ups_with_a_token() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    let token = app.token("admin@test.fi").await;
    let c = app.client();
    let get = |path: String| c.get(app.url(&path)).bearer_auth(&token).send();

    let units: Value = get("/api/v1/org-units".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = units["org_units"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert_eq!(list[0]["name"]["sv"], "Testens välfärdsområde");

    let inds: Value = get(format!("/api/v1/indicators?org_unit={}", f.unit_a1))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ind = &inds["indicators"][0];
    assert_eq!(ind["id"], f.ind_a1);
    assert_eq!(
        ind["name"]["fi"],
        "Puheentunnistuksen aktiivisten käyttäjien määrä"
    );
    assert_eq!(
        ind["name"]["sv"],
        "Antalet aktiva användare av taligenkänning"
    );
    assert_eq!(ind["unit"]["sv"], "pers.");
    assert_eq!(ind["direction"], "higher");
    assert_eq!(ind["baseline"], json!(40.0));
    assert_eq!(ind["target"], json!(100.0));

    let put = |period: &str, body: Value| {
        c.put(app.url(&format!(
            "/api/v1/indicators/{}/follow-ups/{period}",
            f.ind_a1
        )))
        .bearer_auth(&token)
        .json(&body)
        .send()
    };
    let r = put("2024T2", json!({ "value": 60 })).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = put("2024T3", json!({ "value": 70, "assessment": { "fi": "Hyvä", "sv": "Bra" }, "corrective": { "fi": "Jatketaan" } })).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "on_the_way");
    assert_eq!(body["follow_up"]["assessment"]["sv"], "Bra");
    let r = put("2024T3", json!({ "value": 100 })).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "met");

    let fus: Value = get(format!("/api/v1/indicators/{}/follow-ups", f.ind_a1))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fus = fus["follow_ups"].as_array().unwrap();
    assert_eq!(fus.len(), 2);
    assert_eq!(fus[0]["period"], "2024T2");
    assert_eq!(fus[1]["period"], "2024T3");
    assert_eq!(fus[1]["value"], json!(100.0));
    assert_eq!(fus[1]["previous_value"], json!(60.0));
    assert_eq!(fus[1]["status"], "met");
    let one: Value = get(format!("/api/v1/indicators/{}/follow-ups/2024T3", f.ind_a1))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["value"], json!(100.0));

    let audit: Value = get("/api/v1/audit?limit=5".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let e = &audit["entries"][0];
    assert_eq!(e["entity"], "follow_up");
    assert_eq!(e["actor"], "admin@test.fi");
    assert_eq!(e["before"]["value"], json!(70.0));
    assert_eq!(e["after"]["value"], json!(100.0));
    assert!(e["at"].as_str().unwrap().ends_with('Z'));
    let ids: Vec<i64> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let older: Value = get(format!("/api/v1/audit?limit=2&before={}", ids[1]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(older["entries"][0]["id"].as_i64().unwrap() < ids[1]);

    let plan: Value = get(format!("/api/v1/org-units/{}/plan/2024", f.unit_a1))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        plan["goals"][0]["indicators"][0]["follow_ups"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn api_bad_input_is_a_clear_json_error_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    let token = app.token("admin@test.fi").await;
    let c = app.client();
    let before = app.audit_count().await;
    let put = |period: &str, body: String| {
        c.put(app.url(&format!(
            "/api/v1/indicators/{}/follow-ups/{period}",
            f.ind_a1
        )))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
    };
    let long = "x".repeat(10_001);
    let cases = [
        (
            "2024Q5",
            json!({ "value": 1 }).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_period",
            "",
        ),
        (
            "2024-13",
            json!({ "value": 1 }).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_period",
            "",
        ),
        (
            "2024T3",
            json!({ "value": "abc" }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "value",
        ),
        (
            "2024T3",
            json!({ "value": 1, "assessment": { "fi": long } }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "assessment_fi",
        ),
        (
            "2024T3",
            json!({ "value": 1, "assessment": { "de": "Hallo" } }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "assessment.de",
        ),
        (
            "2024T3",
            json!({ "value": 1, "colour": "red" }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "colour",
        ),
        (
            "2024T3",
            json!({}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "value",
        ),
        (
            "2024T3",
            json!({ "value": 1e300 }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "value",
        ),
        (
            "2024T3",
            "{\"value\": ".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "",
        ),
        (
            "2024T3",
            "[1]".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "",
        ),
    ];
    for (period, body, status, code, field) in cases {
        let r = put(period, body.clone()).await.unwrap();
        assert_eq!(r.status(), status, "{period} {body:.60}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], code);
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
        if !field.is_empty() {
            let fields: Vec<&str> = err["error"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&field), "{fields:?} names {field}");
        }
    }
    let r = c
        .put(app.url("/api/v1/indicators/999999/follow-ups/2024T3"))
        .bearer_auth(&token)
        .json(&json!({ "value": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .get(app.url("/api/v1/indicators?org_unit=999999"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
    let r = c
        .get(app.url("/api/v1/indicators"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "missing_parameter"
    );
    let r = c
        .get(app.url("/api/v1/indicators?org_unit=abc"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .get(app.url("/api/v1/org-units"))
        .bearer_auth("valvo_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(app.url("/api/v1/nothing-here"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );

    assert_eq!(app.audit_count().await, before, "nothing written");
    assert!(app.store.follow_ups(f.ind_a1).await.unwrap().is_empty());
    app.stop().await;
}

/// Who may read and write where, through the UI and the API.
#[tokio::test]
async fn access_matrix() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    app.add_user("coord@test.fi", Role::QualityCoordinator, None)
        .await;
    app.add_user("manager-a@test.fi", Role::AreaManager, Some(f.area_a))
        .await;
    app.add_user("viewer@test.fi", Role::Viewer, None).await;
    app.add_user("viewer-b@test.fi", Role::Viewer, Some(f.area_b))
        .await;

    // (user, can read A1, can write A1, can read B, can write B)
    let matrix = [
        ("admin@test.fi", true, true, true, true),
        ("coord@test.fi", true, true, true, true),
        ("manager-a@test.fi", true, true, false, false),
        ("viewer@test.fi", true, false, true, false),
        ("viewer-b@test.fi", false, false, true, false),
    ];
    let c = app.client();
    for (email, read_a, write_a, read_b, write_b) in matrix {
        let ui = app.login(email).await;
        let token = app.token(email).await;
        for (org, goal, ind, read, write) in [
            (f.unit_a1, f.goal_a1, f.ind_a1, read_a, write_a),
            (f.area_b, f.goal_b, f.ind_b, read_b, write_b),
        ] {
            let who = format!("{email} on org {org}");
            let ok_read = |s: StatusCode| {
                if read {
                    s == StatusCode::OK
                } else {
                    s == StatusCode::FORBIDDEN
                }
            };
            // UI reads.
            for p in [
                format!("/org/{org}"),
                format!("/org/{org}/plan/2024"),
                format!("/org/{org}/plan/2024/bilingual"),
                format!("/indicators/{ind}"),
            ] {
                let s = ui.get(app.url(&p)).send().await.unwrap().status();
                assert!(ok_read(s), "{who}: GET {p} -> {s}");
            }
            // API reads.
            for p in [
                format!("/api/v1/indicators?org_unit={org}"),
                format!("/api/v1/indicators/{ind}/follow-ups"),
                format!("/api/v1/org-units/{org}/plan/2024"),
            ] {
                let s = c
                    .get(app.url(&p))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(ok_read(s), "{who}: API GET {p} -> {s}");
            }
            // UI form pages.
            let s = ui
                .get(app.url(&format!("/goals/{goal}/edit")))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(s == StatusCode::OK, write, "{who}: edit form -> {s}");
            // UI writes.
            let before = app.audit_count().await;
            let r = app
                .post_form(
                    &ui,
                    &format!("/indicators/{ind}/follow-up"),
                    &[("period", "2024T1"), ("value", "41")],
                )
                .await;
            assert_eq!(
                r.status(),
                if write {
                    StatusCode::SEE_OTHER
                } else {
                    StatusCode::FORBIDDEN
                },
                "{who}: UI write"
            );
            let r = app
                .post_form(
                    &ui,
                    &format!("/goals/{goal}/edit"),
                    &[
                        ("area", "access"),
                        ("year", "2024"),
                        ("title_fi", "Muutettu"),
                        ("title_sv", "Ändrad"),
                    ],
                )
                .await;
            assert_eq!(
                r.status(),
                if write {
                    StatusCode::SEE_OTHER
                } else {
                    StatusCode::FORBIDDEN
                },
                "{who}: UI goal edit"
            );
            let r = app
                .post_form(
                    &ui,
                    &format!("/org/{org}/goals/new"),
                    &[("area", "access"), ("year", "2024"), ("title_fi", "Uusi")],
                )
                .await;
            assert_eq!(
                r.status(),
                if write {
                    StatusCode::SEE_OTHER
                } else {
                    StatusCode::FORBIDDEN
                },
                "{who}: UI goal create"
            );
            // API write.
            let r = c
                .put(app.url(&format!("/api/v1/indicators/{ind}/follow-ups/2024T2")))
                .bearer_auth(&token)
                .json(&json!({ "value": 42 }))
                .send()
                .await
                .unwrap();
            assert!(
                if write {
                    r.status().is_success()
                } else {
                    r.status() == StatusCode::FORBIDDEN
                },
                "{who}: API write -> {}",
                r.status()
            );
            if !write {
                assert_eq!(
                    app.audit_count().await,
                    before,
                    "{who}: a refused write leaves nothing"
                );
            }
        }
        // The tree shows only what the user may read.
        let home = text(ui.get(app.url("/")).send().await.unwrap()).await;
        assert_eq!(
            home.contains(&format!("/org/{}\"", f.unit_a1)),
            read_a,
            "{email}: tree shows A1"
        );
        assert_eq!(
            home.contains(&format!("/org/{}\"", f.area_b)),
            read_b,
            "{email}: tree shows B"
        );
        let units: Value = c
            .get(app.url("/api/v1/org-units"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<i64> = units["org_units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.contains(&f.unit_a1), read_a, "{email}: API lists A1");
        assert_eq!(ids.contains(&f.area_b), read_b, "{email}: API lists B");
        // Only administrators read the audit log.
        let admin = email.starts_with("admin");
        let s = ui.get(app.url("/audit")).send().await.unwrap().status();
        assert_eq!(s == StatusCode::OK, admin, "{email}: audit page");
        let s = c
            .get(app.url("/api/v1/audit"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(s == StatusCode::OK, admin, "{email}: audit API");
        assert!(admin || s == StatusCode::FORBIDDEN);
    }
    app.stop().await;
}

#[tokio::test]
async fn administrators_manage_the_org_tree() {
    let app = TestApp::spawn().await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    app.add_user("coord@test.fi", Role::QualityCoordinator, None)
        .await;
    let c = app.login("admin@test.fi").await;
    let home = text(c.get(app.url("/?lang=en")).send().await.unwrap()).await;
    assert!(
        home.contains("href=\"/org/new\""),
        "an empty tree offers a county"
    );

    let r = app
        .post_form(
            &c,
            "/org/new",
            &[
                ("code", "uusimaa"),
                ("name_fi", "Uusimaa"),
                ("name_sv", "Nyland"),
                ("producer", "own"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let county: i64 = r.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let r = app
        .post_form(
            &c,
            &format!("/org/{county}/units/new"),
            &[
                ("code", "kotihoito"),
                ("name_fi", "Kotihoito"),
                ("name_sv", "Hemvård"),
                ("producer", "purchased"),
                ("service_type", "home_care"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let unit: i64 = r.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // A duplicate code, a code with spaces, no name: named errors, nothing written.
    let before = app.audit_count().await;
    for (fields, field, msg) in [
        (
            vec![("code", "kotihoito"), ("name_fi", "X"), ("producer", "own")],
            "code",
            "must be unique",
        ),
        (
            vec![("code", "home care"), ("name_fi", "X"), ("producer", "own")],
            "code",
            "must be unique",
        ),
        (
            vec![
                ("code", "x"),
                ("name_en", "Only English"),
                ("producer", "own"),
            ],
            "name_fi",
            "Finnish or Swedish",
        ),
        (
            vec![("code", "x"), ("name_fi", "X"), ("producer", "bank")],
            "producer",
            "invalid value",
        ),
        (
            vec![
                ("code", "x"),
                ("name_fi", "X"),
                ("producer", "own"),
                ("service_type", "dentistry"),
            ],
            "service_type",
            "invalid value",
        ),
    ] {
        let r = app
            .post_form(&c, &format!("/org/{county}/units/new?lang=en"), &fields)
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let body = text(r).await;
        assert!(
            body.contains(&format!("href=\"#{field}\"")) && body.contains(msg),
            "{fields:?}"
        );
    }
    assert_eq!(app.audit_count().await, before);

    let r = app
        .post_form(
            &c,
            &format!("/org/{unit}/edit"),
            &[
                ("name_fi", "Kotihoito ja kotisairaala"),
                ("name_sv", "Hemvård och hemsjukhus"),
                ("producer", "service_voucher"),
                ("service_type", "home_care"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = text(
        c.get(app.url(&format!("/org/{unit}?lang=sv")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("Hemvård och hemsjukhus") && page.contains("servicesedel"));
    // The form kept the service type it was made with.
    assert!(page.contains("Tjänst: hemvård"), "{page}");
    let form = text(
        c.get(app.url(&format!("/org/{unit}/edit?lang=fi")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        form.contains("<option value=\"home_care\" selected>kotihoito</option>"),
        "{form}"
    );
    let log = app.store.audit_log(1, None, None).await.unwrap();
    assert_eq!(
        (log[0].entity.as_str(), log[0].action.as_str()),
        ("org_unit", "update")
    );
    assert_eq!(log[0].before.as_ref().unwrap()["producer"], "purchased");

    // Only administrators.
    let coord = app.login("coord@test.fi").await;
    assert_eq!(
        coord
            .get(app.url(&format!("/org/{county}/units/new")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = app
        .post_form(
            &coord,
            &format!("/org/{unit}/edit"),
            &[("name_fi", "X"), ("producer", "own")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn report_workflow_freezes_publishes_and_archives() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    app.add_user("manager-a@test.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let sys = valvo_core::access::Principal::system("test");
    let input = |v: f64| valvo_core::plan::FollowUpInput {
        value: Some(v),
        parts: None,
        text: None,
        assessment: support::t("Hyvä kehitys", "God utveckling"),
        corrective: valvo_core::I18nText::default(),
    };
    app.store
        .put_follow_up(&sys, f.ind_a1, "2024T1".parse().unwrap(), &input(70.0))
        .await
        .unwrap();

    let m = app.login("manager-a@test.fi").await;
    // Bad periods are named; another area's report is refused.
    for (period, message) in [
        ("2024-03", "use a tertial"),
        ("2999T1", "has not ended"),
        ("kevät", "use a tertial"),
        ("", "required"),
    ] {
        let r = app
            .post_form(
                &m,
                &format!("/org/{}/reports?lang=en", f.unit_a1),
                &[("report_period", period), ("with_children", "yes")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{period}");
        let body = text(r).await;
        assert!(
            body.contains("href=\"#report_period\"") && body.contains(message),
            "{period}: {message}"
        );
    }
    let r = app
        .post_form(
            &m,
            &format!("/org/{}/reports", f.area_b),
            &[("report_period", "2024H1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post_form(
            &m,
            &format!("/org/{}/reports", f.unit_a1),
            &[("report_period", "2024H1"), ("with_children", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let report = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    let id: i64 = report.rsplit('/').next().unwrap().parse().unwrap();
    // Opening it again gives the same draft.
    let r = app
        .post_form(
            &m,
            &format!("/org/{}/reports", f.unit_a1),
            &[("report_period", "2024H1")],
        )
        .await;
    assert_eq!(r.headers()[header::LOCATION].to_str().unwrap(), report);

    // Key observations not yet written: Valvo's draft from the figures,
    // in Finnish and Swedish, each number one the report prints.
    let inputs = format!("/reports/{id}/inputs?org={}", f.unit_a1);
    let form = text(
        m.get(app.url(&format!("{inputs}&lang=sv")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let draft_sv = hidden_textarea(&form, "summary_sv");
    let draft_fi = hidden_textarea(&form, "summary_fi");
    assert!(
        form.contains("Valvo skrev det här utkastet"),
        "the draft is said to be one"
    );
    assert!(
        draft_sv.contains("Av mätarna nådde") && draft_fi.contains("Mittareista"),
        "{draft_sv} / {draft_fi}"
    );
    // One indicator, on the way (the report's chart says the same).
    assert_eq!(
        draft_sv,
        "Av mätarna nådde 0 sitt mål, 1 är på väg mot målet och 0 är inte på väg mot målet."
    );
    // Texts and figures; a bad figure is named and nothing is written.
    let before = app.audit_count().await;
    let r = app
        .post_form(
            &m,
            &format!("{inputs}&lang=en"),
            &[
                ("summary_fi", "Tärkeimmät havainnot"),
                ("fig-personnel-enps", "paljon"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = text(r).await;
    assert!(body.contains("href=\"#fig-personnel-enps\"") && body.contains("must be a number"));
    assert_eq!(app.audit_count().await, before);
    let r = app
        .post_form(
            &m,
            &inputs,
            &[
                ("summary_fi", "Tärkeimmät havainnot"),
                ("summary_sv", "Centrala iakttagelser i korthet"),
                ("participation-how_fi", "Asiakasraati kokoontui kahdesti."),
                ("fig-personnel-headcount", "120"),
                ("fig-personnel-sick_leave_pct", "3,7"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = text(
        m.get(app.url(&format!("{report}?view=sv")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for s in [
        "Centrala iakttagelser i korthet",
        "Antalet aktiva användare av taligenkänning",
        "70",
        "på väg",
        "120",
        "3,7",
        "Asiakasraati kokoontui kahdesti.",
    ] {
        assert!(page.contains(s), "draft shows {s}");
    }
    let bi = text(
        m.get(app.url(&format!("{report}?view=bilingual")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        bi.contains("<section lang=\"sv\"")
            && bi.contains("Puheentunnistuksen aktiivisten käyttäjien määrä")
    );

    // Workflow: the manager submits but may not approve; the administrator approves and publishes.
    let path = format!("/reports/{id}/step");
    let app_ref = &app;
    let step = |c: &reqwest::Client, s: &'static str| {
        let c = c.clone();
        let path = path.clone();
        async move { app_ref.post_form(&c, &path, &[("step", s)]).await.status() }
    };
    let a = app.login("admin@test.fi").await;
    assert_eq!(
        step(&a, "approve").await,
        StatusCode::CONFLICT,
        "a draft cannot be approved"
    );
    assert_eq!(
        step(&m, "approve").await,
        StatusCode::FORBIDDEN,
        "a manager never approves"
    );
    assert_eq!(step(&m, "submit").await, StatusCode::SEE_OTHER);
    assert_eq!(step(&m, "approve").await, StatusCode::FORBIDDEN);
    assert_eq!(step(&a, "approve").await, StatusCode::SEE_OTHER);
    // Approved figures are frozen: a later correction of the data does not change them.
    app.store
        .put_follow_up(&sys, f.ind_a1, "2024T1".parse().unwrap(), &input(90.0))
        .await
        .unwrap();
    let page = text(
        a.get(app.url(&format!("{report}?view=fi")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        page.contains("70") && !page.contains("<dd>90</dd>"),
        "frozen at approval"
    );
    assert_eq!(
        a.get(app.url(&inputs)).send().await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "frozen texts"
    );
    // Not public before publishing.
    let anon = app.client();
    assert_eq!(
        anon.get(app.url("/public/org/a1/reports/2024H1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(step(&a, "publish").await, StatusCode::SEE_OTHER);
    assert_eq!(
        step(&a, "publish").await,
        StatusCode::SEE_OTHER,
        "publishing twice is idempotent"
    );
    let log = app.store.audit_log(20, None, Some("report")).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["publish", "approve", "submit", "create"]);

    // The public archive, without login.
    let index = text(anon.get(app.url("/public?lang=fi")).send().await.unwrap()).await;
    assert!(index.contains("/public/org/a1") && index.contains("Yksikkö A1"));
    let org = text(
        anon.get(app.url("/public/org/a1?lang=fi"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(org.contains("/public/org/a1/reports/2024H1/v1"));
    assert!(org.contains("/public/org/a1/plan/2024"));
    let html = text(
        anon.get(app.url("/public/org/a1/reports/2024H1/v1?view=sv"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(html.contains("Centrala iakttagelser i korthet") && html.contains("70"));
    let latest = anon
        .get(app.url("/public/org/a1/reports/2024H1"))
        .send()
        .await
        .unwrap();
    assert_eq!(latest.status(), StatusCode::OK);
    assert_eq!(
        anon.get(app.url("/public/org/a1/reports/2024H1/v9"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        anon.get(app.url("/public/org/b/reports/2024H1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let pdf = anon
        .get(app.url("/public/org/a1/reports/2024H1/v1/report-sv.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()[header::CONTENT_TYPE], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let json: Value = anon
        .get(app.url("/public/org/a1/reports/2024H1/v1/report.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        json["chapters"][0]["goals"][0]["indicators"][0]["value"],
        json!(70.0)
    );
    assert_eq!(json["state"], "published");
    let csv = anon
        .get(app.url("/public/org/a1/reports/2024H1/v1/report-fi.csv"))
        .send()
        .await
        .unwrap();
    assert!(csv.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(text(csv)
        .await
        .contains("Puheentunnistuksen aktiivisten käyttäjien määrä"));
    assert_eq!(
        anon.get(app.url("/public/org/a1/reports/2024H1/v1/report.docx"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // The public plan: no login, no links into the app.
    let plan = text(
        anon.get(app.url("/public/org/a1/plan/2024?lang=sv"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        plan.contains("Antalet aktiva användare av taligenkänning")
            && !plan.contains("href=\"/indicators/")
    );

    // A correction makes version 2; version 1 stays as it was until v2 is published.
    let r = app
        .post_form(&a, &format!("/reports/{id}/new-version"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let v2 = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert_ne!(v2, report);
    let page = text(
        a.get(app.url(&format!("{v2}?view=fi")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.contains("<dd>90</dd>"), "the new draft is live");
    let html = text(
        anon.get(app.url("/public/org/a1/reports/2024H1?view=fi"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        !html.contains("<dd>90</dd>"),
        "the public version is still v1"
    );
    app.stop().await;
}

/// The text of a form's text area, unescaped.
fn hidden_textarea(html: &str, name: &str) -> String {
    let open = format!("<textarea id=\"{name}\" name=\"{name}\"");
    let start = html.find(&open).unwrap_or_else(|| panic!("no {name}"));
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    body[..body.find("</textarea>").unwrap()]
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

fn receipt_code(html: &str) -> String {
    let start = html
        .find("class=\"receipt-code\"><strong>")
        .expect("receipt code on the page")
        + "class=\"receipt-code\"><strong>".len();
    html[start..start + 19].to_string()
}

#[tokio::test]
async fn incidents_reporting_handling_statistics_and_anonymity() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@test.fi", Role::Admin, None).await;
    app.add_user("manager-a@test.fi", Role::AreaManager, Some(f.area_a))
        .await;
    app.add_user("viewer@test.fi", Role::Viewer, None).await;
    let today = time::OffsetDateTime::now_utc().date();
    let period = valvo_core::Period::containing(today, valvo_core::PeriodKind::Tertial).to_string();
    let anon = app.client();

    // A client reports through the unit's public page, anonymously, without logging in.
    let form = text(
        anon.get(app.url("/report/a1?lang=sv"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(form.contains("Enhet A1") && form.contains("name=\"description\""));
    // Nothing the statistics count is chosen in advance; a client is asked in
    // plain words and not for what only staff can tell.
    for field in ["kind", "event_type", "consequence", "reporter_role"] {
        let select = &form[form.find(&format!("<select id=\"{field}\"")).unwrap()..];
        let select = &select[..select.find("</select>").unwrap()];
        assert!(
            select.contains("<option value=\"\" selected>Välj</option>"),
            "{field} starts empty: {select}"
        );
    }
    assert!(form.contains("Vem är du?") && form.contains("Ledde det till skada?"));
    for staff_only in ["never_event", "contributing_factors", "immediate_actions"] {
        assert!(
            !form.contains(&format!("name=\"{staff_only}\"")),
            "{staff_only}"
        );
    }
    // A client's page: the county's name, no staff menu, no way to the staff side.
    assert!(form.contains("<p class=\"brand county\">Testens välfärdsområde</p>"));
    assert!(!form.contains("href=\"/incidents\"") && !form.contains("href=\"/login\""));
    let once = hidden(&form, "once");
    let good = |desc: &'static str| {
        vec![
            ("kind", "client_safety"),
            ("event_type", "medication"),
            ("occurred_on", "2024-01-15"),
            ("occurred_time", "14:30"),
            ("place", "Vastaanotto"),
            ("description", desc),
            ("consequence", "no_harm"),
            ("never_event", "no"),
            ("reporter_role", "client"),
            ("anonymous", "yes"),
        ]
    };
    let mut sent = good("Väärä lääke annettiin");
    sent.push(("once", once.as_str()));
    let before = app.audit_count().await;
    let r = anon
        .post(app.url("/report/a1?lang=en"))
        .form(&sent)
        .send()
        .await
        .unwrap();
    // The code is not in the address (a shared tablet's history).
    assert_eq!(r.headers()["location"], "/receipt?sent=1");
    let receipt = app.follow(&anon, r).await;
    assert_eq!(receipt.status(), StatusCode::OK);
    let receipt = text(receipt).await;
    assert!(
        receipt.contains("class=\"notice success\""),
        "a success, not an error"
    );
    let client_code = receipt_code(&receipt);
    // A reload shows the thanks, not the code again.
    let again = text(anon.get(app.url("/receipt?sent=1")).send().await.unwrap()).await;
    assert!(again.contains("class=\"notice success\"") && !again.contains(&client_code));
    // Sent again (a double click, the back button and send): nothing new,
    // and the same receipt.
    let r = anon
        .post(app.url("/report/a1?lang=en"))
        .form(&sent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        receipt_code(&text(app.follow(&anon, r).await).await),
        client_code
    );
    assert_eq!(app.audit_count().await, before + 1, "one report written");

    // Bad input is named and nothing is written.
    let before = app.audit_count().await;
    let long = "x".repeat(100_000);
    let future = (today + time::Duration::days(3)).to_string();
    let mut cases: Vec<(Vec<(&str, &str)>, &str)> = Vec::new();
    let mut c1 = good("");
    c1.retain(|(k, _)| *k != "description");
    cases.push((c1, "description"));
    let mut c2 = good("x");
    c2[2] = ("occurred_on", future.as_str());
    cases.push((c2, "occurred_on"));
    let mut c3 = good("x");
    c3[1] = ("event_type", "ufo");
    cases.push((c3, "event_type"));
    cases.push((good(Box::leak(long.into_boxed_str())), "description"));
    for (fields, field) in cases {
        let r = anon
            .post(app.url("/report/a1?lang=en"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(
            text(r).await.contains(&format!("href=\"#{field}\"")),
            "{field} named"
        );
    }
    assert_eq!(app.audit_count().await, before, "nothing written");
    assert_eq!(
        anon.post(app.url("/report/nowhere"))
            .form(&good("x"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // A named staff report, logged in.
    let m = app.login("manager-a@test.fi").await;
    let unit = f.unit_a1.to_string();
    let mut named = good("Potilas kaatui käytävällä");
    named.retain(|(k, _)| !["reporter_role", "anonymous"].contains(k));
    named.extend([
        ("org_unit", unit.as_str()),
        ("reporter_role", "staff"),
        ("anonymous", "no"),
        ("reporter_name", "Maija Manageri"),
        ("event_type", "fall_accident"),
    ]);
    named.retain(|(k, v)| !(*k == "event_type" && *v == "medication"));
    let r = app.post_form(&m, "/incidents/new", &named).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // An anonymous staff report through the API: misconduct, severe, a never event.
    let token = app.token("manager-a@test.fi").await;
    let api = app.client();
    let r = api
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({ "org_unit": f.unit_a1, "occurred_on": "2024-02-01", "kind": "misconduct", "event_type": "violence_threat",
                        "description": "Asiakasta kohdeltiin kaltoin", "consequence": "severe", "never_event": true,
                        "reporter_role": "staff", "anonymous": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let anon_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = api.post(app.url("/api/v1/incidents")).bearer_auth(&token).json(&json!({ "org_unit": 999999, "occurred_on": "2024-02-01", "kind": "misconduct", "event_type": "other", "description": "x", "consequence": "mild", "reporter_role": "staff" })).send().await.unwrap();
    // A unit that does not exist: 422, naming the field (404 is for the path).
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["fields"][0]["field"],
        "org_unit_id"
    );

    // Nobody can tell who made the anonymous report from what an administrator reads.
    let admin_token = app.token("admin@test.fi").await;
    let a = app.login("admin@test.fi").await;
    // Everything an administrator can read about the anonymous report.
    let mut seen = String::new();
    seen.push_str(
        &text(
            a.get(app.url(&format!("/incidents/{anon_id}")))
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    seen.push_str(
        &text(
            api.get(app.url(&format!("/api/v1/incidents/{anon_id}")))
                .bearer_auth(&admin_token)
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    let log: Value = api
        .get(app.url("/api/v1/audit?limit=1000"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let about: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["entity"] == "incident"
                && e["entity_id"].as_str() == Some(anon_id.to_string().as_str())
        })
        .collect();
    assert_eq!(about.len(), 1);
    assert_eq!(about[0]["actor"], "anonymous");
    assert!(about[0]["at"].is_string());
    seen.push_str(&serde_json::to_string(&about).unwrap());
    for secret in ["manager-a@test.fi", "Maija", "manager-a"] {
        assert!(
            !seen.contains(secret),
            "what an administrator reads about the anonymous report names {secret}"
        );
    }
    let detail: Value = api
        .get(app.url(&format!("/api/v1/incidents/{anon_id}")))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(detail["reporter_name"].is_null() && detail["reporter_contact"].is_null());
    let named_page = text(
        a.get(app.url(&format!("/incidents/{}", anon_id - 1)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        named_page.contains("Maija Manageri"),
        "a named report shows its reporter to handlers"
    );
    let anon_page = text(
        a.get(app.url(&format!("/incidents/{anon_id}?lang=en")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        anon_page.contains("anonymous")
            && !anon_page.contains("manager-a@test.fi")
            && !anon_page.contains("Maija")
    );

    // Access: handlers of the unit only; free text is not for viewers.
    let v = app.login("viewer@test.fi").await;
    assert_eq!(
        v.get(app.url(&format!("/incidents/{anon_id}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let queue = text(m.get(app.url("/incidents?lang=en")).send().await.unwrap()).await;
    let rows: Vec<&str> = queue
        .split("<th scope=\"row\"><a href=\"/incidents/")
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 3, "three open reports in the manager's units");
    assert!(
        rows[0].starts_with(&format!("{anon_id}\"")),
        "misconduct (7-day deadline) is most urgent"
    );

    // The receipt shows the state, then the outcome.
    let r = anon
        .get(app.url(&format!(
            "/receipt?code={}&lang=en",
            client_code.to_lowercase()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(text(r).await.contains("new"));
    let client_id = app
        .store
        .audit_log(1000, None, Some("incident"))
        .await
        .unwrap()
        .iter()
        .map(|e| e.entity_id.parse::<i64>().unwrap())
        .min()
        .unwrap();
    let r = app
        .post_form(
            &m,
            &format!("/incidents/{client_id}/handling"),
            &[
                ("state", "handled"),
                ("analysis", "Sisäinen analyysi"),
                ("outcome", "Lääkkeenjakoa tarkistettiin."),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &m,
            &format!("/incidents/{client_id}/actions"),
            &[
                ("action_text", "Kaksoistarkistus"),
                ("action_owner", "Osastonhoitaja"),
                ("action_due", "2030-01-31"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let receipt = text(
        anon.get(app.url(&format!("/receipt?code={client_code}&lang=en")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        receipt.contains("handled")
            && receipt.contains("Lääkkeenjakoa tarkistettiin.")
            && !receipt.contains("Sisäinen analyysi")
    );
    assert_eq!(
        anon.get(app.url("/receipt?code=AAAA-BBBB-CCCC-DDDD"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // The look-up form posts the code, so it stays out of the address;
    // the page is headed by the county of the report's unit.
    let form = text(anon.get(app.url("/receipt?lang=en")).send().await.unwrap()).await;
    assert!(form.contains("method=\"post\" action=\"/receipt\""));
    let r = anon
        .post(app.url("/receipt?lang=en"))
        .form(&[("code", client_code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let looked_up = r.text().await.unwrap();
    assert!(looked_up.contains("handled") && looked_up.contains("Lääkkeenjakoa tarkistettiin."));
    assert!(
        looked_up.contains("Testin hyvinvointialue")
            || looked_up.contains("Testens välfärdsområde")
    );
    let r = anon
        .post(app.url("/receipt"))
        .form(&[("code", "AAAA-BBBB-CCCC-DDDD")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A code no report has, and none at all, are told at the field (its
    // error read with it), the code kept to correct.
    let page = r.text().await.unwrap();
    assert!(
        page.contains("aria-describedby=\"code-hint code-error\" aria-invalid=\"true\""),
        "{page}"
    );
    assert!(page.contains("value=\"AAAA-BBBB-CCCC-DDDD\""));
    let r = anon
        .post(app.url("/receipt?lang=sv"))
        .form(&[("code", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("id=\"code-error\" role=\"alert\">uppgiften saknas</p>"),
        "{page}"
    );
    let r = anon.get(app.url("/receipt?lang=sv")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        !r.text().await.unwrap().contains("code-error"),
        "the form alone is no error"
    );
    let r = app
        .post_form(
            &m,
            &format!("/incidents/{client_id}/actions"),
            &[
                ("action_text", ""),
                ("action_owner", "x"),
                ("action_due", "2030-01-31"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Statistics: public, with the previous period beside; forwarding moves the report.
    let stats: Value = anon
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
    let s = &stats["stats"];
    assert_eq!(s["total"], 3);
    assert_eq!(s["never_events"], 1);
    assert_eq!(s["serious"], 1);
    assert_eq!(s["client_reported"], 1);
    assert_eq!(s["median_handling_days"], json!(0.0));
    assert_eq!(stats["previous"]["total"], 0);
    // A plan indicator with the incident module as its source fills itself.
    let year = today.year();
    let goal = app
        .store
        .create_goal(
            &valvo_core::access::Principal::system("test"),
            f.unit_a1,
            &valvo_core::plan::GoalInput {
                area: valvo_core::plan::Area::Safety,
                year,
                title: support::t("Turvallisuus", "Säkerhet"),
            },
        )
        .await
        .unwrap();
    let r = app
        .post_form(
            &m,
            &format!("/goals/{}/indicators/new", goal.id),
            &[
                ("name_fi", "Never event -osuus"),
                ("direction", "lower"),
                ("target", "0"),
                ("period_kind", "tertial"),
                ("source", "incidents.never_event_share"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &m,
            &format!("/goals/{}/indicators/new", goal.id),
            &[
                ("name_fi", "X"),
                ("direction", "lower"),
                ("period_kind", "tertial"),
                ("source", "weather"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let plan = app.store.plan(f.unit_a1, year).await.unwrap();
    let ind = &plan
        .iter()
        .find(|g| g.goal.id == goal.id)
        .unwrap()
        .indicators[0];
    assert_eq!(
        ind.indicator.source,
        Some(valvo_core::incident::IndicatorSource::NeverEventShare)
    );
    let fu = ind
        .follow_ups
        .iter()
        .find(|f| f.period.to_string() == period)
        .expect("this period's figure");
    assert_eq!(fu.value, Some(33.33), "1 never event of 3 reports");
    assert_eq!(fu.updated_by, "incidents.never_event_share");
    // The report's safety section fills itself from the module.
    let model = app
        .store
        .preview_report(f.county, period.parse().unwrap(), true)
        .await
        .unwrap();
    let safety = model.chapters[0]
        .sections
        .iter()
        .find(|s| s.kind == valvo_core::report::SectionKind::Safety)
        .expect("a safety section");
    assert_eq!(safety.source, "incidents");
    let reports = safety
        .figures
        .iter()
        .find(|f| f.key == "incident_reports")
        .unwrap();
    assert_eq!((reports.value, reports.previous), (Some(3.0), Some(0.0)));
    let r = app
        .post_form(
            &m,
            &format!("/incidents/{anon_id}/handling"),
            &[
                ("state", "forwarded"),
                ("forward_to", &f.area_b.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let b: Value = anon
        .get(app.url(&format!(
            "/api/v1/incidents/stats?org_unit={}&period={period}",
            f.area_b
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b["stats"]["total"], 1);
    assert_eq!(
        m.get(app.url(&format!("/incidents/{anon_id}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN,
        "forwarded out of the manager's area"
    );
    let page = text(
        anon.get(app.url(&format!(
            "/public/org/county/incidents?period={period}&lang=fi"
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        page.contains("Ilmoituksia") && !page.contains("Väärä lääke") && !page.contains("kaltoin"),
        "public figures, no free text"
    );
    let r = anon
        .get(app.url("/api/v1/incidents/stats?org_unit=abc&period=2024T1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Public writes are rate-limited per address.
    let mut limited = false;
    for _ in 0..30 {
        let r = anon
            .post(app.url("/report/a1"))
            .form(&[("kind", "x")])
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            // A client's page: the county's name, not the staff menu.
            let page = r.text().await.unwrap();
            assert!(
                page.contains("Testin hyvinvointialue") && !page.contains("href=\"/incidents\""),
                "{page}"
            );
            limited = true;
            break;
        }
    }
    assert!(limited, "429 after the limit");
    app.stop().await;
}

#[tokio::test]
async fn unhandled_over_two_months_is_counted_from_aggregates() {
    use valvo_core::incident::{
        Consequence, EventType, IncidentKind, IncidentState, NewIncident, ReporterRole,
    };
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let sys = valvo_core::access::Principal::system("test");
    let today = time::OffsetDateTime::now_utc().date();
    let row = |org: i64, days_ago: i64, state: IncidentState| {
        let reported = today - time::Duration::days(days_ago);
        let input = NewIncident {
            org_unit_id: org,
            occurred_on: reported,
            occurred_time: None,
            place: String::new(),
            kind: IncidentKind::ClientSafety,
            event_type: EventType::other(),
            description: "x".into(),
            consequence: Consequence::Mild,
            never_event: false,
            contributing_factors: String::new(),
            immediate_actions: String::new(),
            reporter_role: ReporterRole::Staff,
            reporter_name: None,
            reporter_contact: None,
        };
        let handled =
            (state == IncidentState::Handled).then_some(reported + time::Duration::days(3));
        (input, reported, state, handled)
    };
    let rows = vec![
        row(f.unit_a1, 200, IncidentState::New),
        row(f.unit_a1, 100, IncidentState::InHandling),
        row(f.unit_a1, 61, IncidentState::New),
        row(f.unit_a1, 59, IncidentState::New),
        row(f.unit_a1, 100, IncidentState::Handled),
        row(f.area_b, 300, IncidentState::Forwarded),
    ];
    assert_eq!(app.store.import_incidents(&sys, &rows).await.unwrap(), 6);
    let tree = app.store.org_tree().await.unwrap();
    let policy = valvo_core::incident::DeadlinePolicy::default();
    let period = valvo_core::Period::containing(today, valvo_core::PeriodKind::Year);
    let stale = |root: i64| {
        let tree = tree.clone();
        let store = app.store.clone();
        async move {
            store
                .incident_stats(&tree, root, period, &policy, today)
                .await
                .unwrap()
                .unhandled_over_two_months
        }
    };
    assert_eq!(
        stale(f.county).await,
        4,
        "200, 100 and 61 days in A1, 300 in B"
    );
    assert_eq!(stale(f.area_a).await, 3);
    assert_eq!(stale(f.area_b).await, 1);
    // Handling one and forwarding another keep the aggregate right.
    let open: Vec<i64> = app
        .store
        .incident_queue(&sys, &policy, today, 100)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    let oldest_a1 = app
        .store
        .incident_queue(&sys, &policy, today, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.org_unit_id == f.unit_a1)
        .min_by_key(|i| i.reported_on)
        .unwrap();
    assert_eq!(open.len(), 5);
    let h = valvo_store::Handling {
        state: IncidentState::Handled,
        analysis: String::new(),
        outcome: "ok".into(),
        forward_to: None,
    };
    app.store
        .handle_incident(&sys, oldest_a1.id, &h, today)
        .await
        .unwrap();
    assert_eq!(stale(f.area_a).await, 2);
    let b_report = app
        .store
        .incident_queue(&sys, &policy, today, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.org_unit_id == f.area_b)
        .unwrap();
    let fwd = valvo_store::Handling {
        state: IncidentState::Forwarded,
        analysis: String::new(),
        outcome: String::new(),
        forward_to: Some(f.unit_a1),
    };
    app.store
        .handle_incident(&sys, b_report.id, &fwd, today)
        .await
        .unwrap();
    assert_eq!(
        (
            stale(f.area_a).await,
            stale(f.area_b).await,
            stale(f.county).await
        ),
        (3, 0, 3)
    );
    app.stop().await;
}

/// A public form page's key sent again with other content (the back button
/// on a shared tablet, the form filled in again) is a report of its own with
/// a code of its own: the first reporter's code is shown to nobody else, and
/// nothing is lost.
#[tokio::test]
async fn a_form_page_sent_again_with_other_content_is_a_report_of_its_own() {
    let app = TestApp::spawn().await;
    fixture(&app).await;
    let anon = app.client();
    let form = text(anon.get(app.url("/report/a1")).send().await.unwrap()).await;
    let once = hidden(&form, "once");
    let send = |desc: &'static str| {
        let fields = vec![
            ("once", once.clone()),
            ("kind", "client_safety".to_string()),
            ("event_type", "medication".to_string()),
            ("occurred_on", "2024-01-15".to_string()),
            ("description", desc.to_string()),
            ("consequence", "no_harm".to_string()),
            ("reporter_role", "client".to_string()),
            ("anonymous", "yes".to_string()),
        ];
        let (anon, app) = (&anon, &app);
        async move {
            let r = anon
                .post(app.url("/report/a1"))
                .form(&fields)
                .send()
                .await
                .unwrap();
            receipt_code(&text(app.follow(anon, r).await).await)
        }
    };
    let before = app.audit_count().await;
    let first = send("Väärä lääke").await;
    assert_eq!(
        send("Väärä lääke").await,
        first,
        "the same page and content: saved once"
    );
    let second = send("Toinen tapahtuma").await;
    assert_ne!(second, first);
    assert_eq!(
        app.audit_count().await,
        before + 2,
        "two reports, none lost"
    );
    app.stop().await;
}
