//! Deployment behind HTTPS (`public_url`): `Secure` cookies and HSTS with an
//! `https://` public address, none without; every POST's `Origin` (or
//! `Referer`) is checked against the portal's origin beside the CSRF token:
//! a foreign origin is refused with a French 403 even with a valid token, the
//! portal's own passes, and a POST with neither header (curl, these tests'
//! client) still passes on its CSRF token.

use preau_tests::{Client, DEMO_PASSWORD, TestServer, test_config};

const PUBLIC: &str = "https://ent.exemple.fr";

async fn server_behind_https() -> (TestServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(&data.path().join("db"));
    config.public_url = Some(url::Url::parse(PUBLIC).unwrap());
    (TestServer::start_with(config).await.unwrap(), data)
}

/// Signs in with `headers` on the POST (the CSRF token read from the form).
async fn sign_in(client: &Client, headers: &[(&str, &str)]) -> preau_tests::Page {
    client
        .post_form_with_headers(
            "/login",
            "/login",
            &[("login", "jean.dupont"), ("password", DEMO_PASSWORD)],
            headers,
        )
        .await
        .unwrap()
}

fn session_cookie(page: &preau_tests::Page) -> Option<&str> {
    page.header("set-cookie")?
        .lines()
        .find(|c| c.starts_with("preau_session=") && !c.starts_with("preau_session=;"))
}

#[tokio::test]
async fn https_public_url_gives_secure_cookies_and_hsts() {
    let (server, _data) = server_behind_https().await;
    let home = server.client().get("/").await.unwrap();
    assert_eq!(
        home.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let client = server.client();
    let signed_in = sign_in(&client, &[]).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let cookie = session_cookie(&signed_in).expect("cookie de session");
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Without a public address: plain http, no Secure, no HSTS.
    let plain = TestServer::start().await.unwrap();
    let home = plain.client().get("/").await.unwrap();
    assert_eq!(home.header("strict-transport-security"), None);
    let signed_in = sign_in(&plain.client(), &[]).await;
    let cookie = session_cookie(&signed_in).expect("cookie de session");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn a_post_from_another_origin_is_refused_even_with_a_valid_token() {
    let (server, _data) = server_behind_https().await;
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "http://ent.exemple.fr")],
        vec![("origin", "null")],
        vec![("referer", "https://evil.example/page")],
        // Origin is the one looked at when both are there.
        vec![
            ("origin", "https://evil.example"),
            ("referer", "https://ent.exemple.fr/login"),
        ],
    ] {
        let client = server.client();
        let refused = sign_in(&client, &headers).await;
        assert_eq!(refused.status, 403, "{headers:?}");
        assert!(refused.body.contains("Envoi refusé"), "{}", refused.body);
        assert!(session_cookie(&refused).is_none(), "{headers:?}");
    }
    // The portal's own origin, a same-origin Referer, or neither header: signed in.
    for headers in [
        vec![("origin", PUBLIC)],
        vec![("referer", "https://ent.exemple.fr/login?next=/")],
        vec![],
    ] {
        let client = server.client();
        let accepted = sign_in(&client, &headers).await;
        assert_eq!(accepted.status, 303, "{headers:?}: {}", accepted.body);
        // A signed-in POST from elsewhere is refused too, and changes nothing.
        let foreign = client
            .post_form_with_headers(
                "/notifications",
                "/notifications/lues",
                &[],
                &[("origin", "https://evil.example")],
            )
            .await
            .unwrap();
        assert_eq!(foreign.status, 403);
        assert!(client.get("/compte").await.unwrap().status == 200);
    }
}

#[tokio::test]
async fn without_public_url_the_origin_must_be_the_host() {
    let server = TestServer::start().await.unwrap();
    let refused = sign_in(&server.client(), &[("origin", "http://evil.example")]).await;
    assert_eq!(refused.status, 403);
    let accepted = sign_in(&server.client(), &[("origin", &server.base)]).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
}
