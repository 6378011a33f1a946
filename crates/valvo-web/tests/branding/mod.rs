//! A county's branding: set by an administrator of its root through the
//! form (colour, contact details, logo), every wrong field named, shown on
//! its clients' and public pages, and kept by a report as it was approved.

use reqwest::StatusCode;
use valvo_core::access::{Principal, Role};
use valvo_core::report::Transition;

use crate::support::{fixture, TestApp};

const LOGO: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"40\"><rect width=\"40\" height=\"40\" fill=\"#00627a\"/></svg>";

fn form(csrf: &str, colour: &str, contact_fi: &str, contact_sv: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("brand_colour", colour.to_owned())
        .text("brand_contact_fi", contact_fi.to_owned())
        .text("brand_contact_sv", contact_sv.to_owned())
        .text("brand_contact_en", "")
}

fn with_logo(f: reqwest::multipart::Form, bytes: &[u8], mime: &str) -> reqwest::multipart::Form {
    f.part(
        "brand_logo",
        reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name("logo")
            .mime_str(mime)
            .unwrap(),
    )
}

#[tokio::test]
async fn an_administrator_brands_the_county_and_an_approved_report_keeps_its_branding() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    app.add_user("areaadmin@x.fi", Role::Admin, Some(f.area_a))
        .await;
    app.add_user("qc@x.fi", Role::QualityCoordinator, None)
        .await;
    let path = format!("/settings/branding/{}", f.county);

    // Only an administrator whose scope holds the county.
    for who in ["areaadmin@x.fi", "qc@x.fi"] {
        let c = app.login(who).await;
        let r = c.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}");
    }
    let a = app.login("admin@x.fi").await;
    let r = a
        .get(app.url("/settings/branding?lang=sv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], path.as_str());
    // Not a root: nothing to brand.
    let r = a
        .get(app.url(&format!("/settings/branding/{}", f.area_a)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Every wrong field is named, and nothing is saved.
    let audit_before = app.audit_count().await;
    let csrf = app.csrf(&a).await;
    let long = "x".repeat(601);
    let r = a
        .post(app.url(&format!("{path}?lang=sv")))
        .multipart(with_logo(
            form(&csrf, "#ffcc00", &long, ""),
            b"GIF89a....",
            "image/gif",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    for (id, text) in [
        ("brand_colour", "färgen är för ljus"),
        ("brand_logo", "bilden kan inte läsas"),
        ("brand_contact_fi", "Kontaktuppgifter på finska"),
    ] {
        assert!(
            body.contains(&format!("href=\"#{id}\"")),
            "{id} not in the error summary"
        );
        assert!(body.contains(text), "{text:?} not on the page");
    }
    let r = a
        .post(app.url(&format!("{path}?lang=sv")))
        .multipart(form(&csrf, "blue", "", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("ange färgen i formen #rrggbb"));
    // A PNG that only starts like one: the report could not set it.
    let r = a
        .post(app.url(&path))
        .multipart(with_logo(
            form(&csrf, "", "", ""),
            b"\x89PNG\r\n\x1a\nbroken",
            "image/png",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.store.branding_of(f.county).await.unwrap().is_empty());
    assert_eq!(app.audit_count().await, audit_before, "nothing saved");

    // A good save.
    let r = a
        .post(app.url(&path))
        .multipart(with_logo(
            form(
                &csrf,
                "#00627A",
                "Kirjaamo\nTestikatu 1, Vaasa",
                "Registratorskontoret\nTestgatan 1, Vasa",
            ),
            LOGO.as_bytes(),
            "image/svg+xml",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("{path}?saved=1").as_str());
    let saved = app.store.branding_of(f.unit_a1).await.unwrap();
    assert_eq!(saved.colour.as_deref(), Some("#00627a"));
    let logo = saved.logo.clone().expect("a logo");
    assert_eq!(logo.media_type, "image/svg+xml");
    assert_eq!(logo.data, LOGO.as_bytes());
    assert_eq!(app.audit_count().await, audit_before + 1, "one audit row");
    let logo_url = format!("/branding/logo/{}", logo.sha256);
    let anon = app.client();
    let r = anon.get(app.url(&logo_url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(r.bytes().await.unwrap(), LOGO.as_bytes());

    // The clients' form and the public pages carry it, the public
    // statistics too.
    for page in [
        "/report/a1?lang=sv",
        "/public/org/a1?lang=sv",
        "/public/org/a1/incidents?lang=sv",
        "/public/org/a1/feedback?lang=sv",
        "/public/org/county/ombudsman?lang=sv",
    ] {
        let html = anon
            .get(app.url(page))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("/branding/colour/00627a.css"),
            "{page}: colour"
        );
        assert!(
            html.contains(&format!("src=\"{logo_url}\"")),
            "{page}: logo"
        );
        assert!(html.contains("Testgatan 1, Vasa"), "{page}: contact");
    }

    // A report approved now keeps this branding after it changes.
    let sys = Principal::system("test");
    let row = app
        .store
        .open_report(&sys, f.county, "2024H1".parse().unwrap(), true)
        .await
        .unwrap();
    for step in [Transition::Submit, Transition::Approve, Transition::Publish] {
        app.store.report_step(&sys, row.id, step).await.unwrap();
    }
    let r = a
        .post(app.url(&path))
        .multipart(form(&csrf, "#123456", "", "Ny adress").text("brand_logo_keep", "remove"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let now = app.store.branding_of(f.county).await.unwrap();
    assert!(now.logo.is_none() && now.colour.as_deref() == Some("#123456"));
    let html = anon
        .get(app.url("/report/a1?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("/branding/colour/123456.css") && !html.contains("brand-logo"));
    let base = "/public/org/county/reports/2024H1";
    let html = anon
        .get(app.url(&format!("{base}?lang=sv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("/branding/colour/00627a.css"),
        "the published report keeps its colour"
    );
    assert!(
        html.contains(&format!("src=\"{logo_url}\"")),
        "and its logo"
    );
    assert!(html.contains("Testgatan 1, Vasa") && !html.contains("Ny adress"));
    // The standalone file carries its logo within it.
    let file = anon
        .get(app.url(&format!("{base}/v1/report-sv.html")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(file.contains("src=\"data:image/svg+xml;base64,"));
    assert!(file.contains("--c-brand: #00627a") && file.contains("Testgatan 1, Vasa"));
    // The bilingual file is titled in both languages, each marked.
    let both = anon
        .get(app.url(&format!("{base}/v1/report-bilingual.html")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let h1 = both
        .split("<h1>")
        .nth(1)
        .and_then(|h| h.split("</h1>").next())
        .unwrap();
    assert!(
        h1.contains("<span lang=\"sv\">Egenkontrollrapport")
            && h1.contains("<span lang=\"fi\">Omavalvontaraportti"),
        "{h1}"
    );
    // The page's colour comes from a stylesheet of its own; a colour the
    // form would refuse is not served.
    let r = anon
        .get(app.url("/branding/colour/00627a.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap().trim(),
        ":root { --c-brand: #00627a; }"
    );
    for bad in ["ffcc00.css", "00627a", "red.css"] {
        let r = anon
            .get(app.url(&format!("/branding/colour/{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    // The old logo is still served: the archive needs it.
    let r = anon.get(app.url(&logo_url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The PDF: the contact on its cover.
    let pdf = anon
        .get(app.url(&format!("{base}/v1/report-sv.pdf")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let p = std::env::temp_dir().join(format!(
        "valvo-branding-{}-{}.pdf",
        std::process::id(),
        row.id
    ));
    std::fs::write(&p, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&p)
        .arg("-")
        .output()
        .expect("pdftotext (apt-get install poppler-utils)");
    let _ = std::fs::remove_file(&p);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Kontaktuppgifter") && text.contains("Testgatan 1, Vasa"),
        "{text}"
    );
    app.stop().await;
}

/// `PUT` of a JSON body with a bearer token.
async fn put(
    app: &TestApp,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let r = app
        .client()
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

fn fields(body: &serde_json::Value) -> Vec<(String, String)> {
    body["error"]["fields"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_api_reads_and_sets_the_branding_as_the_form_does() {
    use base64::Engine;
    use serde_json::json;
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    app.add_user("areaadmin@x.fi", Role::Admin, Some(f.area_a))
        .await;
    app.add_user("qc@x.fi", Role::QualityCoordinator, None)
        .await;
    let (admin, area_admin, qc) = (
        app.token("admin@x.fi").await,
        app.token("areaadmin@x.fi").await,
        app.token("qc@x.fi").await,
    );
    let path = format!("/api/v1/branding/{}", f.county);
    let get = |token: String, path: String| {
        let c = app.client();
        let url = app.url(&path);
        async move {
            let r = c.get(url).bearer_auth(token).send().await.unwrap();
            let status = r.status();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    // Nothing set: Valvo's own colour, no logo; anyone may read it.
    let (status, b) = get(qc.clone(), path.clone()).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["org_unit"], f.county);
    assert!(b["colour"].is_null() && b["logo"].is_null(), "{b}");
    // Only a county's root has a branding.
    let (status, _) = get(qc.clone(), format!("/api/v1/branding/{}", f.area_a)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only an administrator whose scope holds the county sets it.
    let logo = base64::engine::general_purpose::STANDARD.encode(LOGO);
    let good = json!({
        "colour": "#00627A",
        "contact": { "fi": "Kirjaamo\nPL 1, 65101 Vaasa", "sv": "Registratorskontoret" },
        "logo": { "data_base64": logo },
    });
    for who in [&area_admin, &qc] {
        let (status, _) = put(&app, who, &path, good.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // Every wrong field named, nothing saved: first what the documented
    // schema refuses, then the colour and the image themselves.
    let (status, body) = put(
        &app,
        &admin,
        &path,
        json!({
            "colour": "#00627a",
            "contact": { "fi": "x".repeat(601), "de": "Kanzlei" },
            "font": "Comic Sans",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut got = fields(&body);
    got.sort();
    assert_eq!(
        got,
        [
            ("contact.de", "invalid"),
            ("contact_fi", "too_long"),
            ("font", "invalid"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let (status, body) = put(
        &app,
        &admin,
        &path,
        json!({
            "colour": "#ffff00",
            "logo": { "data_base64": base64::engine::general_purpose::STANDARD.encode("<svg") },
        }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut got = fields(&body);
    got.sort();
    assert_eq!(
        got,
        [("colour", "out_of_range"), ("logo", "invalid")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let (status, body) = put(
        &app,
        &admin,
        &path,
        json!({ "logo": { "data_base64": "%%%" } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), [("logo".to_owned(), "invalid".to_owned())]);
    let (_, b) = get(qc.clone(), path.clone()).await;
    assert!(b["colour"].is_null(), "nothing saved: {b}");
    // Saved as given, the colour as #rrggbb in lower case.
    let (status, saved) = put(&app, &admin, &path, good).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, b) = get(qc.clone(), path.clone()).await;
    assert_eq!(b, saved);
    assert_eq!(b["colour"], "#00627a");
    assert_eq!(b["contact"]["fi"], "Kirjaamo\nPL 1, 65101 Vaasa");
    assert_eq!(b["contact"]["sv"], "Registratorskontoret");
    assert!(b["contact"]["en"].is_null());
    assert_eq!(b["logo"]["media_type"], "image/svg+xml");
    let r = app
        .client()
        .get(app.url(b["logo"]["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), LOGO);
    // The public pages show it.
    let page = app
        .client()
        .get(app.url("/public/org/a1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(b["logo"]["url"].as_str().unwrap()), "{page}");
    // No logo named: the logo is kept; null removes it.
    let (status, kept) = put(&app, &admin, &path, json!({ "colour": "#00627a" })).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["logo"], b["logo"]);
    assert!(
        kept["contact"]["fi"].is_null(),
        "the contact replaced as given"
    );
    let (status, removed) = put(&app, &admin, &path, json!({ "logo": null })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        removed["logo"].is_null() && removed["colour"].is_null(),
        "{removed}"
    );
    // Each save is in the audit log.
    assert_eq!(
        app.sql("UPDATE audit_log SET entity = entity WHERE entity = 'branding'")
            .await,
        3
    );
    app.stop().await;
}
