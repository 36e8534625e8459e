//! Storage quotas: a plugin namespace cannot grow past its quota, a write
//! over it changes nothing, the person sees a French page with their text,
//! and region administrators see and set the quotas.

use preau_host::store::usage;
use preau_tests::{PILAT, TestServer};

fn hostile(path: &str) -> String {
    format!("/e/{PILAT}/hostile{path}")
}

fn hostile_usage(server: &TestServer) -> u64 {
    usage::counted(server.app.directory().store())
        .unwrap()
        .get(&(PILAT.to_string(), "hostile".to_string()))
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cannot_write_past_its_quota_and_a_refused_write_changes_nothing() {
    let server = TestServer::start().await.unwrap();
    server.enable(PILAT, "hostile").await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let csrf = pupil.get(&hostile("/ok")).await.unwrap().csrf().unwrap();

    // The plugin writes 1 MiB values in a loop; its manifest asks for 4 MiB.
    let filled = pupil
        .post_raw(&hostile("/fill"), &[("csrf", &csrf), ("note", "mon texte")])
        .await
        .unwrap();
    assert_eq!(filled.status, 507, "{}", filled.body);
    let page = preau_tests::unescape(&filled.body).replace("&#39;", "'");
    assert!(
        page.contains("L'espace alloué à ce service dans votre établissement est plein"),
        "{page}"
    );
    assert!(page.contains("sur 4,0 Mo"), "{page}");
    assert!(
        page.contains("mon texte"),
        "le texte saisi est rendu : {page}"
    );
    let used = hostile_usage(&server);
    assert!(used <= 4 << 20, "{used} octets pour un quota de 4 Mio");
    assert!(used >= 3 << 20, "trois valeurs de 1 Mio tenaient : {used}");
    // The counters are exact: they agree with the entries.
    assert!(
        usage::mismatches(server.app.directory().store())
            .unwrap()
            .is_empty()
    );

    // A batch that does not fit writes nothing, not even its small entry.
    let batch = pupil
        .post_raw(&hostile("/fill-batch"), &[("csrf", &csrf)])
        .await
        .unwrap();
    assert_eq!(batch.status, 507);
    assert_eq!(hostile_usage(&server), used, "rien n'a été écrit");
    let seen = pupil
        .get(&hostile("/store/k?key=lot/marque"))
        .await
        .unwrap();
    assert!(seen.body.contains("\"found\":false"), "{}", seen.body);

    // Freeing space (deleting is always allowed) lets writes in again.
    let small = pupil
        .post_raw(&hostile("/store/k?key=petit"), &[("csrf", &csrf)])
        .await
        .unwrap();
    assert_eq!(small.status, 200, "une petite écriture tient encore");

    // The region administrator sees the usage and sets the quota.
    let admin = server.signed_in("admin").await.unwrap();
    let quotas = admin.get("/admin/quotas").await.unwrap();
    assert_eq!(quotas.status, 200);
    let text = preau_tests::unescape(&quotas.body);
    assert!(text.contains("Plugin hostile (tests)"), "{text}");
    assert!(text.contains("Collège"), "{text}");
    let refused = admin
        .post_form("/admin/quotas", "/admin/quotas", &[("mib", "beaucoup")])
        .await
        .unwrap();
    assert_eq!(refused.status, 422);
    assert!(
        preau_tests::unescape(&refused.body).contains("Indiquez un nombre entier de mégaoctets"),
        "{}",
        refused.body
    );
    let saved = admin
        .post_form("/admin/quotas", "/admin/quotas", &[("mib", "1")])
        .await
        .unwrap();
    assert_eq!(saved.status, 303);
    // 1 MiB is now the quota of every namespace: the blog's next article
    // still fits (the demo's blog holds a few KiB), the hostile plugin's
    // small write does not (it is over 1 MiB already).
    let refused_small = pupil
        .post_raw(&hostile("/store/k?key=encore"), &[("csrf", &csrf)])
        .await
        .unwrap();
    assert_eq!(refused_small.status, 507);
    assert!(preau_tests::unescape(&refused_small.body).contains("sur 1,0 Mo"));
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let article = teacher
        .post_form(
            &format!("/e/{PILAT}/blog/new"),
            &format!("/e/{PILAT}/blog/new"),
            &[
                ("title", "Sous le quota"),
                ("body", "<p>court</p>"),
                ("publish", "on"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(article.status, 303, "{}", article.body);
    // A pupil may not see or change quotas.
    assert_eq!(pupil.get("/admin/quotas").await.unwrap().status, 403);
}
