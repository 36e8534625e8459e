//! From weekly courses to dated sessions (« générer les séances »): each
//! course on each of its weeks, on the days the school is open, with who and
//! where that week.
//!
//! A course's [`Timetable::course_key`] and a session's [`Session::key`] are
//! what stays the same when a corrected file is imported again: the weekday,
//! the start, the subject's code and the names of the classes, parts and
//! groups (and the date, for a session) — not the file's `Ident`s, which
//! change from one export to the next, nor the teacher or the room, which a
//! correction may change without making it another lesson (a cahier de textes
//! entry written on it stays attached). A course moved to another day or time
//! gets other keys: the old sessions are cancelled (their entries kept) and
//! new ones created.

use std::collections::{BTreeSet, HashMap};

use super::{Course, Date, ItemKind, Timetable, Weeks};

/// When lessons can happen: the year's first and last days and its closures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// First day of lessons.
    pub first_day: Date,
    /// Last day of lessons.
    pub last_day: Date,
    /// Closures (holidays, bank holidays), first and last day included.
    pub closed: Vec<(Date, Date)>,
}

impl Calendar {
    /// Whether lessons can happen on `day`.
    pub fn open_on(&self, day: Date) -> bool {
        self.first_day <= day
            && day <= self.last_day
            && !self
                .closed
                .iter()
                .any(|&(from, to)| from <= day && day <= to)
    }
}

/// One dated session of a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Index of its course in [`Timetable::courses`].
    pub course: usize,
    /// The week (1–53) and the date.
    pub week: u8,
    /// The date.
    pub date: Date,
    /// Start and end, minutes since midnight.
    pub start: u16,
    /// End, minutes since midnight.
    pub end: u16,
    /// The `Ident`s of what the course holds that week, by kind.
    pub items: Vec<(ItemKind, String)>,
    /// Its course's [`Timetable::course_key`].
    pub course_key: String,
    /// Stable across exports: the date and what holds that week (see the
    /// module documentation).
    pub key: String,
}

/// What generation left out, for the dry run's report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Sessions of courses that lack a subject, teacher or class.
    pub incomplete: usize,
    /// Sessions on a closed day or outside the year.
    pub closed: usize,
}

impl Timetable {
    /// The sessions of every complete course, in date order, from `from` (the
    /// date the manager generates from: past weeks are left as they are).
    pub fn sessions(&self, calendar: &Calendar, from: Date) -> (Vec<Session>, Skipped) {
        let names = self.audience_names();
        let subject_codes = self.subject_codes();
        let mut sessions = Vec::new();
        let mut skipped = Skipped::default();
        for (index, course) in self.courses.iter().enumerate() {
            let Some((start, end)) = self.hours_of(course) else {
                continue;
            };
            let complete = course.gaps().is_empty();
            let course_key = course_key(course, start, &subject_codes, &names);
            for week in course.weeks().iter() {
                let date = self.date_of(week, course.day);
                if date < from {
                    continue;
                }
                if !calendar.open_on(date) {
                    skipped.closed += 1;
                    continue;
                }
                if !complete {
                    skipped.incomplete += 1;
                    continue;
                }
                let items: Vec<(ItemKind, String)> = course
                    .items
                    .iter()
                    .filter(|i| i.weeks.contains(week))
                    .map(|i| (i.kind, i.ident.clone()))
                    .collect();
                let held = held(course, Some(week), &subject_codes, &names);
                sessions.push(Session {
                    course: index,
                    week,
                    date,
                    start,
                    end,
                    items,
                    course_key: course_key.clone(),
                    key: format!("{} {:02}:{:02} {held}", date.iso(), start / 60, start % 60),
                });
            }
        }
        sessions.sort_by(|a, b| (a.date, a.start, &a.key).cmp(&(b.date, b.start, &b.key)));
        (sessions, skipped)
    }

    /// `J1 08:00 MATHS 4A`: the weekday, the start, the subject codes and the
    /// names of every class, part and group the course ever holds — the same
    /// in a corrected re-export (see the module documentation).
    pub fn course_key(&self, course: &Course) -> String {
        let start = self.hours_of(course).map_or(0, |(start, _)| start);
        course_key(course, start, &self.subject_codes(), &self.audience_names())
    }

    fn subject_codes(&self) -> HashMap<&str, &str> {
        self.subjects
            .iter()
            .map(|s| {
                let code = if s.code.is_empty() { &s.label } else { &s.code };
                (s.ident.as_str(), code.as_str())
            })
            .collect()
    }

    /// Names of classes, parts and groups by `Ident`.
    fn audience_names(&self) -> HashMap<&str, &str> {
        self.classes
            .iter()
            .flat_map(|c| {
                std::iter::once((c.ident.as_str(), c.name.as_str()))
                    .chain(c.parts.iter().map(|p| (p.ident.as_str(), p.name.as_str())))
            })
            .chain(
                self.groups
                    .iter()
                    .map(|g| (g.ident.as_str(), g.name.as_str())),
            )
            .collect()
    }
}

fn course_key(
    course: &Course,
    start: u16,
    subject_codes: &HashMap<&str, &str>,
    names: &HashMap<&str, &str>,
) -> String {
    format!(
        "J{} {:02}:{:02} {}",
        course.day,
        start / 60,
        start % 60,
        held(course, None, subject_codes, names)
    )
}

/// `MATHS 4A`: the subject codes and audience names held in `week` (every
/// week when `None`), sorted, `+`-joined.
fn held(
    course: &Course,
    week: Option<u8>,
    subject_codes: &HashMap<&str, &str>,
    names: &HashMap<&str, &str>,
) -> String {
    let held = |kinds: &[ItemKind]| -> Vec<&str> {
        course
            .items
            .iter()
            .filter(|i| kinds.contains(&i.kind) && week.is_none_or(|w| i.weeks.contains(w)))
            .map(|i| {
                names
                    .get(i.ident.as_str())
                    .or_else(|| subject_codes.get(i.ident.as_str()))
                    .copied()
                    .unwrap_or(i.ident.as_str())
            })
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .collect()
    };
    format!(
        "{} {}",
        held(&[ItemKind::Subject]).join("+"),
        held(&[ItemKind::Class, ItemKind::PartOfClass, ItemKind::Group]).join("+")
    )
}

/// The weeks of a calendar's open days, numbered from `first_day_week1`: for
/// a generator or a check that a file's weeks fall in the year.
pub fn school_weeks(calendar: &Calendar, first_day_week1: Date) -> Weeks {
    (1..=Weeks::LAST)
        .filter(|&week| {
            let monday = first_day_week1.add_days((i32::from(week) - 1) * 7);
            (0..5).any(|d| calendar.open_on(monday.add_days(d)))
        })
        .fold(Weeks::NONE, Weeks::with)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edt::sample::Plan;

    fn day(iso: &str) -> Date {
        Date::parse_iso(iso).unwrap()
    }

    fn calendar() -> Calendar {
        Calendar {
            first_day: day("2026-09-01"),
            last_day: day("2027-07-03"),
            closed: vec![
                (day("2026-10-17"), day("2026-11-01")),
                (day("2026-11-11"), day("2026-11-11")),
            ],
        }
    }

    #[test]
    fn sessions_fall_on_open_days_with_who_holds_them_that_week() {
        let college = Plan::college(day("2026-08-31"), 7).generate();
        let (sessions, skipped) = college.sessions(&calendar(), day("2026-08-31"));
        assert!(sessions.iter().all(|s| calendar().open_on(s.date)));
        assert!(!sessions.iter().any(|s| s.date == day("2026-11-11")));
        assert!(
            skipped.closed > 0,
            "week 1's Monday 31 August is before the year"
        );
        assert_eq!(skipped.incomplete, 0);
        // The course cancelled on weeks 5 and 6 has no session then.
        let cancelled: Vec<_> = sessions
            .iter()
            .filter(|s| s.course == 0)
            .map(|s| s.week)
            .collect();
        assert!(!cancelled.contains(&5) && !cancelled.contains(&6) && cancelled.contains(&7));
        // The substitute holds the replaced teacher's course from week 20.
        let replaced = college
            .courses
            .iter()
            .position(|c| {
                c.items
                    .iter()
                    .filter(|i| i.kind == ItemKind::Teacher)
                    .count()
                    == 2
            })
            .unwrap();
        let teachers = |week: u8| -> Vec<String> {
            sessions
                .iter()
                .find(|s| s.course == replaced && s.week == week)
                .map(|s| {
                    s.items
                        .iter()
                        .filter(|(k, _)| *k == ItemKind::Teacher)
                        .map(|(_, i)| i.clone())
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(teachers(12).len(), 1);
        assert_eq!(teachers(21).len(), 1);
        assert_ne!(teachers(12), teachers(21));
        // Keys are unique and readable.
        let keys: BTreeSet<&str> = sessions.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys.len(), sessions.len());
        assert!(
            sessions[0].key.starts_with("2026-09-01 "),
            "{}",
            sessions[0].key
        );
    }

    #[test]
    fn keys_survive_a_new_export_with_other_idents_and_another_teacher() {
        let college = Plan::college(day("2026-08-31"), 7).generate();
        let mut renumbered = college.clone();
        for course in &mut renumbered.courses {
            for item in &mut course.items {
                match item.kind {
                    ItemKind::Teacher => item.ident = "P1".into(),
                    ItemKind::Room => item.ident = "S1".into(),
                    _ => {}
                }
            }
        }
        let keys = |t: &Timetable| -> Vec<String> {
            t.sessions(&calendar(), day("2026-08-31"))
                .0
                .into_iter()
                .map(|s| s.key)
                .collect()
        };
        assert_eq!(keys(&college), keys(&renumbered));
        // Generating from a later date leaves the past alone.
        let later = college.sessions(&calendar(), day("2027-01-04")).0;
        assert!(later.iter().all(|s| s.date >= day("2027-01-04")));
        assert!(!later.is_empty());
    }

    #[test]
    fn school_weeks_follow_the_calendar() {
        let weeks = school_weeks(&calendar(), day("2026-08-31"));
        assert!(weeks.contains(1), "1 September is a Tuesday of week 1");
        assert!(!weeks.contains(8), "week of 19 October: holidays");
        assert!(weeks.contains(10), "week of 2 November: 2 to 6 open");
        assert!(!weeks.contains(50), "after the year");
    }
}
