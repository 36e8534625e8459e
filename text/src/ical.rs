//! The one iCalendar writer (RFC 5545): what a phone's calendar subscribes
//! to (a person's timetable, their *travail à faire*).
//!
//! Times are written in UTC (`…Z`), computed from the establishment's local
//! time by [`TimeZone`]: no `VTIMEZONE` to get wrong, and every client shows
//! them in its own zone. Text is escaped (`\\`, `;`, `,`, new lines) and lines
//! are folded at 75 octets without cutting a UTF-8 character; lines end with
//! CRLF, as the RFC requires.
//!
//! ```
//! use preau_text::ical::{Calendar, Event, When};
//! use preau_text::{Date, TimeZone};
//!
//! let day = Date::parse_iso("2026-09-07").unwrap();
//! let mut calendar = Calendar::new("Emploi du temps — Emma Martin");
//! calendar.events.push(Event {
//!     uid: "s-4A-maths-2026-09-07@preau".into(),
//!     when: When::Timed { date: day, start: 8 * 60, end: 8 * 60 + 55 },
//!     summary: "Mathématiques, 4A".into(),
//!     location: "Salle 101".into(),
//!     description: String::new(),
//!     cancelled: false,
//! });
//! let ics = calendar.to_ics(&TimeZone::paris(), 1_788_000_000);
//! assert!(ics.contains("DTSTART:20260907T060000Z\r\n"));
//! assert!(ics.contains("SUMMARY:Mathématiques\\, 4A\r\n"));
//! ```

use crate::{Date, TimeZone};

/// A calendar: its name and events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// Shown by clients as the subscription's name (`X-WR-CALNAME`).
    pub name: String,
    /// The events.
    pub events: Vec<Event>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Unique and stable: the same session keeps its UID from one download to
    /// the next, so that clients update it instead of duplicating it.
    pub uid: String,
    /// When.
    pub when: When,
    /// Title.
    pub summary: String,
    /// Where (empty: none).
    pub location: String,
    /// Details (empty: none).
    pub description: String,
    /// A cancelled session stays, marked (`STATUS:CANCELLED`).
    pub cancelled: bool,
}

/// When an event happens, in the establishment's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A day, from `start` to `end` (minutes since midnight).
    Timed {
        /// The day.
        date: Date,
        /// Start, minutes since midnight.
        start: u32,
        /// End, minutes since midnight.
        end: u32,
    },
    /// A whole day (a piece of work due that day).
    AllDay(Date),
}

impl Calendar {
    /// An empty calendar named `name`.
    pub fn new(name: &str) -> Calendar {
        Calendar {
            name: name.to_owned(),
            events: Vec::new(),
        }
    }

    /// The `text/calendar` document; `now` (Unix seconds) is every event's
    /// `DTSTAMP`.
    pub fn to_ics(&self, zone: &TimeZone, now: i64) -> String {
        let mut out = String::with_capacity(200 + 300 * self.events.len());
        let mut line = |text: &str| fold_into(&mut out, text);
        line("BEGIN:VCALENDAR");
        line("VERSION:2.0");
        line("PRODID:-//Préau//Espace numérique de travail//FR");
        line("CALSCALE:GREGORIAN");
        line("METHOD:PUBLISH");
        line(&format!("X-WR-CALNAME:{}", escape(&self.name)));
        line(&format!("X-WR-TIMEZONE:{}", zone.name()));
        let stamp = utc(now);
        for event in &self.events {
            line("BEGIN:VEVENT");
            line(&format!("UID:{}", escape(&event.uid)));
            line(&format!("DTSTAMP:{stamp}"));
            match event.when {
                When::Timed { date, start, end } => {
                    line(&format!("DTSTART:{}", utc(zone.unix(date, start))));
                    line(&format!("DTEND:{}", utc(zone.unix(date, end))));
                }
                When::AllDay(date) => {
                    line(&format!("DTSTART;VALUE=DATE:{}", compact(date)));
                    line(&format!("DTEND;VALUE=DATE:{}", compact(date.add_days(1))));
                }
            }
            line(&format!("SUMMARY:{}", escape(&event.summary)));
            if !event.location.is_empty() {
                line(&format!("LOCATION:{}", escape(&event.location)));
            }
            if !event.description.is_empty() {
                line(&format!("DESCRIPTION:{}", escape(&event.description)));
            }
            line(if event.cancelled {
                "STATUS:CANCELLED"
            } else {
                "STATUS:CONFIRMED"
            });
            line("END:VEVENT");
        }
        line("END:VCALENDAR");
        out
    }
}

/// `20260907T060000Z`.
fn utc(unix: i64) -> String {
    let date = Date::from_unix_utc(unix);
    let seconds = unix.rem_euclid(86_400);
    format!(
        "{}T{:02}{:02}{:02}Z",
        compact(date),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// `20260907`.
fn compact(date: Date) -> String {
    let (y, m, d) = date.ymd();
    format!("{y:04}{m:02}{d:02}")
}

/// TEXT escaping (RFC 5545 §3.3.11); other control characters dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `text` as content lines of at most 75 octets (continuations start
/// with a space), never cutting a character, each ending with CRLF.
fn fold_into(out: &mut String, text: &str) {
    let mut width = 0;
    for c in text.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(iso: &str) -> Date {
        Date::parse_iso(iso).unwrap()
    }

    #[test]
    fn times_are_utc_across_the_change_of_hour_and_overseas() {
        let paris = TimeZone::paris();
        let event = |date| Event {
            uid: "x".into(),
            when: When::Timed {
                date,
                start: 8 * 60,
                end: 9 * 60,
            },
            summary: "Cours".into(),
            location: String::new(),
            description: String::new(),
            cancelled: false,
        };
        let mut calendar = Calendar::new("Test");
        calendar.events = vec![event(day("2026-10-23")), event(day("2026-10-26"))];
        let ics = calendar.to_ics(&paris, 0);
        assert!(
            ics.contains("DTSTART:20261023T060000Z\r\n"),
            "summer time: UTC+2"
        );
        assert!(
            ics.contains("DTSTART:20261026T070000Z\r\n"),
            "winter time: UTC+1"
        );
        let reunion = TimeZone::named("Indian/Reunion").unwrap();
        assert!(
            calendar
                .to_ics(&reunion, 0)
                .contains("DTSTART:20261023T040000Z\r\n")
        );
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTAMP:19700101T000000Z\r\n"));
    }

    #[test]
    fn text_is_escaped_and_long_lines_folded_without_cutting_a_character() {
        let mut calendar = Calendar::new("Emploi du temps");
        calendar.events.push(Event {
            uid: "devoir-1@preau".into(),
            when: When::AllDay(day("2026-12-31")),
            summary: "À faire : exercices 3, 4; relire\\ le cours".into(),
            location: String::new(),
            description: format!("Consigne\n{}", "é".repeat(60)),
            cancelled: true,
        });
        let ics = calendar.to_ics(&TimeZone::paris(), 0);
        assert!(ics.contains("SUMMARY:À faire : exercices 3\\, 4\\; relire\\\\ le cours\r\n"));
        assert!(ics.contains("DTSTART;VALUE=DATE:20261231\r\nDTEND;VALUE=DATE:20270101\r\n"));
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("DESCRIPTION:Consigne\\n{}\r\n", "é".repeat(60))));
    }
}
