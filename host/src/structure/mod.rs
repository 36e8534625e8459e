//! The school structure of an establishment, owned by the host: the school
//! year, its periods (trimestres, semestres), closures (holidays, bank
//! holidays), the time grid (créneaux), subjects and rooms. Several services
//! read it (cahier de textes, absences, room reservations, agenda) and none
//! owns it, so it lives beside the directory (DESIGN §8).
//!
//! # Storage (`Space::Structure`)
//!
//! | key | value |
//! |---|---|
//! | `<uai>/annee` | the current [`SchoolYear`] (id, first and last day) |
//! | `<uai>/zone` | the holiday zone, a [`calendar::ZONES`] code |
//! | `<uai>/v` | the establishment's structure version, +1 in every batch |
//! | `<uai>/<year>/<letter>/<id>` | one item of that year: [`Kind::letter`] |
//!
//! A year's items sit under its id (`2026` for 2026-2027), so archived years
//! keep theirs untouched when a new year starts with a copy of the grid,
//! subjects and rooms. Every change is one `batch_if` on the version: it is
//! validated against the whole structure read at that version, so two
//! managers cannot together write overlapping créneaux ([`commit`]).
//!
//! # Next slices (not built here)
//!
//! - **Courses** `<uai>/<year>/k/<course>`: subject id, teacher ids, group ids
//!   (classes, groups, parts of class), room ids, weekday, first slot id,
//!   number of slots, a week mask (one bit per Monday from the year's first
//!   week), the source's external id (EDT `Ident`) for re-imports.
//! - **Sessions** `<uai>/<year>/x/<course>/<date>`: the id *is* (course, date),
//!   so a corrected re-import regenerates the same ids and whatever a service
//!   attached stays attached; a cancelled or moved session is a flag on it,
//!   never a deletion while something refers to it. Indexes
//!   `<uai>/<year>/i/<person|group|room>/<date>/<course>` for a week's view.
//! - **Substitutes** `<uai>/<year>/r/<id>`: replaced teacher, substitute,
//!   classes, first and last day.
//! - **WIT** `structure` interface (next minor contract): sessions of a person,
//!   class, group or room in a date range, one session, the grid, periods,
//!   closures, subjects — filtered by the host for the caller.
//! - **Rollover**: a new [`SchoolYear`] id, `annee` moved to it, grid,
//!   subjects and rooms copied; the old year's keys stay as the archive.

use anyhow::{Result, bail};
use preau_text::Date;
use serde::{Deserialize, Serialize};

use crate::store::{Op, Space, Store};

pub mod calendar;
pub mod managers;
mod validate;

pub use validate::{FieldErrors, parse_item, parse_year};

/// The current school year of an establishment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolYear {
    /// The year its first day falls in (`2026` for 2026-2027): the prefix of its items.
    pub id: String,
    pub first: Date,
    pub last: Date,
}

impl SchoolYear {
    /// « 2026-2027 ».
    pub fn label(&self) -> String {
        format!("{}-{}", self.first.year(), self.last.year())
    }
}

/// A trimestre or semestre: named, inside the year, contiguous with its neighbours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub id: String,
    pub name: String,
    pub first: Date,
    pub last: Date,
}

/// Days without classes: holidays, a bank holiday, a closure of the school.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub id: String,
    pub name: String,
    pub first: Date,
    pub last: Date,
}

/// A créneau of the time grid (breaks are not slots); times in minutes since
/// local midnight, `start < end`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub id: String,
    pub name: String,
    pub start: u32,
    pub end: u32,
}

/// A subject, with its code (STS/BCN code or the establishment's own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub id: String,
    pub code: String,
    pub label: String,
}

/// A room; its capacity is optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

/// The kinds of items a year holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Period,
    Closure,
    Slot,
    Subject,
    Room,
}

impl Kind {
    /// Every kind, in the order the administration shows them.
    pub const ALL: [Kind; 5] = [
        Kind::Period,
        Kind::Closure,
        Kind::Slot,
        Kind::Subject,
        Kind::Room,
    ];

    /// The key segment of the kind's items (one letter keeps keys short).
    pub fn letter(self) -> char {
        match self {
            Kind::Period => 'p',
            Kind::Closure => 'f',
            Kind::Slot => 'c',
            Kind::Subject => 'm',
            Kind::Room => 's',
        }
    }
}

/// One item of a year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Period(Period),
    Closure(Closure),
    Slot(Slot),
    Subject(Subject),
    Room(Room),
}

impl Item {
    pub fn kind(&self) -> Kind {
        match self {
            Item::Period(_) => Kind::Period,
            Item::Closure(_) => Kind::Closure,
            Item::Slot(_) => Kind::Slot,
            Item::Subject(_) => Kind::Subject,
            Item::Room(_) => Kind::Room,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Item::Period(p) => &p.id,
            Item::Closure(c) => &c.id,
            Item::Slot(s) => &s.id,
            Item::Subject(s) => &s.id,
            Item::Room(r) => &r.id,
        }
    }

    /// How people name it (« T1 », « Vacances de Noël », « M1 », « Français », « Salle 12 »).
    pub fn name(&self) -> &str {
        match self {
            Item::Period(p) => &p.name,
            Item::Closure(c) => &c.name,
            Item::Slot(s) => &s.name,
            Item::Subject(s) => &s.label,
            Item::Room(r) => &r.name,
        }
    }

    fn value(&self) -> Result<Vec<u8>> {
        Ok(match self {
            Item::Period(p) => serde_json::to_vec(p)?,
            Item::Closure(c) => serde_json::to_vec(c)?,
            Item::Slot(s) => serde_json::to_vec(s)?,
            Item::Subject(s) => serde_json::to_vec(s)?,
            Item::Room(r) => serde_json::to_vec(r)?,
        })
    }
}

/// The whole structure of an establishment at one version: what a change is
/// validated against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Structure {
    /// The version read; a change commits only if it is still current.
    pub version: u64,
    pub year: Option<SchoolYear>,
    /// The holiday zone ([`calendar::ZONES`]), if set.
    pub zone: Option<String>,
    /// By first day.
    pub periods: Vec<Period>,
    /// By first day, then name.
    pub closures: Vec<Closure>,
    /// By start time.
    pub slots: Vec<Slot>,
    /// By code.
    pub subjects: Vec<Subject>,
    /// By name.
    pub rooms: Vec<Room>,
}

fn year_key(uai: &str) -> String {
    format!("{uai}/annee")
}

fn zone_key(uai: &str) -> String {
    format!("{uai}/zone")
}

fn version_key(uai: &str) -> String {
    format!("{uai}/v")
}

fn item_key(uai: &str, year: &SchoolYear, kind: Kind, id: &str) -> String {
    format!("{uai}/{}/{}/{id}", year.id, kind.letter())
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        anyhow::anyhow!(
            "structure : {} illisible : {e}",
            String::from_utf8_lossy(key)
        )
    })
}

impl Structure {
    /// The structure of `uai` as stored now.
    pub fn load(store: &dyn Store, uai: &str) -> Result<Structure> {
        let get = |key: String| store.get(Space::Structure, key.as_bytes());
        let mut structure = Structure {
            version: match get(version_key(uai))? {
                Some(bytes) => decode(b"v", &bytes)?,
                None => 0,
            },
            year: get(year_key(uai))?
                .map(|bytes| decode(b"annee", &bytes))
                .transpose()?,
            zone: get(zone_key(uai))?
                .map(|bytes| decode(b"zone", &bytes))
                .transpose()?,
            ..Default::default()
        };
        let Some(year) = structure.year.clone() else {
            return Ok(structure);
        };
        let prefix = format!("{uai}/{}/", year.id);
        for (key, value) in
            store.scan(Space::Structure, prefix.as_bytes(), None, usize::MAX, false)?
        {
            match key.get(prefix.len()) {
                Some(b'p') => structure.periods.push(decode(&key, &value)?),
                Some(b'f') => structure.closures.push(decode(&key, &value)?),
                Some(b'c') => structure.slots.push(decode(&key, &value)?),
                Some(b'm') => structure.subjects.push(decode(&key, &value)?),
                Some(b's') => structure.rooms.push(decode(&key, &value)?),
                // Keys of later slices (courses, sessions) are not this module's.
                _ => {}
            }
        }
        structure.sort();
        Ok(structure)
    }

    fn sort(&mut self) {
        self.periods.sort_by_key(|p| (p.first, p.last));
        self.closures
            .sort_by(|a, b| (a.first, a.last, &a.name).cmp(&(b.first, b.last, &b.name)));
        self.slots.sort_by_key(|s| (s.start, s.end));
        self.subjects.sort_by(|a, b| a.code.cmp(&b.code));
        self.rooms
            .sort_by_key(|r| preau_text::fold::search_key(&r.name));
    }

    /// The item of `kind` with that id.
    pub fn item(&self, kind: Kind, id: &str) -> Option<Item> {
        self.items(kind).into_iter().find(|i| i.id() == id)
    }

    /// The items of one kind, in display order.
    pub fn items(&self, kind: Kind) -> Vec<Item> {
        match kind {
            Kind::Period => self.periods.iter().cloned().map(Item::Period).collect(),
            Kind::Closure => self.closures.iter().cloned().map(Item::Closure).collect(),
            Kind::Slot => self.slots.iter().cloned().map(Item::Slot).collect(),
            Kind::Subject => self.subjects.iter().cloned().map(Item::Subject).collect(),
            Kind::Room => self.rooms.iter().cloned().map(Item::Room).collect(),
        }
    }

    /// Gaps between consecutive periods and between them and the year's ends,
    /// as (first, last) days not covered: what the page warns about.
    pub fn period_gaps(&self) -> Vec<(Date, Date)> {
        let Some(year) = &self.year else {
            return Vec::new();
        };
        if self.periods.is_empty() {
            return Vec::new();
        }
        let mut gaps = Vec::new();
        let mut next = year.first;
        for period in &self.periods {
            if period.first > next {
                gaps.push((next, period.first.add_days(-1)));
            }
            next = next.max(period.last.add_days(1));
        }
        if next <= year.last {
            gaps.push((next, year.last));
        }
        gaps
    }

    /// Whether classes are off on `day` (a closure covers it).
    pub fn closure_on(&self, day: Date) -> Option<&Closure> {
        self.closures
            .iter()
            .find(|c| c.first <= day && day <= c.last)
    }
}

/// Why a change was not written.
#[derive(Debug)]
pub enum Refused {
    /// Field → French message.
    Invalid(FieldErrors),
    /// The item does not exist (any more).
    NotFound,
}

/// Validates `change` against the current structure and writes what it
/// returns in one batch, only if nobody changed the structure in between
/// (then it starts again on the new state, a few times).
fn commit(
    store: &dyn Store,
    uai: &str,
    change: impl Fn(&Structure) -> Result<Vec<Op>, Refused>,
) -> Result<Result<(), Refused>> {
    for _ in 0..5 {
        let current = Structure::load(store, uai)?;
        let mut ops = match change(&current) {
            Ok(ops) => ops,
            Err(refused) => return Ok(Err(refused)),
        };
        let key = version_key(uai).into_bytes();
        let expected = (current.version > 0)
            .then(|| serde_json::to_vec(&current.version))
            .transpose()?;
        ops.push(Op::Put(
            key.clone(),
            serde_json::to_vec(&(current.version + 1))?,
        ));
        if store.batch_if(Space::Structure, &[(key, expected)], ops)? {
            return Ok(Ok(()));
        }
    }
    bail!("la structure de {uai} change sans cesse : modification abandonnée")
}

/// Creates the school year, or changes its days (its items must stay inside).
pub fn save_year(
    store: &dyn Store,
    uai: &str,
    first: Date,
    last: Date,
) -> Result<Result<SchoolYear, Refused>> {
    let saved = std::cell::RefCell::new(None);
    let outcome = commit(store, uai, |current| {
        let year = SchoolYear {
            id: current
                .year
                .as_ref()
                .map_or_else(|| first.year().to_string(), |y| y.id.clone()),
            first,
            last,
        };
        let errors = validate::year(current, &year);
        if !errors.is_empty() {
            return Err(Refused::Invalid(errors));
        }
        *saved.borrow_mut() = Some(year.clone());
        Ok(vec![Op::Put(
            year_key(uai).into_bytes(),
            serde_json::to_vec(&year).map_err(|_| Refused::NotFound)?,
        )])
    })?;
    Ok(outcome.map(|()| saved.into_inner().expect("écrite")))
}

/// Sets the establishment's holiday zone (a [`calendar::ZONES`] code, or none).
pub fn save_zone(store: &dyn Store, uai: &str, zone: Option<&str>) -> Result<Result<(), Refused>> {
    if let Some(zone) = zone
        && !calendar::ZONES.iter().any(|(code, _)| *code == zone)
    {
        let errors: FieldErrors = vec![("zone", "Choisissez une zone de la liste.".into())];
        return Ok(Err(Refused::Invalid(errors)));
    }
    commit(store, uai, |_| {
        Ok(vec![match zone {
            Some(zone) => Op::Put(
                zone_key(uai).into_bytes(),
                serde_json::to_vec(zone).expect("texte"),
            ),
            None => Op::Delete(zone_key(uai).into_bytes()),
        }])
    })
}

/// Adds `item` (a new id) or replaces the item of that id, once validated
/// against the rest of the structure.
pub fn save_item(store: &dyn Store, uai: &str, item: &Item) -> Result<Result<(), Refused>> {
    commit(store, uai, |current| {
        let Some(year) = &current.year else {
            let errors: FieldErrors =
                vec![("annee", "Enregistrez d'abord l'année scolaire.".into())];
            return Err(Refused::Invalid(errors));
        };
        let errors = validate::item(current, item);
        if !errors.is_empty() {
            return Err(Refused::Invalid(errors));
        }
        let key = item_key(uai, year, item.kind(), item.id());
        let value = item.value().map_err(|_| Refused::NotFound)?;
        Ok(vec![Op::Put(key.into_bytes(), value)])
    })
}

/// Deletes one item; `Refused::NotFound` if it is not there.
pub fn delete_item(
    store: &dyn Store,
    uai: &str,
    kind: Kind,
    id: &str,
) -> Result<Result<(), Refused>> {
    commit(store, uai, |current| {
        let (Some(year), Some(_)) = (&current.year, current.item(kind, id)) else {
            return Err(Refused::NotFound);
        };
        Ok(vec![Op::Delete(item_key(uai, year, kind, id).into_bytes())])
    })
}

/// Adds several closures at once, skipping those already there (same name and
/// days): loading a calendar twice adds nothing the second time. Returns how
/// many were added.
pub fn add_closures(
    store: &dyn Store,
    uai: &str,
    closures: &[Closure],
) -> Result<Result<usize, Refused>> {
    let added = std::cell::Cell::new(0);
    let outcome = commit(store, uai, |current| {
        let Some(year) = &current.year else {
            return Err(Refused::NotFound);
        };
        let mut ops = Vec::new();
        let mut count = 0;
        for closure in closures {
            let known = current.closures.iter().any(|c| {
                c.first == closure.first && c.last == closure.last && c.name == closure.name
            });
            if known {
                continue;
            }
            let item = Item::Closure(closure.clone());
            let value = item.value().map_err(|_| Refused::NotFound)?;
            ops.push(Op::Put(
                item_key(uai, year, Kind::Closure, &closure.id).into_bytes(),
                value,
            ));
            count += 1;
        }
        added.set(count);
        Ok(ops)
    })?;
    Ok(outcome.map(|()| added.get()))
}

/// A new item id: the store's ids are unique across restarts.
pub fn new_id(store: &dyn Store) -> Result<String> {
    Ok(format!("{:016x}", store.next_id()?))
}
