//! The second loop: SIGKILL during `preau backup`. Each cycle starts the
//! server on the same database, runs the mixed workload, times one complete
//! `preau backup` (a child process, through the server's control socket),
//! starts another and kills the server — or, one cycle in
//! `CLIENT_KILL_EVERY`, the backup client — at a random moment within the
//! first one's duration. The backup must then be whole or absent:
//! - no file under its name, and any `FILE.partial` left refused by
//!   `preau restore` (nothing left in the target folder) — or, when the kill
//!   came after its last byte, whole and checked as a complete one;
//! - or a file that `preau restore` accepts, whose restored folder passes
//!   `preau store check`, and where a server started on it serves every write
//!   acknowledged before the backup began (and no slot with two holders).
//!
//! Never a silently partial one: a file under its name that is refused or
//! misses a write, or a client that says « written » without one. The next
//! start on the original folder checks it as the SIGKILL loop does.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use preau_tests::preau_binary;

use super::ledger::Ledger;
use super::race;
use super::report::{BackupCycle, BackupReport, CrashReport, Outcome, Phase, Victim};
use super::workload::{self, BLOG_WRITER, Workload};
use super::{Rng, disk_usage, signed_in, start_child};

/// Articles written once before the first cycle, and the size of each one's
/// text: with them a snapshot takes long enough for kills to land inside it.
pub(super) const BALLAST: (usize, usize) = (60, 150_000);
/// The writes run this long (ms) before the backup starts.
pub(super) const WARM_UP_MS: (u64, u64) = (100, 400);
/// The kill comes between these shares (%) of the duration (client start →
/// exit) of a complete backup taken just before, under the same load, after
/// the client starts. Below 100: the second backup of a cycle is usually
/// quicker than the first (about 0.65–0.9 of it).
pub(super) const KILL_WINDOW_PERCENT: (u64, u64) = (0, 70);
/// One cycle in `LATE_EVERY` aims at the end of the backup instead (the
/// file's sync and rename, the answer).
pub(super) const LATE_WINDOW_PERCENT: (u64, u64) = (55, 100);
pub(super) const LATE_EVERY: usize = 4;
/// One cycle in this many kills the backup client instead of the server.
pub(super) const CLIENT_KILL_EVERY: usize = 3;

/// `preau backup --data DB --to FILE`.
fn backup_command(db: &Path, file: &Path) -> Command {
    let mut command = Command::new(preau_binary());
    command
        .args(["backup", "--data"])
        .arg(db)
        .arg("--to")
        .arg(file);
    command
}

/// Runs a command to its end off the async workers.
async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn partial_of(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap().to_os_string();
    name.push(".partial");
    file.with_file_name(name)
}

/// How a backup client ended.
struct ClientEnd {
    /// None: killed (by the test, or it hung).
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl ClientEnd {
    /// It talked to the server (answered, or the server died with the request).
    fn reached_server(&self) -> bool {
        self.stdout.contains("(serveur en marche)")
            || [
                "le serveur n'a pas répondu",
                "réponse du serveur illisible",
                "sauvegarde refusée par le serveur",
            ]
            .iter()
            .any(|m| self.stderr.contains(m))
    }

    /// The server was gone: it opened the folder and backed it up itself.
    fn offline(&self) -> bool {
        self.stdout.contains("(serveur arrêté)")
    }
}

/// Waits for the backup client (killing it after a minute) and reads its output.
async fn end_of(mut client: Child) -> ClientEnd {
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = client.kill();
            break client.wait().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = client.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = client.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    ClientEnd {
        code: status.code(),
        stdout,
        stderr,
    }
}

/// What a restored backup must hold.
struct Expected<'a> {
    ledger: &'a Ledger,
    /// The cycle's writes acknowledged before the backup began: `ledger.acknowledged[from..to]`.
    from: usize,
    to: usize,
}

/// The loop: `cycles` kills during a backup, then one more start on the
/// original folder that re-reads every acknowledged write.
pub(super) async fn backup_loop(cycles: usize) -> BackupReport {
    let place = tempfile::tempdir().unwrap();
    let dir = place.path().join("serveur");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("db");
    let mut rng = Rng::from_clock();
    let mut report = BackupReport {
        crash: CrashReport {
            seed: rng.0,
            cycles,
            ..Default::default()
        },
        ..Default::default()
    };
    // Built (or found fresh) before anything is timed.
    preau_binary();
    let mut ledger = Ledger::default();
    for cycle in 0..=cycles {
        let (mut child, base, startup) = start_child(&dir).await;
        if cycle == 0 {
            report.crash.first_start = startup;
        } else {
            report.crash.restarts.push(startup);
        }
        let checker = signed_in(&base, BLOG_WRITER).await;
        ledger.check(&checker, &mut rng, cycle == cycles).await;
        if cycle == cycles {
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        if cycle == 0 {
            let started = Instant::now();
            let ballast = workload::ballast(&checker, BALLAST.0, BALLAST.1, &mut rng).await;
            report.ballast_time = started.elapsed();
            ledger.add(ballast);
        }

        let workload = Workload::sign_in(&base, cycle, checker).await;
        let running = workload.spawn(&mut rng);
        let warm_up = rng.between(WARM_UP_MS.0, WARM_UP_MS.1);
        tokio::time::sleep(Duration::from_millis(warm_up)).await;
        // One complete backup under the same load, timed: the kill aims inside
        // the next one.
        let file = place.path().join(format!("etalon-{cycle}.preau.gz"));
        let started = Instant::now();
        let out = output(backup_command(&db, &file)).await;
        let full = started.elapsed();
        assert!(
            out.status.success(),
            "sauvegarde complète (cycle {cycle}) : {}",
            text(&out)
        );
        report.full_backups.push(full);
        report
            .file_bytes
            .push(std::fs::metadata(&file).unwrap().len());
        std::fs::remove_file(&file).unwrap();
        let from = ledger.acknowledged.len();
        let to = from + running.acknowledged_so_far();
        let file = place.path().join(format!("sauvegarde-{cycle}.preau.gz"));
        let victim = if cycle % CLIENT_KILL_EVERY == 1 {
            Victim::Client
        } else {
            Victim::Server
        };
        // The kills aim inside a complete backup's usual duration.
        let (low, high) = if cycle % LATE_EVERY == LATE_EVERY - 1 {
            LATE_WINDOW_PERCENT
        } else {
            KILL_WINDOW_PERCENT
        };
        let micros = full.as_micros() as u64;
        let delay = Duration::from_micros(rng.between(micros * low / 100, micros * high / 100 + 1));
        let mut client = backup_command(&db, &file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        // Whether the client was done before the kill (polled every ms).
        let mut finished = client.try_wait().unwrap().is_some();
        while !finished && let Some(left) = delay.checked_sub(started.elapsed()) {
            tokio::time::sleep(left.min(Duration::from_millis(1))).await;
            finished = client.try_wait().unwrap().is_some();
        }
        let (phase, end) = match victim {
            Victim::Server => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                let at_kill = (file.exists(), partial_of(&file).exists());
                let end = end_of(client).await;
                if end.code.is_none() {
                    report.problems.push(format!(
                        "cycle {cycle} : preau backup bloqué après la mort du serveur"
                    ));
                }
                let phase = if finished {
                    Phase::ClientDone
                } else if at_kill.0 {
                    Phase::Renamed
                } else if at_kill.1 {
                    Phase::Writing
                } else if end.reached_server() {
                    Phase::Reading
                } else {
                    Phase::BeforeServer
                };
                (phase, end)
            }
            Victim::Client => {
                if !finished {
                    client.kill().unwrap(); // SIGKILL
                }
                let end = end_of(client).await;
                // The server goes on alone with the backup it was asked for;
                // it answers a second one once that is over.
                let second = place.path().join(format!("suivante-{cycle}.preau.gz"));
                let out = output(backup_command(&db, &second)).await;
                if out.status.success() {
                    report.second_backups += 1;
                    report
                        .file_bytes
                        .push(std::fs::metadata(&second).unwrap().len());
                } else {
                    report.problems.push(format!(
                        "cycle {cycle} : sauvegarde refusée après la mort d'un client : {}",
                        text(&out)
                    ));
                }
                let _ = std::fs::remove_file(&second);
                let health = preau_tests::Client::new(&base).get("/healthz").await;
                if !health.is_ok_and(|p| p.status == 200) {
                    report.problems.push(format!(
                        "cycle {cycle} : serveur muet après la mort d'un client de sauvegarde"
                    ));
                }
                child.kill().unwrap();
                child.wait().unwrap();
                let phase = if finished {
                    Phase::ClientDone
                } else {
                    Phase::ClientKilled
                };
                (phase, end)
            }
        };
        report.crash.writing += running.started.elapsed();
        ledger.record(running.join().await);

        let expected = Expected {
            ledger: &ledger,
            from,
            to,
        };
        let mut outcome = judge(
            &place.path().join(format!("restauree-{cycle}")),
            &file,
            &expected,
            &mut rng,
            &mut report,
        )
        .await;
        if end.code == Some(0) && outcome != Outcome::Complete {
            outcome = Outcome::SilentlyPartial(format!(
                "preau backup a répondu 0 ({}) sans sauvegarde valide : {outcome:?}",
                end.stdout.trim()
            ));
        }
        if end.code == Some(0) && !end.offline() && !end.reached_server() {
            report.problems.push(format!(
                "cycle {cycle} : réponse inattendue : {}",
                end.stdout
            ));
        }
        eprintln!(
            "sauvegarde {cycle} : {victim:?} tué après {delay:?} (sauvegarde complète : {full:?}), \
             {phase:?}, client {code:?}, {outcome:?}",
            code = end.code
        );
        report.cycles_log.push(BackupCycle {
            victim,
            delay,
            landed: !finished,
            phase,
            client_code: end.code,
            offline: end.offline(),
            outcome,
        });
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_file(partial_of(&file));
    }
    report.crash.disk_bytes = disk_usage(&dir);
    report.crash.ledger = ledger;
    report
}

/// What is left under `file` and `file.partial`, checked by restoring it
/// into `restored/db` (removed afterwards).
async fn judge(
    restored: &Path,
    file: &Path,
    expected: &Expected<'_>,
    rng: &mut Rng,
    report: &mut BackupReport,
) -> Outcome {
    let partial = partial_of(file);
    let outcome = if file.exists() {
        match restorable(file, restored, expected, rng, report).await {
            Ok(()) => Outcome::Complete,
            Err(why) => Outcome::SilentlyPartial(why),
        }
    } else if partial.exists() {
        let target = restored.join("db");
        let out = output(restore_command(&partial, &target)).await;
        let left = std::fs::read_dir(&target).is_ok_and(|mut d| d.next().is_some());
        if out.status.success() {
            // Killed after its last byte (during its sync, or before its
            // rename): whole, under the name of an unfinished one.
            let _ = std::fs::remove_dir_all(restored);
            match restorable(&partial, restored, expected, rng, report).await {
                Ok(()) => Outcome::PartialComplete,
                Err(why) => Outcome::SilentlyPartial(format!(".partial accepté : {why}")),
            }
        } else if left {
            Outcome::SilentlyPartial(format!(
                ".partial refusé mais des fichiers restent dans {} : {}",
                target.display(),
                text(&out)
            ))
        } else if !text(&out).contains("complète et intacte") {
            Outcome::SilentlyPartial(format!(".partial refusé sans le dire : {}", text(&out)))
        } else {
            Outcome::PartialRefused
        }
    } else {
        Outcome::Absent
    };
    let _ = std::fs::remove_dir_all(restored);
    outcome
}

fn restore_command(from: &Path, to: &Path) -> Command {
    let mut command = Command::new(preau_binary());
    command.arg("restore").arg(from).arg("--data").arg(to);
    command
}

/// Restores `file` into `restored/db`, checks it with `preau store check`,
/// starts a server on it and re-reads what it must hold.
async fn restorable(
    file: &Path,
    restored: &Path,
    expected: &Expected<'_>,
    rng: &mut Rng,
    report: &mut BackupReport,
) -> Result<(), String> {
    let target = restored.join("db");
    let began = Instant::now();
    let out = output(restore_command(file, &target)).await;
    if !out.status.success() {
        return Err(format!("preau restore refuse le fichier : {}", text(&out)));
    }
    report.restores.push(began.elapsed());
    report
        .file_bytes
        .push(std::fs::metadata(file).map_or(0, |m| m.len()));
    let mut check = Command::new(preau_binary());
    check.args(["store", "check", "--data"]).arg(&target);
    let out = output(check).await;
    if out.status.code() != Some(0) {
        return Err(format!(
            "preau store check : code {:?}\n{}",
            out.status.code(),
            text(&out)
        ));
    }
    let (mut child, base, _) = start_child(restored).await;
    let client = signed_in(&base, BLOG_WRITER).await;
    let (checks, missing) = expected
        .ledger
        .check_restored(&client, rng, expected.from, expected.to)
        .await;
    report.restored_checks += checks.iter().sum::<usize>();
    let mut double = Vec::new();
    for r in &expected.ledger.races {
        let shown = race::holders_on(&client, expected.ledger.resource(), &r.day).await;
        report.restored_slots += 1;
        if shown.len() > 1 {
            double.push(format!("{} (sauvegarde restaurée) : {shown:?}", r.day));
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    report.restored_missing.extend(missing.iter().cloned());
    report.restored_double.extend(double.iter().cloned());
    if missing.is_empty() && double.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "restaurée sans {} écritures acquittées avant la sauvegarde ({missing:?}) ; \
             créneaux à deux titulaires : {double:?}",
            missing.len()
        ))
    }
}
