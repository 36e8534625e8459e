use std::collections::VecDeque;

use preau_tests::html_safety::{page_problems, page_text, xss_vectors};
use preau_tests::{Client, PILAT, TestServer};

fn blog(path: &str) -> String {
    format!("/e/{PILAT}/blog{path}")
}

/// Creates an article through the form; returns the article's URL.
pub async fn write_post(client: &Client, title: &str, body: &str, publish: bool) -> String {
    let mut fields = vec![("title", title), ("body", body)];
    if publish {
        fields.push(("publish", "on"));
    }
    let page = client
        .post_form(&blog("/new"), &blog("/new"), &fields)
        .await
        .unwrap();
    assert_eq!(page.status, 303, "création refusée : {}", page.body);
    let url = page.location().to_string();
    assert!(
        url.starts_with(&blog("/")),
        "redirigé vers la page de l'article : {url}"
    );
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_writes_and_publishes_and_a_pupil_reads() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let form = teacher.get(&blog("/new")).await.unwrap();
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("name=\"title\"")
            && form.body.contains("name=\"body\"")
            && form.body.contains("name=\"publish\"")
    );
    let url = write_post(
        &teacher,
        "Conseil de classe",
        "<p>Le conseil de <strong>4A</strong> aura lieu jeudi.</p>",
        true,
    )
    .await;

    let pupil = server.signed_in("emma.martin").await.unwrap();
    let list = pupil.get(&blog("/")).await.unwrap();
    assert_eq!(list.status, 200);
    assert!(list.body.contains("Conseil de classe"));
    let post = pupil.get(&url).await.unwrap();
    assert_eq!(post.status, 200);
    assert!(post.body.contains("<strong>4A</strong>"));
    assert!(post.body.contains("Jean Dupont"));
    // A pupil cannot edit or delete it.
    assert_eq!(pupil.get(&format!("{url}/edit")).await.unwrap().status, 403);

    // The parent reads too.
    let parent = server.signed_in("paul.martin").await.unwrap();
    assert_eq!(parent.get(&url).await.unwrap().status, 200);

    // The author edits, then deletes.
    let edited = teacher
        .post_form(
            &format!("{url}/edit"),
            &format!("{url}/edit"),
            &[
                ("title", "Conseil de classe (modifié)"),
                ("body", "<p>Vendredi.</p>"),
                ("publish", "on"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(edited.status, 303);
    assert!(pupil.get(&url).await.unwrap().body.contains("(modifié)"));
    let confirm = teacher.get(&format!("{url}/delete")).await.unwrap();
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Supprimer définitivement"));
    assert_eq!(
        pupil.get(&format!("{url}/delete")).await.unwrap().status,
        403
    );
    let deleted = teacher
        .post_form(&url, &format!("{url}/delete"), &[])
        .await
        .unwrap();
    assert_eq!(deleted.status, 303);
    assert_eq!(pupil.get(&url).await.unwrap().status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pupils_cannot_write_and_anonymous_visitors_are_sent_to_sign_in() {
    let server = TestServer::start().await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    assert_eq!(pupil.get(&blog("/new")).await.unwrap().status, 403);
    let csrf = pupil.get(&blog("/")).await.unwrap().csrf().unwrap();
    let attempt = pupil
        .post_raw(
            &blog("/new"),
            &[
                ("title", "Piratage"),
                ("body", "x"),
                ("publish", "on"),
                ("csrf", &csrf),
            ],
        )
        .await
        .unwrap();
    assert_eq!(attempt.status, 403);
    assert!(
        !pupil
            .get(&blog("/"))
            .await
            .unwrap()
            .body
            .contains("Piratage")
    );

    let anonymous = server.client();
    let page = anonymous.get(&blog("/")).await.unwrap();
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login?next="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_csrf_are_rejected_and_change_nothing() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let forged = teacher
        .post_raw(
            &blog("/new"),
            &[("title", "Sans jeton"), ("body", "x"), ("publish", "on")],
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 403);
    let wrong = teacher
        .post_raw(
            &blog("/new"),
            &[
                ("title", "Mauvais jeton"),
                ("body", "x"),
                ("csrf", "0123456789abcdef0123456789abcdef"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(wrong.status, 403);
    let list = teacher.get(&blog("/")).await.unwrap().body;
    assert!(!list.contains("Sans jeton") && !list.contains("Mauvais jeton"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_articles_get_field_errors_in_french_and_are_not_saved() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let page = teacher
        .post_form(
            &blog("/new"),
            &blog("/new"),
            &[("title", ""), ("body", "  ")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Le titre est obligatoire."));
    assert!(
        page.body
            .contains("Le contenu de l&#x27;article est obligatoire.")
            || page
                .body
                .contains("Le contenu de l'article est obligatoire.")
    );
    let long = "t".repeat(201);
    let page = teacher
        .post_form(
            &blog("/new"),
            &blog("/new"),
            &[("title", &long), ("body", "<p>ok</p>")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 422);
    assert!(page.body.contains("200 caractères"));
    // What was typed is kept in the form.
    assert!(page.body.contains(&long));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rich_bodies_are_sanitized_and_allowlisted_embeds_kept() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let body = r#"<p>Regardez :</p>
<iframe src="https://www.youtube.com/embed/aqz-KE-bpKQ" width="560"></iframe>
<iframe src="https://evil.example/x"></iframe>
<script>alert('xss')</script>
<img src="x" onerror="alert(1)">
<a href="javascript:alert(2)">clic</a>
<p onclick="alert(3)">texte</p>
<p>https://vimeo.com/76979871</p>"#;
    let url = write_post(&teacher, "Vidéo", body, true).await;
    let page = server
        .signed_in("emma.martin")
        .await
        .unwrap()
        .get(&url)
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    let html = page.body;
    assert!(
        html.contains(r#"src="https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ""#),
        "{html}"
    );
    assert!(html.contains(r#"src="https://player.vimeo.com/video/76979871""#));
    assert!(html.contains("sandbox="));
    assert!(!html.contains("evil.example"));
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("onerror"));
    assert!(!html.contains("onclick"));
    assert!(!html.contains("javascript:"));
    assert!(html.contains("texte"));
}

/// Vectors per article: enough to keep the test fast, few enough that one
/// vector swallowing the rest of its article (`<plaintext>`, an unclosed
/// comment…) costs little: the swallowed ones are posted again.
const VECTORS_PER_ARTICLE: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_xss_vector_is_inert_in_the_rendered_article_page() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let csrf = teacher.get(&blog("/new")).await.unwrap().csrf().unwrap();
    // The layout alone passes the checks (no false alarm from the theme).
    let home = pupil.get(&format!("/e/{PILAT}/")).await.unwrap();
    assert_eq!(page_problems(&home.body), Vec::<String>::new());

    let vectors = xss_vectors();
    assert!(vectors.len() >= 300, "only {} vectors", vectors.len());
    let mut queue: VecDeque<usize> = (0..vectors.len()).collect();
    let mut exercised = vec![false; vectors.len()];
    let mut articles = 0;
    while !queue.is_empty() {
        let batch: Vec<usize> = queue
            .drain(..VECTORS_PER_ARTICLE.min(queue.len()))
            .collect();
        // Each vector follows a visible marker paragraph.
        let body: String = batch
            .iter()
            .map(|&i| format!("<p>vecteur-{i:04}</p>\n{}\n", vectors[i]))
            .collect();
        articles += 1;
        let title = format!("Vecteurs {articles}");
        let created = teacher
            .post_raw(
                &blog("/new"),
                &[
                    ("title", &title),
                    ("body", &body),
                    ("publish", "on"),
                    ("csrf", &csrf),
                ],
            )
            .await
            .unwrap();
        assert_eq!(created.status, 303, "{body}\n{}", created.body);
        let page = pupil.get(created.location()).await.unwrap();
        assert_eq!(page.status, 200, "{body}");
        let problems = page_problems(&page.body);
        assert!(
            problems.is_empty(),
            "{problems:#?}\nvectors:\n{body}\npage:\n{}",
            page.body
        );
        // A vector whose marker is missing was swallowed by an earlier one
        // (its content removed with it): it and the rest go again.
        let text = page_text(&page.body);
        assert!(text.contains(&title));
        for (pos, &i) in batch.iter().enumerate() {
            if text.contains(&format!("vecteur-{i:04}")) {
                exercised[i] = true;
            } else {
                assert!(pos > 0, "first marker of an article missing: {body}");
                for &j in batch[pos..].iter().rev() {
                    queue.push_front(j);
                }
                break;
            }
        }
    }
    assert!(exercised.iter().all(|&e| e));
    // Excerpts on the list page and the home page's block are safe too.
    for path in [blog("/"), blog("/?page=2"), format!("/e/{PILAT}/")] {
        let page = pupil.get(&path).await.unwrap();
        assert_eq!(page_problems(&page.body), Vec::<String>::new(), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_stay_private_and_a_redacteur_needs_a_moderator() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let draft = write_post(&teacher, "Brouillon secret", "<p>pas fini</p>", false).await;
    assert!(
        teacher
            .get(&draft)
            .await
            .unwrap()
            .body
            .contains("Brouillon")
    );
    let pupil = server.signed_in("emma.martin").await.unwrap();
    assert_eq!(pupil.get(&draft).await.unwrap().status, 404);
    assert!(
        !pupil
            .get(&blog("/"))
            .await
            .unwrap()
            .body
            .contains("Brouillon secret")
    );

    // Pupils become rédacteurs (no rights UI yet: grants set through the directory).
    let mut grants = server
        .app
        .directory()
        .grants(PILAT, "blog")
        .unwrap()
        .unwrap();
    grants
        .profiles
        .insert("eleve".into(), vec!["lecteur".into(), "redacteur".into()]);
    server
        .app
        .directory()
        .put_grants(PILAT, "blog", &grants)
        .unwrap();
    let submitted = write_post(&pupil, "Article d'Emma", "<p>Mon exposé</p>", true).await;
    let parent = server.signed_in("paul.martin").await.unwrap();
    assert_eq!(
        parent.get(&submitted).await.unwrap().status,
        404,
        "waits for validation"
    );
    // A teacher (publisher, not moderator) cannot validate it.
    let teacher_list = teacher.get(&blog("/")).await.unwrap().body;
    assert!(!teacher_list.contains("Article d&#x27;Emma"));
    let csrf = teacher.get(&blog("/")).await.unwrap().csrf().unwrap();
    assert_eq!(
        teacher
            .post_raw(&format!("{submitted}/publish"), &[("csrf", &csrf)])
            .await
            .unwrap()
            .status,
        403
    );
    // The establishment administrator holds every role, moderator included.
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let list = principal.get(&blog("/")).await.unwrap();
    assert!(
        list.body.contains("Article d&#x27;Emma"),
        "pending list shows it"
    );
    let published = principal
        .post_form(&submitted, &format!("{submitted}/publish"), &[])
        .await
        .unwrap();
    assert_eq!(published.status, 303);
    assert_eq!(parent.get(&submitted).await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_paginated() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    for i in 0..11 {
        write_post(
            &teacher,
            &format!("Article numéro {i:02}"),
            "<p>x</p>",
            true,
        )
        .await;
    }
    // 2 demo articles + 11 = 13 published; 10 per page.
    let first = teacher.get(&blog("/")).await.unwrap();
    assert!(first.body.contains("Article numéro 10"));
    assert!(!first.body.contains("Bienvenue sur le portail"));
    assert!(first.body.contains("?page=2"));
    let second = teacher.get(&blog("/?page=2")).await.unwrap();
    assert!(second.body.contains("Bienvenue sur le portail"));
    assert_eq!(teacher.get(&blog("/?page=999")).await.unwrap().status, 404);
    assert!(!second.body.contains("Article numéro 10"));
}

/// No GET changes state: an article whose image points at `/cas/logout` (the
/// sanitizer keeps same-origin images) no longer signs its readers out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_pointing_at_the_sign_out_does_not_sign_readers_out() {
    let server = TestServer::start().await.unwrap();
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let url = write_post(
        &teacher,
        "Photo de classe",
        "<p>La photo : <img src=\"/cas/logout\" alt=\"photo\"></p>",
        true,
    )
    .await;
    let reader = server.signed_in("emma.martin").await.unwrap();
    let article = reader.get(&url).await.unwrap();
    assert_eq!(article.status, 200);
    // What a browser does: load every same-site image of the page.
    let body = preau_tests::unescape(&article.body);
    let images: Vec<String> = body
        .match_indices("<img src=\"")
        .map(|(i, m)| {
            body[i + m.len()..]
                .chars()
                .take_while(|c| *c != '"')
                .collect()
        })
        .filter(|src: &String| src.starts_with('/'))
        .collect();
    assert!(
        images.iter().any(|src| src == "/cas/logout"),
        "the image is kept: {images:?}"
    );
    for src in &images {
        reader.get(src).await.unwrap();
    }
    assert_eq!(
        reader.get("/compte").await.unwrap().status,
        200,
        "the reader is still signed in"
    );
}
