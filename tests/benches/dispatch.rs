//! Benchmarks, written to BENCHMARKS.md as ratios measured in the same run.
//!
//! 1. Plugin dispatch: a fresh instance + one `handle` call of a trivial
//!    handler (the `echo` test plugin), against the same handler
//!    compiled natively and called directly.
//! 2. HTTP: the blog's list page (signed in) against `/healthz`, a static
//!    response of the same axum server, sequential keep-alive requests.
//! 3. HTTP: an establishment's home page with 4 blocks (Actualités from two
//!    rubriques, Mes services, the blog's latest articles, RSS entries), signed
//!    in, against `/healthz`: sequential latency and throughput with 8 clients.
//!
//! Run with `cargo xtask bench` (builds the plugins first).

use std::time::{Duration, Instant};

use preau_host::runtime::{CallContext, WitCaller, WitMethod, WitRequest, invocation};
use preau_sdk::Plugin;
use preau_tests::feed_server::FeedServer;
use preau_tests::{Client, PILAT, TestServer, repo_root};

struct Stats {
    median: Duration,
    p99: Duration,
    per_second: f64,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let total: Duration = samples.iter().sum();
    Stats {
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

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
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
        let request = WitRequest {
            method: WitMethod::Get,
            path: "/".into(),
            query: vec![],
            form: vec![],
            csrf_valid: true,
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
                PILAT,
                "Collège du Pilat",
                format!("/e/{PILAT}/echo"),
                None,
            ),
        };
        let ctx = CallContext { uai: PILAT.into(), config: "{}".into(), ..Default::default() };
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

        // 3. Home page with 4 blocks.
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
        let static_again = measure_async(3_000, || async {
            assert_eq!(pupil.get("/healthz").await.unwrap().status, 200);
        })
        .await;
        let home_page = measure_async(3_000, || async {
            assert_eq!(pupil.get(&home).await.unwrap().status, 200);
        })
        .await;
        let mut clients = Vec::new();
        for _ in 0..8 {
            clients.push(server.signed_in("emma.martin").await.unwrap());
        }
        let window = Duration::from_secs(5);
        let static_throughput = throughput(&clients, "/healthz", window).await;
        let home_throughput = throughput(&clients, &home, window).await;

        let report = format!(
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
             ## HTTP: establishment home page with 4 blocks against a static response\n\n\
             Signed in as a pupil of the Collège du Pilat. Blocks: « Actualités » (news of the two public \
             rubriques subscribed to the portal block: one plugin instance per rubrique), « Mes services » \
             (region and establishment catalogues), « Derniers articles » (blog) and « Flux RSS » (two \
             feeds from the local fixture server, read from the plugin's store; no network on the page). \
             Four wasm instances per page. Sequential: 3 000 requests each; throughput: 8 signed-in \
             clients for 5 s each.\n\n\
             | | median | p99 | requests/s (1 client) | requests/s (8 clients) |\n|---|---|---|---|---|\n\
             | `/healthz` (static) | {s2m} | {s2p} | {s2r:.0} | {st:.0} |\n\
             | `/e/{PILAT}/` (4 blocks) | {hm} | {hp} | {hr:.0} | {ht:.0} |\n\n\
             Ratio home page / static: {home_ratio:.1}× (median latency), {home_tput_ratio:.2} of the \
             static throughput with 8 clients.\n",
            machine = machine(),
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
        );
        let path = repo_root().join("BENCHMARKS.md");
        // Keep the directory benchmark's section, which its own bench writes.
        let previous = std::fs::read_to_string(&path).unwrap_or_default();
        let kept = match (previous.find("<!-- directory-bench -->"), previous.find("<!-- /directory-bench -->")) {
            (Some(start), Some(end)) => format!("\n{}\n", &previous[start..end + "<!-- /directory-bench -->".len()]),
            _ => String::new(),
        };
        std::fs::write(&path, format!("{report}{kept}")).unwrap();
        println!("{report}\nécrit dans {}", path.display());
    });
}
