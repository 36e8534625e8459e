//! Clock, audience and navigation rules of diffusions. Pure: unit-tested natively.

use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `AAAA-MM-JJ` → day number, if it is a real date.
pub fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = text[0..4].parse().ok()?;
    let m: u32 = text[5..7].parse().ok()?;
    let d: u32 = text[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `JJ/MM/AAAA` of an `AAAA-MM-JJ` date.
pub fn date_fr(text: &str) -> String {
    match parse_date(text) {
        Some(day) => {
            let (y, m, d) = civil_from_days(day);
            format!("{d:02}/{m:02}/{y}")
        }
        None => text.to_string(),
    }
}

fn last_sunday(year: i64, month: u32) -> i64 {
    let last = days_from_civil(year, month, days_in_month(year, month));
    // 1970-01-01 was a Thursday: day 3 (Sunday) is `(d + 4) % 7 == 0`.
    last - (last + 4).rem_euclid(7)
}

/// Offset of Paris time from UTC at `ts` (summer time from the last Sunday of March
/// to the last Sunday of October, at 01:00 UTC), as the host's `datefr`.
pub fn paris_offset(ts: i64) -> i64 {
    let (year, _, _) = civil_from_days(ts.div_euclid(DAY));
    let start = last_sunday(year, 3) * DAY + 3600;
    let end = last_sunday(year, 10) * DAY + 3600;
    if ts >= start && ts < end { 7200 } else { 3600 }
}

/// `JJ/MM/AAAA HH:MM`, Paris time (CSV exports).
pub fn time_fr(ts: i64) -> String {
    let local = ts + paris_offset(ts);
    let (y, m, d) = civil_from_days(local.div_euclid(DAY));
    let s = local.rem_euclid(DAY);
    format!("{d:02}/{m:02}/{y} {:02}:{:02}", s / 3600, (s % 3600) / 60)
}

/// `JJ/MM/AAAA` of the UTC day of `ts` (anonymous answers keep only their day).
pub fn day_fr(ts: i64) -> String {
    let (y, m, d) = civil_from_days(ts.div_euclid(DAY));
    format!("{d:02}/{m:02}/{y}")
}

/// Where a diffusion stands in its opening period (both days included, Paris time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    NotYet,
    Open,
    Closed,
}

pub fn period(now: i64, from: Option<&str>, to: Option<&str>) -> Period {
    let today = (now + paris_offset(now)).div_euclid(DAY);
    if from.and_then(parse_date).is_some_and(|f| today < f) {
        Period::NotYet
    } else if to.and_then(parse_date).is_some_and(|t| today > t) {
        Period::Closed
    } else {
        Period::Open
    }
}

/// The moment before which answers are deleted: `months` calendar months before `now`
/// (the day clamped to the shorter month).
pub fn retention_cutoff(now: i64, months: u32) -> i64 {
    let (y, m, d) = civil_from_days(now.div_euclid(DAY));
    let total = y * 12 + (m as i64 - 1) - months as i64;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * DAY + now.rem_euclid(DAY)
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
        .and_then(parse_date)
        .is_some_and(|day| (day + 1) * DAY <= retention_cutoff(now, months))
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

    #[test]
    fn dates_round_trip_and_reject_impossible_days() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(
            parse_date("2024-02-29").map(civil_from_days),
            Some((2024, 2, 29))
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(parse_date("23-1-1"), None);
        assert_eq!(date_fr("2026-11-05"), "05/11/2026");
    }

    #[test]
    fn paris_time() {
        let at = |s: &str| parse_date(s).unwrap() * DAY;
        assert_eq!(paris_offset(at("2026-01-15")), 3600);
        assert_eq!(paris_offset(at("2026-07-15")), 7200);
        // 2026: summer time from 29 March to 25 October, 01:00 UTC.
        assert_eq!(paris_offset(at("2026-03-29") + 3599), 3600);
        assert_eq!(paris_offset(at("2026-03-29") + 3600), 7200);
        assert_eq!(paris_offset(at("2026-10-25") + 3600), 3600);
        assert_eq!(
            time_fr(at("2026-11-28") + 23 * 3600 + 30 * 60),
            "29/11/2026 00:30"
        );
    }

    #[test]
    fn opening_period_includes_both_days() {
        let day = |s| parse_date(s).unwrap() * DAY;
        let noon = day("2026-03-10") + 12 * 3600;
        assert_eq!(
            period(noon, Some("2026-03-10"), Some("2026-03-10")),
            Period::Open
        );
        assert_eq!(period(noon, Some("2026-03-11"), None), Period::NotYet);
        assert_eq!(period(noon, None, Some("2026-03-09")), Period::Closed);
        assert_eq!(period(noon, None, None), Period::Open);
        // 23:30 UTC on the 9th is already the 10th in Paris.
        let late = day("2026-03-09") + 23 * 3600 + 1800;
        assert_eq!(period(late, Some("2026-03-10"), None), Period::Open);
    }

    #[test]
    fn retention_counts_calendar_months() {
        let at = |s: &str| parse_date(s).unwrap() * DAY;
        assert_eq!(retention_cutoff(at("2026-05-31"), 3), at("2026-02-28"));
        assert_eq!(retention_cutoff(at("2026-01-15"), 12), at("2025-01-15"));
        assert_eq!(retention_cutoff(at("2026-02-10"), 6), at("2025-08-10"));
        assert!(expired(at("2025-08-09"), at("2026-02-10"), 6));
        assert!(!expired(at("2025-08-10"), at("2026-02-10"), 6));
        assert!(!expired(at("2026-02-09"), at("2026-02-10"), 3));
    }

    #[test]
    fn retention_deletes_the_oldest_run_and_markers_after_closing() {
        let at = |s: &str| parse_date(s).unwrap() * DAY;
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
