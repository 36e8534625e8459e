use std::time::{Duration, Instant};

use preau_tests::{Client, PILAT, TestServer};

async fn with_hostile_plugin() -> (TestServer, Client) {
    let server = TestServer::start().await.unwrap();
    server.enable(PILAT, "hostile").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    (server, pupil)
}

fn hostile(path: &str) -> String {
    format!("/e/{PILAT}/hostile{path}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_is_contained_to_its_own_request() {
    let (_server, pupil) = with_hostile_plugin().await;
    assert_eq!(pupil.get(&hostile("/ok")).await.unwrap().status, 200);

    // Before the plugin exhausts its time or memory: afterwards its calls run on
    // the low-priority penalty lane, where building the huge answer on a loaded
    // machine can meet the deadline (503) before the output cap (500).
    assert_eq!(pupil.get(&hostile("/panic")).await.unwrap().status, 500);
    assert_eq!(pupil.get(&hostile("/huge")).await.unwrap().status, 500);

    let started = Instant::now();
    let looping = pupil.get(&hostile("/loop")).await.unwrap();
    assert_eq!(looping.status, 503);
    assert!(looping.body.contains("pas pu répondre à temps"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "deadline enforced"
    );

    assert_eq!(pupil.get(&hostile("/memory")).await.unwrap().status, 503);
    let recursion = pupil.get(&hostile("/recursion")).await.unwrap().status;
    assert!(recursion == 500 || recursion == 503, "{recursion}");

    // Still serving, the same plugin included.
    assert_eq!(pupil.get(&hostile("/ok")).await.unwrap().status, 200);
    assert_eq!(
        pupil
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .status,
        200
    );
    // A block that panics does not break the home page.
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert_eq!(home.status, 200);
    assert!(home.body.contains("momentanément indisponible"));
    assert!(home.body.contains("Derniers articles"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn others_are_served_while_a_plugin_loops() {
    let (_server, pupil) = with_hostile_plugin().await;
    let loops: Vec<_> = (0..4)
        .map(|_| {
            let client = pupil.clone();
            tokio::spawn(async move { client.get(&hostile("/loop")).await.unwrap().status })
        })
        .collect();
    for _ in 0..10 {
        let page = pupil.get(&format!("/e/{PILAT}/blog/")).await.unwrap();
        assert_eq!(page.status, 200);
    }
    for handle in loops {
        assert_eq!(handle.await.unwrap(), 503);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_exhausts_its_budget_goes_on_the_penalty_lane() {
    let (server, pupil) = with_hostile_plugin().await;
    let runtime = server.app.runtime();
    assert_eq!(pupil.get(&hostile("/panic")).await.unwrap().status, 500);
    assert!(!runtime.on_probation("hostile"), "a panic costs nothing");
    assert_eq!(pupil.get(&hostile("/loop")).await.unwrap().status, 503);
    assert!(runtime.on_probation("hostile"));
    // Still served, on the lane; the others are not affected.
    assert_eq!(pupil.get(&hostile("/ok")).await.unwrap().status, 200);
    assert!(!runtime.on_probation("blog"));
    assert_eq!(
        pupil
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .status,
        200
    );
}

/// No GET changes state, the plugins' included: while a plugin answers a GET or
/// renders a block, each write it tries (store, batch, conditional batch, region
/// store) fails with an error the plugin sees, and nothing is stored; a POST writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cannot_write_while_it_answers_a_get_or_renders_a_block() {
    let (server, pupil) = with_hostile_plugin().await;
    let store = server.app.directory().store();
    let writes = || store.write_count().expect("le moteur compte ses écritures");
    let before = writes();
    let page = pupil.get(&hostile("/ecrire")).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let said: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    for kind in [
        "put",
        "delete",
        "batch",
        "batch_if",
        "region_put",
        "region_delete",
    ] {
        assert_eq!(said[kind], preau_host::runtime::READ_ONLY, "{kind}: {said}");
    }
    // The home page renders the hostile block, which tries to write, then panics.
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert_eq!(home.status, 200);
    assert!(home.body.contains("momentanément indisponible"));
    assert_eq!(writes(), before, "nothing written during the GETs");
    let stored = |key: &'static str| {
        let pupil = &pupil;
        async move {
            let path = format!("{}?key={key}", hostile("/store/k"));
            let seen = pupil.get(&path).await.unwrap();
            serde_json::from_str::<serde_json::Value>(&seen.body).unwrap()["found"] == true
        }
    };
    for key in ["lecture/put", "lecture/lot", "lecture/si", "bloc/ecrit"] {
        assert!(!stored(key).await, "{key}");
    }
    // A POST writes.
    let csrf = pupil.get(&hostile("/ok")).await.unwrap().csrf().unwrap();
    let path = format!("{}?key=lecture/put", hostile("/store/k"));
    let page = pupil.post_raw(&path, &[("csrf", &csrf)]).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(stored("lecture/put").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasi_gives_no_files_no_environment_no_sockets_and_keys_stay_in_their_namespace() {
    let (server, pupil) = with_hostile_plugin().await;
    let probe = pupil.get(&hostile("/sandbox")).await.unwrap();
    assert_eq!(probe.status, 200);
    let probe: serde_json::Value = serde_json::from_str(&probe.body).unwrap();
    assert_eq!(probe["file"], false);
    assert_eq!(probe["dir"], false);
    assert_eq!(probe["env_vars"], 0);
    assert_eq!(probe["socket"], false);

    // The blog's data of this establishment lives at "0420003A/blog/…": the
    // hostile plugin's keys are prefixed with "0420003A/hostile/", so no key it
    // can write names the blog's.
    let csrf = pupil.get(&hostile("/ok")).await.unwrap().csrf().unwrap();
    for key in ["../blog/post~x", "/../../0420003A/blog/x", "%2e%2e"] {
        let path = format!(
            "{}?key={}",
            hostile("/store/k"),
            preau_tests::url_encode(&[("", key)]).trim_start_matches('=')
        );
        assert_eq!(
            pupil
                .post_raw(&path, &[("csrf", &csrf)])
                .await
                .unwrap()
                .status,
            200
        );
    }
    let seen = pupil.get(&hostile("/store/k?key=post/")).await.unwrap();
    let seen: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    let visible: Vec<String> = serde_json::from_value(seen["visible_keys"].clone()).unwrap();
    assert!(
        visible.iter().all(|k| !k.starts_with("post")),
        "no blog keys visible: {visible:?}"
    );
    assert_eq!(seen["found"], false);
    // The blog is untouched.
    let blog = pupil.get(&format!("/e/{PILAT}/blog/")).await.unwrap();
    assert!(blog.body.contains("Bienvenue"));
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_template_cannot_send_the_visitor_elsewhere() {
    let (_server, pupil) = with_hostile_plugin().await;
    let page = pupil.get(&hostile("/piege")).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("piège tendu"), "{}", page.body);
    for gone in [
        "http-equiv",
        "<base",
        "onmouseover",
        "javascript:",
        "evil.example",
    ] {
        assert!(!page.body.contains(gone), "{gone} :\n{}", page.body);
    }
    // The page itself is whole: its link and form are there, made harmless.
    assert!(
        page.body.contains(r##"id="lien" href="#""##),
        "{}",
        page.body
    );
    assert!(page.body.contains(r##"action="#""##), "{}", page.body);

    // The same markup in a home-page block, guarded when rendered, first and
    // from the fragment cache.
    for _ in 0..2 {
        let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
        assert!(home.body.contains("Bloc piège tendu"), "{}", home.body);
        for gone in [
            "http-equiv",
            "<base",
            "onmouseover",
            "javascript:",
            "evil.example",
        ] {
            assert!(!home.body.contains(gone), "{gone} :\n{}", home.body);
        }
        assert!(home.body.contains(r##"id="lien-bloc" href="#""##));
    }
}
