//! Clock, audience and navigation rules of diffusions. Pure: unit-tested natively.

use preau_sdk::time::{self, Date, TimeZone};
use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400;

/// `JJ/MM/AAAA` of an `AAAA-MM-JJ` date (other text unchanged).
pub fn date_fr(text: &str) -> String {
    match Date::parse_iso(text) {
        Some(day) => day.french_numeric(),
        None => text.to_string(),
    }
}

/// `JJ/MM/AAAA HH:MM` in the establishment's time zone (CSV exports).
pub fn time_fr(ts: i64, zone: &TimeZone) -> String {
    let local = zone.local(ts);
    format!(
        "{} {}",
        local.date.french_numeric(),
        time::hh_mm(local.minutes.into())
    )
}

/// `JJ/MM/AAAA` of the UTC day of `ts` (anonymous answers keep only their day).
pub fn day_fr(ts: i64) -> String {
    Date::from_unix_utc(ts).french_numeric()
}

/// Where a diffusion stands in its opening period (both days included, in the
/// establishment's local time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    NotYet,
    Open,
    Closed,
}

/// Where `today` (the establishment's local day) stands between `from` and `to`.
pub fn period(today: Date, from: Option<&str>, to: Option<&str>) -> Period {
    if from.and_then(Date::parse_iso).is_some_and(|f| today < f) {
        Period::NotYet
    } else if to.and_then(Date::parse_iso).is_some_and(|t| today > t) {
        Period::Closed
    } else {
        Period::Open
    }
}

/// The moment before which answers are deleted: `months` calendar months before `now`
/// (the day clamped to the shorter month).
pub fn retention_cutoff(now: i64, months: u32) -> i64 {
    let months = i32::try_from(months).unwrap_or(i32::MAX);
    Date::from_unix_utc(now).add_months(-months).utc_midnight() + now.rem_euclid(DAY)
}

/// Whether an answer given at `answered_at` is past its lifetime at `now`.
pub fn expired(answered_at: i64, now: i64, months: u32) -> bool {
    answered_at < retention_cutoff(now, months)
}

/// How many of `times` (answer times in creation order, oldest first) are past
/// their lifetime: the leading run of expired ones (later answers are younger).
pub fn expired_prefix(times: &[i64], now: i64, months: u32) -> usize {
    times
        .iter()
        .take_while(|t| expired(**t, now, months))
        .count()
}

/// Whether the "already answered" markers of a diffusion closed on `closing`
/// (`AAAA-MM-JJ`) may go: its answers are all past their lifetime.
pub fn markers_expired(closing: Option<&str>, now: i64, months: u32) -> bool {
    closing
        .and_then(Date::parse_iso)
        .is_some_and(|day| day.add_days(1).utc_midnight() <= retention_cutoff(now, months))
}

/// Who may answer a diffusion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Audience {
    /// Everyone, anonymous visitors included.
    pub tous: bool,
    /// Chosen profiles (`eleve`…); with `groupes`, empty both = every signed-in person
    /// of the establishment.
    pub profils: Vec<String>,
    pub groupes: Vec<String>,
}

impl Audience {
    /// Whether a visitor (None: anonymous) with these profiles and groups belongs to it.
    pub fn includes(&self, visitor: Option<(&[String], &[String])>) -> bool {
        if self.tous {
            return true;
        }
        let Some((profiles, groups)) = visitor else {
            return false;
        };
        if self.profils.is_empty() && self.groupes.is_empty() {
            return true;
        }
        profiles.iter().any(|p| self.profils.contains(p))
            || groups.iter().any(|g| self.groupes.contains(g))
    }
}

/// The page to go back to after answering: only a page of the same establishment.
pub fn return_page(page: &str, uai: &str) -> Option<String> {
    let prefix = format!("/e/{uai}/");
    let ok = page.starts_with(&prefix)
        && page.len() <= 300
        && !page.contains("//")
        && !page.contains("..")
        && !page.contains('\\')
        && page
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.~%?=&#".contains(c));
    ok.then(|| page.to_string())
}

/// A service name as shown in the dashboard (`Blog`), from an embed's params.
pub fn service_name(service: &str) -> Option<String> {
    let s = service.trim();
    (!s.is_empty() && s.chars().count() <= 60 && !s.chars().any(char::is_control))
        .then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        Date::parse_iso(text).unwrap().utc_midnight()
    }

    #[test]
    fn french_dates_and_times() {
        assert_eq!(date_fr("2026-11-05"), "05/11/2026");
        assert_eq!(date_fr("2026-02-30"), "2026-02-30", "not a date: unchanged");
        let paris = TimeZone::paris();
        assert_eq!(
            time_fr(at("2026-11-28") + 23 * 3600 + 30 * 60, &paris),
            "29/11/2026 00:30"
        );
        assert_eq!(
            time_fr(at("2026-07-01") + 8 * 3600 + 5 * 60, &paris),
            "01/07/2026 10:05"
        );
        let cayenne = TimeZone::named("America/Cayenne").unwrap();
        assert_eq!(
            time_fr(at("2026-07-01") + 2 * 3600, &cayenne),
            "30/06/2026 23:00"
        );
        assert_eq!(day_fr(at("2026-11-28") + 23 * 3600 + 30 * 60), "28/11/2026");
    }

    #[test]
    fn opening_period_includes_both_days() {
        let day = Date::parse_iso("2026-03-10").unwrap();
        assert_eq!(
            period(day, Some("2026-03-10"), Some("2026-03-10")),
            Period::Open
        );
        assert_eq!(period(day, Some("2026-03-11"), None), Period::NotYet);
        assert_eq!(period(day, None, Some("2026-03-09")), Period::Closed);
        assert_eq!(period(day, None, None), Period::Open);
        // 23:30 UTC on the 9th is already the 10th in Paris (not yet in Cayenne).
        let late = at("2026-03-09") + 23 * 3600 + 1800;
        let today = TimeZone::paris().local(late).date;
        assert_eq!(period(today, Some("2026-03-10"), None), Period::Open);
        let today = TimeZone::named("America/Cayenne").unwrap().local(late).date;
        assert_eq!(period(today, Some("2026-03-10"), None), Period::NotYet);
    }

    #[test]
    fn retention_counts_calendar_months() {
        assert_eq!(retention_cutoff(at("2026-05-31"), 3), at("2026-02-28"));
        assert_eq!(retention_cutoff(at("2026-01-15"), 12), at("2025-01-15"));
        assert_eq!(retention_cutoff(at("2026-02-10"), 6), at("2025-08-10"));
        assert!(expired(at("2025-08-09"), at("2026-02-10"), 6));
        assert!(!expired(at("2025-08-10"), at("2026-02-10"), 6));
        assert!(!expired(at("2026-02-09"), at("2026-02-10"), 3));
    }

    #[test]
    fn retention_deletes_the_oldest_run_and_markers_after_closing() {
        let now = at("2026-11-28");
        let times = [
            at("2026-01-01"),
            at("2026-08-27"),
            at("2026-08-29"),
            at("2026-01-01"),
        ];
        assert_eq!(expired_prefix(&times, now, 3), 2);
        assert_eq!(expired_prefix(&times, now, 12), 0);
        assert_eq!(expired_prefix(&[], now, 3), 0);
        assert!(markers_expired(Some("2026-08-27"), now, 3));
        assert!(!markers_expired(Some("2026-08-28"), now, 3));
        assert!(
            !markers_expired(None, now, 3),
            "an open-ended diffusion keeps them"
        );
    }

    #[test]
    fn audience_rules() {
        let pupil = (vec!["eleve".to_string()], vec!["g-6a".to_string()]);
        let who = Some((pupil.0.as_slice(), pupil.1.as_slice()));
        let all = Audience {
            tous: true,
            ..Default::default()
        };
        assert!(all.includes(None) && all.includes(who));
        let signed_in = Audience::default();
        assert!(!signed_in.includes(None) && signed_in.includes(who));
        let teachers = Audience {
            profils: vec!["enseignant".into()],
            ..Default::default()
        };
        assert!(!teachers.includes(who));
        let sixth = Audience {
            profils: vec!["parent".into()],
            groupes: vec!["g-6a".into()],
            tous: false,
        };
        assert!(sixth.includes(who));
    }

    #[test]
    fn only_pages_of_the_same_establishment_are_return_pages() {
        assert_eq!(
            return_page("/e/0420003A/blog/0000000000000007", "0420003A").as_deref(),
            Some("/e/0420003A/blog/0000000000000007")
        );
        assert!(return_page("/e/0420013L/blog/1", "0420003A").is_none());
        assert!(return_page("https://evil.example/e/0420003A/", "0420003A").is_none());
        assert!(return_page("//evil.example/e/0420003A/", "0420003A").is_none());
        assert!(return_page("/e/0420003A/../../x", "0420003A").is_none());
        assert!(return_page("/e/0420003A/\"><script>", "0420003A").is_none());
    }
}
