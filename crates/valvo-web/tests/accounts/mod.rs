//! Accounts a county's IT runs: sign-in through a real OpenID provider
//! (PKCE, state, nonce, key rotation, the groups-to-roles mapping), users
//! deactivated whose sessions end at once, and sign-in events in the audit
//! log.

mod mail;

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
        // The existing user at a provider that says nothing of verification (as Entra ID).
        "entra": {"email": "anna.admin@x.fi", "name": "Anna Admin", "groups": []},
        // The same, naming an account that has a password.
        "entra-pw": {"email": "pw@x.fi", "name": "Pia Password", "groups": []},
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
    // Nor one the provider does not call verified, unless the mapping trusts it.
    let (_, r) = browse(&app.client(), &app.url("/login/sso"), &app.base, "entra").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

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
        3,
        "olli, eve and entra"
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
            mapping: Mapping::parse("trust_email = true").unwrap(),
            redirect_uri: format!("http://{addr}/login/sso/callback"),
        }),
        password_login: false,
        ..c
    })
    .await;
    // An account made for single sign-on (no password), and one with a password.
    app.store
        .create_user(
            &valvo_core::access::Principal::system("test"),
            "anna.admin@x.fi",
            "Anna Admin",
            Role::Admin,
            None,
            None,
        )
        .await
        .unwrap();
    app.add_user("pw@x.fi", Role::Viewer, None).await;
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
    // An address the provider does not call verified does not take over an
    // account that has a password, though the mapping trusts such addresses.
    let (_, r) = browse(&app.client(), &app.url("/login/sso"), &app.base, "entra-pw").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // It links one made for single sign-on.
    let (_, r) = browse(&c, &app.url("/login/sso?next=/audit"), &app.base, "entra").await;
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

fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    let j = html[i..].find(end)? + i;
    Some(&html[i..j])
}

#[tokio::test]
async fn administrators_invite_change_and_deactivate_users_within_their_scope() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    app.add_user("area-admin@x.fi", Role::Admin, Some(f.area_a))
        .await;
    let coordinator = app
        .add_user("qc@x.fi", Role::QualityCoordinator, None)
        .await;
    let b_manager = app
        .add_user("b@x.fi", Role::AreaManager, Some(f.area_b))
        .await;
    let admin = app.login("admin@x.fi").await;

    // Only administrators reach the users.
    let qc = app.login("qc@x.fi").await;
    assert_eq!(
        qc.get(app.url("/users")).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // An invitation with a missing name and a bad address names both fields.
    let r = app
        .post_form(
            &admin,
            "/users/new",
            &[
                ("email", "not an address"),
                ("name", ""),
                ("role", "viewer"),
                ("scope", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("href=\"#email\"") && page.contains("href=\"#name\""),
        "{page}"
    );
    // An existing address is named as such.
    let r = app
        .post_form(
            &admin,
            "/users/new",
            &[
                ("email", "QC@x.fi"),
                ("name", "Q"),
                ("role", "viewer"),
                ("scope", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("on jo käyttäjä"));

    // Invited as an area manager of area A: the page shows a one-time link.
    let a1 = f.area_a.to_string();
    let r = app
        .post_form(
            &admin,
            "/users/new",
            &[
                ("email", "Nea@x.fi"),
                ("name", "Nea New"),
                ("role", "area_manager"),
                ("scope", a1.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let page = r.text().await.unwrap();
    let link = between(&page, "<code class=\"secret\">", "</code>")
        .unwrap()
        .to_string();
    let path = link
        .strip_prefix(&app.base)
        .expect("the link is to this service")
        .to_string();
    assert!(path.starts_with("/password/"));
    let nea = app.store.user_by_email("nea@x.fi").await.unwrap().unwrap();
    assert_eq!((nea.role, nea.scope), (Role::AreaManager, Some(f.area_a)));

    // The link sets the password once; the passwords must match.
    let anon = app.client();
    assert_eq!(
        anon.get(app.url(&path)).send().await.unwrap().status(),
        StatusCode::OK
    );
    let r = anon
        .post(app.url(&path))
        .form(&[
            ("new_password", "a new password 1"),
            ("new_password_again", "another one 123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("eivät ole samat"));
    let r = anon
        .post(app.url(&path))
        .form(&[("new_password", "short"), ("new_password_again", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = anon
        .post(app.url(&path))
        .form(&[
            ("new_password", crate::support::PASSWORD),
            ("new_password_again", crate::support::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Salasana on asetettu"));
    let again = anon
        .post(app.url(&path))
        .form(&[
            ("new_password", "someone else's pw"),
            ("new_password_again", "someone else's pw"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "a link works once");
    let nea_c = app.login("nea@x.fi").await;
    assert_eq!(
        nea_c
            .get(app.url(&format!("/org/{}", f.area_a)))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // An administrator of area A lists and manages the users within it only.
    let area_admin = app.login("area-admin@x.fi").await;
    let list = area_admin
        .get(app.url("/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("nea@x.fi") && !list.contains("qc@x.fi") && !list.contains("b@x.fi"),
        "{list}"
    );
    let r = area_admin
        .get(app.url(&format!("/users/{coordinator}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post_form(
            &area_admin,
            &format!("/users/{b_manager}/active"),
            &[("active", "0")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let b = f.area_b.to_string();
    let r = app
        .post_form(
            &area_admin,
            "/users/new",
            &[
                ("email", "x@x.fi"),
                ("name", "X"),
                ("role", "viewer"),
                ("scope", b.as_str()),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "area B is outside the scope"
    );
    assert!(app.store.user_by_email("x@x.fi").await.unwrap().is_none());
    // They revoke the tokens of a user within their scope.
    let (nea_token, _) = app
        .store
        .create_token_with(
            &valvo_core::access::Principal::system("test"),
            nea.id,
            &valvo_store::TokenSpec {
                label: "nea".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = app
        .post_form(
            &area_admin,
            &format!("/tokens/{nea_token}/revoke"),
            &[("back", "/users")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Nor can they widen a user's scope beyond their own.
    let r = app
        .post_form(
            &area_admin,
            &format!("/users/{}/role", nea.id),
            &[("role", "viewer"), ("scope", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The search finds by name, in any case.
    let found = admin
        .get(app.url("/users?q=NEA"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(found.contains("nea@x.fi") && !found.contains("qc@x.fi"));

    // The role changed by the county's administrator.
    let r = app
        .post_form(
            &admin,
            &format!("/users/{}/role", nea.id),
            &[("role", "viewer"), ("scope", a1.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let nea_now = app.store.user_by_email("nea@x.fi").await.unwrap().unwrap();
    assert_eq!(
        (nea_now.role, nea_now.scope),
        (Role::Viewer, Some(f.area_a))
    );
    // An area manager needs a scope.
    let r = app
        .post_form(
            &admin,
            &format!("/users/{}/role", nea.id),
            &[("role", "area_manager"), ("scope", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Deactivated: the session ends at once; reactivated, the password works again.
    let r = app
        .post_form(
            &admin,
            &format!("/users/{}/active", nea.id),
            &[("active", "0")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        nea_c
            .get(app.url(&format!("/org/{}", f.area_a)))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    let page = admin
        .get(app.url(&format!("/users/{}", nea.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("poistettu käytöstä"));
    app.post_form(
        &admin,
        &format!("/users/{}/active", nea.id),
        &[("active", "1")],
    )
    .await;
    let nea_c = app.login("nea@x.fi").await;

    // A password reset: the old password and the session stop, a new link works.
    let r = app
        .post_form(&admin, &format!("/users/{}/password", nea.id), &[])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let link = between(&page, "<code class=\"secret\">", "</code>")
        .unwrap()
        .to_string();
    assert_eq!(
        nea_c
            .get(app.url(&format!("/org/{}", f.area_a)))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    assert!(app
        .store
        .authenticate("nea@x.fi", crate::support::PASSWORD)
        .await
        .unwrap()
        .is_none());
    let r = anon
        .post(&link)
        .form(&[
            ("new_password", "a brand new password"),
            ("new_password_again", "a brand new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(app
        .store
        .authenticate("nea@x.fi", "a brand new password")
        .await
        .unwrap()
        .is_some());

    // The audit log page names every action and entity in words.
    let page = admin
        .get(app.url("/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("poisti käytöstä") && page.contains("kirjautui"));
    assert!(
        !page.contains("audit-action-") && !page.contains("entity-"),
        "a key without its text"
    );
    // Every change is in the audit log.
    let log = app.store.audit_log(1000, None, None).await.unwrap();
    for action in [
        "create",
        "password_link",
        "set_password",
        "set_role",
        "deactivate",
        "reactivate",
        "reset_password",
    ] {
        assert!(
            log.iter().any(|e| e.action == action
                && e.entity == "user"
                && e.entity_id == nea.id.to_string()),
            "{action}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn everyone_makes_and_revokes_their_own_api_tokens() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    let qc = app
        .add_user("qc@x.fi", Role::QualityCoordinator, None)
        .await;
    let c = app.login("qc@x.fi").await;
    let page = c
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Ei API-avaimia"));

    // A name is needed.
    let r = app
        .post_form(
            &c,
            "/account/tokens",
            &[
                ("token_label", " "),
                ("token_expiry", "30"),
                ("token_access", "read"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("href=\"#token_label\""));

    // A read-only token for 30 days, its secret shown once.
    let r = app
        .post_form(
            &c,
            "/account/tokens",
            &[
                ("token_label", "Raportointi"),
                ("token_expiry", "30"),
                ("token_access", "read"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let page = r.text().await.unwrap();
    let secret = between(&page, "<code class=\"secret\">", "</code>")
        .unwrap()
        .to_string();
    assert!(secret.starts_with("valvo_"));
    assert!(
        page.contains("Raportointi") && page.contains("vain luku") && page.contains("voimassa")
    );
    let again = c
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&secret), "the secret is shown once");

    let api = reqwest::Client::new();
    let org = app.url(&format!("/api/v1/org-units/{}", f.county));
    let r = api.get(&org).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = api
        .post(app.url("/api/v1/goals"))
        .bearer_auth(&secret)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a read-only token writes nothing"
    );
    let used = app
        .store
        .tokens(&valvo_core::access::Principal::system("t"), Some(qc))
        .await
        .unwrap();
    assert!(used[0].last_used_at.is_some(), "its use is noted");

    // Expired (time passes): 401 at once, and the account page says so.
    let r = app
        .post_form(
            &c,
            "/account/tokens",
            &[
                ("token_label", "Lyhyt"),
                ("token_expiry", "30"),
                ("token_access", "write"),
            ],
        )
        .await;
    let page = r.text().await.unwrap();
    let short = between(&page, "<code class=\"secret\">", "</code>")
        .unwrap()
        .to_string();
    assert_eq!(
        api.get(&org)
            .bearer_auth(&short)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.sql("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00Z' WHERE label = 'Lyhyt'")
            .await,
        1
    );
    assert_eq!(
        api.get(&org)
            .bearer_auth(&short)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let page = c
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("vanhentunut"));

    // Another user cannot revoke it; its owner can, and it answers 401 at once.
    let id = used[0].id;
    let other = app.login("admin@x.fi").await;
    let viewer = app.add_user("v@x.fi", Role::Viewer, None).await;
    let _ = viewer;
    let v = app.login("v@x.fi").await;
    let r = app
        .post_form(&v, &format!("/tokens/{id}/revoke"), &[("back", "/account")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post_form(&c, &format!("/tokens/{id}/revoke"), &[("back", "/account")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/account");
    let r = api.get(&org).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let page = c
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("mitätöity"));
    // The administrator sees the user's tokens on the user's page.
    let page = other
        .get(app.url(&format!("/users/{qc}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Raportointi") && page.contains("mitätöity"));
    app.stop().await;
}

#[tokio::test]
async fn users_and_tokens_through_the_api() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    app.add_user("admin@x.fi", Role::Admin, None).await;
    app.add_user("v@x.fi", Role::Viewer, None).await;
    let admin = app.token("admin@x.fi").await;
    let viewer = app.token("v@x.fi").await;
    let api = reqwest::Client::new();
    let url = |p: &str| app.url(p);

    // Only administrators manage users.
    let r = api
        .get(url("/api/v1/users"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // An invitation: the user and a one-time link.
    let r = api
        .post(url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"email": "new@x.fi", "name": "New", "role": "area_manager", "scope": f.area_a}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let user: serde_json::Value = r.json().await.unwrap();
    assert_eq!(user["role"], "area_manager");
    assert!(user["password_link"]
        .as_str()
        .unwrap()
        .contains("/password/"));
    let id = user["id"].as_i64().unwrap();
    // The same address again, an area manager without a scope, a unit that is not there.
    let (conflict, invalid) = (StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY);
    for (body, field, expected) in [
        (
            serde_json::json!({"email": "NEW@x.fi", "name": "N", "role": "viewer"}),
            "email",
            conflict,
        ),
        (
            serde_json::json!({"email": "m@x.fi", "name": "M", "role": "area_manager"}),
            "scope",
            invalid,
        ),
        (
            serde_json::json!({"email": "m@x.fi", "name": "M", "role": "viewer", "scope": 999999}),
            "scope",
            invalid,
        ),
    ] {
        let r = api
            .post(url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(status, expected, "{body} {e}");
        assert_eq!(e["error"]["fields"][0]["field"], field, "{e}");
    }
    // Deactivated through the API: their token stops.
    let theirs = app.token("new@x.fi").await;
    let org = url(&format!("/api/v1/org-units/{}", f.area_a));
    assert_eq!(
        api.get(&org)
            .bearer_auth(&theirs)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = api
        .patch(url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"active": false, "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let after: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (after["active"].as_bool(), after["role"].as_str()),
        (Some(false), Some("viewer"))
    );
    assert_eq!(
        api.get(&org)
            .bearer_auth(&theirs)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let list: serde_json::Value = api
        .get(url("/api/v1/users?q=NEW"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["users"].as_array().unwrap().len(), 1);

    // Tokens: made, listed, revoked; a token cannot revoke itself.
    let r = api
        .post(url("/api/v1/tokens"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({"label": "export", "expires_in_days": 90, "read_only": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: serde_json::Value = r.json().await.unwrap();
    let secret = made["token"].as_str().unwrap().to_string();
    assert_eq!(
        (made["state"].as_str(), made["read_only"].as_bool()),
        (Some("live"), Some(true))
    );
    assert!(made["expires_at"].is_string());
    let mine: serde_json::Value = api
        .get(url("/api/v1/tokens"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["tokens"].as_array().unwrap().len(), 2);
    assert!(
        mine["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("token").is_none()),
        "no secrets listed"
    );
    let made_id = made["id"].as_i64().unwrap();
    let r = api
        .delete(url(&format!("/api/v1/tokens/{made_id}")))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(url("/api/v1/tokens"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let own_id = mine["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] != made["id"])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = api
        .delete(url(&format!("/api/v1/tokens/{own_id}")))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // A narrower scope: the token reaches area A only.
    let r = api
        .post(url("/api/v1/tokens"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"label": "area A", "scope": f.area_a}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let narrow: serde_json::Value = r.json().await.unwrap();
    let narrow = narrow["token"].as_str().unwrap().to_string();
    let area = |id: i64| url(&format!("/api/v1/org-units/{id}"));
    assert_eq!(
        api.get(area(f.area_a))
            .bearer_auth(&narrow)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        api.get(area(f.area_b))
            .bearer_auth(&narrow)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = api
        .post(url("/api/v1/tokens"))
        .bearer_auth(&narrow)
        .json(&serde_json::json!({"label": "wider", "scope": f.area_b}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no wider than the token that asks"
    );
    // A mapping that governs roles (update_roles) and names no role for a
    // person signs them in no more; one that names a role sets it.
    let who = valvo_store::SsoIdentity {
        issuer: "https://idp.test".into(),
        subject: "v-subject".into(),
        verified_email: Some("v@x.fi".into()),
        email_trusted: false,
        name: None,
    };
    let grant = |role| valvo_store::SsoGrant {
        role,
        create_users: false,
        update_roles: true,
    };
    assert!(matches!(
        app.store.sso_account(&who, &grant(None)).await.unwrap(),
        valvo_store::SsoOutcome::NoAccount
    ));
    assert!(matches!(
        app.store.sso_account(&who, &grant(Some((Role::QualityCoordinator, None)))).await.unwrap(),
        valvo_store::SsoOutcome::SignedIn(u, false) if u.role == Role::QualityCoordinator
    ));
    app.store
        .set_role(
            &valvo_core::access::Principal::system("test"),
            who_id(&app, "v@x.fi").await,
            Role::Viewer,
            None,
        )
        .await
        .unwrap();
    // A token's scope counts only inside its user's scope as it is now.
    let v_id = app.store.user_by_email("v@x.fi").await.unwrap().unwrap().id;
    let sys = valvo_core::access::Principal::system("test");
    let (_, in_a) = app
        .store
        .create_token_with(
            &sys,
            v_id,
            &valvo_store::TokenSpec {
                label: "A".into(),
                scope: Some(f.area_a),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        api.get(area(f.area_a))
            .bearer_auth(&in_a)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.store
        .set_role(&sys, v_id, Role::Viewer, Some(f.area_b))
        .await
        .unwrap();
    assert_eq!(
        api.get(area(f.area_a))
            .bearer_auth(&in_a)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED,
        "moved to area B: the token for area A stops"
    );
    app.store
        .set_role(&sys, v_id, Role::Viewer, None)
        .await
        .unwrap();
    // Another user's token: not the viewer's to revoke.
    let admins: serde_json::Value = api
        .get(url("/api/v1/tokens"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_id = admins["tokens"][0]["id"].as_i64().unwrap();
    let r = api
        .delete(url(&format!("/api/v1/tokens/{admin_id}")))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

async fn who_id(app: &TestApp, email: &str) -> i64 {
    app.store.user_by_email(email).await.unwrap().unwrap().id
}
