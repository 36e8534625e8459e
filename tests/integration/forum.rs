//! The forum through the real host: roles, subjects and replies, quoting, unread
//! markers, moderation, pre-moderation, search, rubriques, bad input.

use preau_tests::{Client, PILAT, TestServer, unescape};

const FORUM: &str = "/e/0420003A/forum";

/// The links below `prefix` in a page, in order.
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

async fn category_url(client: &Client, base: &str, title: &str) -> String {
    let index = unescape(&client.get(&format!("{base}/")).await.unwrap().body);
    let at = index.find(title).expect("catégorie");
    let start = index[..at]
        .rfind(&format!("{base}/c/"))
        .expect("lien de catégorie");
    index[start..].chars().take_while(|c| *c != '"').collect()
}

async fn new_subject(
    client: &Client,
    category: &str,
    title: &str,
    message: &str,
) -> preau_tests::Page {
    client
        .post_form(
            category,
            category,
            &[("titre", title), ("message", message)],
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pupils_open_subjects_teachers_reply_with_quotes_and_parents_read() {
    let server = TestServer::start().await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let category = category_url(&pupil, FORUM, "Vie du collège").await;
    let page = new_subject(
        &pupil,
        &category,
        "Sortie à la piscine",
        "<p>Qui vient <strong>mercredi</strong> ?</p><script>alert(1)</script><p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>",
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let subject = page.location().to_string();
    assert!(subject.starts_with(&format!("{FORUM}/s/")), "{subject}");
    let shown = pupil.get(&subject).await.unwrap();
    assert!(shown.body.contains("<strong>mercredi</strong>"));
    assert!(!shown.body.contains("<script"), "sanitized");
    assert!(shown.body.contains("youtube-nocookie.com/embed/"), "embed");

    // A teacher quotes the pupil's message in a reply.
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let page = teacher.get(&subject).await.unwrap();
    let quote = links(&page.body, &subject).into_iter().next().unwrap();
    let with_quote = unescape(&page.body);
    let citer_at = with_quote.find("citer=").expect("lien Citer");
    let quoted: String = with_quote[citer_at + 6..].chars().take(16).collect();
    assert_eq!(quote, subject);
    let page = teacher
        .post_form(
            &subject,
            &subject,
            &[("message", "<p>Moi !</p>"), ("citer", &quoted)],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    // The pupil had read the subject before the reply: it is marked new in the
    // category until the pupil opens it again.
    let unread = |html: &str| {
        let at = html.find("Sortie à la piscine").expect("sujet listé");
        let item = html[..at]
            .rfind("<li class=\"forum-subject")
            .expect("élément de liste");
        html[item..at].contains("is-unread")
    };
    assert!(
        unread(&pupil.get(&category).await.unwrap().body),
        "unread marker"
    );
    let thread = pupil.get(&subject).await.unwrap();
    assert!(thread.body.contains("Moi !"));
    assert!(thread.body.contains("Emma Martin a écrit"), "quote shown");
    // Reading writes nothing (no GET changes state): the subject stays new
    // until the reader marks it read, under its messages.
    assert!(
        unread(&pupil.get(&category).await.unwrap().body),
        "still new after the visit"
    );
    let mark = format!("{subject}/lu");
    assert!(unescape(&thread.body).contains(&format!("action=\"{mark}\"")));
    assert!(thread.body.contains("Marquer comme lu"));
    let page = pupil.post_form(&subject, &mark, &[]).await.unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), category, "back to the category");
    let listed = pupil.get(&category).await.unwrap().body;
    assert!(!unread(&listed), "read once marked");
    let thread = pupil.get(&subject).await.unwrap();
    assert!(
        !thread.body.contains("Marquer comme lu"),
        "nothing left to mark"
    );
    // Replying marks the subject read for its author; another reader sees it new
    // and marks the whole category read at once.
    let page = teacher
        .post_form(&subject, &subject, &[("message", "<p>Et moi.</p>")])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert!(!unread(&teacher.get(&category).await.unwrap().body));
    let listed = pupil.get(&category).await.unwrap().body;
    assert!(unread(&listed));
    assert!(listed.contains("Tout marquer comme lu"));
    let page = pupil
        .post_form(&category, &format!("{category}/lu"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(!unread(&pupil.get(&category).await.unwrap().body));

    // A parent reads but cannot write; another establishment's teacher cannot read.
    let parent = server.signed_in("paul.martin").await.unwrap();
    assert_eq!(parent.get(&subject).await.unwrap().status, 200);
    let page = parent
        .post_form(&subject, &subject, &[("message", "<p>Bonjour</p>")])
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    let outsider = server.signed_in("lucie.bernard").await.unwrap();
    assert_eq!(outsider.get(&subject).await.unwrap().status, 403);
    // Only moderators create categories.
    let page = pupil
        .post_form(
            &format!("{FORUM}/"),
            &format!("{FORUM}/categories"),
            &[("titre", "Hors sujet")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403);

    // Bad input: precise errors, nothing created.
    let page = new_subject(&pupil, &category, " ", "").await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Donnez un titre.") && page.body.contains("Écrivez votre message."));

    // Search, accents and case ignored.
    let found = pupil
        .get(&format!("{FORUM}/recherche?q=PISCINE+Mercredi"))
        .await
        .unwrap();
    assert!(found.body.contains("1 résultat"), "{}", found.body);
    let none = pupil
        .get(&format!("{FORUM}/recherche?q=cantine"))
        .await
        .unwrap();
    assert!(none.body.contains("0 résultat"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_lock_hide_move_and_validate_premoderated_messages() {
    let server = TestServer::start().await.unwrap();
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let other_pupil = server.signed_in("tom.martin").await.unwrap();
    let category = category_url(&pupil, FORUM, "Vie du collège").await;
    let page = new_subject(&pupil, &category, "Le foyer", "<p>Ouvert le midi ?</p>").await;
    let subject = page.location().to_string();

    // Lock: pupils can no longer reply; the moderator can.
    let page = admin
        .post_form(&subject, &format!("{subject}/verrouiller"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let page = pupil
        .post_form(&category, &subject, &[("message", "<p>Alors ?</p>")])
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    let page = admin
        .post_form(
            &subject,
            &subject,
            &[("message", "<p>Oui, de 12 h à 13 h.</p>")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    // A pupil cannot moderate (server-side).
    let page = pupil
        .post_form(&category, &format!("{subject}/verrouiller"), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 403);

    // The replies counted in the lists (and the home block, from the same view).
    let replies_shown = |listing: &str| {
        let after = &listing[listing.find("Le foyer").expect("sujet listé")..];
        let meta = &after[..after.find("réponse").expect("compte des réponses")];
        meta.rsplit(' ').nth(1).unwrap_or_default().to_string()
    };
    let listing = pupil.get(&category).await.unwrap().body;
    assert_eq!(replies_shown(&listing), "1");

    // Hide the moderator's message: pupils no longer see it.
    let thread = admin.get(&subject).await.unwrap();
    let hide = links(&thread.body, &format!("{FORUM}/m/"))
        .into_iter()
        .rfind(|l| l.ends_with("/masquer"))
        .unwrap();
    admin.post_form(&subject, &hide, &[]).await.unwrap();
    assert!(
        !pupil
            .get(&subject)
            .await
            .unwrap()
            .body
            .contains("de 12 h à 13 h")
    );
    assert!(
        admin
            .get(&subject)
            .await
            .unwrap()
            .body
            .contains("de 12 h à 13 h")
    );
    // Nor is it counted any more (issue 17: the home block still counted it).
    let listing = pupil.get(&category).await.unwrap().body;
    assert_eq!(
        replies_shown(&listing),
        "0",
        "a hidden reply is not counted"
    );
    // Shown again: counted again.
    admin.post_form(&subject, &hide, &[]).await.unwrap();
    assert_eq!(
        replies_shown(&pupil.get(&category).await.unwrap().body),
        "1"
    );
    admin.post_form(&subject, &hide, &[]).await.unwrap();

    // Move the subject to « Entraide ».
    let entraide = category_url(&admin, FORUM, "Entraide").await;
    let target = entraide.rsplit('/').next().unwrap().to_string();
    let page = admin
        .post_form(
            &subject,
            &format!("{subject}/deplacer"),
            &[("categorie", &target)],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    assert!(
        pupil
            .get(&entraide)
            .await
            .unwrap()
            .body
            .contains("Le foyer")
    );
    assert!(
        !pupil
            .get(&category)
            .await
            .unwrap()
            .body
            .contains("Le foyer")
    );

    // Pre-moderation of pupils' messages.
    let config = format!("/admin/e/{PILAT}/plugins/forum");
    let page = admin
        .post_form(
            &config,
            &config,
            &[
                ("premoderation_eleves", "true"),
                ("sujets_par_page", "20"),
                ("messages_par_page", "20"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "{}", page.body);
    let page = new_subject(&pupil, &entraide, "Aide en maths", "<p>Exercice 4 ?</p>").await;
    let pending_subject = page.location().to_string();
    // Its author sees it waiting; another pupil does not see it at all.
    assert!(
        pupil
            .get(&pending_subject)
            .await
            .unwrap()
            .body
            .contains("En attente de validation")
    );
    assert_eq!(other_pupil.get(&pending_subject).await.unwrap().status, 404);
    assert!(
        !other_pupil
            .get(&entraide)
            .await
            .unwrap()
            .body
            .contains("Aide en maths")
    );
    // The moderator validates: everyone sees it.
    let thread = admin.get(&pending_subject).await.unwrap();
    assert!(thread.body.contains("En attente de validation"));
    let approve = links(&thread.body, &format!("{FORUM}/m/"))
        .into_iter()
        .find(|l| l.ends_with("/valider"))
        .expect("bouton Valider");
    let page = admin
        .post_form(&pending_subject, &approve, &[])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    let seen = other_pupil.get(&pending_subject).await.unwrap();
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains("Exercice 4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rubrique_has_its_own_forum_public_to_read() {
    let server = TestServer::start().await.unwrap();
    let base = "/e/0420003A/r/bac-a-sable/forum";
    let teacher = server.signed_in("marie.lefebvre").await.unwrap();
    let category = category_url(&teacher, base, "Vie du collège").await;
    let page = new_subject(
        &teacher,
        &category,
        "Essai de la rubrique",
        "<p>Premier message</p>",
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let subject = page.location().to_string();
    assert!(subject.starts_with(&format!("{base}/s/")));
    // Public rubrique: anonymous visitors read it.
    let anonymous = server.client();
    let page = anonymous.get(&subject).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Premier message"));
    // …but cannot write.
    let page = anonymous.get(&format!("{base}/")).await.unwrap();
    assert!(!page.body.contains("Nouvelle catégorie"));
    // The rubrique's subjects are not in the establishment's forum.
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let id = subject.rsplit('/').next().unwrap();
    assert_eq!(
        pupil.get(&format!("{FORUM}/s/{id}")).await.unwrap().status,
        404
    );
    // Pupils have no writing role in this rubrique's forum (only teachers were granted one).
    let page = new_subject(&pupil, &category, "Moi aussi", "<p>?</p>").await;
    assert_eq!(page.status, 403);
}
