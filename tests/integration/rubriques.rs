//! Rubriques, the "Actualités" block and the home page's layout, at the HTTP level.

use preau_tests::{FOREZ, PILAT, TestServer, unescape};

/// An anonymous visitor refused is sent to sign in; a signed-in one gets 403.
fn refused(page: &preau_tests::Page, anonymous: bool) -> bool {
    if anonymous {
        page.status == 303 && page.location().starts_with("/login")
    } else {
        page.status == 403
    }
}

fn r(rubrique: &str, path: &str) -> String {
    format!("/e/{PILAT}/r/{rubrique}{path}")
}

/// The first article link of a rubrique's blog in `html`.
fn first_article(html: &str, rubrique: &str) -> Option<String> {
    let html = &unescape(html);
    let prefix = format!("/e/{PILAT}/r/{rubrique}/blog/");
    let start = html.find(&prefix)?;
    let rest = &html[start..];
    let end = rest.find('"')?;
    let url = &rest[..end];
    (url.len() > prefix.len()).then(|| url.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_rubrique_articles_are_readable_without_signing_in_restricted_ones_are_not() {
    let server = TestServer::start().await.unwrap();
    let anonymous = server.client();

    // The home page's news block shows the public subscribed rubriques only.
    let home = anonymous.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Actualités"), "{}", home.body);
    assert!(home.body.contains("Informations bourses"));
    assert!(
        home.body.contains("Le club théâtre recrute"),
        "sub-rubrique"
    );
    assert!(
        !home.body.contains("Ordre du jour du prochain conseil"),
        "restricted rubrique leaked into the anonymous news block"
    );
    assert!(unescape(&home.body).contains(&format!("href=\"/e/{PILAT}/actualites\"")));

    // The article opens without signing in.
    let article = first_article(&home.body, "actualites").expect("lien d'article");
    let page = anonymous.get(&article).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    // Anonymous visitors cannot write there.
    assert!(refused(
        &anonymous.get(&r("actualites", "/blog/new")).await.unwrap(),
        true
    ));

    // The restricted rubrique: page, blog and article are refused server-side.
    let ca = "conseil-d-administration";
    assert!(refused(&anonymous.get(&r(ca, "/")).await.unwrap(), true));
    assert!(refused(
        &anonymous.get(&r(ca, "/blog/")).await.unwrap(),
        true
    ));
    let pupil = server.signed_in("emma.martin").await.unwrap();
    assert_eq!(pupil.get(&r(ca, "/blog/")).await.unwrap().status, 403);
    let outsider_teacher = server.signed_in("marie.lefebvre").await.unwrap();
    assert_eq!(outsider_teacher.get(&r(ca, "/")).await.unwrap().status, 403);
    let list = pupil.get(&format!("/e/{PILAT}/rubriques/")).await.unwrap();
    assert!(list.body.contains("Actualités") && !list.body.contains("Conseil d'administration"));

    // A member of the group sees the rubrique, its article, and its news on the home page.
    let member = server.signed_in("jean.dupont").await.unwrap();
    let page = member.get(&r(ca, "/")).await.unwrap();
    assert_eq!(page.status, 200);
    let ca_article = first_article(&page.body, ca).expect("article du CA");
    assert_eq!(member.get(&ca_article).await.unwrap().status, 200);
    let home = member.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(home.body.contains("Ordre du jour du prochain conseil"));
    // The "Mes services" block lists the teacher's services (the demo's connectors).
    assert!(home.body.contains("Tous mes services"));
    assert!(home.body.contains("Efivol"));
    // …which a pupil who knows the URL still cannot open.
    assert_eq!(pupil.get(&ca_article).await.unwrap().status, 403);
    assert!(refused(&anonymous.get(&ca_article).await.unwrap(), true));

    // Another establishment has no such rubrique.
    assert_eq!(
        anonymous
            .get(&format!("/e/{FOREZ}/r/actualites/blog/"))
            .await
            .unwrap()
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_granted_per_rubrique_and_data_stays_in_its_rubrique() {
    let server = TestServer::start().await.unwrap();
    // Teachers publish in Actualités (granted there), and their article reaches the news.
    let teacher = server.signed_in("marie.lefebvre").await.unwrap();
    let new = r("actualites", "/blog/new");
    let page = teacher
        .post_form(
            &new,
            &new,
            &[
                ("title", "Cross du collège"),
                ("body", "<p>Jeudi après-midi.</p>"),
                ("publish", "on"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let url = page.location().to_string();
    assert!(url.starts_with(&r("actualites", "/blog/")), "{url}");
    let anonymous = server.client();
    let news = anonymous
        .get(&format!("/e/{PILAT}/actualites"))
        .await
        .unwrap();
    assert!(news.body.contains("Cross du collège"));
    // The article lives in the rubrique's namespace only.
    let id = url.rsplit('/').next().unwrap();
    assert_eq!(
        anonymous
            .get(&r("bac-a-sable", &format!("/blog/{id}")))
            .await
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        teacher
            .get(&format!("/e/{PILAT}/blog/{id}"))
            .await
            .unwrap()
            .status,
        404
    );
    // In Bac à sable teachers are only « rédacteur »: their article awaits validation.
    let new = r("bac-a-sable", "/blog/new");
    let page = teacher
        .post_form(
            &new,
            &new,
            &[
                ("title", "Essai"),
                ("body", "<p>essai</p>"),
                ("publish", "on"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let sandbox = anonymous.get(&r("bac-a-sable", "/blog/")).await.unwrap();
    assert!(
        !sandbox.body.contains("Essai"),
        "not published without validation"
    );
    // A pupil has no writing role in Actualités.
    let pupil = server.signed_in("emma.martin").await.unwrap();
    assert_eq!(
        pupil
            .get(&r("actualites", "/blog/new"))
            .await
            .unwrap()
            .status,
        403
    );

    // The administrator grants « rédacteur » to the pupils' class in Bac à sable.
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let rights = format!("/admin/e/{PILAT}/rubriques/bac-a-sable/droits/blog");
    let page = admin
        .post_form(
            &rights,
            &rights,
            &[
                ("tab", "populations"),
                ("grant", "profil:enseignant|redacteur"),
                ("grant", "groupe:g-4a|redacteur"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        pupil
            .get(&r("bac-a-sable", "/blog/new"))
            .await
            .unwrap()
            .status,
        200,
        "emma.martin is in 4A"
    );
    // …which gives nothing in Actualités nor in the establishment's own blog.
    assert_eq!(
        pupil
            .get(&r("actualites", "/blog/new"))
            .await
            .unwrap()
            .status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_build_the_tree_and_the_home_page() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let list = format!("/admin/e/{PILAT}/rubriques");
    // Errors are precise and save nothing.
    let page = admin
        .post_form(&list, &list, &[("title", ""), ("parent", "")])
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Donnez un titre"));
    let page = admin
        .post_form(
            &list,
            &list,
            &[("title", "Club"), ("parent", "inexistante")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(page.body.contains("rubrique parente"));
    // Create « Club échecs » under Vie collégienne, restricted to 4A.
    let page = admin
        .post_form(
            &list,
            &list,
            &[("title", "Club échecs"), ("parent", "vie-collegienne")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let edit = page.location().to_string();
    assert!(edit.ends_with("/rubriques/club-echecs"), "{edit}");
    let page = admin
        .post_form(
            &edit,
            &edit,
            &[
                ("title", "Club échecs"),
                ("parent", "vie-collegienne"),
                ("order", "0"),
                ("visible", "on"),
                ("restricted", "on"),
                ("service", "blog"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422, "restricted without populations");
    assert!(page.body.contains("au moins un profil ou un groupe"));
    // A rubrique cannot become its own descendant's child.
    let parent_edit = format!("/admin/e/{PILAT}/rubriques/vie-collegienne");
    let page = admin
        .post_form(
            &parent_edit,
            &parent_edit,
            &[
                ("title", "Vie collégienne"),
                ("parent", "club-echecs"),
                ("order", "0"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    let page = admin
        .post_form(
            &edit,
            &edit,
            &[
                ("title", "Club échecs"),
                ("parent", "vie-collegienne"),
                ("order", "0"),
                ("visible", "on"),
                ("restricted", "on"),
                ("group", "g-4a"),
                ("service", "blog"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let pupil_4a = server.signed_in("emma.martin").await.unwrap();
    assert_eq!(
        pupil_4a
            .get(&r("club-echecs", "/blog/"))
            .await
            .unwrap()
            .status,
        200
    );
    let anonymous = server.client();
    assert!(refused(
        &anonymous.get(&r("club-echecs", "/blog/")).await.unwrap(),
        true
    ));
    // A rubrique with sub-rubriques cannot be deleted.
    let page = admin
        .post_form(&parent_edit, &format!("{parent_edit}/supprimer"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 422);

    // Home page: the news block goes to the end, then is removed; subscriptions switch off.
    let home_admin = format!("/admin/e/{PILAT}/accueil");
    let page = admin.get(&home_admin).await.unwrap();
    assert!(page.body.contains("Abonnements au bloc portail"));
    // Default order: Actualités, Mes services, the blog's block. Twice down: last.
    for _ in 0..2 {
        let page = admin
            .post_form(
                &home_admin,
                &home_admin,
                &[("action", "down"), ("block", "actualites")],
            )
            .await
            .unwrap();
        assert_eq!(page.status, 303);
    }
    // A pupil reads both blocks.
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
    let body = unescape(&home.body);
    let news_at = body
        .find(&format!("href=\"/e/{PILAT}/actualites\""))
        .unwrap();
    let blog_at = body.find("Derniers articles").unwrap();
    assert!(blog_at < news_at, "blog block first now");
    // A subscription for teachers only: a teacher sees Bac à sable's news, a pupil does not.
    let page = admin
        .post_form(
            &home_admin,
            &home_admin,
            &[
                ("action", "subscribe"),
                ("rubrique", "bac-a-sable"),
                ("profile", "enseignant"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let teacher = server.signed_in("marie.lefebvre").await.unwrap();
    let news = format!("/e/{PILAT}/actualites");
    assert!(
        teacher
            .get(&news)
            .await
            .unwrap()
            .body
            .contains("Bienvenue dans la rubrique Bac")
    );
    assert!(
        !pupil
            .get(&news)
            .await
            .unwrap()
            .body
            .contains("Bienvenue dans la rubrique Bac")
    );
    // The same subscription twice is refused.
    let page = admin
        .post_form(
            &home_admin,
            &home_admin,
            &[
                ("action", "subscribe"),
                ("rubrique", "bac-a-sable"),
                ("profile", "enseignant"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    // A hidden rubrique publishes nothing on the home page, even when subscribed.
    let sub = format!("/admin/e/{PILAT}/rubriques/vie-collegienne");
    let page = admin
        .post_form(
            &sub,
            &sub,
            &[
                ("title", "Vie collégienne"),
                ("parent", "actualites"),
                ("order", "0"),
                ("service", "blog"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        !anonymous
            .get(&news)
            .await
            .unwrap()
            .body
            .contains("Le club théâtre recrute")
    );
    assert!(
        anonymous
            .get(&news)
            .await
            .unwrap()
            .body
            .contains("Informations bourses")
    );
    // Switch every subscription off: the news block disappears.
    let page = admin
        .post_form(&home_admin, &home_admin, &[("action", "statuses")])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let home = anonymous.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(!home.body.contains("Informations bourses"));
    // Remove the blog block: the home page shows neither.
    admin
        .post_form(
            &home_admin,
            &home_admin,
            &[("action", "remove"), ("block", "blog/derniers-articles")],
        )
        .await
        .unwrap();
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(!home.body.contains("Derniers articles"));
    // Unknown block: clear error, nothing changes.
    let page = admin
        .post_form(
            &home_admin,
            &home_admin,
            &[("action", "add"), ("block", "../x")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_of_the_establishment_reach_portal_administration() {
    let server = TestServer::start().await.unwrap();
    let routes = [
        format!("/admin/e/{PILAT}/rubriques"),
        format!("/admin/e/{PILAT}/rubriques/actualites"),
        format!("/admin/e/{PILAT}/rubriques/actualites/droits/blog"),
        format!("/admin/e/{PILAT}/accueil"),
    ];
    let anonymous = server.client();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let parent = server.signed_in("paul.martin").await.unwrap();
    for route in &routes {
        for (who, client) in [
            ("anonyme", &anonymous),
            ("enseignant", &teacher),
            ("élève", &pupil),
            ("parent", &parent),
        ] {
            let page = client.get(route).await.unwrap();
            // Anonymous visitors are sent to the sign-in page instead.
            let expected = if who == "anonyme" { 303 } else { 403 };
            assert_eq!(page.status, expected, "{who} GET {route}");
            // POSTs are refused too, even with a valid CSRF token of another page.
            let page = client
                .post_form(
                    "/login",
                    route,
                    &[
                        ("title", "x"),
                        ("action", "remove"),
                        ("block", "actualites"),
                    ],
                )
                .await
                .unwrap();
            assert_eq!(page.status, expected, "{who} POST {route}");
        }
        let admin = server.signed_in("principal.pilat").await.unwrap();
        assert_eq!(admin.get(route).await.unwrap().status, 200, "{route}");
    }
    // The region administrator may; nothing changed for the refused POSTs.
    let region = server.signed_in("admin").await.unwrap();
    let home = region
        .get(&format!("/admin/e/{PILAT}/accueil"))
        .await
        .unwrap();
    assert!(home.body.contains("Actualités"));
}
