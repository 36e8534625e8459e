//! The fragment cache: a home-page block is rendered once per audience and
//! shown again until what it was rendered from changes. An acknowledged write
//! is never followed by the block from before it, a personal block never
//! reaches another person (nor their CSRF token), and a right taken away, a
//! plugin disabled or a change of rights on one of its objects take effect on
//! the next view.

use std::sync::atomic::Ordering;

use preau_host::store::usage;
use preau_tests::{Client, PILAT, TestServer, unescape};

fn home() -> String {
    format!("/e/{PILAT}/")
}

/// The echo plugin enabled: its two test blocks are on the home page (by
/// default, every enabled plugin's blocks are).
async fn with_echo_blocks() -> (TestServer, Client) {
    let server = TestServer::start().await.unwrap();
    server.enable(PILAT, "echo").await.unwrap();
    let admin = server.signed_in("admin").await.unwrap();
    let home_admin = admin
        .get(&format!("/admin/e/{PILAT}/accueil"))
        .await
        .unwrap();
    for block in ["echo&#x2f;salut", "echo&#x2f;compte"] {
        assert!(home_admin.body.contains(block), "bloc {block} absent");
    }
    (server, admin)
}

fn hits(server: &TestServer) -> u64 {
    server.app.fragments().hits.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_is_seen_on_the_next_view_and_personal_blocks_stay_personal() {
    let (server, _) = with_echo_blocks().await;
    let emma = server.signed_in("emma.martin").await.unwrap();
    let jean = server.signed_in("jean.dupont").await.unwrap();

    // Write, then read back through the home page, in a tight loop: the block
    // always shows the write just acknowledged.
    for i in 1..=15 {
        let csrf = emma.get(&home()).await.unwrap().csrf().unwrap();
        let counted = emma
            .post_raw(&format!("/e/{PILAT}/echo/compteur"), &[("csrf", &csrf)])
            .await
            .unwrap();
        assert_eq!(counted.body, i.to_string());
        let page = unescape(&emma.get(&home()).await.unwrap().body);
        assert!(
            page.contains(&format!("Compteur : {i}")),
            "après l'écriture {i}"
        );
        assert!(page.contains(&format!("Bonjour Emma Martin ({i})")));
    }

    // Nothing changed: the blocks come from the cache, for everyone their own.
    let csrf_fields = regex::Regex::new(r#"name="csrf" value="([^"]+)""#).unwrap();
    let before = hits(&server);
    for _ in 0..5 {
        for (client, name, other) in [
            (&emma, "Emma Martin", "Jean Dupont"),
            (&jean, "Jean Dupont", "Emma Martin"),
        ] {
            let page = client.get(&home()).await.unwrap();
            let text = unescape(&page.body);
            assert!(text.contains(&format!("Bonjour {name} (15)")), "{text}");
            assert!(
                !text.contains(&format!("Bonjour {other}")),
                "bloc d'un autre"
            );
            assert!(text.contains("Compteur : 15"));
            // Every CSRF token of the page, the cached form's included, is the viewer's.
            let csrf = page.csrf().unwrap();
            let tokens: Vec<_> = csrf_fields
                .captures_iter(&page.body)
                .map(|c| c[1].to_string())
                .collect();
            assert!(tokens.len() >= 2, "le formulaire du bloc a son jeton");
            assert!(tokens.iter().all(|t| *t == csrf), "{tokens:?}");
        }
    }
    assert!(
        hits(&server) >= before + 15,
        "les vues sans écriture sont servies du cache ({} → {})",
        before,
        hits(&server)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_taken_away_and_a_disabled_plugin_hide_cached_blocks_at_once() {
    let (server, admin) = with_echo_blocks().await;
    let emma = server.signed_in("emma.martin").await.unwrap();
    let jean = server.signed_in("jean.dupont").await.unwrap();
    // Links to the plugin: in the navigation and in « Mes services ».
    let echo_link = format!("href=\"/e/{PILAT}/echo/\"");
    let echo_links = |text: &str| text.matches(&echo_link).count();
    let mut links = 0;
    for _ in 0..2 {
        let text = unescape(&emma.get(&home()).await.unwrap().body);
        assert!(text.contains("Bonjour Emma Martin"));
        links = echo_links(&text);
    }
    assert!(links >= 1, "lien vers le service");

    // Pupils lose the plugin's role: the next view has no echo block for them.
    let rights = format!("/admin/e/{PILAT}/plugins/echo/droits");
    let page = admin
        .post_form(
            &rights,
            &rights,
            &[
                ("tab", "populations"),
                ("grant", "profil:enseignant|utilisateur"),
                ("grant", "profil:parent|utilisateur"),
                ("grant", "profil:personnel|utilisateur"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let text = unescape(&emma.get(&home()).await.unwrap().body);
    assert!(!text.contains("Bonjour Emma"), "droit retiré : bloc caché");
    assert!(!text.contains("Compteur :"));
    // The navigation, kept per person until the configuration changes, too.
    // Nor in its navigation or « Mes services »: they may not open it any more.
    assert_eq!(echo_links(&text), 0, "droit retiré : liens cachés");
    let text = unescape(&jean.get(&home()).await.unwrap().body);
    assert!(text.contains("Bonjour Jean Dupont"));
    assert_eq!(echo_links(&text), links);

    // Rights on one of the plugin's objects move its version on: what was
    // rendered with the old rights is not shown again.
    let store = server.app.directory().store();
    let version = usage::rights_version(store, PILAT, "echo").unwrap();
    let object = format!("/admin/e/{PILAT}/plugins/echo/droits/objet/objet-1");
    let page = admin
        .post_form(
            &format!("{object}?onglet=utilisateurs"),
            &object,
            &[
                ("tab", "utilisateurs"),
                ("login", "jean.dupont"),
                ("role", "gestionnaire"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(usage::rights_version(store, PILAT, "echo").unwrap() > version);

    // Disabled: gone for everyone on the next view.
    let toggle = format!("/admin/e/{PILAT}/plugins/echo/toggle");
    let page = admin.post_form("/admin/", &toggle, &[]).await.unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let text = unescape(&jean.get(&home()).await.unwrap().body);
    assert!(!text.contains("Bonjour Jean"));
    assert_eq!(echo_links(&text), 0, "service désactivé : liens cachés");
}

/// Publishes an article in the blog mounted at `blog` (`/e/…/blog` or a
/// rubrique's), as `author`.
async fn publish(author: &Client, blog: &str, title: &str) {
    let new_article = format!("{blog}/new");
    let csrf = author.get(&new_article).await.unwrap().csrf().unwrap();
    let published = author
        .post_raw(
            &new_article,
            &[
                ("title", title),
                ("body", "<p>Texte.</p>"),
                ("publish", "on"),
                ("csrf", &csrf),
            ],
        )
        .await
        .unwrap();
    assert_eq!(published.status, 303, "{}", published.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_re_renders_only_what_shows_its_namespace() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let calls = || server.app.runtime().call_metrics.total();
    pupil.get(&home()).await.unwrap();
    let before = calls();
    pupil.get(&home()).await.unwrap();
    assert_eq!(calls(), before, "page en cache");

    // A rubrique's blog has its own namespace: only its news are asked again,
    // not the other rubriques' nor the establishment's blog block.
    publish(
        &principal,
        &format!("/e/{PILAT}/r/actualites/blog"),
        "Cross du collège",
    )
    .await;
    let before = calls();
    let page = unescape(&pupil.get(&home()).await.unwrap().body);
    assert!(
        page.contains("Cross du collège"),
        "l'article de la rubrique"
    );
    assert_eq!(calls() - before, 1, "seules les actualités de la rubrique");

    // The establishment's blog: its block only, no rubrique's news.
    publish(
        &principal,
        &format!("/e/{PILAT}/blog"),
        "Menu de la cantine",
    )
    .await;
    let before = calls();
    let page = unescape(&pupil.get(&home()).await.unwrap().body);
    assert!(page.contains("Menu de la cantine"), "l'article du blog");
    assert_eq!(calls() - before, 1, "seul le bloc du blog");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_page_runs_its_plugin_calls_in_one_blocking_task() {
    let (server, _) = with_echo_blocks().await;
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let calls = || server.app.runtime().call_metrics.total();
    let tasks = || server.app.runtime().blocking_tasks.load(Ordering::Relaxed);
    // Nothing cached yet: every block and every rubrique's news is a call.
    let (calls_before, tasks_before) = (calls(), tasks());
    let page = pupil.get(&home()).await.unwrap();
    assert_eq!(page.status, 200);
    let (made, started) = (calls() - calls_before, tasks() - tasks_before);
    println!("page d'accueil froide : {made} appels de plugins, {started} tâche(s) bloquante(s)");
    assert!(made >= 4, "{made} appels");
    assert_eq!(started, 1, "{started} tâches pour {made} appels");
    // Each call's answer is on the page, in its own block.
    let text = unescape(&page.body);
    for title in ["Derniers articles", "Bonjour Emma Martin", "Compteur : 0"] {
        assert!(text.contains(title), "{title} manque");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_home_page_runs_no_plugin_and_says_how_many_store_reads_it_makes() {
    let server = TestServer::start().await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    pupil.get(&home()).await.unwrap();
    let store = server.app.directory().store();
    let calls = || server.app.runtime().call_metrics.total();
    let (reads, plugin_calls) = (store.read_count().unwrap(), calls());
    assert_eq!(pupil.get(&home()).await.unwrap().status, 200);
    let reads = store.read_count().unwrap() - reads;
    assert_eq!(
        calls(),
        plugin_calls,
        "no plugin ran for a cached home page"
    );
    println!("lectures du magasin pour une page d'accueil en cache : {reads}");
    // Issue 16 wants ≤ 10. The session, the person and their unread count
    // (3 today); the establishment, its settings, the grants and the version
    // counters are kept in memory by the store once read (79 before).
    assert!(reads <= 10, "{reads} lectures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_or_home_page_change_is_seen_on_the_next_view() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    // The number of article links in the blog's block.
    let articles_in_block = |body: &str| {
        let text = unescape(body);
        let start = text.find("Derniers articles").expect("bloc du blog");
        let block = &text[start..];
        let end = block.find("</section>").unwrap_or(block.len());
        block[..end]
            .matches(&format!("href=\"/e/{PILAT}/blog/"))
            .count()
    };
    let before = articles_in_block(&pupil.get(&home()).await.unwrap().body);
    assert!(before >= 2, "{before} articles");
    // Twice: the second view comes from the cache.
    assert_eq!(
        articles_in_block(&pupil.get(&home()).await.unwrap().body),
        before
    );

    // The blog's configuration: one article in its block, on the next view.
    let url = format!("/admin/e/{PILAT}/plugins/blog");
    let saved = principal
        .post_form(
            &url,
            &url,
            &[
                ("titre", "Notre blog"),
                ("articles_par_page", "10"),
                ("articles_dans_le_bloc", "1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(articles_in_block(&pupil.get(&home()).await.unwrap().body) < before);

    // The home page's blocks: the blog's removed, gone on the next view.
    let home_admin = format!("/admin/e/{PILAT}/accueil");
    let removed = principal
        .post_form(
            &home_admin,
            &home_admin,
            &[("action", "remove"), ("block", "blog/derniers-articles")],
        )
        .await
        .unwrap();
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(!unescape(&pupil.get(&home()).await.unwrap().body).contains("Derniers articles"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anonymous_home_page_is_kept_whole_until_something_changes() {
    let server = TestServer::start().await.unwrap();
    let calls = || server.app.runtime().call_metrics.total();
    let store = server.app.directory().store();
    let first = server.client();
    let page = first.get(&home()).await.unwrap();
    assert_eq!(page.status, 200);
    let titles = |body: &str| {
        let text = unescape(body);
        text.matches("<h2").count()
    };
    let blocks = titles(&page.body);
    assert!(blocks >= 1, "{}", page.body);

    // Another visitor: the same page from the cache, no plugin run, no store
    // read, and their own token in every form.
    let (before, reads) = (calls(), store.read_count().unwrap());
    let second = server.client();
    let again = second.get(&home()).await.unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(calls(), before, "page anonyme en cache : aucun plugin");
    assert_eq!(store.read_count().unwrap() - reads, 0, "aucune lecture");
    assert_eq!(titles(&again.body), blocks);
    assert!(!again.body.contains(preau_host::fragments::CSRF_PLACEHOLDER));
    let tokens = |page: &preau_tests::Page| {
        regex::Regex::new(r#"name="csrf" value="([^"]+)""#)
            .unwrap()
            .captures_iter(&page.body)
            .map(|c| c[1].to_string())
            .collect::<Vec<_>>()
    };
    for token in tokens(&again) {
        assert_eq!(
            Some(token),
            second.cookie("preau_csrf"),
            "le jeton du visiteur"
        );
    }

    // The principal publishes in a public rubrique: the next anonymous view
    // shows it in the news (a plugin namespace of the rubrique changed).
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let new_article = format!("/e/{PILAT}/r/actualites/blog/new");
    let csrf = principal.get(&new_article).await.unwrap().csrf().unwrap();
    let title = "Portes ouvertes samedi";
    let published = principal
        .post_raw(
            &new_article,
            &[
                ("title", title),
                ("body", "<p>De 9 h à 12 h.</p>"),
                ("publish", "on"),
                ("csrf", &csrf),
            ],
        )
        .await
        .unwrap();
    assert_eq!(published.status, 303, "{}", published.body);
    assert!(unescape(&second.get(&home()).await.unwrap().body).contains(title));

    // The home page's blocks changed (a setting): seen on the next view.
    let home_admin = format!("/admin/e/{PILAT}/accueil");
    let removed = principal
        .post_form(
            &home_admin,
            &home_admin,
            &[("action", "remove"), ("block", "mes-services")],
        )
        .await
        .unwrap();
    assert_eq!(removed.status, 303, "{}", removed.body);
    let after = first.get(&home()).await.unwrap();
    assert!(!unescape(&after.body).contains(">Mes services</h2>"));
    assert_eq!(titles(&after.body), blocks - 1);
}
