//! Scheduled backups (`/admin/sauvegardes`): the region administrator sets the
//! schedule (errors per field, in French), takes a backup at once into the
//! operator's folder (`backup_dir`), and old backups are pruned by name only.
//! Nobody else reaches these pages. The retention rule itself is unit-tested
//! in `host/src/backup_schedule.rs`.

use std::path::{Path, PathBuf};

use preau_host::backup_schedule::{Schedule, parse_name};
use preau_tests::{TestServer, test_config, unescape};

/// A server whose backup folder is `work/copies` (the operator's setting).
async fn server_with_backups(work: &Path) -> (TestServer, PathBuf) {
    let mut config = test_config(&work.join("db"));
    let copies = work.join("copies");
    config.backup_dir = Some(copies.clone());
    (TestServer::start_with(config).await.unwrap(), copies)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_administrator_schedules_and_takes_a_backup_others_cannot() {
    let work = tempfile::tempdir().unwrap();
    let (server, copies) = server_with_backups(work.path()).await;
    let admin = server.signed_in("admin").await.unwrap();

    let home = unescape(&admin.get("/admin/").await.unwrap().body);
    assert!(
        home.contains("href=\"/admin/sauvegardes\""),
        "lien depuis /admin/"
    );
    let page = admin.get("/admin/sauvegardes").await.unwrap();
    assert_eq!(page.status, 200);
    let body = unescape(&page.body);
    assert!(
        body.contains(&copies.display().to_string()),
        "the folder is shown"
    );
    assert!(body.contains("Désactivée") && body.contains("Sauvegarder maintenant"));

    // A bad hour (and an empty count): 422, an error at each field, nothing saved.
    let refused = admin
        .post_form(
            "/admin/sauvegardes",
            "/admin/sauvegardes",
            &[
                ("enabled", "oui"),
                ("hour", "24"),
                ("daily", ""),
                ("weekly", "4"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 422);
    let body = unescape(&refused.body);
    assert!(
        body.contains("« 24 » n'est pas une heure : choisissez une heure de 0 à 23."),
        "{body}"
    );
    assert!(body.contains("id=\"field-hour-erreur\""), "at the field");
    assert!(body.contains("href=\"#field-hour\""), "in the summary");
    assert!(body.contains("Indiquez le nombre de sauvegardes quotidiennes à garder"));
    assert!(!body.contains("id=\"field-weekly-erreur\""));
    assert!(body.contains("value=\"4\""), "what was typed is shown back");
    let saved: Option<Schedule> = server.app.directory().region_setting("backups").unwrap();
    assert_eq!(saved, None);

    // A good schedule.
    let ok = admin
        .post_form(
            "/admin/sauvegardes",
            "/admin/sauvegardes",
            &[
                ("enabled", "oui"),
                ("hour", "3"),
                ("daily", "5"),
                ("weekly", "2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(ok.status, 303);
    assert_eq!(ok.location(), "/admin/sauvegardes?ok=reglages");
    let saved: Option<Schedule> = server.app.directory().region_setting("backups").unwrap();
    assert_eq!(
        saved,
        Some(Schedule {
            enabled: true,
            hour: 3,
            daily: 5,
            weekly: 2
        })
    );
    let body = unescape(&admin.get(ok.location()).await.unwrap().body);
    assert!(body.contains("Programmation des sauvegardes enregistrée."));
    assert!(
        body.contains("Chaque jour à 3 h 00 (heure de Paris)"),
        "{body}"
    );
    // Off again before anything else: the scheduler (first look one minute
    // after start) must not write a backup while this test counts files.
    let off = admin
        .post_form(
            "/admin/sauvegardes",
            "/admin/sauvegardes",
            &[("hour", "3"), ("daily", "5"), ("weekly", "2")],
        )
        .await
        .unwrap();
    assert_eq!(off.status, 303);
    let saved: Option<Schedule> = server.app.directory().region_setting("backups").unwrap();
    assert_eq!(saved.as_ref().map(|s| s.enabled), Some(false));

    // Teachers, pupils, establishment administrators and visitors are refused,
    // and nothing is written.
    for login in ["marie.lefebvre", "emma.martin", "principal.pilat"] {
        let other = server.signed_in(login).await.unwrap();
        assert_eq!(other.get("/admin/sauvegardes").await.unwrap().status, 403);
        for path in ["/admin/sauvegardes", "/admin/sauvegardes/maintenant"] {
            let post = other
                .post_form(
                    "/login",
                    path,
                    &[("hour", "1"), ("daily", "1"), ("weekly", "0")],
                )
                .await
                .unwrap();
            assert_eq!(post.status, 403, "{login} {path}");
        }
    }
    let anonymous = server.client();
    let page = anonymous.get("/admin/sauvegardes").await.unwrap();
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login"));
    let post = anonymous
        .post_form("/login", "/admin/sauvegardes/maintenant", &[])
        .await
        .unwrap();
    assert!(post.location().starts_with("/login"), "{}", post.status);
    assert!(names_in(&copies).is_empty(), "{:?}", names_in(&copies));
    assert_eq!(
        server
            .app
            .directory()
            .region_setting::<Schedule>("backups")
            .unwrap(),
        saved,
        "the schedule was not changed by them"
    );

    // Without the CSRF token, no backup either.
    let forged = admin
        .post_raw("/admin/sauvegardes/maintenant", &[])
        .await
        .unwrap();
    assert_eq!(forged.status, 403);
    assert!(names_in(&copies).is_empty());

    // « Sauvegarder maintenant »: a complete, verified snapshot in the folder.
    let now = admin
        .post_form("/admin/sauvegardes", "/admin/sauvegardes/maintenant", &[])
        .await
        .unwrap();
    assert_eq!(now.status, 303);
    assert_eq!(now.location(), "/admin/sauvegardes?ok=sauvegarde");
    let names = names_in(&copies);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(parse_name(&names[0]).is_some(), "{}", names[0]);
    let snapshot = preau_host::store::snapshot::read(&copies.join(&names[0])).unwrap();
    assert!(snapshot.summary.entries() > 0);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&copies), 0o700, "the folder is Préau's account's only");
        assert_eq!(mode(&copies.join(&names[0])), 0o600);
    }
    let body = unescape(&admin.get(now.location()).await.unwrap().body);
    assert!(body.contains("Sauvegarde écrite"), "{body}");
    assert!(body.contains("Réussie") && body.contains("manuelle"));
    assert!(body.contains(&names[0]) && body.contains("Quotidienne"));
    assert!(body.contains(&snapshot.summary.sha256));
    let log = server.app.directory().audit_entries(5).unwrap();
    assert!(
        log.iter().any(|e| e["action"] == "sauvegarde manuelle"),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_prunes_old_ones_by_name_and_nothing_else() {
    let work = tempfile::tempdir().unwrap();
    let copies = work.path().join("copies");
    std::fs::create_dir_all(&copies).unwrap();
    // Zero-byte files: the pruner looks only at names. Every day of January
    // 2020 at 02:00, and one more on the 31st at 01:00.
    let mut dummies: Vec<String> = (1..=31)
        .map(|d| format!("preau-2020-01-{d:02}-0200.preau.gz"))
        .collect();
    dummies.push("preau-2020-01-31-0100.preau.gz".into());
    let others = [
        "notes.txt",
        "preau-2020-01-05.preau.gz",
        "preau-2020-01-02-0200.preau.gz.partial",
        "preau-2020-01-03-0200.preau.gz.ancienne",
    ];
    for name in dummies.iter().map(String::as_str).chain(others) {
        std::fs::write(copies.join(name), b"").unwrap();
    }
    let (server, copies) = server_with_backups(work.path()).await;
    let admin = server.signed_in("admin").await.unwrap();
    let saved = admin
        .post_form(
            "/admin/sauvegardes",
            "/admin/sauvegardes",
            &[("hour", "2"), ("daily", "3"), ("weekly", "2")],
        )
        .await
        .unwrap();
    assert_eq!(saved.status, 303);
    let page = unescape(&admin.get("/admin/sauvegardes").await.unwrap().body);
    assert!(page.contains("Désactivée"), "not checked: not scheduled");
    assert!(page.contains("Supprimée à la prochaine sauvegarde"));
    assert!(page.contains("Hors rotation (jamais supprimée)"));

    let now = admin
        .post_form("/admin/sauvegardes", "/admin/sauvegardes/maintenant", &[])
        .await
        .unwrap();
    assert_eq!(now.location(), "/admin/sauvegardes?ok=sauvegarde");
    let left = names_in(&copies);
    let new: Vec<&String> = left
        .iter()
        .filter(|n| n.as_str() > "preau-2021" && parse_name(n).is_some())
        .collect();
    assert_eq!(new.len(), 1, "{left:?}");
    preau_host::store::snapshot::read(&copies.join(new[0])).unwrap();
    // Daily: today's new backup, 31 (its newest) and 30 January; weekly, among
    // the older days: the newest of the week of 27 January (the 29th) and of
    // the week of 20 January (Sunday the 26th). The other names stay.
    let mut expected: Vec<String> = [
        "preau-2020-01-26-0200.preau.gz",
        "preau-2020-01-29-0200.preau.gz",
        "preau-2020-01-30-0200.preau.gz",
        "preau-2020-01-31-0200.preau.gz",
    ]
    .iter()
    .chain(others.iter())
    .map(|s| s.to_string())
    .chain(std::iter::once(new[0].clone()))
    .collect();
    expected.sort();
    assert_eq!(left, expected);
    let body = unescape(&admin.get(now.location()).await.unwrap().body);
    assert!(
        body.contains("Anciennes sauvegardes supprimées selon la conservation"),
        "{body}"
    );
    assert!(
        body.contains("preau-2020-01-31-0100.preau.gz"),
        "named as deleted"
    );
    assert!(body.contains("Hebdomadaire"));
}
