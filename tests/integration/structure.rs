//! The school structure of issue 18, through HTTP: a principal sets the year,
//! periods, closures (the zone calendar in one click), créneaux, subjects and
//! rooms; invalid input comes back with what was typed and a French error per
//! field; deletions are confirmed; only administrators of the establishment
//! and holders of « Accès gestionnaire vie scolaire » get in.

use preau_tests::{Client, FOREZ, PILAT, Page, TestServer, unescape};

/// Makes lucie.bernard (a teacher of the Forez lycée) its administrator: a
/// principal with an empty structure, and another establishment's
/// administrator for the Pilat.
async fn forez_principal(server: &TestServer) -> Client {
    let directory = server.app.directory();
    let lucie = directory.user_by_login("lucie.bernard").unwrap().unwrap();
    let mut principal = lucie.clone();
    principal.memberships[0].admin = true;
    directory.save_user(Some(&lucie), &principal).unwrap();
    server.signed_in("lucie.bernard").await.unwrap()
}

fn base(uai: &str) -> String {
    format!("/admin/e/{uai}/structure")
}

/// POSTs a form of `page` (its CSRF token) to `path`.
async fn post(client: &Client, page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
    client.post_form(page, path, fields).await.unwrap()
}

/// The item ids a list page links to.
fn ids(body: &str, list: &str) -> Vec<String> {
    let re = regex::Regex::new(&format!(
        "href=\"{}/([0-9a-f]{{16}})\"",
        regex::escape(list)
    ))
    .unwrap();
    let mut ids: Vec<String> = re.captures_iter(body).map(|c| c[1].to_string()).collect();
    ids.dedup();
    ids
}

/// The id of the item named `name` in a list page.
fn id_of(body: &str, list: &str, name: &str) -> String {
    let re = regex::Regex::new(&format!(
        "href=\"{}/([0-9a-f]{{16}})\">{}</a>",
        regex::escape(list),
        regex::escape(name)
    ))
    .unwrap();
    re.captures(body)
        .unwrap_or_else(|| panic!("{name} absent"))
        .get(1)
        .unwrap()
        .as_str()
        .to_string()
}

fn rows(body: &str) -> usize {
    body.matches("class=\"row-title\"").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_sets_the_year_periods_slots_subjects_rooms_and_closures_through_the_forms() {
    let server = TestServer::start().await.unwrap();
    let lucie = forez_principal(&server).await;
    let base = base(FOREZ);
    let periods = format!("{base}/periodes");

    let page = lucie.get(&base).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("L'année scolaire n'est pas encore définie"),
        "{}",
        page.body
    );
    let page = lucie.get(&periods).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("value=\"2026-09-01\""),
        "the national calendar's rentrée is proposed"
    );
    // Nothing can be added before the year exists.
    let page = post(
        &lucie,
        &periods,
        &periods,
        &[
            ("nom", "T1"),
            ("debut", "2026-09-01"),
            ("fin", "2026-11-30"),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Enregistrez d'abord l'année scolaire."));

    // The year: an end before the start comes back with the typed days.
    let year = format!("{base}/annee");
    let page = post(
        &lucie,
        &periods,
        &year,
        &[("debut", "2026-09-01"), ("fin", "2026-08-01")],
    )
    .await;
    assert_eq!(page.status, 422);
    let body = unescape(&page.body);
    assert!(
        body.contains("Le dernier jour (1er août 2026) est avant le premier (1er septembre 2026)."),
        "{body}"
    );
    assert!(body.contains("value=\"2026-08-01\"") && body.contains("aria-invalid=\"true\""));
    assert!(body.contains("<title>Erreur : "));
    let page = post(
        &lucie,
        &periods,
        &year,
        &[("debut", "2026-09-01"), ("fin", "2027-07-03")],
    )
    .await;
    assert_eq!(
        (page.status, page.location()),
        (303, format!("{periods}?ok=annee").as_str())
    );

    // Periods: inside the year, no overlap.
    let page = post(
        &lucie,
        &periods,
        &periods,
        &[
            ("nom", "Semestre 1"),
            ("debut", "2026-09-01"),
            ("fin", "2027-01-24"),
        ],
    )
    .await;
    assert_eq!(page.status, 303);
    let page = post(
        &lucie,
        &periods,
        &periods,
        &[
            ("nom", "Semestre 2"),
            ("debut", "2027-01-20"),
            ("fin", "2027-07-10"),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    let body = unescape(&page.body);
    assert!(
        body.contains(
            "La période chevauche « Semestre 1 » (du 1er septembre 2026 au 24 janvier 2027)."
        ),
        "{body}"
    );
    assert!(body.contains("La période finit hors de l'année scolaire"));
    assert!(
        body.contains("value=\"Semestre 2\"") && body.contains("value=\"2027-07-10\""),
        "typed values kept"
    );
    let page = lucie.get(&periods).await.unwrap();
    assert!(
        page.body.contains("value=\"2027-01-25\""),
        "the next period starts the day after the last"
    );
    assert!(unescape(&page.body).contains(
        "Des jours de l'année ne sont dans aucune période : du 25 janvier 2027 au 3 juillet 2027."
    ));
    let page = post(
        &lucie,
        &periods,
        &periods,
        &[
            ("nom", "Semestre 2"),
            ("debut", "2027-01-25"),
            ("fin", "2027-07-03"),
        ],
    )
    .await;
    assert_eq!(page.status, 303);
    let page = lucie.get(&periods).await.unwrap();
    assert_eq!(rows(&page.body), 2);
    assert!(!page.body.contains("dans aucune période"));

    // Créneaux: a break is not a slot, and slots never overlap.
    let slots = format!("{base}/creneaux");
    assert_eq!(
        post(
            &lucie,
            &slots,
            &slots,
            &[("nom", "M1"), ("debut", "08:00"), ("fin", "09:00")]
        )
        .await
        .status,
        303
    );
    let page = post(
        &lucie,
        &slots,
        &slots,
        &[("nom", "M2"), ("debut", "08:30"), ("fin", "9h30")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains(
        "Le créneau chevauche « M1 » (8 h 00 – 9 h 00) : une pause n'est pas un créneau."
    ));
    assert!(page.body.contains("value=\"9h30\""));
    let page = post(
        &lucie,
        &slots,
        &slots,
        &[("nom", "M2"), ("debut", "25:00"), ("fin", "")],
    )
    .await;
    let body = unescape(&page.body);
    assert!(
        body.contains("« 25:00 » n'est pas une heure") && body.contains("Indiquez l'heure de fin."),
        "{body}"
    );
    assert_eq!(
        post(
            &lucie,
            &slots,
            &slots,
            &[("nom", "M2"), ("debut", "09:10"), ("fin", "10:05")]
        )
        .await
        .status,
        303
    );
    let body = unescape(&lucie.get(&slots).await.unwrap().body);
    assert!(
        body.find(">M1<").unwrap() < body.find(">M2<").unwrap(),
        "{body}"
    );
    assert!(body.contains("<td>55 min</td>"), "the duration of M2");

    // Subjects: a code is unique.
    let subjects = format!("{base}/matieres");
    assert_eq!(
        post(
            &lucie,
            &subjects,
            &subjects,
            &[("code", "maths"), ("libelle", "Mathématiques")]
        )
        .await
        .status,
        303
    );
    let page = post(
        &lucie,
        &subjects,
        &subjects,
        &[("code", "MATHS"), ("libelle", "Maths expertes")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(
        unescape(&page.body).contains("Le code « MATHS » est déjà celui de « Mathématiques ».")
    );

    // Rooms: the capacity is optional, and a number.
    let rooms = format!("{base}/salles");
    let page = post(
        &lucie,
        &rooms,
        &rooms,
        &[("nom", "Salle 1"), ("capacite", "trente")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(
        unescape(&page.body)
            .contains("« trente » : indiquez un nombre de places entre 1 et 10 000, ou rien.")
    );
    assert_eq!(
        post(
            &lucie,
            &rooms,
            &rooms,
            &[("nom", "Salle 1"), ("capacite", "30")]
        )
        .await
        .status,
        303
    );
    assert_eq!(
        post(
            &lucie,
            &rooms,
            &rooms,
            &[("nom", "Gymnase"), ("capacite", "")]
        )
        .await
        .status,
        303
    );

    // Closures typed by hand.
    let closures = format!("{base}/fermetures");
    let page = post(
        &lucie,
        &closures,
        &closures,
        &[
            ("nom", "Journée pédagogique"),
            ("debut", "2026-10-09"),
            ("fin", "2026-10-08"),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(
        unescape(&page.body)
            .contains("Le dernier jour (8 octobre 2026) est avant le premier (9 octobre 2026).")
    );
    assert_eq!(
        post(
            &lucie,
            &closures,
            &closures,
            &[
                ("nom", "Journée pédagogique"),
                ("debut", "2026-10-09"),
                ("fin", "2026-10-09")
            ]
        )
        .await
        .status,
        303
    );

    // Edit a room: its form shows it; an error keeps what was typed; then saved.
    let list = lucie.get(&rooms).await.unwrap();
    let id = id_of(&unescape(&list.body), &rooms, "Salle 1");
    let edit = format!("{rooms}/{id}");
    let page = lucie.get(&edit).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"Salle 1\"") && page.body.contains("value=\"30\""));
    let page = post(
        &lucie,
        &edit,
        &edit,
        &[("nom", "gymnase"), ("capacite", "31")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Une salle s'appelle déjà « gymnase »."));
    assert!(page.body.contains("value=\"31\""));
    let page = post(
        &lucie,
        &edit,
        &edit,
        &[("nom", "Salle A"), ("capacite", "")],
    )
    .await;
    assert_eq!(page.status, 303);
    assert!(unescape(&lucie.get(&rooms).await.unwrap().body).contains(">Salle A<"));

    // Delete it: a confirmation that writes nothing, then the POST with its token.
    let confirm = format!("{edit}/supprimer");
    let writes = server.app.directory().store().write_count().unwrap();
    let page = lucie.get(&confirm).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        server.app.directory().store().write_count().unwrap(),
        writes,
        "a GET deletes nothing"
    );
    let body = unescape(&page.body);
    assert!(
        body.contains("Supprimer la salle « Salle A » ?") && body.contains("Ce qui sera perdu"),
        "{body}"
    );
    assert!(
        body.contains("La salle « Salle A »") && body.contains(&format!("action=\"{confirm}\""))
    );
    assert_eq!(
        lucie
            .post_raw(&confirm, &[("confirme", "oui")])
            .await
            .unwrap()
            .status,
        403,
        "no token, no deletion"
    );
    assert_eq!(lucie.get(&edit).await.unwrap().status, 200);
    let page = post(&lucie, &confirm, &confirm, &[("confirme", "oui")]).await;
    assert_eq!(
        (page.status, page.location()),
        (303, format!("{rooms}?ok=suppression").as_str())
    );
    assert_eq!(lucie.get(&edit).await.unwrap().status, 404);
    assert_eq!(rows(&lucie.get(&rooms).await.unwrap().body), 1);

    // The year cannot shrink under its periods.
    let page = post(
        &lucie,
        &periods,
        &year,
        &[("debut", "2026-09-02"), ("fin", "2027-07-03")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("« Semestre 1 »"));

    // The overview: the year as weeks, with their period and closures.
    let body = unescape(&lucie.get(&base).await.unwrap().body);
    assert!(body.contains("Année scolaire 2026-2027"), "{body}");
    assert!(
        body.contains("31 août 2026")
            && body.contains("Semestre 2")
            && body.contains("Journée pédagogique")
    );
    let audit = server.app.directory().audit_entries(200).unwrap();
    assert!(
        audit.iter().any(|e| e
            .to_string()
            .contains("vie scolaire : suppression de la salle")),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zone_calendar_loads_in_one_click_once_and_overseas_zones_are_refused() {
    let server = TestServer::start().await.unwrap();
    let lucie = forez_principal(&server).await;
    let base = base(FOREZ);
    let closures = format!("{base}/fermetures");
    let load = format!("{base}/calendrier");

    let page = post(&lucie, &closures, &load, &[("zone", "A")]).await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Enregistrez d'abord l'année scolaire"));
    let periods = format!("{base}/periodes");
    let year = format!("{base}/annee");
    assert_eq!(
        post(
            &lucie,
            &periods,
            &year,
            &[("debut", "2026-09-01"), ("fin", "2027-07-03")]
        )
        .await
        .status,
        303
    );

    let page = post(&lucie, &closures, &load, &[("zone", "")]).await;
    assert_eq!(page.status, 422);
    assert!(unescape(&page.body).contains("Choisissez la zone de vacances de l'établissement."));
    let page = post(&lucie, &closures, &load, &[("zone", "reunion")]).await;
    assert_eq!(page.status, 422);
    let body = unescape(&page.body);
    assert!(
        body.contains("Le calendrier de La Réunion n'est pas fourni"),
        "{body}"
    );
    assert!(
        body.contains("<option value=\"reunion\" selected>"),
        "the choice is kept"
    );
    assert_eq!(rows(&lucie.get(&closures).await.unwrap().body), 0);

    let page = post(&lucie, &closures, &load, &[("zone", "B")]).await;
    assert_eq!(page.status, 303);
    let added: usize = page.location().rsplit('=').next().unwrap().parse().unwrap();
    assert_eq!(
        added,
        14,
        "5 holidays and 9 bank holidays: {}",
        page.location()
    );
    let body = unescape(&lucie.get(page.location()).await.unwrap().body);
    assert!(body.contains("Calendrier chargé : 14 fermetures ajoutées."));
    assert!(
        body.contains("Charger le calendrier de la zone B"),
        "{body}"
    );
    // Zone B's winter holidays: classes end Saturday 20 February 2027, resume Monday 8 March.
    assert!(body.contains("dimanche 21 février 2027") && body.contains("dimanche 7 mars 2027"));
    assert!(body.contains("Lundi de Pentecôte") && body.contains("lundi 17 mai 2027"));
    assert_eq!(rows(&body), 14);

    // Again: nothing doubled.
    let page = post(&lucie, &closures, &load, &[("zone", "B")]).await;
    assert_eq!(page.location(), format!("{closures}?ajoutees=0"));
    let body = unescape(&lucie.get(page.location()).await.unwrap().body);
    assert!(body.contains("Calendrier déjà chargé : aucune fermeture ajoutée."));
    assert_eq!(rows(&body), 14);

    // The overview shows the zone and the closed weeks.
    let body = unescape(&lucie.get(&base).await.unwrap().body);
    assert!(
        body.contains("Zone B") && body.contains("Vacances de Noël") && body.contains(">Fermé<"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_establishments_administrators_and_holders_of_the_right_manage_its_structure() {
    let server = TestServer::start().await.unwrap();
    let base = base(PILAT);
    let rooms = format!("{base}/salles");
    let principal = server.signed_in("principal.pilat").await.unwrap();

    // The demo's Pilat: year, trimestres, zone A closures, grid, subjects, rooms.
    let body = unescape(&principal.get(&base).await.unwrap().body);
    assert!(
        body.contains("Année scolaire 2026-2027") && body.contains("Zone A"),
        "{body}"
    );
    let body = unescape(
        &principal
            .get(&format!("{base}/periodes"))
            .await
            .unwrap()
            .body,
    );
    assert!(
        body.contains("Trimestre 1")
            && body.contains("Trimestre 3")
            && !body.contains("dans aucune période")
    );
    let body = unescape(
        &principal
            .get(&format!("{base}/fermetures"))
            .await
            .unwrap()
            .body,
    );
    assert!(
        body.contains("Vacances d'hiver")
            && body.contains("dimanche 14 février 2027")
            && body.contains("Lundi de Pentecôte")
    );
    let body = unescape(
        &principal
            .get(&format!("{base}/creneaux"))
            .await
            .unwrap()
            .body,
    );
    assert_eq!(rows(&body), 8);
    assert!(body.contains(">M1<") && body.contains(">S4<"));
    assert_eq!(
        rows(
            &principal
                .get(&format!("{base}/matieres"))
                .await
                .unwrap()
                .body
        ),
        12
    );
    let list = principal.get(&rooms).await.unwrap();
    assert_eq!(rows(&list.body), 12);
    let room = ids(&unescape(&list.body), &rooms)
        .into_iter()
        .next()
        .unwrap();
    let room_url = format!("{rooms}/{room}");

    // A pupil, a teacher without the right: refused, by GET and by POST.
    for login in ["emma.martin", "marie.lefebvre"] {
        let client = server.signed_in(login).await.unwrap();
        for path in [
            base.clone(),
            rooms.clone(),
            room_url.clone(),
            format!("{room_url}/supprimer"),
        ] {
            assert_eq!(
                client.get(&path).await.unwrap().status,
                403,
                "{login} GET {path}"
            );
        }
        let page = post(&client, "/login", &rooms, &[("nom", "Salle pirate")]).await;
        assert_eq!(page.status, 403, "{login}");
        let page = post(&client, "/login", &format!("{room_url}/supprimer"), &[]).await;
        assert_eq!(page.status, 403, "{login}");
        assert!(!client.get("/compte").await.unwrap().body.contains(&base));
    }
    // Anonymous visitors are asked to sign in.
    let page = server.client().get(&rooms).await.unwrap();
    assert!(page.location().starts_with("/login"), "{}", page.location());

    // Another establishment's administrator: refused here, even with a real id.
    let lucie = forez_principal(&server).await;
    assert_eq!(
        lucie
            .get(&format!("{}/salles", self::base(FOREZ)))
            .await
            .unwrap()
            .status,
        200
    );
    for path in [base.clone(), rooms.clone(), room_url.clone()] {
        assert_eq!(
            lucie.get(&path).await.unwrap().status,
            403,
            "lucie GET {path}"
        );
    }
    assert_eq!(
        post(&lucie, "/login", &format!("{room_url}/supprimer"), &[])
            .await
            .status,
        403
    );
    assert_eq!(
        post(
            &lucie,
            "/compte",
            &format!("{base}/droits"),
            &[("tab", "utilisateurs"), ("login", "lucie.bernard")]
        )
        .await
        .status,
        403
    );

    // The demo's CPE holds the right: she manages the structure, not who holds the right.
    let cpe = server.signed_in("nathalie.perrin").await.unwrap();
    let account = cpe.get("/compte").await.unwrap();
    assert!(
        unescape(&account.body).contains(&format!("href=\"{base}\"")),
        "« Vie scolaire » from her account"
    );
    let page = post(
        &cpe,
        &rooms,
        &rooms,
        &[("nom", "Salle 105"), ("capacite", "26")],
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(rows(&cpe.get(&rooms).await.unwrap().body), 13);
    assert_eq!(
        cpe.get(&format!("{base}/droits")).await.unwrap().status,
        403
    );
    assert!(!cpe.get(&base).await.unwrap().body.contains("/droits"));
    assert_eq!(
        cpe.get(&format!("{}/salles", self::base(FOREZ)))
            .await
            .unwrap()
            .status,
        403
    );

    // The principal grants the right to a person, then to a group.
    let rights = format!("{base}/droits");
    let page = principal.get(&rights).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(unescape(&page.body).contains("Accès gestionnaire vie scolaire"));
    let page = post(
        &principal,
        &rights,
        &rights,
        &[("tab", "utilisateurs"), ("login", "inconnu")],
    )
    .await;
    assert_eq!(page.status, 422);
    let marie = server.signed_in("marie.lefebvre").await.unwrap();
    let page = post(
        &principal,
        &rights,
        &rights,
        &[("tab", "utilisateurs"), ("login", "marie.lefebvre")],
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(marie.get(&rooms).await.unwrap().status, 200);
    let marie_id = server
        .app
        .directory()
        .user_by_login("marie.lefebvre")
        .unwrap()
        .unwrap()
        .id;
    let page = post(
        &principal,
        &rights,
        &rights,
        &[("tab", "utilisateurs"), ("remove", &marie_id)],
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(marie.get(&rooms).await.unwrap().status, 403);

    let jean = server.signed_in("jean.dupont").await.unwrap();
    assert_eq!(jean.get(&rooms).await.unwrap().status, 403);
    let page = post(
        &principal,
        &rights,
        &rights,
        &[
            ("tab", "populations"),
            ("grant", "groupe:g-ca|gestionnaire"),
        ],
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        jean.get(&rooms).await.unwrap().status,
        200,
        "the conseil d'administration's members"
    );
    assert_eq!(
        marie.get(&rooms).await.unwrap().status,
        403,
        "not in the group"
    );
    assert_eq!(
        cpe.get(&rooms).await.unwrap().status,
        200,
        "her personal grant stays"
    );
    assert_eq!(
        server
            .signed_in("emma.martin")
            .await
            .unwrap()
            .get(&rooms)
            .await
            .unwrap()
            .status,
        403
    );
}
