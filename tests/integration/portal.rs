use preau_tests::{FOREZ, PILAT, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_portal_lists_establishments_and_links_their_portals() {
    let server = TestServer::start().await.unwrap();
    let client = server.client();
    let page = client.get("/").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Collège du Pilat"));
    assert!(page.body.contains("Lycée du Forez"));
    assert!(
        page.body.contains("&#x2f;e&#x2f;0420003A&#x2f;") || page.body.contains("/e/0420003A/")
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("script-src 'none'")
    );

    let home = client.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Collège du Pilat"));
    // Themed: the establishment's stylesheet is linked and carries its colours.
    assert!(home.body.contains("theme.css"));
    let css = client.get(&format!("/e/{PILAT}/theme.css")).await.unwrap();
    assert!(css.body.contains("--primary: #2f6f4f"), "{}", css.body);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));

    let forez = client.get(&format!("/e/{FOREZ}/")).await.unwrap();
    assert_eq!(forez.status, 200);
    assert!(forez.body.contains("Lycée du Forez"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_are_french_404s_and_static_files_stay_inside_the_theme() {
    let server = TestServer::start().await.unwrap();
    let client = server.client();
    let page = client.get("/e/9999999Z/").await.unwrap();
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Établissement introuvable"));
    assert_eq!(client.get("/nulle-part").await.unwrap().status, 404);
    let css = client.get("/static/style.css").await.unwrap();
    assert_eq!(css.status, 200);
    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/%2e%2e/Cargo.toml",
        "/static/..%2f..%2fCargo.toml",
    ] {
        let page = client.get(path).await.unwrap();
        assert!(
            page.status == 404 || page.status == 400,
            "{path}: {}",
            page.status
        );
        assert!(!page.body.contains("[workspace]"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_shows_the_blog_block_to_readers_only() {
    let server = TestServer::start().await.unwrap();
    let anonymous = server.client().get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(
        !anonymous.body.contains("Sortie au parc naturel"),
        "anonymous visitors see no restricted content"
    );
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(home.body.contains("Derniers articles"));
    assert!(
        home.body.contains("Sortie au parc naturel"),
        "demo article in the block"
    );
    // The navigation lists the enabled plugin.
    assert!(home.body.contains("Blog"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_bodies_are_refused_cleanly() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let path = format!("/e/{PILAT}/blog/new");
    let csrf = teacher.get(&path).await.unwrap().csrf().unwrap();
    let huge = format!("csrf={csrf}&title=t&body={}", "a".repeat(2 << 20));
    // The server answers 413 from the headers and closes: the client may still be
    // writing (broken pipe). A fresh client per try; one answer is enough.
    let mut answered = None;
    for _ in 0..10 {
        let client = server.signed_in("jean.dupont").await.unwrap();
        if let Ok(page) = client
            .post_body(
                &path,
                "application/x-www-form-urlencoded",
                huge.clone().into_bytes(),
            )
            .await
        {
            answered = Some(page.status);
            break;
        }
    }
    assert_eq!(answered, Some(413));
    let mut bad = format!("csrf={csrf}&title=").into_bytes();
    bad.extend_from_slice(&[0xff, 0xfe, 0x80]);
    let page = teacher
        .post_body(&path, "application/x-www-form-urlencoded", bad)
        .await
        .unwrap();
    assert_eq!(page.status, 400);
    assert!(page.body.contains("UTF-8"));
    // Still serving.
    assert_eq!(
        teacher
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_demo_the_first_start_creates_only_the_region_administrator() {
    let data = tempfile::tempdir().unwrap();
    let mut config = preau_tests::test_config(data.path());
    config.demo = false;
    let server = TestServer::start_with(config).await.unwrap();
    let users = server.app.directory().users().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].login, "admin");
    assert!(users[0].region_admin);
    assert!(users[0].password_hash.starts_with("$argon2id$"));
    assert!(server.app.directory().establishments().unwrap().is_empty());
    assert_eq!(
        server
            .client()
            .login("admin", "preau-demo")
            .await
            .unwrap()
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_plugins_are_cached_on_disk() {
    let _server = TestServer::start().await.unwrap();
    let cache = preau_tests::repo_root().join("target/preau-test-cache");
    let cached: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        cached
            .iter()
            .any(|f| f.starts_with("blog-") && f.ends_with(".cwasm")),
        "{cached:?}"
    );
}
