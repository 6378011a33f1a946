//! Accounts a county's IT runs: sign-in through a real OpenID provider
//! (PKCE, state, nonce, key rotation, the groups-to-roles mapping), users
//! deactivated whose sessions end at once, and sign-in events in the audit
//! log.

use reqwest::StatusCode;
use valvo_core::access::Role;
use valvo_core::sso::Mapping;

use crate::support::oidc::{browse, free_port, Provider, CLIENT_ID, CLIENT_SECRET};
use crate::support::{fixture, TestApp};

fn accounts() -> serde_json::Value {
    serde_json::json!({
        // An existing Valvo user, known by a verified e-mail.
        "anna": {"email": "Anna.Admin@x.fi", "email_verified": true, "name": "Anna Admin", "groups": ["staff"]},
        // New to Valvo; the mapping makes her an area manager of area A.
        "maija": {"email": "maija@x.fi", "email_verified": true, "name": "Maija Manager", "groups": ["valvo-area-a", "staff"]},
        // Nobody the mapping knows.
        "olli": {"email": "olli@x.fi", "email_verified": true, "name": "Olli Outsider", "groups": ["other"]},
        // Claims the existing user's address, unverified.
        "eve": {"email": "anna.admin@x.fi", "email_verified": false, "name": "Eve", "groups": []},
    })
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

#[tokio::test]
async fn staff_sign_in_through_the_countys_openid_provider() {
    let provider_port = free_port();
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let mapping = Mapping::parse(
        "create_users = true\n[[rule]]\ngroup = \"valvo-area-a\"\nrole = \"area_manager\"\nscope = \"a\"\n",
    )
    .unwrap();
    let app = TestApp::spawn_with_addr(|c, addr| valvo_web::WebConfig {
        oidc: Some(valvo_web::OidcSettings {
            issuer: issuer.clone(),
            client_id: CLIENT_ID.to_string(),
            client_secret: Some(CLIENT_SECRET.to_string()),
            scopes: vec!["email".into(), "profile".into(), "groups".into()],
            mapping,
            redirect_uri: format!("http://{addr}/login/sso/callback"),
        }),
        ..c
    })
    .await;
    let f = fixture(&app).await;
    let anna = app.add_user("anna.admin@x.fi", Role::Admin, None).await;
    let redirect = format!("{}/login/sso/callback", app.base);

    // The provider is down: the sign-in page says so, in the person's language.
    let c = app.client();
    let r = c
        .get(app.url("/login/sso?next=/audit&lang=sv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("svarar inte just nu"));

    let mut provider = Provider::start(provider_port, &redirect, &accounts(), "key-1");

    // The sign-in page offers both ways in.
    let login = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("href=\"/login/sso?next=/\""), "{login}");
    assert!(login.contains("name=\"password\""));

    // The redirect to the provider: code flow, PKCE S256, state, nonce and
    // the registered redirect URI.
    let r = c
        .get(app.url("/login/sso?next=/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("{issuer}/auth?")), "{to}");
    assert_eq!(query_param(&to, "response_type").as_deref(), Some("code"));
    assert_eq!(
        query_param(&to, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&to, "code_challenge").map(|s| s.len()),
        Some(43)
    );
    assert!(query_param(&to, "state").is_some_and(|s| s.len() >= 16));
    assert!(query_param(&to, "nonce").is_some_and(|s| s.len() >= 16));
    assert_eq!(
        query_param(&to, "redirect_uri").as_deref(),
        Some(valvo_web_url_encode(&redirect).as_str())
    );
    assert!(query_param(&to, "scope").unwrap().contains("openid"));

    // An existing user, by her verified e-mail (another case): signed in,
    // and sent where she was going.
    let anna_c = app.client();
    let (visited, r) = browse(
        &anna_c,
        &app.url("/login/sso?next=/audit"),
        &app.base,
        "anna",
    )
    .await;
    assert!(
        visited.iter().any(|u| u.starts_with(&issuer)),
        "{visited:?}"
    );
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{visited:?}");
    assert_eq!(r.headers()["location"], "/audit");
    let callback = visited.last().unwrap().clone();
    let audit = anna_c.get(app.url("/audit")).send().await.unwrap();
    assert_eq!(audit.status(), StatusCode::OK);
    let audit = audit.text().await.unwrap();
    assert!(audit.contains("anna.admin@x.fi"));

    // The callback once more (a replayed code and state): refused.
    let replay = anna_c.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    // A state that this browser did not start: refused.
    let other = app.client();
    let r = other
        .get(app.url("/login/sso/callback?code=abc&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("Kirjautuminen vanheni"));

    // A state started in another browser, its callback in this one: refused.
    let starter = app.client();
    let r = starter.get(app.url("/login/sso")).send().await.unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let state = query_param(&to, "state").unwrap();
    let r = other
        .get(app.url(&format!("/login/sso/callback?code=abc&state={state}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // New to Valvo, and the mapping gives a role: an account is made, an
    // area manager of area A.
    let maija_c = app.client();
    let (_, r) = browse(&maija_c, &app.url("/login/sso"), &app.base, "maija").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let maija = app
        .store
        .user_by_email("maija@x.fi")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (maija.role, maija.scope),
        (Role::AreaManager, Some(f.area_a))
    );
    assert_eq!(maija.name, "Maija Manager");
    let page = maija_c
        .get(app.url(&format!("/org/{}", f.area_a)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = maija_c
        .get(app.url(&format!("/org/{}", f.area_b)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);

    // Nobody the mapping knows: no account, and told so.
    let olli_c = app.client();
    let (_, r) = browse(&olli_c, &app.url("/login/sso"), &app.base, "olli").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("ei ole käyttöoikeutta"));
    assert!(app
        .store
        .user_by_email("olli@x.fi")
        .await
        .unwrap()
        .is_none());

    // An unverified address does not take over the account it names.
    let eve_c = app.client();
    let (_, r) = browse(&eve_c, &app.url("/login/sso"), &app.base, "eve").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let home = eve_c.get(app.url("/audit")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER, "eve has no session");

    // The provider rotates its signing key (a restart with a new key):
    // Valvo fetches the new keys and the sign-in goes on working.
    provider.stop();
    let _provider = Provider::start(provider_port, &redirect, &accounts(), "key-2");
    let again = app.client();
    let (_, r) = browse(
        &again,
        &app.url("/login/sso?next=/audit"),
        &app.base,
        "anna",
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/audit");

    // A deactivated user: her sessions end at once, and she cannot sign in.
    let sys = valvo_core::access::Principal::system("test");
    app.store.set_active(&sys, maija.id, false).await.unwrap();
    let r = maija_c
        .get(app.url(&format!("/org/{}", f.area_a)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the session ended");
    let (_, r) = browse(&maija_c, &app.url("/login/sso"), &app.base, "maija").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("poistettu käytöstä"));

    // The administrator sees sign-ins and failed sign-ins in the audit log.
    let log = app.store.audit_log(1000, None, None).await.unwrap();
    let count = |action: &str, reason: Option<&str>| {
        log.iter()
            .filter(|e| e.action == action)
            .filter(|e| {
                reason
                    .is_none_or(|r| e.after.as_ref().and_then(|a| a["reason"].as_str()) == Some(r))
            })
            .count()
    };
    assert_eq!(count("sign_in", None), 3, "anna twice, maija once");
    assert_eq!(
        count("sign_in_failed", Some("no_account")),
        2,
        "olli and eve"
    );
    assert_eq!(count("sign_in_failed", Some("inactive")), 1);
    assert!(count("sign_in_failed", Some("state")) >= 3);
    assert!(log
        .iter()
        .any(|e| e.action == "deactivate" && e.entity_id == maija.id.to_string()));
    assert!(log
        .iter()
        .any(|e| e.action == "link" && e.entity_id == anna.to_string()));
    let page = anna_c
        .get(app.url("/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("olli@x.fi"),
        "failed sign-ins are shown to administrators"
    );
    app.stop().await;
}

/// `application/x-www-form-urlencoded` as the provider's URL carries it.
fn valvo_web_url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn with_passwords_off_the_identity_provider_is_the_only_way_in() {
    let provider_port = free_port();
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let app = TestApp::spawn_with_addr(|c, addr| valvo_web::WebConfig {
        oidc: Some(valvo_web::OidcSettings {
            issuer: issuer.clone(),
            client_id: CLIENT_ID.to_string(),
            client_secret: Some(CLIENT_SECRET.to_string()),
            scopes: vec!["email".into()],
            mapping: Mapping::default(),
            redirect_uri: format!("http://{addr}/login/sso/callback"),
        }),
        password_login: false,
        ..c
    })
    .await;
    app.add_user("anna.admin@x.fi", Role::Admin, None).await;
    let c = app.client();
    let r = c.get(app.url("/login?next=/audit")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login/sso?next=/audit");
    // The password form is refused even when posted.
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("token", "x"),
            ("email", "anna.admin@x.fi"),
            ("password", crate::support::PASSWORD),
        ])
        .header("cookie", "valvo_login_csrf=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Salasanalla kirjautuminen ei ole käytössä"));
    // Signing out ends the Valvo session.
    let _provider = Provider::start(
        provider_port,
        &format!("{}/login/sso/callback", app.base),
        &accounts(),
        "key-1",
    );
    let (_, r) = browse(&c, &app.url("/login/sso?next=/audit"), &app.base, "anna").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        c.get(app.url("/audit")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let csrf = app.csrf(&c).await;
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
    app.stop().await;
}
