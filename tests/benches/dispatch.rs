//! Benchmarks, written to BENCHMARKS.md as ratios measured in the same run.
//!
//! 1. Plugin dispatch: a fresh instance + one `handle` call of a trivial
//!    handler (the `echo` test plugin), against the same handler
//!    compiled natively and called directly.
//! 2. HTTP: the blog's list page (signed in) against `/healthz`, a static
//!    response of the same axum server, sequential keep-alive requests.
//! 3. HTTP: an establishment's home page with every demo block a pupil sees
//!    (Actualités from two rubriques, Mes services, the blog's latest articles,
//!    forms to fill, forum subjects, RSS entries), signed in, against `/healthz`:
//!    sequential latency and throughput with 8 clients.
//! 4. Sandbox under load: the `echo` plugin's latency over HTTP, idle and
//!    while clients keep the `hostile` plugin looping, exhausting its memory,
//!    recursing, panicking, returning huge output and probing WASI.
//! 5. Sign-in storm: sign-ins per second from concurrent clients, and the home
//!    page's latency during the storm against idle.
//! 6. Services: a resource's week calendar and booking (sequential, and 8 clients
//!    booking the same resource at once: optimistic concurrency on its version),
//!    answering a form and its results page (synthesis + SVG charts) at 1 000
//!    answers, each against `/healthz`.
//!
//! Run with `cargo xtask bench` (builds the plugins first).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use preau_host::runtime::{CallContext, PluginRequest, WitCaller, WitMethod, invocation};
use preau_sdk::Plugin;
use preau_tests::feed_server::FeedServer;
use preau_tests::{Client, PILAT, TestServer, repo_root};

struct Stats {
    count: usize,
    median: Duration,
    p99: Duration,
    per_second: f64,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let total: Duration = samples.iter().sum();
    Stats {
        count: samples.len(),
        median: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
        per_second: samples.len() as f64 / total.as_secs_f64(),
    }
}

fn measure(iterations: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..iterations / 10 {
        f(); // warm-up
    }
    let samples = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    stats(samples)
}

async fn measure_async<F, Fut>(iterations: usize, mut f: F) -> Stats
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..iterations / 10 {
        f().await;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        f().await;
        samples.push(start.elapsed());
    }
    stats(samples)
}

/// Requests per second that `clients` concurrent clients sustain on `path` for `duration`.
async fn throughput(clients: &[Client], path: &str, duration: Duration) -> f64 {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for client in clients {
        let client = client.clone();
        let path = path.to_string();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                assert_eq!(client.get(&path).await.unwrap().status, 200);
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / duration.as_secs_f64()
}

/// Latencies of `f`, called sequentially for `duration` (after a short warm-up).
async fn measure_for<F, Fut>(duration: Duration, mut f: F) -> Stats
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..50 {
        f().await;
    }
    let mut samples = Vec::new();
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        let start = Instant::now();
        f().await;
        samples.push(start.elapsed());
    }
    stats(samples)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// What the hostile plugin's routes must answer: a clean failure (its status),
/// or for the WASI probe a page showing that nothing was granted.
const ATTACKS: [(&str, &str); 6] = [
    ("/loop", "infinite loop"),
    ("/memory", "memory bomb"),
    ("/recursion", "deep recursion"),
    ("/huge", "huge response"),
    ("/panic", "panic"),
    ("/sandbox", "WASI probes (files, environment, sockets)"),
];

fn clean_failure(route: &str, page: &preau_tests::Page) -> bool {
    match route {
        "/sandbox" => {
            page.status == 200
                && page.body.contains(r#""file":false"#)
                && page.body.contains(r#""dir":false"#)
                && page.body.contains(r#""env_vars":0"#)
                && page.body.contains(r#""socket":false"#)
        }
        _ => page.status == 500 || page.status == 503,
    }
}

/// Section 4: the `echo` plugin's latency idle, then while one client per
/// hostile route keeps calling it.
async fn sandbox_under_load(server: &TestServer, pupil: &Client) -> String {
    server.enable(PILAT, "hostile").await.unwrap();
    let echo = format!("/e/{PILAT}/echo/");
    let window = Duration::from_secs(6);
    let call_echo = || async {
        assert_eq!(pupil.get(&echo).await.unwrap().status, 200);
    };
    let idle = measure_for(window, call_echo).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();
    for (route, _) in ATTACKS {
        let client = server.signed_in("emma.martin").await.unwrap();
        let stop = stop.clone();
        attackers.push(tokio::spawn(async move {
            let path = format!("/e/{PILAT}/hostile{route}");
            let (mut served, mut unclean) = (0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let page = client.get(&path).await.unwrap();
                served += 1;
                if !clean_failure(route, &page) {
                    unclean.push(page.status);
                }
            }
            (served, unclean)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let attacked = measure_for(window, call_echo).await;
    stop.store(true, Ordering::Relaxed);
    let mut rows = String::new();
    let mut total = 0;
    for ((route, what), attacker) in ATTACKS.into_iter().zip(attackers) {
        let (served, unclean) = attacker.await.unwrap();
        assert!(
            unclean.is_empty(),
            "{route} : réponses inattendues {unclean:?}"
        );
        total += served;
        let answer = if route == "/sandbox" {
            "200, nothing granted"
        } else if route == "/loop" || route == "/memory" {
            "503"
        } else {
            "500 or 503"
        };
        rows.push_str(&format!("| `{route}` ({what}) | {served} | {answer} |\n"));
    }
    let ratio = attacked.p99.as_secs_f64() / idle.p99.as_secs_f64();
    format!(
        "\n## Sandbox under load: a well-behaved plugin while a hostile one misbehaves\n\n\
         The `echo` plugin's page (`/e/{PILAT}/echo/`, signed in as a pupil, sequential keep-alive \
         requests for {secs} s), idle, then while {clients} other clients each keep calling one route \
         of the `hostile` test plugin (manifest limits: 32 MiB, 300 ms) in a loop.\n\n\
         | `echo` page | requests | median | p99 |\n|---|---|---|---|\n\
         | idle | {in_} | {im} | {ip} |\n\
         | under attack | {an} | {am} | {ap} |\n\n\
         p99 under attack / idle: **{ratio:.2}×** (goal ≤ 2×).\n\n\
         Hostile requests served meanwhile: {total}, every one a clean failure. They are few because \
         a plugin that ran out of time or memory in the last 10 s runs on the penalty lane, shared by \
         all such plugins and as wide as half the cores (`PENALTY_WINDOW` in `host/src/runtime/mod.rs`): \
         here its calls queue there one at a time, on threads at the lowest scheduling priority \
         (`nice` 19, `host/src/background.rs`), so page rendering gets the CPU first. Before the lane \
         (the hostile routes running side by side, up to 16 calls per plugin), the same measurement \
         gave 5.8× (p99 29.15 ms under attack against 5.04 ms idle); with the lane at normal \
         priority, 1.78× in one run and 4.12× in another.\n\n\
         | hostile route | requests | answer |\n|---|---|---|\n{rows}",
        secs = window.as_secs(),
        clients = ATTACKS.len(),
        in_ = idle.count,
        im = ms(idle.median),
        ip = ms(idle.p99),
        an = attacked.count,
        am = ms(attacked.median),
        ap = ms(attacked.p99),
    )
}

/// The first 16-hex-digit id following `prefix` in a page.
fn id_after(page: &str, prefix: &str) -> String {
    let page = preau_tests::unescape(page);
    page.match_indices(prefix)
        .map(|(i, _)| {
            page[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect::<String>()
        })
        .find(|id| id.len() == 16)
        .unwrap_or_else(|| panic!("aucun identifiant après {prefix}"))
}

/// Section 6: reservations and forms.
async fn services(server: &TestServer) -> String {
    let principal = server.signed_in("principal.pilat").await.unwrap();
    let index = principal
        .get(&format!("/e/{PILAT}/reservations/"))
        .await
        .unwrap()
        .body;
    let resource = format!(
        "/e/{PILAT}/reservations/r/{}",
        id_after(&index, &format!("/e/{PILAT}/reservations/r/"))
    );
    let teacher = server.signed_in("jean.dupont").await.unwrap();
    let csrf = teacher.get(&resource).await.unwrap().csrf().unwrap();
    // 200 bookings by one teacher, sequential: 10 a day (8 h–18 h) on 20 days of 2097.
    let mut slots = Vec::new();
    for day in 1..=20 {
        for hour in 8..18 {
            slots.push((
                format!("2097-03-{day:02}"),
                format!("{hour:02}:00"),
                format!("{hour:02}:50"),
            ));
        }
    }
    let mut times = Vec::new();
    for (date, start, end) in &slots {
        let began = Instant::now();
        let page = teacher
            .post_raw(
                &resource,
                &[
                    ("csrf", &csrf),
                    ("date", date),
                    ("debut", start),
                    ("fin", end),
                    ("objet", "Cours"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            page.status, 303,
            "réservation {date} {start} : {}",
            page.body
        );
        times.push(began.elapsed());
    }
    let booking = stats(times);
    // The week with 50 of them, as a teacher sees it.
    let week = format!("{resource}?date=2097-03-05");
    let idle_static = measure_async(1_000, || async {
        assert_eq!(teacher.get("/healthz").await.unwrap().status, 200);
    })
    .await;
    let calendar = measure_async(1_000, || async {
        assert_eq!(teacher.get(&week).await.unwrap().status, 200);
    })
    .await;
    // 8 teachers at once on the same resource, each its own slots (no conflict, but
    // every booking races on the resource's version and retries when it loses).
    let teachers = [
        "jean.dupont",
        "marie.lefebvre",
        "karim.haddad",
        "sophie.giraud",
        "thomas.roux",
    ];
    let mut tasks = Vec::new();
    let began = Instant::now();
    for (n, login) in teachers.iter().cycle().take(8).enumerate() {
        let client = server.signed_in(login).await.unwrap();
        let resource = resource.clone();
        tasks.push(tokio::spawn(async move {
            let csrf = client.get(&resource).await.unwrap().csrf().unwrap();
            let mut done = 0;
            for day in 1..=25 {
                let date = format!("2097-04-{day:02}");
                let start = format!("{:02}:00", 8 + n);
                let end = format!("{:02}:50", 8 + n);
                let page = client
                    .post_raw(
                        &resource,
                        &[
                            ("csrf", &csrf),
                            ("date", &date),
                            ("debut", &start),
                            ("fin", &end),
                        ],
                    )
                    .await
                    .unwrap();
                assert_eq!(page.status, 303, "réservation concurrente {date} {start}");
                done += 1;
            }
            done
        }));
    }
    let mut concurrent = 0;
    for task in tasks {
        concurrent += task.await.unwrap();
    }
    let concurrent_rate = concurrent as f64 / began.elapsed().as_secs_f64();

    // Forms: the demo poll diffused with several answers per person, answered 1 000 times.
    let forms = format!("/e/{PILAT}/formulaires");
    let library = principal.get(&format!("{forms}/")).await.unwrap().body;
    let model = format!(
        "{forms}/modeles/{}",
        id_after(&library, &format!("{forms}/modeles/"))
    );
    let page = principal
        .post_form(
            &model,
            &format!("{model}/diffuser"),
            &[("public", "etablissement"), ("plusieurs", "on")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 303, "diffusion : {}", page.body);
    let results = page.location().to_string();
    let results_page = principal.get(&results).await.unwrap().body;
    let answer = format!(
        "{forms}/d/{}",
        id_after(&results_page, &format!("{forms}/d/"))
    );
    let pupil = server.signed_in("emma.martin").await.unwrap();
    let csrf = pupil.get(&answer).await.unwrap().csrf().unwrap();
    let mut times = Vec::new();
    for i in 0..1_000 {
        let choice = (i % 3).to_string();
        let second = ((i % 4) + 1).to_string();
        let scale = ((i % 5) + 1).to_string();
        let began = Instant::now();
        let page = pupil
            .post_raw(
                &answer,
                &[
                    ("csrf", &csrf),
                    ("q0", &choice),
                    ("q1", "0"),
                    ("q1", &second),
                    ("q2", &scale),
                    ("q3", "Une idée"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(page.status, 200, "réponse {i} : {}", page.body);
        times.push(began.elapsed());
    }
    let answering = stats(times);
    let static_again = measure_async(300, || async {
        assert_eq!(principal.get("/healthz").await.unwrap().status, 200);
    })
    .await;
    let synthesis = measure_async(300, || async {
        let page = principal.get(&results).await.unwrap();
        assert_eq!(page.status, 200);
    })
    .await;
    assert!(
        principal
            .get(&results)
            .await
            .unwrap()
            .body
            .contains("1000 réponses")
            || principal
                .get(&results)
                .await
                .unwrap()
                .body
                .contains("1 000 réponses")
    );
    format!(
        "\n## Services: reservations and forms\n\n\
         Reservations of the demo resource « Salle Multi 1 » by teachers (*rédacteur avec mise en \
         ligne*, validated at once). Each booking reads the resource's version, checks conflicts \
         against its reservations, then writes the reservation and the bumped version in one \
         conditional batch (`batch-if`), retried when another booking won the race.\n\n\
         | | median | p99 | per second |\n|---|---|---|---|\n\
         | `/healthz` (static) | {sm} | {sp} | {sr:.0} |\n\
         | week calendar, 70 reservations in the week (`/r/<id>?date=2097-03-05`, 1 000 requests) | {cm} | {cp} | {cr:.0} |\n\
         | booking, one teacher, 200 in a row (the resource fills up to 200) | {bm} | {bp} | {br:.0} |\n\
         | booking, 8 teachers at once on the same resource (200 more, all distinct slots) | | | {ct:.0} |\n\n\
         Calendar / static: **{cal_ratio:.1}×** (median). With 8 concurrent clients on one resource, \
         every booking succeeded ({concurrent} of {concurrent}, none lost to the race): \
         {tput_ratio:.2}× the sequential rate.\n\n\
         Forms: the demo poll (4 questions: single choice, multiple choice, scale, long text) diffused \
         with several answers per person, answered 1 000 times by one pupil; then its results page \
         (synthesis of every question over the 1 000 answers, three SVG bar charts, the text answers).\n\n\
         | | median | p99 | per second |\n|---|---|---|---|\n\
         | `/healthz` (static) | {s2m} | {s2p} | {s2r:.0} |\n\
         | answering (POST, validation + answer and marker in one batch) | {am} | {ap} | {ar:.0} |\n\
         | results page at 1 000 answers | {rm} | {rp} | {rr:.0} |\n\n\
         Results page / static: **{res_ratio:.1}×** (median).\n",
        sm = us(idle_static.median),
        sp = us(idle_static.p99),
        sr = idle_static.per_second,
        cm = us(calendar.median),
        cp = us(calendar.p99),
        cr = calendar.per_second,
        bm = us(booking.median),
        bp = us(booking.p99),
        br = booking.per_second,
        ct = concurrent_rate,
        cal_ratio = calendar.median.as_secs_f64() / idle_static.median.as_secs_f64(),
        tput_ratio = concurrent_rate / booking.per_second,
        s2m = us(static_again.median),
        s2p = us(static_again.p99),
        s2r = static_again.per_second,
        am = us(answering.median),
        ap = us(answering.p99),
        ar = answering.per_second,
        rm = us(synthesis.median),
        rp = us(synthesis.p99),
        rr = synthesis.per_second,
        res_ratio = synthesis.median.as_secs_f64() / static_again.median.as_secs_f64(),
    )
}

/// Section 5: concurrent clients signing in over and over (GET /login for the
/// CSRF token, POST /login), and the home page's latency meanwhile.
async fn login_storm(server: &TestServer, pupil: &Client, home: &str, blocks: usize) -> String {
    let window = Duration::from_secs(6);
    let call_home = || async {
        assert_eq!(pupil.get(home).await.unwrap().status, 200);
    };
    let idle = measure_for(window, call_home).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut stormers = Vec::new();
    for login in preau_tests::STORM_ACCOUNTS {
        let client = server.client();
        let stop = stop.clone();
        stormers.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let page = client
                    .login(login, preau_tests::DEMO_PASSWORD)
                    .await
                    .unwrap();
                assert_eq!(page.status, 303, "connexion de {login}");
                times.push(start.elapsed());
            }
            times
        }));
    }
    let storm_started = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stormed = measure_for(window, call_home).await;
    stop.store(true, Ordering::Relaxed);
    let mut sign_ins = Vec::new();
    for stormer in stormers {
        sign_ins.extend(stormer.await.unwrap());
    }
    let storm_time = storm_started.elapsed();
    let count = sign_ins.len();
    let sign_in = stats(sign_ins);
    let ratio = stormed.p99.as_secs_f64() / idle.p99.as_secs_f64();
    format!(
        "\n## Sign-in storm\n\n\
         {clients} clients sign in over and over, each as a different demo account (GET `/login` for \
         the CSRF token, then POST `/login`: argon2id m=19 MiB, t=2, p=1 on the bounded password \
         pool, the account's last sign-in written, a session opened), for {storm:.1} s. Meanwhile a \
         signed-in pupil loads the home page with {blocks} blocks (`{home}`) sequentially for {secs} s; \
         idle is the same measurement without the storm.\n\n\
         Sign-ins: **{rate:.1}/s** sustained ({count} in {storm:.1} s; one sign-in, GET + POST, \
         median {sm}, p99 {sp} with {clients} clients queueing on the pool).\n\n\
         | home page | requests | median | p99 |\n|---|---|---|---|\n\
         | idle | {in_} | {im} | {ip} |\n\
         | during the storm | {sn} | {smed} | {spp} |\n\n\
         p99 during the storm / idle: **{ratio:.2}×**. The password pool is half the cores (one \
         thread here) at the lowest scheduling priority (`nice` 19), so the pages keep the CPU they \
         need; before the lower priority, the same storm gave 2.9× and 4.2×.\n",
        clients = preau_tests::STORM_ACCOUNTS.len(),
        storm = storm_time.as_secs_f64(),
        secs = window.as_secs(),
        rate = count as f64 / storm_time.as_secs_f64(),
        sm = ms(sign_in.median),
        sp = ms(sign_in.p99),
        in_ = idle.count,
        im = ms(idle.median),
        ip = ms(idle.p99),
        sn = stormed.count,
        smed = ms(stormed.median),
        spp = ms(stormed.p99),
    )
}

/// CPU time (user + system) this process has used, from `/proc/self/stat`
/// (clock ticks of 10 ms: measure over seconds).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    // `cargo bench` passes --bench; anything else (like `cargo test --benches`) only checks it builds.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = TestServer::start().await.expect("serveur");
                server.enable(PILAT, "echo").await.unwrap();

        // 1. Dispatch.
        let plugins = server.app.runtime().clone();
        let establishment = server
            .app
            .directory()
            .establishment(PILAT)
            .unwrap()
            .expect("établissement de démonstration");
        let request = PluginRequest {
            method: WitMethod::Get,
            path: "/".into(),
            query: vec![],
            form: vec![],
            files: vec![],
        };
        let ctx = CallContext {
            uai: PILAT.into(),
            rubrique: None,
            config: "{}".into(),
            approved_hosts: vec![],
            invocation: invocation(
                Some(WitCaller {
                    id: "u1".into(),
                    login: "emma.martin".into(),
                    display_name: "Emma Martin".into(),
                    profiles: vec!["eleve".into()],
                    groups: vec![],
                    functions: vec![],
                    region_admin: false,
                }),
                vec!["utilisateur".into()],
                &establishment,
                format!("/e/{PILAT}/echo"),
                None,
            ),
        };
        let wasm = measure(20_000, || {
            plugins.handle_on_this_thread("echo", &ctx, &request).expect("appel");
        });
        let native = measure(20_000, || {
            let caller = preau_sdk::Caller {
                id: "u1".into(),
                login: "emma.martin".into(),
                display_name: "Emma Martin".into(),
                profiles: vec!["eleve".into()],
                groups: vec![],
                functions: vec![],
                region_admin: false,
            };
            let invocation = preau_sdk::Invocation::for_tests(Some(caller), &["utilisateur"], "/e/0420003A/echo");
            let request = preau_sdk::Request::for_tests(preau_sdk::Method::Get, "/", &[], invocation);
            std::hint::black_box(echo::Echo::handle(request));
        });
        let overhead = wasm.median.saturating_sub(native.median);
        let phases = plugins.dispatch_phases("echo", &ctx, &request, 20_000);
        if std::env::var("PREAU_BENCH_ONLY").as_deref() == Ok("dispatch") {
            println!("phases : {phases:?}");
            // For profiling the dispatch alone (perf record …).
            for _ in 0..200_000 {
                plugins.handle_on_this_thread("echo", &ctx, &request).expect("appel");
            }
            println!("dispatch : médiane {}, natif {}", us(wasm.median), us(native.median));
            return;
        }

        // 2. HTTP.
        let pupil = server.signed_in("emma.martin").await.unwrap();
        let list = format!("/e/{PILAT}/blog/");
        assert_eq!(pupil.get(&list).await.unwrap().status, 200);
        let static_page = measure_async(3_000, || async {
            assert_eq!(pupil.get("/healthz").await.unwrap().status, 200);
        })
        .await;
        let blog_page = measure_async(3_000, || async {
            assert_eq!(pupil.get(&list).await.unwrap().status, 200);
        })
        .await;

        // 3. Home page with its blocks.
        let feeds = FeedServer::start().await.unwrap();
        let admin = server.signed_in("admin").await.unwrap();
        let rss_admin = format!("/admin/e/{PILAT}/plugins/rss");
        admin
            .post_form(&rss_admin, &format!("{rss_admin}/sorties"), &[("scope", "etablissement"), ("hosts", "127.0.0.1")])
            .await
            .unwrap();
        let manage = format!("/e/{PILAT}/rss/flux");
        for file in ["rss20.xml", "atom.xml"] {
            let page = admin
                .post_form(&manage, &manage, &[("url", &feeds.url(&format!("/feeds/{file}"))), ("titre", ""), ("portee", "etablissement")])
                .await
                .unwrap();
            assert_eq!(page.status, 303, "flux {file}");
        }
        let home = format!("/e/{PILAT}/");
        let page = pupil.get(&home).await.unwrap();
        let block_titles: Vec<String> = regex::Regex::new(r#"class="card-title block-title" id="bloc-\d+">([^<]+)</h2>"#)
            .unwrap()
            .captures_iter(&page.body)
            .map(|c| format!("« {} »", preau_tests::unescape(&c[1])))
            .collect();
        for block in ["Actualités", "Tous mes services", "Derniers articles", "Flux RSS"] {
            assert!(page.body.contains(block), "bloc {block} absent de la page d'accueil");
        }
        if std::env::var("PREAU_BENCH_ONLY").as_deref() == Ok("home") {
            // For profiling the home page alone (perf record …).
            let start = Instant::now();
            for _ in 0..5_000 {
                pupil.get(&home).await.unwrap();
            }
            println!("page d'accueil : {:?} par requête", start.elapsed() / 5_000);
            return;
        }
        if std::env::var("PREAU_BENCH_ONLY").as_deref() == Ok("services") {
            // Section 6 alone, printed, BENCHMARKS.md untouched.
            println!("{}", services(&server).await);
            return;
        }
        if std::env::var("PREAU_BENCH_ONLY").as_deref() == Ok("load") {
            // Sections 4 and 5 alone, printed, BENCHMARKS.md untouched.
            println!("{}", sandbox_under_load(&server, &pupil).await);
            println!("{}", login_storm(&server, &pupil, &home, block_titles.len()).await);
            return;
        }
        let static_again = measure_async(3_000, || async {
            assert_eq!(pupil.get("/healthz").await.unwrap().status, 200);
        })
        .await;
        let fragment_counts = || {
            let cache = server.app.fragments();
            (
                cache.hits.load(std::sync::atomic::Ordering::Relaxed),
                cache.misses.load(std::sync::atomic::Ordering::Relaxed),
            )
        };
        let (hits_before, misses_before) = fragment_counts();
        let store = server.app.directory().store();
        let reads_before = store.read_count().unwrap_or(0);
        let cpu_before = process_cpu();
        let home_page = measure_async(3_000, || async {
            assert_eq!(pupil.get(&home).await.unwrap().status, 200);
        })
        .await;
        let home_cpu = (process_cpu() - cpu_before) / 3_000;
        let (hits_after, misses_after) = fragment_counts();
        let home_reads = (store.read_count().unwrap_or(0) - reads_before) as f64 / 3_000.0;
        // Right after a write to one block's plugin: the echo counter (its two
        // blocks are rendered again, the others come from the cache).
        let csrf = pupil.get(&home).await.unwrap().csrf().unwrap();
        let counter = format!("/e/{PILAT}/echo/compteur");
        let mut after_write = Vec::new();
        for _ in 0..1_000 {
            let posted = pupil.post_raw(&counter, &[("csrf", &csrf)]).await.unwrap();
            assert_eq!(posted.status, 200);
            let start = Instant::now();
            assert_eq!(pupil.get(&home).await.unwrap().status, 200);
            after_write.push(start.elapsed());
        }
        let after_write = stats(after_write);
        // The HTML guard (html/guard.rs) every HTML response passes, on the page the pupil gets.
        let home_html = pupil.get(&home).await.unwrap().body;
        let guard_cost = measure(3_000, || {
            std::hint::black_box(preau_host::html::guard(std::hint::black_box(&home_html)));
        });
        let mut clients = Vec::new();
        for _ in 0..8 {
            clients.push(server.signed_in("emma.martin").await.unwrap());
        }
        let window = Duration::from_secs(5);
        let static_throughput = throughput(&clients, "/healthz", window).await;
        let home_throughput = throughput(&clients, &home, window).await;

        // 4. A well-behaved plugin while a hostile one misbehaves.
        let sandbox = sandbox_under_load(&server, &pupil).await;
        // 5. Sign-in storm.
        let storm = login_storm(&server, &pupil, &home, block_titles.len()).await;
        // 6. Reservations and forms.
        let services = services(&server).await;

        let mut report = format!(
            "# Benchmarks\n\n\
             Produced by `cargo xtask bench` (= `cargo xtask build-plugins --with-test-plugins` then \
             `cargo bench -p preau-tests --bench dispatch`, release profile). Machine: {machine}. \
             Allocator: {allocator}. Ratios are measured in the same run; the machines are noisy, so \
             compare ratios, not absolute times.\n\n\
             ## Plugin dispatch (fresh instance + one `handle` call)\n\n\
             The `echo` test plugin (`tests/plugins/echo`: routing + a small page naming the caller), 20 000 calls each.\n\n\
             | | median | p99 | calls/s |\n|---|---|---|---|\n\
             | wasm component (instantiate + call) | {wm} | {wp} | {wr:.0} |\n\
             | same handler compiled natively | {nm} | {np} | {nr:.0} |\n\n\
             Dispatch overhead (median difference): **{overhead}** (goal ≤ 15 µs); ratio wasm/native: {ratio:.1}×.\n\n\
             Median of each phase (20 000 dispatches): store creation {p0}, instantiation {p1}, \
             `handle` call (lowering, guest code, lifting) {p2}, dropping the store (slot reset) {p3}. \
             The WASI surface a plugin imports drives the instantiation cost: the hostile test plugin, \
             which links sockets and the filesystem to probe them, takes about 20 µs.\n\n\
             ## HTTP: blog list page against a static response of the same server\n\n\
             Sequential keep-alive requests from one client, signed in as a pupil, 3 000 each. The blog \
             page runs the session lookup, role resolution, a plugin instance (store scans of the demo \
             articles) and the theme.\n\n\
             | | median | p99 | requests/s |\n|---|---|---|---|\n\
             | `/healthz` (static) | {sm} | {sp} | {sr:.0} |\n\
             | `/e/{PILAT}/blog/` | {bm} | {bp} | {br:.0} |\n\n\
             Ratio blog page / static: {page_ratio:.1}× (median latency).\n\n\
             ## HTTP: establishment home page with {n_blocks} blocks against a static response\n\n\
             Signed in as a pupil of the Collège du Pilat, who sees the demo's default blocks: {titles}. \
             « Actualités » merges the news of the two public rubriques subscribed to the portal block \
             (one plugin instance per rubrique), « Mes services » reads the region and establishment \
             catalogues (no plugin), « Flux RSS » shows two feeds from the local fixture server read from \
             the plugin's store (no network on the page); every other block is one plugin instance, all \
             rendered concurrently. Sequential: 3 000 requests each; throughput: 8 signed-in clients \
             for 5 s each.\n\n\
             | | median | p99 | requests/s (1 client) | requests/s (8 clients) |\n|---|---|---|---|---|\n\
             | `/healthz` (static) | {s2m} | {s2p} | {s2r:.0} | {st:.0} |\n\
             | `/e/{PILAT}/` ({n_blocks} blocks) | {hm} | {hp} | {hr:.0} | {ht:.0} |\n\n\
             Ratio home page / static: {home_ratio:.1}× (median latency), {home_tput_ratio:.2} of the \
             static throughput with 8 clients. CPU time of the process (server and its in-process client) \
             per home page: {home_cpu}. Fragment cache over the 3 000 sequential home pages: \
             {frag_hits} blocks served from the cache, {frag_misses} rendered by their plugin \
             (blocks and news whose manifest declares an audience); store reads per home page: \
             {home_reads:.1}. Right after a write to one \
             block's plugin (the `echo` test plugin's counter, 1 000 times: its 2 blocks rendered \
             again, the others from the cache): median {aw_m}, p99 {aw_p} — {aw_ratio:.2}× the \
             home page's median.\n\n\
             ## HTML guard on the home page\n\n\
             The guard (`host/src/html/guard.rs`, a streaming `lol_html` rewrite that drops `meta refresh`, \
             `base`, scripts, event attributes and off-site forms whatever a template says) passes over \
             every plugin page whole, and over each block when it is rendered (then cached guarded); the \
             home page is not passed again as a whole. What a whole pass would cost: the pupil's home page \
             above ({page_kib:.1} KiB of HTML), guarded 3 000 times on one thread: median {gm}, p99 {gp} — \
             **{guard_share:.1} %** of the home page's median latency ({hm}) and {guard_cpu_share:.1} % of \
             its CPU time per request; {guard_mbps:.0} MB/s. Measured before the change in this session \
             (every page passed whole, blocks cached): 255.3 µs a page, 33.7 % of the home page's median \
             latency (757.4 µs).\n",
            machine = preau_tests::machine(),
            n_blocks = block_titles.len(),
            titles = block_titles.join(", "),
            allocator = if plugins.pooled { "pooling + copy-on-write" } else { "on-demand (pool could not be reserved)" },
            wm = us(wasm.median),
            wp = us(wasm.p99),
            wr = wasm.per_second,
            nm = us(native.median),
            np = us(native.p99),
            nr = native.per_second,
            overhead = us(overhead),
            p0 = us(phases[0]),
            p1 = us(phases[1]),
            p2 = us(phases[2]),
            p3 = us(phases[3]),
            ratio = wasm.median.as_secs_f64() / native.median.as_secs_f64().max(1e-9),
            sm = us(static_page.median),
            sp = us(static_page.p99),
            sr = static_page.per_second,
            bm = us(blog_page.median),
            bp = us(blog_page.p99),
            br = blog_page.per_second,
            page_ratio = blog_page.median.as_secs_f64() / static_page.median.as_secs_f64(),
            s2m = us(static_again.median),
            s2p = us(static_again.p99),
            s2r = static_again.per_second,
            st = static_throughput,
            hm = us(home_page.median),
            hp = us(home_page.p99),
            hr = home_page.per_second,
            ht = home_throughput,
            home_ratio = home_page.median.as_secs_f64() / static_again.median.as_secs_f64(),
            home_tput_ratio = home_throughput / static_throughput,
            home_cpu = us(home_cpu),
            frag_hits = hits_after - hits_before,
            home_reads = home_reads,
            aw_m = us(after_write.median),
            aw_p = us(after_write.p99),
            aw_ratio = after_write.median.as_secs_f64() / home_page.median.as_secs_f64(),
            frag_misses = misses_after - misses_before,
            page_kib = home_html.len() as f64 / 1024.0,
            gm = us(guard_cost.median),
            gp = us(guard_cost.p99),
            guard_share = 100.0 * guard_cost.median.as_secs_f64() / home_page.median.as_secs_f64(),
            guard_cpu_share = 100.0 * guard_cost.median.as_secs_f64() / home_cpu.as_secs_f64().max(1e-9),
            guard_mbps = home_html.len() as f64 / guard_cost.median.as_secs_f64() / 1e6,
        );
        report.push_str(&sandbox);
        report.push_str(&storm);
        report.push_str(&services);
        let path = repo_root().join("BENCHMARKS.md");
        // Keep the sections the other benches write (directory, pages).
        let kept = preau_tests::bench_sections(&std::fs::read_to_string(&path).unwrap_or_default());
        std::fs::write(&path, format!("{report}{kept}")).unwrap();
        println!("{report}\nécrit dans {}", path.display());
    });
}
