//! Calendar days and their French spelling.
//!
//! A [`Date`] is a day without time zone, counted in days since 1970-01-01 in the
//! proleptic Gregorian calendar, from -9999-01-01 to 9999-12-31. Parse what
//! `<input type="date">` sends with [`Date::parse_iso`] (real days only), print it
//! back with [`Date::iso`], show it in French with [`Date::french`] (« mardi 4 juin
//! 2097 ») or the shorter forms. The calendar arithmetic is jiff's (see [`crate::zone`]
//! for why jiff).
//!
//! ```
//! use preau_text::Date;
//!
//! let day = Date::parse_iso("2097-06-04").unwrap();
//! assert_eq!(day.french(), "mardi 4 juin 2097");
//! assert_eq!(day.add_days(-1).iso(), "2097-06-03");
//! assert_eq!(Date::parse_iso("2026-02-30"), None);
//! ```

use std::fmt;

use jiff::Span;
use jiff::civil;
use serde::{Deserialize, Serialize};

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

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

/// 1970-01-01 as a jiff date.
const EPOCH: civil::Date = civil::Date::constant(1970, 1, 1);

/// Day number of -9999-01-01, the first day a [`Date`] can show.
const MIN_DAYS: i32 = -4_371_587;
/// Day number of 9999-12-31, the last day a [`Date`] can show.
const MAX_DAYS: i32 = 2_932_896;

/// A calendar day, without time zone: days since 1970-01-01 (proleptic Gregorian).
///
/// Ordered by time. Serialized as its day number (a JSON integer: 1970-01-01 is `0`,
/// 2026-03-10 is `20522`), which keeps stored records compact; use [`Date::iso`] for
/// text meant for people, URLs or keys. Arithmetic saturates at -9999-01-01 and
/// 9999-12-31.
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

    /// The jiff date of this day (clamped to jiff's range).
    pub(crate) fn civil(self) -> civil::Date {
        let days = self.0.clamp(MIN_DAYS, MAX_DAYS);
        EPOCH
            .checked_add(Span::new().days(days))
            .expect("dans l'intervalle de jiff")
    }

    /// The day of a jiff date.
    pub(crate) fn of_civil(date: civil::Date) -> Date {
        Date((date.duration_since(EPOCH).as_hours() / 24) as i32)
    }

    fn saturating(days: i64) -> Date {
        Date(days.clamp(i64::from(MIN_DAYS), i64::from(MAX_DAYS)) as i32)
    }

    /// The date of year, month (1–12) and day (1–31), if it exists: `None` for
    /// 2026-02-29, a month 13 or a day 0.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        let date = civil::Date::new(
            i16::try_from(year).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
        )
        .ok()?;
        Some(Date::of_civil(date))
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

    /// Year, month (1–12), day (1–31).
    pub fn ymd(self) -> (i32, u32, u32) {
        let date = self.civil();
        (
            i32::from(date.year()),
            date.month() as u32,
            date.day() as u32,
        )
    }

    /// The year.
    pub fn year(self) -> i32 {
        i32::from(self.civil().year())
    }

    /// `AAAA-MM-JJ` (also what `Display` writes).
    pub fn iso(self) -> String {
        self.to_string()
    }

    /// Day of the week: 0 = lundi … 6 = dimanche (index of [`WEEKDAYS_FR`]).
    pub fn weekday(self) -> u32 {
        self.civil().weekday().to_monday_zero_offset() as u32
    }

    /// The date `days` days later (earlier if negative).
    pub fn add_days(self, days: i32) -> Date {
        Date::saturating(i64::from(self.0) + i64::from(days))
    }

    /// The same day `months` calendar months later (earlier if negative), clamped to
    /// the end of a shorter month: 31 May − 3 months = 28 (or 29) February.
    pub fn add_months(self, months: i32) -> Date {
        let span = Span::new().try_months(months);
        match span.and_then(|span| self.civil().checked_add(span)) {
            Ok(date) => Date::of_civil(date),
            Err(_) if months < 0 => Date(MIN_DAYS),
            Err(_) => Date(MAX_DAYS),
        }
    }

    /// Number of days of this date's month.
    pub fn days_in_month(self) -> u32 {
        self.civil().days_in_month() as u32
    }

    /// The Monday of this date's week (French weeks start on Monday).
    pub fn monday(self) -> Date {
        self.add_days(-(self.weekday() as i32))
    }

    /// The first day of this date's month.
    pub fn first_of_month(self) -> Date {
        Date::of_civil(self.civil().first_of_month())
    }

    /// « 1er » for the first day of a month, else the number.
    fn french_day(day: u32) -> String {
        if day == 1 {
            "1er".to_string()
        } else {
            day.to_string()
        }
    }

    /// « mardi 4 juin 2097 », « dimanche 1er mars 2026 ».
    pub fn french(self) -> String {
        format!(
            "{} {}",
            WEEKDAYS_FR[self.weekday() as usize],
            self.french_long()
        )
    }

    /// « 4 juin 2097 », « 1er mars 2026 »: [`Date::french`] without the day's name.
    pub fn french_long(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{} {} {y}", Date::french_day(d), MONTHS_FR[m as usize - 1])
    }

    /// « lundi 7 décembre »: the day's name, day and month, without the year.
    pub fn french_without_year(self) -> String {
        let (_, m, d) = self.ymd();
        format!(
            "{} {} {}",
            WEEKDAYS_FR[self.weekday() as usize],
            Date::french_day(d),
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

/// Minutes since midnight of a time of day as typed: `HH:MM` (what
/// `<input type="time">` sends), `H:MM`, `10h`, `10h30`; `24:00` is the end of
/// the day. `None` for anything else (`25:00`, `10:60`, `10:5`).
pub fn parse_clock(text: &str) -> Option<u32> {
    let text = text.trim().to_lowercase();
    let (h, m) = text.split_once([':', 'h'])?;
    let m = if m.is_empty() { "00" } else { m };
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// « 10 h 05 », « 10 h »: a time of day or a duration, in minutes.
pub fn french_hours(minutes: u32) -> String {
    match minutes % 60 {
        0 => format!("{} h", minutes / 60),
        m => format!("{} h {m:02}", minutes / 60),
    }
}

/// « 14 h 05 », « 9 h 00 »: a time of day, in minutes since midnight, minutes always
/// written (how dates with a time read: « 7 décembre 2026 à 9 h 00 »).
pub fn french_clock(minutes: u32) -> String {
    format!("{} h {:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse_iso(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn range_bounds_are_jiffs() {
        assert_eq!(Date::of_civil(civil::Date::MIN), Date(MIN_DAYS));
        assert_eq!(Date::of_civil(civil::Date::MAX), Date(MAX_DAYS));
        assert_eq!(Date::EPOCH.add_days(i32::MAX).iso(), "9999-12-31");
        assert_eq!(Date::EPOCH.add_days(i32::MIN).ymd(), (-9999, 1, 1));
        assert_eq!(Date::from_days(i32::MAX).iso(), "9999-12-31");
        assert_eq!(date("9999-12-01").add_months(1).iso(), "9999-12-31");
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
        assert_eq!(date("2026-12-07").french_long(), "7 décembre 2026");
        assert_eq!(date("2026-12-07").french_without_year(), "lundi 7 décembre");
        assert_eq!(date("2026-03-10").french_short(), "mar 10/3");
        assert_eq!(date("2026-03-12").french_short(), "jeu 12/3");
        assert_eq!(date("2026-03-09").day_month(), "9/3");
        assert_eq!(date("2026-11-05").french_numeric(), "05/11/2026");
        assert_eq!(date("2026-02-14").month_year(), "février 2026");
        assert_eq!(hh_mm(485), "08:05");
        assert_eq!(hh_mm(0), "00:00");
        assert_eq!(parse_clock("08:05"), Some(485));
        assert_eq!(parse_clock(" 8h "), Some(480));
        assert_eq!(parse_clock("10h30"), Some(630));
        assert_eq!(parse_clock("24:00"), Some(1440));
        for bad in ["", "8", "25:00", "10:60", "10:5", "24:01", "a8:00", "-1:00"] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        assert_eq!(french_hours(630), "10 h 30");
        assert_eq!(french_hours(600), "10 h");
        assert_eq!(french_hours(1505), "25 h 05", "durations beyond a day");
        assert_eq!(french_clock(845), "14 h 05");
        assert_eq!(french_clock(540), "9 h 00");
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
}
