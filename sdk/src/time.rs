//! Calendar dates, French formatting and the establishment's local time.
//!
//! Pure code (no host call), so it runs natively in unit tests as well.
//!
//! - [`Date`]: a calendar day, counted in days since 1970-01-01 in the proleptic
//!   Gregorian calendar. Parse what `<input type="date">` sends with
//!   [`Date::parse_iso`] (real days only), print it back with [`Date::iso`], show it
//!   in French with [`Date::french`] (« mardi 4 juin 2097 ») or the shorter forms.
//! - [`local_now`] / [`paris_offset`]: the establishment's local time. Préau serves
//!   metropolitan France, so "local" is **Europe/Paris**: UTC+1, and UTC+2 from the
//!   last Sunday of March to the last Sunday of October (both switches at 01:00
//!   UTC, the EU summer-time rule). Overseas establishments are not covered.
//!
//! ```
//! use preau_sdk::time::{Date, local_now};
//!
//! let day = Date::parse_iso("2097-06-04").unwrap();
//! assert_eq!(day.french(), "mardi 4 juin 2097");
//! assert_eq!(day.add_days(-1).iso(), "2097-06-03");
//! assert_eq!(Date::parse_iso("2026-02-30"), None);
//!
//! // 2026-07-15 at 22:30 UTC is already the 16th, 00:30, in Paris.
//! let unix = Date::parse_iso("2026-07-15").unwrap().utc_midnight() + 22 * 3600 + 1800;
//! assert_eq!(local_now(unix), (Date::parse_iso("2026-07-16").unwrap(), 30));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// French day names, Monday first (index = [`Date::weekday`]).
pub const WEEKDAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

/// French month names, January first (index = month − 1).
pub const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// A calendar day, without time zone: days since 1970-01-01 (proleptic Gregorian).
///
/// Ordered by time. Serialized as its day number (a JSON integer: 1970-01-01 is `0`,
/// 2026-03-10 is `20522`), which keeps stored records compact; use [`Date::iso`] for
/// text meant for people, URLs or keys.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Date(i32);

/// Whether `year` has a 29 February.
pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days of `month` (1–12) in `year`; 0 for a month outside 1–12.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`); the
/// caller checks the date is real.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month, day of a day number (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl Date {
    /// 1970-01-01, day 0.
    pub const EPOCH: Date = Date(0);

    /// The date `days` days after 1970-01-01 (before it if negative).
    pub const fn from_days(days: i32) -> Date {
        Date(days)
    }

    /// Days since 1970-01-01.
    pub const fn days(self) -> i32 {
        self.0
    }

    /// The date of year, month (1–12) and day (1–31), if it exists: `None` for
    /// 2026-02-29, a month 13 or a day 0.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        i32::try_from(days_from_civil(i64::from(year), month, day))
            .ok()
            .map(Date)
    }

    /// Parses exactly `AAAA-MM-JJ` (what `<input type="date">` sends: four-digit
    /// year, two-digit month and day, no spaces), if it is a real date.
    pub fn parse_iso(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| {
            b[range].iter().try_fold(0u32, |n, c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = i32::try_from(digits(0..4)?).ok()?;
        Date::from_ymd(year, digits(5..7)?, digits(8..10)?)
    }

    /// The UTC date of a Unix time (seconds).
    pub fn from_unix_utc(unix: i64) -> Date {
        Date::saturating(unix.div_euclid(DAY))
    }

    /// The Unix time (seconds) of 00:00 UTC on this date.
    pub fn utc_midnight(self) -> i64 {
        i64::from(self.0) * DAY
    }

    fn saturating(days: i64) -> Date {
        Date(days.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    /// Year, month (1–12), day (1–31).
    pub fn ymd(self) -> (i32, u32, u32) {
        let (y, m, d) = civil_from_days(i64::from(self.0));
        (y as i32, m, d)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.ymd().0
    }

    /// `AAAA-MM-JJ` (also what `Display` writes).
    pub fn iso(self) -> String {
        self.to_string()
    }

    /// Day of the week: 0 = lundi … 6 = dimanche (index of [`WEEKDAYS_FR`]).
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday.
        (i64::from(self.0) + 3).rem_euclid(7) as u32
    }

    /// The date `days` days later (earlier if negative).
    pub fn add_days(self, days: i32) -> Date {
        Date::saturating(i64::from(self.0) + i64::from(days))
    }

    /// The same day `months` calendar months later (earlier if negative), clamped to
    /// the end of a shorter month: 31 May − 3 months = 28 (or 29) February.
    pub fn add_months(self, months: i32) -> Date {
        let (y, m, d) = self.ymd();
        let total = i64::from(y) * 12 + i64::from(m) - 1 + i64::from(months);
        let year = total.div_euclid(12);
        let month = (total.rem_euclid(12) + 1) as u32;
        let Ok(year32) = i32::try_from(year) else {
            return Date(if months < 0 { i32::MIN } else { i32::MAX });
        };
        let day = d.min(days_in_month(year32, month));
        Date::saturating(days_from_civil(year, month, day))
    }

    /// Number of days of this date's month.
    pub fn days_in_month(self) -> u32 {
        let (y, m, _) = self.ymd();
        days_in_month(y, m)
    }

    /// The Monday of this date's week (French weeks start on Monday).
    pub fn monday(self) -> Date {
        self.add_days(-(self.weekday() as i32))
    }

    /// The first day of this date's month.
    pub fn first_of_month(self) -> Date {
        let (_, _, d) = self.ymd();
        self.add_days(1 - d as i32)
    }

    /// « mardi 4 juin 2097 », « dimanche 1er mars 2026 ».
    pub fn french(self) -> String {
        let (y, m, d) = self.ymd();
        let d = if d == 1 {
            "1er".to_string()
        } else {
            d.to_string()
        };
        format!(
            "{} {d} {} {y}",
            WEEKDAYS_FR[self.weekday() as usize],
            MONTHS_FR[m as usize - 1]
        )
    }

    /// « mar 3/3 »: the day name's first three letters, day and month (calendar columns).
    pub fn french_short(self) -> String {
        let (_, m, d) = self.ymd();
        let name = WEEKDAYS_FR[self.weekday() as usize];
        format!("{} {d}/{m}", &name[..3])
    }

    /// « 3/3 »: day and month, unpadded.
    pub fn day_month(self) -> String {
        let (_, m, d) = self.ymd();
        format!("{d}/{m}")
    }

    /// « 05/03/2026 »: `JJ/MM/AAAA`.
    pub fn french_numeric(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{d:02}/{m:02}/{y}")
    }

    /// « mars 2026 ».
    pub fn month_year(self) -> String {
        let (y, m, _) = self.ymd();
        format!("{} {y}", MONTHS_FR[m as usize - 1])
    }
}

impl fmt::Display for Date {
    /// `AAAA-MM-JJ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

/// « 08:05 »: `HH:MM` of minutes since midnight.
pub fn hh_mm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// « 10 h 05 », « 10 h »: a time of day or a duration, in minutes.
pub fn french_hours(minutes: u32) -> String {
    match minutes % 60 {
        0 => format!("{} h", minutes / 60),
        m => format!("{} h {m:02}", minutes / 60),
    }
}

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> Date {
    let last = Date::saturating(days_from_civil(
        i64::from(year),
        month,
        days_in_month(year, month),
    ));
    last.add_days(-(((last.weekday() + 1) % 7) as i32))
}

/// Offset from UTC, in seconds, of the establishment's local time (Europe/Paris) at
/// the Unix time `unix`: 7200 in summer time — from the last Sunday of March to the
/// last Sunday of October, both at 01:00 UTC — else 3600.
pub fn paris_offset(unix: i64) -> i64 {
    let year = Date::from_unix_utc(unix).year();
    let start = last_sunday(year, 3).utc_midnight() + 3600;
    let end = last_sunday(year, 10).utc_midnight() + 3600;
    if unix >= start && unix < end {
        7200
    } else {
        3600
    }
}

/// The establishment's local date and time (Europe/Paris, metropolitan France) at the
/// Unix time `unix`: (date, minutes since midnight, 0–1439).
pub fn local_now(unix: i64) -> (Date, u16) {
    let local = unix.saturating_add(paris_offset(unix));
    (
        Date::from_unix_utc(local),
        (local.rem_euclid(DAY) / 60) as u16,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse_iso(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(date("1970-01-01"), Date::EPOCH);
        assert_eq!(date("1970-01-02").days(), 1);
        assert_eq!(date("1969-12-31").days(), -1);
        assert_eq!(date("2026-03-10").days(), 20_522);
        for text in [
            "0001-01-01",
            "1600-02-29",
            "1900-02-28",
            "1969-12-31",
            "2000-02-29",
            "2026-03-10",
            "2027-12-31",
            "9999-12-31",
        ] {
            assert_eq!(date(text).iso(), text);
        }
        // Every day of 1896–2104 (leap years, the 1900 and 2100 exceptions) in turn.
        let mut day = date("1896-01-01");
        for year in 1896..=2104 {
            for month in 1..=12 {
                for d in 1..=days_in_month(year, month) {
                    assert_eq!(day.ymd(), (year, month, d));
                    assert_eq!(Date::from_ymd(year, month, d), Some(day));
                    day = day.add_days(1);
                }
            }
        }
    }

    #[test]
    fn leap_years_and_month_ends() {
        assert!(is_leap_year(2024) && is_leap_year(2000) && is_leap_year(1600));
        assert!(!is_leap_year(2026) && !is_leap_year(1900) && !is_leap_year(2100));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2026, 4), 30);
        assert_eq!(days_in_month(2026, 12), 31);
        assert_eq!(days_in_month(2026, 13), 0);
        assert_eq!(date("2028-02-10").days_in_month(), 29);
        assert_eq!(date("2026-12-31").add_days(1).iso(), "2027-01-01");
        assert_eq!(date("2024-02-28").add_days(1).iso(), "2024-02-29");
        assert_eq!(date("2024-03-01").add_days(-1).iso(), "2024-02-29");
        assert_eq!(date("2026-05-31").add_months(-3).iso(), "2026-02-28");
        assert_eq!(date("2024-05-31").add_months(-3).iso(), "2024-02-29");
        assert_eq!(date("2026-01-31").add_months(1).iso(), "2026-02-28");
        assert_eq!(date("2026-12-17").add_months(1).iso(), "2027-01-17");
        assert_eq!(date("2026-01-15").add_months(-12).iso(), "2025-01-15");
        assert_eq!(date("2026-03-17").first_of_month().iso(), "2026-03-01");
        assert_eq!(date("2026-03-01").first_of_month().iso(), "2026-03-01");
    }

    #[test]
    fn only_real_days_parse() {
        assert!(Date::parse_iso("2028-02-29").is_some());
        for bad in [
            "2026-02-29",
            "2026-02-30",
            "2026-04-31",
            "1900-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-3-10",
            "26-03-10",
            " 2026-03-10",
            "2026-03-10 ",
            "+202-03-10",
            "2026-+3-10",
            "2026/03/10",
            "10/03/2026",
            "2026-03-1é",
            "demain",
            "",
        ] {
            assert_eq!(Date::parse_iso(bad), None, "{bad}");
        }
        assert_eq!(Date::from_ymd(2026, 2, 29), None);
        assert_eq!(Date::from_ymd(2026, 0, 1), None);
        assert_eq!(Date::from_ymd(2026, 1, 32), None);
        assert_eq!(Date::from_ymd(i32::MAX, 1, 1), None, "beyond the day range");
    }

    #[test]
    fn weekdays_start_on_monday() {
        assert_eq!(Date::EPOCH.weekday(), 3, "a Thursday");
        assert_eq!(date("2026-03-09").weekday(), 0);
        assert_eq!(date("2026-03-15").weekday(), 6);
        assert_eq!(date("1969-12-29").weekday(), 0, "before 1970 too");
        assert_eq!(date("2026-03-10").monday().iso(), "2026-03-09");
        assert_eq!(date("2026-03-15").monday().iso(), "2026-03-09");
        assert_eq!(date("2026-03-09").monday().iso(), "2026-03-09");
    }

    #[test]
    fn french_formatting() {
        assert_eq!(date("2097-06-04").french(), "mardi 4 juin 2097");
        assert_eq!(date("2026-03-01").french(), "dimanche 1er mars 2026");
        assert_eq!(date("2025-12-31").french(), "mercredi 31 décembre 2025");
        assert_eq!(date("2026-08-15").french(), "samedi 15 août 2026");
        assert_eq!(date("2026-03-10").french_short(), "mar 10/3");
        assert_eq!(date("2026-03-12").french_short(), "jeu 12/3");
        assert_eq!(date("2026-03-09").day_month(), "9/3");
        assert_eq!(date("2026-11-05").french_numeric(), "05/11/2026");
        assert_eq!(date("2026-02-14").month_year(), "février 2026");
        assert_eq!(hh_mm(485), "08:05");
        assert_eq!(hh_mm(0), "00:00");
        assert_eq!(french_hours(630), "10 h 30");
        assert_eq!(french_hours(600), "10 h");
        assert_eq!(french_hours(1505), "25 h 05", "durations beyond a day");
        assert_eq!(format!("{:?}", date("2026-03-10")), "Date(2026-03-10)");
    }

    #[test]
    fn serialized_as_the_day_number() {
        let day = date("2026-03-10");
        assert_eq!(serde_json::to_string(&day).unwrap(), "20522");
        assert_eq!(serde_json::from_str::<Date>("20522").unwrap(), day);
        assert_eq!(
            serde_json::from_str::<Date>("-1").unwrap(),
            date("1969-12-31")
        );
    }

    #[test]
    fn unix_times() {
        let day = date("2026-03-10");
        assert_eq!(day.utc_midnight(), 1_773_100_800);
        assert_eq!(Date::from_unix_utc(day.utc_midnight()), day);
        assert_eq!(Date::from_unix_utc(day.utc_midnight() + DAY - 1), day);
        assert_eq!(Date::from_unix_utc(-1), date("1969-12-31"));
    }

    #[test]
    fn paris_summer_time() {
        let at = |text: &str, hour: i64, minute: i64| {
            date(text).utc_midnight() + hour * 3600 + minute * 60
        };
        assert_eq!(paris_offset(at("2026-01-15", 12, 0)), 3600);
        assert_eq!(paris_offset(at("2026-07-15", 12, 0)), 7200);
        // 2026: from Sunday 29 March to Sunday 25 October, at 01:00 UTC.
        assert_eq!(last_sunday(2026, 3), date("2026-03-29"));
        assert_eq!(last_sunday(2026, 10), date("2026-10-25"));
        assert_eq!(paris_offset(at("2026-03-29", 0, 59) + 59), 3600);
        assert_eq!(paris_offset(at("2026-03-29", 1, 0)), 7200);
        assert_eq!(paris_offset(at("2026-10-25", 0, 59) + 59), 7200);
        assert_eq!(paris_offset(at("2026-10-25", 1, 0)), 3600);
        // A month ending on a Sunday (October 2027), and one ending on a Tuesday.
        assert_eq!(last_sunday(2027, 10), date("2027-10-31"));
        assert_eq!(last_sunday(2020, 3), date("2020-03-29"));
        assert_eq!(paris_offset(at("2027-10-31", 0, 30)), 7200);
        assert_eq!(paris_offset(at("2027-10-31", 1, 30)), 3600);

        // Local clock: 01:59 then 03:00 in March, 02:59 then 02:00 in October.
        assert_eq!(
            local_now(at("2026-03-29", 0, 59)),
            (date("2026-03-29"), 119)
        );
        assert_eq!(local_now(at("2026-03-29", 1, 0)), (date("2026-03-29"), 180));
        assert_eq!(
            local_now(at("2026-10-25", 0, 59)),
            (date("2026-10-25"), 179)
        );
        assert_eq!(local_now(at("2026-10-25", 1, 0)), (date("2026-10-25"), 120));
        // Evenings are already the next day; New Year's Eve the next year.
        assert_eq!(
            local_now(at("2026-07-15", 23, 30)),
            (date("2026-07-16"), 90)
        );
        assert_eq!(
            local_now(at("2026-11-28", 23, 30)),
            (date("2026-11-29"), 30)
        );
        assert_eq!(local_now(at("2026-12-31", 23, 0)), (date("2027-01-01"), 0));
        assert_eq!(
            local_now(at("2026-01-15", 12, 0)),
            (date("2026-01-15"), 13 * 60)
        );
    }
}
