use std::time::{Duration, Instant};

use preau_tests::{Client, DEMO_PASSWORD, PILAT, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_safe_cookie_rotates_it_and_sign_out_kills_it() {
    let server = TestServer::start().await.unwrap();
    let client = server.client();
    let first = client.login("jean.dupont", DEMO_PASSWORD).await.unwrap();
    assert_eq!(first.status, 303);
    assert_ne!(first.location(), "/login");
    assert_eq!(first.location(), format!("/e/{PILAT}/"));
    let cookie = first.header("set-cookie").unwrap();
    assert!(cookie.contains("preau_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    let token = client.cookie("preau_session").unwrap();
    assert_eq!(token.len(), 32, "128-bit token");

    // Signing in again rotates the session; the old token is dead.
    let old = token.clone();
    assert_eq!(
        client
            .login("jean.dupont", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        303
    );
    let new = client.cookie("preau_session").unwrap();
    assert_ne!(old, new);
    let stale = server.client();
    stale.set_cookie("preau_session", &old);
    assert_eq!(
        stale
            .get(&format!("/e/{PILAT}/blog/new"))
            .await
            .unwrap()
            .status,
        303,
        "old session → sign-in"
    );

    // Sign-out deletes the session server-side.
    let out = client
        .post_form(&format!("/e/{PILAT}/"), "/logout", &[])
        .await
        .unwrap();
    assert_eq!(out.status, 303);
    let replay = server.client();
    replay.set_cookie("preau_session", &new);
    let page = replay.get(&format!("/e/{PILAT}/blog/new")).await.unwrap();
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_missing_csrf_and_brute_force_are_refused() {
    let server = TestServer::start().await.unwrap();
    let client = server.client();
    let wrong = client.login("jean.dupont", "mauvais").await.unwrap();
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .body
            .contains("Identifiant ou mot de passe incorrect.")
    );
    assert!(client.cookie("preau_session").is_none());

    let unknown = client.login("personne", "x").await.unwrap();
    assert_eq!(unknown.status, 401, "same answer for unknown logins");

    // Without the CSRF field (a cross-site form), sign-in is refused.
    let forged = server
        .client()
        .post_raw(
            "/login",
            &[("login", "jean.dupont"), ("password", DEMO_PASSWORD)],
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("jeton de sécurité"));

    // Five failures lock this (login, address) pair for a while, even with
    // the right password.
    for _ in 0..4 {
        client.login("emma.martin", "faux").await.unwrap();
    }
    assert_eq!(
        client.login("emma.martin", "faux").await.unwrap().status,
        401
    );
    let locked = client.login("emma.martin", DEMO_PASSWORD).await.unwrap();
    assert_eq!(locked.status, 429);
    assert!(locked.body.contains("Trop de tentatives"));
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

/// A client seen from `address` by a host that trusts the test client (127.0.0.1) as its proxy.
fn from(server: &TestServer, address: &str) -> Client {
    Client::forwarded_for(&server.base, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_elsewhere_never_lock_the_right_password_out() {
    let data = tempfile::tempdir().unwrap();
    let mut config = preau_tests::test_config(data.path());
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    config.max_login_failures_per_address = 6;
    let server = TestServer::start_with(config).await.unwrap();

    // An attacker at address A fails ten times for `admin`: its pair is
    // refused after the fifth, the right password included.
    let attacker = from(&server, "203.0.113.66");
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(attacker.login("admin", "devine-moi").await.unwrap().status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    let refused = attacker.login("admin", DEMO_PASSWORD).await.unwrap();
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("Trop de tentatives"),
        "{}",
        refused.body
    );
    assert!(refused.header("retry-after").is_some());
    assert!(attacker.cookie("preau_session").is_none());

    // The real administrator at address B signs in at once: slowed down
    // (never more than 2 s), never refused.
    let admin = from(&server, "198.51.100.20");
    let started = Instant::now();
    let page = admin.login("admin", DEMO_PASSWORD).await.unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(admin.cookie("preau_session").is_some());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // Still refused for the attacker.
    assert_eq!(
        attacker.login("admin", DEMO_PASSWORD).await.unwrap().status,
        429
    );

    // A school behind one NAT address: pupils (and others) mistype, more
    // logins than the per-address limit (6).
    let school = "192.0.2.10";
    for login in [
        "emma.martin",
        "paul.martin",
        "marie.lefebvre",
        "karim.haddad",
        "sophie.giraud",
        "thomas.roux",
        "personne.inconnue",
    ] {
        let page = from(&server, school)
            .login(login, "Printemps2026!")
            .await
            .unwrap();
        assert_eq!(page.status, 401, "{login}");
    }
    // Another pupil with the right password at that address signs in.
    let pupil = from(&server, school);
    let page = pupil.login("lucie.bernard", DEMO_PASSWORD).await.unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    // The address now counts as spraying: a login that failed from it is
    // refused there for a while, and still signs in from elsewhere.
    let again = from(&server, school)
        .login("emma.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(again.status, 429);
    let home = from(&server, "198.51.100.30")
        .login("emma.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(home.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_returns_to_the_requested_local_page_only() {
    let server = TestServer::start().await.unwrap();
    let client = server.client();
    let target = format!("/e/{PILAT}/blog/new");
    let bounce = client.get(&target).await.unwrap();
    assert_eq!(bounce.status, 303);
    let login_url = bounce.location().to_string();
    assert!(login_url.starts_with("/login?next="));
    let form = client.get(&login_url).await.unwrap();
    let csrf = form.csrf().unwrap();
    let page = client
        .post_raw(
            "/login",
            &[
                ("login", "jean.dupont"),
                ("password", DEMO_PASSWORD),
                ("next", &target),
                ("csrf", &csrf),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.location(), target);
    let evil = server.client();
    let csrf = evil.get("/login").await.unwrap().csrf().unwrap();
    let page = evil
        .post_raw(
            "/login",
            &[
                ("login", "jean.dupont"),
                ("password", DEMO_PASSWORD),
                ("next", "//evil.example/"),
                ("csrf", &csrf),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert!(!page.location().contains("evil"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closing_access_window_ends_a_signed_in_pupils_session_with_the_opening_date() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let token = pupil.cookie("preau_session").unwrap();
    let blog = format!("/e/{PILAT}/blog/");
    assert_eq!(pupil.get(&blog).await.unwrap().status, 200);

    let windows = format!("/admin/e/{PILAT}/acces");
    let page = principal
        .post_form(
            &windows,
            &windows,
            &[
                ("profile", "eleve"),
                ("from", "2020-01-01"),
                ("until", "2099-09-01"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);

    // The pupil's next request ends the session and says when access opens,
    // as the sign-in page does.
    let page = pupil.get(&blog).await.unwrap();
    assert_eq!(page.status, 403);
    assert!(
        page.body.contains("ouvrira le 1er septembre 2099"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"action="/login""#));
    assert!(pupil.cookie("preau_session").is_none(), "cookie cleared");
    assert!(
        server.app.directory().session(&token).unwrap().is_none(),
        "session ended server-side"
    );
    // The old cookie is worth nothing any more: a visitor's page, not the pupil's.
    pupil.set_cookie("preau_session", &token);
    let home = pupil.get("/compte").await.unwrap();
    assert_eq!(home.status, 303);
    assert!(home.location().starts_with("/login"));
    // The principal (not concerned) keeps their session.
    assert_eq!(principal.get(&windows).await.unwrap().status, 200);
}

/// `next` is read as a URL relative to the site: a tab, a space or a vertical tab
/// that browsers drop (`/\t/evil.example/` is `//evil.example/`) sends back home,
/// never off the site, and never fails after a good password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_next_with_whitespace_or_control_characters_goes_home() {
    let server = TestServer::start().await.unwrap();
    for next in [
        "/\t/evil.example/",
        "/ /evil.example/",
        "/\x0b/evil.example/",
        "/\n/evil.example/",
        "/.//evil.example/",
        "/%2e%2e//evil.example/",
    ] {
        let client = server.client();
        let form = client
            .get(&format!(
                "/login?{}",
                preau_tests::url_encode(&[("next", next)])
            ))
            .await
            .unwrap();
        assert_eq!(form.status, 200, "{next:?}");
        assert!(!form.body.contains("evil.example"), "{next:?}");
        let csrf = form.csrf().unwrap();
        let page = client
            .post_raw(
                "/login",
                &[
                    ("login", "jean.dupont"),
                    ("password", DEMO_PASSWORD),
                    ("next", next),
                    ("csrf", &csrf),
                ],
            )
            .await
            .unwrap();
        assert_eq!(page.status, 303, "{next:?}: {}", page.body);
        // Where a sign-in without `next` goes: the person's establishment.
        assert_eq!(page.location(), format!("/e/{PILAT}/"), "{next:?}");
    }
    // A normalised local path still comes back, query included.
    let client = server.client();
    let csrf = client.get("/login").await.unwrap().csrf().unwrap();
    let page = client
        .post_raw(
            "/login",
            &[
                ("login", "jean.dupont"),
                ("password", DEMO_PASSWORD),
                ("next", &format!("/e/{PILAT}/blog/../forum/?page=2")),
                ("csrf", &csrf),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.location(), format!("/e/{PILAT}/forum/?page=2"));
}
