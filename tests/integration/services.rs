//! The services catalogue: region connectors (inherited, locked), an
//! establishment's own connectors, "Mes services" per profile, the `/ouvrir`
//! redirects, the authorization of every route, and the CAS server.

use preau_host::services;
use preau_tests::{Client, DEMO_PASSWORD, FOREZ, PILAT, Page, TestServer};

const PRONOTE_URL: &str = "https://demo.index-education.net/pronote/";

/// Percent-encodes a query value.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn post(client: &Client, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
    client.post_form(form_page, path, fields).await.unwrap()
}

fn own_codes(server: &TestServer, uai: &str) -> Vec<String> {
    services::establishment_catalogue(server.app.directory(), uai)
        .unwrap()
        .connectors
        .into_iter()
        .map(|c| c.code)
        .collect()
}

fn connector<'a>(code: &'a str, label: &'a str, url: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("code", code),
        ("label", label),
        ("url", url),
        ("sso", "aucun"),
        ("order", "6.5"),
        ("category", "personnels"),
        ("active", "oui"),
        ("profiles", "enseignant"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inherited_region_connectors_show_in_establishments_and_locked_ones_cannot_change() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let catalogue = format!("/admin/e/{PILAT}/services");
    let page = principal.get(&catalogue).await.unwrap();
    assert_eq!(page.status, 200);
    for expected in ["PRONOTE", "LIVRESCOLAIRE", "ONISEP", "EFIVOL", "blog"] {
        assert!(page.body.contains(expected), "{expected} listed");
    }
    assert!(page.body.contains("Verrouillé par la région"));

    // Locked: shown read-only, and a forged POST is refused.
    let pronote = format!("{catalogue}/PRONOTE");
    let page = principal.get(&pronote).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Verrouillé par la région"));
    assert!(!page.body.contains("name=\"order\""), "no form");
    let csrf = principal.get(&catalogue).await.unwrap().csrf().unwrap();
    let refused = principal
        .post_raw(
            &pronote,
            &[
                ("csrf", &csrf),
                ("order", "9"),
                ("category", "autres"),
                ("everyone", "oui"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    assert!(
        services::establishment_catalogue(server.app.directory(), PILAT)
            .unwrap()
            .region
            .is_empty()
    );
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let mine = format!("/e/{PILAT}/services");
    assert!(pupil.get(&mine).await.unwrap().body.contains("Pronote"));

    // Unlocked: the establishment deactivates it, then goes back to the region's settings.
    let livre = format!("{catalogue}/LIVRESCOLAIRE");
    let saved = post(
        &principal,
        &livre,
        &livre,
        &[
            ("order", "2"),
            ("category", "ressources"),
            ("profiles", "enseignant"),
            ("profiles", "eleve"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(
        !pupil
            .get(&mine)
            .await
            .unwrap()
            .body
            .contains("Le livre scolaire")
    );
    let reset = post(&principal, &livre, &livre, &[("action", "reset")]).await;
    assert_eq!(reset.status, 303);
    assert!(
        pupil
            .get(&mine)
            .await
            .unwrap()
            .body
            .contains("Le livre scolaire")
    );

    // A new inherited connector of the region reaches every establishment.
    let admin = server.signed_in("admin").await.unwrap();
    let mut fields = connector("ARENA", "Arena", "https://arena.ac-lyon.fr/");
    fields.extend([("inherited", "oui"), ("locked", "oui")]);
    let created = post(&admin, "/admin/services", "/admin/services", &fields).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let forez = admin
        .get(&format!("/admin/e/{FOREZ}/services"))
        .await
        .unwrap();
    assert!(forez.body.contains("ARENA") && forez.body.contains("Verrouillé par la région"));

    // Locked without being inherited makes no sense: refused, nothing saved.
    let mut fields = connector("SOLO", "Solo", "https://solo.example/");
    fields.push(("locked", "oui"));
    let page = post(&admin, "/admin/services", "/admin/services", &fields).await;
    assert_eq!(page.status, 422);
    assert!(
        page.body
            .contains("Seul un service proposé aux établissements")
    );
    assert_eq!(
        services::region_catalogue(server.app.directory())
            .unwrap()
            .connectors
            .len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn establishment_connectors_are_created_edited_deleted_with_field_errors() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let catalogue = format!("/admin/e/{PILAT}/services");
    let before = own_codes(&server, PILAT);

    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "mauvais code!",
            "Doodal",
            "https://doodal.example/",
            "Le code ne peut contenir",
        ),
        (
            "DOODAL",
            "Doodal",
            "ftp://doodal.example/",
            "Adresse invalide",
        ),
        (
            "EFIVOL",
            "Doublon",
            "https://doodal.example/",
            "Le code « EFIVOL » est déjà utilisé.",
        ),
        (
            "PRONOTE",
            "Doublon",
            "https://doodal.example/",
            "Le code « PRONOTE » est déjà utilisé.",
        ),
        (
            "DOODAL",
            "",
            "https://doodal.example/",
            "L&#x27;intitulé est obligatoire.",
        ),
    ];
    for (code, label, url, message) in cases {
        let page = post(
            &principal,
            &catalogue,
            &catalogue,
            &connector(code, label, url),
        )
        .await;
        assert_eq!(page.status, 422, "{code} {url}");
        assert!(
            page.body.contains(message) || page.body.contains(&message.replace("&#x27;", "'")),
            "{message}"
        );
        assert_eq!(own_codes(&server, PILAT), before, "nothing saved");
    }
    // What was typed is kept.
    let mut fields = connector("DOODAL", "Planificateur Doodal", "https://doodal.example/");
    fields[4] = ("order", "beaucoup");
    let page = post(&principal, &catalogue, &catalogue, &fields).await;
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("L&#x27;ordre doit être un nombre")
            || page.body.contains("L'ordre doit être un nombre")
    );
    assert!(page.body.contains("value=\"Planificateur Doodal\""));
    assert!(page.body.contains("value=\"beaucoup\""));

    // Create, edit (with an error, then properly), delete.
    let fields = connector("DOODAL", "Doodal", "https://doodal.example/");
    let page = post(&principal, &catalogue, &catalogue, &fields).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(own_codes(&server, PILAT).contains(&"DOODAL".to_string()));
    let edit = format!("{catalogue}/DOODAL");
    let bad = post(
        &principal,
        &edit,
        &edit,
        &[
            ("label", "Doodal"),
            ("url", "javascript:alert(1)"),
            ("sso", "aucun"),
            ("order", "1"),
            ("category", "personnels"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422);
    let stored = services::establishment_catalogue(server.app.directory(), PILAT).unwrap();
    let doodal = stored
        .connectors
        .iter()
        .find(|c| c.code == "DOODAL")
        .unwrap();
    assert_eq!(doodal.url, "https://doodal.example/");
    let good = post(
        &principal,
        &edit,
        &edit,
        &[
            ("label", "Doodal (réunions)"),
            ("url", "https://doodal.example/v2"),
            ("sso", "aucun"),
            ("order", "7,5"),
            ("category", "pedagogie"),
            ("active", "oui"),
            ("everyone", "oui"),
        ],
    )
    .await;
    assert_eq!(good.status, 303, "{}", good.body);
    let stored = services::establishment_catalogue(server.app.directory(), PILAT).unwrap();
    let doodal = stored
        .connectors
        .iter()
        .find(|c| c.code == "DOODAL")
        .unwrap();
    assert_eq!(
        (doodal.label.as_str(), doodal.order, doodal.access.everyone),
        ("Doodal (réunions)", 7.5, true)
    );
    let delete = format!("{edit}/supprimer");
    assert_eq!(post(&principal, &edit, &delete, &[]).await.status, 303);
    assert!(!own_codes(&server, PILAT).contains(&"DOODAL".to_string()));

    // Codes are unique per establishment: another one may have its own EFIVOL,
    // but a region connector may not take a code an establishment uses.
    let admin = server.signed_in("admin").await.unwrap();
    let forez = format!("/admin/e/{FOREZ}/services");
    let fields = connector("EFIVOL", "Efivol", "https://efivol.ac-lyon.fr/");
    assert_eq!(post(&admin, &forez, &forez, &fields).await.status, 303);
    let page = post(&admin, "/admin/services", "/admin/services", &fields).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Le code « EFIVOL » est déjà utilisé."));

    // Region connectors and plugins are not deleted from an establishment.
    let pronote = format!("{catalogue}/PRONOTE/supprimer");
    assert_eq!(
        post(&principal, &catalogue, &pronote, &[]).await.status,
        403
    );

    let audit: Vec<String> = server
        .app
        .directory()
        .audit_entries(50)
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["action"], e["target"]))
        .collect();
    for action in [
        "création d'un service",
        "modification d'un service",
        "suppression d'un service",
    ] {
        assert!(
            audit
                .iter()
                .any(|a| a.contains(action) && a.contains("DOODAL")),
            "{action}"
        );
    }
}

/// Labels of the services shown on "Mes services".
async fn shown(client: &Client) -> String {
    let page = client.get(&format!("/e/{PILAT}/services")).await.unwrap();
    assert_eq!(page.status, 200);
    page.body
}

async fn open(client: &Client, code: &str) -> Page {
    client
        .get(&format!("/e/{PILAT}/services/{code}/ouvrir"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mes_services_shows_and_opens_only_what_each_profile_may_use() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let parent = server.signed_in("paul.martin").await.unwrap();
    let anonymous = server.client();

    let page = shown(&teacher).await;
    for label in [
        "Pronote",
        "Le livre scolaire",
        "Onisep",
        "Efivol",
        "Rendez-vous",
        "Blog",
    ] {
        assert!(page.contains(label), "teacher sees {label}");
    }
    let page = shown(&pupil).await;
    assert!(
        page.contains("Pronote") && page.contains("Le livre scolaire") && page.contains("Onisep")
    );
    assert!(!page.contains("Efivol") && !page.contains("Rendez-vous"));
    let page = shown(&parent).await;
    assert!(page.contains("Pronote") && page.contains("Onisep"));
    assert!(!page.contains("Le livre scolaire") && !page.contains("Efivol"));
    let page = shown(&anonymous).await;
    assert!(page.contains("Onisep"));
    assert!(!page.contains("Pronote") && !page.contains("Efivol"));
    // The menu of every establishment page carries the same services.
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap().body;
    assert!(home.contains("Mes services") && home.contains("Le livre scolaire"));
    assert!(!home.contains("Efivol"));

    // Opening re-checks access on the server.
    let opened = open(&teacher, "EFIVOL").await;
    assert_eq!(opened.status, 303);
    assert_eq!(opened.location(), "https://efivol.ac-lyon.fr/");
    assert_eq!(open(&pupil, "EFIVOL").await.status, 403);
    assert_eq!(open(&parent, "LIVRESCOLAIRE").await.status, 403);
    assert_eq!(open(&pupil, "LIVRESCOLAIRE").await.status, 303);
    let refused = open(&anonymous, "PRONOTE").await;
    assert_eq!(refused.status, 303);
    assert!(refused.location().starts_with("/login?next="));
    assert_eq!(
        open(&anonymous, "ONISEP").await.location(),
        "https://www.onisep.fr/"
    );
    assert_eq!(open(&teacher, "INCONNU").await.status, 404);
    // A teacher of another establishment is an outsider here.
    let outsider = server.signed_in("lucie.bernard").await.unwrap();
    assert_eq!(open(&outsider, "PRONOTE").await.status, 403);

    // Deactivated: gone from the page, 404 when opened, even for its administrator.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let edit = format!("/admin/e/{PILAT}/services/EFIVOL");
    let page = post(
        &principal,
        &edit,
        &edit,
        &[
            ("label", "Efivol"),
            ("url", "https://efivol.ac-lyon.fr/"),
            ("sso", "aucun"),
            ("order", "4"),
            ("category", "personnels"),
            ("profiles", "enseignant"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(!shown(&teacher).await.contains("Efivol"));
    assert_eq!(open(&teacher, "EFIVOL").await.status, 404);
    assert_eq!(open(&principal, "EFIVOL").await.status, 404);
    // The administrator sees every active service, whatever its access.
    assert!(shown(&principal).await.contains("Rendez-vous"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_services_route_checks_rights() {
    let server = TestServer::start().await.unwrap();
    // An administrator of the other establishment.
    let directory = server.app.directory();
    let lucie = directory.user_by_login("lucie.bernard").unwrap().unwrap();
    let mut admin_forez = lucie.clone();
    admin_forez.memberships[0].admin = true;
    directory.save_user(Some(&lucie), &admin_forez).unwrap();

    let establishment_gets = [
        format!("/admin/e/{PILAT}/services"),
        format!("/admin/e/{PILAT}/services/EFIVOL"),
    ];
    let establishment_posts = [
        format!("/admin/e/{PILAT}/services"),
        format!("/admin/e/{PILAT}/services/EFIVOL"),
        format!("/admin/e/{PILAT}/services/EFIVOL/supprimer"),
    ];
    let region_gets = [
        "/admin/services".to_string(),
        "/admin/services/PRONOTE".into(),
    ];
    let region_posts = [
        "/admin/services".to_string(),
        "/admin/services/PRONOTE".into(),
        "/admin/services/PRONOTE/supprimer".into(),
    ];
    let fields = connector("INTRUS", "Intrus", "https://intrus.example/");

    for login in [
        "emma.martin",
        "jean.dupont",
        "lucie.bernard",
        "principal.pilat",
    ] {
        let client = server.signed_in(login).await.unwrap();
        let csrf = client.get("/compte").await.unwrap().csrf().unwrap();
        let mut with_csrf = fields.clone();
        with_csrf.push(("csrf", &csrf));
        let establishment_allowed = login == "principal.pilat";
        for path in &establishment_gets {
            let status = client.get(path).await.unwrap().status;
            assert_eq!(
                status == 200,
                establishment_allowed,
                "{login} GET {path}: {status}"
            );
            if !establishment_allowed {
                assert_eq!(status, 403, "{login} GET {path}");
            }
        }
        for path in region_gets.iter() {
            assert_eq!(
                client.get(path).await.unwrap().status,
                403,
                "{login} GET {path}"
            );
        }
        let posts = region_posts.iter().chain(
            establishment_posts
                .iter()
                .filter(|_| !establishment_allowed),
        );
        for path in posts {
            let status = client.post_raw(path, &with_csrf).await.unwrap().status;
            assert_eq!(status, 403, "{login} POST {path}");
        }
    }
    // The other establishment's administrator manages their own catalogue.
    let forez_admin = server.signed_in("lucie.bernard").await.unwrap();
    let forez = format!("/admin/e/{FOREZ}/services");
    assert_eq!(forez_admin.get(&forez).await.unwrap().status, 200);

    // Anonymous visitors are sent to sign in, and change nothing.
    let anonymous = server.client();
    for path in establishment_gets.iter().chain(region_gets.iter()) {
        let page = anonymous.get(path).await.unwrap();
        assert_eq!(page.status, 303, "GET {path}");
        assert!(page.location().starts_with("/login"));
    }
    for path in establishment_posts.iter().chain(region_posts.iter()) {
        let status = anonymous.post_raw(path, &fields).await.unwrap().status;
        assert!(status == 303 || status == 403, "POST {path}: {status}");
    }
    // Without a CSRF token, even the administrators change nothing.
    let admin = server.signed_in("admin").await.unwrap();
    for path in establishment_posts.iter().chain(region_posts.iter()) {
        assert_eq!(
            admin.post_raw(path, &fields).await.unwrap().status,
            403,
            "{path}"
        );
    }
    assert_eq!(own_codes(&server, PILAT), ["EFIVOL", "RENDEZ-VOUS"]);
    assert_eq!(
        services::region_catalogue(server.app.directory())
            .unwrap()
            .connectors
            .len(),
        3
    );
}

/// Signs in through `/cas/login` and returns the ticket the service received.
async fn ticket_for(client: &Client, service: &str) -> String {
    let page = client
        .get(&format!("/cas/login?service={}", enc(service)))
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location();
    let separator = if service.contains('?') { '&' } else { '?' };
    let prefix = format!("{service}{separator}ticket=");
    assert!(location.starts_with(&prefix), "{location}");
    let ticket = location[prefix.len()..].to_string();
    assert!(ticket.starts_with("ST-") && ticket.len() >= 35);
    assert!(
        ticket[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    ticket
}

async fn validate(client: &Client, endpoint: &str, ticket: &str, service: &str) -> Page {
    let page = client
        .get(&format!(
            "{endpoint}?ticket={}&service={}",
            enc(ticket),
            enc(service)
        ))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap_or("").contains("xml"));
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_tickets_sign_people_into_allowed_cas_connectors_once() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let backend = server.client();
    let service = format!("{PRONOTE_URL}?login=true");

    let ticket = ticket_for(&teacher, &service).await;
    let page = validate(&backend, "/cas/serviceValidate", &ticket, &service).await;
    assert!(
        page.body.contains("<cas:authenticationSuccess>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<cas:user>jean.dupont</cas:user>"));
    assert!(page.body.contains("<cas:uai>0420003A</cas:uai>"));
    assert!(page.body.contains("<cas:profile>enseignant</cas:profile>"));
    assert!(
        page.body
            .contains("<cas:displayName>Jean Dupont</cas:displayName>")
    );
    // Replay fails.
    let page = validate(&backend, "/cas/serviceValidate", &ticket, &service).await;
    assert!(
        page.body.contains("code=\"INVALID_TICKET\""),
        "{}",
        page.body
    );

    // A ticket presented for another service fails, and is spent.
    let ticket = ticket_for(&teacher, PRONOTE_URL).await;
    let page = validate(
        &backend,
        "/cas/p3/serviceValidate",
        &ticket,
        "https://autre.example/",
    )
    .await;
    assert!(page.body.contains("code=\"INVALID_SERVICE\""));
    let page = validate(&backend, "/cas/p3/serviceValidate", &ticket, PRONOTE_URL).await;
    assert!(page.body.contains("code=\"INVALID_TICKET\""));
    // CAS 3.0 path.
    let ticket = ticket_for(&teacher, PRONOTE_URL).await;
    let page = validate(&backend, "/cas/p3/serviceValidate", &ticket, PRONOTE_URL).await;
    assert!(page.body.contains("<cas:user>jean.dupont</cas:user>"));
    // Missing parameters.
    let page = backend
        .get("/cas/serviceValidate?ticket=ST-1")
        .await
        .unwrap();
    assert!(page.body.contains("code=\"INVALID_REQUEST\""));

    // Refused: a connector without CAS, a look-alike host, a profile without access.
    for refused in [
        "https://www.lelivrescolaire.fr/",
        "https://demo.index-education.net.evil.example/pronote/",
        "https://evil.example/",
    ] {
        let page = teacher
            .get(&format!("/cas/login?service={}", enc(refused)))
            .await
            .unwrap();
        assert_eq!(page.status, 403, "{refused}");
        assert!(
            page.body
                .contains("Service non autorisé pour l&#x27;authentification unique")
                || page
                    .body
                    .contains("Service non autorisé pour l'authentification unique")
        );
    }
    let staff = server.signed_in("nathalie.perrin").await.unwrap();
    let page = staff
        .get(&format!("/cas/login?service={}", enc(PRONOTE_URL)))
        .await
        .unwrap();
    assert_eq!(page.status, 403);

    // Not signed in: to the sign-in page, and back to the CAS login after it.
    let pupil = server.client();
    let page = pupil
        .get(&format!("/cas/login?service={}", enc(PRONOTE_URL)))
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let next = format!("/cas/login?service={}", enc(PRONOTE_URL));
    assert_eq!(page.location(), format!("/login?next={}", enc(&next)));
    let login_page = format!("/login?next={}", enc(&next));
    let signed = pupil
        .post_form(
            &login_page,
            "/login",
            &[
                ("login", "emma.martin"),
                ("password", DEMO_PASSWORD),
                ("next", &next),
            ],
        )
        .await
        .unwrap();
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location(), next);
    let ticket = ticket_for(&pupil, PRONOTE_URL).await;
    let page = validate(&backend, "/cas/serviceValidate", &ticket, PRONOTE_URL).await;
    assert!(page.body.contains("<cas:user>emma.martin</cas:user>"));
    assert!(page.body.contains("<cas:profile>eleve</cas:profile>"));

    // Sign-out: a GET only asks (no GET changes state); the confirmation form
    // POSTs with the CSRF token and goes back to the connector only if it is one.
    let ask = format!("/cas/logout?service={}", enc(PRONOTE_URL));
    let page = teacher.get(&ask).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Se déconnecter ?"));
    assert!(
        page.body.contains("action=\"/cas/logout\"")
            || page.body.contains("action=\"&#x2f;cas&#x2f;logout\"")
    );
    assert_eq!(
        teacher.get("/compte").await.unwrap().status,
        200,
        "still signed in"
    );
    let page = teacher
        .post_form(&ask, "/cas/logout", &[("service", PRONOTE_URL)])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), PRONOTE_URL);
    assert_eq!(
        teacher.get("/compte").await.unwrap().status,
        303,
        "signed out"
    );
    // Signed out already: the GET goes back to the connector at once.
    let page = teacher.get(&ask).await.unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), PRONOTE_URL);
    // An unknown service is not kept in the form, nor followed.
    let evil = format!("/cas/logout?service={}", enc("https://evil.example/"));
    let page = pupil.get(&evil).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("evil.example"));
    let page = pupil
        .post_form(
            &evil,
            "/cas/logout",
            &[("service", "https://evil.example/")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Vous êtes déconnecté"));
    assert_eq!(pupil.get("/compte").await.unwrap().status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_responses_escape_xml() {
    let server = TestServer::start().await.unwrap();
    let directory = server.app.directory();
    let jean = directory.user_by_login("jean.dupont").unwrap().unwrap();
    let mut renamed = jean.clone();
    renamed.first_name = "Jean <b>&\"'".into();
    directory.save_user(Some(&jean), &renamed).unwrap();

    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let backend = server.client();
    let ticket = ticket_for(&teacher, PRONOTE_URL).await;
    let page = validate(&backend, "/cas/serviceValidate", &ticket, PRONOTE_URL).await;
    assert!(
        page.body
            .contains("<cas:firstName>Jean &lt;b&gt;&amp;&quot;&#39;</cas:firstName>"),
        "{}",
        page.body
    );
    let page = validate(&backend, "/cas/serviceValidate", "<x&\"y>", PRONOTE_URL).await;
    assert!(page.body.contains("&lt;x&amp;&quot;y&gt;"), "{}", page.body);
    assert!(!page.body.contains("<x&"));
    let evil_service = "https://a.example/?q=</cas:authenticationFailure><cas:user>admin";
    let ticket = ticket_for(&teacher, PRONOTE_URL).await;
    let page = validate(&backend, "/cas/serviceValidate", &ticket, evil_service).await;
    assert!(page.body.contains("INVALID_SERVICE"));
    assert!(!page.body.contains("<cas:user>"), "{}", page.body);
}
