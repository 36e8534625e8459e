//! Reading the payload: one pass of quick-xml gathers the elements of each
//! kind with their direct children, then each kind is read and checked, then
//! every reference is resolved. Every problem is kept (up to
//! [`Problems::MAX`]) so that one upload shows them all.

use std::collections::{HashMap, HashSet};

use preau_text::xml::{error_fr, line_at};
use quick_xml::events::{BytesStart, Event};

use super::{
    Class, Course, CourseItem, Date, Group, ItemKind, Named, Person, Place, Pupil, Stay, Subject,
    Timetable, Weeks,
};
use crate::tree::{Lines, name_and_attributes};
use crate::{Problem, Problems};

/// Elements read as a whole, with their direct children.
const ENTITIES: [&str; 12] = [
    "AnneeScolaire",
    "GrilleHoraire",
    "Matiere",
    "Professeur",
    "Personnel",
    "Eleve",
    "Classe",
    "Groupe",
    "Salle",
    "Materiel",
    "Cours",
    "Responsable",
];

/// Roots of the other files an administrator may pick by mistake.
const OTHER_ROOTS: [(&str, &str); 6] = [
    (
        "EXPORT_INDEX_EDUCATION",
        "c'est l'export chiffré d'EDT (enveloppe EXPORT_INDEX_EDUCATION) : Préau lit l'export déchiffré ; demandez-le à EDT sans chiffrement pour l'ENT, ou faites configurer la clé partenaire de la région",
    ),
    (
        "STS_EDT",
        "c'est un fichier STS Web (sts_emp_…), pas un export EDT",
    ),
    (
        "BEE_ELEVES",
        "c'est un export SIECLE des élèves, pas un export EDT",
    ),
    (
        "BEE_RESPONSABLES",
        "c'est un export SIECLE des responsables, pas un export EDT",
    ),
    (
        "BEE_NOMENCLATURES",
        "c'est un export SIECLE des nomenclatures, pas un export EDT",
    ),
    (
        "ficAlimMENESR",
        "c'est un fichier de l'annuaire académique (AAF), pas un export EDT",
    ),
];

/// An element as found: its name, attributes and line.
#[derive(Debug)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    line: usize,
}

/// An element of [`ENTITIES`] with its direct children.
#[derive(Debug)]
struct Entity {
    element: Element,
    children: Vec<Element>,
}

/// Reads an EDT export (its bytes: UTF-8, or the encoding its XML declaration
/// names, ISO-8859-1 in older exports). Every problem found is returned, with
/// its line and element, in French.
pub fn parse(bytes: &[u8]) -> Result<Timetable, Problems> {
    let mut problems = Problems::default();
    let text = match preau_text::charset::decode(bytes, None) {
        Ok(text) => text,
        Err(unknown) => {
            problems.push(Problem::file(format!(
                "encodage inconnu : « {} » (le fichier doit être en UTF-8 ou en ISO-8859-1)",
                unknown.0
            )));
            return Err(problems);
        }
    };
    let entities = gather(&text, &mut problems)?;
    let timetable = read(&entities, &mut problems);
    match (timetable, problems.is_empty()) {
        (Some(timetable), true) => Ok(timetable),
        _ => Err(problems),
    }
}

/// The pass over the XML: entities with their children, in file order. A
/// syntax error ends the reading (what follows cannot be trusted).
fn gather(text: &str, problems: &mut Problems) -> Result<Vec<Entity>, Problems> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut lines = Lines::default();
    let mut depth = 0usize;
    let mut entity_depth = None;
    let mut entities: Vec<Entity> = Vec::new();
    let mut root_seen = false;
    // Names and lines of the open elements, for a file cut short.
    let mut open: Vec<(String, usize)> = Vec::new();
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let line = line_at(text, reader.error_position());
                problems.push(Problem {
                    line,
                    element: None,
                    message: format!("XML invalide : {}", error_fr(&e)),
                });
                return Err(std::mem::take(problems));
            }
        };
        let (tag, empty) = match &event {
            Event::Start(tag) => (tag, false),
            Event::Empty(tag) => (tag, true),
            Event::End(_) => {
                if entity_depth == Some(depth) {
                    entity_depth = None;
                }
                depth = depth.saturating_sub(1);
                open.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let line = lines.at(text, start);
        let element = element(tag, line, problems);
        depth += 1;
        if !empty {
            open.push((element.name.clone(), line));
        }
        if !root_seen {
            root_seen = true;
            if let Some((_, why)) = OTHER_ROOTS.iter().find(|(root, _)| *root == element.name) {
                problems.push(Problem::file(format!(
                    "Ce fichier n'est pas un export EDT : {why}."
                )));
                return Err(std::mem::take(problems));
            }
        }
        match entity_depth {
            Some(at) if depth == at + 1 => {
                if let Some(entity) = entities.last_mut() {
                    entity.children.push(element);
                }
            }
            Some(_) => {}
            // A container (`<Cours>` around the courses) has no attributes.
            None if ENTITIES.contains(&element.name.as_str()) && !element.attributes.is_empty() => {
                entities.push(Entity {
                    element,
                    children: Vec::new(),
                });
                entity_depth = Some(depth);
            }
            None => {}
        }
        if empty {
            if entity_depth == Some(depth) {
                entity_depth = None;
            }
            depth -= 1;
        }
    }
    if let Some((name, line)) = open.last() {
        problems.push(Problem {
            line: *line,
            element: None,
            message: format!("XML invalide : la balise <{name}> n'est pas fermée"),
        });
        return Err(std::mem::take(problems));
    }
    if !root_seen {
        problems.push(Problem::file("Le fichier est vide : aucun élément XML."));
        return Err(std::mem::take(problems));
    }
    Ok(entities)
}

fn element(tag: &BytesStart, line: usize, problems: &mut Problems) -> Element {
    let (name, attributes) = name_and_attributes(tag, line, problems);
    Element {
        name,
        attributes,
        line,
    }
}

impl Element {
    fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn problem(&self, message: impl Into<String>) -> Problem {
        Problem::at(self.line, &self.name, message)
    }

    fn required(&self, key: &str, problems: &mut Problems) -> Option<String> {
        let value = self.get(key).map(str::to_owned);
        if value.is_none() {
            problems.push(self.problem(format!("l'attribut {key} manque ou est vide")));
        }
        value
    }

    fn number<T: std::str::FromStr>(&self, key: &str, problems: &mut Problems) -> Option<T> {
        let text = self.required(key, problems)?;
        let value = text.parse().ok();
        if value.is_none() {
            problems.push(self.problem(format!(
                "l'attribut {key} vaut « {text} » ; un nombre entier positif est attendu"
            )));
        }
        value
    }

    fn date(&self, key: &str, problems: &mut Problems) -> Option<Date> {
        let text = self.get(key)?;
        let date = date(text);
        if date.is_none() {
            problems.push(self.problem(format!(
                "l'attribut {key} vaut « {text} » ; une date AAAA-MM-JJ ou JJ/MM/AAAA est attendue"
            )));
        }
        date
    }

    fn weeks(&self, key: &str, problems: &mut Problems) -> Weeks {
        match self.get(key).map(Weeks::parse) {
            None => Weeks::NONE,
            Some(Ok(weeks)) => weeks,
            Some(Err(why)) => {
                problems.push(self.problem(format!("attribut {key} : {why}")));
                Weeks::NONE
            }
        }
    }
}

/// `2026-09-01`, `2026-09-01T00:00:00` or `01/09/2026`.
fn date(text: &str) -> Option<Date> {
    if let Some((day, rest)) = text.split_once('/') {
        let (month, year) = rest.split_once('/')?;
        return Date::from_ymd(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    }
    Date::parse_iso(text.get(..10)?)
}

/// `08h00`, `8h30`, `08:00` → minutes since midnight.
fn clock(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(['h', 'H', ':'])?;
    let hours: u16 = hours.trim().parse().ok()?;
    let minutes: u16 = match minutes.trim() {
        "" => 0,
        m => m.parse().ok()?,
    };
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// Reads every entity, then resolves references. `None` when the file lacks
/// what a timetable cannot do without (the year, the grid).
fn read(entities: &[Entity], problems: &mut Problems) -> Option<Timetable> {
    let of = |name: &'static str| entities.iter().filter(move |e| e.element.name == name);
    let year = of("AnneeScolaire").next();
    let first_day_week1 = match year {
        None => {
            problems.push(Problem::file(
                "Ce fichier n'est pas un export EDT vers l'ENT : il n'a pas d'élément <AnneeScolaire> (DatePremierJourSemaine1).",
            ));
            None
        }
        Some(year) => {
            let text = year.element.required("DatePremierJourSemaine1", problems);
            text.and_then(|_| year.element.date("DatePremierJourSemaine1", problems))
        }
    };
    let grid = of("GrilleHoraire").next();
    if grid.is_none() {
        problems.push(Problem::file(
            "Ce fichier n'est pas un export EDT vers l'ENT : il n'a pas d'élément <GrilleHoraire> (les heures des places).",
        ));
    }
    let (place_minutes, places) = grid.map(|g| read_grid(g, problems)).unwrap_or_default();

    let mut idents = Idents::default();
    let subjects = of("Matiere")
        .filter_map(|e| {
            let ident = idents.define(ItemKind::Subject, &e.element, problems)?;
            Some(Subject {
                ident,
                code: e.element.get("Code").unwrap_or_default().to_owned(),
                label: e.element.required("Libelle", problems)?,
            })
        })
        .collect();
    let teachers = of("Professeur")
        .filter_map(|e| read_person(ItemKind::Teacher, &e.element, &mut idents, problems))
        .collect();
    let staff = of("Personnel")
        .filter_map(|e| read_person(ItemKind::Staff, &e.element, &mut idents, problems))
        .collect();
    let classes: Vec<Class> = of("Classe")
        .filter_map(|e| {
            let ident = idents.define(ItemKind::Class, &e.element, problems)?;
            let parts = e
                .children
                .iter()
                .filter(|c| c.name == "PartieDeClasse")
                .filter_map(|c| {
                    Some(Named {
                        ident: idents.define(ItemKind::PartOfClass, c, problems)?,
                        name: c.get("Nom").unwrap_or_default().to_owned(),
                    })
                })
                .collect();
            Some(Class {
                ident,
                name: e.element.required("Nom", problems)?,
                parts,
            })
        })
        .collect();
    let named = |kind, name, idents: &mut Idents, problems: &mut Problems| -> Vec<Named> {
        of(name)
            .filter_map(|e| {
                Some(Named {
                    ident: idents.define(kind, &e.element, problems)?,
                    name: e.element.required("Nom", problems)?,
                })
            })
            .collect()
    };
    let rooms = named(ItemKind::Room, "Salle", &mut idents, problems);
    let equipment = named(ItemKind::Equipment, "Materiel", &mut idents, problems);
    let groups: Vec<Group> = of("Groupe")
        .filter_map(|e| {
            let ident = idents.define(ItemKind::Group, &e.element, problems)?;
            // Classes and their parts are all known by now.
            let refs = |kind: ItemKind, problems: &mut Problems| -> Vec<String> {
                e.children
                    .iter()
                    .filter(|c| c.name == kind.element())
                    .filter_map(|c| {
                        let ident = c.required("Ident", problems)?;
                        idents.check(kind, &ident, c, problems);
                        Some(ident)
                    })
                    .collect()
            };
            let classes = refs(ItemKind::Class, problems);
            let parts = refs(ItemKind::PartOfClass, problems);
            Some(Group {
                ident,
                name: e.element.required("Nom", problems)?,
                classes,
                parts,
            })
        })
        .collect();
    let mut pupil_idents = HashSet::new();
    let pupils: Vec<Pupil> = of("Eleve")
        .filter_map(|e| read_pupil(e, &idents, &mut pupil_idents, problems))
        .collect();
    // Every kind is known by now: references are resolved as they are read.
    let courses: Vec<Course> = of("Cours")
        .filter_map(|e| read_course(e, &places, &idents, problems))
        .collect();

    Some(Timetable {
        first_day_week1: first_day_week1?,
        place_minutes,
        places,
        subjects,
        teachers,
        staff,
        pupils,
        classes,
        groups,
        rooms,
        equipment,
        courses,
    })
}

fn read_grid(grid: &Entity, problems: &mut Problems) -> (u16, Vec<Place>) {
    let minutes = grid.element.number("DureePlace", problems).unwrap_or(0);
    let mut places: Vec<Place> = Vec::new();
    for place in grid.children.iter().filter(|c| c.name == "Place") {
        let Some(number) = place.number::<u16>("Numero", problems) else {
            continue;
        };
        let time = |key: &str, problems: &mut Problems| {
            let text = place.required(key, problems)?;
            let minutes = clock(&text);
            if minutes.is_none() {
                problems.push(place.problem(format!(
                    "l'attribut {key} vaut « {text} » ; une heure comme « 08h00 » est attendue"
                )));
            }
            minutes
        };
        let (Some(start), Some(end)) = (
            time("LibelleHeureDebut", problems),
            time("LibelleHeureFin", problems),
        ) else {
            continue;
        };
        if end <= start {
            problems.push(place.problem(format!("la place {number} finit avant de commencer")));
            continue;
        }
        if places.iter().any(|p| p.number == number) {
            problems.push(place.problem(format!("la place {number} est définie deux fois")));
            continue;
        }
        places.push(Place { number, start, end });
    }
    if places.is_empty() {
        problems.push(grid.element.problem("la grille horaire n'a aucune place"));
    }
    places.sort_by_key(|p| p.number);
    (minutes, places)
}

fn read_person(
    kind: ItemKind,
    element: &Element,
    idents: &mut Idents,
    problems: &mut Problems,
) -> Option<Person> {
    let ident = idents.define(kind, element, problems)?;
    person(element, ident, problems)
}

fn person(element: &Element, ident: String, problems: &mut Problems) -> Option<Person> {
    let last_name = element.required("Nom", problems)?;
    Some(Person {
        ident,
        pronote_id: element.get("IDPN").map(str::to_owned),
        last_name,
        first_name: element.get("Prenom").unwrap_or_default().to_owned(),
        birth_date: element.date("DateNaissance", problems),
        line: element.line,
    })
}

fn read_pupil(
    entity: &Entity,
    idents: &Idents,
    pupil_idents: &mut HashSet<String>,
    problems: &mut Problems,
) -> Option<Pupil> {
    // Pupils have `Ident`s of their own (courses never name a pupil).
    let ident = entity.element.required("Ident", problems)?;
    if !pupil_idents.insert(ident.clone()) {
        problems.push(entity.element.problem(format!(
            "l'Ident « {ident} » est déjà celui d'un élève du fichier"
        )));
        return None;
    }
    let person = person(&entity.element, ident, problems)?;
    let stays = |kind: ItemKind, problems: &mut Problems| -> Vec<Stay> {
        entity
            .children
            .iter()
            .filter(|c| c.name == kind.element())
            .filter_map(|c| {
                let ident = c.required("Ident", problems)?;
                idents.check(kind, &ident, c, problems);
                let stay = Stay {
                    ident,
                    from: c.date("DateEntree", problems),
                    to: c.date("DateSortie", problems),
                };
                if let (Some(from), Some(to)) = (stay.from, stay.to)
                    && to < from
                {
                    problems.push(c.problem(format!(
                        "DateSortie ({}) est avant DateEntree ({})",
                        to.iso(),
                        from.iso()
                    )));
                }
                Some(stay)
            })
            .collect()
    };
    let classes = stays(ItemKind::Class, problems);
    let parts = stays(ItemKind::PartOfClass, problems);
    Some(Pupil {
        person,
        siecle_id: entity
            .element
            .get("IDSconet")
            .or_else(|| entity.element.get("IDSiecle"))
            .map(str::to_owned),
        classes,
        parts,
    })
}

fn read_course(
    entity: &Entity,
    places: &[Place],
    idents: &Idents,
    problems: &mut Problems,
) -> Option<Course> {
    let element = &entity.element;
    let day: u8 = element.number("Jour", problems)?;
    if !(1..=7).contains(&day) {
        problems.push(element.problem(format!(
            "l'attribut Jour vaut « {day} » ; un jour de 1 à 7 est attendu"
        )));
        return None;
    }
    let first_place: u16 = element.number("NumeroPlaceDebut", problems)?;
    let place_count: u16 = element.number("NombrePlaces", problems)?;
    if place_count == 0 {
        problems.push(element.problem("NombrePlaces vaut 0"));
        return None;
    }
    let Some(last_place) = first_place.checked_add(place_count - 1) else {
        problems.push(element.problem(format!(
            "NumeroPlaceDebut ({first_place}) et NombrePlaces ({place_count}) vont au-delà de toute grille"
        )));
        return None;
    };
    if !places.is_empty() {
        for number in [first_place, last_place] {
            if !places.iter().any(|p| p.number == number) {
                problems.push(element.problem(format!(
                    "la place {number} n'existe pas dans la grille horaire (places {} à {})",
                    places[0].number,
                    places[places.len() - 1].number
                )));
                return None;
            }
        }
    }
    let cancelled = element.weeks("SemainesAnnulation", problems);
    let items = entity
        .children
        .iter()
        .filter_map(|child| {
            let kind = ItemKind::of_element(&child.name)?;
            let ident = child.required("Ident", problems)?;
            idents.check(kind, &ident, child, problems);
            Some(CourseItem {
                kind,
                ident,
                weeks: child.weeks("Semaines", problems),
            })
        })
        .collect();
    Some(Course {
        day,
        first_place,
        place_count,
        cancelled,
        items,
        line: element.line,
    })
}

/// The `Ident`s defined, per kind, to refuse duplicates and resolve references.
#[derive(Default)]
struct Idents {
    defined: HashMap<ItemKind, HashSet<String>>,
}

impl Idents {
    fn define(
        &mut self,
        kind: ItemKind,
        element: &Element,
        problems: &mut Problems,
    ) -> Option<String> {
        let ident = element.required("Ident", problems)?;
        if !self.defined.entry(kind).or_default().insert(ident.clone()) {
            problems.push(element.problem(format!(
                "l'Ident « {ident} » est déjà celui d'{} du fichier",
                kind.french()
            )));
            return None;
        }
        Some(ident)
    }

    /// A reference (`<Professeur Ident="P12"/>` in a course) must name an
    /// element of its kind defined in the file.
    fn check(&self, kind: ItemKind, ident: &str, reference: &Element, problems: &mut Problems) {
        let known = self
            .defined
            .get(&kind)
            .is_some_and(|set| set.contains(ident));
        if !known {
            problems.push(reference.problem(format!(
                "Ident « {ident} » : aucun élément <{}> du fichier n'a cet Ident",
                kind.element()
            )));
        }
    }
}

#[cfg(test)]
mod tests;
