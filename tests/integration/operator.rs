//! The operator's binary and metrics: `preau --help` in French, `preau serve`
//! run from a folder that is not a checkout (paths from a configuration file,
//! the command line and the environment), `/metrics` after some traffic and
//! its refusal to addresses outside `metrics_allow`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use preau_tests::{Client, PILAT, TestServer, preau_binary, repo_root, test_config};

#[test]
fn the_binary_speaks_french() {
    let help = Command::new(preau_binary()).arg("--help").output().unwrap();
    assert!(help.status.success(), "{help:?}");
    let text = String::from_utf8(help.stdout).unwrap();
    for expected in [
        "Utilisation :",
        "Commandes:",
        "serve",
        "plugin",
        "Affiche cette aide",
    ] {
        assert!(text.contains(expected), "« {expected} » manque :\n{text}");
    }
    for english in ["Usage", "Print help", "Commands:"] {
        assert!(!text.contains(english), "« {english} » :\n{text}");
    }
    let serve = Command::new(preau_binary())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let serve = String::from_utf8(serve.stdout).unwrap();
    for option in [
        "--plugins",
        "--wasm-dir",
        "--theme",
        "--cache",
        "--config",
        "--trusted-proxy",
        "--shutdown-grace",
    ] {
        assert!(serve.contains(option), "{option} manque :\n{serve}");
    }

    let wrong = Command::new(preau_binary())
        .args(["serve", "--adresse", "x"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    let error = String::from_utf8(wrong.stderr).unwrap();
    assert!(
        error.starts_with("erreur : argument inattendu « --adresse »"),
        "{error}"
    );
    assert!(
        !error.contains("Usage") && !error.contains("error"),
        "{error}"
    );

    let bundle = Command::new(preau_binary())
        .args(["plugin", "check", "blog.preau"])
        .output()
        .unwrap();
    assert_eq!(bundle.status.code(), Some(1));
    let error = String::from_utf8(bundle.stderr).unwrap();
    assert!(
        error.contains("blog.preau n'est pas un dossier de plugin"),
        "{error}"
    );
}

/// A `preau serve` child process, killed on drop.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `preau serve` in `command` and waits for the address it prints.
fn start(mut command: Command) -> Served {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("Préau : ") {
                let _ = sender.send(address.trim_end_matches('/').to_string());
            }
        }
    });
    let base = receiver
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "preau serve n'a pas annoncé son adresse : {:?}",
                child.wait()
            );
        });
    Served { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_outside_a_checkout() {
    let root = repo_root();
    let place = tempfile::tempdir().unwrap();
    // A configuration file beside the database, paths into the repository;
    // its address cannot be bound: the environment overrides it.
    let file = place.path().join("preau.toml");
    std::fs::write(
        &file,
        format!(
            "addr = \"192.0.2.1:1\"\n\
             data = \"base\"\n\
             plugins = [{plugins:?}]\n\
             wasm_dir = {wasm:?}\n\
             cache = {cache:?}\n\
             theme = \"/nulle/part\"\n\
             tick_interval = 0\n",
            plugins = root.join("plugins").display().to_string(),
            wasm = root
                .join("target/wasm32-wasip2/release")
                .display()
                .to_string(),
            cache = root.join("target/preau-test-cache").display().to_string(),
        ),
    )
    .unwrap();
    let mut command = Command::new(preau_binary());
    command
        .current_dir(place.path())
        .args(["serve", "--theme"])
        .arg(root.join("themes/default"))
        .env("PREAU_CONFIG", &file)
        .env("PREAU_ADDR", "127.0.0.1:0")
        .env("PREAU_RELOAD_INTERVAL", "0");
    let served = tokio::task::spawn_blocking(move || start(command))
        .await
        .unwrap();
    let client = Client::new(&served.base);
    // The address is printed once bound; plugins load (and compile, on a cold
    // cache) before the first answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let health = loop {
        match client.get("/healthz").await {
            Ok(page) => break page,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("/healthz pas encore : {e:#}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("/healthz : {e:#}"),
        }
    };
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    // The theme (command line) and the plugins (file) are the repository's.
    let home = client.get("/").await.unwrap();
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("/static/"), "{}", home.body);
    let metrics = client.get("/metrics").await.unwrap();
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .contains("preau_plugin_calls_total{plugin=\"blog\",outcome=\"ok\"}"),
        "{}",
        metrics.body
    );
    // The database went where the file said, relative to the file.
    assert!(place.path().join("base").is_dir());
    assert!(!root.join("base").exists());
    drop(served);
}

/// The value of the sample `series` (name and labels as written).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{series} manque :\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened() {
    let server = TestServer::start().await.unwrap();
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let blog = pupil.get(&format!("/e/{PILAT}/blog/")).await.unwrap();
    assert_eq!(blog.status, 200);
    let wrong = server
        .client()
        .login("emma.martin", "pas-le-bon")
        .await
        .unwrap();
    assert_eq!(wrong.status, 401);
    let missing = server.client().get("/nulle-part").await.unwrap();
    assert_eq!(missing.status, 404);
    // A plugin that fails in each way the runtime knows.
    server.enable(PILAT, "hostile").await.unwrap();
    for (path, status) in [("/panic", 500), ("/memory", 503), ("/loop", 503)] {
        let page = pupil
            .get(&format!("/e/{PILAT}/hostile{path}"))
            .await
            .unwrap();
        assert_eq!(page.status, status, "{path}");
    }

    // From the test client on loopback: allowed by default.
    let metrics = server.client().get("/metrics").await.unwrap();
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        metrics.headers
    );
    let text = &metrics.body;
    assert!(
        sample(
            text,
            "preau_http_requests_total{class=\"plugin\",status=\"2xx\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            text,
            "preau_http_requests_total{class=\"auth\",status=\"3xx\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            text,
            "preau_http_requests_total{class=\"auth\",status=\"4xx\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            text,
            "preau_http_requests_total{class=\"other\",status=\"4xx\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            text,
            "preau_http_request_duration_seconds_count{class=\"plugin\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            text,
            "preau_http_request_duration_seconds_bucket{class=\"plugin\",le=\"+Inf\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            text,
            "preau_plugin_calls_total{plugin=\"blog\",outcome=\"ok\"}"
        ) >= 1.0
    );
    for outcome in ["trap", "out_of_memory", "timeout"] {
        assert_eq!(
            sample(
                text,
                &format!("preau_plugin_calls_total{{plugin=\"hostile\",outcome=\"{outcome}\"}}")
            ),
            1.0,
            "{outcome}"
        );
    }
    assert!(
        sample(
            text,
            "preau_http_requests_total{class=\"plugin\",status=\"5xx\"}"
        ) >= 3.0
    );
    assert!(sample(text, "preau_sign_ins_total{outcome=\"success\"}") >= 1.0);
    assert_eq!(
        sample(text, "preau_sign_ins_total{outcome=\"failure\"}"),
        1.0
    );
    assert!(sample(text, "preau_store_size_bytes") > 0.0);
    // No path, login or establishment in any label.
    assert!(!text.contains(PILAT) && !text.contains("emma") && !text.contains("nulle-part"));
}

/// GET /metrics with an `X-Forwarded-For` header.
async fn forwarded(base: &str, client: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_refused_outside_the_allowlist() {
    // An allowlist without loopback: the test client is refused, with the
    // ordinary 404 page.
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    config.metrics_allow = vec!["192.0.2.0/24".parse().unwrap()];
    let server = TestServer::start_with(config).await.unwrap();
    let refused = server.client().get("/metrics").await.unwrap();
    assert_eq!(refused.status, 404);
    assert!(
        refused.body.contains("Page introuvable"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("preau_"));
    // Claiming another address is not believed from an untrusted peer.
    assert_eq!(forwarded(&server.base, "192.0.2.5").await, 404);

    // Behind a declared proxy (the test client plays it), the forwarded
    // client address is what counts.
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    config.metrics_allow = vec!["192.0.2.0/24".parse().unwrap()];
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = TestServer::start_with(config).await.unwrap();
    assert_eq!(forwarded(&server.base, "192.0.2.5").await, 200);
    assert_eq!(forwarded(&server.base, "198.51.100.7").await, 404);
    assert_eq!(server.client().get("/metrics").await.unwrap().status, 404);

    // Loopback allowed, but the request came through a proxy nobody declared:
    // its real client is unknown.
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(test_config(data.path()))
        .await
        .unwrap();
    assert_eq!(server.client().get("/metrics").await.unwrap().status, 200);
    assert_eq!(forwarded(&server.base, "127.0.0.1").await, 404);
}
