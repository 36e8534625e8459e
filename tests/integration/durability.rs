//! Every acknowledged write survives `kill -9`: a child process serves Préau on
//! a database; the parent writes articles through HTTP, kills the child with
//! SIGKILL at a random moment, restarts it on the same database, checks that it
//! opens and that every article whose creation was acknowledged (303) is there.
//!
//! `kill_9_loses_no_acknowledged_write` runs a few cycles in every test run;
//! `cargo xtask crash-loop [--cycles N]` runs `crash_loop_report` (50 cycles by
//! default) and writes `RELIABILITY.md`.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use preau_tests::{Client, DEMO_PASSWORD, PILAT, test_config};

const DATA_ENV: &str = "PREAU_CHILD_DATA";
/// Set by `cargo xtask crash-loop`: the number of cycles and where to write the report.
const CYCLES_ENV: &str = "PREAU_CRASH_CYCLES";
const REPORT_ENV: &str = "PREAU_RELIABILITY_REPORT";
/// Concurrent writers (two sessions of the same teacher), so that kills often
/// land with several writes in flight.
const WRITERS: usize = 2;
/// Random delay between the start of the writes and the kill.
const KILL_AFTER_MS: (u64, u64) = (50, 1500);
/// Earlier writes re-read (at random) after each restart; all are re-read after the last.
const SAMPLE_EARLIER: usize = 20;

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
}

/// What a crash loop saw.
#[derive(Default)]
struct CrashReport {
    seed: u64,
    cycles: usize,
    /// Articles whose creation was acknowledged: (URL, title).
    acknowledged: Vec<(String, String)>,
    /// Acknowledged articles missing or different after a restart.
    lost: Vec<String>,
    /// Re-reads of acknowledged articles, all restarts together.
    checks: usize,
    /// Writes sent but not answered when the server was killed, and how many
    /// of them were there after the restart.
    in_flight: usize,
    in_flight_present: usize,
    /// Answers other than 303 to a write (none expected).
    refused: usize,
    /// First start (creates and seeds the database), then each restart.
    first_start: Duration,
    restarts: Vec<Duration>,
    /// Time spent writing, all cycles together.
    writing: Duration,
    kill_delays: Vec<Duration>,
    disk_bytes: u64,
}

fn title_of(cycle: usize, writer: usize, i: usize) -> String {
    format!("Durable {cycle}-{writer}-{i}")
}

/// Whether the article at `url` is there with `title`.
async fn present(client: &Client, url: &str, title: &str) -> bool {
    client
        .get(url)
        .await
        .is_ok_and(|page| page.status == 200 && page.body.contains(title))
}

async fn signed_in_teacher(base: &str) -> Client {
    let client = Client::new(base);
    let page = client.login("jean.dupont", DEMO_PASSWORD).await.unwrap();
    assert_eq!(page.status, 303, "connexion après redémarrage");
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

/// `cycles` times: start the server on the same database, check it, write
/// through HTTP, SIGKILL it at a random moment. Then a last start checks every
/// acknowledged write.
async fn crash_loop(cycles: usize) -> CrashReport {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::from_clock();
    let mut report = CrashReport {
        seed: rng.0,
        cycles,
        ..Default::default()
    };
    // Writes of the previous cycle: acknowledged (URL, title), and in flight at the kill.
    let mut last_acknowledged: Vec<(String, String)> = Vec::new();
    let mut last_in_flight: Vec<String> = Vec::new();
    for cycle in 0..=cycles {
        let (mut child, base, startup) = start_child(dir.path()).await;
        if cycle == 0 {
            report.first_start = startup;
        } else {
            report.restarts.push(startup);
        }
        let client = signed_in_teacher(&base).await;

        // The database opened; what the last cycle was told is written is there.
        let earlier = report.acknowledged.len() - last_acknowledged.len();
        let mut to_check: Vec<(String, String)> = if cycle == cycles {
            report.acknowledged.clone()
        } else {
            let mut sample = last_acknowledged.clone();
            for _ in 0..SAMPLE_EARLIER.min(earlier) {
                let i = rng.between(0, earlier as u64) as usize;
                sample.push(report.acknowledged[i].clone());
            }
            sample
        };
        to_check.dedup();
        for (url, title) in &to_check {
            report.checks += 1;
            if !present(&client, url, title).await {
                report.lost.push(format!("{title} ({url})"));
            }
        }
        // Unanswered writes may or may not be there; they would be the newest.
        if !last_in_flight.is_empty() {
            let list = client.get(&format!("/e/{PILAT}/blog/")).await.unwrap();
            assert_eq!(list.status, 200);
            for title in &last_in_flight {
                report.in_flight += 1;
                if list.body.contains(&format!("{title}<")) {
                    report.in_flight_present += 1;
                }
            }
        }
        if cycle == cycles {
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }

        // Writers.
        let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let in_flight: Arc<Mutex<Vec<String>>> = Arc::default();
        let refused: Arc<Mutex<usize>> = Arc::default();
        let form = format!("/e/{PILAT}/blog/new");
        let mut sessions = vec![client];
        while sessions.len() < WRITERS {
            sessions.push(signed_in_teacher(&base).await);
        }
        let mut tokens = Vec::new();
        for session in &sessions {
            tokens.push(session.get(&form).await.unwrap().csrf().unwrap());
        }
        let writing = Instant::now();
        let writers: Vec<_> = sessions
            .into_iter()
            .zip(tokens)
            .enumerate()
            .map(|(writer, (client, csrf))| {
                let (acknowledged, in_flight, refused) =
                    (acknowledged.clone(), in_flight.clone(), refused.clone());
                let form = form.clone();
                tokio::spawn(async move {
                    for i in 0.. {
                        let title = title_of(cycle, writer, i);
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
                            Ok(_) => *refused.lock().unwrap() += 1,
                            Err(e) => {
                                if sent_then_failed(&e) {
                                    in_flight.lock().unwrap().push(title);
                                }
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        let delay = Duration::from_millis(rng.between(KILL_AFTER_MS.0, KILL_AFTER_MS.1));
        tokio::time::sleep(delay).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        report.writing += writing.elapsed();
        report.kill_delays.push(delay);
        for writer in writers {
            writer.await.unwrap();
        }
        last_acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
        last_in_flight = std::mem::take(&mut *in_flight.lock().unwrap());
        report.refused += *refused.lock().unwrap();
        report
            .acknowledged
            .extend(last_acknowledged.iter().cloned());
    }
    report.disk_bytes = disk_usage(dir.path());
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

fn assert_nothing_lost(report: &CrashReport) {
    assert!(
        report.acknowledged.len() >= report.cycles,
        "some writes were acknowledged ({})",
        report.acknowledged.len()
    );
    assert!(
        report.lost.is_empty(),
        "{} of {} acknowledged articles lost: {:?}",
        report.lost.len(),
        report.acknowledged.len(),
        report.lost
    );
    assert_eq!(report.refused, 0, "writes refused by a running server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write() {
    let report = crash_loop(5).await;
    assert_nothing_lost(&report);
    eprintln!(
        "durabilité : {} écritures acquittées, toutes retrouvées après {} kill -9 \
         ({} en vol, {} présentes)",
        report.acknowledged.len(),
        report.cycles,
        report.in_flight,
        report.in_flight_present
    );
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
    let markdown = reliability_markdown(&report, started.elapsed());
    std::fs::write(&path, &markdown).unwrap();
    println!("{markdown}\nécrit dans {path}");
    assert_nothing_lost(&report);
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "inconnu".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cpu}, {cores} cœurs")
}

fn reliability_markdown(report: &CrashReport, total: Duration) -> String {
    let mut restarts = report.restarts.clone();
    restarts.sort();
    let median = restarts
        .get(restarts.len() / 2)
        .copied()
        .unwrap_or_default();
    let max = restarts.last().copied().unwrap_or_default();
    let mut delays = report.kill_delays.clone();
    delays.sort();
    let acknowledged = report.acknowledged.len();
    let verdict = if report.lost.is_empty() {
        "**0 lost**".to_string()
    } else {
        format!("**{} LOST**: {:?}", report.lost.len(), report.lost)
    };
    format!(
        "# Reliability\n\n\
         Produced by `cargo xtask crash-loop --cycles {cycles}` (the test \
         `durability::crash_loop_report` of `tests/integration/durability.rs`, test profile: \
         dependencies optimised, the host's own code not). Machine: {machine}. The normal test run \
         (`cargo xtask test`, CI) runs the same loop with 5 cycles \
         (`durability::kill_9_loses_no_acknowledged_write`).\n\n\
         ## Crash safety: SIGKILL during a write workload\n\n\
         Each cycle starts the real host as a child process on the same sled database (the test \
         binary re-executed as a server, demo data), waits until `/healthz` answers, signs a \
         teacher in, re-reads what earlier cycles were told is written, then {writers} sessions of \
         the teacher create blog articles through HTTP (`POST /e/{PILAT}/blog/new`, each write \
         flushed by the host before it answers) until the parent kills the server with SIGKILL after \
         a random delay ({d_low}–{d_high} ms after the writes start; xorshift seed {seed}). A write \
         counts as acknowledged when its 303 came back. After each restart the parent re-reads every \
         article acknowledged in the cycle just killed plus {sample} earlier ones drawn at random; \
         after the last cycle, one more start re-reads all of them.\n\n\
         | | |\n|---|---|\n\
         | kill -9 cycles | {cycles} |\n\
         | acknowledged writes | {acknowledged} |\n\
         | lost (missing, or another article at its URL) | {verdict} |\n\
         | re-reads of acknowledged articles | {checks} |\n\
         | database failed to open | 0 (every start served `/healthz` and a signed-in session) |\n\
         | writes refused by a running server | {refused} |\n\
         | writes in flight at the kill (sent, no answer) | {in_flight}: {present} there after the restart, {absent} not (both are correct) |\n\
         | time writing | {writing:.1} s ({rate:.0} acknowledged writes/s, {writers} writers) |\n\
         | kill delay | median {kd_median}, max {kd_max} |\n\
         | first start (creates and seeds the database) | {first} |\n\
         | restart after kill -9 (spawn → `/healthz` answers), {restarts} restarts | median {r_median}, max {r_max} |\n\
         | database folder at the end | {disk:.1} MiB |\n\
         | whole run | {total:.0} s |\n\n\
         What this proves: an acknowledged write has left the process (sled flushed it before the \
         host answered), so a crash of the process, at any moment, loses none, and the database it \
         leaves always opens. It does not simulate a power cut (that also needs the disk to honour \
         `fsync`).\n",
        cycles = report.cycles,
        machine = machine(),
        writers = WRITERS,
        d_low = KILL_AFTER_MS.0,
        d_high = KILL_AFTER_MS.1,
        seed = report.seed,
        sample = SAMPLE_EARLIER,
        checks = report.checks,
        refused = report.refused,
        in_flight = report.in_flight,
        present = report.in_flight_present,
        absent = report.in_flight - report.in_flight_present,
        writing = report.writing.as_secs_f64(),
        rate = acknowledged as f64 / report.writing.as_secs_f64().max(1e-9),
        kd_median = ms(delays.get(delays.len() / 2).copied().unwrap_or_default()),
        kd_max = ms(delays.last().copied().unwrap_or_default()),
        first = ms(report.first_start),
        restarts = report.restarts.len(),
        r_median = ms(median),
        r_max = ms(max),
        disk = report.disk_bytes as f64 / (1 << 20) as f64,
        total = total.as_secs_f64(),
    )
}
