//! Files people upload: a teacher attaches files to an article, readers
//! download them with safe headers, each file counts in its uploader's quota
//! (per profile, changeable per person), a file over the quota is refused with
//! its name and leaves nothing, two uploads racing for the last megabytes
//! cannot both pass, and a plugin reaches only its own instance's files.

use preau_host::store::Space;
use preau_host::uploads::{Uploads, quota};
use preau_tests::{Client, PILAT, Page, TestServer, unescape};

fn blog(path: &str) -> String {
    format!("/e/{PILAT}/blog{path}")
}

/// Number of stored files (kept and pending).
fn stored_files(server: &TestServer) -> usize {
    server
        .app
        .directory()
        .store()
        .scan(Space::Uploads, b"m/", None, usize::MAX, false)
        .unwrap()
        .len()
}

fn used_by(server: &TestServer, login: &str) -> u64 {
    let user = server
        .app
        .directory()
        .user_by_login(login)
        .unwrap()
        .unwrap();
    quota::used(server.app.directory().store(), PILAT, &user.id).unwrap()
}

fn user_id(server: &TestServer, login: &str) -> String {
    server
        .app
        .directory()
        .user_by_login(login)
        .unwrap()
        .unwrap()
        .id
}

/// Posts a new article with `files` (name, bytes) as « pièces jointes ».
async fn post_article(client: &Client, title: &str, files: &[(&str, &[u8])]) -> Page {
    let csrf = client.get(&blog("/new")).await.unwrap().csrf().unwrap();
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![
        ("csrf", None, csrf.as_bytes()),
        ("title", None, title.as_bytes()),
        ("body", None, b"<p>Le travail de la semaine.</p>"),
        ("publish", None, b"on"),
    ];
    for (name, bytes) in files {
        parts.push(("pieces", Some(name), bytes));
    }
    client.post_multipart(&blog("/new"), &parts).await.unwrap()
}

/// The links to the attached files of an article page.
fn attachment_links(page: &Page) -> Vec<String> {
    let re = regex::Regex::new(r#"href="(/e/[^"]+/pj/f[0-9]+)""#).unwrap();
    re.captures_iter(&unescape(&page.body))
        .map(|c| c[1].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_files_are_served_safely_to_readers_only_and_counted_in_the_uploaders_quota() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let pdf = b"%PDF-1.4\n% fiche d'exercices\n1 0 obj << >> endobj\n%%EOF\n".to_vec();
    // A page a browser would run: stored, but never shown as a page.
    let html = b"<!doctype html><script>alert(1)</script>".to_vec();
    let form = teacher.get(&blog("/new")).await.unwrap();
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    assert!(
        unescape(&form.body).contains("Votre espace : 0 octets utilisés sur 1,0 Go"),
        "{}",
        form.body
    );
    let created = post_article(
        &teacher,
        "Fiche de la semaine",
        &[("Fiche d'exercices n°2.pdf", &pdf), ("page.html", &html)],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let article = created.location().to_string();
    let used = used_by(&server, "jean.dupont");
    assert!(
        used >= (pdf.len() + html.len()) as u64 && used < 4096,
        "usage compté : {used}"
    );

    // A pupil reads the article and downloads the files.
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let page = pupil.get(&article).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(unescape(&page.body).contains("Fiche d'exercices n°2.pdf"));
    let links = attachment_links(&page);
    assert_eq!(links.len(), 2, "{}", page.body);
    let shown = pupil.get(&links[0]).await.unwrap();
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body.as_bytes(), pdf.as_slice());
    assert_eq!(shown.header("content-type"), Some("application/pdf"));
    assert_eq!(shown.header("x-content-type-options"), Some("nosniff"));
    assert!(
        shown
            .header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(
        shown.header("content-disposition"),
        Some(
            "inline; filename=\"Fiche d_exercices n_2.pdf\"; \
             filename*=UTF-8''Fiche%20d%27exercices%20n%C2%B02.pdf"
        )
    );
    let downloaded = pupil.get(&links[1]).await.unwrap();
    assert_eq!(downloaded.status, 200);
    assert_eq!(
        downloaded.header("content-type"),
        Some("application/octet-stream"),
        "une page HTML n'est jamais servie comme une page"
    );
    assert!(
        downloaded
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );

    // Nobody else reaches them: anonymous, another establishment, a file id
    // that is not the article's.
    let anonymous = server.client().get(&links[0]).await.unwrap();
    assert_eq!(anonymous.status, 303, "vers la connexion");
    let elsewhere = server.signed_in("lucie.bernard").await.unwrap();
    assert_eq!(elsewhere.get(&links[0]).await.unwrap().status, 403);
    let (stem, _) = links[0].rsplit_once("/pj/").unwrap();
    assert_eq!(
        pupil.get(&format!("{stem}/pj/f1")).await.unwrap().status,
        404
    );

    // Everyone sees their usage on « Mon compte ».
    let account = teacher.get("/compte").await.unwrap();
    assert!(
        unescape(&account.body).contains("Vos fichiers :"),
        "{}",
        account.body
    );

    // A hostile plugin of the same establishment reaches none of them.
    server.enable(PILAT, "hostile").await.unwrap();
    let file_id = links[0].rsplit('/').next().unwrap();
    let probe = teacher
        .get(&format!("/e/{PILAT}/hostile/fichier/{file_id}"))
        .await
        .unwrap();
    assert_eq!(probe.status, 404, "{}", probe.body);
    let csrf = teacher
        .get(&format!("/e/{PILAT}/hostile/ok"))
        .await
        .unwrap()
        .csrf()
        .unwrap();
    let reach = teacher
        .post_raw(
            &format!("/e/{PILAT}/hostile/fichiers"),
            &[("csrf", &csrf), ("id", file_id)],
        )
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&reach.body).unwrap();
    for call in ["keep", "info", "read", "remove"] {
        assert_eq!(answer[call], false, "{call} : {answer}");
    }
    assert_eq!(pupil.get(&links[0]).await.unwrap().status, 200);

    // Deleting the article deletes its files and gives the space back.
    let (id_path, _) = article.rsplit_once('/').unwrap();
    let id = article.rsplit('/').next().unwrap();
    let deleted = teacher
        .post_form(
            &format!("{id_path}/{id}/delete"),
            &format!("{id_path}/{id}/delete"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(deleted.status, 303);
    assert_eq!(used_by(&server, "jean.dupont"), 0);
    assert_eq!(stored_files(&server), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_quota_is_refused_by_name_and_racing_uploads_cannot_both_pass() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("admin").await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let jean = user_id(&server, "jean.dupont");
    let person_page = format!("/admin/e/{PILAT}/annuaire/u/{jean}");

    // The administrator gives Jean 3 Mo of his own.
    let set_quota = |mib: &'static str| {
        let (admin, person_page) = (admin.clone(), person_page.clone());
        async move {
            admin
                .post_form(
                    &person_page,
                    &format!("{person_page}/quota"),
                    &[("mib", mib)],
                )
                .await
                .unwrap()
        }
    };
    let bad = set_quota("beaucoup").await;
    assert_eq!(bad.status, 422);
    assert!(unescape(&bad.body).contains("Indiquez un nombre entier de mégaoctets"));
    let set = set_quota("3").await;
    assert_eq!(set.status, 303);
    let page = admin.get(&person_page).await.unwrap();
    assert!(
        unescape(&page.body).contains("0 octets utilisés sur 3,0 Mo"),
        "{}",
        page.body
    );

    // 4 Mo do not fit: refused by name, the typed text given back, nothing stored.
    let big = vec![7u8; 4 << 20];
    let refused = post_article(
        &teacher,
        "Mon texte précieux",
        &[("gros fichier.bin", &big)],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let text = unescape(&refused.body);
    assert!(
        text.contains("Le fichier « gros fichier.bin » ne tient pas dans votre espace"),
        "{text}"
    );
    assert!(
        text.contains("Mon texte précieux"),
        "le texte saisi est rendu"
    );
    assert_eq!(used_by(&server, "jean.dupont"), 0, "aucun octet compté");
    assert_eq!(stored_files(&server), 0, "rien d'enregistré");

    // Two uploads of 2 Mo race for the 3 Mo: exactly one wins.
    let two = vec![9u8; 2 << 20];
    let first: [(&str, &[u8]); 1] = [("a.bin", &two)];
    let second: [(&str, &[u8]); 1] = [("b.bin", &two)];
    let (a, b) = tokio::join!(
        post_article(&teacher, "Premier", &first),
        post_article(&teacher, "Second", &second),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [303, 422], "{} / {}", a.body, b.body);
    let used = used_by(&server, "jean.dupont");
    assert!(used > 2 << 20 && used <= 3 << 20, "{used}");
    assert_eq!(stored_files(&server), 1);

    // Back to the profile's quota (teachers: 1 Go); the profile quotas page
    // lists him and refuses a bad value without changing anything.
    let cleared = set_quota("").await;
    assert_eq!(cleared.status, 303);
    let space = format!("/admin/e/{PILAT}/espace");
    let listing = admin.get(&space).await.unwrap();
    assert_eq!(listing.status, 200);
    let text = unescape(&listing.body);
    assert!(text.contains("Jean Dupont"), "{text}");
    assert!(
        text.contains("sur 1,0 Go") || text.contains("1,0 Go"),
        "{text}"
    );
    let invalid = admin
        .post_form(
            &space,
            &space,
            &[
                ("mib-eleve", "50"),
                ("mib-parent", "0"),
                ("mib-enseignant", "2048"),
                ("mib-personnel", "2048"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(invalid.status, 422);
    assert!(
        unescape(&invalid.body).contains("Parent"),
        "le champ est nommé"
    );
    assert_eq!(
        quota::profile_mib(server.app.directory(), PILAT, "eleve").unwrap(),
        200,
        "rien n'a changé"
    );
    let saved = admin
        .post_form(
            &space,
            &space,
            &[
                ("mib-eleve", "50"),
                ("mib-parent", "20"),
                ("mib-enseignant", "2048"),
                ("mib-personnel", "2048"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(saved.status, 303);
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let account = pupil.get("/compte").await.unwrap();
    assert!(
        unescape(&account.body).contains("0 octets utilisés sur 50,0 Mo"),
        "{}",
        account.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_not_kept_go_and_forged_or_anonymous_uploads_store_nothing() {
    let server = TestServer::start().await.unwrap();
    server.enable(PILAT, "hostile").await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let path = format!("/e/{PILAT}/hostile/fichiers");
    let csrf = teacher
        .get(&format!("/e/{PILAT}/hostile/ok"))
        .await
        .unwrap()
        .csrf()
        .unwrap();

    // The plugin is sent a file and keeps nothing: the file goes with the request.
    let sent = teacher
        .post_multipart(
            &path,
            &[
                ("csrf", None, csrf.as_bytes()),
                ("f", Some("notes.txt"), "Des notes.\n".as_bytes()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(sent.status, 200, "{}", sent.body);
    let answer: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    let id = answer["sent"][0].as_str().unwrap().to_string();
    assert!(
        Uploads::new(server.app.directory().shared_store())
            .meta(&id)
            .unwrap()
            .is_none(),
        "un fichier non gardé est supprimé"
    );
    assert_eq!(used_by(&server, "jean.dupont"), 0);

    // A file before the CSRF token, or no token at all: nothing stored.
    let forged = teacher
        .post_multipart(
            &path,
            &[("f", Some("x.txt"), b"x"), ("csrf", None, csrf.as_bytes())],
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 403);
    let tokenless = teacher
        .post_multipart(&path, &[("f", Some("x.txt"), b"x")])
        .await
        .unwrap();
    assert_eq!(tokenless.status, 403);
    assert_eq!(stored_files(&server), 0);

    // An anonymous visitor cannot upload.
    let visitor = server.client();
    let anon_csrf = visitor.get("/login").await.unwrap().csrf().unwrap();
    let anonymous = visitor
        .post_multipart(
            &path,
            &[
                ("csrf", None, anon_csrf.as_bytes()),
                ("f", Some("x.txt"), b"x"),
            ],
        )
        .await
        .unwrap();
    assert_ne!(anonymous.status, 200, "{}", anonymous.body);
    assert_eq!(stored_files(&server), 0);
}
