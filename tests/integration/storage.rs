//! An operator's bad day, on the real `preau` binary and a real sled folder:
//! damaged data folders are refused (never served as an empty region, never a
//! panic), a full disk refuses writes and keeps reads, then recovers without a
//! restart, and a backup taken under load restores every write acknowledged
//! before it began.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use preau_tests::{Client, DEMO_PASSWORD, PILAT, preau_binary, repo_root};

/// A `preau serve` child, killed on drop.
struct Served {
    child: Child,
    base: String,
    output: Arc<Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// The server's log so far (for failure messages).
    fn log(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Stops it with SIGTERM and waits for the exit.
    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// How a start ended.
enum Start {
    Serving(Served),
    Exited { code: Option<i32>, output: String },
}

/// `preau serve --data DIR` from the repository's root on a free port.
fn serve_command(data: &Path, demo: bool, env: &[(&str, &str)]) -> Command {
    let root = repo_root();
    let mut command = Command::new(preau_binary());
    command
        .current_dir(&root)
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--cache")
        .arg(root.join("target/preau-test-cache"))
        .env("PREAU_RELOAD_INTERVAL", "0")
        .env("PREAU_TICK_INTERVAL", "0")
        .env("PREAU_PASSWORD_WORKERS", "2");
    if demo {
        command.arg("--demo");
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// Starts `preau serve` and waits until `/healthz` answers (or the process exits).
async fn start(data: &Path, demo: bool, env: &[(&str, &str)]) -> Start {
    let mut child = serve_command(data, demo, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output: Arc<Mutex<String>> = Arc::default();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut out = output.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // Let the readers drain.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Start::Exited {
                code: status.code(),
                output: output.lock().unwrap().clone(),
            };
        }
        let base = output.lock().unwrap().lines().find_map(|l| {
            l.strip_prefix("Préau : ")
                .map(|a| a.trim_end_matches('/').to_string())
        });
        if let Some(base) = base
            && Client::new(&base)
                .get("/healthz")
                .await
                .is_ok_and(|p| p.status == 200)
        {
            return Start::Serving(Served {
                child,
                base,
                output,
            });
        }
        assert!(Instant::now() < deadline, "preau serve n'a pas démarré");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn serving(data: &Path, demo: bool, env: &[(&str, &str)]) -> Served {
    match start(data, demo, env).await {
        Start::Serving(served) => served,
        Start::Exited { code, output } => panic!("preau serve sorti ({code:?}) :\n{output}"),
    }
}

async fn teacher(base: &str) -> Client {
    let client = Client::new(base);
    let page = client.login("jean.dupont", DEMO_PASSWORD).await.unwrap();
    assert_eq!(page.status, 303, "connexion de l'enseignant");
    client
}

/// Posts one article; its URL when acknowledged (303), else the page.
async fn post_article(
    client: &Client,
    csrf: &str,
    title: &str,
) -> Result<String, preau_tests::Page> {
    let page = client
        .post_raw(
            &format!("/e/{PILAT}/blog/new"),
            &[
                ("title", title),
                (
                    "body",
                    "<p>Texte long que l'enseignant ne veut pas perdre.</p>",
                ),
                ("publish", "on"),
                ("csrf", csrf),
            ],
        )
        .await
        .unwrap();
    if page.status == 303 {
        Ok(page.location().to_string())
    } else {
        Err(page)
    }
}

async fn blog_csrf(client: &Client) -> String {
    client
        .get(&format!("/e/{PILAT}/blog/new"))
        .await
        .unwrap()
        .csrf()
        .unwrap()
}

async fn present(client: &Client, url: &str, title: &str) -> bool {
    client
        .get(url)
        .await
        .is_ok_and(|p| p.status == 200 && p.body.contains(title))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "control.sock" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn flip(path: &Path, at: u64, len: usize) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(at)).unwrap();
    let n = file.read(&mut buf).unwrap();
    for b in &mut buf[..n] {
        *b ^= 0xff;
    }
    file.seek(SeekFrom::Start(at)).unwrap();
    file.write_all(&buf[..n]).unwrap();
}

fn zero_tail(path: &Path, len: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let size = std::fs::metadata(path).unwrap().len();
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(size.saturating_sub(len)))
        .unwrap();
    file.write_all(&vec![0u8; len.min(size) as usize]).unwrap();
}

/// A region with `n` acknowledged articles, stopped cleanly; (URL, title) of each.
async fn region_with_articles(dir: &Path, n: usize) -> Vec<(String, String)> {
    let served = serving(dir, true, &[]).await;
    let client = teacher(&served.base).await;
    let csrf = blog_csrf(&client).await;
    let mut articles = Vec::new();
    for i in 0..n {
        let title = format!("Article acquitté {i}");
        let url = post_article(&client, &csrf, &title)
            .await
            .unwrap_or_else(|p| panic!("écriture refusée : {} {}", p.status, p.body));
        articles.push((url, title));
    }
    // The identity file catches up within a second even without a clean stop.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    served.stop();
    articles
}

/// `preau store check --data DIR`: exit code and output.
fn store_check(dir: &Path) -> (Option<i32>, String) {
    let out = Command::new(preau_binary())
        .args(["store", "check", "--data"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_data_folders_are_refused_never_served_empty() {
    let place = tempfile::tempdir().unwrap();
    let original = place.path().join("origine");
    let articles = region_with_articles(&original, 40).await;
    let other = place.path().join("autre-region");
    serving(&other, true, &[]).await.stop();

    type Damage = Box<dyn Fn(&Path)>;
    let db_size = std::fs::metadata(original.join("db")).unwrap().len();
    let other_dir = other.clone();
    let cases: Vec<(&str, Damage)> = vec![
        (
            "fichier db tronqué à la moitié",
            Box::new(move |d: &Path| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("db"))
                    .unwrap();
                f.set_len(db_size / 2).unwrap();
            }),
        ),
        (
            "derniers 64 Kio mis à zéro",
            Box::new(|d: &Path| zero_tail(&d.join("db"), 64 << 10)),
        ),
        (
            "4 Kio inversés au quart du fichier",
            Box::new(move |d: &Path| flip(&d.join("db"), db_size / 4, 4096)),
        ),
        (
            "4 Kio inversés au milieu",
            Box::new(move |d: &Path| flip(&d.join("db"), db_size / 2, 4096)),
        ),
        (
            "4 Kio inversés aux trois quarts",
            Box::new(move |d: &Path| flip(&d.join("db"), db_size * 3 / 4, 4096)),
        ),
        (
            "fichier db supprimé",
            Box::new(|d: &Path| std::fs::remove_file(d.join("db")).unwrap()),
        ),
        (
            "base d'une autre région copiée à la place",
            Box::new(move |d: &Path| {
                for entry in std::fs::read_dir(d).unwrap() {
                    let entry = entry.unwrap();
                    if entry.file_name() != "preau-identity.json" {
                        let _ = std::fs::remove_dir_all(entry.path())
                            .or_else(|_| std::fs::remove_file(entry.path()));
                    }
                }
                let keep = d.join("preau-identity.json.keep");
                std::fs::rename(d.join("preau-identity.json"), &keep).unwrap();
                copy_dir(&other_dir, d);
                std::fs::rename(&keep, d.join("preau-identity.json")).unwrap();
            }),
        ),
        (
            "fichier d'identité illisible",
            Box::new(|d: &Path| std::fs::write(d.join("preau-identity.json"), "{").unwrap()),
        ),
        (
            "fichier d'identité supprimé",
            Box::new(|d: &Path| std::fs::remove_file(d.join("preau-identity.json")).unwrap()),
        ),
    ];
    let mut table = String::new();
    for (name, damage) in &cases {
        let dir = place.path().join(name.replace(' ', "-"));
        copy_dir(&original, &dir);
        damage(&dir);
        let outcome = match start(&dir, false, &[]).await {
            Start::Exited { code, output } => {
                assert_eq!(code, Some(3), "{name} : code de sortie\n{output}");
                assert!(
                    output.contains("refuse de démarrer") || output.contains("n'est pas"),
                    "{name} : message\n{output}"
                );
                assert!(!output.contains("panicked"), "{name} : panique\n{output}");
                assert!(!output.contains("Premier démarrage"), "{name}\n{output}");
                let reason = output
                    .lines()
                    .find(|l| l.starts_with("erreur : "))
                    .unwrap_or_default()
                    .chars()
                    .take(110)
                    .collect::<String>();
                format!("refus, code 3 : « {reason}… »")
            }
            Start::Serving(served) => {
                let output = served.output.lock().unwrap().clone();
                assert!(!output.contains("Premier démarrage"), "{name}\n{output}");
                let client = teacher(&served.base).await;
                for (url, title) in &articles {
                    assert!(
                        present(&client, url, title).await,
                        "{name} : servie sans « {title} »"
                    );
                }
                served.stop();
                format!(
                    "démarre ; les {} articles acquittés sont lus",
                    articles.len()
                )
            }
        };
        let (code, report) = store_check(&dir);
        assert!(
            matches!(code, Some(0) | Some(3)),
            "{name} : preau store check ({code:?})\n{report}"
        );
        assert!(!report.contains("panicked"), "{name} : {report}");
        eprintln!("| {name} | {outcome} | store check : code {code:?} |");
        table.push_str(&format!(
            "| {name} | {outcome} | {} |\n",
            code.unwrap_or(-1)
        ));
    }
    eprintln!("{table}");
}

/// A small filesystem for the full-disk test: tmpfs when this process may
/// mount (root), else None (the test then uses the reserve on the real disk).
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: &Path, mib: u64) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Fills the disk of `dir` with a ballast file until at most `leave` bytes are free.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    use std::io::Write;
    let ballast = dir.join("ballast");
    let mut file = std::fs::File::create(&ballast).unwrap();
    let chunk = vec![0xa5u8; 64 << 10];
    loop {
        let free = fs2::available_space(dir).unwrap();
        if free <= leave {
            break;
        }
        let n = (free - leave).min(chunk.len() as u64) as usize;
        if file.write_all(&chunk[..n]).is_err() {
            break;
        }
        let _ = file.flush();
    }
    let _ = file.sync_all();
    ballast
}

async fn metric(base: &str, name: &str) -> Option<String> {
    let page = Client::new(base).get("/metrics").await.ok()?;
    page.body
        .lines()
        .find(|l| l.starts_with(name))
        .map(|l| l.to_string())
}

/// Writes until one is refused; returns the acknowledged ones and the refusal.
async fn write_until_refused(
    client: &Client,
    csrf: &str,
    prefix: &str,
    acknowledged: &mut Vec<(String, String)>,
) -> preau_tests::Page {
    for i in 0..400 {
        let title = format!("{prefix} {i}");
        match post_article(client, csrf, &title).await {
            Ok(url) => acknowledged.push((url, title)),
            Err(page) => return page,
        }
    }
    panic!("aucune écriture refusée sur un disque plein");
}

async fn assert_full_then_recovered(
    served: &Served,
    data: &Path,
    leave: u64,
    mode: &str,
) -> Vec<(String, String)> {
    let client = teacher(&served.base).await;
    let csrf = blog_csrf(&client).await;
    let mut acknowledged = Vec::new();
    for i in 0..10 {
        let title = format!("{mode} avant {i}");
        acknowledged.push((post_article(&client, &csrf, &title).await.unwrap(), title));
    }
    let ballast = fill(data, leave);
    let refused =
        write_until_refused(&client, &csrf, &format!("{mode} plein"), &mut acknowledged).await;
    assert_eq!(refused.status, 507, "{mode} : {}", refused.body);
    let body = preau_tests::unescape(&refused.body).replace("&#39;", "'");
    assert!(
        body.contains("L'espace de stockage du serveur est plein ; votre texte n'a pas été perdu"),
        "{mode} : {body}"
    );
    assert!(
        body.contains(&format!("{mode} plein")),
        "{mode} : titre rendu\n{body}"
    );
    assert!(
        body.contains("ne veut pas perdre"),
        "{mode} : texte rendu\n{body}"
    );
    assert!(!body.contains("name=\"csrf\""), "{mode}");
    // Reads answer what they answered before.
    for (url, title) in &acknowledged {
        assert!(
            present(&client, url, title).await,
            "{mode} : {title} illisible"
        );
    }
    let list = client.get(&format!("/e/{PILAT}/blog/")).await.unwrap();
    assert_eq!(
        list.status,
        200,
        "{mode} : liste\n{}\njournal du serveur :\n{}",
        list.body,
        served.log()
    );
    let health = Client::new(&served.base).get("/healthz").await.unwrap();
    assert_eq!(health.status, 503, "{mode} : /healthz");
    assert!(health.body.contains("plein"), "{mode} : {}", health.body);
    assert_eq!(
        metric(&served.base, "preau_store_writable ")
            .await
            .as_deref(),
        Some("preau_store_writable 0")
    );
    // A sign-in that must write its session: the same clear refusal.
    let newcomer = Client::new(&served.base);
    let login = newcomer
        .login("marie.lefebvre", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(login.status, 507, "{mode} : connexion");
    assert!(!preau_tests::unescape(&login.body).contains(DEMO_PASSWORD));

    // Space comes back: writes resume without a restart.
    let refused_at = acknowledged.len();
    std::fs::remove_file(&ballast).unwrap();
    let freed = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(10);
    let recovered_in = loop {
        let title = format!("{mode} après");
        match post_article(&client, &csrf, &title).await {
            Ok(url) => {
                acknowledged.push((url, title));
                break freed.elapsed();
            }
            Err(page) => {
                assert!(
                    Instant::now() < deadline,
                    "{mode} : pas de reprise : {}",
                    page.status
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(
        Client::new(&served.base)
            .get("/healthz")
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        metric(&served.base, "preau_store_writable ")
            .await
            .as_deref(),
        Some("preau_store_writable 1")
    );
    for (url, title) in &acknowledged {
        assert!(present(&client, url, title).await, "{mode} : {title} perdu");
    }
    eprintln!(
        "| {mode} | 507 avec le texte saisi ; connexion 507 | {refused_at} articles acquittés relus (200) ; /healthz 503, preau_store_writable 0 | écritures reprises {:?} après la libération, sans redémarrage ; {} relus |",
        recovered_in,
        acknowledged.len()
    );
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_refuses_writes_keeps_reads_and_recovers_without_restart() {
    let place = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&place.path().join("petit-disque"), 48) else {
        // Without mount rights: the reserve, on the real disk, stands for a full one.
        eprintln!("mode : réserve d'espace libre sur le disque réel (montage impossible)");
        let data = place.path().join("db");
        let free = fs2::available_space(place.path()).unwrap();
        let reserve_mib = (free >> 20).saturating_sub(64).to_string();
        let env = [("PREAU_STORAGE_RESERVE_MIB", reserve_mib.as_str())];
        let served = serving(&data, true, &env).await;
        let leave = (free >> 20).saturating_sub(80) << 20;
        assert_full_then_recovered(&served, place.path(), leave, "réserve").await;
        return;
    };
    eprintln!("mode : tmpfs de 48 Mio monté pour le test");
    // 1. The engine itself meets ENOSPC (no reserve): sled fails, Préau reopens it.
    let data = disk.path.join("engine");
    let served = serving(&data, true, &[("PREAU_STORAGE_RESERVE_MIB", "0")]).await;
    let acknowledged = assert_full_then_recovered(&served, &disk.path, 0, "moteur").await;
    // sled failed: its emergency room was given back to reopen it (reads of a
    // failed instance that would split a node fail), and is kept again since.
    let log = served.log();
    assert!(
        log.contains("espace de secours libéré pour rouvrir la base"),
        "{log}"
    );
    assert!(
        log.contains("base rouverte après l'échec du moteur"),
        "{log}"
    );
    assert_eq!(
        std::fs::metadata(data.join("preau-room.bin"))
            .map(|m| m.len() >> 20)
            .ok(),
        Some(8),
        "espace de secours refait après la reprise"
    );
    assert!(
        served.stop().success(),
        "arrêt propre après un disque plein"
    );
    // A restart finds every acknowledged write (the folder is not refused).
    let served = serving(&data, false, &[("PREAU_STORAGE_RESERVE_MIB", "0")]).await;
    let client = teacher(&served.base).await;
    for (url, title) in &acknowledged {
        assert!(
            present(&client, url, title).await,
            "après redémarrage : {title}"
        );
    }
    served.stop();
    std::fs::remove_dir_all(&data).unwrap();

    // 2. The reserve refuses first: sled never fails.
    let data = disk.path.join("reserve");
    let served = serving(&data, true, &[("PREAU_STORAGE_RESERVE_MIB", "8")]).await;
    assert_full_then_recovered(&served, &disk.path, 4 << 20, "réserve").await;
    served.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_restores_every_write_acknowledged_before_it() {
    let place = tempfile::tempdir().unwrap();
    let data = place.path().join("db");
    let served = serving(&data, true, &[]).await;
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2 {
        let client = teacher(&served.base).await;
        let csrf = blog_csrf(&client).await;
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let title = format!("Pendant la sauvegarde {w}-{i}");
                if let Ok(url) = post_article(&client, &csrf, &title).await {
                    acknowledged.lock().unwrap().push((url, title));
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before: Vec<(String, String)> = acknowledged.lock().unwrap().clone();
    let file = place.path().join("sauvegarde.preau.gz");
    let started = Instant::now();
    let (data_arg, file_arg) = (data.clone(), file.clone());
    let backup = tokio::task::spawn_blocking(move || {
        Command::new(preau_binary())
            .args(["backup", "--data"])
            .arg(&data_arg)
            .arg("--to")
            .arg(&file_arg)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let text = String::from_utf8_lossy(&backup.stdout);
    assert!(
        backup.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(text.contains("serveur en marche"), "{text}");
    let total = acknowledged.lock().unwrap().len();
    eprintln!(
        "sauvegarde en {took:?} ; {} écritures acquittées avant, {total} en tout",
        before.len()
    );
    assert!(
        total > before.len(),
        "les écritures ont continué pendant la sauvegarde"
    );
    served.stop();

    // Restore into a new folder; a non-empty one and a truncated file are refused.
    let restored = place.path().join("restauree");
    let restore = |from: &Path, to: &Path| {
        Command::new(preau_binary())
            .arg("restore")
            .arg(from)
            .arg("--data")
            .arg(to)
            .output()
            .unwrap()
    };
    let out = restore(&file, &restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = restore(&file, &restored);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("n'est pas vide"));
    let bytes = std::fs::read(&file).unwrap();
    let truncated = place.path().join("tronquee.preau.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let target = place.path().join("jamais");
    let out = restore(&truncated, &target);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("complète et intacte"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!target.exists(), "rien ne reste d'une restauration refusée");
    let (code, report) = store_check(&restored);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("base cohérente"), "{report}");

    let served = serving(&restored, false, &[]).await;
    let client = teacher(&served.base).await;
    let mut missing = 0;
    for (url, title) in &before {
        if !present(&client, url, title).await {
            missing += 1;
        }
    }
    assert_eq!(
        missing, 0,
        "écritures acquittées avant la sauvegarde absentes"
    );
    // The restored region goes on: a new article gets a new URL.
    let csrf = blog_csrf(&client).await;
    let url = post_article(&client, &csrf, "Après restauration")
        .await
        .unwrap();
    assert!(
        !before.iter().any(|(u, _)| *u == url),
        "identifiant réutilisé : {url}"
    );
    served.stop();

    // A stopped server's folder is backed up directly.
    let offline = place.path().join("hors-ligne.preau.gz");
    let out = Command::new(preau_binary())
        .args(["backup", "--data"])
        .arg(&data)
        .arg("--to")
        .arg(&offline)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("serveur arrêté"));
}
