//! Graceful shutdown of the real `preau serve`: the address is announced only
//! once the server answers; SIGTERM with 40 requests in flight lets every one
//! of them finish (no connection error), stops accepting, exits 0 with its
//! French line; a restart on the same folder finds everything acknowledged,
//! and SIGINT stops it the same way.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use preau_tests::{Client, DEMO_PASSWORD, FOREZ, PILAT, preau_binary, repo_root};

/// Sign-ins in the burst (argon2 on one worker: they queue), and page reads.
const SIGN_INS: usize = 32;
const PAGES: usize = 8;

/// A `preau serve` child; killed on drop if still running.
struct Served {
    child: Child,
    base: String,
    /// The lines it prints after the address.
    lines: Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts `preau serve --demo` on `data` (a free port, one password
    /// worker, no scheduler, no hot reload) and waits for its address.
    fn start(data: &Path) -> Served {
        let root = repo_root();
        let mut child = Command::new(preau_binary())
            .current_dir(&root)
            .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--cache")
            .arg(root.join("target/preau-test-cache"))
            .env_remove("PREAU_CONFIG")
            .env("PREAU_PASSWORD_WORKERS", "1")
            .env("PREAU_TICK_INTERVAL", "0")
            .env("PREAU_RELOAD_INTERVAL", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(180);
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(address) = line.strip_prefix("Préau : ") {
                        break address.trim_end_matches('/').to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "preau serve n'a pas annoncé son adresse : {:?}",
                        child.wait()
                    );
                }
            }
        };
        Served { child, base, lines }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the exit, at most `bound`.
    async fn exit_within(&mut self, bound: Duration) -> ExitStatus {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "preau serve encore en vie {bound:?} après le signal"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The line that starts with `prefix`, printed within `bound`.
    fn line_starting(&self, prefix: &str, bound: Duration) -> String {
        let deadline = Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("pas de ligne « {prefix}… »")
                }
            }
        }
    }

    fn address(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }
}

/// A GET whose whole body must arrive (a cut connection is an error here,
/// where the harness's client would keep an empty body).
async fn read_page(base: &str, path: &str) -> Result<(u16, String), String> {
    let response = reqwest::get(format!("{base}{path}"))
        .await
        .map_err(|e| format!("GET {path} : {e:?}"))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| format!("GET {path}, corps : {e:?}"))?;
    if !body.trim_end().ends_with("</html>") {
        return Err(format!("GET {path} : page tronquée"));
    }
    Ok((status, body))
}

async fn is_signed_in(base: &str, session: &str) -> bool {
    let page = reqwest::Client::new()
        .get(format!("{base}/"))
        .header("cookie", format!("preau_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap().contains("Se déconnecter")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_requests_in_flight_finish() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("db");
    let mut served = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || Served::start(&db))
            .await
            .unwrap()
    };
    // Announced once it serves: the very first request, no retry, answers.
    let health = Client::new(&served.base).get("/healthz").await.unwrap();
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    // Each sign-in on its own client (its own connection), its form (CSRF
    // token) read beforehand.
    let logins = ["emma.martin", "jean.dupont", "paul.martin", "lucie.bernard"];
    let mut forms = Vec::new();
    for i in 0..SIGN_INS {
        let client = Client::new(&served.base);
        let page = client.get("/login").await.unwrap();
        forms.push((client, logins[i % logins.len()], page.csrf().unwrap()));
    }

    let done = Arc::new(AtomicUsize::new(0));
    let mut sign_ins = Vec::new();
    for (client, login, csrf) in forms {
        let done = done.clone();
        sign_ins.push(tokio::spawn(async move {
            let page = client
                .post_raw(
                    "/login",
                    &[
                        ("login", login),
                        ("password", DEMO_PASSWORD),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            done.fetch_add(1, Ordering::SeqCst);
            page.map(|p| (p.status, client.cookie("preau_session")))
        }));
    }
    let paths = [
        "/".to_string(),
        format!("/e/{PILAT}/"),
        "/login".to_string(),
        format!("/e/{FOREZ}/"),
    ];
    let mut pages = Vec::new();
    for i in 0..PAGES {
        let (base, path) = (served.base.clone(), paths[i % paths.len()].clone());
        pages.push(tokio::spawn(async move { read_page(&base, &path).await }));
    }

    // Once the first sign-in has been answered, the others are queued behind
    // the one password worker, inside the server.
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "aucune connexion n'aboutit");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = done.load(Ordering::SeqCst);
    served.signal("TERM");
    let signalled = Instant::now();
    let in_flight = SIGN_INS - before;
    eprintln!("SIGTERM avec {in_flight} connexion(s) en cours");
    assert!(
        in_flight >= 5,
        "trop peu de requêtes en cours au moment du signal ({in_flight}) : le test ne prouve rien"
    );

    // It stops accepting while it finishes what it has.
    let address = served.address();
    let refused = loop {
        match std::net::TcpStream::connect(&address) {
            Err(e) => break e,
            Ok(stream) => drop(stream),
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "nouvelles connexions encore acceptées"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Refused once the listener is closed; reset when the connection was
    // still in its backlog as it closed (a loaded machine).
    assert!(
        matches!(
            refused.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
        ),
        "{refused:?}"
    );

    // Every request got its answer.
    let mut sessions = Vec::new();
    for task in sign_ins {
        let (status, session) = task
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("connexion : {e:?}"));
        assert_eq!(status, 303, "connexion refusée");
        sessions.push(session.expect("cookie de session"));
    }
    for task in pages {
        let (status, _) = task.await.unwrap().unwrap_or_else(|e| panic!("{e}"));
        assert!(status == 200 || status == 303, "{status}");
    }

    let status = served.exit_within(Duration::from_secs(25)).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    let stopped = served.line_starting("Arrêt demandé : ", Duration::from_secs(5));
    assert!(
        stopped.ends_with("requête(s) en cours terminée(s), base fermée."),
        "{stopped}"
    );
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "le port répond encore"
    );
    drop(served);

    // Same folder again: every session handed out, even during the grace
    // period, is there; signing in works; SIGINT stops it the same way.
    let mut served = tokio::task::spawn_blocking(move || Served::start(&db))
        .await
        .unwrap();
    for session in &sessions {
        assert!(
            is_signed_in(&served.base, session).await,
            "session perdue au redémarrage"
        );
    }
    let client = Client::new(&served.base);
    let login = client.login("emma.martin", DEMO_PASSWORD).await.unwrap();
    assert_eq!(login.status, 303);
    served.signal("INT");
    let status = served.exit_within(Duration::from_secs(25)).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    served.line_starting("Arrêt demandé : ", Duration::from_secs(5));
}
