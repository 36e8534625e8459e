//! What a person is shown, they may use: for each demo profile, every link of
//! every page reached from their starting pages answers something other than
//! « accès refusé » (403) or an error. The navigation, « Mes services », the
//! home blocks and a service's entry page ask the same question
//! (`instances::Granted::opens`), so they cannot disagree.

use std::collections::{BTreeSet, VecDeque};

use preau_tests::{Client, PILAT, TestServer, unescape};

/// (profile, login or none for anonymous), as in the authorization table.
const PROFILES: &[(&str, Option<&str>)] = &[
    ("anonyme", None),
    ("élève", Some("emma.martin")),
    ("parent", Some("paul.martin")),
    ("enseignant", Some("marie.lefebvre")),
    ("personnel", Some("nathalie.perrin")),
    ("administrateur d'établissement", Some("principal.pilat")),
    ("autre établissement", Some("lucie.bernard")),
    ("administrateur de la région", Some("admin")),
];

/// Pages visited per profile at most (breadth first from the home pages).
const MAX_PAGES: usize = 160;

/// The site's links of an HTML page, without their fragment.
fn links(body: &str) -> Vec<String> {
    let href = regex::Regex::new(r#"href="(/[^"]*)""#).unwrap();
    href.captures_iter(&unescape(body))
        .map(|c| c[1].split('#').next().unwrap_or_default().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("/static/"))
        .collect()
}

/// Walks from the home pages; returns the (page, link, status) that refused
/// or failed, and how many pages were visited.
async fn crawl(client: &Client) -> (Vec<(String, String, u16)>, usize) {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<(String, String)> = ["/", &format!("/e/{PILAT}/")]
        .into_iter()
        .map(|start| ("(départ)".to_string(), start.to_string()))
        .collect();
    let mut refused = Vec::new();
    let mut visited = 0;
    while let Some((from, path)) = queue.pop_front() {
        if visited >= MAX_PAGES || !seen.insert(path.clone()) {
            continue;
        }
        visited += 1;
        let page = client.get(&path).await.unwrap();
        if page.status == 403 || page.status >= 500 {
            refused.push((from, path.clone(), page.status));
            continue;
        }
        let is_html = page
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"));
        if page.status == 200 && is_html {
            for link in links(&page.body) {
                if !seen.contains(&link) {
                    queue.push_back((path.clone(), link));
                }
            }
        }
    }
    (refused, visited)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_link_shown_to_a_person_leads_to_a_refusal() {
    let server = TestServer::start().await.unwrap();
    let mut clients = Vec::new();
    for (profile, login) in PROFILES {
        let client = match login {
            Some(login) => server.signed_in(login).await.unwrap(),
            None => server.client(),
        };
        clients.push((*profile, client));
    }
    let walks = futures_util::future::join_all(
        clients
            .iter()
            .map(|(profile, client)| async move { (*profile, crawl(client).await) }),
    )
    .await;
    let mut problems = Vec::new();
    for (profile, (refused, visited)) in walks {
        println!("{profile} : {visited} pages parcourues");
        assert!(visited >= 5, "{profile} : {visited} pages seulement");
        for (from, link, status) in refused {
            problems.push(format!("{profile} : {link} ({status}), lien de {from}"));
        }
    }
    assert!(
        problems.is_empty(),
        "liens vers un refus :\n{}",
        problems.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_a_person_may_not_open_is_not_shown_to_them() {
    let server = TestServer::start().await.unwrap();
    let reservations = format!("/e/{PILAT}/reservations/");
    let link = format!("href=\"{reservations}\"");
    // Pupils and parents hold no role in the reservations service: it is in
    // none of their lists, and its entry page refuses them.
    for login in ["emma.martin", "paul.martin"] {
        let person = server.signed_in(login).await.unwrap();
        for page in [format!("/e/{PILAT}/"), format!("/e/{PILAT}/services")] {
            let body = unescape(&person.get(&page).await.unwrap().body);
            assert!(!body.contains(&link), "{login} : lien sur {page}");
            assert!(
                !body.contains("Réservation de ressources"),
                "{login} : {page}"
            );
        }
        assert_eq!(
            person.get(&reservations).await.unwrap().status,
            403,
            "{login}"
        );
    }
    // A teacher books resources: the service is in their lists and opens.
    let teacher = server.signed_in("marie.lefebvre").await.unwrap();
    let body = unescape(
        &teacher
            .get(&format!("/e/{PILAT}/services"))
            .await
            .unwrap()
            .body,
    );
    assert!(body.contains(&link) && body.contains("Réservation de ressources"));
    assert_eq!(teacher.get(&reservations).await.unwrap().status, 200);
}
