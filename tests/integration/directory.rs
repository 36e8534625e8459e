//! The directory: people, groups, rights, access windows, identifiers files,
//! audit log and self-service, through the administration pages.

use preau_tests::{Client, DEMO_PASSWORD, FOREZ, PILAT, TestServer};

fn admin_url(path: &str) -> String {
    format!("/admin/e/{PILAT}{path}")
}

fn person(first: &str, last: &str, profile: &str) -> Vec<(&'static str, String)> {
    vec![
        ("profile", profile.to_string()),
        ("civility", "Mme".to_string()),
        ("first_name", first.to_string()),
        ("last_name", last.to_string()),
        ("perenne", "oui".to_string()),
    ]
}

async fn post(
    client: &Client,
    form_page: &str,
    path: &str,
    fields: &[(&str, String)],
) -> preau_tests::Page {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post_form(form_page, path, &fields).await.unwrap()
}

fn user_count(server: &TestServer) -> usize {
    server.app.directory().users().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_user_generates_the_login_and_warns_about_homonyms() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let new = admin_url("/annuaire/nouveau");
    let form = principal.get(&new).await.unwrap();
    assert_eq!(form.status, 200);
    let page = post(
        &principal,
        &new,
        &new,
        &person("Émilie", "Durand-Léger", "personnel"),
    )
    .await;
    // Post/redirect/get: the answer is a redirect to the person's page, without the password.
    assert_eq!(page.status, 303, "{}", page.body);
    let created = server
        .app
        .directory()
        .user_by_login("emilie.durandleger")
        .unwrap()
        .unwrap();
    let secret = created
        .pending_secret
        .clone()
        .expect("initial password kept for the identifiers file");
    let person_page = admin_url(&format!("/annuaire/u/{}", created.id));
    assert_eq!(page.location(), person_page);
    assert!(!page.location().contains(&secret) && !page.body.contains(&secret));
    let shown = principal.get(&person_page).await.unwrap();
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("emilie.durandleger"));
    assert!(shown.body.contains("Mot de passe initial"));
    assert!(shown.body.contains(&secret), "initial password shown once");
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    let reloaded = principal.get(&person_page).await.unwrap();
    assert_eq!(reloaded.status, 200);
    assert!(
        !reloaded.body.contains(&secret),
        "a reload shows it no more"
    );
    assert!(!reloaded.body.contains("Mot de passe initial"));
    assert_eq!(created.memberships[0].uai, PILAT);

    // Same names again: the homonym is shown and nothing is created yet.
    let before = user_count(&server);
    let page = post(
        &principal,
        &new,
        &new,
        &person("Emilie", "DURAND-LEGER", "personnel"),
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("emilie.durandleger"), "homonym listed");
    assert!(page.body.contains("confirm_homonyms"));
    assert_eq!(user_count(&server), before);
    let mut confirmed = person("Emilie", "DURAND-LEGER", "personnel");
    confirmed.push(("confirm_homonyms", "oui".into()));
    let page = post(&principal, &new, &new, &confirmed).await;
    assert_eq!(page.status, 303);
    assert!(
        server
            .app
            .directory()
            .user_by_login("emilie.durandleger2")
            .unwrap()
            .is_some(),
        "collision suffix"
    );

    // The new person signs in with the initial password, which is then forgotten.
    let client = server.client();
    assert_eq!(
        client
            .login("emilie.durandleger", &secret)
            .await
            .unwrap()
            .status,
        303
    );
    let after = server
        .app
        .directory()
        .user_by_login("emilie.durandleger")
        .unwrap()
        .unwrap();
    assert!(after.pending_secret.is_none() && after.last_login.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_field_errors_in_french_and_changes_nothing() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let new = admin_url("/annuaire/nouveau");
    let before = user_count(&server);
    let mut fields = person("", "Martin", "eleve");
    fields.push(("email", "pas-une-adresse".into()));
    fields.push(("groups", "g-inconnu".into()));
    let page = post(&principal, &new, &new, &fields).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Le prénom est obligatoire."));
    assert!(page.body.contains("Adresse électronique invalide"));
    assert!(page.body.contains("Groupe inconnu"));
    assert_eq!(user_count(&server), before);

    // A login already used by someone else.
    let emma = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap();
    let url = admin_url(&format!("/annuaire/u/{}", emma.id));
    let mut fields = person("Emma", "Martin", "eleve");
    fields.push(("login", "jean.dupont".into()));
    fields.push(("groups", "g-4a".into()));
    let page = post(&principal, &url, &url, &fields).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("déjà utilisé"));
    assert_eq!(
        server
            .app
            .directory()
            .user(&emma.id)
            .unwrap()
            .unwrap()
            .login,
        "emma.martin"
    );

    // An access window whose end precedes its start.
    let windows = admin_url("/acces");
    let fields = [
        ("profile", "eleve".to_string()),
        ("from", "2026-09-01".into()),
        ("until", "2026-08-01".into()),
    ];
    let page = post(&principal, &windows, &windows, &fields).await;
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("La date d&#x27;ouverture doit suivre")
            || page.body.contains("La date d'ouverture doit suivre")
    );
    assert!(
        server
            .app
            .directory()
            .access_windows(PILAT)
            .unwrap()
            .is_empty()
    );

    // A group without a name.
    let groups = admin_url("/groupes");
    let page = post(
        &principal,
        &groups,
        &groups,
        &[("name", String::new()), ("kind", "libre".into())],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Le nom du groupe est obligatoire."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_is_by_prefix_accent_and_case_insensitive_within_a_scope() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let page = principal.get(&admin_url("/annuaire?q=GAR")).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Garnier"));
    assert!(page.body.contains("Léa") && page.body.contains("Rose"));
    let page = principal
        .get(&admin_url("/annuaire?q=garnier+ro"))
        .await
        .unwrap();
    assert!(page.body.contains("Rose") && !page.body.contains("Léa"));
    let page = principal.get(&admin_url("/annuaire?q=leo")).await.unwrap();
    assert!(page.body.contains("Léo"), "accent-insensitive first names");
    // The Forez teacher is found region-wide only.
    let here = principal
        .get(&admin_url("/annuaire?q=bernard&portee=etab"))
        .await
        .unwrap();
    assert!(!here.body.contains("lucie.bernard"));
    let region = principal
        .get(&admin_url("/annuaire?q=bernard&portee=region"))
        .await
        .unwrap();
    assert!(region.body.contains("lucie.bernard"));
    assert!(region.body.contains("Lycée du Forez"));
    // Profile filter.
    let parents = principal
        .get(&admin_url("/annuaire?q=martin&profil=parent"))
        .await
        .unwrap();
    assert!(parents.body.contains("paul.martin") && !parents.body.contains("emma.martin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_routes_are_closed_to_non_administrators_and_other_establishments() {
    let server = TestServer::start().await.unwrap();
    let lucie = server
        .app
        .directory()
        .user_by_login("lucie.bernard")
        .unwrap()
        .unwrap();
    let emma = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap();
    let get_routes = [
        admin_url("/annuaire"),
        admin_url("/annuaire/nouveau"),
        admin_url(&format!("/annuaire/u/{}", emma.id)),
        admin_url("/groupes"),
        admin_url("/groupes/g-4a"),
        admin_url("/plugins/blog/droits"),
        admin_url("/acces"),
        admin_url("/identifiants"),
        admin_url("/identifiants/x.csv"),
        admin_url("/delegations"),
        "/admin/journal".to_string(),
    ];
    for login in ["jean.dupont", "emma.martin", "paul.martin", "lucie.bernard"] {
        let client = server.signed_in(login).await.unwrap();
        for route in &get_routes {
            assert_eq!(
                client.get(route).await.unwrap().status,
                403,
                "{login} GET {route}"
            );
        }
        let csrf = client.get("/compte").await.unwrap().csrf().unwrap();
        let post_routes = [
            admin_url("/annuaire/nouveau"),
            admin_url(&format!("/annuaire/u/{}", emma.id)),
            admin_url(&format!("/annuaire/u/{}/mot-de-passe", emma.id)),
            admin_url(&format!("/annuaire/u/{}/blocage", emma.id)),
            admin_url(&format!("/annuaire/u/{}/rattachements", emma.id)),
            admin_url(&format!(
                "/annuaire/u/{}/rattachements/{PILAT}/supprimer",
                emma.id
            )),
            admin_url(&format!("/annuaire/u/{}/enfants", emma.id)),
            admin_url("/groupes"),
            admin_url("/groupes/g-4a"),
            admin_url("/plugins/blog/droits"),
            admin_url("/acces"),
            admin_url("/identifiants"),
            admin_url("/identifiants/x.csv/supprimer"),
            admin_url("/delegations"),
        ];
        for route in &post_routes {
            let page = client
                .post_raw(route, &[("csrf", &csrf), ("blocked", "oui")])
                .await
                .unwrap();
            assert_eq!(page.status, 403, "{login} POST {route}");
        }
    }
    assert!(
        !server
            .app
            .directory()
            .user(&emma.id)
            .unwrap()
            .unwrap()
            .blocked
    );
    let anonymous = server.client();
    assert_eq!(
        anonymous.get(&admin_url("/annuaire")).await.unwrap().status,
        303
    );

    // The Pilat administrator cannot reach the Forez directory, nor a Forez person through Pilat.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    assert_eq!(
        principal
            .get(&format!("/admin/e/{FOREZ}/annuaire"))
            .await
            .unwrap()
            .status,
        403
    );
    assert_eq!(
        principal
            .get(&admin_url(&format!("/annuaire/u/{}", lucie.id)))
            .await
            .unwrap()
            .status,
        404
    );
    let csrf = principal
        .get(&admin_url("/annuaire"))
        .await
        .unwrap()
        .csrf()
        .unwrap();
    let page = principal
        .post_raw(
            &admin_url(&format!("/annuaire/u/{}/blocage", lucie.id)),
            &[("csrf", &csrf), ("blocked", "oui")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 404);
    assert!(
        !server
            .app
            .directory()
            .user(&lucie.id)
            .unwrap()
            .unwrap()
            .blocked
    );
    let page = principal
        .post_raw(
            &format!("/admin/e/{FOREZ}/annuaire/nouveau"),
            &[("csrf", &csrf), ("first_name", "X")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_sees_only_their_children_and_a_pupil_only_themselves() {
    let server = TestServer::start().await.unwrap();
    let parent = server.signed_in("paul.martin").await.unwrap();
    let page = parent.get("/compte").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Emma Martin"));
    assert!(
        page.body.contains("Tom Martin"),
        "siblings share their parent"
    );
    assert!(!page.body.contains("Léa Garnier"));
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let page = pupil.get("/compte").await.unwrap();
    assert!(page.body.contains("emma.martin"));
    assert!(!page.body.contains("paul.martin"));
    assert!(!page.body.contains("@"), "no one's contact details");
    assert_eq!(server.client().get("/compte").await.unwrap().status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_hold_the_rights_granted_to_the_group() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let groups = admin_url("/groupes");
    let page = post(
        &principal,
        &groups,
        &groups,
        &[("name", "Club journal".into()), ("kind", "libre".into())],
    )
    .await;
    assert_eq!(page.status, 303);
    let group_url = page.location().to_string();
    let group_id = group_url.rsplit('/').next().unwrap().to_string();
    let page = post(
        &principal,
        &group_url,
        &group_url,
        &[("action", "add".into()), ("login", "emma.martin".into())],
    )
    .await;
    assert_eq!(page.status, 303);
    assert!(
        principal
            .get(&group_url)
            .await
            .unwrap()
            .body
            .contains("emma.martin")
    );

    // The group becomes rédacteur in the blog.
    let rights = admin_url("/plugins/blog/droits");
    let grants = [
        ("tab", "populations".to_string()),
        ("grant", "profil:eleve|lecteur".into()),
        ("grant", "profil:parent|lecteur".into()),
        ("grant", "profil:enseignant|redacteur-en-ligne".into()),
        ("grant", format!("groupe:{group_id}|redacteur")),
    ];
    assert_eq!(
        post(&principal, &rights, &rights, &grants).await.status,
        303
    );
    let emma = server.signed_in("emma.martin").await.unwrap();
    assert_eq!(
        emma.get(&format!("/e/{PILAT}/blog/new"))
            .await
            .unwrap()
            .status,
        200
    );
    let other_pupil = server.signed_in("lea.garnier").await.unwrap();
    assert_eq!(
        other_pupil
            .get(&format!("/e/{PILAT}/blog/new"))
            .await
            .unwrap()
            .status,
        403
    );

    // Removing her from the group takes the right away.
    let emma_id = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap()
        .id;
    let page = post(
        &principal,
        &group_url,
        &group_url,
        &[("action", "remove".into()), ("user", emma_id)],
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        emma.get(&format!("/e/{PILAT}/blog/new"))
            .await
            .unwrap()
            .status,
        403
    );

    // Individual rights (users tab).
    let page = post(
        &principal,
        &rights,
        &rights,
        &[
            ("tab", "utilisateurs".into()),
            ("login", "lea.garnier".into()),
            ("role", "redacteur".into()),
        ],
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        other_pupil
            .get(&format!("/e/{PILAT}/blog/new"))
            .await
            .unwrap()
            .status,
        200
    );
    let rights_page = principal
        .get(&format!("{rights}?onglet=utilisateurs"))
        .await
        .unwrap();
    assert!(rights_page.body.contains("lea.garnier"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_windows_block_a_profile_and_stack_with_individual_blocks() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    assert_eq!(
        pupil
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .status,
        200
    );

    let windows = admin_url("/acces");
    let fields = [
        ("profile", "eleve".to_string()),
        ("from", "2020-01-01".into()),
        ("until", "2099-09-01".into()),
    ];
    assert_eq!(
        post(&principal, &windows, &windows, &fields).await.status,
        303
    );
    // Signing in is refused with the opening date; an open session loses its rights.
    let page = server
        .client()
        .login("emma.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    assert!(
        page.body.contains("ouvrira le 1er septembre 2099"),
        "{}",
        page.body
    );
    assert_eq!(
        pupil
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .status,
        403
    );
    // Teachers are not concerned.
    assert_eq!(
        server
            .client()
            .login("jean.dupont", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        303
    );

    // Paul is blocked individually; a parents' window and its removal leave that block in place.
    let paul = server
        .app
        .directory()
        .user_by_login("paul.martin")
        .unwrap()
        .unwrap();
    let url = admin_url(&format!("/annuaire/u/{}", paul.id));
    assert_eq!(
        post(
            &principal,
            &url,
            &format!("{url}/blocage"),
            &[("blocked", "oui".into())]
        )
        .await
        .status,
        303
    );
    let fields = [
        ("profile", "parent".to_string()),
        ("from", "2020-01-01".into()),
        ("until", "2099-09-01".into()),
    ];
    assert_eq!(
        post(&principal, &windows, &windows, &fields).await.status,
        303
    );
    for window in server.app.directory().access_windows(PILAT).unwrap() {
        assert_eq!(
            post(&principal, &windows, &windows, &[("remove", window.id)])
                .await
                .status,
            303
        );
    }
    assert!(
        server
            .app
            .directory()
            .access_windows(PILAT)
            .unwrap()
            .is_empty()
    );
    let page = server
        .client()
        .login("paul.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    assert!(page.body.contains("bloqué"));
    assert_eq!(
        server
            .client()
            .login("emma.martin", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_files_list_accounts_safely() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    // A pupil whose name starts like a formula, created by hand: the file has their initial password.
    let new = admin_url("/annuaire/nouveau");
    let mut fields = person("Zoé", "=Cmd", "eleve");
    fields.push(("groups", "g-4a".into()));
    assert_eq!(post(&principal, &new, &new, &fields).await.status, 303);
    let zoe = server
        .app
        .directory()
        .user_by_login("zoe.cmd")
        .unwrap()
        .unwrap();
    let secret = zoe.pending_secret.clone().unwrap();

    let files = admin_url("/identifiants");
    assert_eq!(
        post(&principal, &files, &files, &[("since", String::new())])
            .await
            .status,
        303
    );
    let listing = principal.get(&files).await.unwrap();
    let name = regex::Regex::new(r"ENT-Identifiants-0420003A-[0-9-]+\.csv")
        .unwrap()
        .find(&listing.body)
        .unwrap()
        .as_str()
        .to_string();
    let csv = principal
        .get(&admin_url(&format!("/identifiants/{name}")))
        .await
        .unwrap();
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.body.starts_with('\u{feff}'), "UTF-8 BOM");
    assert!(csv.body.contains("Profil;Nom;Prénom;Identifiant;Classe;"));
    assert!(
        csv.body
            .contains(&format!("Élève;'=Cmd;Zoé;zoe.cmd;4A;{secret}")),
        "{}",
        csv.body
    );
    assert!(csv.body.contains("emma.martin"));
    // Never-used demo accounts keep their password unless regeneration is asked for.
    assert!(
        csv.body.contains("lea.garnier;6A;(à régénérer)"),
        "{}",
        csv.body
    );
    assert_eq!(
        server
            .client()
            .login("lea.garnier", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        303
    );
    let regenerated = post(
        &principal,
        &files,
        &files,
        &[("since", String::new()), ("regenerate", "oui".into())],
    )
    .await;
    assert_eq!(regenerated.status, 303);
    let hugo = server
        .app
        .directory()
        .user_by_login("hugo.faure")
        .unwrap()
        .unwrap();
    let hugo_secret = hugo
        .pending_secret
        .clone()
        .expect("new initial password recorded");
    assert_eq!(
        server
            .client()
            .login("hugo.faure", &hugo_secret)
            .await
            .unwrap()
            .status,
        303
    );
    let lea = server
        .app
        .directory()
        .user_by_login("lea.garnier")
        .unwrap()
        .unwrap();
    assert!(
        lea.pending_secret.is_none(),
        "an account in use is never regenerated"
    );
    // Accounts already in use are listed without a password.
    assert!(csv.body.contains("principal.pilat;;(compte activé)"));
    assert!(
        !csv.body.contains("lucie.bernard"),
        "only this establishment"
    );

    // With a date de rentrée in the future, no account qualifies.
    assert_eq!(
        post(
            &principal,
            &files,
            &files,
            &[("since", "2099-09-01".into())]
        )
        .await
        .status,
        303
    );
    assert_eq!(server.app.directory().files(PILAT).unwrap().len(), 3);
    // Deleting.
    let delete = admin_url(&format!("/identifiants/{name}/supprimer"));
    assert_eq!(
        principal
            .post_form(&files, &delete, &[])
            .await
            .unwrap()
            .status,
        303
    );
    assert_eq!(server.app.directory().files(PILAT).unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_passwords_are_managed_and_every_action_is_audited() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let emma = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap();
    let url = admin_url(&format!("/annuaire/u/{}", emma.id));
    let mut fields = person("Emma", "Martin", "eleve");
    fields.push(("login", "emma.martin.4a".into()));
    fields.push(("groups", "g-4a".into()));
    fields.push(("pronote_id", "PRN-0042".into()));
    assert_eq!(post(&principal, &url, &url, &fields).await.status, 303);
    assert_eq!(
        server
            .client()
            .login("emma.martin", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        server
            .client()
            .login("emma.martin.4a", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        303
    );
    assert_eq!(
        server
            .app
            .directory()
            .user(&emma.id)
            .unwrap()
            .unwrap()
            .pronote_id,
        "PRN-0042"
    );

    let page = principal
        .post_form(&url, &format!("{url}/mot-de-passe"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), url);
    let secret = server
        .app
        .directory()
        .user(&emma.id)
        .unwrap()
        .unwrap()
        .pending_secret
        .unwrap();
    assert!(!page.body.contains(&secret));
    let shown = principal.get(&url).await.unwrap();
    assert!(shown.body.contains("Nouveau mot de passe") && shown.body.contains(&secret));
    assert!(!principal.get(&url).await.unwrap().body.contains(&secret));
    assert_eq!(
        server
            .client()
            .login("emma.martin.4a", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        server
            .client()
            .login("emma.martin.4a", &secret)
            .await
            .unwrap()
            .status,
        303
    );

    let journal = principal.get("/admin/journal").await.unwrap();
    assert_eq!(journal.status, 200);
    assert!(
        journal.body.contains("changement d&#x27;identifiant")
            || journal.body.contains("changement d'identifiant")
    );
    assert!(journal.body.contains("régénération du mot de passe"));
    assert!(journal.body.contains("principal.pilat"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_change_their_own_password_under_the_cnil_rules() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let url = "/compte/mot-de-passe";
    assert_eq!(teacher.get(url).await.unwrap().status, 200);
    let page = post(
        &teacher,
        url,
        url,
        &[
            ("current", "faux".into()),
            ("new", "Soleil-2026!".into()),
            ("confirm", "Soleil-2026!".into()),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Mot de passe actuel incorrect."));
    let page = post(
        &teacher,
        url,
        url,
        &[
            ("current", DEMO_PASSWORD.into()),
            ("new", "court".into()),
            ("confirm", "court".into()),
        ],
    )
    .await;
    assert_eq!(page.status, 422);
    let page = post(
        &teacher,
        url,
        url,
        &[
            ("current", DEMO_PASSWORD.into()),
            ("new", "Jean-Dupont-2026-xyz".into()),
            ("confirm", "Jean-Dupont-2026-xyz".into()),
        ],
    )
    .await;
    assert_eq!(page.status, 422, "personal data refused");
    let strong = "Vq7-Kestrel-Maple-93!";
    let page = post(
        &teacher,
        url,
        url,
        &[
            ("current", DEMO_PASSWORD.into()),
            ("new", strong.into()),
            ("confirm", strong.into()),
        ],
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        server
            .client()
            .login("jean.dupont", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        server
            .client()
            .login("jean.dupont", strong)
            .await
            .unwrap()
            .status,
        303
    );

    // Wrong current passwords are rate-limited.
    let pupil = server.signed_in("emma.martin").await.unwrap();
    for _ in 0..5 {
        post(
            &pupil,
            url,
            url,
            &[
                ("current", "faux".into()),
                ("new", strong.into()),
                ("confirm", strong.into()),
            ],
        )
        .await;
    }
    let page = post(
        &pupil,
        url,
        url,
        &[
            ("current", DEMO_PASSWORD.into()),
            ("new", strong.into()),
            ("confirm", strong.into()),
        ],
    )
    .await;
    assert_eq!(page.status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teachers_reset_their_own_pupils_passwords_only_when_delegated() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let mine = format!("/e/{PILAT}/mes-eleves");
    let page = teacher.get(&mine).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("emma.martin"), "a pupil of 4A");
    assert!(!page.body.contains("lea.garnier"), "6A is not his class");
    let emma = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap();
    let lea = server
        .app
        .directory()
        .user_by_login("lea.garnier")
        .unwrap()
        .unwrap();
    let reset = |id: &str| format!("/e/{PILAT}/mes-eleves/{id}/mot-de-passe");
    // Not delegated yet.
    assert_eq!(
        teacher
            .post_form(&mine, &reset(&emma.id), &[])
            .await
            .unwrap()
            .status,
        403
    );

    let principal = server.signed_in("principal.pilat").await.unwrap();
    let url = admin_url("/delegations");
    let page = principal
        .post_form(&url, &url, &[("teachers_reset_pupil_passwords", "oui")])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let page = teacher
        .post_form(&mine, &reset(&emma.id), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), mine);
    let secret = server
        .app
        .directory()
        .user(&emma.id)
        .unwrap()
        .unwrap()
        .pending_secret
        .unwrap();
    // Shown once on the list, to the session that asked only, then gone.
    let other_session = server.signed_in("jean.dupont").await.unwrap();
    assert!(
        !other_session
            .get(&mine)
            .await
            .unwrap()
            .body
            .contains(&secret)
    );
    let shown = teacher.get(&mine).await.unwrap();
    assert!(shown.body.contains(&secret));
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    assert!(!teacher.get(&mine).await.unwrap().body.contains(&secret));
    // Never someone else's pupil.
    assert_eq!(
        teacher
            .post_form(&mine, &reset(&lea.id), &[])
            .await
            .unwrap()
            .status,
        403
    );
    // Pupils and parents have no such page.
    let pupil = server.signed_in("lea.garnier").await.unwrap();
    assert_eq!(pupil.get(&mine).await.unwrap().status, 403);
    assert_eq!(
        pupil
            .post_form("/compte", &reset(&emma.id), &[])
            .await
            .unwrap()
            .status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_by_class_level_function_and_shows_the_account_state() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let page = principal
        .get(&admin_url("/annuaire?classe=g-6a"))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("lea.garnier") && !page.body.contains("emma.martin"));
    let page = principal
        .get(&admin_url("/annuaire?niveau=4e"))
        .await
        .unwrap();
    assert!(
        page.body.contains("emma.martin")
            && page.body.contains("rose.garnier")
            && !page.body.contains("lea.garnier")
    );
    let page = principal
        .get(&admin_url("/annuaire?fonction=service+social"))
        .await
        .unwrap();
    assert!(page.body.contains("isabelle.moreau") && !page.body.contains("jean.dupont"));
    let page = principal
        .get(&admin_url(
            "/annuaire?fonction=MATHEMATIQUES&profil=enseignant",
        ))
        .await
        .unwrap();
    assert!(page.body.contains("marie.lefebvre") && !page.body.contains("karim.haddad"));
    // Paged lists of the whole establishment.
    let first = principal.get(&admin_url("/annuaire")).await.unwrap();
    assert!(first.body.contains("page=2"));
    // States: the principal signed in, Léa never did.
    let page = principal
        .get(&admin_url("/annuaire?q=garnier+lea"))
        .await
        .unwrap();
    assert!(page.body.contains("Jamais connecté"));
    let page = principal
        .get(&admin_url("/annuaire?q=fauvel"))
        .await
        .unwrap();
    assert!(page.body.contains("Opérationnel"));
}

/// Whether `client`'s next request to its own page is sent to sign in.
async fn sent_to_sign_in(client: &Client) -> bool {
    let page = client.get("/compte").await.unwrap();
    page.status == 303 && page.location().starts_with("/login")
}

/// Whether `client` is still signed in (its session lives server-side).
async fn is_signed_in(client: &Client) -> bool {
    client.get("/compte").await.unwrap().status == 200
}

/// A new password ends every other session of the account: changing one's own
/// keeps the session that did it; a password regenerated by an administrator
/// ends them all; « Fermer toutes ses sessions » too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_the_other_sessions_of_the_account() {
    let server = TestServer::start().await.unwrap();
    let first = server.signed_in("emma.martin").await.unwrap();
    let second = server.signed_in("emma.martin").await.unwrap();
    let other = server.signed_in("jean.dupont").await.unwrap();
    assert!(is_signed_in(&first).await && is_signed_in(&second).await);
    let url = "/compte/mot-de-passe";
    let strong = "Vq7-Kestrel-Maple-93!";
    let page = post(
        &first,
        url,
        url,
        &[
            ("current", DEMO_PASSWORD.into()),
            ("new", strong.into()),
            ("confirm", strong.into()),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        is_signed_in(&first).await,
        "the session that changed it goes on"
    );
    assert!(!is_signed_in(&second).await, "every other session ends");
    assert!(is_signed_in(&other).await, "other accounts are untouched");

    // Regenerated by an administrator: every session of the account ends.
    let third = server.client();
    assert_eq!(
        third.login("emma.martin", strong).await.unwrap().status,
        303
    );
    assert!(is_signed_in(&third).await);
    let emma = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let user_url = admin_url(&format!("/annuaire/u/{}", emma.id));
    let page = principal
        .post_form(&user_url, &format!("{user_url}/mot-de-passe"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert!(!is_signed_in(&first).await && !is_signed_in(&third).await);
    assert!(is_signed_in(&principal).await);

    // « Fermer toutes ses sessions » on the person's page.
    let jean = server
        .app
        .directory()
        .user_by_login("jean.dupont")
        .unwrap()
        .unwrap();
    let again = server.signed_in("jean.dupont").await.unwrap();
    let jean_url = admin_url(&format!("/annuaire/u/{}", jean.id));
    let page = principal.get(&jean_url).await.unwrap();
    assert!(page.body.contains("Fermer toutes ses sessions"));
    assert!(page.body.contains("Sessions ouvertes"));
    assert_eq!(
        server.app.directory().live_sessions_of(&jean.id).unwrap(),
        2
    );
    // Not for someone who is not an administrator here, whatever the form says.
    let refused = other
        .post_form("/compte", &format!("{jean_url}/sessions"), &[])
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    assert!(is_signed_in(&again).await);
    // Without the CSRF token: refused, nothing ends.
    let forged = principal
        .post_raw(&format!("{jean_url}/sessions"), &[])
        .await
        .unwrap();
    assert_ne!(forged.status, 303);
    assert!(is_signed_in(&again).await);
    let page = principal
        .post_form(&jean_url, &format!("{jean_url}/sessions"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert!(!is_signed_in(&other).await && !is_signed_in(&again).await);
    assert_eq!(
        server.app.directory().live_sessions_of(&jean.id).unwrap(),
        0
    );
    assert!(is_signed_in(&principal).await);
    let journal = principal.get("/admin/journal").await.unwrap();
    assert!(journal.body.contains("fermeture des sessions"));
}

/// Blocking an account ends its sessions at once: the pupil's next request
/// finds them signed out. And a session of a blocked account that survived
/// anyhow is refused on its next request (defence in depth).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_an_account_ends_its_sessions() {
    let server = TestServer::start().await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let elsewhere = server.signed_in("emma.martin").await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    assert_eq!(pupil.get("/compte").await.unwrap().status, 200);
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert!(home.body.contains("Connecté en tant que"));
    let emma = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap();
    assert_eq!(
        server.app.directory().live_sessions_of(&emma.id).unwrap(),
        2
    );

    let principal = server.signed_in("principal.pilat").await.unwrap();
    let url = admin_url(&format!("/annuaire/u/{}", emma.id));
    let block = |blocked: &'static str| {
        let (principal, url) = (&principal, &url);
        async move {
            let fields = [("blocked", blocked.to_string())];
            post(principal, url, &format!("{url}/blocage"), &fields).await
        }
    };
    let page = block("oui").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        server.app.directory().live_sessions_of(&emma.id).unwrap(),
        0,
        "every session of the account is ended server-side"
    );
    for client in [&pupil, &elsewhere] {
        assert!(sent_to_sign_in(client).await);
        let home = client.get(&format!("/e/{PILAT}/")).await.unwrap();
        assert!(
            !home.body.contains("Connecté en tant que"),
            "not her page any more"
        );
    }
    assert!(is_signed_in(&teacher).await, "other accounts are untouched");
    assert!(is_signed_in(&principal).await);

    // Defence in depth: a session of the blocked account (opened behind the
    // block's back) is refused on its next request.
    let (token, _) = server.app.directory().open_session(&emma.id).unwrap();
    let survivor = server.client();
    survivor.set_cookie("preau_session", &token);
    assert!(sent_to_sign_in(&survivor).await);

    // Unblocked, she signs in again.
    assert_eq!(block("non").await.status, 303);
    assert!(
        survivor
            .login("emma.martin", DEMO_PASSWORD)
            .await
            .unwrap()
            .status
            == 303
    );
    assert!(is_signed_in(&survivor).await);
}

/// « Créer un utilisateur » chooses no profile in advance, and a submission
/// without one (the HTML `required` bypassed) is refused with a field error:
/// nobody is created as a pupil by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_user_without_a_profile_is_refused_with_a_field_error() {
    let server = TestServer::start().await.unwrap();
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let new = admin_url("/annuaire/nouveau");
    let form = principal.get(&new).await.unwrap();
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("<option value=\"\" selected>"),
        "the profile placeholder is the one selected"
    );
    assert!(!form.body.contains("value=\"eleve\" selected"));
    let before = user_count(&server);
    for profile in [None, Some(""), Some("administrateur")] {
        let mut fields: Vec<(&str, String)> = person("Profil", "Oublié", "eleve")
            .into_iter()
            .filter(|(k, _)| *k != "profile")
            .collect();
        if let Some(profile) = profile {
            fields.push(("profile", profile.to_string()));
        }
        let page = post(&principal, &new, &new, &fields).await;
        assert_eq!(page.status, 422, "{profile:?}");
        assert!(page.body.contains("Choisissez un profil."), "{profile:?}");
        assert_eq!(user_count(&server), before, "{profile:?}: nobody created");
    }
}
