//! What a crash loop saw, the assertions on it, and RELIABILITY.md.

use std::time::Duration;

use preau_tests::PILAT;

use super::KILL_AFTER_MS;
use super::backup::{
    BALLAST, CLIENT_KILL_EVERY, KILL_WINDOW_PERCENT, LATE_EVERY, LATE_WINDOW_PERCENT, WARM_UP_MS,
};
use super::ledger::{Ledger, SAMPLE_EARLIER};
use super::race::{HOLD_MAX_MS, RACERS, RETRY_MAX_MS};
use super::workload::{BLOG_SESSIONS, BLOG_WRITER, FORUM_POSTS_PER_SUBJECT, FORUM_WRITER, Kind};

#[derive(Default)]
pub(super) struct CrashReport {
    pub seed: u64,
    pub cycles: usize,
    pub ledger: Ledger,
    /// First start (creates and seeds the database), then each restart.
    pub first_start: Duration,
    pub restarts: Vec<Duration>,
    /// Time spent writing, all cycles together.
    pub writing: Duration,
    pub kill_delays: Vec<Duration>,
    pub disk_bytes: u64,
}

impl CrashReport {
    fn forum(&self) -> usize {
        self.ledger.count(Kind::ForumSubject) + self.ledger.count(Kind::ForumReply)
    }

    pub(super) fn assert_nothing_lost(&self) {
        let l = &self.ledger;
        let articles = l.count(Kind::Article);
        assert!(
            articles >= self.cycles,
            "some articles were acknowledged ({articles})"
        );
        assert!(self.forum() > 0, "no forum message acknowledged");
        assert!(
            l.race.won > 0 && l.race.taken > 0,
            "the slot was booked ({}) and contested ({})",
            l.race.won,
            l.race.taken
        );
        assert!(
            l.lost.is_empty(),
            "{} of {} acknowledged writes lost: {:?}",
            l.lost.len(),
            l.acknowledged.len(),
            l.lost
        );
        assert!(
            l.refused.is_empty(),
            "refused by a running server: {:?}",
            l.refused
        );
        assert!(
            l.slots.double_holders.is_empty(),
            "slots with two holders: {:?}",
            l.slots.double_holders
        );
        assert!(
            l.slots.lost_bookings.is_empty(),
            "acknowledged bookings lost: {:?}",
            l.slots.lost_bookings
        );
        assert!(
            l.slots.wrong_holders.is_empty(),
            "wrong holders: {:?}",
            l.slots.wrong_holders
        );
    }

    /// One paragraph for the test's output.
    pub(super) fn summary(&self, total: Duration) -> String {
        let l = &self.ledger;
        format!(
            "durabilité : {cycles} kill -9 en {total:.0} s ; {articles} articles et {forum} messages \
             du forum acquittés, {lost} perdus ; course : {attempts} tentatives, {won} réservations \
             acquittées, {cancelled} annulations, {held} tenues au kill, {double} créneau à deux \
             titulaires, {wrong} titulaires inattendus ; en vol : {in_flight} écritures \
             ({present} présentes), {slot_flight} réservations/annulations ({applied} appliquées)",
            cycles = self.cycles,
            total = total.as_secs_f64(),
            articles = l.count(Kind::Article),
            forum = self.forum(),
            lost = l.lost.len() + l.slots.lost_bookings.len(),
            attempts = l.race.attempts,
            won = l.race.won,
            cancelled = l.race.cancelled.len(),
            held = l.held_at_kills(),
            double = l.slots.double_holders.len(),
            wrong = l.slots.wrong_holders.len(),
            in_flight = l.in_flight_sent.iter().sum::<usize>(),
            present = l.in_flight_present.iter().sum::<usize>(),
            slot_flight = l.slots.in_flight,
            applied = l.slots.in_flight_applied,
        )
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn verdict(lost: &[String], what: &str) -> String {
    if lost.is_empty() {
        format!("**0 {what}**")
    } else {
        format!("**{} {}**: {lost:?}", lost.len(), what.to_uppercase())
    }
}

/// The whole RELIABILITY.md: its head, then one section per loop.
pub(super) fn reliability_markdown(
    report: &CrashReport,
    total: Duration,
    backups: &BackupReport,
    backups_total: Duration,
) -> String {
    format!(
        "# Reliability\n\n\
         Produced by `cargo xtask crash-loop --cycles {cycles}` (the test \
         `durability::crash_loop_report` of `tests/integration/durability.rs` and its modules, \
         test profile: dependencies optimised, the host's own code not). Machine: {machine}. The \
         normal test run (`cargo xtask test`, CI) runs the same loops with 5 cycles each \
         (`durability::kill_9_loses_no_acknowledged_write`, \
         `durability::kill_9_during_backup_leaves_it_whole_or_refused`).\n\n{sigkill}\n{backup}",
        cycles = report.cycles,
        machine = preau_tests::machine(),
        sigkill = sigkill_section(report, total),
        backup = backup_section(backups, backups_total),
    )
}

/// The section of the SIGKILL loop.
fn sigkill_section(report: &CrashReport, total: Duration) -> String {
    let l = &report.ledger;
    let mut restarts = report.restarts.clone();
    restarts.sort();
    let median = restarts
        .get(restarts.len() / 2)
        .copied()
        .unwrap_or_default();
    let max = restarts.last().copied().unwrap_or_default();
    let mut delays = report.kill_delays.clone();
    delays.sort();
    let of = |kind: Kind| kind.index();
    let lost_of = |prefix: &str| -> Vec<String> {
        l.lost
            .iter()
            .filter(|lost| lost.starts_with(prefix))
            .cloned()
            .collect()
    };
    let articles = l.count(Kind::Article);
    let subjects = l.count(Kind::ForumSubject);
    let replies = l.count(Kind::ForumReply);
    let forum = subjects + replies;
    let sent = |kinds: &[Kind]| {
        kinds
            .iter()
            .map(|k| l.in_flight_sent[of(*k)])
            .sum::<usize>()
    };
    let present = |kinds: &[Kind]| {
        kinds
            .iter()
            .map(|k| l.in_flight_present[of(*k)])
            .sum::<usize>()
    };
    let forum_kinds = [Kind::ForumSubject, Kind::ForumReply];
    let racers: Vec<&str> = RACERS.iter().map(|(login, _)| *login).collect();
    format!(
        "## Crash safety: SIGKILL during a mixed write workload\n\n\
         Each cycle starts the real host as a child process on the same sled database (the test \
         binary re-executed as a server, demo data), waits until `/healthz` answers, signs people \
         in, re-reads what earlier cycles were told is written, then runs three workloads at once \
         through HTTP until the parent kills the server with SIGKILL after a random delay \
         ({d_low}–{d_high} ms after the writes start; xorshift seed {seed}):\n\n\
         - **blog**: {blog_sessions} sessions of `{blog_writer}` create articles \
         (`POST /e/{PILAT}/blog/new`);\n\
         - **forum**: the pupil `{forum_writer}` opens a subject, replies in it {replies_per} \
         times, opens the next one;\n\
         - **reservation race**: {n_racers} teachers ({racers}) book the same slot (10 h – 11 h, \
         a day of its own each cycle) of « Salle Multi 1 » at once; the one whose booking is \
         acknowledged finds it in the day view, holds it 0–{hold} ms and cancels it, and the race \
         starts again (a loser retries after 0–{retry} ms).\n\n\
         Every write is flushed by the host before it answers; it counts as acknowledged when its \
         303 came back (a booking refused with 409 wrote nothing). After each restart the parent \
         re-reads every article and forum message acknowledged in the cycle just killed, plus \
         {sample} earlier ones of each kind drawn at random (after the last cycle, one more start \
         re-reads all of them), and reads the day view of every race's slot: at most one \
         reservation; the racer told it holds the slot (booked, no cancellation sent) holds it; \
         anyone else found there had a booking or a cancellation in flight at the kill; and the \
         slot is the same at every later restart.\n\n\
         | | |\n|---|---|\n\
         | kill -9 cycles | {cycles} |\n\
         | acknowledged writes | {all} ({articles} articles, {forum} forum messages, {won} bookings, {cancelled} cancellations) |\n\
         | acknowledged articles lost (missing, or another article at their URL) | {articles_verdict} |\n\
         | re-reads of acknowledged articles | {article_checks} |\n\
         | database failed to open | 0 (every start served `/healthz` and signed-in sessions) |\n\
         | writes refused by a running server | {refused} |\n\
         | articles in flight at the kill (sent, no answer) | {a_sent}: {a_present} there after the restart, {a_absent} not (both are correct) |\n\
         | time writing | {writing:.1} s ({rate:.0} acknowledged articles/s, {blog_sessions} writers, beside the forum and the race) |\n\
         | kill delay | median {kd_median}, max {kd_max} |\n\
         | first start (creates and seeds the database) | {first} |\n\
         | restart after kill -9 (spawn → `/healthz` answers), {restarts} restarts | median {r_median}, max {r_max} |\n\
         | database folder at the end | {disk:.1} MiB |\n\
         | whole run | {total:.0} s |\n\n\
         ### Forum and reservation race\n\n\
         | | |\n|---|---|\n\
         | acknowledged forum messages | {forum} ({subjects} new subjects, {replies} replies) |\n\
         | acknowledged forum messages lost | {forum_verdict} |\n\
         | re-reads of acknowledged forum messages | {forum_checks} |\n\
         | forum messages in flight at the kill | {f_sent}: {f_present} there after the restart, {f_absent} not (both are correct) |\n\
         | booking requests sent | {attempts}: {won} acknowledged, {taken} refused as taken (409), {busy} refused as too many at once (409), the rest in flight at a kill |\n\
         | acknowledged cancellations | {cancelled} |\n\
         | bookings held at the kill (acknowledged, not cancelled) | {held}: {held_verdict} |\n\
         | bookings or cancellations in flight at the kill | {s_sent}: {s_applied} took effect, {s_not} not (both are correct) |\n\
         | day views of raced slots read after restarts | {slot_checks} |\n\
         | slots with two holders (while running and after every restart) | {double_verdict} |\n\
         | slots held by someone who may not hold them, or changed between restarts | {wrong_verdict} |\n\n\
         What this proves: an acknowledged write has left the process (sled flushed it before the \
         host answered), so a crash of the process, at any moment, loses none, the conditional \
         write that keeps two people off one slot holds across crashes too, and the database it \
         leaves always opens. It does not simulate a power cut (that also needs the disk to honour \
         `fsync`).\n",
        cycles = report.cycles,
        blog_sessions = BLOG_SESSIONS,
        blog_writer = BLOG_WRITER,
        forum_writer = FORUM_WRITER,
        replies_per = FORUM_POSTS_PER_SUBJECT - 1,
        n_racers = RACERS.len(),
        hold = HOLD_MAX_MS,
        retry = RETRY_MAX_MS,
        racers = racers.join(", "),
        d_low = KILL_AFTER_MS.0,
        d_high = KILL_AFTER_MS.1,
        seed = report.seed,
        sample = SAMPLE_EARLIER,
        all = articles + forum + l.race.won + l.race.cancelled.len(),
        won = l.race.won,
        cancelled = l.race.cancelled.len(),
        articles_verdict = verdict(&lost_of(Kind::Article.label()), "lost"),
        article_checks = l.checks[of(Kind::Article)],
        refused = if l.refused.is_empty() {
            "0".to_string()
        } else {
            format!("**{}**: {:?}", l.refused.len(), l.refused)
        },
        a_sent = sent(&[Kind::Article]),
        a_present = present(&[Kind::Article]),
        a_absent = sent(&[Kind::Article]) - present(&[Kind::Article]),
        writing = report.writing.as_secs_f64(),
        rate = articles as f64 / report.writing.as_secs_f64().max(1e-9),
        kd_median = ms(delays.get(delays.len() / 2).copied().unwrap_or_default()),
        kd_max = ms(delays.last().copied().unwrap_or_default()),
        first = ms(report.first_start),
        restarts = report.restarts.len(),
        r_median = ms(median),
        r_max = ms(max),
        disk = report.disk_bytes as f64 / (1 << 20) as f64,
        total = total.as_secs_f64(),
        forum_verdict = verdict(
            &[
                lost_of(Kind::ForumSubject.label()),
                lost_of(Kind::ForumReply.label())
            ]
            .concat(),
            "lost"
        ),
        forum_checks = l.checks[of(Kind::ForumSubject)] + l.checks[of(Kind::ForumReply)],
        f_sent = sent(&forum_kinds),
        f_present = present(&forum_kinds),
        f_absent = sent(&forum_kinds) - present(&forum_kinds),
        attempts = l.race.attempts,
        taken = l.race.taken,
        busy = l.race.busy,
        held = l.held_at_kills(),
        held_verdict = if l.slots.lost_bookings.is_empty() {
            "each held by its holder after every restart".to_string()
        } else {
            verdict(&l.slots.lost_bookings, "lost")
        },
        s_sent = l.slots.in_flight,
        s_applied = l.slots.in_flight_applied,
        s_not = l.slots.in_flight - l.slots.in_flight_applied,
        slot_checks = l.slots.checks,
        double_verdict = verdict(&l.slots.double_holders, "found"),
        wrong_verdict = verdict(&l.slots.wrong_holders, "found"),
    )
}

/// Who a backup cycle killed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Victim {
    Server,
    /// The `preau backup` client (the server went on).
    Client,
}

/// Where a backup cycle's kill landed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Phase {
    /// The client had already finished: the kill missed the backup.
    ClientDone,
    /// The server died before the client reached it (the client then opens
    /// the folder itself).
    BeforeServer,
    /// The server had the request and no file yet (reading the store).
    Reading,
    /// The server was writing `FILE.partial`.
    Writing,
    /// `FILE` renamed, the client not told yet.
    Renamed,
    /// The client was killed while it waited.
    ClientKilled,
}

/// What a backup cycle left.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum Outcome {
    /// `FILE`: restored, `preau store check` 0, every write acknowledged
    /// before the backup began there.
    Complete,
    /// Neither `FILE` nor `FILE.partial`.
    Absent,
    /// `FILE.partial` only, refused by `preau restore` (nothing left in the target).
    PartialRefused,
    /// `FILE.partial` only but whole (killed after its last byte was written,
    /// during its sync or before its rename): restored like a complete one.
    PartialComplete,
    /// Anything else: the failure this loop looks for.
    SilentlyPartial(String),
}

/// One cycle of the backup loop.
pub(super) struct BackupCycle {
    pub victim: Victim,
    /// From the client's start to the kill.
    pub delay: Duration,
    /// The client had not finished when the kill came.
    pub landed: bool,
    pub phase: Phase,
    /// `preau backup`'s exit code (None: killed).
    pub client_code: Option<i32>,
    /// The client found no server and backed the folder up itself.
    pub offline: bool,
    pub outcome: Outcome,
}

/// What the backup loop saw.
#[derive(Default)]
pub(super) struct BackupReport {
    /// The original folder, as the SIGKILL loop counts it.
    pub crash: CrashReport,
    pub ballast_time: Duration,
    pub cycles_log: Vec<BackupCycle>,
    /// The complete backup of each cycle, under the workload (client start → exit).
    pub full_backups: Vec<Duration>,
    /// Sizes of the backup files written whole.
    pub file_bytes: Vec<u64>,
    /// `preau restore` of a whole file.
    pub restores: Vec<Duration>,
    /// Writes re-read on servers started on restored backups, and the missing ones.
    pub restored_checks: usize,
    pub restored_missing: Vec<String>,
    /// Raced slots read on restored backups, and the ones with two holders.
    pub restored_slots: usize,
    pub restored_double: Vec<String>,
    /// Second backups answered after a backup client was killed.
    pub second_backups: usize,
    /// A server that stopped answering (or backing up) after a client was killed.
    pub problems: Vec<String>,
}

/// The median and the maximum.
fn median(values: &[Duration]) -> (Duration, Duration) {
    let mut sorted = values.to_vec();
    sorted.sort();
    (
        sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
        sorted.last().copied().unwrap_or_default(),
    )
}

impl BackupReport {
    fn count(&self, victim: Option<Victim>, outcome: impl Fn(&Outcome) -> bool) -> usize {
        self.cycles_log
            .iter()
            .filter(|c| victim.is_none_or(|v| c.victim == v) && outcome(&c.outcome))
            .count()
    }

    fn phase(&self, phase: Phase) -> usize {
        self.cycles_log.iter().filter(|c| c.phase == phase).count()
    }

    fn landed(&self) -> usize {
        self.cycles_log.iter().filter(|c| c.landed).count()
    }

    fn silently_partial(&self) -> Vec<String> {
        self.cycles_log
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.outcome {
                Outcome::SilentlyPartial(why) => Some(format!("cycle {i} : {why}")),
                _ => None,
            })
            .collect()
    }

    pub(super) fn assert_sound(&self) {
        self.crash.assert_nothing_lost();
        let silent = self.silently_partial();
        assert!(silent.is_empty(), "silently partial backups: {silent:?}");
        assert!(
            self.restored_missing.is_empty(),
            "restored backups missing acknowledged writes: {:?}",
            self.restored_missing
        );
        assert!(
            self.restored_double.is_empty(),
            "restored backups with a slot held twice: {:?}",
            self.restored_double
        );
        assert!(self.problems.is_empty(), "{:?}", self.problems);
        assert!(self.landed() > 0, "no kill landed during a backup");
        if self.crash.cycles >= CLIENT_KILL_EVERY {
            for victim in [Victim::Server, Victim::Client] {
                assert!(
                    self.cycles_log.iter().any(|c| c.victim == victim),
                    "no {victim:?} killed"
                );
            }
        }
    }

    /// One paragraph for the test's output.
    pub(super) fn summary(&self, total: Duration) -> String {
        let l = &self.crash.ledger;
        format!(
            "sauvegardes : {cycles} kill -9 pendant « preau backup » en {total:.0} s, {landed} \
             avant la fin du client (serveur : {before} avant d'être joint, {reading} en lecture, \
             {writing} en écriture du .partial, {renamed} après le renommage ; client tué : \
             {client_killed}) ; complètes et valides {complete}, absentes {absent}, .partial \
             refusées {refused}, .partial complètes {partial_complete}, partielles en silence \
             {silent} ; {checks} relectures sur les restaurations, {missing} manquantes ; base \
             d'origine : {ack} écritures acquittées, {lost} perdues ; sauvegarde complète : \
             médiane {full:.0} ms",
            cycles = self.crash.cycles,
            total = total.as_secs_f64(),
            landed = self.landed(),
            before = self.phase(Phase::BeforeServer),
            reading = self.phase(Phase::Reading),
            writing = self.phase(Phase::Writing),
            renamed = self.phase(Phase::Renamed),
            client_killed = self.phase(Phase::ClientKilled),
            complete = self.count(None, |o| *o == Outcome::Complete),
            absent = self.count(None, |o| *o == Outcome::Absent),
            refused = self.count(None, |o| *o == Outcome::PartialRefused),
            partial_complete = self.count(None, |o| *o == Outcome::PartialComplete),
            silent = self.silently_partial().len(),
            checks = self.restored_checks,
            missing = self.restored_missing.len(),
            ack = l.acknowledged.len() + l.race.won + l.race.cancelled.len(),
            lost = l.lost.len() + l.slots.lost_bookings.len(),
            full = median(&self.full_backups).0.as_secs_f64() * 1e3,
        )
    }
}

/// The section of the backup loop.
fn backup_section(report: &BackupReport, total: Duration) -> String {
    let l = &report.crash.ledger;
    let row = |label: &str, outcome: &dyn Fn(&Outcome) -> bool| {
        format!(
            "| {label} | {} | {} | {} |\n",
            report.count(Some(Victim::Server), outcome),
            report.count(Some(Victim::Client), outcome),
            report.count(None, outcome),
        )
    };
    let told = report
        .cycles_log
        .iter()
        .filter(|c| c.outcome == Outcome::Complete && c.client_code == Some(0))
        .count();
    let silent = report.silently_partial();
    let before = report.phase(Phase::BeforeServer);
    let offline = report
        .cycles_log
        .iter()
        .filter(|c| c.phase == Phase::BeforeServer && c.offline)
        .count();
    let client_kills = report
        .cycles_log
        .iter()
        .filter(|c| c.victim == Victim::Client)
        .count();
    let (full_median, full_max) = median(&report.full_backups);
    let (restore_median, restore_max) = median(&report.restores);
    let (restart_median, restart_max) = median(&report.crash.restarts);
    let delays: Vec<Duration> = report.cycles_log.iter().map(|c| c.delay).collect();
    let (delay_median, delay_max) = median(&delays);
    let mut sizes = report.file_bytes.clone();
    sizes.sort();
    let size = sizes.get(sizes.len() / 2).copied().unwrap_or_default();
    let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    let lost: Vec<String> = l
        .lost
        .iter()
        .chain(&l.slots.lost_bookings)
        .cloned()
        .collect();
    let slots: Vec<String> = l
        .slots
        .double_holders
        .iter()
        .chain(&l.slots.wrong_holders)
        .cloned()
        .collect();
    format!(
        "## Backups: SIGKILL during `preau backup`\n\n\
         A second loop, on a database of its own (xorshift seed {seed}). Its first cycle writes \
         {ballast_n} articles of {ballast_kb} KB of text each ({ballast_s:.1} s), so that a \
         snapshot takes long enough for kills to land inside it. Each cycle starts the server on \
         the same folder, checks it as the loop above does, runs the same mixed workload, and \
         {warm_low}–{warm_high} ms after the writes start runs `preau backup --data … --to FILE` \
         as a child process: it asks the running server through its control socket, and the \
         server reads the store (writes wait meanwhile), writes `FILE.partial`, syncs it and \
         renames it `FILE`. A first backup runs to its end and is timed; the parent then starts \
         a second one and, between {w_low} and {w_high} % of the first one's duration after the \
         client started ({l_low}–{l_high} % one cycle in {late}, to aim at the file's sync and \
         rename), kills with SIGKILL the server — or, one cycle in {every}, the backup client (the server must then finish alone, still answer `/healthz` \
         and a second backup). Then:\n\n\
         - no `FILE`: a `FILE.partial` left behind must be refused by `preau restore`, with \
         nothing left in the target folder;\n\
         - a `FILE`: `preau restore` must accept it, `preau store check` must exit 0 on the \
         restored folder, and a server started on it must serve every article and forum message \
         acknowledged in the cycle before the backup started, plus {sample} earlier ones of each \
         kind drawn at random, with no raced slot held twice;\n\
         - a client that exits 0 must have written such a file;\n\
         - the server restarted on the original folder must open and keep every acknowledged \
         write (the checks of the loop above).\n\n\
         | What the kill left | server killed | client killed | all |\n|---|---|---|---|\n\
         {complete}\
         {absent}\
         {refused}\
         {partial_complete}\
         | **silently partial** (a `FILE` refused or missing a write, a `.partial` accepted but \
         incomplete, a client answering 0 without a valid file) | {silent_server} | \
         {silent_client} | {silent_verdict} |\n\n\
         Of the complete backups, {told} had been confirmed by `preau backup` (exit 0); the \
         others were finished by the server after the client had died, or renamed just before \
         the server died with the answer unsent (the client then exits with an error: the file \
         is whole all the same).\n\n\
         | When the kill came | cycles |\n|---|---|\n\
         | after the backup client had finished (missed) | {done} |\n\
         | server killed before the client reached it (the client then backs the folder up \
         itself: {offline} did) | {before} |\n\
         | server killed while reading the store (request received, no file yet) | {reading} |\n\
         | server killed while writing `FILE.partial` | {writing} |\n\
         | server killed after the rename, before the client had its answer | {renamed} |\n\
         | client killed while waiting (the server finished alone) | {client_killed} |\n\
         | **kills during a backup** (client not finished) | **{landed} of {cycles}** |\n\n\
         | | |\n|---|---|\n\
         | complete backup under the workload (client start → exit), one per cycle | median \
         {full_median}, max {full_max} |\n\
         | kill after the client started | median {delay_median}, max {delay_max} |\n\
         | backup file (gzip) | median {size:.1} MiB |\n\
         | `preau restore` of a complete file | median {restore_median}, max {restore_max} |\n\
         | writes re-read on servers started on restored backups | {restored_checks}, missing: \
         {restored_verdict} |\n\
         | raced slots read on restored backups | {restored_slots}, held twice: {double_verdict} |\n\
         | second backups after a client was killed | {seconds} of {client_kills}; problems: \
         {problems} |\n\
         | original folder: acknowledged writes | {ack} ({articles} articles with the {ballast_n} of \
         the first cycle, {forum} forum messages, {won} bookings, {cancelled} cancellations) |\n\
         | original folder: acknowledged writes lost after the restarts | {lost_verdict} |\n\
         | original folder: slots with two holders, or wrong holders | {slots_verdict} |\n\
         | original folder: restarts after kill -9 | {restarts}, median {restart_median}, max \
         {restart_max}; none refused |\n\
         | writes refused by a running server | {refused_writes} |\n\
         | whole run | {total:.0} s |\n\n\
         What this proves: a backup is written under a name of its own and renamed only once \
         whole and synced, so a crash of the server or of the client at any moment leaves under \
         the backup's name either a file that restores with every write acknowledged before it \
         began, or nothing; a `.partial` left behind is refused by its checksum unless the kill \
         came after its last byte, in which case it is whole and restores as such. Like the loop \
         above, it does not simulate a power cut.\n",
        seed = report.crash.seed,
        ballast_n = BALLAST.0,
        ballast_kb = BALLAST.1 / 1000,
        ballast_s = report.ballast_time.as_secs_f64(),
        warm_low = WARM_UP_MS.0,
        warm_high = WARM_UP_MS.1,
        w_low = KILL_WINDOW_PERCENT.0,
        w_high = KILL_WINDOW_PERCENT.1,
        l_low = LATE_WINDOW_PERCENT.0,
        l_high = LATE_WINDOW_PERCENT.1,
        late = LATE_EVERY,
        every = CLIENT_KILL_EVERY,
        sample = SAMPLE_EARLIER,
        complete = row(
            "complete and valid `FILE` (restored, `store check` 0, every write acknowledged \
             before it there)",
            &|o| *o == Outcome::Complete
        ),
        absent = row("no `FILE`, no `.partial`", &|o| *o == Outcome::Absent),
        refused = row(
            "no `FILE`; a `.partial`, refused by `preau restore`",
            &|o| *o == Outcome::PartialRefused
        ),
        partial_complete = row(
            "no `FILE`; a whole `.partial` (killed after its last byte was written, during its \
             sync or before its rename), restored like a complete one",
            &|o| *o == Outcome::PartialComplete
        ),
        silent_server = report.count(Some(Victim::Server), |o| matches!(
            o,
            Outcome::SilentlyPartial(_)
        )),
        silent_client = report.count(Some(Victim::Client), |o| matches!(
            o,
            Outcome::SilentlyPartial(_)
        )),
        silent_verdict = verdict(&silent, "silently partial"),
        told = told,
        done = report.phase(Phase::ClientDone),
        offline = offline,
        before = before,
        reading = report.phase(Phase::Reading),
        writing = report.phase(Phase::Writing),
        renamed = report.phase(Phase::Renamed),
        client_killed = report.phase(Phase::ClientKilled),
        landed = report.landed(),
        cycles = report.crash.cycles,
        full_median = ms(full_median),
        full_max = ms(full_max),
        size = mib(size),
        delay_median = ms(delay_median),
        delay_max = ms(delay_max),
        restore_median = ms(restore_median),
        restore_max = ms(restore_max),
        restored_checks = report.restored_checks,
        restored_verdict = verdict(&report.restored_missing, "missing"),
        restored_slots = report.restored_slots,
        double_verdict = verdict(&report.restored_double, "found"),
        seconds = report.second_backups,
        client_kills = client_kills,
        problems = verdict(&report.problems, "problems"),
        ack = l.acknowledged.len() + l.race.won + l.race.cancelled.len(),
        articles = l.count(Kind::Article),
        forum = l.count(Kind::ForumSubject) + l.count(Kind::ForumReply),
        won = l.race.won,
        cancelled = l.race.cancelled.len(),
        lost_verdict = verdict(&lost, "lost"),
        slots_verdict = verdict(&slots, "found"),
        restarts = report.crash.restarts.len(),
        restart_median = ms(restart_median),
        restart_max = ms(restart_max),
        refused_writes = if l.refused.is_empty() {
            "0".to_string()
        } else {
            format!("**{}**: {:?}", l.refused.len(), l.refused)
        },
        total = total.as_secs_f64(),
    )
}
