//! Every acknowledged write survives `kill -9`: a child process serves Préau on
//! a database; the parent writes articles, kills the child with SIGKILL at a
//! random moment, restarts it on the same database and checks every article
//! whose creation was acknowledged (303) is there.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use preau_tests::{Client, DEMO_PASSWORD, PILAT, test_config};

const DATA_ENV: &str = "PREAU_CHILD_DATA";

/// Not a test: the server process the durability test starts and kills.
#[test]
#[ignore = "started by kill_9_loses_no_acknowledged_write"]
fn child_server() {
    let Ok(data) = std::env::var(DATA_ENV) else {
        return;
    };
    let data = Path::new(&data);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = preau_host::build(test_config(&data.join("db")))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Written once the database is open and seeded.
        let tmp = data.join("port.tmp");
        std::fs::write(&tmp, port.to_string()).unwrap();
        std::fs::rename(&tmp, data.join("port")).unwrap();
        preau_host::serve_app(listener, app).await.unwrap();
    });
}

// The caller kills and waits for the child it gets back.
#[allow(clippy::zombie_processes)]
fn start_child(data: &Path) -> (Child, String) {
    let _ = std::fs::remove_file(data.join("port"));
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability::child_server",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DATA_ENV, data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Ok(port) = std::fs::read_to_string(data.join("port")) {
            return (child, format!("http://127.0.0.1:{port}"));
        }
        if started.elapsed() > Duration::from_secs(60) {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            panic!("le serveur enfant n'a pas démarré");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pseudo_random_millis(low: u64, high: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    low + nanos % (high - low)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let cycles = 3;
    for cycle in 0..cycles {
        let (mut child, base) = start_child(dir.path());
        let client = Client::new(&base);
        assert_eq!(
            client
                .login("jean.dupont", DEMO_PASSWORD)
                .await
                .unwrap()
                .status,
            303
        );
        let writer = {
            let acknowledged = acknowledged.clone();
            let client = client.clone();
            tokio::spawn(async move {
                let form = format!("/e/{PILAT}/blog/new");
                let Ok(page) = client.get(&form).await else {
                    return;
                };
                let Some(csrf) = page.csrf() else { return };
                for i in 0.. {
                    let title = format!("Durable {cycle}-{i}");
                    let fields = [
                        ("title", title.as_str()),
                        ("body", "<p>écrit avant le kill</p>"),
                        ("publish", "on"),
                        ("csrf", &csrf),
                    ];
                    match client.post_raw(&form, &fields).await {
                        Ok(page) if page.status == 303 => acknowledged
                            .lock()
                            .unwrap()
                            .push((page.location().to_string(), title)),
                        _ => return,
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(pseudo_random_millis(300, 1200))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let _ = writer.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= cycles,
        "some writes were acknowledged ({})",
        acknowledged.len()
    );
    let (mut child, base) = start_child(dir.path());
    let client = Client::new(&base);
    assert_eq!(
        client
            .login("emma.martin", DEMO_PASSWORD)
            .await
            .unwrap()
            .status,
        303
    );
    let mut missing = Vec::new();
    for (url, title) in &acknowledged {
        let page = client.get(url).await.unwrap();
        if page.status != 200 || !page.body.contains(title.as_str()) {
            missing.push(title.clone());
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged articles lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    eprintln!(
        "durabilité : {} écritures acquittées, toutes retrouvées après {cycles} kill -9",
        acknowledged.len()
    );
}
