//! Resource reservations through the real host: every cell of the manual's role table
//! (rights set per domain through the host's « Droits d'accès » page), notifications,
//! concurrent reservations of one slot, periodic reservations, bad input, statistics,
//! and the manual's exercise (the principal adjoint as the only validator). Dates are in
//! 2097 (same calendar as 2030): far enough in the future for the tests to stay valid.

use preau_tests::{Client, PILAT, Page, TestServer, unescape};

const BASE: &str = "/e/0420003A/reservations";

fn url(path: &str) -> String {
    format!("{BASE}{path}")
}

/// The first link below `prefix` after `text` in the page… or before it: the link whose
/// anchor text contains `text`.
fn link_to(html: &str, prefix: &str, text: &str) -> String {
    let html = unescape(html);
    let at = html
        .find(&format!(">{text}<"))
        .unwrap_or_else(|| panic!("« {text} » absent : {html}"));
    let start = html[..at]
        .rfind(prefix)
        .unwrap_or_else(|| panic!("pas de lien {prefix} avant « {text} »"));
    html[start..]
        .chars()
        .take_while(|c| !matches!(c, '"' | '?' | '#'))
        .collect()
}

/// Every link below `prefix` in a page, in order (without query or fragment).
fn links(html: &str, prefix: &str) -> Vec<String> {
    let html = unescape(html);
    html.match_indices(prefix)
        .map(|(i, _)| {
            html[i..]
                .chars()
                .take_while(|c| !matches!(c, '"' | '?' | '#'))
                .collect()
        })
        .collect()
}

/// The demo's « Salle informatique » domain and « Salle Multi 1 » resource.
async fn demo_ids(client: &Client) -> (String, String) {
    let index = client.get(&url("/")).await.unwrap();
    assert_eq!(index.status, 200, "{}", index.body);
    let domain = link_to(&index.body, &url("/d/"), "Salle informatique");
    let resource = link_to(&index.body, &url("/r/"), "Salle Multi 1");
    (domain, resource)
}

async fn reserve(client: &Client, resource: &str, fields: &[(&str, &str)]) -> Page {
    client.post_form(resource, resource, fields).await.unwrap()
}

async fn reserve_slot(client: &Client, resource: &str, date: &str, start: &str, end: &str) -> Page {
    reserve(
        client,
        resource,
        &[
            ("date", date),
            ("debut", start),
            ("fin", end),
            ("objet", "Cours"),
            ("repetition", "aucune"),
        ],
    )
    .await
}

/// The reservation created by a 303 to the calendar: the link of the slot `time`
/// (« 10 h – 11 h ») in the calendar of `date`'s week.
async fn reservation_at(client: &Client, resource: &str, date: &str, time: &str) -> String {
    let page = client
        .get(&format!("{resource}?vue=jour&date={date}"))
        .await
        .unwrap();
    link_to(&page.body, &url("/reservation/"), time)
}

async fn notifications(client: &Client) -> String {
    let page = client.get("/notifications").await.unwrap();
    assert_eq!(page.status, 200, "/notifications");
    unescape(&page.body)
}

/// Grants `role` to `login` on the host's rights page `rights` (tab « accès utilisateurs »).
async fn grant_user(admin: &Client, rights: &str, login: &str, role: &str) {
    let page = admin
        .post_form(
            rights,
            rights,
            &[("tab", "utilisateurs"), ("login", login), ("role", role)],
        )
        .await
        .unwrap();
    assert_eq!(
        page.status, 303,
        "{login} {role} sur {rights} : {}",
        page.body
    );
}

/// Sets the populations of a rights page (tab « accès population »).
async fn grant_populations(admin: &Client, rights: &str, grants: &[&str]) {
    let mut fields = vec![("tab", "populations")];
    fields.extend(grants.iter().map(|g| ("grant", *g)));
    let page = admin.post_form(rights, rights, &fields).await.unwrap();
    assert_eq!(page.status, 303, "{rights} : {}", page.body);
}

/// The host's « Droits d'accès » page of a domain, as its link on the domain page.
async fn domain_rights_url(admin: &Client, domain: &str) -> String {
    let page = admin.get(domain).await.unwrap();
    let html = unescape(&page.body);
    let at = html.find(">Droits d'accès<").expect("lien Droits d'accès");
    let start = html[..at].rfind("href=\"").expect("href") + 6;
    html[start..].chars().take_while(|c| *c != '"').collect()
}

const PLUGIN_RIGHTS: &str = "/admin/e/0420003A/plugins/reservations/droits";

/// The five roles of the manual, one demo person each (none of them an administrator).
const ROLES: [(&str, &str); 5] = [
    ("visiteur", "kevin.charpentier"),
    ("redacteur", "marie.lefebvre"),
    ("redacteur-en-ligne", "karim.haddad"),
    ("moderateur", "sophie.giraud"),
    ("gestionnaire", "nathalie.perrin"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_of_the_role_table() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let (domain, resource) = demo_ids(&admin).await;
    // Each person gets one role on the domain (its resources inherit it) and in the
    // service as a whole (creating domains).
    let rights = domain_rights_url(&admin, &domain).await;
    for (role, login) in ROLES {
        grant_user(&admin, &rights, login, role).await;
        grant_user(&admin, PLUGIN_RIGHTS, login, role).await;
    }
    let mut clients = Vec::new();
    for (role, login) in ROLES {
        clients.push((role, login, server.signed_in(login).await.unwrap()));
    }
    // Rights set on the domain decide: a teacher without a grant there sees nothing of it.
    let outsider = server.signed_in("jean.dupont").await.unwrap();
    assert_eq!(outsider.get(&resource).await.unwrap().status, 403);

    // « Consulter les disponibilités » : oui ×5.
    for (role, login, client) in &clients {
        let page = client.get(&resource).await.unwrap();
        assert_eq!(page.status, 200, "{role} ({login}) consulte");
        assert!(page.body.contains("<table class=\"table calendar\">"));
    }

    // « Créer une réservation » : non, oui (soumis à validation), oui, oui, oui.
    let date = "2097-03-05";
    let mut own: Vec<(&str, Option<String>)> = Vec::new();
    for (i, (role, login, client)) in clients.iter().enumerate() {
        let start = format!("{:02}:00", 8 + i);
        let end = format!("{:02}:00", 9 + i);
        let page = reserve_slot(client, &resource, date, &start, &end).await;
        if *role == "visiteur" {
            assert_eq!(page.status, 403, "{role} ({login}) réserve");
            own.push((role, None));
            continue;
        }
        assert_eq!(page.status, 303, "{role} ({login}) réserve : {}", page.body);
        let time = format!("{} h – {} h", 8 + i, 9 + i);
        let link = reservation_at(client, &resource, date, &time).await;
        let detail = client.get(&link).await.unwrap().body;
        let expected = if *role == "redacteur" {
            "en attente de validation"
        } else {
            "validée"
        };
        assert!(detail.contains(expected), "{role} : {expected}");
        own.push((role, Some(link)));
    }

    // « Destinataire des notifications de réservations à valider » : the rédacteur's
    // reservation notified the modérateur and the gestionnaire only.
    for (role, login, client) in &clients {
        let seen = notifications(client).await;
        let notified = seen.contains("Réservation à valider : Salle Multi 1");
        assert_eq!(
            notified,
            matches!(*role, "moderateur" | "gestionnaire"),
            "{role} ({login}) notifié de la réservation à valider"
        );
    }

    // « Modifier la réservation dont il est l'auteur » : non (no reservation of their
    // own, and no right to modify one), oui (soumis à validation), oui, oui, oui.
    for (i, ((role, login, client), (_, link))) in clients.iter().zip(&own).enumerate() {
        let Some(link) = link else {
            let someone = own[2].1.clone().unwrap();
            let page = client
                .post_form(
                    &resource,
                    &someone,
                    &[("date", date), ("debut", "18:00"), ("fin", "19:00")],
                )
                .await
                .unwrap();
            assert_eq!(page.status, 403, "{role} ({login}) modifie");
            continue;
        };
        let start = format!("{:02}:30", 8 + i);
        let end = format!("{:02}:00", 9 + i);
        let page = client
            .post_form(
                link,
                link,
                &[
                    ("date", date),
                    ("debut", &start),
                    ("fin", &end),
                    ("objet", "Modifié"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            page.status, 303,
            "{role} ({login}) modifie la sienne : {}",
            page.body
        );
        let detail = client.get(link).await.unwrap().body;
        assert!(detail.contains("Modifié"));
        let expected = if *role == "redacteur" {
            "en attente de validation"
        } else {
            "validée"
        };
        assert!(
            detail.contains(expected),
            "{role} après modification : {expected}"
        );
    }

    // « Modifier / valider / supprimer la réservation d'un autre » : non, non, non, oui, oui.
    // Targets: the rédacteur's pending reservation (validate), the rédacteur avec mise
    // en ligne's (modify), fresh ones of the gestionnaire (delete).
    let pending = own[1].1.clone().unwrap();
    let other = own[2].1.clone().unwrap();
    for (i, (role, login, client)) in clients.iter().enumerate() {
        let allowed = matches!(*role, "moderateur" | "gestionnaire");
        let target = if *role == "redacteur-en-ligne" {
            own[3].1.clone().unwrap()
        } else {
            other.clone()
        };
        let start = format!("{:02}:00", 14 + i);
        let end = format!("{:02}:30", 14 + i);
        let page = client
            .post_form(
                &resource,
                &target,
                &[("date", date), ("debut", &start), ("fin", &end)],
            )
            .await
            .unwrap();
        assert_eq!(
            page.status,
            if allowed { 303 } else { 403 },
            "{role} ({login}) modifie celle d'un autre"
        );
        let page = client
            .post_form(&resource, &format!("{pending}/valider"), &[])
            .await
            .unwrap();
        assert_eq!(
            page.status,
            if allowed { 303 } else { 403 },
            "{role} valide celle d'un autre"
        );
        // A victim for deletion, booked by the gestionnaire (or the modérateur for the
        // gestionnaire's own test).
        let owner = if *role == "gestionnaire" {
            &clients[3].2
        } else {
            &clients[4].2
        };
        let day = format!("2097-04-{:02}", 2 + i);
        assert_eq!(
            reserve_slot(owner, &resource, &day, "10:00", "11:00")
                .await
                .status,
            303
        );
        let victim = reservation_at(owner, &resource, &day, "10 h – 11 h").await;
        let page = client
            .post_form(&resource, &format!("{victim}/supprimer"), &[])
            .await
            .unwrap();
        assert_eq!(
            page.status,
            if allowed { 303 } else { 403 },
            "{role} supprime celle d'un autre"
        );
        let gone = owner.get(&victim).await.unwrap().status == 404;
        assert_eq!(gone, allowed, "{role} : suppression effective");
    }
    // The rédacteur's reservation was validated: its author was notified.
    assert!(
        notifications(&clients[1].2)
            .await
            .contains("Réservation validée : Salle Multi 1")
    );

    // « Destinataire des notifications du seuil » : non ×4, oui for the gestionnaire.
    let config = format!("/admin/e/{PILAT}/plugins/reservations");
    let page = admin
        .post_form(
            &config,
            &config,
            &[("seuil", "2"), ("seuil_periode", "semaine")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let karim = &clients[2].2;
    for (day, start, end) in [
        ("2097-05-06", "08:00", "09:00"),
        ("2097-05-07", "08:00", "09:00"),
    ] {
        assert_eq!(
            reserve_slot(karim, &resource, day, start, end).await.status,
            303
        );
    }
    for (role, login, client) in &clients {
        let seen = notifications(client).await;
        assert_eq!(
            seen.contains("Seuil de réservations atteint : Karim Haddad"),
            *role == "gestionnaire",
            "{role} ({login}) notifié du seuil"
        );
    }
    // A blocking threshold refuses the next one, naming the week.
    let page = admin
        .post_form(
            &config,
            &config,
            &[
                ("seuil", "2"),
                ("seuil_periode", "semaine"),
                ("seuil_bloquant", "true"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let page = reserve_slot(karim, &resource, "2097-05-08", "08:00", "09:00").await;
    assert_eq!(page.status, 422);
    assert!(
        unescape(&page.body)
            .contains("seuil de 2 réservations par semaine (semaine du lundi 6 mai 2097)")
    );

    // « Créer un domaine de ressources / une ressource » : non ×4, oui.
    for (role, login, client) in &clients {
        let allowed = *role == "gestionnaire";
        let page = client
            .post_form(
                &url("/"),
                &url("/domaines"),
                &[("nom", &format!("Domaine de {login}"))],
            )
            .await
            .unwrap();
        assert_eq!(
            page.status,
            if allowed { 303 } else { 403 },
            "{role} crée un domaine"
        );
        let page = client
            .post_form(
                &domain,
                &domain,
                &[("nom", &format!("Ressource de {login}"))],
            )
            .await
            .unwrap();
        assert_eq!(
            page.status,
            if allowed { 303 } else { 403 },
            "{role} crée une ressource"
        );
        if allowed {
            assert!(
                page.location().starts_with(&url("/r/")),
                "{}",
                page.location()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reservations_of_one_slot_exactly_one_wins() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let (_, resource) = demo_ids(&admin).await;
    // Staff may book too, so that eight different people try.
    grant_populations(
        &admin,
        PLUGIN_RIGHTS,
        &[
            "profil:enseignant|redacteur-en-ligne",
            "profil:personnel|redacteur-en-ligne",
        ],
    )
    .await;
    let logins = [
        "jean.dupont",
        "marie.lefebvre",
        "karim.haddad",
        "sophie.giraud",
        "thomas.roux",
        "nathalie.perrin",
        "isabelle.moreau",
        "kevin.charpentier",
    ];
    let mut ready = Vec::new();
    for login in logins {
        let client = server.signed_in(login).await.unwrap();
        let csrf = client.get(&resource).await.unwrap().csrf().expect("csrf");
        ready.push((client, csrf));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (client, csrf) in ready {
        let resource = resource.clone();
        tasks.spawn(async move {
            client
                .post_raw(
                    &resource,
                    &[
                        ("date", "2097-06-04"),
                        ("debut", "10:00"),
                        ("fin", "11:00"),
                        ("repetition", "aucune"),
                        ("csrf", &csrf),
                    ],
                )
                .await
                .unwrap()
        });
    }
    let mut won = 0;
    let mut lost = 0;
    while let Some(page) = tasks.join_next().await {
        let page = page.unwrap();
        match page.status {
            303 => won += 1,
            409 => {
                assert!(
                    unescape(&page.body)
                        .contains("Ce créneau est déjà réservé le mardi 4 juin 2097"),
                    "{}",
                    page.body
                );
                lost += 1
            }
            other => panic!("statut inattendu {other} : {}", page.body),
        }
    }
    assert_eq!((won, lost), (1, 7));
    let calendar = admin
        .get(&format!("{resource}?date=2097-06-04"))
        .await
        .unwrap();
    // Shown twice (the week's grid and the phone's day list), but one reservation.
    let mut shown = links(&calendar.body, &url("/reservation/"));
    shown.dedup();
    assert_eq!(shown.len(), 1, "{shown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_reservations_are_all_or_nothing_and_bad_input_is_named() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let (_, resource) = demo_ids(&teacher).await;
    let other = server.signed_in("marie.lefebvre").await.unwrap();
    // Tuesday 2097-03-19 is taken by Marie.
    assert_eq!(
        reserve_slot(&other, &resource, "2097-03-19", "10:30", "11:30")
            .await
            .status,
        303
    );
    let weekly = |until: &'static str| {
        vec![
            ("date", "2097-03-05"),
            ("debut", "10:00"),
            ("fin", "11:00"),
            ("objet", "Club robotique"),
            ("repetition", "hebdomadaire"),
            ("jusqu_au", until),
        ]
    };
    let page = reserve(&teacher, &resource, &weekly("2097-04-02")).await;
    assert_eq!(page.status, 409, "{}", page.body);
    let body = unescape(&page.body);
    assert!(
        body.contains("Ce créneau est déjà réservé le mardi 19 mars 2097"),
        "{body}"
    );
    assert!(
        body.contains("value=\"Club robotique\""),
        "the form keeps what was typed"
    );
    // All or nothing: no occurrence was written.
    for date in ["2097-03-05", "2097-03-12", "2097-03-26"] {
        let week = teacher
            .get(&format!("{resource}?date={date}"))
            .await
            .unwrap();
        assert!(!week.body.contains("Club robotique"), "{date}");
    }
    // Without the conflict: every Tuesday until 2097-03-12, then Marie's week stays hers.
    let page = reserve(&teacher, &resource, &weekly("2097-03-12")).await;
    assert_eq!(page.status, 303, "{}", page.body);
    for date in ["2097-03-05", "2097-03-12"] {
        let week = teacher
            .get(&format!("{resource}?date={date}"))
            .await
            .unwrap();
        assert!(week.body.contains("Club robotique"), "{date}");
        assert!(week.body.contains("Jean Dupont"), "author shown");
    }

    // Bad input: a precise French message on the field, nothing created.
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[
                ("date", "2020-03-06"),
                ("debut", "10:00"),
                ("fin", "11:00"),
                ("objet", "À l'envers"),
            ],
            "La date est passée (vendredi 6 mars 2020)",
        ),
        (
            &[
                ("date", "2097-03-06"),
                ("debut", "11:00"),
                ("fin", "10:00"),
                ("objet", "À l'envers"),
            ],
            "L'heure de fin doit être après l'heure de début.",
        ),
        (
            &[
                ("date", "mercredi"),
                ("debut", "10:00"),
                ("fin", "11:00"),
                ("objet", "À l'envers"),
            ],
            "La date n'est pas une date valide",
        ),
        (
            &[
                ("date", "2097-02-30"),
                ("debut", "10:00"),
                ("fin", "11:00"),
                ("objet", "À l'envers"),
            ],
            "La date n'est pas une date valide",
        ),
        (
            &[
                ("date", "2097-03-06"),
                ("debut", "10:00"),
                ("fin", "11:00"),
                ("objet", "À l'envers"),
                ("repetition", "hebdomadaire"),
                ("jusqu_au", "2097-03-01"),
            ],
            "La fin de la répétition est avant le premier jour de la réservation.",
        ),
        (
            &[
                ("date", "2097-03-06"),
                ("debut", "10:00"),
                ("fin", "11:00"),
                ("objet", "À l'envers"),
                ("repetition", "quotidienne"),
                ("jusqu_au", "2098-03-01"),
            ],
            "Trop de répétitions : au plus 60 occurrences",
        ),
    ];
    for (fields, message) in cases {
        let page = reserve(&teacher, &resource, fields).await;
        assert_eq!(page.status, 422, "{message}");
        let body = unescape(&page.body);
        assert!(body.contains(message), "{message} : {body}");
        assert!(body.contains("value=\"À l'envers\""), "form kept");
    }
    let week = teacher
        .get(&format!("{resource}?date=2097-03-06"))
        .await
        .unwrap();
    assert!(!unescape(&week.body).contains("À l'envers"));
    // Unknown resource.
    let page = teacher
        .post_form(
            &resource,
            &url("/r/00000000000fffff"),
            &[("date", "2097-03-06"), ("debut", "10:00"), ("fin", "11:00")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 404);
    assert_eq!(
        teacher.get(&url("/r/nimportequoi")).await.unwrap().status,
        404
    );

    // Week and day navigation.
    let week = teacher
        .get(&format!("{resource}?date=2097-03-05"))
        .await
        .unwrap();
    let html = unescape(&week.body);
    assert!(html.contains("semaine du lundi 4 mars 2097"));
    assert!(html.contains("date=2097-02-25\">← Semaine précédente"));
    assert!(html.contains("date=2097-03-11\">Semaine suivante"));
    assert!(html.contains("<th scope=\"row\">10 h</th>"));
    let day = teacher
        .get(&format!("{resource}?vue=jour&date=2097-03-05"))
        .await
        .unwrap();
    let html = unescape(&day.body);
    assert!(html.contains("Disponibilités — mardi 5 mars 2097"));
    assert!(html.contains("Club robotique"));

    // Statistics (moderators and gestionnaires): the principal administers everything.
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let stats = admin
        .get(&format!(
            "{resource}/statistiques?periode=mois&date=2097-03-01"
        ))
        .await
        .unwrap();
    assert_eq!(stats.status, 200);
    let html = unescape(&stats.body);
    assert!(
        html.contains("mars 2097 : 3 réservations, 3 h réservées"),
        "{html}"
    );
    assert!(html.contains("data:image/svg+xml"));
    assert!(html.contains("<th scope=\"row\">Jean Dupont</th><td>2</td><td>2 h</td>"));
    assert_eq!(
        teacher
            .get(&format!("{resource}/statistiques"))
            .await
            .unwrap()
            .status,
        403
    );
}

/// The manual's exercise: « le principal adjoint souhaite être l'unique personne qui
/// puisse valider les demandes de réservations ». Teachers become Rédacteur (their
/// reservations wait for validation); the principal adjoint (played by Nathalie Perrin)
/// becomes Gestionnaire, the only role above Rédacteur avec mise en ligne.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_principal_adjoint_is_the_only_validator() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let (_, resource) = demo_ids(&admin).await;
    grant_populations(
        &admin,
        PLUGIN_RIGHTS,
        &["profil:enseignant|redacteur", "profil:personnel|visiteur"],
    )
    .await;
    grant_user(&admin, PLUGIN_RIGHTS, "nathalie.perrin", "gestionnaire").await;

    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let page = teacher.get(&resource).await.unwrap();
    assert!(page.body.contains("soumise à validation"));
    assert_eq!(
        reserve_slot(&teacher, &resource, "2097-09-10", "10:00", "11:00")
            .await
            .status,
        303
    );
    let link = reservation_at(&teacher, &resource, "2097-09-10", "10 h – 11 h").await;
    assert!(
        teacher
            .get(&link)
            .await
            .unwrap()
            .body
            .contains("en attente de validation")
    );
    // The teacher cannot validate it, nor can another teacher.
    for client in [&teacher, &server.signed_in("marie.lefebvre").await.unwrap()] {
        let page = client
            .post_form(&resource, &format!("{link}/valider"), &[])
            .await
            .unwrap();
        assert_eq!(page.status, 403);
    }
    // The adjoint is notified, and lists it among the reservations to validate.
    let adjoint = server.signed_in("nathalie.perrin").await.unwrap();
    let colleague = server.signed_in("marie.lefebvre").await.unwrap();
    assert!(
        notifications(&adjoint)
            .await
            .contains("Réservation à valider : Salle Multi 1")
    );
    assert!(
        !notifications(&colleague)
            .await
            .contains("Réservation à valider")
    );
    let list = adjoint.get(&url("/a-valider")).await.unwrap();
    assert!(list.body.contains("Jean Dupont"));
    let page = adjoint
        .post_form(&link, &format!("{link}/valider"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert!(teacher.get(&link).await.unwrap().body.contains("validée"));
    assert!(
        notifications(&teacher)
            .await
            .contains("Réservation validée : Salle Multi 1")
    );
    // A periodic request is validated at once for all its occurrences.
    let page = reserve(
        &teacher,
        &resource,
        &[
            ("date", "2097-09-17"),
            ("debut", "14:00"),
            ("fin", "15:00"),
            ("objet", "Atelier"),
            ("repetition", "hebdomadaire"),
            ("jusqu_au", "2097-10-01"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let first = reservation_at(&teacher, &resource, "2097-09-17", "14 h – 15 h").await;
    let page = adjoint
        .post_form(
            &first,
            &format!("{first}/valider"),
            &[("toute_la_serie", "oui")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    for date in ["2097-09-17", "2097-09-24", "2097-10-01"] {
        let link = reservation_at(&teacher, &resource, date, "14 h – 15 h").await;
        let detail = teacher.get(&link).await.unwrap().body;
        assert!(
            detail.contains("validée") && !detail.contains("en attente"),
            "{date}"
        );
    }
    assert!(
        !adjoint
            .get(&url("/a-valider"))
            .await
            .unwrap()
            .body
            .contains("Jean Dupont")
    );

    // The home-page block lists it for the teacher.
    let mine = teacher.get(&url("/")).await.unwrap();
    assert!(unescape(&mine.body).contains("Mes prochaines réservations"));
    assert!(unescape(&mine.body).contains("mardi 10 septembre 2097"));
    let home = unescape(&teacher.get(&format!("/e/{PILAT}/")).await.unwrap().body);
    let block = home
        .find("Mes prochaines réservations</h2>")
        .expect("home-page block");
    assert!(home[block..].contains("mardi 10 septembre 2097, 10 h – 11 h"));
}

/// « Droits d'accès » per resource: the resource's own rights override its domain's, the
/// host's page names the object, and a gestionnaire of a domain edits its rights.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_of_a_resource_override_its_domain() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let (domain, multi) = demo_ids(&admin).await;
    let index = admin.get(&url("/")).await.unwrap();
    let projector = link_to(&index.body, &url("/r/"), "Vidéoprojecteur mobile");
    let rights = domain_rights_url(&admin, &projector).await;
    let page = admin.get(&rights).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(
        unescape(&page.body).contains("Salle informatique › Vidéoprojecteur mobile"),
        "describe_scope"
    );
    let unknown = rights.replace(projector.rsplit('/').next().unwrap(), "00000000000000ff");
    assert_eq!(admin.get(&unknown).await.unwrap().status, 404);

    // The projector is lent to Emma (a pupil, no role in the service) and no one else.
    grant_user(&admin, &rights, "emma.martin", "redacteur-en-ligne").await;
    let pupil = server.signed_in("emma.martin").await.unwrap();
    assert_eq!(pupil.get(&projector).await.unwrap().status, 200);
    assert_eq!(pupil.get(&multi).await.unwrap().status, 403);
    assert_eq!(
        reserve_slot(&pupil, &projector, "2097-10-01", "10:00", "11:00")
            .await
            .status,
        303
    );
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    assert_eq!(teacher.get(&projector).await.unwrap().status, 403);
    assert_eq!(teacher.get(&multi).await.unwrap().status, 200);
    let list = unescape(&teacher.get(&url("/")).await.unwrap().body);
    assert!(list.contains("Salle Multi 1") && !list.contains("Vidéoprojecteur mobile"));

    // A gestionnaire of the domain (not of the service) manages it and its rights.
    let domain_rights = domain_rights_url(&admin, &domain).await;
    grant_user(&admin, &domain_rights, "nathalie.perrin", "gestionnaire").await;
    let manager = server.signed_in("nathalie.perrin").await.unwrap();
    assert_eq!(
        domain_rights_url(&manager, &domain).await,
        domain_rights,
        "link shown"
    );
    assert_eq!(manager.get(&domain_rights).await.unwrap().status, 200);
    // …and the rights of the domain's resources that follow it, not of one whose own
    // rights leave her out.
    let resource_rights = |resource: &str| {
        format!(
            "/admin/e/0420003A/plugins/reservations/droits/objet/r-{}",
            resource.rsplit('/').next().unwrap()
        )
    };
    assert_eq!(
        manager.get(&resource_rights(&multi)).await.unwrap().status,
        200
    );
    assert_eq!(
        manager
            .get(&resource_rights(&projector))
            .await
            .unwrap()
            .status,
        403
    );
    grant_user(&manager, &domain_rights, "karim.haddad", "moderateur").await;
    // Karim moderates this domain only: the index links to the reservations to validate.
    let karim = server.signed_in("karim.haddad").await.unwrap();
    let index = unescape(&karim.get(&url("/")).await.unwrap().body);
    assert!(index.contains("Réservations à valider"));
    let index = unescape(&teacher.get(&url("/")).await.unwrap().body);
    assert!(!index.contains("Réservations à valider"));
    let page = manager
        .post_form(
            &url("/"),
            &url("/domaines"),
            &[("nom", "Hors de son domaine")],
        )
        .await
        .unwrap();
    assert_eq!(
        page.status, 403,
        "creating a domain needs the service's gestionnaire"
    );
    let page = manager
        .post_form(&domain, &domain, &[("nom", "Salle Multi 2")])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let multi2 = page.location().to_string();

    // « Paramètres »: rename, with errors that keep what was typed; deletion.
    let settings = format!("{multi2}/parametres");
    assert_eq!(teacher.get(&settings).await.unwrap().status, 403);
    assert_eq!(manager.get(&settings).await.unwrap().status, 200);
    let page = manager
        .post_form(
            &settings,
            &settings,
            &[("nom", " "), ("description", "Deuxième salle")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    let body = unescape(&page.body);
    assert!(body.contains("Donnez un nom.") && body.contains("value=\"Deuxième salle\""));
    let page = manager
        .post_form(
            &settings,
            &settings,
            &[
                ("nom", "Salle Multi 2 (B12)"),
                ("description", "Deuxième salle"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert!(
        manager
            .get(&multi2)
            .await
            .unwrap()
            .body
            .contains("Salle Multi 2 (B12)")
    );
    let domain_settings = format!("{domain}/parametres");
    let page = manager
        .post_form(&domain_settings, &format!("{domain}/supprimer"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 422, "a domain with resources stays");
    assert!(unescape(&page.body).contains("Ce domaine contient encore des ressources"));
    let page = manager
        .post_form(&settings, &format!("{multi2}/supprimer"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(manager.get(&multi2).await.unwrap().status, 404);
}

/// A blocking threshold holds for a modification too: moving a reservation into a
/// week where its author already has the maximum is refused, as a new booking would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_threshold_is_not_bypassed_by_moving_a_reservation() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let (_, resource) = demo_ids(&admin).await;
    let config = format!("/admin/e/{PILAT}/plugins/reservations");
    let page = admin
        .post_form(
            &config,
            &config,
            &[
                ("seuil", "2"),
                ("seuil_periode", "semaine"),
                ("seuil_bloquant", "true"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    for day in ["2097-05-06", "2097-05-07", "2097-05-13"] {
        let page = reserve_slot(&teacher, &resource, day, "08:00", "09:00").await;
        assert_eq!(page.status, 303, "{day} : {}", page.body);
    }
    // The week of the 6th is full: a third one there is refused…
    let page = reserve_slot(&teacher, &resource, "2097-05-08", "08:00", "09:00").await;
    assert_eq!(page.status, 422);
    // …and so is moving the one of the 13th there.
    let link = reservation_at(&teacher, &resource, "2097-05-13", "8 h – 9 h").await;
    let move_to = |date: &'static str| {
        [
            ("date", date),
            ("debut", "08:00"),
            ("fin", "09:00"),
            ("objet", "Déplacée"),
        ]
    };
    let page = teacher
        .post_form(&link, &link, &move_to("2097-05-08"))
        .await
        .unwrap();
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        unescape(&page.body)
            .contains("seuil de 2 réservations par semaine (semaine du lundi 6 mai 2097)")
    );
    let detail = unescape(&teacher.get(&link).await.unwrap().body);
    assert!(detail.contains("13 mai 2097") && !detail.contains("Déplacée"));
    // Within its own week, or to a week with room, it moves.
    let page = teacher
        .post_form(&link, &link, &move_to("2097-05-14"))
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let page = teacher
        .post_form(&link, &link, &move_to("2097-05-21"))
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
}

/// A refusal that lands while the author's modification is being checked does not
/// come back to life when the modification writes: the modification is written only
/// if the reservation is still the one it read. (The author's many reservations make
/// the threshold count, read between the two, take a while.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_refused_during_its_modification_stays_refused() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let (_, resource) = demo_ids(&admin).await;
    let config = format!("/admin/e/{PILAT}/plugins/reservations");
    let page = admin
        .post_form(
            &config,
            &config,
            &[("seuil", "500"), ("seuil_periode", "mois")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    for (year, hour) in [2098, 2099]
        .into_iter()
        .flat_map(|y| (7..19).map(move |h| (y, h)))
    {
        let (start, end) = (format!("{hour:02}:00"), format!("{:02}:00", hour + 1));
        let page = reserve(
            &teacher,
            &resource,
            &[
                ("date", &format!("{year}-01-05")),
                ("debut", &start),
                ("fin", &end),
                ("repetition", "hebdomadaire"),
                ("jusqu_au", &format!("{year}-12-31")),
            ],
        )
        .await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
    let csrf_teacher = teacher.get(&resource).await.unwrap().csrf().unwrap();
    let csrf_admin = admin.get(&resource).await.unwrap().csrf().unwrap();
    let mut revived = Vec::new();
    for round in 0..12u64 {
        let day = format!("2097-06-{:02}", round + 2);
        let page = reserve_slot(&teacher, &resource, &day, "10:00", "11:00").await;
        assert_eq!(page.status, 303, "{}", page.body);
        let link = reservation_at(&teacher, &resource, &day, "10 h – 11 h").await;
        let move_fields = [
            ("date", day.as_str()),
            ("debut", "10:30"),
            ("fin", "11:30"),
            ("csrf", csrf_teacher.as_str()),
        ];
        let refuse_fields = [("csrf", csrf_admin.as_str())];
        let refusal = format!("{link}/refuser");
        let modify = teacher.post_raw(&link, &move_fields);
        let refuse = async {
            tokio::time::sleep(std::time::Duration::from_millis(1 + round % 6)).await;
            admin.post_raw(&refusal, &refuse_fields).await
        };
        let (modified, refused) = tokio::join!(modify, refuse);
        let (modified, refused) = (modified.unwrap(), refused.unwrap());
        if modified.status == 409 {
            assert!(
                unescape(&modified.body).contains("supprimée entre-temps"),
                "{}",
                modified.body
            );
        } else {
            assert!(matches!(modified.status, 303 | 404), "{}", modified.body);
        }
        let after = teacher.get(&link).await.unwrap();
        if refused.status == 303 && after.status != 404 {
            revived.push(day);
        }
    }
    assert!(revived.is_empty(), "refusées puis recréées : {revived:?}");
}

/// Deleting a resource takes its reservations with it: a confirmation page (a GET
/// that changes nothing) counts them and names their authors first (issue 17).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_resource_is_confirmed_with_its_reservations_counted() {
    let server = TestServer::start().await.unwrap();
    let manager = server.signed_in("principal.pilat").await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let (domain, resource) = demo_ids(&manager).await;
    let page = reserve_slot(&teacher, &resource, "2097-03-05", "10:00", "11:00").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let confirm = format!("{resource}/supprimer");
    let settings = manager
        .get(&format!("{resource}/parametres"))
        .await
        .unwrap();
    assert!(unescape(&settings.body).contains(&format!("href=\"{confirm}\"")));

    assert_eq!(teacher.get(&confirm).await.unwrap().status, 403);
    let writes = server.app.directory().store().write_count().unwrap();
    let page = manager.get(&confirm).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        server.app.directory().store().write_count().unwrap(),
        writes
    );
    let body = unescape(&page.body);
    assert!(
        body.contains("Supprimer la ressource « Salle Multi 1 » ?"),
        "{body}"
    );
    assert!(
        body.contains("1 réservation à venir, sans prévenir son auteur."),
        "{body}"
    );
    assert!(
        body.contains("Réservations à venir de : Jean Dupont."),
        "{body}"
    );
    assert!(body.contains(&format!("action=\"{confirm}\"")) && body.contains("name=\"csrf\""));
    assert_eq!(
        teacher.get(&resource).await.unwrap().status,
        200,
        "nothing deleted yet"
    );

    // A domain that still has resources has nothing to confirm: its settings say why.
    let page = manager.get(&format!("{domain}/supprimer")).await.unwrap();
    assert_eq!(page.status, 303);
    assert!(page.location().ends_with("/parametres"));

    let page = manager.post_form(&confirm, &confirm, &[]).await.unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(manager.get(&resource).await.unwrap().status, 404);
}
