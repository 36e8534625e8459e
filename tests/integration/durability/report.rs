//! What a crash loop saw, the assertions on it, and RELIABILITY.md.

use std::time::Duration;

use preau_tests::PILAT;

use super::KILL_AFTER_MS;
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

fn verdict(lost: &[String], what: &str) -> String {
    if lost.is_empty() {
        format!("**0 {what}**")
    } else {
        format!("**{} {}**: {lost:?}", lost.len(), what.to_uppercase())
    }
}

/// The whole RELIABILITY.md: its head, then one section per loop.
pub(super) fn reliability_markdown(report: &CrashReport, total: Duration) -> String {
    format!(
        "# Reliability\n\n\
         Produced by `cargo xtask crash-loop --cycles {cycles}` (the test \
         `durability::crash_loop_report` of `tests/integration/durability.rs` and its modules, \
         test profile: dependencies optimised, the host's own code not). Machine: {machine}. The \
         normal test run (`cargo xtask test`, CI) runs the same loop with 5 cycles \
         (`durability::kill_9_loses_no_acknowledged_write`).\n\n{sigkill}",
        cycles = report.cycles,
        machine = machine(),
        sigkill = sigkill_section(report, total),
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
