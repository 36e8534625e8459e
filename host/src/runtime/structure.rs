//! The `structure` import (contract 0.5.1): the school structure of the
//! establishment the call belongs to, read from `crate::structure`. Everyone
//! who can call the plugin there may read it: the year, its periods and
//! closures, the grid, subjects and rooms are the school's public frame
//! (printed in every timetable), not anyone's personal data.

use super::bindings::preau::plugin::structure as wit;
use super::imports::CallState;

impl wit::Host for CallState {
    fn current(&mut self) -> wit::SchoolStructure {
        let loaded = match crate::structure::Structure::load(self.store.as_ref(), &self.uai) {
            Ok(loaded) => loaded,
            Err(e) => {
                // Like a storage failure elsewhere: logged, the plugin sees nothing set.
                tracing::error!(uai = %self.uai, "structure illisible : {e:#}");
                return empty();
            }
        };
        let days = |first: preau_text::Date, last: preau_text::Date| wit::Days {
            first: first.days(),
            last: last.days(),
        };
        wit::SchoolStructure {
            year: loaded.year.as_ref().map(|y| days(y.first, y.last)),
            year_label: loaded.year.as_ref().map(|y| y.label()).unwrap_or_default(),
            periods: loaded
                .periods
                .iter()
                .map(|p| wit::NamedDays {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    days: days(p.first, p.last),
                })
                .collect(),
            closures: loaded
                .closures
                .iter()
                .map(|c| wit::NamedDays {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    days: days(c.first, c.last),
                })
                .collect(),
            slots: loaded
                .slots
                .iter()
                .map(|s| wit::Slot {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    start: u16::try_from(s.start).unwrap_or(u16::MAX),
                    end: u16::try_from(s.end).unwrap_or(u16::MAX),
                })
                .collect(),
            subjects: loaded
                .subjects
                .iter()
                .map(|s| wit::Subject {
                    id: s.id.clone(),
                    code: s.code.clone(),
                    label: s.label.clone(),
                })
                .collect(),
            rooms: loaded
                .rooms
                .iter()
                .map(|r| wit::Room {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    capacity: r.capacity,
                })
                .collect(),
        }
    }
}

fn empty() -> wit::SchoolStructure {
    wit::SchoolStructure {
        year: None,
        year_label: String::new(),
        periods: Vec::new(),
        closures: Vec::new(),
        slots: Vec::new(),
        subjects: Vec::new(),
        rooms: Vec::new(),
    }
}
