//! The `rss` plugin against a local feed server: every format, hostile and broken
//! feeds, approvals of outbound hosts, conditional GET, scheduled refresh, the
//! three sources of feeds.

use std::time::Duration;

use preau_tests::feed_server::FeedServer;
use preau_tests::{Client, FOREZ, PILAT, TestServer, test_config, unescape};

const MANAGE: &str = "/e/0420003A/rss/flux";

/// Enables the plugin in `uai` and approves 127.0.0.1 there.
async fn set_up(server: &TestServer, uai: &str) -> Client {
    server.enable(uai, "rss").await.unwrap();
    let admin = server.signed_in("admin").await.unwrap();
    let page_url = format!("/admin/e/{uai}/plugins/rss");
    let page = admin
        .post_form(
            &page_url,
            &format!("{page_url}/sorties"),
            &[("scope", "etablissement"), ("hosts", "127.0.0.1")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    admin
}

/// Deletes the establishment's feeds (the demo's point at real sites, which tests
/// must not depend on).
async fn remove_establishment_feeds(manager: &Client) {
    let manage = unescape(&manager.get(MANAGE).await.unwrap().body);
    let links: Vec<String> = manage
        .match_indices("/e/0420003A/rss/flux/etablissement/")
        .map(|(i, _)| manage[i..].chars().take_while(|c| *c != '"').collect())
        .collect();
    for link in links {
        let page = manager.post_form(MANAGE, &link, &[]).await.unwrap();
        assert_eq!(page.status, 303, "{link}");
    }
}

async fn add_feed(client: &Client, url: &str, scope: &str) -> preau_tests::Page {
    client
        .post_form(
            MANAGE,
            MANAGE,
            &[("url", url), ("titre", ""), ("portee", scope)],
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_is_aggregated_and_hostile_content_is_neutralised() {
    let feeds = FeedServer::start().await.unwrap();
    let server = TestServer::start().await.unwrap();
    set_up(&server, PILAT).await;
    let principal = server.signed_in("principal.pilat").await.unwrap();
    for file in [
        "rss091.xml",
        "rss10-rdf.xml",
        "rss20.xml",
        "atom.xml",
        "feed.json",
        "latin1.xml",
        "wrong-encoding.xml",
        "scripts.xml",
        "billion-laughs.xml",
    ] {
        let page = add_feed(
            &principal,
            &feeds.url(&format!("/feeds/{file}")),
            "etablissement",
        )
        .await;
        assert_eq!(page.status, 303, "{file} : {}", page.body);
    }
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let list = pupil.get("/e/0420003A/rss/").await.unwrap();
    assert_eq!(list.status, 200);
    let body = unescape(&list.body);
    for title in [
        "Sortie au musée des Beaux-Arts pour les 4e",
        "Salon de l'apprentissage : rencontrez les CFA de votre région",
        "Brevet 2026 : le calendrier des épreuves est publié",
        "Éducation aux médias",
        "Journée portes ouvertes le samedi 14 mars",
        "Ça bouge au foyer des élèves",
        "Garçons et filles : inscriptions au cross",
        "Résultats du conseil de classe",
    ] {
        assert!(body.contains(title), "{title} absent");
    }
    // No script, handler or dangerous URL from the hostile feed reaches the page.
    let lower = list.body.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "script");
    assert!(
        !lower.contains("onerror") && !lower.contains("onload="),
        "handler"
    );
    assert!(!lower.contains("javascript:") && !lower.contains("vbscript:"));
    assert!(!lower.contains("<iframe") && !lower.contains("<svg") && !lower.contains("<object"));
    assert!(!lower.contains("href=\"data:"));
    // Entities were not expanded.
    assert!(!body.contains("lollollol"));
    // The home page block shows the latest entries too.
    let home = pupil.get("/e/0420003A/").await.unwrap();
    assert!(home.body.contains("Flux RSS"));
    assert!(!home.body.to_ascii_lowercase().contains("<script"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_huge_slow_and_unapproved_feeds_are_refused_with_the_reason() {
    let feeds = FeedServer::start().await.unwrap();
    let server = TestServer::start().await.unwrap();
    set_up(&server, PILAT).await;
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let cases = [
        ("/feeds/broken.xml", "XML invalide ligne 12"),
        ("/feeds/not-a-feed.html", "format non reconnu"),
        ("/huge.xml", "trop volumineu"),
        ("/slow.xml", "délai"),
        ("/status/500", "HTTP 500"),
    ];
    for (path, reason) in cases {
        let page = add_feed(&principal, &feeds.url(path), "etablissement").await;
        assert_eq!(page.status, 422, "{path}");
        assert!(
            unescape(&page.body).contains(reason),
            "{path}: {reason} absent"
        );
    }
    // Nothing was saved.
    let manage = principal.get(MANAGE).await.unwrap();
    assert!(!manage.body.contains("broken.xml"));
    // A host nobody approved is never contacted (localhost is not 127.0.0.1).
    let url = format!("http://localhost:{}/feeds/rss20.xml", feeds.addr.port());
    let page = add_feed(&principal, &url, "etablissement").await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("n'a pas été autorisé par un administrateur"));
    assert_eq!(feeds.hits("/feeds/rss20.xml"), 0);
    // Not an http(s) URL.
    let page = add_feed(&principal, "file:///etc/passwd", "etablissement").await;
    assert_eq!(page.status, 422);
    // A pupil cannot add establishment feeds (server-side).
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let page = add_feed(&pupil, &feeds.url("/feeds/rss20.xml"), "etablissement").await;
    assert_eq!(page.status, 403);
    // The approvals form checks every line.
    let admin = server.signed_in("admin").await.unwrap();
    let page = admin
        .post_form(
            "/admin/e/0420003A/plugins/rss",
            "/admin/e/0420003A/plugins/rss/sorties",
            &[("scope", "etablissement"), ("hosts", "ok.fr\n*")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Ligne 2"));
    // An establishment administrator cannot change the region's list.
    let page = principal
        .post_form(
            "/admin/e/0420003A/plugins/rss",
            "/admin/e/0420003A/plugins/rss/sorties",
            &[("scope", "region"), ("hosts", "example.org")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403);
}

/// Issue 23: the feeds that once came back « à jour » with nothing, or were
/// refused whole for one odd element, show their items; the ones that cannot
/// be read say why, in French.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_formats_relative_links_and_odd_types_show_their_items_or_say_why() {
    let feeds = FeedServer::start().await.unwrap();
    let server = TestServer::start().await.unwrap();
    set_up(&server, PILAT).await;
    let principal = server.signed_in("principal.pilat").await.unwrap();
    remove_establishment_feeds(&principal).await;
    for file in [
        "atom03.xml",
        "rss090.xml",
        "rss20-userland.xml",
        "rss20-prefixed.xml",
        "rss10-no-link.xml",
        "relative-links.xml",
        "atom-xml-base.xml",
        "odd-types.xml",
        "entities.xml",
        "windows-1251-underscore.xml",
    ] {
        let page = add_feed(
            &principal,
            &feeds.url(&format!("/feeds/{file}")),
            "etablissement",
        )
        .await;
        assert_eq!(page.status, 303, "{file} : {}", page.body);
    }
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let list = pupil.get("/e/0420003A/rss/").await.unwrap();
    assert_eq!(list.status, 200);
    let body = unescape(&list.body);
    for title in [
        "Prix des Incorruptibles : les votes sont ouverts",
        "Menus de la cantine de décembre",
        "Cross départemental : 24 qualifiés",
        "Audition de Noël des élèves de 5e CHAM",
        "Permanence du CVL jeudi à la pause méridienne",
        "Classe découverte en Vercors",
        "Carnaval : les costumes",
        "Calendrier des vacances 2026-2027",
        "Produit scalaire ⟨u, v⟩ – fiche d’exercices",
        "Олимпиада по русскому языку",
    ] {
        assert!(body.contains(title), "{title} absent");
    }
    // Relative links resolved against the feed's address, xml:base and guid.
    for link in [
        feeds.url("/relative/uri"),
        feeds.url("/spectacle-2026"),
        "https://tilleuls.example.org/cp/jardin.html".to_owned(),
        "https://maternelle.example.org/autres/carnaval".to_owned(),
        "https://ent-lycee.example.org/cvl/elections".to_owned(),
    ] {
        assert!(body.contains(&format!("href=\"{link}\"")), "{link} absent");
    }
    assert!(!body.contains("JVBERi0"), "the binary content is not shown");
    // The administrator sees what was left out, and the readers do not.
    let manage = unescape(&principal.get(MANAGE).await.unwrap().body);
    assert!(
        manage.contains("1 élément illisible, ignoré ou lu comme du texte brut"),
        "{manage}"
    );
    assert!(
        manage.contains("5 éléments illisibles, ignorés"),
        "{manage}"
    );
    assert!(!unescape(&pupil.get(MANAGE).await.unwrap().body).contains("illisible"));
    // Nothing to show, or nothing readable: refused with the reason.
    for (file, reason) in [
        (
            "empty-channel.xml",
            "flux vide : il ne contient aucun article",
        ),
        ("rss093-empty.xml", "flux vide"),
        ("koi8-t.xml", "encodage inconnu : koi8-t"),
        ("cp850.xml", "encodage inconnu : cp850"),
        ("cdf.xml", "format non reconnu : CDF"),
    ] {
        let page = add_feed(
            &principal,
            &feeds.url(&format!("/feeds/{file}")),
            "etablissement",
        )
        .await;
        assert_eq!(page.status, 422, "{file}");
        let page = unescape(&page.body);
        assert!(
            page.contains(&format!("Ce flux ne peut pas être lu : {reason}")),
            "{file}: {reason} absent"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_refresh_uses_conditional_get_dedupes_and_reports_errors() {
    let feeds = FeedServer::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    config.tick_interval = Some(Duration::from_millis(300));
    let server = TestServer::start_with(config).await.unwrap();
    let admin = set_up(&server, PILAT).await;
    // Refresh at every tick.
    let page = admin
        .post_form(
            "/admin/e/0420003A/plugins/rss",
            "/admin/e/0420003A/plugins/rss",
            &[
                ("rafraichissement_minutes", "0"),
                ("entrees_dans_le_bloc", "6"),
                ("flux_personnels", "true"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let item = |guid: &str, title: &str| {
        format!(
            "<item><guid>{guid}</guid><title>{title}</title><link>https://example.org/{guid}</link><pubDate>Mon, 0{} Nov 2026 08:00:00 GMT</pubDate></item>",
            guid.len()
        )
    };
    let rss = |items: &str| {
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Fil</title><link>https://example.org/</link>{items}</channel></rss>").into_bytes()
    };
    feeds.set_body(
        "/dyn.xml",
        rss(&(item("a", "Premier") + &item("bb", "Deuxième"))),
        "application/rss+xml",
    );
    let principal = server.signed_in("principal.pilat").await.unwrap();
    remove_establishment_feeds(&principal).await;
    assert!(!principal.get(MANAGE).await.unwrap().body.contains("DANE"));
    let page = add_feed(&principal, &feeds.url("/dyn.xml"), "etablissement").await;
    assert_eq!(page.status, 303, "{}", page.body);

    // Ticks re-read the feed with If-None-Match: 304 while it does not change.
    wait_for(|| feeds.not_modified("/dyn.xml") >= 1).await;
    // A new entry and a corrected one: after a tick, three entries, no duplicate.
    feeds.set_body(
        "/dyn.xml",
        rss(&(item("a", "Premier (corrigé)")
            + &item("bb", "Deuxième")
            + &item("ccc", "Troisième"))),
        "application/rss+xml",
    );
    let hits = feeds.hits("/dyn.xml");
    wait_for(|| feeds.hits("/dyn.xml") > hits + 1).await;
    let list = unescape(&principal.get("/e/0420003A/rss/").await.unwrap().body);
    assert!(list.contains("Troisième") && list.contains("Premier (corrigé)"));
    assert_eq!(list.matches("Deuxième").count(), 1, "deduplicated");
    assert!(
        !list.contains(">Premier<"),
        "the corrected entry replaced the old one"
    );

    // The feed breaks: the administrator sees why, readers keep the last entries.
    feeds.set_body(
        "/dyn.xml",
        b"<rss><channel><item></channel></rss>".to_vec(),
        "application/rss+xml",
    );
    let hits = feeds.hits("/dyn.xml");
    wait_for(|| feeds.hits("/dyn.xml") > hits + 1).await;
    let manage = unescape(&principal.get(MANAGE).await.unwrap().body);
    assert!(manage.contains("XML invalide ligne 1"), "{manage}");
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let list = pupil.get("/e/0420003A/rss/").await.unwrap();
    assert_eq!(list.status, 200);
    assert!(unescape(&list.body).contains("Troisième"));
    // Readers do not see the administrators' error states.
    assert!(!unescape(&pupil.get(MANAGE).await.unwrap().body).contains("XML invalide"));
}

async fn wait_for(condition: impl Fn() -> bool) {
    for _ in 0..100 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition jamais remplie en 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_establishment_and_personal_feeds_reach_the_right_people() {
    let feeds = FeedServer::start().await.unwrap();
    let server = TestServer::start().await.unwrap();
    let region_admin = set_up(&server, PILAT).await;
    set_up(&server, FOREZ).await;
    // The region administrator adds a project feed: every establishment reads it.
    let page = region_admin
        .post_form(
            MANAGE,
            MANAGE,
            &[
                ("url", &feeds.url("/feeds/rss20.xml")),
                ("titre", "Académie"),
                ("portee", "projet"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let forez_teacher = server.signed_in("lucie.bernard").await.unwrap();
    let list = forez_teacher
        .get(&format!("/e/{FOREZ}/rss/"))
        .await
        .unwrap();
    assert!(
        unescape(&list.body).contains("Brevet 2026"),
        "project feed in Forez"
    );
    // Establishment administrators cannot add or delete project feeds.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let page = add_feed(&principal, &feeds.url("/feeds/atom.xml"), "projet").await;
    assert_eq!(page.status, 403);
    // A pupil's personal feed is theirs alone.
    let emma = server.signed_in("emma.martin").await.unwrap();
    let page = add_feed(&emma, &feeds.url("/feeds/feed.json"), "personnel").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mine = unescape(&emma.get("/e/0420003A/rss/").await.unwrap().body);
    assert!(mine.contains("Journée portes ouvertes"));
    let other = server.signed_in("tom.martin").await.unwrap();
    let theirs = unescape(&other.get("/e/0420003A/rss/").await.unwrap().body);
    assert!(!theirs.contains("Journée portes ouvertes"));
    assert!(theirs.contains("Brevet 2026"));
    // Another pupil cannot delete it, even knowing its id.
    let manage = unescape(&emma.get(MANAGE).await.unwrap().body);
    let start = manage
        .find("/e/0420003A/rss/flux/personnel/")
        .expect("lien de suppression");
    let delete: String = manage[start..].chars().take_while(|c| *c != '"').collect();
    let page = other.post_form(MANAGE, &delete, &[]).await.unwrap();
    assert_eq!(page.status, 403);
    let page = emma.post_form(MANAGE, &delete, &[]).await.unwrap();
    assert_eq!(page.status, 303);
    let mine = unescape(&emma.get("/e/0420003A/rss/").await.unwrap().body);
    assert!(!mine.contains("Journée portes ouvertes"));
}
