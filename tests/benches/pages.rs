//! Pages per second and CPU per page of the real server, as issue 16 measures
//! them: the release `preau serve --demo` pinned to CPU 0, a load generator in
//! another process pinned to CPU 1 (`taskset`), keep-alive connections, three
//! interleaved rounds; the server's CPU time (`/proc/<pid>/stat`) and context
//! switches (every thread's `/proc/<pid>/task/*/status`) per request beside
//! throughput, and the plugin calls and store reads per page from `/metrics`.
//!
//! Run with `cargo bench -p preau-tests --bench pages` (after
//! `cargo xtask build-plugins`), or `cargo xtask bench`. Writes its section of
//! BENCHMARKS.md between the `<!-- pages-bench -->` markers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use preau_tests::{Client, DEMO_PASSWORD, PILAT, preau_binary, repo_root, write_bench_section};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// Set in the load generator's process: its plan, as JSON.
const LOADGEN_ENV: &str = "PREAU_PAGES_BENCH_LOADGEN";
const CONNECTIONS: usize = 8;
const ROUND: Duration = Duration::from_secs(4);
const ROUNDS: usize = 3;

/// One HTTP request of a load generator's iteration.
#[derive(Clone)]
struct Step {
    method: &'static str,
    path: String,
    cookie: String,
    body: String,
    status: u16,
}

impl Step {
    fn get(path: &str, cookie: &str) -> Step {
        Step {
            method: "GET",
            path: path.into(),
            cookie: cookie.into(),
            body: String::new(),
            status: 200,
        }
    }

    fn bytes(&self, host: &str) -> Vec<u8> {
        let mut request = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\n",
            self.method, self.path, self.cookie
        );
        if self.method == "POST" {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                self.body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(&self.body);
        request.into_bytes()
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "method": self.method, "path": self.path, "cookie": self.cookie,
            "body": self.body, "status": self.status,
        })
    }

    fn from_json(value: &serde_json::Value) -> Step {
        let text = |k: &str| value[k].as_str().unwrap_or_default().to_string();
        Step {
            method: if text("method") == "POST" {
                "POST"
            } else {
                "GET"
            },
            path: text("path"),
            cookie: text("cookie"),
            body: text("body"),
            status: value["status"].as_u64().unwrap_or(200) as u16,
        }
    }
}

/// Reads one response; its status. Bodies are read whole (Content-Length or chunked).
async fn read_response(reader: &mut tokio::io::BufReader<tokio::net::TcpStream>) -> u16 {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("réponse illisible : {line:?}"));
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut sink = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).await.unwrap();
            let size = usize::from_str_radix(line.trim(), 16).unwrap();
            sink.resize(size + 2, 0);
            reader.read_exact(&mut sink).await.unwrap();
            if size == 0 {
                break;
            }
        }
    } else {
        sink.resize(length, 0);
        reader.read_exact(&mut sink).await.unwrap();
    }
    status
}

/// The load generator's process: `connections` keep-alive connections, each
/// running the plan's steps in a loop for `seconds`; prints one JSON line
/// (iterations and the latency of each iteration's last step).
fn load_generator(plan: &str) {
    let plan: serde_json::Value = serde_json::from_str(plan).unwrap();
    let addr = plan["addr"].as_str().unwrap().to_string();
    let seconds = plan["seconds"].as_f64().unwrap();
    let connections = plan["connections"].as_u64().unwrap() as usize;
    // Every connection runs `steps`, or connection i the i-th list of `per_connection`.
    let lists: Vec<Vec<Step>> = match plan["per_connection"].as_array() {
        Some(lists) => lists
            .iter()
            .map(|l| l.as_array().unwrap().iter().map(Step::from_json).collect())
            .collect(),
        None => vec![
            plan["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(Step::from_json)
                .collect(),
        ],
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let latencies = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let mut tasks = Vec::new();
        for i in 0..connections {
            let (addr, steps) = (addr.clone(), lists[i % lists.len()].clone());
            tasks.push(tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut reader = tokio::io::BufReader::new(stream);
                let requests: Vec<Vec<u8>> = steps.iter().map(|s| s.bytes(&addr)).collect();
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let mut last = Duration::ZERO;
                    for (step, request) in steps.iter().zip(&requests) {
                        let started = Instant::now();
                        reader.get_mut().write_all(request).await.unwrap();
                        let status = read_response(&mut reader).await;
                        assert_eq!(status, step.status, "{} {}", step.method, step.path);
                        last = started.elapsed();
                    }
                    latencies.push(last);
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    let mut micros: Vec<u64> = latencies.iter().map(|d| d.as_micros() as u64).collect();
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize];
    println!(
        "{}",
        serde_json::json!({ "iterations": micros.len(), "p50": at(0.5), "p99": at(0.99) })
    );
}

/// CPU ticks (user + system, 10 ms each) and context switches of each thread
/// of `pid`, by thread id.
fn server_usage(pid: u32) -> (u64, HashMap<String, u64>) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let mut switches = HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let count: u64 = status
            .lines()
            .filter(|l| {
                l.starts_with("voluntary_ctxt_switches")
                    || l.starts_with("nonvoluntary_ctxt_switches")
            })
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum();
        switches.insert(task.file_name().to_string_lossy().into_owned(), count);
    }
    (ticks, switches)
}

/// Context switches between two [`server_usage`] readings: threads that ended
/// meanwhile (the blocking pool lets idle threads go) are left out, new ones
/// count from zero.
fn switches_between(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after
        .iter()
        .map(|(tid, n)| n.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum()
}

/// A counter of `/metrics`, summed over its labels.
async fn metric_total(client: &Client, name: &str) -> u64 {
    let page = client.get("/metrics").await.unwrap();
    page.body
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// One measured run of a plan.
#[derive(Clone, Copy)]
struct Run {
    per_second: f64,
    cpu_per_request: Duration,
    switches_per_request: f64,
    p50: Duration,
    p99: Duration,
}

struct Bench {
    server: Child,
    base: String,
    addr: String,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Bench {
    fn start(data: &Path) -> Bench {
        let mut server = Command::new("taskset")
            .args(["-c", "0"])
            .arg(preau_binary())
            .current_dir(repo_root())
            .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--cache")
            .arg(repo_root().join("target/preau-bench-cache"))
            .env("PREAU_RELOAD_INTERVAL", "0")
            .env("PREAU_TICK_INTERVAL", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("taskset et preau");
        let lines = BufReader::new(server.stdout.take().unwrap());
        let found: Arc<Mutex<Option<String>>> = Arc::default();
        let seen = found.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("Préau : ") {
                    *seen.lock().unwrap() = Some(base.trim_end_matches('/').to_string());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(300);
        let base = loop {
            if let Some(base) = found.lock().unwrap().clone() {
                break base;
            }
            assert!(Instant::now() < deadline, "preau serve n'a pas démarré");
            std::thread::sleep(Duration::from_millis(100));
        };
        let addr = base.trim_start_matches("http://").to_string();
        Bench { server, base, addr }
    }

    /// A load generator on CPU 1: `connections` connections, each running
    /// its list of `lists` (connection i the i-th, in turn) for `time`.
    fn load_generator(&self, lists: &[Vec<Step>], connections: usize, time: Duration) -> Command {
        let plan = serde_json::json!({
            "addr": self.addr,
            "seconds": time.as_secs_f64(),
            "connections": connections,
            "per_connection": lists
                .iter()
                .map(|l| l.iter().map(Step::to_json).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
        });
        let mut command = Command::new("taskset");
        command
            .args(["-c", "1"])
            .arg(std::env::current_exe().unwrap())
            .env(LOADGEN_ENV, plan.to_string());
        command
    }

    /// Runs the load generator with `steps` per iteration on every connection.
    fn run(&self, steps: &[Step], time: Duration) -> Run {
        self.run_with(steps, CONNECTIONS, time)
    }

    fn run_with(&self, steps: &[Step], connections: usize, time: Duration) -> Run {
        let (ticks, switches) = server_usage(self.server.id());
        let started = Instant::now();
        let output = self
            .load_generator(&[steps.to_vec()], connections, time)
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        let (ticks_after, switches_after) = server_usage(self.server.id());
        assert!(
            output.status.success(),
            "générateur de charge : {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let result: serde_json::Value = serde_json::from_slice(output.stdout.trim_ascii()).unwrap();
        let iterations = result["iterations"].as_u64().unwrap().max(1);
        let requests = iterations * steps.len() as u64;
        Run {
            per_second: iterations as f64 / time.as_secs_f64().min(elapsed.as_secs_f64()),
            cpu_per_request: Duration::from_millis((ticks_after - ticks) * 10) / requests as u32,
            switches_per_request: switches_between(&switches, &switches_after) as f64
                / requests as f64,
            p50: Duration::from_micros(result["p50"].as_u64().unwrap()),
            p99: Duration::from_micros(result["p99"].as_u64().unwrap()),
        }
    }
}

fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    let mid = runs[runs.len() / 2];
    let mut cpu: Vec<Duration> = runs.iter().map(|r| r.cpu_per_request).collect();
    cpu.sort();
    Run {
        cpu_per_request: cpu[cpu.len() / 2],
        ..mid
    }
}

/// The pupil home's latency from 2 connections, alone and while 8 others sign
/// in over and over (GET /login, POST /login: argon2id on the low-priority
/// pool), 3 rounds each, interleaved.
fn sign_in_storm(bench: &Bench, home: &str, pupil: &str) -> String {
    // The anonymous double-submit token: the same value in the cookie and the form.
    let token = "0123456789abcdef0123456789abcdef";
    let storm: Vec<Vec<Step>> = preau_tests::STORM_ACCOUNTS
        .iter()
        .map(|login| {
            let cookie = format!("preau_csrf={token}");
            vec![
                Step::get("/login", &cookie),
                Step {
                    method: "POST",
                    path: "/login".into(),
                    cookie,
                    body: preau_tests::url_encode(&[
                        ("login", login),
                        ("password", DEMO_PASSWORD),
                        ("csrf", token),
                    ]),
                    status: 303,
                },
            ]
        })
        .collect();
    let viewer = [Step::get(home, pupil)];
    let (mut idle, mut stormed, mut sign_ins) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        idle.push(bench.run_with(&viewer, 2, ROUND));
        let started = Instant::now();
        let stormer = bench
            .load_generator(
                &storm,
                preau_tests::STORM_ACCOUNTS.len(),
                ROUND + Duration::from_secs(1),
            )
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        stormed.push(bench.run_with(&viewer, 2, ROUND));
        let output = stormer.wait_with_output().unwrap();
        assert!(output.status.success(), "tempête de connexions");
        let result: serde_json::Value = serde_json::from_slice(output.stdout.trim_ascii()).unwrap();
        sign_ins.push(result["iterations"].as_f64().unwrap() / started.elapsed().as_secs_f64());
    }
    let p99 = |runs: &[Run]| {
        let mut v: Vec<Duration> = runs.iter().map(|r| r.p99).collect();
        v.sort();
        v[v.len() / 2]
    };
    let p50 = |runs: &[Run]| {
        let mut v: Vec<Duration> = runs.iter().map(|r| r.p50).collect();
        v.sort();
        v[v.len() / 2]
    };
    sign_ins.sort_by(f64::total_cmp);
    let (idle_p99, storm_p99) = (p99(&idle), p99(&stormed));
    format!(
        "**Sign-in storm.** The pupil home page from 2 connections, alone, then while {n} other \
         connections sign in over and over (GET `/login`, POST `/login`: argon2id on the password pool, \
         `nice 19`), {ROUNDS} rounds of {secs} s interleaved, medians: p50 {ip50} idle, {sp50} during; \
         **p99 {ip99} idle, {sp99} during: {ratio:.2}×** (target ≤ 1.5×), with {rate:.1} sign-ins/s.\n\n",
        n = preau_tests::STORM_ACCOUNTS.len(),
        secs = ROUND.as_secs(),
        ip50 = us(p50(&idle)),
        sp50 = us(p50(&stormed)),
        ip99 = us(idle_p99),
        sp99 = us(storm_p99),
        ratio = storm_p99.as_secs_f64() / idle_p99.as_secs_f64(),
        rate = sign_ins[sign_ins.len() / 2],
    )
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    if let Ok(plan) = std::env::var(LOADGEN_ENV) {
        return load_generator(&plan);
    }
    // `cargo bench` passes --bench; anything else only checks it builds.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let place = tempfile::tempdir().unwrap();
    let bench = Bench::start(&place.path().join("data"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (pupil, teacher, csrf) = runtime.block_on(async {
        let pupil = Client::new(&bench.base);
        assert_eq!(
            pupil
                .login("emma.martin", DEMO_PASSWORD)
                .await
                .unwrap()
                .status,
            303
        );
        let teacher = Client::new(&bench.base);
        assert_eq!(
            teacher
                .login("jean.dupont", DEMO_PASSWORD)
                .await
                .unwrap()
                .status,
            303
        );
        let csrf = teacher
            .get(&format!("/e/{PILAT}/blog/new"))
            .await
            .unwrap()
            .csrf()
            .expect("jeton du formulaire d'article");
        let cookie = |c: &Client| format!("preau_session={}", c.cookie("preau_session").unwrap());
        (cookie(&pupil), cookie(&teacher), csrf)
    });
    let home = format!("/e/{PILAT}/");
    let blog = format!("/e/{PILAT}/blog/");
    let write = Step {
        method: "POST",
        path: format!("/e/{PILAT}/blog/new"),
        cookie: teacher.clone(),
        body: preau_tests::url_encode(&[
            ("title", "Sortie au musée"),
            ("body", "<p>Rendez-vous à 8 h devant le collège.</p>"),
            ("publish", "on"),
            ("csrf", &csrf),
        ]),
        status: 303,
    };
    let plans: Vec<(&str, Vec<Step>)> = vec![
        ("`/healthz` (static)", vec![Step::get("/healthz", "")]),
        (
            "pupil home, nothing changed",
            vec![Step::get(&home, &pupil)],
        ),
        ("anonymous establishment home", vec![Step::get(&home, "")]),
        ("blog list, signed in", vec![Step::get(&blog, &pupil)]),
        (
            "an article published, then the pupil home",
            vec![write.clone(), Step::get(&home, &pupil)],
        ),
        (
            "an article published, then `/healthz`",
            vec![write, Step::get("/healthz", "")],
        ),
    ];
    // Warm-up: every page once, every cache filled.
    for (_, steps) in &plans {
        bench.run(steps, Duration::from_millis(500));
    }
    // Plugin calls and store reads per cached pupil home.
    let (calls, reads) = runtime.block_on(async {
        let metrics = Client::new(&bench.base);
        let counters = || async {
            (
                metric_total(&metrics, "preau_plugin_calls_total").await,
                metric_total(&metrics, "preau_store_reads_total").await,
            )
        };
        // What reading the counters costs (two /metrics requests), taken out below.
        let (first, second) = (counters().await, counters().await);
        let own = (second.0 - first.0, second.1 - first.1);
        let before = counters().await;
        let viewer = Client::new(&bench.base);
        viewer.set_cookie("preau_session", pupil.trim_start_matches("preau_session="));
        for _ in 0..100 {
            assert_eq!(viewer.get(&home).await.unwrap().status, 200);
        }
        let after = counters().await;
        (
            (after.0 - before.0 - own.0) as f64 / 100.0,
            (after.1 - before.1 - own.1) as f64 / 100.0,
        )
    });
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); plans.len()];
    for _ in 0..ROUNDS {
        for (i, (_, steps)) in plans.iter().enumerate() {
            runs[i].push(bench.run(steps, ROUND));
        }
    }
    let results: Vec<Run> = runs.into_iter().map(median).collect();
    let static_rate = results[0].per_second;
    let mut table = String::from(
        "| page | requests/s | × static | server CPU per request | context switches per request | p50 | p99 |\n|---|---|---|---|---|---|---|\n",
    );
    for ((name, _), run) in plans.iter().zip(&results) {
        table.push_str(&format!(
            "| {name} | {:.0} | {:.3} | {} | {:.2} | {} | {} |\n",
            run.per_second,
            run.per_second / static_rate,
            us(run.cpu_per_request),
            run.switches_per_request,
            us(run.p50),
            us(run.p99),
        ));
    }
    // The write's own cost, taken out: (write + home) − (write + /healthz), per home.
    let after_write = results[4].cpu_per_request.as_secs_f64() * 2.0
        - results[5].cpu_per_request.as_secs_f64() * 2.0
        + results[0].cpu_per_request.as_secs_f64();
    let cached = results[1].cpu_per_request.as_secs_f64();
    let section = format!(
        "## Pages per second on one core (issue 16)\n\n\
         Produced by `cargo bench -p preau-tests --bench pages` (release build). Machine: {machine}.\n\
         The real `preau serve --demo` (fresh data folder) pinned to CPU 0 with `taskset -c 0`; the load \
         generator, a separate process pinned to CPU 1, keeps {CONNECTIONS} keep-alive connections busy for \
         {secs} s per run; {ROUNDS} rounds interleaved across the pages, median shown. CPU time and context \
         switches are the server process's (`/proc/<pid>/stat`, every thread's `/proc/<pid>/task/*/status`), \
         per request. Two-request rows (an article published by a teacher, then a page) count both requests.\n\n\
         {table}\n\
         - A pupil home page right after a write to one of its blocks' plugins (that block rendered again, the \
         others cached): about **{after:.0} µs** of CPU (the write's own cost taken out: (write + home) − \
         (write + `/healthz`) + `/healthz`), **{ratio:.2}×** the cached page's {cached:.0} µs (target ≤ 2×).\n\
         - Per cached pupil home page (100 views, from `/metrics`): **{calls:.2}** plugin calls (wasm \
         instances), **{reads:.2}** store reads (sled gets and scans; settings, grants, establishments and \
         version counters come from memory once read).\n\n",
        machine = preau_tests::machine(),
        secs = ROUND.as_secs(),
        after = after_write * 1e6,
        ratio = after_write / cached,
        cached = cached * 1e6,
    );
    let storm = sign_in_storm(&bench, &home, &pupil);
    let section = format!("{section}{storm}");
    let path = repo_root().join("BENCHMARKS.md");
    write_bench_section(&path, "pages-bench", &section);
    println!("{section}\nécrit dans {}", path.display());
}
