//! Destructive actions of the administration: a GET confirmation page that says
//! what will be lost and changes nothing, then the deletion as a POST with its
//! CSRF token (issue 17).

use preau_tests::{FOREZ, PILAT, TestServer, unescape};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_rubrique_is_confirmed_on_a_page_that_says_what_is_lost() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let edit = format!("/admin/e/{PILAT}/rubriques/bac-a-sable");
    let confirm = format!("{edit}/supprimer");
    let page = admin.get(&edit).await.unwrap();
    assert!(
        unescape(&page.body).contains(&format!("href=\"{confirm}\"")),
        "the edit page links to the confirmation, it posts nothing"
    );

    let writes = server.app.directory().store().write_count().unwrap();
    let page = admin.get(&confirm).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        server.app.directory().store().write_count().unwrap(),
        writes,
        "a GET deletes nothing"
    );
    let body = unescape(&page.body);
    assert!(
        body.contains("Supprimer la rubrique « Bac à sable » ?"),
        "{body}"
    );
    assert!(body.contains("Ce qui sera perdu"));
    assert!(body.contains("Les contenus de ses services (Blog, Forum) ne seront plus accessibles"));
    assert!(body.contains("Les droits donnés dans cette rubrique (2 service(s)) sont effacés."));
    assert!(body.contains(&format!("action=\"{confirm}\"")) && body.contains("name=\"csrf\""));
    assert!(body.contains(&format!("href=\"{edit}\"")) && body.contains("Annuler"));

    // A rubrique with sub-rubriques has nothing to confirm: back to its page, which says why.
    let parent = format!("/admin/e/{PILAT}/rubriques/actualites");
    let page = admin.get(&format!("{parent}/supprimer")).await.unwrap();
    assert_eq!((page.status, page.location()), (303, parent.as_str()));

    // Without the token, nothing; with it, the rubrique goes.
    let refused = admin
        .post_raw(&confirm, &[("confirme", "oui")])
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    assert_eq!(admin.get(&edit).await.unwrap().status, 200);
    let page = admin
        .post_form(&confirm, &confirm, &[("confirme", "oui")])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(admin.get(&edit).await.unwrap().status, 404);

    // Other establishments' administrators and teachers never see the page.
    for login in ["lucie.bernard", "jean.dupont"] {
        let other = server.signed_in(login).await.unwrap();
        let page = other
            .get(&format!(
                "/admin/e/{PILAT}/rubriques/conseil-d-administration/supprimer"
            ))
            .await
            .unwrap();
        assert_eq!(page.status, 403, "{login}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detaching_a_person_is_confirmed_with_what_they_lose_there() {
    let server = TestServer::start().await.unwrap();
    let region = server.signed_in("admin").await.unwrap();
    let emma = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap();
    let person = format!("/admin/e/{PILAT}/annuaire/u/{}", emma.id);
    let page = region
        .post_form(
            &person,
            &format!("{person}/rattachements"),
            &[("uai", FOREZ), ("profile", "eleve")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let page = region.get(&person).await.unwrap();
    let detach_pilat = format!("{person}/rattachements/{PILAT}/supprimer");
    assert!(unescape(&page.body).contains(&format!("href=\"{detach_pilat}\"")));

    let writes = server.app.directory().store().write_count().unwrap();
    let page = region.get(&detach_pilat).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        server.app.directory().store().write_count().unwrap(),
        writes,
        "a GET detaches nothing"
    );
    let body = unescape(&page.body);
    assert!(
        body.contains("Détacher Emma Martin de Collège du Pilat ?"),
        "{body}"
    );
    assert!(body.contains("profil « Élève »"), "{body}");
    assert!(
        body.contains("Ses groupes dans cet établissement (4A"),
        "{body}"
    );
    assert!(body.contains(&format!("action=\"{detach_pilat}\"")));

    // The Pilat administrator may not even look at detaching from the Forez.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let detach_forez = format!("{person}/rattachements/{FOREZ}/supprimer");
    assert_eq!(principal.get(&detach_forez).await.unwrap().status, 403);

    let page = region
        .post_form(&detach_forez, &detach_forez, &[("confirme", "oui")])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let after = server.app.directory().user(&emma.id).unwrap().unwrap();
    assert!(after.membership(FOREZ).is_none() && after.membership(PILAT).is_some());
    // Her only establishment left: nothing to confirm, back to her page.
    let page = region.get(&detach_pilat).await.unwrap();
    assert_eq!((page.status, page.location()), (303, person.as_str()));
}

/// One administration layout (issue 17): the administrator of one establishment
/// sees its header on `/admin/` as on the pages below, with a breadcrumb; the
/// region's administrator, who has several, the region's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administration_home_has_the_header_of_its_pages() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let home = unescape(&principal.get("/admin/").await.unwrap().body);
    let below = unescape(
        &principal
            .get(&format!("/admin/e/{PILAT}/annuaire"))
            .await
            .unwrap()
            .body,
    );
    let site_title = |body: &str| {
        let start = body.find("class=\"site-title\"").expect("en-tête");
        body[start..start + body[start..].find("</p>").unwrap()].to_string()
    };
    assert_eq!(site_title(&home), site_title(&below));
    assert!(site_title(&home).contains("Collège du Pilat"));
    assert!(home.contains("<title>Administration — Collège du Pilat</title>"));
    assert!(home.contains("aria-label=\"Fil d'Ariane\""));
    let region = server.signed_in("admin").await.unwrap();
    let home = unescape(&region.get("/admin/").await.unwrap().body);
    assert!(!home.contains("<title>Administration — Collège du Pilat</title>"));
}

/// Deleting a group (issue 17): the confirmation names its members count, its
/// gestionnaires, the rights and the rubriques that name it; the POST takes it
/// out of everything, so that no grant outlives the group it named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_group_is_confirmed_with_its_members_managers_and_rights() {
    let server = TestServer::start().await.unwrap();
    let directory = server.app.directory();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let group_url = format!("/admin/e/{PILAT}/groupes/g-ca");
    let confirm = format!("{group_url}/supprimer");
    let dupont = directory.user_by_login("jean.dupont").unwrap().unwrap();
    // Jean Dupont manages the group; the blog grants it a role.
    let page = admin
        .post_form(
            &group_url,
            &group_url,
            &[("action", "manager"), ("user", &dupont.id)],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let mut grants = directory.grants(PILAT, "blog").unwrap().unwrap_or_default();
    grants
        .groups
        .insert("g-ca".into(), vec!["redacteur".into()]);
    directory.put_grants(PILAT, "blog", &grants).unwrap();

    let page = admin.get(&group_url).await.unwrap();
    assert!(
        unescape(&page.body).contains(&format!("href=\"{confirm}\"")),
        "the group's page links to the confirmation"
    );
    let writes = directory.store().write_count().unwrap();
    let page = admin.get(&confirm).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        directory.store().write_count().unwrap(),
        writes,
        "a GET deletes nothing"
    );
    let body = unescape(&page.body);
    assert!(
        body.contains("Supprimer le groupe « Conseil d'administration » ?"),
        "{body}"
    );
    assert!(
        body.contains("ses 3 membres n'en font plus partie"),
        "{body}"
    );
    assert!(body.contains("Ses gestionnaires (Jean Dupont)"), "{body}");
    assert!(
        body.contains("Les droits donnés au groupe sont effacés (Blog)"),
        "{body}"
    );
    assert!(
        body.contains("Les rubriques qui le nomment (Conseil d'administration)"),
        "{body}"
    );
    assert!(body.contains(&format!("action=\"{confirm}\"")) && body.contains("name=\"csrf\""));
    // The administration's breadcrumb, generated from the address.
    assert!(
        body.contains(&format!(
            "<li><a href=\"/admin/e/{PILAT}/groupes/g-ca\">Conseil d'administration</a></li>"
        )),
        "{body}"
    );

    // Teachers and other establishments' administrators never see it.
    for login in ["jean.dupont", "lucie.bernard"] {
        let other = server.signed_in(login).await.unwrap();
        assert_eq!(other.get(&confirm).await.unwrap().status, 403, "{login}");
        assert_eq!(
            other
                .post_form(&confirm, &confirm, &[("confirme", "oui")])
                .await
                .unwrap()
                .status,
            403,
            "{login}"
        );
    }
    // Without the token, nothing.
    let refused = admin
        .post_raw(&confirm, &[("confirme", "oui")])
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    assert_eq!(admin.get(&group_url).await.unwrap().status, 200);

    let page = admin
        .post_form(&confirm, &confirm, &[("confirme", "oui")])
        .await
        .unwrap();
    assert_eq!(
        (page.status, page.location()),
        (303, format!("/admin/e/{PILAT}/groupes?supprime=1").as_str())
    );
    assert_eq!(admin.get(&group_url).await.unwrap().status, 404);
    assert!(directory.group(PILAT, "g-ca").unwrap().is_none());
    assert!(directory.group_member_ids("g-ca").unwrap().is_empty());
    let after = directory.user(&dupont.id).unwrap().unwrap();
    assert!(
        !after
            .membership(PILAT)
            .unwrap()
            .groups
            .contains(&"g-ca".to_string())
    );
    let grants = directory.grants(PILAT, "blog").unwrap().unwrap();
    assert!(!grants.groups.contains_key("g-ca"));
    let portal = preau_host::portal::Portal::load(directory, PILAT).unwrap();
    let rubrique = portal.rubrique("conseil-d-administration").unwrap();
    assert!(!rubrique.access.groups.contains(&"g-ca".to_string()));
    // The managers' « Mes groupes » no longer lists it.
    let dupont_client = server.signed_in("jean.dupont").await.unwrap();
    let mine = dupont_client
        .get(&format!("/e/{PILAT}/mes-groupes/g-ca"))
        .await
        .unwrap();
    assert_ne!(mine.status, 200);
}
