//! The authorization matrix: every route of the host (`preau_host::route_table`, the
//! table the router itself is built from) and of every plugin (their `routes`
//! export, mounted in the establishment and in a rubrique), for every demo profile,
//! anonymous visitors and a user of another establishment, against the expected
//! outcomes in `tests/fixtures/authorization.txt`.
//!
//! Every GET the host serves, for every profile, leaves the store's write count
//! unchanged: no GET changes state.
//!
//! A route missing from the file, or a line for a route that no longer exists, fails
//! the test: the table cannot drift. To rewrite the file after a deliberate change:
//! `PREAU_WRITE_MATRIX=1 cargo test -p preau-tests --test integration authorization`,
//! then read the diff.

use std::collections::BTreeMap;

use preau_tests::{Client, PILAT, Page, TestServer, repo_root};

/// (column, login or none for anonymous). The order of the file's columns.
const PROFILES: &[(&str, Option<&str>)] = &[
    ("anonyme", None),
    ("eleve", Some("emma.martin")),
    ("parent", Some("paul.martin")),
    ("enseignant", Some("marie.lefebvre")),
    ("personnel", Some("nathalie.perrin")),
    ("admin-etab", Some("principal.pilat")),
    ("autre-etab", Some("lucie.bernard")),
    ("admin-region", Some("admin")),
];

/// Plugins whose routes are checked: the repository's services (the test plugins
/// misbehave on purpose).
const PLUGINS: &[&str] = &["blog", "forum", "rss", "reservations", "formulaires"];

/// What a response means for authorization.
fn outcome(page: &Page) -> String {
    match page.status {
        303 | 302 | 307 if page.location().starts_with("/login") => "login".into(),
        401 | 403 => "403".into(),
        404 => "404".into(),
        200..=399 | 400 | 409 | 413 | 422 | 429 => "ok".into(),
        other => format!("{other}"),
    }
}

/// A concrete path for a pattern: GET targets real demo objects; POST targets
/// objects that do not exist where the route names one, so that authorized people
/// get 404 (or a validation error) and nothing changes, while refused people get
/// 403 — authorization comes before lookups.
fn concrete(
    pattern: &str,
    method: &str,
    user_id: &str,
    articles: &BTreeMap<String, String>,
    objects: &BTreeMap<String, String>,
) -> String {
    let post = method == "POST";
    // Blog routes name a real article of their instance, except deletions.
    let article = articles
        .iter()
        .find(|(mount, _)| pattern.starts_with(mount.as_str()))
        .map(|(_, id)| id.clone())
        .filter(|_| !pattern.ends_with("/delete") || !post);
    let mut path = String::new();
    let segments: Vec<&str> = pattern.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            path.push('/');
        }
        let previous = if i > 0 { segments[i - 1] } else { "" };
        // A real demo object of a plugin, by the path before its id (GET only).
        let object = objects
            .get(&format!("{}/", segments[..i].join("/")))
            .filter(|_| !post);
        let value = match *segment {
            "{uai}" => PILAT.to_string(),
            // Rights per object: a plugin that has objects (403 before 404 for the others).
            "{plugin}" if pattern.contains("/objet/") => "reservations".into(),
            "{plugin}" if post => "inexistant".into(),
            "{plugin}" => "blog".into(),
            "{rubrique}" if post => "inexistante".into(),
            "{rubrique}" => "actualites".into(),
            "{id}" if previous == "u" && !post => user_id.into(),
            "{id}" if previous == "groupes" && !post => "g-4a".into(),
            "{id}" if previous == "mes-eleves" && !post => user_id.into(),
            "{id}" if article.is_some() => article.clone().unwrap_or_default(),
            "{id}" if object.is_some() => object.cloned().unwrap_or_default(),
            "{id}" => "0000000000000001".into(),
            "{code}" if post => "INEXISTANT".into(),
            // A region connector on the region's pages, an establishment's elsewhere.
            "{code}" if pattern.starts_with("/admin/services") => "PRONOTE".into(),
            "{code}" => "EFIVOL".into(),
            "{name}" => "inexistant.csv".into(),
            "{other}" => "0420013L".into(),
            "{source}" => "etablissement".into(),
            "{n}" if post => "999".into(),
            "{n}" => "0".into(),
            "{scope}" if !post && objects.contains_key("{scope}") => objects["{scope}"].clone(),
            "{scope}" => "objet-inexistant".into(),
            "{*rest}" => "new".into(),
            "{*file}" => "style.css".into(),
            // No demo article carries a file: the route is checked up to the file.
            "{file}" => "f0".into(),
            s if s.starts_with('{') => panic!("paramètre inconnu {s} dans {pattern}"),
            s => s.to_string(),
        };
        path.push_str(&value);
    }
    path
}

async fn request(client: &Client, method: &str, path: &str) -> Page {
    if method == "GET" {
        return client.get(path).await.unwrap();
    }
    // A valid CSRF token of the visitor, and an empty form.
    client.post_form("/login", path, &[]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_profile_as_the_table_says() {
    let server = TestServer::start().await.unwrap();
    let emma = server
        .app
        .directory()
        .user_by_login("emma.martin")
        .unwrap()
        .unwrap()
        .id;

    // Every (method, pattern): the host's table, then each plugin's, in the
    // establishment and in a rubrique.
    let mut rows: Vec<(String, String)> = Vec::new();
    for (path, methods) in preau_host::route_table() {
        for method in methods {
            rows.push((method, path.clone()));
        }
    }
    let portal = preau_host::portal::Portal::load(server.app.directory(), PILAT).unwrap();
    for plugin in PLUGINS {
        let loaded = server.app.runtime().plugin(plugin).expect("plugin chargé");
        let routes = server.app.runtime().routes(plugin).await.unwrap();
        for (method, pattern) in routes {
            let method = match method {
                preau_host::runtime::WitMethod::Get => "GET",
                preau_host::runtime::WitMethod::Post => "POST",
            }
            .to_string();
            rows.push((method.clone(), format!("/e/{{uai}}/{plugin}{pattern}")));
            if loaded.manifest.rubrique {
                // Every demo rubrique showing the service (public ones, and the
                // conseil d'administration, restricted to its group).
                for rubrique in &portal.rubriques {
                    if rubrique.services.iter().any(|s| s == plugin) {
                        rows.push((
                            method.clone(),
                            format!("/e/{{uai}}/r/{}/{plugin}{pattern}", rubrique.id),
                        ));
                    }
                }
            }
        }
    }
    // The sign-out page's GET while still signed in (it must not sign out: the
    // write count says so), then the POSTs that do.
    rows.sort_by_key(|(method, path)| match (method.as_str(), path.as_str()) {
        ("GET", "/cas/logout") => 1,
        ("POST", "/logout") | ("POST", "/cas/logout") | ("POST", "/login") => 2,
        _ => 0,
    });

    // A real article in each blog instance, read as the establishment's administrator.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let mut articles = BTreeMap::new();
    let mounts: Vec<String> = std::iter::once("/e/{uai}/blog".to_string())
        .chain(
            portal
                .rubriques
                .iter()
                .filter(|r| r.services.iter().any(|s| s == "blog"))
                .map(|r| format!("/e/{{uai}}/r/{}/blog", r.id)),
        )
        .collect();
    for mount in &mounts {
        let list = principal
            .get(&format!("{}/", mount.replace("{uai}", PILAT)))
            .await
            .unwrap();
        let body = preau_tests::unescape(&list.body);
        let prefix = format!("{}/", mount.replace("{uai}", PILAT));
        let id: String = body
            .match_indices(&prefix)
            .map(|(i, _)| {
                body[i + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .collect::<String>()
            })
            .find(|id| id.len() == 16)
            .unwrap_or_else(|| panic!("aucun article dans {mount}"));
        articles.insert(mount.to_string(), id);
    }
    // Real objects of the plugins whose rights are per object: the reservations
    // demo's domain and resource (GET routes name them; POSTs still name none).
    let mut objects = BTreeMap::new();
    // (list page, object path prefix, scope prefix for the object rights pages).
    let sources = [
        ("reservations/", "reservations/d/", Some("d-")),
        ("reservations/", "reservations/r/", None),
        ("formulaires/", "formulaires/modeles/", None),
        ("formulaires/diffusions", "formulaires/diffusions/", None),
    ];
    for (list, object, scope) in sources {
        let page = preau_tests::unescape(
            &principal
                .get(&format!("/e/{PILAT}/{list}"))
                .await
                .unwrap()
                .body,
        );
        let prefix = format!("/e/{PILAT}/{object}");
        let id: String = page
            .match_indices(&prefix)
            .map(|(i, _)| {
                page[i + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .collect::<String>()
            })
            .find(|id| id.len() == 16)
            .unwrap_or_else(|| panic!("aucun objet {object} dans la démonstration"));
        if let Some(scope) = scope {
            objects.insert("{scope}".to_string(), format!("{scope}{id}"));
        }
        objects.insert(format!("/e/{{uai}}/{object}"), id);
    }
    // A diffusion's answer page has the diffusion's id (the principal, not in
    // its audience, is not linked to it).
    let diffusion = objects["/e/{uai}/formulaires/diffusions/"].clone();
    objects.insert("/e/{uai}/formulaires/d/".to_string(), diffusion);
    let mut clients = Vec::new();
    for (_, login) in PROFILES {
        clients.push(match login {
            Some(login) => server.signed_in(login).await.unwrap(),
            None => server.client(),
        });
    }
    // No GET changes state (user content may point an image at any same-origin
    // URL): the store's write count is the same after every GET, for every
    // profile, the plugins' included (their store is read-only during a GET, a
    // block or the news: `runtime::READ_ONLY`).
    let store = server.app.directory().store();
    let writes = || store.write_count().expect("le moteur compte ses écritures");
    let mut get_writes = Vec::new();
    let at_start = writes();
    let mut observed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (method, pattern) in &rows {
        let path = concrete(pattern, method, &emma, &articles, &objects);
        let mut outcomes = Vec::new();
        for ((profile, _), client) in PROFILES.iter().zip(&clients) {
            let before = writes();
            let page = request(client, method, &path).await;
            let written = writes() - before;
            if method == "GET" && written != 0 {
                get_writes.push(format!(
                    "GET {path} pour {profile} : {written} écriture(s) dans la base ({})",
                    page.status
                ));
            }
            outcomes.push(outcome(&page));
        }
        observed.insert((method.clone(), pattern.clone()), outcomes);
    }

    let file = repo_root().join("tests/fixtures/authorization.txt");
    let header = format!(
        "# Expected outcome of every route, for each profile (tests/integration/authorization.rs).\n\
         # ok = served (a page, a redirect elsewhere than sign-in, or a validation error);\n\
         # login = sent to the sign-in page; 403 = refused; 404 = not found.\n\
         # GET routes name real demo objects; POST routes name objects that do not exist\n\
         # (authorized people get 404 or a validation error, nothing changes). Where rights are\n\
         # per object (reservations), a missing object is 404 for everyone: it has no rights to\n\
         # check; those POSTs are checked role by role in tests/integration/reservations.rs.\n\
         # /metrics answers by client address, not by profile: ok for everyone here because the\n\
         # test client is on loopback, the default metrics_allow (refusals: integration/operator.rs).\n\
         # method path | {}\n",
        PROFILES
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let render = |table: &BTreeMap<(String, String), Vec<String>>| {
        let width = table
            .keys()
            .map(|(m, p)| m.len() + p.len() + 1)
            .max()
            .unwrap_or(0);
        let mut text = header.clone();
        for ((method, path), outcomes) in table {
            let key = format!("{method} {path}");
            text.push_str(&format!(
                "{key:<width$} | {}\n",
                outcomes
                    .iter()
                    .map(|o| format!("{o:<5}"))
                    .collect::<Vec<_>>()
                    .join(" ")
                    .trim_end()
            ));
        }
        text
    };
    if std::env::var("PREAU_WRITE_MATRIX").is_ok() {
        std::fs::write(&file, render(&observed)).unwrap();
        return;
    }
    let expected_text = std::fs::read_to_string(&file).expect("tests/fixtures/authorization.txt");
    let mut expected: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in expected_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (key, outcomes) = line.split_once('|').expect("ligne « méthode chemin | … »");
        let (method, path) = key.trim().split_once(' ').expect("méthode et chemin");
        expected.insert(
            (method.to_string(), path.trim().to_string()),
            outcomes.split_whitespace().map(str::to_string).collect(),
        );
    }
    assert!(
        writes() > at_start,
        "the POSTs were counted: the count is live"
    );
    let mut problems = get_writes;
    for (key, outcomes) in &observed {
        match expected.get(key) {
            None => problems.push(format!("route absente du tableau : {} {}", key.0, key.1)),
            Some(want) if want != outcomes => {
                for ((profile, _), (got, want)) in PROFILES.iter().zip(outcomes.iter().zip(want)) {
                    if got != want {
                        problems.push(format!(
                            "{} {} pour {profile} : attendu {want}, obtenu {got}",
                            key.0, key.1
                        ));
                    }
                }
            }
            Some(_) => {}
        }
    }
    for key in expected.keys() {
        if !observed.contains_key(key) {
            problems.push(format!(
                "le tableau cite une route qui n'existe plus : {} {}",
                key.0, key.1
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} écart(s) :\n{}",
        problems.len(),
        problems.join("\n")
    );
}
