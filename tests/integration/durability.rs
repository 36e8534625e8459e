//! Every acknowledged write survives `kill -9`: a child process serves Préau on
//! a database; the parent runs a mixed workload through HTTP (blog articles,
//! forum messages, a race of several people for one reservation slot), kills the
//! child with SIGKILL at a random moment, restarts it on the same database, and
//! checks that it opens, that every write whose 303 came back is there, and that
//! no slot has two holders.
//!
//! - `workload`: the writers of one cycle and what they were told;
//! - `race`: the reservation race and what a slot must look like after a restart;
//! - `ledger`: everything acknowledged so far, re-read after each restart;
//! - `report`: the numbers, and RELIABILITY.md's section.
//!
//! A second loop (`backup`) kills the server — or the client — while
//! `preau backup` runs, and checks the backup is whole and restores with
//! every write acknowledged before it, or is absent (a truncated `.partial`
//! left behind is refused): never silently partial.
//!
//! `kill_9_loses_no_acknowledged_write` and
//! `kill_9_during_backup_leaves_it_whole_or_refused` run a few cycles in every
//! test run; `cargo xtask crash-loop [--cycles N]` runs `crash_loop_report`
//! (both loops, 50 cycles each by default) and writes `RELIABILITY.md`.

mod backup;
mod ledger;
mod race;
mod report;
mod workload;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime};

use preau_tests::{Client, DEMO_PASSWORD};

use ledger::Ledger;
use report::CrashReport;
use workload::Workload;

const DATA_ENV: &str = "PREAU_CHILD_DATA";
/// Set by `cargo xtask crash-loop`: the number of cycles and where to write the report.
const CYCLES_ENV: &str = "PREAU_CRASH_CYCLES";
const REPORT_ENV: &str = "PREAU_RELIABILITY_REPORT";
/// Where the sections of RELIABILITY.md that the crash loop does not write begin.
const KEPT_SECTIONS_MARKER: &str = "<!-- Sections below: measured by other tests";
/// Random delay between the start of the writes and the kill.
const KILL_AFTER_MS: (u64, u64) = (50, 1500);

/// Not a test: the server process the durability tests start and kill.
#[test]
#[ignore = "started by the durability tests"]
fn child_server() {
    let Ok(data) = std::env::var(DATA_ENV) else {
        return;
    };
    let data = Path::new(&data);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = preau_host::build(preau_tests::test_config(&data.join("db")))
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

/// Starts the child server on `data`; returns it with its base URL once
/// `/healthz` answers (the database opened), and how long that took.
// The caller kills and waits for the child it gets back.
#[allow(clippy::zombie_processes)]
async fn start_child(data: &Path) -> (Child, String, Duration) {
    let _ = std::fs::remove_file(data.join("port"));
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
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
    loop {
        if let Ok(port) = std::fs::read_to_string(data.join("port")) {
            let base = format!("http://127.0.0.1:{port}");
            let health = Client::new(&base).get("/healthz").await;
            if health.is_ok_and(|p| p.status == 200) {
                return (child, base, started.elapsed());
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("le serveur enfant s'est arrêté au démarrage ({status}) : base illisible ?");
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("le serveur enfant n'a pas démarré");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// xorshift64*, seeded from the clock (the seed goes into the report).
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn from_clock() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(nanos | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }

    /// Another generator, for a task of its own.
    fn split(&mut self) -> Rng {
        Rng(self.next() | 1)
    }
}

/// A client signed in as `login` (a demo account).
async fn signed_in(base: &str, login: &str) -> Client {
    let client = Client::new(base);
    let page = client.login(login, DEMO_PASSWORD).await.unwrap();
    assert_eq!(page.status, 303, "connexion de {login} après redémarrage");
    client
}

/// Whether a POST failed after it was sent (the server died with it in hand),
/// rather than failing to connect (never sent).
fn sent_then_failed(error: &anyhow::Error) -> bool {
    !error
        .chain()
        .filter_map(|e| e.downcast_ref::<reqwest::Error>())
        .any(|e| e.is_connect())
}

/// `cycles` times: start the server on the same database, check it, run the
/// workload through HTTP, SIGKILL it at a random moment. Then a last start
/// checks every acknowledged write.
async fn crash_loop(cycles: usize) -> CrashReport {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::from_clock();
    let mut report = CrashReport {
        seed: rng.0,
        cycles,
        ..Default::default()
    };
    let mut ledger = Ledger::default();
    for cycle in 0..=cycles {
        let (mut child, base, startup) = start_child(dir.path()).await;
        if cycle == 0 {
            report.first_start = startup;
        } else {
            report.restarts.push(startup);
        }
        // The database opened; what earlier cycles were told is written is there,
        // and each race's slot has the holder it must have.
        let checker = signed_in(&base, workload::BLOG_WRITER).await;
        ledger.check(&checker, &mut rng, cycle == cycles).await;
        if cycle == cycles {
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }

        let workload = Workload::sign_in(&base, cycle, checker).await;
        let running = workload.spawn(&mut rng);
        let delay = Duration::from_millis(rng.between(KILL_AFTER_MS.0, KILL_AFTER_MS.1));
        tokio::time::sleep(delay).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        report.writing += running.started.elapsed();
        report.kill_delays.push(delay);
        ledger.record(running.join().await);
    }
    report.disk_bytes = disk_usage(dir.path());
    report.ledger = ledger;
    report
}

fn disk_usage(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write() {
    let started = Instant::now();
    let report = crash_loop(5).await;
    report.assert_nothing_lost();
    eprintln!("{}", report.summary(started.elapsed()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_backup_leaves_it_whole_or_refused() {
    let started = Instant::now();
    let report = backup::backup_loop(5).await;
    eprintln!("{}", report.summary(started.elapsed()));
    report.assert_sound();
}

/// Not part of the normal run: `cargo xtask crash-loop [--cycles N]`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by `cargo xtask crash-loop`"]
async fn crash_loop_report() {
    let Ok(path) = std::env::var(REPORT_ENV) else {
        return;
    };
    let cycles = std::env::var(CYCLES_ENV)
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(50);
    let started = Instant::now();
    let report = crash_loop(cycles).await;
    let total = started.elapsed();
    eprintln!("{}", report.summary(total));
    let started = Instant::now();
    let backups = backup::backup_loop(cycles).await;
    let backups_total = started.elapsed();
    let mut markdown = report::reliability_markdown(&report, total, &backups, backups_total);
    // The sections measured by other tests (damaged folders, full disk,
    // backups under load, SIGTERM) follow a marker and are kept as they are.
    if let Ok(existing) = std::fs::read_to_string(&path)
        && let Some(at) = existing.find(KEPT_SECTIONS_MARKER)
    {
        markdown.push('\n');
        markdown.push_str(&existing[at..]);
    }
    std::fs::write(&path, &markdown).unwrap();
    println!("{markdown}\nécrit dans {path}");
    report.assert_nothing_lost();
    backups.assert_sound();
}
