//! The timetable EDT (Index Education) exports « vers les socles ENT ».
//!
//! What is read is the payload; [`read`] opens the encrypted envelope
//! (`EXPORT_INDEX_EDUCATION`, see [`envelope`]) first when the region has
//! configured its partner key. The payload's values are attributes; the parts
//! that matter here:
//! - `AnneeScolaire@DatePremierJourSemaine1`: the Monday (usually) of week 1;
//!   weeks are numbered from it, through the holidays, 1 to 53;
//! - `GrilleHoraire@DureePlace` (minutes) with `Place@{Numero,
//!   LibelleHeureDebut, LibelleHeureFin}` (« 08h00 »): the time grid;
//! - `Matiere`, `Professeur`, `Personnel`, `Eleve`, `Classe` (with its
//!   `PartieDeClasse`), `Groupe` (made of classes and parts of classes),
//!   `Salle`, `Materiel`, each named by an `Ident` unique in its kind;
//!   `Eleve` lists its classes and parts with `DateEntree`/`DateSortie`;
//! - `Cours@{Jour, NumeroPlaceDebut, NombrePlaces, SemainesAnnulation}`: a
//!   weekly course whose children name its subject, teachers, staff, classes,
//!   parts, groups, rooms and equipment by `Ident`, each with its own
//!   `Semaines` (the weeks it holds: a number whose bit *n* is week *n*), so
//!   that a course can change teacher or room during the year.
//!
//! A list of one kind may sit in a container element without attributes
//! (`<Cours><Cours Jour="1" …>…</Cours></Cours>`); elements this reader does
//! not know (`Etiquette`, `Periode`, `Absence`…) are skipped.
//!
//! [`parse`] checks everything the next steps rely on and reports every
//! problem with its line: an `Ident` no element defines, a place outside the
//! grid, a week mask that is no mask, two elements of one kind with the same
//! `Ident`. Courses without a subject, teacher or class are not errors (real
//! files have them: a teacher's free period, a room booking): [`Course::gaps`]
//! says what they lack, for the dry run to list them.

pub mod envelope;
mod parse;
pub mod sample;
mod sessions;
mod weeks;
mod write;

pub use parse::parse;
pub use preau_text::Date;
pub use sessions::{Calendar, Session, Skipped, school_weeks};
pub use weeks::Weeks;
pub use write::{Style, write};

/// Reads an export, opening its encrypted envelope with the region's key when
/// it is one (without a key, an envelope is refused with what to do).
pub fn read(
    bytes: &[u8],
    key: Option<&envelope::PartnerKey>,
) -> Result<Timetable, crate::Problems> {
    let start = &bytes[..bytes.len().min(1024)];
    let enveloped = start
        .windows(envelope::ROOT.len() + 1)
        .any(|w| w[0] == b'<' && &w[1..] == envelope::ROOT.as_bytes());
    match key {
        Some(key) if enveloped => parse(&envelope::open(bytes, key)?.1),
        _ => parse(bytes),
    }
}

/// A timetable as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timetable {
    /// The first day of week 1 (`DatePremierJourSemaine1`).
    pub first_day_week1: Date,
    /// The length of one place of the grid, in minutes (`DureePlace`).
    pub place_minutes: u16,
    /// The places of the day, by number.
    pub places: Vec<Place>,
    /// Subjects.
    pub subjects: Vec<Subject>,
    /// Teachers (`Professeur`).
    pub teachers: Vec<Person>,
    /// Other staff with sessions (`Personnel`: CPE, documentalist…).
    pub staff: Vec<Person>,
    /// Pupils, with the classes and parts of classes they were in.
    pub pupils: Vec<Pupil>,
    /// Classes (divisions), with their parts.
    pub classes: Vec<Class>,
    /// Groups made of classes and parts of classes.
    pub groups: Vec<Group>,
    /// Rooms (`Salle`).
    pub rooms: Vec<Named>,
    /// Equipment (`Materiel`).
    pub equipment: Vec<Named>,
    /// The weekly courses, in the order of the file.
    pub courses: Vec<Course>,
}

/// One place of the daily grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// `Numero`.
    pub number: u16,
    /// Start, in minutes since midnight.
    pub start: u16,
    /// End, in minutes since midnight.
    pub end: u16,
}

/// A subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `Ident`.
    pub ident: String,
    /// `Code`: the nomenclature's code (STS/BCN), often what other files use.
    pub code: String,
    /// `Libelle`.
    pub label: String,
}

/// A person of the file: a teacher, staff member or pupil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// `Ident`: unique in the file, not stable across exports.
    pub ident: String,
    /// `IDPN`: EDT's and Pronote's own identifier of the person, stable from one
    /// export to the next (what a reconciliation remembers).
    pub pronote_id: Option<String>,
    /// `Nom`.
    pub last_name: String,
    /// `Prenom`.
    pub first_name: String,
    /// `DateNaissance`.
    pub birth_date: Option<Date>,
    /// The line of the element, for reports.
    pub line: usize,
}

/// A pupil and where they were in the year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pupil {
    /// Who.
    pub person: Person,
    /// `IDSconet` (or `IDSiecle`): the pupil's SIECLE number, when exported.
    pub siecle_id: Option<String>,
    /// The classes the pupil was in, with the dates.
    pub classes: Vec<Stay>,
    /// The parts of classes the pupil was in, with the dates.
    pub parts: Vec<Stay>,
}

/// A membership with its dates (`DateEntree`, `DateSortie`, both included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    /// `Ident` of the class or part.
    pub ident: String,
    /// First day, if given.
    pub from: Option<Date>,
    /// Last day, if given.
    pub to: Option<Date>,
}

impl Stay {
    /// Whether the membership holds on `day`.
    pub fn holds_on(&self, day: Date) -> bool {
        self.from.is_none_or(|from| from <= day) && self.to.is_none_or(|to| day <= to)
    }
}

/// A class (division) and its parts (« 4A groupe 1 »).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// `Ident`.
    pub ident: String,
    /// `Nom` (« 4A »).
    pub name: String,
    /// Its parts (`PartieDeClasse`).
    pub parts: Vec<Named>,
}

/// A group made of classes and parts of classes (« LATIN 4e »).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `Ident`.
    pub ident: String,
    /// `Nom`.
    pub name: String,
    /// `Ident`s of its classes.
    pub classes: Vec<String>,
    /// `Ident`s of its parts of classes.
    pub parts: Vec<String>,
}

/// Something with an `Ident` and a `Nom`: a room, equipment, a part of a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// `Ident`.
    pub ident: String,
    /// `Nom`.
    pub name: String,
}

/// A weekly course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    /// Day in the week, 1 (the weekday of `DatePremierJourSemaine1`) to 7.
    pub day: u8,
    /// `NumeroPlaceDebut`.
    pub first_place: u16,
    /// `NombrePlaces`.
    pub place_count: u16,
    /// `SemainesAnnulation`: weeks when the course is cancelled.
    pub cancelled: Weeks,
    /// What the course is made of, each with its weeks.
    pub items: Vec<CourseItem>,
    /// The line of the element, for reports.
    pub line: usize,
}

/// A subject, teacher, class… of a course, for some weeks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseItem {
    /// What it is.
    pub kind: ItemKind,
    /// Its `Ident`, defined by an element of that kind.
    pub ident: String,
    /// The weeks it holds (`Semaines`).
    pub weeks: Weeks,
}

/// The kinds of [`CourseItem`], named as the file's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    /// `Matiere`.
    Subject,
    /// `Professeur`.
    Teacher,
    /// `Personnel`.
    Staff,
    /// `Classe`.
    Class,
    /// `PartieDeClasse`.
    PartOfClass,
    /// `Groupe`.
    Group,
    /// `Salle`.
    Room,
    /// `Materiel`.
    Equipment,
}

impl ItemKind {
    /// Every kind, in the order a course lists them.
    pub const ALL: [ItemKind; 8] = [
        ItemKind::Subject,
        ItemKind::Teacher,
        ItemKind::Staff,
        ItemKind::Class,
        ItemKind::PartOfClass,
        ItemKind::Group,
        ItemKind::Room,
        ItemKind::Equipment,
    ];

    /// The element's name in the file.
    pub fn element(self) -> &'static str {
        match self {
            ItemKind::Subject => "Matiere",
            ItemKind::Teacher => "Professeur",
            ItemKind::Staff => "Personnel",
            ItemKind::Class => "Classe",
            ItemKind::PartOfClass => "PartieDeClasse",
            ItemKind::Group => "Groupe",
            ItemKind::Room => "Salle",
            ItemKind::Equipment => "Materiel",
        }
    }

    /// The kind of an element's name.
    pub fn of_element(name: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.element() == name)
    }

    /// « une matière », « un professeur »…: for messages.
    pub fn french(self) -> &'static str {
        match self {
            ItemKind::Subject => "une matière",
            ItemKind::Teacher => "un professeur",
            ItemKind::Staff => "un personnel",
            ItemKind::Class => "une classe",
            ItemKind::PartOfClass => "une partie de classe",
            ItemKind::Group => "un groupe",
            ItemKind::Room => "une salle",
            ItemKind::Equipment => "un matériel",
        }
    }
}

/// What a course lacks to become sessions of a class's timetable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// No subject.
    Subject,
    /// No teacher nor staff member.
    Teacher,
    /// No class, part of class nor group.
    Audience,
}

impl Gap {
    /// « sans matière »…: for the dry run's list of courses not imported.
    pub fn french(self) -> &'static str {
        match self {
            Gap::Subject => "sans matière",
            Gap::Teacher => "sans professeur",
            Gap::Audience => "sans classe ni groupe",
        }
    }
}

impl Course {
    /// The weeks the course is held: those of any item, minus the cancelled.
    pub fn weeks(&self) -> Weeks {
        self.items
            .iter()
            .fold(Weeks::NONE, |all, item| all.union(item.weeks))
            .minus(self.cancelled)
    }

    /// The items of one kind held in `week`.
    pub fn items_in_week(&self, kind: ItemKind, week: u8) -> impl Iterator<Item = &CourseItem> {
        self.items
            .iter()
            .filter(move |item| item.kind == kind && item.weeks.contains(week))
    }

    /// What the course lacks (empty when it can be imported).
    pub fn gaps(&self) -> Vec<Gap> {
        let has = |kinds: &[ItemKind]| self.items.iter().any(|i| kinds.contains(&i.kind));
        let mut gaps = Vec::new();
        if !has(&[ItemKind::Subject]) {
            gaps.push(Gap::Subject);
        }
        if !has(&[ItemKind::Teacher, ItemKind::Staff]) {
            gaps.push(Gap::Teacher);
        }
        if !has(&[ItemKind::Class, ItemKind::PartOfClass, ItemKind::Group]) {
            gaps.push(Gap::Audience);
        }
        gaps
    }
}

impl Timetable {
    /// The date of `day` (1–7) of `week` (1–53).
    pub fn date_of(&self, week: u8, day: u8) -> Date {
        self.first_day_week1
            .add_days((i32::from(week) - 1) * 7 + i32::from(day) - 1)
    }

    /// Start and end (minutes since midnight) of a course: the start of its
    /// first place and the end of its last (the file was checked: both exist).
    pub fn hours_of(&self, course: &Course) -> Option<(u16, u16)> {
        let place = |number: u16| self.places.iter().find(|p| p.number == number);
        let first = place(course.first_place)?;
        let last = place(
            course
                .first_place
                .checked_add(course.place_count.max(1) - 1)?,
        )?;
        Some((first.start, last.end))
    }
}
