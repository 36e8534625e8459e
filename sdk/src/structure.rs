//! The establishment's school structure, owned by the host (contract 0.5.1):
//! the current school year, its periods and closures, the daily grid of
//! slots (« créneaux »), subjects and rooms, as the « Vie scolaire »
//! administration sets them. Read-only: the host's pages edit it.
//!
//! ```no_run
//! let structure = preau_sdk::structure::current();
//! if let Some(year) = structure.year {
//!     let today = preau_sdk::time::Date::parse_iso("2026-11-11").unwrap();
//!     let open = year.contains(today) && structure.closure_on(today).is_none();
//!     # let _ = open;
//! }
//! ```

use crate::bindings::preau::plugin::structure as host;
use crate::time::Date;

/// Days from `first` to `last`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Days {
    /// First day.
    pub first: Date,
    /// Last day.
    pub last: Date,
}

impl Days {
    /// Whether `day` is in the span.
    pub fn contains(&self, day: Date) -> bool {
        self.first <= day && day <= self.last
    }
}

/// A period (trimestre, semestre) or a closure (holidays, a bank holiday).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedDays {
    /// Stable id.
    pub id: String,
    /// « Premier trimestre », « Vacances de la Toussaint ».
    pub name: String,
    /// Its days.
    pub days: Days,
}

/// A slot of the daily grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Stable id.
    pub id: String,
    /// « M1 ».
    pub name: String,
    /// Start, minutes since local midnight.
    pub start: u16,
    /// End, minutes since local midnight.
    pub end: u16,
}

/// A subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// Stable id.
    pub id: String,
    /// The nomenclature's code, empty when unknown.
    pub code: String,
    /// « Mathématiques ».
    pub label: String,
}

/// A room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    /// Stable id.
    pub id: String,
    /// « Salle 101 ».
    pub name: String,
    /// Seats, when set.
    pub capacity: Option<u32>,
}

/// The structure of the establishment's current year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Structure {
    /// The school year, none until the establishment sets it.
    pub year: Option<Days>,
    /// « 2026-2027 », empty without a year.
    pub year_label: String,
    /// Periods, by first day.
    pub periods: Vec<NamedDays>,
    /// Closures, by first day.
    pub closures: Vec<NamedDays>,
    /// Slots, by start.
    pub slots: Vec<Slot>,
    /// Subjects.
    pub subjects: Vec<Subject>,
    /// Rooms.
    pub rooms: Vec<Room>,
}

impl Structure {
    /// The closure `day` falls in, if any.
    pub fn closure_on(&self, day: Date) -> Option<&NamedDays> {
        self.closures.iter().find(|c| c.days.contains(day))
    }

    /// The period `day` falls in, if any.
    pub fn period_on(&self, day: Date) -> Option<&NamedDays> {
        self.periods.iter().find(|p| p.days.contains(day))
    }
}

fn days(d: host::Days) -> Days {
    Days {
        first: Date::from_days(d.first),
        last: Date::from_days(d.last),
    }
}

fn named(n: host::NamedDays) -> NamedDays {
    NamedDays {
        id: n.id,
        name: n.name,
        days: days(n.days),
    }
}

/// The structure of the establishment the call belongs to.
pub fn current() -> Structure {
    let s = host::current();
    Structure {
        year: s.year.map(days),
        year_label: s.year_label,
        periods: s.periods.into_iter().map(named).collect(),
        closures: s.closures.into_iter().map(named).collect(),
        slots: s
            .slots
            .into_iter()
            .map(|s| Slot {
                id: s.id,
                name: s.name,
                start: s.start,
                end: s.end,
            })
            .collect(),
        subjects: s
            .subjects
            .into_iter()
            .map(|s| Subject {
                id: s.id,
                code: s.code,
                label: s.label,
            })
            .collect(),
        rooms: s
            .rooms
            .into_iter()
            .map(|r| Room {
                id: r.id,
                name: r.name,
                capacity: r.capacity,
            })
            .collect(),
    }
}
