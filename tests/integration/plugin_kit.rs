//! The plugin authoring kit, the way a third party uses it: the example plugin
//! in `examples/mur-de-classe/` — outside the workspace, the SDK by path, the
//! model `cargo xtask new-plugin` copies under a new id — passes its own unit tests, is built
//! and bundled by `cargo xtask bundle`, checked by `preau plugin check`, and
//! installed by `preau plugin install` into the plugin folder of a host that is
//! already running, which loads it without a restart; people then use it. A
//! damaged bundle is refused with every problem named, and nothing is installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use preau_tests::{
    PILAT, TestServer, cargo_command, preau_binary, repo_root, test_config, unescape,
};

const EXAMPLE: &str = "mur-de-classe";

/// The example's build folder: kept between runs (under the workspace's ignored
/// `target/`), so only the first run compiles the SDK for it.
fn example_target() -> PathBuf {
    repo_root().join("target/external-plugins")
}

fn run(mut command: Command) -> (bool, String) {
    let output = command.output().expect("lancement");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn xtask(args: &[&str]) -> Command {
    let mut command = cargo_command();
    command
        .args(["run", "--quiet", "-p", "xtask", "--"])
        .args(args);
    command
}

/// `cargo xtask bundle` of the example into `out`; the bundle's folder.
fn bundle_example(out: &Path) -> PathBuf {
    let manifest = repo_root()
        .join("examples")
        .join(EXAMPLE)
        .join("Cargo.toml");
    let mut command = xtask(&["bundle", "--manifest-path"]);
    command.arg(&manifest).arg("--out").arg(out);
    // xtask itself builds in the workspace's target; the plugin in its own.
    command.env("PREAU_PLUGIN_TARGET_DIR", example_target());
    let (ok, text) = run(command);
    assert!(ok, "cargo xtask bundle : {text}");
    let bundle = out.join(EXAMPLE);
    for file in [
        "plugin.toml",
        "plugin.wasm",
        "templates/index.html",
        "static/style.css",
    ] {
        assert!(bundle.join(file).is_file(), "{file} manque dans le paquet");
    }
    bundle
}

fn preau(args: &[&str], extra: &[&Path]) -> (bool, String) {
    let mut command = Command::new(preau_binary());
    command.current_dir(repo_root()).args(args).args(extra);
    run(command)
}

#[test]
fn new_plugin_writes_the_example_under_its_own_id() {
    let scratch = tempfile::tempdir().unwrap();
    let (ok, text) = run({
        let mut command = xtask(&[
            "new-plugin",
            "carnet-de-bord",
            "--name",
            "Carnet de bord",
            "--dir",
        ]);
        command.arg(scratch.path());
        command
    });
    assert!(ok, "cargo xtask new-plugin : {text}");
    let fresh = scratch.path().join("carnet-de-bord");
    let example = repo_root().join("examples").join(EXAMPLE);
    for file in [
        "plugin.toml",
        "src/lib.rs",
        "templates/index.html",
        "templates/block.html",
        "static/style.css",
    ] {
        let written = std::fs::read_to_string(fresh.join(file)).unwrap();
        let expected = std::fs::read_to_string(example.join(file))
            .unwrap()
            .replace("Mur de la classe", "Carnet de bord")
            .replace(EXAMPLE, "carnet-de-bord");
        assert_eq!(written, expected, "{file}");
    }
    let manifest = std::fs::read_to_string(fresh.join("plugin.toml")).unwrap();
    assert!(
        manifest.contains("id = \"carnet-de-bord\"")
            && manifest.contains("name = \"Carnet de bord\"")
    );
    // A crate of its own, the SDK by an absolute path.
    let cargo = std::fs::read_to_string(fresh.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"carnet-de-bord\"") && cargo.contains("[workspace]"));
    assert!(cargo.contains("preau-sdk = { path = \"/"), "{cargo}");
    // An id that cannot name a plugin is refused, in French, before anything is written.
    let (ok, text) = run({
        let mut command = xtask(&["new-plugin", "Mon_Service", "--dir"]);
        command.arg(scratch.path());
        command
    });
    assert!(
        !ok && text.contains("identifiant « Mon_Service » invalide"),
        "{text}"
    );
    assert!(!scratch.path().join("Mon_Service").exists());
}

#[test]
fn the_examples_unit_tests_pass() {
    let mut command = cargo_command();
    command
        .args(["test", "--quiet", "--manifest-path"])
        .arg(
            repo_root()
                .join("examples")
                .join(EXAMPLE)
                .join("Cargo.toml"),
        )
        .arg("--target-dir")
        .arg(example_target());
    let (ok, text) = run(command);
    assert!(ok, "cargo test de l'exemple : {text}");
    assert!(text.contains("test result: ok. 1 passed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_plugin_is_bundled_checked_and_installed_into_a_running_host() {
    let scratch = tempfile::tempdir().unwrap();
    let bundle = tokio::task::spawn_blocking({
        let out = scratch.path().join("paquets");
        move || bundle_example(&out)
    })
    .await
    .unwrap();

    let (ok, report) = preau(&["plugin", "check"], &[&bundle]);
    assert!(ok, "{report}");
    assert!(report.contains("Paquet valide"), "{report}");
    assert!(
        report.contains("GET /") && report.contains("POST /"),
        "{report}"
    );
    assert!(report.contains("contrat : 0.5.1"), "{report}");

    // A host already running, watching an empty plugin folder of its own.
    let installed = scratch.path().join("plugins-installes");
    std::fs::create_dir_all(&installed).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    config.plugin_dirs.push(installed.clone());
    config.reload_interval = Some(Duration::from_millis(200));
    let server = TestServer::start_with(config).await.unwrap();
    assert!(server.app.runtime().plugin(EXAMPLE).is_none());

    let (ok, text) = preau(
        &["plugin", "install"],
        &[&bundle, Path::new("--plugins"), &installed],
    );
    assert!(ok, "{text}");
    assert!(text.contains("installé"), "{text}");
    let mut waited = Duration::ZERO;
    while server.app.runtime().plugin(EXAMPLE).is_none() {
        assert!(
            waited < Duration::from_secs(20),
            "plugin installé mais jamais chargé"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }

    // The region administrator enables it; teachers write, pupils read.
    server.enable(PILAT, EXAMPLE).await.unwrap();
    let url = format!("/e/{PILAT}/{EXAMPLE}/");
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let page = teacher.get(&url).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Mur de la classe"));
    assert!(
        unescape(&page.body).contains(&format!("/plugins/{EXAMPLE}/static/style.css")),
        "la page lie la feuille de style du plugin : {}",
        &page.body[..page.body.find("</head>").unwrap_or(0)]
    );
    let css = teacher
        .get(&format!("/plugins/{EXAMPLE}/static/style.css"))
        .await
        .unwrap();
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    let written = teacher
        .post_form(&url, &url, &[("text", "Sortie au musée jeudi")])
        .await
        .unwrap();
    assert_eq!(written.status, 303, "{}", written.body);
    let empty = teacher
        .post_form(&url, &url, &[("text", "   ")])
        .await
        .unwrap();
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Écrivez un message."));
    let pupil = server.signed_in("emma.martin").await.unwrap();
    assert!(
        pupil
            .get(&url)
            .await
            .unwrap()
            .body
            .contains("Sortie au musée jeudi")
    );
    let refused = pupil
        .post_form(&url, &url, &[("text", "Coucou")])
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    // Its block is offered for the home page.
    let admin = server.signed_in("principal.pilat").await.unwrap();
    let home = admin
        .get(&format!("/admin/e/{PILAT}/accueil"))
        .await
        .unwrap();
    assert!(
        home.body.contains("Mur de la classe : derniers messages"),
        "{}",
        home.body
    );
}

#[test]
fn a_damaged_bundle_is_refused_with_every_problem_named() {
    let scratch = tempfile::tempdir().unwrap();
    let bundle = bundle_example(&scratch.path().join("paquets"));
    let manifest = std::fs::read_to_string(bundle.join("plugin.toml")).unwrap();
    let damaged = manifest
        .replace("memory_mib = 32", "memory_mib = 4096")
        .replace("id = \"mur-de-classe\"", "id = \"autre-mur\"");
    std::fs::write(bundle.join("plugin.toml"), damaged).unwrap();
    std::fs::write(
        bundle.join("templates/index.html"),
        "{% extends \"layout.html\" %}\n{% block content %}\n{% if %}\n",
    )
    .unwrap();
    std::fs::write(bundle.join("static/script.js"), "alert(1)").unwrap();

    let (ok, text) = preau(&["plugin", "check"], &[&bundle]);
    assert!(!ok, "{text}");
    for problem in [
        "limits.memory_mib = 4096 : l'hôte accorde de 1 à 64 Mio",
        "templates/index.html : erreur de syntaxe ligne 3",
        "static/script.js : type de fichier refusé",
        "le composant se déclare « mur-de-classe » mais le manifeste « autre-mur »",
    ] {
        assert!(text.contains(problem), "« {problem} » absent de :\n{text}");
    }

    let target = scratch.path().join("plugins");
    let (ok, text) = preau(
        &["plugin", "install"],
        &[&bundle, Path::new("--plugins"), &target],
    );
    assert!(!ok && text.contains("plugin refusé"), "{text}");
    assert!(
        !target.exists() || std::fs::read_dir(&target).unwrap().next().is_none(),
        "rien ne doit être installé"
    );

    // A contract this host does not serve is named as such.
    std::fs::write(
        bundle.join("plugin.toml"),
        manifest.replace("contract = \"0.5.1\"", "contract = \"0.2.0\""),
    )
    .unwrap();
    let (ok, text) = preau(&["plugin", "check"], &[&bundle]);
    assert!(
        !ok && text.contains("contrat 0.2.0 non pris en charge"),
        "{text}"
    );
}
