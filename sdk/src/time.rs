//! Calendar dates, French formatting and the establishment's local time.
//!
//! The dates and time zones are [`preau_text`]'s (on jiff, with the IANA time zone
//! database compiled in, so they work inside the sandbox): the host formats the same
//! way.
//!
//! - [`Date`]: a calendar day, counted in days since 1970-01-01 in the proleptic
//!   Gregorian calendar. Parse what `<input type="date">` sends with
//!   [`Date::parse_iso`] (real days only), print it back with [`Date::iso`], show it
//!   in French with [`Date::french`] (« mardi 4 juin 2097 ») or the shorter forms.
//! - [`now`]: the Unix time (WASI's clock).
//! - [`TimeZone`]: the establishment's time zone, an IANA name the host passes in every
//!   invocation ([`Invocation::time_zone`](crate::Invocation::time_zone): Europe/Paris,
//!   Indian/Reunion, America/Cayenne…); [`TimeZone::local`] gives the local date and
//!   minutes of a Unix time, [`Invocation::local_now`](crate::Invocation::local_now)
//!   the establishment's local time now.
//!
//! ```
//! use preau_sdk::time::{Date, TimeZone};
//!
//! let day = Date::parse_iso("2097-06-04").unwrap();
//! assert_eq!(day.french(), "mardi 4 juin 2097");
//! assert_eq!(day.add_days(-1).iso(), "2097-06-03");
//! assert_eq!(Date::parse_iso("2026-02-30"), None);
//!
//! // 2026-07-15 at 22:30 UTC is already the 16th, 00:30, in Paris; 02:30 in Réunion.
//! let unix = Date::parse_iso("2026-07-15").unwrap().utc_midnight() + 22 * 3600 + 1800;
//! let paris = TimeZone::paris().local(unix);
//! assert_eq!((paris.date.iso(), paris.minutes), ("2026-07-16".to_string(), 30));
//! let reunion = TimeZone::named("Indian/Reunion").unwrap().local(unix);
//! assert_eq!(reunion.minutes, 150);
//! ```

pub use preau_text::date::{
    Date, MONTHS_FR, WEEKDAYS_FR, days_in_month, french_clock, french_hours, hh_mm, is_leap_year,
};
pub use preau_text::zone::{DEFAULT_TIME_ZONE, LocalTime, TimeZone, now};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_2026() {
        assert!(now() > Date::parse_iso("2026-01-01").unwrap().utc_midnight());
    }
}
