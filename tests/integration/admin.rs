use preau_tests::{FOREZ, PILAT, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_region_administrator_enables_and_disabled_plugins_vanish() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    assert_eq!(teacher.get("/admin/").await.unwrap().status, 403);
    let anonymous = server.client();
    assert_eq!(anonymous.get("/admin/").await.unwrap().status, 303);

    // The establishment administrator may configure but not enable/disable.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let page = principal.get("/admin/").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("Lycée du Forez"),
        "only their establishment"
    );
    let toggle = format!("/admin/e/{PILAT}/plugins/blog/toggle");
    assert_eq!(
        principal
            .post_form("/admin/", &toggle, &[("enabled", "false")])
            .await
            .unwrap()
            .status,
        403
    );

    let admin = server.signed_in("admin").await.unwrap();
    let page = admin.get("/admin/").await.unwrap();
    assert!(page.body.contains("Lycée du Forez") && page.body.contains("Collège du Pilat"));
    let pupil = server.signed_in("emma.martin").await.unwrap();
    assert!(
        pupil
            .get(&format!("/e/{PILAT}/"))
            .await
            .unwrap()
            .body
            .contains("Derniers articles")
    );

    let off = admin
        .post_form("/admin/", &toggle, &[("enabled", "false")])
        .await
        .unwrap();
    assert_eq!(off.status, 303);
    assert_eq!(
        pupil
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .status,
        404
    );
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(
        !home.body.contains("Derniers articles"),
        "its block disappears"
    );

    let on = admin
        .post_form("/admin/", &toggle, &[("enabled", "true")])
        .await
        .unwrap();
    assert_eq!(on.status, 303);
    assert_eq!(
        pupil
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .status,
        200
    );
    // The demo articles survived the disable/enable cycle.
    assert!(
        pupil
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .body
            .contains("Bienvenue")
    );

    // The second establishment has the blog disabled.
    assert_eq!(
        admin
            .get(&format!("/e/{FOREZ}/blog/"))
            .await
            .unwrap()
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_configuration_is_refused_field_by_field_and_the_previous_one_kept() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let url = format!("/admin/e/{PILAT}/plugins/blog");
    let form = principal.get(&url).await.unwrap();
    assert_eq!(form.status, 200);
    assert!(form.body.contains("name=\"articles_par_page\""));
    // Fields come in the manifest's order, with the schema's bounds.
    let position = |name: &str| form.body.find(&format!("name=\"{name}\"")).unwrap();
    assert!(position("titre") < position("articles_par_page"));
    assert!(form.body.contains("min=\"1\"") && form.body.contains("max=\"50\""));

    let bad = principal
        .post_form(
            &url,
            &url,
            &[
                ("titre", "Notre blog"),
                ("articles_par_page", "0"),
                ("articles_dans_le_bloc", "trois"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("Saisissez un nombre entier."),
        "{}",
        bad.body
    );
    let bad = principal
        .post_form(
            &url,
            &url,
            &[
                ("titre", &"x".repeat(81)),
                ("articles_par_page", "0"),
                ("articles_dans_le_bloc", "3"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 422);
    assert!(
        bad.body
            .contains("La valeur doit être supérieure ou égale à 1.")
    );
    assert!(bad.body.contains("Au plus 80 caractères."));
    let config = server
        .app
        .directory()
        .plugin_setting(PILAT, "blog")
        .unwrap()
        .config;
    assert_eq!(
        config["articles_par_page"], 10,
        "previous configuration kept"
    );

    let good = principal
        .post_form(
            &url,
            &url,
            &[
                ("titre", "Le blog du Pilat"),
                ("articles_par_page", "1"),
                ("articles_dans_le_bloc", "1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(good.status, 303);
    let list = principal.get(&format!("/e/{PILAT}/blog/")).await.unwrap();
    assert!(list.body.contains("Le blog du Pilat"));
    assert!(list.body.contains("?page=2"), "one article per page now");

    // Another establishment's configuration is out of reach.
    let other = format!("/admin/e/{FOREZ}/plugins/blog");
    assert_eq!(principal.get(&other).await.unwrap().status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appearance_is_validated_and_applied() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let url = format!("/admin/e/{PILAT}/theme");
    let bad = principal
        .post_form(
            &url,
            &url,
            &[
                ("primary", "red;}body{"),
                ("accent", "#000000"),
                ("banner_url", "javascript:alert(1)"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("#rrggbb"));
    assert!(bad.body.contains("Adresse invalide"));
    let good = principal
        .post_form(
            &url,
            &url,
            &[
                ("primary", "#123456"),
                ("accent", "#abcdef"),
                ("banner_url", "/static/banner.svg"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(good.status, 303);
    let css = principal
        .get(&format!("/e/{PILAT}/theme.css"))
        .await
        .unwrap();
    assert!(css.body.contains("--primary: #123456"));
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    assert_eq!(teacher.get(&url).await.unwrap().status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_administrator_sets_an_establishments_time_zone() {
    use preau_tests::unescape;
    use preau_text::TimeZone;

    let server = TestServer::start().await.unwrap();
    let directory = server.app.directory();
    let emma = directory.user_by_login("emma.martin").unwrap().unwrap();
    let card = format!("/admin/e/{PILAT}/annuaire/u/{}", emma.id);
    let action = format!("/admin/e/{PILAT}/fuseau");
    let paris = TimeZone::paris();
    let reunion = TimeZone::named("Indian/Reunion").unwrap();
    let (in_paris, in_reunion) = (
        paris.french_date_time(emma.created_at),
        reunion.french_date_time(emma.created_at),
    );
    let ahead = reunion.offset(emma.created_at) - paris.offset(emma.created_at);
    assert!(ahead == 2 * 3600 || ahead == 3 * 3600, "{ahead}");

    let admin = server.signed_in("admin").await.unwrap();
    let before = admin.get(&card).await.unwrap();
    assert!(
        unescape(&before.body).contains(&in_paris),
        "Paris time first"
    );
    // A plugin's page: the blog's articles, dated in the establishment's time.
    let blog = format!("/e/{PILAT}/blog/");
    let first_article_time = |body: &str| -> (u32, u32, u32) {
        let date = regex::Regex::new(r"(\d{1,2}) [a-zéû]+ \d{4} à (\d{1,2}) h (\d{2})").unwrap();
        let found = date.captures(body).expect("une date d'article");
        let number = |i: usize| found[i].parse::<u32>().unwrap();
        (number(1), number(2), number(3))
    };
    let blog_before = first_article_time(&admin.get(&blog).await.unwrap().body);

    // The region administrator's page: the zone of each establishment, a labelled list.
    let index = unescape(&admin.get("/admin/").await.unwrap().body);
    assert!(index.contains("Fuseau horaire : France métropolitaine"));
    assert!(index.contains(&format!(r#"action="{action}""#)));
    assert!(index.contains(&format!(r#"<label for="field-fuseau-{PILAT}">"#)));
    assert!(index.contains(&format!(
        r#"<select id="field-fuseau-{PILAT}" name="fuseau""#
    )));
    assert!(
        index.contains(r#"<option value="Indian/Reunion">La Réunion (Indian/Reunion)</option>"#)
    );

    // One form per establishment: every id stays unique, so each label finds its list.
    let ids: Vec<&str> = regex::Regex::new(r#" id="([^"]+)""#)
        .unwrap()
        .captures_iter(&index)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let unique: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "{ids:?}");
    assert!(index.contains(&format!(r#"id="field-fuseau-{FOREZ}""#)));

    // An establishment administrator sees the zone but may not change it.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let their_index = unescape(&principal.get("/admin/").await.unwrap().body);
    assert!(their_index.contains("Fuseau horaire : France métropolitaine"));
    assert!(!their_index.contains(&action));
    let refused = principal
        .post_form("/admin/", &action, &[("fuseau", "Indian/Reunion")])
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    let zone = || directory.establishment(PILAT).unwrap().unwrap().time_zone;
    assert_eq!(zone(), "Europe/Paris");

    // Unknown zones, and real ones that are not the academies', are refused in French.
    for wrong in ["Mars/Olympus_Mons", "Europe/Brussels", ""] {
        let page = admin
            .post_form("/admin/", &action, &[("fuseau", wrong)])
            .await
            .unwrap();
        assert_eq!(page.status, 422, "{wrong}");
        let body = unescape(&page.body);
        assert!(
            body.contains("Le fuseau horaire n'a pas été changé"),
            "{wrong}"
        );
        assert!(
            body.contains("Fuseau horaire de Collège du Pilat : Fuseau horaire inconnu"),
            "the summary names the field"
        );
        assert!(body.contains(r#"aria-invalid="true""#));
        assert_eq!(zone(), "Europe/Paris", "nothing changed");
    }

    // Moved to La Réunion: audited, confirmed, and the dates follow.
    let saved = admin
        .post_form("/admin/", &action, &[("fuseau", "Indian/Reunion")])
        .await
        .unwrap();
    assert_eq!(saved.status, 303);
    assert_eq!(saved.location(), "/admin/?ok=fuseau");
    assert_eq!(zone(), "Indian/Reunion");
    let confirmed = unescape(&admin.get(saved.location()).await.unwrap().body);
    assert!(confirmed.contains("Fuseau horaire enregistré"));
    assert!(
        confirmed
            .contains("Fuseau horaire : La Réunion (<span class=\"mono\">Indian/Reunion</span>)")
    );
    let log = directory.audit_entries(5).unwrap();
    assert!(log.iter().any(|e| e["action"] == "fuseau horaire"
        && e["uai"] == PILAT
        && e["target"] == format!("{PILAT} : Europe/Paris → Indian/Reunion")));

    let after = unescape(&admin.get(&card).await.unwrap().body);
    assert!(after.contains(&in_reunion), "Réunion time now");
    assert!(!after.contains(&in_paris));
    let blog_after = first_article_time(&admin.get(&blog).await.unwrap().body);
    let minutes = |(day, hour, minute): (u32, u32, u32)| (day * 24 + hour) * 60 + minute;
    // (Modulo a day: the article may move to the next day, or month.)
    let moved = (minutes(blog_after) as i64 - minutes(blog_before) as i64).rem_euclid(24 * 60);
    assert!(
        moved == 120 || moved == 180,
        "{blog_before:?} → {blog_after:?}"
    );
}
