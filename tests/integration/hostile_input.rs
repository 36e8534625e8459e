//! Hostile input at the HTTP edge: malformed and oversized requests, path
//! traversal, tampered headers and cookies, session fixation, brute force.
//! Requests a well-behaved client cannot send (raw bytes, `..` segments that
//! `reqwest` would normalise) go over a raw TCP connection.

use std::collections::HashSet;
use std::time::Duration;

use preau_tests::{DEMO_PASSWORD, PILAT, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `request` as is and reads the whole answer (the request asks to
/// close). Status 0: the server closed without answering.
async fn raw(server: &TestServer, request: &[u8]) -> (u16, String) {
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // The server may answer and close before reading everything (huge headers).
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer));
    let _ = read.await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// A GET of `target` (raw bytes) with `headers` (each ending in CRLF).
fn get(target: &[u8], headers: &[u8]) -> Vec<u8> {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    request.extend_from_slice(headers);
    request.extend_from_slice(b"\r\n");
    request
}

/// The server still answers normally.
async fn still_serving(server: &TestServer) {
    let page = server.client().get("/").await.unwrap();
    assert_eq!(page.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_never_leave_the_theme_folder() {
    let server = TestServer::start().await.unwrap();
    let (status, css) = raw(&server, &get(b"/static/style.css", b"")).await;
    assert_eq!(status, 200, "{css}");
    // Files one, two and three levels up: the theme's templates, the
    // repository's manifest; and the system's password file.
    let secrets = ["[workspace]", "{%", "{{", "root:x:0:0"];
    for target in [
        "/static/../templates/layout.html",
        "/static/../../../Cargo.toml",
        "/static/./../../../Cargo.toml",
        "/static/%2e%2e/templates/layout.html",
        "/static/.%2e/templates/layout.html",
        "/static/%2E%2E/%2E%2E/%2E%2E/Cargo.toml",
        "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fCargo.toml",
        "/static/..%2f..%2f..%2fCargo.toml",
        "/static/%252e%252e/%252e%252e/%252e%252e/Cargo.toml",
        "/static/%252e%252e%252f%252e%252e%252fCargo.toml",
        "/static/..\\..\\..\\Cargo.toml",
        "/static/..%5c..%5c..%5cCargo.toml",
        "/static/%5c..%5c..%5c..%5cCargo.toml",
        "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/Cargo.toml",
        "/static/....//....//....//Cargo.toml",
        "/static/..;/..;/..;/Cargo.toml",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/%2F%2Fetc%2Fpasswd",
        "/static/../../../../../../../../etc/passwd",
        "/static/%00../../../Cargo.toml",
        "/static/style.css%00.html",
        "/static/style.css/../../templates/layout.html",
        "/static/C:%5cWindows%5cwin.ini",
    ] {
        let (status, answer) = raw(&server, &get(target.as_bytes(), b"")).await;
        assert!(matches!(status, 400 | 404), "{target}: {status}\n{answer}");
        for secret in secrets {
            assert!(!answer.contains(secret), "{target} leaks {secret}");
        }
    }
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_utf8_in_forms_and_queries_gets_a_clear_answer() {
    let server = TestServer::start().await.unwrap();
    // Sign-in form: the CSRF field is fine, the login is not UTF-8.
    let client = server.client();
    let csrf = client.get("/login").await.unwrap().csrf().unwrap();
    let mut body = format!("csrf={csrf}&password=x&login=").into_bytes();
    body.extend_from_slice(&[0xc3, 0x28, 0xff]);
    let page = client
        .post_body("/login", "application/x-www-form-urlencoded", body)
        .await
        .unwrap();
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Formulaire illisible"), "{}", page.body);
    assert!(page.body.contains("UTF-8"));
    assert!(page.body.contains("<html"), "a themed page");
    // Percent-escapes of invalid UTF-8 are decoded lossily: an ordinary failure.
    let page = client
        .post_raw("/login", &[("csrf", &csrf), ("password", "x")])
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    let escaped = format!("csrf={csrf}&password=x&login=%FF%FE%C0%AE");
    let page = client
        .post_body(
            "/login",
            "application/x-www-form-urlencoded",
            escaped.into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(page.status, 401);

    // A host administration form.
    let admin = server.signed_in("admin").await.unwrap();
    let csrf = admin.get("/admin/").await.unwrap().csrf().unwrap();
    let mut body = format!("csrf={csrf}&providers=").into_bytes();
    body.extend_from_slice(&[0xed, 0xa0, 0x80]);
    let page = admin
        .post_body("/admin/embeds", "application/x-www-form-urlencoded", body)
        .await
        .unwrap();
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Formulaire illisible"));

    // Query strings and paths: escaped invalid UTF-8 and raw bytes.
    for target in [
        "/login?next=%FF%FE".as_bytes(),
        b"/login?next=%C0%AF%C0%AF",
        b"/login?%FF=%FF&&&==&next",
        b"/login?next=\xff\xfe",
        b"/e/0420003A/blog/?page=%FF",
        b"/e/0420003A/blog/?page=99999999999999999999999",
        b"/e/%FF%FE/",
        b"/e/0420003A/%FF/",
        b"/e/0420003A/blog/%FF%FE",
        b"/e/0420003A/r/%C0%AE%C0%AE/",
        b"/admin/e/%FF/annuaire",
        b"/\xc3\x28",
    ] {
        let (status, answer) = raw(&server, &get(target, b"")).await;
        assert!(
            status != 0 && status < 500,
            "{}: {status}\n{answer}",
            String::from_utf8_lossy(target)
        );
    }
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_requests_are_refused() {
    let server = TestServer::start().await.unwrap();
    let client = server.client();
    let csrf = client.get("/login").await.unwrap().csrf().unwrap();
    let huge = format!(
        "csrf={csrf}&login=jean.dupont&password={}",
        "a".repeat(2 << 20)
    );
    let page = client
        .post_body(
            "/login",
            "application/x-www-form-urlencoded",
            huge.into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(page.status, 413);
    let admin = server.signed_in("admin").await.unwrap();
    let csrf = admin.get("/admin/").await.unwrap().csrf().unwrap();
    let huge = format!("csrf={csrf}&providers={}", "youtube,".repeat(300_000));
    let page = admin
        .post_body(
            "/admin/embeds",
            "application/x-www-form-urlencoded",
            huge.into_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(page.status, 413);
    // A declared length far above the limit: refused once the limit is read
    // (the body is never buffered whole).
    let mut request = b"POST /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 999999999\r\n\r\nlogin="
        .to_vec();
    request.resize(request.len() + (1 << 20) + 4096, b'a');
    let (status, _) = raw(&server, &request).await;
    assert_eq!(status, 413);
    // A long URL and a long query string.
    let long = format!("/login?next=/{}", "a".repeat(60_000));
    let (status, _) = raw(&server, &get(long.as_bytes(), b"")).await;
    assert!(status != 0 && status < 500, "{status}");
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_headers_are_harmless() {
    let server = TestServer::start().await.unwrap();
    // Huge headers, many headers: refused by the HTTP layer.
    let big = format!("X-Big: {}\r\n", "a".repeat(1 << 20));
    let (status, _) = raw(&server, &get(b"/", big.as_bytes())).await;
    assert!(matches!(status, 0 | 400 | 431), "{status}");
    let many: String = (0..500).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let (status, _) = raw(&server, &get(b"/", many.as_bytes())).await;
    assert!(matches!(status, 0 | 400 | 431), "{status}");
    let cookie = format!("Cookie: preau_session={}\r\n", "f".repeat(200_000));
    let (status, _) = raw(&server, &get(b"/", cookie.as_bytes())).await;
    assert!(matches!(status, 0 | 200 | 400 | 431), "{status}");
    still_serving(&server).await;

    // Odd Host headers: nothing is built from them.
    for host in [
        "evil.example",
        "evil.example:80@localhost",
        "localhost\u{7f}",
        "",
        "[::1",
        "a b",
    ] {
        let request = format!("GET /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let (status, answer) = raw(&server, request.as_bytes()).await;
        assert!(status != 0 && status < 500, "Host {host:?}: {status}");
        assert!(!answer.contains("evil.example"), "Host reflected: {answer}");
    }
    let (status, _) = raw(
        &server,
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(status != 0 && status < 500, "{status}");
    let (status, _) = raw(&server, b"GET / HTTP/1.0\r\n\r\n").await;
    assert_eq!(status, 200, "no Host at all (HTTP/1.0)");
    for garbage in [
        &b"GET / HTTP/9.9\r\nHost: x\r\n\r\n"[..],
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Name: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: \xff\xfe\r\nConnection: close\r\n\r\n",
    ] {
        let (status, _) = raw(&server, garbage).await;
        assert!(status < 500, "{}: {status}", String::from_utf8_lossy(garbage));
    }

    // Bogus Content-Type on POST: the body is still only a form or nothing.
    let client = server.client();
    let csrf = client.get("/login").await.unwrap().csrf().unwrap();
    let form = format!("csrf={csrf}&login=personne.inconnue&password=faux");
    for content_type in [
        "text/plain",
        "application/json",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        "invalide",
        "",
    ] {
        let page = client
            .post_body("/login", content_type, form.clone().into_bytes())
            .await
            .unwrap();
        assert!(page.status < 500, "{content_type}: {}", page.status);
    }
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let page = teacher
        .post_body(
            &format!("/e/{PILAT}/blog/new"),
            "application/json",
            br#"{"title":"JSON","body":"x","csrf":"0"}"#.to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403, "no CSRF field: refused");
    let page = teacher
        .post_body(
            "/admin/e/0420003A/theme/banniere",
            "multipart/form-data; boundary=x",
            b"--x\r\nnot a part\r\n--x--".to_vec(),
        )
        .await
        .unwrap();
    assert!(page.status < 500, "{}", page.status);
    still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_session_cookies_mean_anonymous_never_an_error() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let real = teacher.cookie("preau_session").unwrap();
    let restricted = format!("/e/{PILAT}/blog/new");
    let forged = [
        String::new(),
        "x".into(),
        "0".repeat(32),
        "g".repeat(32),
        "0123456789abcdef0123456789abcdef".into(),
        real.to_uppercase(),
        format!("{real}0"),
        real[..31].to_string(),
        format!(" {real}"),
        format!("{real}%00"),
        "../../../../etc/passwd".into(),
        "' OR '1'='1".into(),
        "é".repeat(16),
        "a".repeat(4000),
    ];
    for value in &forged {
        if value == &real {
            continue;
        }
        let client = server.client();
        client.set_cookie("preau_session", value);
        let page = client.get(&restricted).await.unwrap();
        assert_eq!(page.status, 303, "{value:?}: {}", page.status);
        assert!(page.location().starts_with("/login"));
        let home = client.get("/").await.unwrap();
        assert_eq!(home.status, 200, "{value:?}");
        assert!(!home.body.contains("Jean Dupont"));
    }
    // Raw cookie headers: not UTF-8, repeated, malformed.
    for header in [
        &b"Cookie: preau_session=\xff\xfe\xfd\r\n"[..],
        b"Cookie: preau_session\r\n",
        b"Cookie: ;;;=;=\r\n",
        b"Cookie: preau_session=a; preau_session=b; preau_session=c\r\n",
        b"Cookie: preau_csrf=\xff; preau_session=\r\n",
    ] {
        let (status, answer) = raw(&server, &get(restricted.as_bytes(), header)).await;
        assert_eq!(status, 303, "{}: {answer}", String::from_utf8_lossy(header));
    }
    // The real token still works: nothing above disturbed it.
    assert_eq!(teacher.get(&restricted).await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_tokens_are_128_random_bits() {
    let server = TestServer::start().await.unwrap();
    let mut tokens = Vec::new();
    for _ in 0..20 {
        let client = server.signed_in("emma.martin").await.unwrap();
        tokens.push(client.cookie("preau_session").unwrap());
    }
    for token in &tokens {
        assert_eq!(token.len(), 32, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{token}"
        );
    }
    let distinct: HashSet<&String> = tokens.iter().collect();
    assert_eq!(distinct.len(), tokens.len());
    // Every hex position varies: no counter, timestamp or shared prefix.
    // (For 20 random tokens, a position showing 4 values or fewer has a
    // probability below 1e-8.)
    for position in 0..32 {
        let values: HashSet<u8> = tokens.iter().map(|t| t.as_bytes()[position]).collect();
        assert!(values.len() > 4, "position {position}: {values:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_set_before_sign_in_is_never_the_one_after() {
    let server = TestServer::start().await.unwrap();
    let restricted = format!("/e/{PILAT}/blog/new");

    // A value chosen by an attacker and planted before sign-in.
    let planted = "0123456789abcdef0123456789abcdef";
    let victim = server.client();
    victim.set_cookie("preau_session", planted);
    assert_eq!(
        victim
            .login("jean.dupont", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        303
    );
    let after = victim.cookie("preau_session").unwrap();
    assert_ne!(after, planted);
    let attacker = server.client();
    attacker.set_cookie("preau_session", planted);
    assert_eq!(attacker.get(&restricted).await.unwrap().status, 303);

    // The attacker's own valid session, planted in the victim's browser: the
    // victim's sign-in makes a new one and ends the planted one.
    let attacker = server.signed_in("emma.martin").await.unwrap();
    let attacker_token = attacker.cookie("preau_session").unwrap();
    let victim = server.client();
    victim.set_cookie("preau_session", &attacker_token);
    assert_eq!(
        victim
            .login("jean.dupont", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        303
    );
    let victim_token = victim.cookie("preau_session").unwrap();
    assert_ne!(victim_token, attacker_token);
    assert_eq!(victim.get(&restricted).await.unwrap().status, 200);
    // The old id is invalid afterwards: anonymous, and never the teacher.
    let page = attacker.get(&restricted).await.unwrap();
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login"));
    assert!(
        !attacker
            .get(&format!("/e/{PILAT}/"))
            .await
            .unwrap()
            .body
            .contains("Jean Dupont")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_are_limited_per_address_across_accounts() {
    let data = tempfile::tempdir().unwrap();
    let mut config = preau_tests::test_config(data.path());
    config.max_login_failures_per_address = 5;
    let server = TestServer::start_with(config).await.unwrap();
    // Signed in before the attack: stays signed in.
    let teacher = server.signed_in("jean.dupont").await.unwrap();

    // Password spraying: one wrong password per account, under the
    // per-pair limit (5), from one address, more logins than its limit.
    let client = server.client();
    for login in [
        "emma.martin",
        "paul.martin",
        "principal.pilat",
        "marie.lefebvre",
        "karim.haddad",
        "personne.inconnue",
    ] {
        let page = client.login(login, "Printemps2026!").await.unwrap();
        assert_eq!(page.status, 401, "{login}");
    }
    // The address now sprays: every login it failed is refused from it,
    // right password included…
    for login in ["emma.martin", "principal.pilat"] {
        let page = client.login(login, DEMO_PASSWORD).await.unwrap();
        assert_eq!(page.status, 429, "{login}");
        assert!(
            page.body.contains("Trop de tentatives de connexion"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Réessayez dans 1 minute."));
        let retry: u64 = page.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert!(client.cookie("preau_session").is_none());
    }
    // … a fresh client from the same address too (counted by address)…
    let other = server.client();
    let page = other.login("paul.martin", DEMO_PASSWORD).await.unwrap();
    assert_eq!(page.status, 429);
    // … but a login it never failed signs in (slowed down): one NAT address
    // for a whole school is never locked out.
    let page = other.login("lucie.bernard", DEMO_PASSWORD).await.unwrap();
    assert_eq!(page.status, 303);
    // Sessions already open are not affected.
    assert_eq!(
        teacher
            .get(&format!("/e/{PILAT}/blog/new"))
            .await
            .unwrap()
            .status,
        200
    );
}
