//! Hot reload: a changed plugin (templates, component) is picked up without
//! restarting; a component that is another plugin's is refused and the loaded
//! version keeps serving.

use std::time::{Duration, Instant};

use preau_tests::{PILAT, TestServer, repo_root, test_config};

async fn wait_for(
    client: &preau_tests::Client,
    path: &str,
    check: impl Fn(&preau_tests::Page) -> bool,
) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let page = client.get(path).await.unwrap();
        if check(&page) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_plugin_is_reloaded_without_restarting() {
    let root = repo_root();
    let work = tempfile::tempdir().unwrap();
    let plugins = work.path().join("plugins");
    let wasm = work.path().join("wasm");
    std::fs::create_dir_all(plugins.join("hostile/templates")).unwrap();
    std::fs::create_dir_all(&wasm).unwrap();
    let source = root.join("tests/plugins/hostile");
    std::fs::copy(
        source.join("plugin.toml"),
        plugins.join("hostile/plugin.toml"),
    )
    .unwrap();
    std::fs::copy(
        source.join("templates/ok.html"),
        plugins.join("hostile/templates/ok.html"),
    )
    .unwrap();
    let built = root.join("target/wasm32-wasip2/release");
    std::fs::copy(built.join("hostile.wasm"), wasm.join("hostile.wasm")).unwrap();
    std::fs::copy(built.join("blog.wasm"), wasm.join("blog.wasm")).unwrap();

    let mut config = test_config(&work.path().join("db"));
    config.plugin_dirs = vec![root.join("plugins"), plugins.clone()];
    config.wasm_dir = wasm.clone();
    config.reload_interval = Some(Duration::from_millis(100));
    let server = TestServer::start_with(config).await.unwrap();
    server.enable(PILAT, "hostile").await.unwrap();
    let admin = server.signed_in("admin").await.unwrap();
    let ok = format!("/e/{PILAT}/hostile/ok");
    assert!(admin.get(&ok).await.unwrap().body.contains("tout va bien"));

    // New templates.
    let template = std::fs::read_to_string(plugins.join("hostile/templates/ok.html")).unwrap();
    std::fs::write(
        plugins.join("hostile/templates/ok.html"),
        template.replace("Réponse normale", "Version deux"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(plugins.join("hostile/plugin.toml")).unwrap();
    std::fs::write(
        plugins.join("hostile/plugin.toml"),
        manifest.replace("version = \"0.1.0\"", "version = \"0.2.0\""),
    )
    .unwrap();
    assert!(
        wait_for(&admin, &ok, |p| p.body.contains("Version deux")).await,
        "templates reloaded"
    );

    // A component that is another plugin's (the blog's, under the id "hostile"):
    // refused at load (`plugin-id`), the loaded version keeps serving.
    let before = server.app.runtime().plugin("hostile").unwrap();
    std::fs::copy(built.join("blog.wasm"), wasm.join("hostile.tmp")).unwrap();
    std::fs::rename(wasm.join("hostile.tmp"), wasm.join("hostile.wasm")).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let still = server.app.runtime().plugin("hostile").unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&before, &still),
        "composant d'un autre plugin chargé"
    );
    assert!(admin.get(&ok).await.unwrap().body.contains("Version deux"));

    // A new build of its own component is loaded in place of the running one.
    std::fs::copy(built.join("hostile.wasm"), wasm.join("hostile.tmp")).unwrap();
    std::fs::rename(wasm.join("hostile.tmp"), wasm.join("hostile.wasm")).unwrap();
    let started = Instant::now();
    while std::sync::Arc::ptr_eq(&before, &server.app.runtime().plugin("hostile").unwrap()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "component reloaded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(admin.get(&ok).await.unwrap().body.contains("Version deux"));
    // The rest kept serving throughout.
    assert_eq!(
        admin
            .get(&format!("/e/{PILAT}/blog/"))
            .await
            .unwrap()
            .status,
        200
    );
}
