use preau_tests::{DEMO_PASSWORD, PILAT, TestServer};

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

    // Five failures lock the login for a while, even with the right password.
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
