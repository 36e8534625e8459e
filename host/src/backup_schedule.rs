//! The region's scheduled backups: once a day at the hour its administrators
//! chose (Europe/Paris time), a snapshot ([`crate::store::snapshot`]) is
//! written into the operator's backup folder ([`Config::backups_folder`]) as
//! `preau-AAAA-MM-JJ-HHMM.preau.gz`, then old ones are pruned by the retention
//! rule ([`retention`]: « garder 7 quotidiennes, 4 hebdomadaires »).
//!
//! The folder is the operator's choice (`backup_dir`), never the web's: a
//! region administrator chooses when and how many, not where. The pruner
//! looks only at names: a file whose name is not exactly the pattern (a
//! cron's `preau-2026-03-10.preau.gz`, a `.partial`, anything else) is never
//! deleted, nor is the file just written.
//!
//! The schedule and the last run's result are region settings
//! ([`SCHEDULE_SETTING`], [`STATE_SETTING`]); the scheduler is a tokio task
//! checking every minute ([`start_backup_scheduler`]), separate from the
//! plugins' `tick`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use preau_text::Date;
use preau_text::zone::{LocalTime, TimeZone};
use serde::{Deserialize, Serialize};

use crate::{App, Config};

/// Region setting holding the [`Schedule`].
pub const SCHEDULE_SETTING: &str = "backups";
/// Region setting holding the [`State`] (last run, day of the last scheduled backup).
pub const STATE_SETTING: &str = "backups-state";
/// Name of the default backup folder, beside the data folder.
pub const DEFAULT_FOLDER: &str = "sauvegardes";
/// Most daily backups that can be kept.
pub const MAX_DAILY: u32 = 366;
/// Most weekly backups that can be kept.
pub const MAX_WEEKLY: u32 = 260;
/// A failed scheduled backup is tried again after this long (not every minute).
pub const RETRY_AFTER_SECS: i64 = 3600;
/// How often the scheduler looks at the clock.
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Backups are taken one at a time in the process (scheduled and manual).
static RUNNING: Mutex<()> = Mutex::new(());

impl Config {
    /// Where scheduled backups go: `backup_dir`, else `sauvegardes` beside the
    /// data folder (`data/sauvegardes` for `data/db`).
    pub fn backups_folder(&self) -> PathBuf {
        match &self.backup_dir {
            Some(dir) => dir.clone(),
            None => self
                .data_dir
                .parent()
                .unwrap_or(&self.data_dir)
                .join(DEFAULT_FOLDER),
        }
    }
}

/// What region administrators set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedule {
    /// Take a backup every day.
    pub enabled: bool,
    /// Local hour (Europe/Paris), 0–23, from which the day's backup is taken.
    pub hour: u8,
    /// Daily backups kept (the newest of each of the most recent days).
    pub daily: u32,
    /// Weekly backups kept beyond those (the newest of each older ISO week).
    pub weekly: u32,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            enabled: false,
            hour: 2,
            daily: 7,
            weekly: 4,
        }
    }
}

/// A field of the schedule form in error: (field name, French message).
pub type FieldError = (&'static str, String);

impl Schedule {
    /// The schedule typed in the form (`enabled` checked or not, the three
    /// numbers as typed), or an error per field.
    pub fn from_form(
        enabled: bool,
        hour: &str,
        daily: &str,
        weekly: &str,
    ) -> Result<Schedule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = |text: &str, min: u32, max: u32| -> Result<u32, ()> {
            match text.trim().parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(()),
            }
        };
        let hour = match hour.trim() {
            "" => {
                errors.push(("hour", "Choisissez l'heure de la sauvegarde.".to_string()));
                0
            }
            typed => number(typed, 0, 23).unwrap_or_else(|()| {
                errors.push((
                    "hour",
                    format!("« {typed} » n'est pas une heure : choisissez une heure de 0 à 23."),
                ));
                0
            }),
        };
        let mut count = |field: &'static str, text: &str, min: u32, max: u32, what: &str| {
            number(text, min, max).unwrap_or_else(|()| {
                let typed = text.trim();
                let message = if typed.is_empty() {
                    format!("Indiquez le nombre de sauvegardes {what} à garder ({min} à {max}).")
                } else {
                    format!(
                        "« {typed} » ne convient pas : indiquez un nombre entier de {min} à {max} \
                         sauvegardes {what}."
                    )
                };
                errors.push((field, message));
                0
            })
        };
        let daily = count("daily", daily, 1, MAX_DAILY, "quotidiennes");
        let weekly = count("weekly", weekly, 0, MAX_WEEKLY, "hebdomadaires");
        if errors.is_empty() {
            Ok(Schedule {
                enabled,
                hour: hour as u8,
                daily,
                weekly,
            })
        } else {
            Err(errors)
        }
    }
}

/// What the scheduler remembers, and what the page shows.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Local day of the last successful scheduled backup.
    pub scheduled_day: Option<Date>,
    /// When the last scheduled attempt failed (Unix seconds), if it did.
    pub failed_at: Option<i64>,
    /// The last run, scheduled or manual.
    pub last: Option<Run>,
}

/// One backup run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    /// When it started (Unix seconds).
    pub at: i64,
    /// Started by the schedule (else by an administrator).
    pub scheduled: bool,
    /// The file's name in the backup folder.
    pub file: String,
    /// What happened.
    pub outcome: Outcome,
}

/// The result of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Outcome {
    /// The snapshot was written (and old ones pruned).
    Written {
        entries: u64,
        file_bytes: u64,
        sha256: String,
        /// Old backups deleted by the retention rule.
        deleted: Vec<String>,
        /// Why pruning stopped, if it did (the backup itself is good).
        prune_error: Option<String>,
    },
    /// Nothing usable was written.
    Failed { error: String },
}

impl Run {
    /// Whether the backup was written.
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Written { .. })
    }
}

/// `preau-AAAA-MM-JJ-HHMM.preau.gz` of a local time.
pub fn backup_name(local: LocalTime) -> String {
    format!(
        "preau-{}-{:02}{:02}.preau.gz",
        local.date.iso(),
        local.minutes / 60,
        local.minutes % 60
    )
}

/// The local time in a name written by [`backup_name`]; `None` for any
/// other name (those files are never pruned).
pub fn parse_name(name: &str) -> Option<LocalTime> {
    let stem = name.strip_prefix("preau-")?.strip_suffix(".preau.gz")?;
    // AAAA-MM-JJ-HHMM
    if stem.len() != 15 || stem.as_bytes()[10] != b'-' {
        return None;
    }
    let date = Date::parse_iso(&stem[..10])?;
    let clock = &stem[11..];
    if !clock.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: u16 = clock[..2].parse().ok()?;
    let minutes: u16 = clock[2..].parse().ok()?;
    (hours < 24 && minutes < 60).then_some(LocalTime {
        date,
        minutes: hours * 60 + minutes,
    })
}

/// What the retention rule does with one backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// The newest backup of one of the `daily` most recent days.
    Daily,
    /// Older than those days: the newest backup of one of the `weekly` most
    /// recent ISO weeks (Monday to Sunday, across years).
    Weekly,
    /// Deleted at the next run.
    Delete,
}

/// The retention rule over backups taken at `stamps` (any order): keep the
/// newest backup of each of the `daily` most recent days that have one (days
/// without a backup do not count), then, among the older days, the newest
/// backup of each of the `weekly` most recent ISO weeks that have one. Other
/// backups of a kept day are deleted. The answer is in the order of `stamps`.
pub fn retention(stamps: &[LocalTime], daily: usize, weekly: usize) -> Vec<Fate> {
    let mut order: Vec<usize> = (0..stamps.len()).collect();
    order.sort_by(|&a, &b| stamps[b].cmp(&stamps[a]));
    let mut fates = vec![Fate::Delete; stamps.len()];
    let (mut day, mut days) = (None, 0usize);
    let (mut week, mut weeks) = (None, 0usize);
    for i in order {
        let date = stamps[i].date;
        let first_of_day = day != Some(date);
        if first_of_day {
            day = Some(date);
            days += 1;
        }
        if days <= daily {
            if first_of_day {
                fates[i] = Fate::Daily;
            }
            continue;
        }
        let monday = date.monday();
        if week != Some(monday) {
            week = Some(monday);
            weeks += 1;
            if weeks <= weekly {
                fates[i] = Fate::Weekly;
            }
        }
    }
    fates
}

/// Whether the day's scheduled backup should be taken at `now`: enabled, the
/// local hour reached, not yet taken today, and no failure in the last hour.
pub fn due(schedule: &Schedule, state: &State, now: i64, zone: &TimeZone) -> bool {
    if !schedule.enabled {
        return false;
    }
    let local = zone.local(now);
    if u32::from(local.minutes) < u32::from(schedule.hour) * 60 {
        return false;
    }
    if state.scheduled_day.is_some_and(|day| day >= local.date) {
        return false;
    }
    !state
        .failed_at
        .is_some_and(|failed| (0..RETRY_AFTER_SECS).contains(&(now - failed)))
}

/// A `.preau.gz` file of the backup folder.
#[derive(Clone, Debug)]
pub struct BackupFile {
    /// File name.
    pub name: String,
    /// When it was taken, read from its name; `None` for a name outside the
    /// pattern (never pruned).
    pub stamp: Option<LocalTime>,
    /// Size in bytes.
    pub bytes: u64,
    /// Last modification (Unix seconds).
    pub modified: Option<i64>,
}

/// The `.preau.gz` files of `dir`, newest first (by name-given time, then by
/// modification time for other names); empty if the folder does not exist.
pub fn list(dir: &Path) -> Result<Vec<BackupFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("lecture du dossier {}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("lecture du dossier {}", dir.display()))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !name.ends_with(".preau.gz") {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        files.push(BackupFile {
            stamp: parse_name(&name),
            name,
            bytes: meta.len(),
            modified: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64),
        });
    }
    files.sort_by(|a, b| (b.stamp, b.modified, &b.name).cmp(&(a.stamp, a.modified, &a.name)));
    Ok(files)
}

/// The fate of each of `files` under `schedule` (`None` for names outside the pattern).
pub fn fates(files: &[BackupFile], schedule: &Schedule) -> Vec<Option<Fate>> {
    let stamps: Vec<LocalTime> = files.iter().filter_map(|f| f.stamp).collect();
    let mut decided =
        retention(&stamps, schedule.daily as usize, schedule.weekly as usize).into_iter();
    files
        .iter()
        .map(|f| f.stamp.and_then(|_| decided.next()))
        .collect()
}

/// Deletes from `dir` the backups the retention rule drops, never `keep` (the
/// file just written) nor a file whose name is outside the pattern. Returns
/// the deleted names.
pub fn prune(dir: &Path, schedule: &Schedule, keep: &str) -> Result<Vec<String>> {
    let files = list(dir)?;
    let mut deleted = Vec::new();
    for (file, fate) in files.iter().zip(fates(&files, schedule)) {
        if fate != Some(Fate::Delete) || file.name == keep {
            continue;
        }
        let path = dir.join(&file.name);
        std::fs::remove_file(&path)
            .with_context(|| format!("suppression de {}", path.display()))?;
        deleted.push(file.name.clone());
    }
    Ok(deleted)
}

/// The region's schedule (defaults if never saved).
pub fn schedule(app: &App) -> Result<Schedule> {
    Ok(app
        .directory
        .region_setting(SCHEDULE_SETTING)?
        .unwrap_or_default())
}

/// What the scheduler remembers.
pub fn state(app: &App) -> Result<State> {
    Ok(app
        .directory
        .region_setting(STATE_SETTING)?
        .unwrap_or_default())
}

/// Creates the backup folder if needed, readable by Préau's account only
/// (backups hold personal data and password hashes).
fn create_folder(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("création du dossier de sauvegarde {}", dir.display()))
}

/// Takes a backup now into the backup folder, prunes, and records the run
/// (and, when `scheduled`, the day's backup as taken or failed). One run at a
/// time in the process; the work is done on a blocking thread.
pub async fn run(app: &Arc<App>, scheduled: bool) -> Run {
    let app = app.clone();
    let worker = tokio::task::spawn_blocking(move || run_blocking(&app, scheduled));
    match worker.await {
        Ok(run) => run,
        Err(e) => Run {
            at: preau_text::zone::now(),
            scheduled,
            file: String::new(),
            outcome: Outcome::Failed {
                error: format!("la sauvegarde s'est interrompue : {e}"),
            },
        },
    }
}

fn run_blocking(app: &App, scheduled: bool) -> Run {
    let _one_at_a_time = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let at = preau_text::zone::now();
    let zone = TimeZone::paris();
    let file = backup_name(zone.local(at));
    let dir = app.config.backups_folder();
    let outcome = match write(app, &dir, &file) {
        Ok(summary) => {
            let schedule = schedule(app).unwrap_or_default();
            let (deleted, prune_error) = match prune(&dir, &schedule, &file) {
                Ok(deleted) => (deleted, None),
                Err(e) => {
                    tracing::error!("sauvegardes : nettoyage de {} : {e:#}", dir.display());
                    (Vec::new(), Some(format!("{e:#}")))
                }
            };
            tracing::info!(
                "sauvegarde {} écrite : {} ({} entrées, {} octets){}",
                if scheduled { "programmée" } else { "manuelle" },
                dir.join(&file).display(),
                summary.entries(),
                summary.file_bytes,
                if deleted.is_empty() {
                    String::new()
                } else {
                    format!(", supprimées : {}", deleted.join(", "))
                }
            );
            Outcome::Written {
                entries: summary.entries(),
                file_bytes: summary.file_bytes,
                sha256: summary.sha256,
                deleted,
                prune_error,
            }
        }
        Err(e) => {
            tracing::error!(
                "sauvegarde {} de {} : {e:#}",
                if scheduled { "programmée" } else { "manuelle" },
                dir.join(&file).display()
            );
            Outcome::Failed {
                error: format!("{e:#}"),
            }
        }
    };
    let run = Run {
        at,
        scheduled,
        file,
        outcome,
    };
    let mut state = state(app).unwrap_or_default();
    if scheduled {
        if run.ok() {
            state.scheduled_day = Some(zone.date(at));
            state.failed_at = None;
        } else {
            state.failed_at = Some(at);
        }
    }
    state.last = Some(run.clone());
    if let Err(e) = app.directory.put_region_setting(STATE_SETTING, &state) {
        tracing::error!("sauvegardes : résultat non enregistré : {e:#}");
    }
    run
}

fn write(app: &App, dir: &Path, file: &str) -> Result<crate::store::snapshot::Summary> {
    create_folder(dir)?;
    let path = dir.join(file);
    let summary = app.directory.store().backup(&path)?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    Ok(summary)
}

/// Every minute, takes the day's backup when it is [`due`]. Ends when the app
/// is dropped (it holds only a weak reference between checks).
pub fn start_backup_scheduler(app: &Arc<App>) {
    let weak = Arc::downgrade(app);
    tokio::spawn(async move {
        let mut timer =
            tokio::time::interval_at(tokio::time::Instant::now() + CHECK_EVERY, CHECK_EVERY);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let zone = TimeZone::paris();
        loop {
            timer.tick().await;
            let Some(app) = weak.upgrade() else {
                return;
            };
            let (schedule, state) = match (schedule(&app), state(&app)) {
                (Ok(schedule), Ok(state)) => (schedule, state),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!("sauvegardes programmées : réglages illisibles : {e:#}");
                    continue;
                }
            };
            if due(&schedule, &state, preau_text::zone::now(), &zone) {
                // Counted as background work: a stop waits for a backup under
                // way, and none starts once stopping.
                let Some(_running) = app.shutdown.background().await else {
                    return;
                };
                run(&app, true).await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> LocalTime {
        // « AAAA-MM-JJ HH:MM »
        let date = Date::parse_iso(&text[..10]).unwrap();
        let h: u16 = text[11..13].parse().unwrap();
        let m: u16 = text[14..16].parse().unwrap();
        LocalTime {
            date,
            minutes: h * 60 + m,
        }
    }

    fn kept(stamps: &[&str], daily: usize, weekly: usize) -> Vec<(String, Fate)> {
        let times: Vec<LocalTime> = stamps.iter().map(|s| at(s)).collect();
        stamps
            .iter()
            .zip(retention(&times, daily, weekly))
            .filter(|(_, fate)| *fate != Fate::Delete)
            .map(|(s, fate)| (s.to_string(), fate))
            .collect()
    }

    #[test]
    fn names_round_trip_and_other_names_are_not_ours() {
        let t = at("2026-03-09 02:05");
        assert_eq!(backup_name(t), "preau-2026-03-09-0205.preau.gz");
        assert_eq!(parse_name("preau-2026-03-09-0205.preau.gz"), Some(t));
        assert_eq!(
            parse_name("preau-2026-12-31-2359.preau.gz"),
            Some(at("2026-12-31 23:59"))
        );
        for other in [
            "preau-2026-03-09.preau.gz",
            "preau-2026-03-09-0205.preau.gz.partial",
            "preau-2026-02-30-0200.preau.gz",
            "preau-2026-03-09-2400.preau.gz",
            "preau-2026-03-09-0260.preau.gz",
            "preau-2026-03-09-02a5.preau.gz",
            "preau-2026-03-09-+205.preau.gz",
            "preau-2026-03-09-02055.preau.gz",
            "xpreau-2026-03-09-0205.preau.gz",
            "preau-2026-03-09-0205.tar.gz",
            "notes.txt",
            "",
        ] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    #[test]
    fn the_newest_of_each_recent_day_then_of_each_older_week() {
        // Every day of March 2026 at 02:00 (2026-03-02 is a Monday).
        let stamps: Vec<String> = (1..=31).map(|d| format!("2026-03-{d:02} 02:00")).collect();
        let refs: Vec<&str> = stamps.iter().map(String::as_str).collect();
        let kept = kept(&refs, 7, 4);
        let daily: Vec<&str> = kept
            .iter()
            .filter(|(_, f)| *f == Fate::Daily)
            .map(|(s, _)| &s[..10])
            .collect();
        assert_eq!(
            daily,
            [
                "2026-03-25",
                "2026-03-26",
                "2026-03-27",
                "2026-03-28",
                "2026-03-29",
                "2026-03-30",
                "2026-03-31"
            ]
        );
        let weekly: Vec<&str> = kept
            .iter()
            .filter(|(_, f)| *f == Fate::Weekly)
            .map(|(s, _)| &s[..10])
            .collect();
        // Older days: the newest of the weeks of 23 March (its Tuesday 24th),
        // 16, 9 and 2 March; 1 March (week of 23 February) goes.
        assert_eq!(
            weekly,
            ["2026-03-08", "2026-03-15", "2026-03-22", "2026-03-24"]
        );
    }

    #[test]
    fn several_backups_a_day_keep_only_the_newest_of_the_day() {
        let kept = kept(
            &[
                "2026-03-10 02:00",
                "2026-03-10 14:30",
                "2026-03-10 09:15",
                "2026-03-09 02:00",
                "2026-03-09 18:00",
            ],
            2,
            0,
        );
        assert_eq!(
            kept,
            [
                ("2026-03-10 14:30".to_string(), Fate::Daily),
                ("2026-03-09 18:00".to_string(), Fate::Daily),
            ]
        );
    }

    #[test]
    fn days_without_a_backup_do_not_count() {
        // A server stopped for the holidays: the 3 most recent days that have
        // a backup are kept, however far apart.
        let kept = kept(
            &[
                "2026-02-20 02:00",
                "2026-02-21 02:00",
                "2026-03-09 02:00",
                "2026-03-10 02:00",
            ],
            3,
            0,
        );
        let days: Vec<&str> = kept.iter().map(|(s, _)| &s[..10]).collect();
        assert_eq!(days, ["2026-02-21", "2026-03-09", "2026-03-10"]);
    }

    #[test]
    fn weeks_run_monday_to_sunday_across_the_new_year() {
        // 2026-12-28 (Monday) … 2027-01-03 (Sunday) is ISO week 53 of 2026: one
        // weekly backup for it, the newest (3 January); 2026-12-27 (Sunday) is
        // the previous week.
        let kept = kept(
            &[
                "2027-01-10 02:00",
                "2027-01-03 02:00",
                "2027-01-01 02:00",
                "2026-12-31 02:00",
                "2026-12-28 02:00",
                "2026-12-27 02:00",
                "2026-12-21 02:00",
            ],
            1,
            2,
        );
        assert_eq!(
            kept,
            [
                ("2027-01-10 02:00".to_string(), Fate::Daily),
                ("2027-01-03 02:00".to_string(), Fate::Weekly),
                ("2026-12-27 02:00".to_string(), Fate::Weekly),
            ]
        );
        // 2024-12-30 (Monday) is in ISO week 1 of 2025, with 2025-01-05.
        let kept = kept_weeks(&["2025-01-05 02:00", "2024-12-30 02:00", "2024-12-29 02:00"]);
        assert_eq!(kept, ["2025-01-05", "2024-12-29"]);
    }

    fn kept_weeks(stamps: &[&str]) -> Vec<String> {
        kept(stamps, 0, 10)
            .into_iter()
            .map(|(s, _)| s[..10].to_string())
            .collect()
    }

    #[test]
    fn nothing_or_little_to_prune() {
        assert!(retention(&[], 7, 4).is_empty());
        let one = [at("2026-03-10 02:00")];
        assert_eq!(retention(&one, 7, 4), [Fate::Daily]);
        assert_eq!(retention(&one, 0, 0), [Fate::Delete]);
    }

    #[test]
    fn the_form_is_checked_field_by_field() {
        assert_eq!(
            Schedule::from_form(true, "3", "7", "4"),
            Ok(Schedule {
                enabled: true,
                hour: 3,
                daily: 7,
                weekly: 4
            })
        );
        assert_eq!(
            Schedule::from_form(false, " 0 ", "1", "0").map(|s| (s.hour, s.daily, s.weekly)),
            Ok((0, 1, 0))
        );
        let errors = Schedule::from_form(true, "24", "0", "-1").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["hour", "daily", "weekly"]);
        assert!(errors[0].1.contains("« 24 »") && errors[0].1.contains("de 0 à 23"));
        assert!(errors[1].1.contains("de 1 à 366"), "{}", errors[1].1);
        let errors = Schedule::from_form(true, "", "", "deux").unwrap_err();
        assert_eq!(errors[0].1, "Choisissez l'heure de la sauvegarde.");
        assert!(errors[1].1.starts_with("Indiquez le nombre"));
        assert!(errors[2].1.contains("« deux »"));
    }

    #[test]
    fn due_once_a_day_from_the_hour_in_paris_time() {
        let paris = TimeZone::paris();
        let schedule = Schedule {
            enabled: true,
            hour: 2,
            ..Schedule::default()
        };
        let day = Date::parse_iso("2026-07-14").unwrap();
        let at = |minutes: u32| paris.unix(day, minutes);
        let fresh = State::default();
        assert!(!due(&schedule, &fresh, at(60 + 59), &paris), "01:59");
        assert!(due(&schedule, &fresh, at(120), &paris), "02:00");
        assert!(
            due(&schedule, &fresh, at(23 * 60), &paris),
            "late, caught up"
        );
        let disabled = Schedule {
            enabled: false,
            ..schedule.clone()
        };
        assert!(!due(&disabled, &fresh, at(120), &paris));
        let taken = State {
            scheduled_day: Some(day),
            ..State::default()
        };
        assert!(!due(&schedule, &taken, at(180), &paris), "already taken");
        assert!(
            due(&schedule, &taken, paris.unix(day.add_days(1), 125), &paris),
            "the next day"
        );
        let failed = State {
            failed_at: Some(at(120)),
            ..State::default()
        };
        assert!(
            !due(&schedule, &failed, at(150), &paris),
            "no retry at once"
        );
        assert!(due(&schedule, &failed, at(181), &paris), "an hour later");
        // In Paris time: 02:00 in Paris is 00:00 UTC in summer.
        assert_eq!(paris.local(at(120)).minutes, 120);
    }

    #[test]
    fn the_default_folder_is_beside_the_data_folder() {
        let mut config = Config::for_checkout(Path::new("/depot"));
        assert_eq!(
            config.backups_folder(),
            Path::new("/depot/data/sauvegardes")
        );
        config.data_dir = PathBuf::from("/var/lib/preau/db");
        assert_eq!(
            config.backups_folder(),
            Path::new("/var/lib/preau/sauvegardes")
        );
        config.backup_dir = Some(PathBuf::from("/srv/sauvegardes"));
        assert_eq!(config.backups_folder(), Path::new("/srv/sauvegardes"));
    }

    #[test]
    fn pruning_looks_only_at_names_and_spares_the_new_file() {
        let dir = std::env::temp_dir().join(format!("preau-rotation-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let names = [
            "preau-2026-03-10-0200.preau.gz",
            "preau-2026-03-10-0100.preau.gz",
            "preau-2026-03-09-0200.preau.gz",
            "preau-2026-03-08-0200.preau.gz",
            "preau-2026-03-01-0200.preau.gz",
            "preau-2026-02-01-0200.preau.gz",
            "preau-2026-03-05.preau.gz",
            "notes.txt",
            "preau-2026-01-01-0200.preau.gz.partial",
            // The file "just written", older by name (a clock set back).
            "preau-2025-01-01-0200.preau.gz",
        ];
        for name in names {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let schedule = Schedule {
            daily: 2,
            weekly: 1,
            ..Schedule::default()
        };
        let mut deleted = prune(&dir, &schedule, "preau-2025-01-01-0200.preau.gz").unwrap();
        deleted.sort();
        assert_eq!(
            deleted,
            [
                "preau-2026-02-01-0200.preau.gz",
                "preau-2026-03-01-0200.preau.gz",
                "preau-2026-03-10-0100.preau.gz",
            ]
        );
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "notes.txt",
                "preau-2025-01-01-0200.preau.gz",
                "preau-2026-01-01-0200.preau.gz.partial",
                "preau-2026-03-05.preau.gz",
                "preau-2026-03-08-0200.preau.gz",
                "preau-2026-03-09-0200.preau.gz",
                "preau-2026-03-10-0200.preau.gz",
            ]
        );
        assert!(list(&dir.join("absent")).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
