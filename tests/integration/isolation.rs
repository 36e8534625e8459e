use preau_tests::{FOREZ, PILAT, TestServer};

use crate::blog::write_post;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn establishments_do_not_see_each_others_people_or_data() {
    let server = TestServer::start().await.unwrap();
    server.enable(FOREZ, "blog").await.unwrap();

    let jean = server.signed_in("jean.dupont").await.unwrap();
    let pilat_post = write_post(&jean, "Réservé au Pilat", "<p>interne</p>", true).await;

    // A Pilat teacher has no role in the Forez blog.
    assert_eq!(
        jean.get(&format!("/e/{FOREZ}/blog/")).await.unwrap().status,
        403
    );
    assert_eq!(
        jean.get(&format!("/e/{FOREZ}/blog/new"))
            .await
            .unwrap()
            .status,
        403
    );

    // A Forez teacher writes in Forez, and sees nothing of Pilat.
    let lucie = server.signed_in("lucie.bernard").await.unwrap();
    let list = lucie.get(&format!("/e/{FOREZ}/blog/")).await.unwrap();
    assert_eq!(list.status, 200);
    assert!(!list.body.contains("Réservé au Pilat"));
    assert_eq!(lucie.get(&pilat_post).await.unwrap().status, 403);
    // The same article id under the other establishment does not exist there.
    let same_id = pilat_post.replace(PILAT, FOREZ);
    assert_eq!(lucie.get(&same_id).await.unwrap().status, 404);
    let forez_post = {
        let page = lucie
            .post_form(
                &format!("/e/{FOREZ}/blog/new"),
                &format!("/e/{FOREZ}/blog/new"),
                &[
                    ("title", "Au Forez"),
                    ("body", "<p>x</p>"),
                    ("publish", "on"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(page.status, 303);
        page.location().to_string()
    };
    assert!(forez_post.starts_with(&format!("/e/{FOREZ}/blog/")));
    assert!(
        !jean
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .body
            .contains("Au Forez")
    );
}
