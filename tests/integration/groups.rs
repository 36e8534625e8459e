//! A group's membership (issue 17): administrators add people found by a
//! directory search (name prefix, class, profile), several at once, and remove
//! several at once; a group's gestionnaires do the same from « Mes groupes »,
//! for their groups only, and nothing else.

use preau_tests::{Client, FOREZ, PILAT, TestServer, unescape};

fn id_of(server: &TestServer, login: &str) -> String {
    server
        .app
        .directory()
        .user_by_login(login)
        .unwrap()
        .unwrap()
        .id
}

fn groups_of(server: &TestServer, login: &str) -> Vec<String> {
    let user = server
        .app
        .directory()
        .user_by_login(login)
        .unwrap()
        .unwrap();
    user.membership(PILAT).unwrap().groups.clone()
}

async fn post(client: &Client, url: &str, fields: &[(&str, &str)]) -> preau_tests::Page {
    client.post_form(url, url, fields).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_add_searched_people_and_remove_several_at_once() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let group = format!("/admin/e/{PILAT}/groupes/g-ca");
    let lea = id_of(&server, "lea.garnier");
    let emma = id_of(&server, "emma.martin");

    // Search by class and profile: the pupils of 6A, each with a checkbox.
    let page = admin
        .get(&format!("{group}?classe=g-6a&profil=eleve"))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    let body = unescape(&page.body);
    assert!(
        body.contains(&format!("name=\"users\" value=\"{lea}\"")),
        "{body}"
    );
    assert!(!body.contains(&format!("value=\"{emma}\"")), "not in 6A");
    assert!(body.contains("Ajouter les personnes cochées"));
    // By name prefix, any case and accent.
    let page = admin.get(&format!("{group}?q=MART")).await.unwrap();
    assert!(unescape(&page.body).contains(&format!("value=\"{emma}\"")));
    let page = admin.get(&format!("{group}?q=zzzz")).await.unwrap();
    assert!(unescape(&page.body).contains("Aucune personne de l'établissement ne correspond"));

    // Nothing checked: a precise French error, nothing written.
    let page = post(&admin, &group, &[("action", "add_many")]).await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Cochez au moins une personne."));
    // Someone of another establishment among the picked: all or nothing.
    let lucie = id_of(&server, "lucie.bernard");
    let page = post(
        &admin,
        &group,
        &[("action", "add_many"), ("users", &lea), ("users", &lucie)],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(!groups_of(&server, "lea.garnier").contains(&"g-ca".to_string()));

    let page = post(
        &admin,
        &group,
        &[("action", "add_many"), ("users", &lea), ("users", &emma)],
    )
    .await;
    assert_eq!(page.status, 303);
    assert!(groups_of(&server, "lea.garnier").contains(&"g-ca".to_string()));
    assert!(groups_of(&server, "emma.martin").contains(&"g-ca".to_string()));
    let page = admin.get(&format!("{group}?q=garnier")).await.unwrap();
    assert!(unescape(&page.body).contains("déjà membre"));

    // The members' table: checkboxes tied to the removal form.
    let page = admin.get(&group).await.unwrap();
    let body = unescape(&page.body);
    assert!(body.contains(&format!(
        "name=\"users\" value=\"{lea}\" form=\"retrait-membres\""
    )));
    let page = post(
        &admin,
        &group,
        &[("action", "remove_many"), ("users", &lea), ("users", &emma)],
    )
    .await;
    assert_eq!(page.status, 303);
    assert!(!groups_of(&server, "lea.garnier").contains(&"g-ca".to_string()));
    assert!(!groups_of(&server, "emma.martin").contains(&"g-ca".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gestionnaire_manages_the_membership_of_their_group_and_nothing_else() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let jean = id_of(&server, "jean.dupont");
    let lea = id_of(&server, "lea.garnier");
    let nathalie = id_of(&server, "nathalie.perrin");
    // Jean Dupont manages the CVC (group A); Nathalie Perrin, a member, too.
    let admin_cvc = format!("/admin/e/{PILAT}/groupes/g-cvc");
    for (who, action) in [(&jean, "add"), (&jean, "manager"), (&nathalie, "manager")] {
        let fields: Vec<(&str, &str)> = if action == "add" {
            vec![("action", "add"), ("login", "jean.dupont")]
        } else {
            vec![("action", action), ("user", who.as_str())]
        };
        assert_eq!(
            post(&admin, &admin_cvc, &fields).await.status,
            303,
            "{action}"
        );
    }

    let manager = server.signed_in("jean.dupont").await.unwrap();
    let mine = format!("/e/{PILAT}/mes-groupes");
    let account = manager.get("/compte").await.unwrap();
    assert!(unescape(&account.body).contains(&format!("href=\"{mine}\">Mes groupes</a>")));
    let page = manager.get(&mine).await.unwrap();
    assert_eq!(page.status, 200);
    let body = unescape(&page.body);
    assert!(
        body.contains("Conseil de vie collégienne") && !body.contains("Latin"),
        "{body}"
    );
    let cvc = format!("{mine}/g-cvc");
    assert!(body.contains(&format!("href=\"{cvc}\"")));

    // Group A: search, add several, remove several.
    let page = manager.get(&format!("{cvc}?classe=g-6a")).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(unescape(&page.body).contains(&format!("value=\"{lea}\"")));
    assert!(
        !page.body.contains("Nommer gestionnaire"),
        "no gestionnaire buttons"
    );
    assert!(!page.body.contains("/admin/e/"), "no administration link");
    let tom = id_of(&server, "tom.martin");
    let page = post(
        &manager,
        &cvc,
        &[("action", "add_many"), ("users", &lea), ("users", &tom)],
    )
    .await;
    assert_eq!(page.status, 303);
    assert!(groups_of(&server, "lea.garnier").contains(&"g-cvc".to_string()));
    assert!(groups_of(&server, "tom.martin").contains(&"g-cvc".to_string()));
    let page = post(
        &manager,
        &cvc,
        &[("action", "remove_many"), ("users", &lea), ("users", &tom)],
    )
    .await;
    assert_eq!(page.status, 303);
    assert!(!groups_of(&server, "lea.garnier").contains(&"g-cvc".to_string()));

    // Nothing else: no gestionnaire named, none removed, no administration page.
    let page = post(&manager, &cvc, &[("action", "manager"), ("user", &lea)]).await;
    assert_eq!(page.status, 422);
    assert!(
        unescape(&page.body)
            .contains("Seul un administrateur nomme ou retire les gestionnaires du groupe.")
    );
    let page = post(
        &manager,
        &cvc,
        &[("action", "remove_many"), ("users", &nathalie)],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(
        unescape(&page.body).contains("Un gestionnaire ne peut retirer un gestionnaire du groupe")
    );
    assert!(groups_of(&server, "nathalie.perrin").contains(&"g-cvc".to_string()));
    assert_eq!(manager.get(&admin_cvc).await.unwrap().status, 403);
    assert_eq!(
        post(
            &manager,
            &admin_cvc,
            &[("action", "add_many"), ("users", &lea)]
        )
        .await
        .status,
        403
    );

    // Group B (not managed): refused on every route, nothing changes.
    let latin = format!("{mine}/g-latin");
    assert_eq!(manager.get(&latin).await.unwrap().status, 403);
    let page = post(&manager, &latin, &[("action", "add_many"), ("users", &lea)]).await;
    assert_eq!(page.status, 403);
    assert!(!groups_of(&server, "lea.garnier").contains(&"g-latin".to_string()));
    let emma = id_of(&server, "emma.martin");
    let page = post(
        &manager,
        &latin,
        &[("action", "remove_many"), ("users", &emma)],
    )
    .await;
    assert_eq!(page.status, 403);
    assert!(groups_of(&server, "emma.martin").contains(&"g-latin".to_string()));
    // Nor the same group id through another establishment, nor an unknown group.
    assert_eq!(
        manager
            .get(&format!("/e/{FOREZ}/mes-groupes/g-cvc"))
            .await
            .unwrap()
            .status,
        403
    );
    assert_eq!(
        manager
            .get(&format!("{mine}/g-inconnu"))
            .await
            .unwrap()
            .status,
        403
    );

    // Once the administrator withdraws the role, the page is closed.
    let page = post(
        &admin,
        &admin_cvc,
        &[("action", "unmanager"), ("user", &jean)],
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(manager.get(&cvc).await.unwrap().status, 403);
    let page = post(&manager, &cvc, &[("action", "add_many"), ("users", &lea)]).await;
    assert_eq!(page.status, 403);
}

/// « Mes groupes » is in the navigation of whoever manages a group there, from
/// the next page on, and of nobody else (shown only if usable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_groups_is_in_the_navigation_of_gestionnaires_only() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let colleague = server.signed_in("marie.lefebvre").await.unwrap();
    let home = format!("/e/{PILAT}/");
    let link = format!("href=\"/e/{PILAT}/mes-groupes\">Mes groupes</a>");
    let shows = |page: &preau_tests::Page| unescape(&page.body).contains(&link);
    assert!(
        !shows(&teacher.get(&home).await.unwrap()),
        "not yet a gestionnaire"
    );

    let group = format!("/admin/e/{PILAT}/groupes/g-4a");
    let jean = id_of(&server, "jean.dupont");
    let named = post(&admin, &group, &[("action", "manager"), ("user", &jean)]).await;
    assert_eq!(named.status, 303);
    let page = teacher.get(&home).await.unwrap();
    assert!(shows(&page), "the next page offers it");
    assert!(
        !shows(&colleague.get(&home).await.unwrap()),
        "not to a colleague"
    );
    // The link leads to a page that answers.
    assert_eq!(
        teacher
            .get(&format!("/e/{PILAT}/mes-groupes"))
            .await
            .unwrap()
            .status,
        200
    );

    let unnamed = post(&admin, &group, &[("action", "unmanager"), ("user", &jean)]).await;
    assert_eq!(unnamed.status, 303);
    assert!(
        !shows(&teacher.get(&home).await.unwrap()),
        "gone with the role"
    );
}
