//! The contract's imports through the real host, probed by the `echo` test plugin:
//! rights per object (scopes) and their « Droits d'accès » page, notifications,
//! groups, conditional batches under concurrency, and one service's object
//! embedded in another's content.

use preau_tests::{Client, FOREZ, PILAT, TestServer, unescape};

fn echo(path: &str) -> String {
    format!("/e/{PILAT}/echo{path}")
}

fn object_rights(object: &str) -> String {
    format!("/admin/e/{PILAT}/plugins/echo/droits/objet/{object}")
}

async fn roles(client: &Client, object: &str) -> Vec<String> {
    let page = client
        .get(&echo(&format!("/roles/{object}")))
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    serde_json::from_str(&page.body).unwrap()
}

async fn grant_person(client: &Client, object: &str, login: &str, role: &str) {
    let url = object_rights(object);
    let page = client
        .post_form(
            &format!("{url}?onglet=utilisateurs"),
            &url,
            &[("tab", "utilisateurs"), ("login", login), ("role", role)],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
}

async fn with_echo() -> TestServer {
    let server = TestServer::start().await.unwrap();
    server.enable(PILAT, "echo").await.unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_get_the_establishments_time_zone() {
    let server = with_echo().await;
    let jean = server.signed_in("jean.dupont").await.unwrap();
    // The echo page shows `<time zone> <local day>` (autoescape writes `/` as `&#x2f;`).
    let zone_and_day = |body: &str| {
        let body = body.replace("&#x2f;", "/");
        let start = body.find("<p id=\"fuseau\">").expect("fuseau") + "<p id=\"fuseau\">".len();
        let end = start + body[start..].find("</p>").expect("fin");
        body[start..end].to_string()
    };
    let page = jean.get(&echo("/fuseau")).await.unwrap();
    assert!(zone_and_day(&page.body).starts_with("Europe/Paris "));
    // An overseas establishment: the plugin sees its zone and its local day.
    let directory = server.app.directory();
    let mut pilat = directory.establishment(PILAT).unwrap().unwrap();
    pilat.time_zone = "Pacific/Noumea".into();
    directory.put_establishment(&pilat).unwrap();
    let page = jean.get(&echo("/fuseau")).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let today = preau_text::TimeZone::named("Pacific/Noumea")
        .unwrap()
        .date(now)
        .iso();
    assert_eq!(zone_and_day(&page.body), format!("Pacific/Noumea {today}"));
    // A name that is not a time zone is refused, in French.
    pilat.time_zone = "Europe/Pariss".into();
    let error = directory.put_establishment(&pilat).unwrap_err().to_string();
    assert!(
        error.contains("n'est pas un fuseau horaire connu"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_on_an_object_replace_the_services_and_its_managers_may_set_them() {
    let server = with_echo().await;
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let jean = server.signed_in("jean.dupont").await.unwrap();
    let marie = server.signed_in("marie.lefebvre").await.unwrap();
    let emma = server.signed_in("emma.martin").await.unwrap();

    // No rights set on the object: the service's apply.
    assert_eq!(roles(&jean, "objet-1").await, ["utilisateur"]);
    // Only administrators and the service's managers reach the object's rights page.
    assert_eq!(
        jean.get(&object_rights("objet-1")).await.unwrap().status,
        403
    );
    assert_eq!(
        emma.get(&object_rights("objet-1")).await.unwrap().status,
        403
    );
    assert_eq!(
        server
            .client()
            .get(&object_rights("objet-1"))
            .await
            .unwrap()
            .status,
        303
    );
    let page = principal.get(&object_rights("objet-1")).await.unwrap();
    assert_eq!(page.status, 200);
    let text = unescape(&page.body);
    assert!(text.contains("Objet n° 1"), "the plugin names the object");
    assert!(text.contains("suit pour l'instant les droits du service"));
    // An object the plugin does not know, or an invalid scope id: 404.
    assert_eq!(
        principal
            .get(&object_rights("inconnu"))
            .await
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        principal
            .get(&object_rights("Objet_1"))
            .await
            .unwrap()
            .status,
        404
    );

    grant_person(&principal, "objet-1", "jean.dupont", "gestionnaire").await;
    // The object's own rights decide: Jean manages it, Marie (teacher) has no role on it…
    assert_eq!(roles(&jean, "objet-1").await, ["gestionnaire"]);
    assert!(roles(&marie, "objet-1").await.is_empty());
    // …and other objects still follow the service.
    assert_eq!(roles(&marie, "objet-2").await, ["utilisateur"]);
    // Administrators hold every role everywhere.
    assert_eq!(
        roles(&principal, "objet-1").await,
        ["utilisateur", "gestionnaire"]
    );

    // A manager of the object may now set its rights, by population too.
    assert_eq!(
        jean.get(&object_rights("objet-1")).await.unwrap().status,
        200
    );
    assert_eq!(
        marie.get(&object_rights("objet-1")).await.unwrap().status,
        403
    );
    let url = object_rights("objet-1");
    let page = jean
        .post_form(
            &url,
            &url,
            &[
                ("tab", "populations"),
                ("grant", "profil:enseignant|utilisateur"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(roles(&marie, "objet-1").await, ["utilisateur"]);
    assert!(
        roles(&emma, "objet-1").await.is_empty(),
        "pupils were not granted"
    );
    // Someone who may not manage it cannot post either, and nothing changes.
    let page = marie
        .post_form(
            &echo("/"),
            &url,
            &[
                ("tab", "populations"),
                ("grant", "profil:eleve|gestionnaire"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    assert!(roles(&emma, "objet-1").await.is_empty());

    // The object's parts inherit: its manager manages them too; no one else does.
    assert_eq!(
        jean.get(&object_rights("objet-1-2")).await.unwrap().status,
        200
    );
    assert_eq!(
        marie.get(&object_rights("objet-1-2")).await.unwrap().status,
        403
    );
    // A manager of the whole service does not manage an object whose own rights leave
    // them out (the plugin would not let them either), but does the others.
    let service_rights = format!("/admin/e/{PILAT}/plugins/echo/droits");
    let page = principal
        .post_form(
            &format!("{service_rights}?onglet=utilisateurs"),
            &service_rights,
            &[
                ("tab", "utilisateurs"),
                ("login", "marie.lefebvre"),
                ("role", "gestionnaire"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(
        marie.get(&object_rights("objet-2")).await.unwrap().status,
        200
    );
    assert_eq!(
        marie.get(&object_rights("objet-1")).await.unwrap().status,
        403
    );
    // Only administrators learn that an object does not exist.
    assert_eq!(
        jean.get(&object_rights("inconnu")).await.unwrap().status,
        403
    );

    // Back to the service's rights.
    let page = principal
        .post_form(&url, &url, &[("tab", "heritage")])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(roles(&jean, "objet-1").await, ["utilisateur"]);
    assert_eq!(roles(&emma, "objet-1").await, ["utilisateur"]);
    // Every change is in the audit log.
    let journal = server
        .signed_in("admin")
        .await
        .unwrap()
        .get("/admin/journal")
        .await
        .unwrap();
    assert!(unescape(&journal.body).contains("echo — Objet n° 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_the_holders_of_a_role_in_the_establishment_only() {
    let server = with_echo().await;
    let principal = server.signed_in("principal.pilat").await.unwrap();
    grant_person(&principal, "objet-1", "jean.dupont", "gestionnaire").await;
    let jean = server.signed_in("jean.dupont").await.unwrap();
    let marie = server.signed_in("marie.lefebvre").await.unwrap();
    let lucie = server.signed_in("lucie.bernard").await.unwrap();
    let lucie_id = server
        .app
        .directory()
        .user_by_login("lucie.bernard")
        .unwrap()
        .unwrap()
        .id;

    // Marie notifies the object's managers and a person of another establishment:
    // only Jean receives it.
    let sent = marie
        .post_form(
            &echo("/"),
            &echo("/notifier"),
            &[
                ("scope", "objet-1"),
                ("subject", "Réservation à valider"),
                ("user", &lucie_id),
            ],
        )
        .await
        .unwrap();
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.body, "1");
    // Not while answering a GET: no GET changes state.
    let refused = marie.get(&echo("/notifier?scope=objet-1")).await.unwrap();
    assert_eq!(
        serde_json::from_str::<String>(&refused.body).unwrap(),
        preau_host::runtime::READ_ONLY
    );
    let home = jean.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(
        home.body.contains("class=\"badge-count\">1<"),
        "unread count in the header"
    );
    let page = jean.get("/notifications").await.unwrap();
    let text = unescape(&page.body);
    assert!(text.contains("Réservation à valider") && text.contains("Écho (tests)"));
    assert!(
        text.contains(&format!("href=\"/e/{PILAT}/echo/\"")),
        "link below the plugin's mount"
    );
    assert!(text.contains("Nouveau") && !text.contains("Par une lecture"));
    assert!(
        !unescape(&lucie.get("/notifications").await.unwrap().body)
            .contains("Réservation à valider")
    );
    // The sender is never notified of their own action.
    let sent = jean
        .post_form(
            &echo("/"),
            &echo("/notifier"),
            &[("scope", "objet-1"), ("subject", "Moi-même")],
        )
        .await
        .unwrap();
    assert_eq!(sent.body, "0");

    // Marked read: the badge goes.
    let page = jean
        .post_form("/notifications", "/notifications/lues", &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let home = jean.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(!home.body.contains("badge-count"));
    // Anonymous visitors are sent to sign in.
    let page = server.client().get("/notifications").await.unwrap();
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_a_conditional_batch_under_concurrency() {
    let server = with_echo().await;
    let emma = server.signed_in("emma.martin").await.unwrap();
    let groups: Vec<String> =
        serde_json::from_str(&emma.get(&echo("/groupes")).await.unwrap().body).unwrap();
    assert!(groups.contains(&"classe:4A".to_string()), "{groups:?}");
    assert!(groups.iter().any(|g| g.starts_with("libre:")));

    // 8 concurrent increments through `batch-if`: none is lost.
    let csrf = emma.get(&echo("/")).await.unwrap().csrf().unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = emma.clone();
            let csrf = csrf.clone();
            tokio::spawn(async move {
                client
                    .post_raw(&echo("/compteur"), &[("csrf", &csrf)])
                    .await
                    .unwrap()
                    .status
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(emma.get(&echo("/compteur")).await.unwrap().body, "\"8\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_linked_alone_in_an_article_is_shown_inside_it() {
    let server = with_echo().await;
    let jean = server.signed_in("jean.dupont").await.unwrap();
    let body = format!(
        "<p>Répondez ci-dessous :</p><p><a href=\"/e/{PILAT}/echo/objet/7\">Objet 7</a></p>\
         <p>/e/{PILAT}/echo/objet/8</p><p>Voir <a href=\"/e/{PILAT}/echo/objet/9\">là</a> aussi.</p>\
         <p><a href=\"/e/{FOREZ}/echo/objet/10\">ailleurs</a></p>"
    );
    let url = crate::blog::write_post(&jean, "Article avec objet", &body, true).await;
    let emma = server.signed_in("emma.martin").await.unwrap();
    let page = emma.get(&url).await.unwrap();
    assert_eq!(page.status, 200);
    let text = unescape(&page.body);
    assert!(text.contains("class=\"embedded-block\""));
    assert!(
        text.contains(&format!("Objet 7 vu depuis Blog ({url})")),
        "{text}"
    );
    assert!(
        text.contains("Objet 8 vu depuis Blog"),
        "a bare path alone works too"
    );
    assert!(
        !text.contains("Objet 9 vu"),
        "a link inside a sentence stays a link"
    );
    assert!(
        !text.contains("Objet 10 vu"),
        "another establishment's objects are not fetched"
    );
    // Forms inside carry the viewer's CSRF token and post to the embedded service.
    let csrf = page.csrf().unwrap();
    assert!(text.contains(&format!("action=\"/e/{PILAT}/echo/compteur\"")));
    let posted = emma
        .post_raw(&echo("/compteur"), &[("csrf", &csrf)])
        .await
        .unwrap();
    assert_eq!(posted.status, 200);

    // Disabled, the service's objects are plain links again.
    let admin = server.signed_in("admin").await.unwrap();
    admin
        .post_form(
            "/admin/",
            &format!("/admin/e/{PILAT}/plugins/echo/toggle"),
            &[("enabled", "false")],
        )
        .await
        .unwrap();
    let text = unescape(&emma.get(&url).await.unwrap().body);
    assert!(!text.contains("vu depuis"));
    assert!(text.contains(&format!("href=\"/e/{PILAT}/echo/objet/7\"")));
}

/// Contract 0.5.1's `structure` import: the establishment's year, periods,
/// closures, grid, subjects and rooms as its « Vie scolaire » sets them; an
/// establishment without a structure gives an empty one. And a plugin built
/// against 0.5.0 (its own frozen WIT, no SDK) is still served, imports and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_read_the_school_structure_and_a_0_5_0_plugin_still_runs() {
    let server = with_echo().await;
    server.enable(FOREZ, "echo").await.unwrap();
    let emma = server.signed_in("emma.martin").await.unwrap();
    let page = emma.get(&echo("/structure")).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let pilat: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(pilat["annee"], "2026-2027", "{pilat}");
    assert!(pilat["periodes"].as_array().unwrap().len() >= 2, "{pilat}");
    assert!(
        pilat["fermetures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("Toussaint")),
        "{pilat}"
    );
    assert!(
        pilat["creneaux"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("M1 ")),
        "{pilat}"
    );
    assert!(pilat["salles"].as_u64().unwrap() > 0, "{pilat}");

    let admin = server.signed_in("admin").await.unwrap();
    let forez: serde_json::Value = serde_json::from_str(
        &admin
            .get(&format!("/e/{FOREZ}/echo/structure"))
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(forez["annee"], "", "{forez}");
    assert!(forez["debut"].is_null() && forez["creneaux"].as_array().unwrap().is_empty());

    server.enable(PILAT, "ancien").await.unwrap();
    let jean = server.signed_in("jean.dupont").await.unwrap();
    let old = jean.get(&format!("/e/{PILAT}/ancien/")).await.unwrap();
    assert_eq!(old.status, 200, "{}", old.body);
    let old: serde_json::Value = serde_json::from_str(&old.body).unwrap();
    assert_eq!(old["contrat"], "0.5.0");
    assert_eq!(old["appelant"], "jean.dupont");
    assert!(old["groupes"].as_u64().unwrap() > 0, "{old}");
}
