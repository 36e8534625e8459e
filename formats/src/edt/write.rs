//! Writing a [`Timetable`] as an EDT export: what the tests, the benchmarks
//! and the demo import (no real export is public). The root element of the
//! real payload is not documented publicly; [`parse`](super::parse) accepts
//! any root, and this writer names it `EXPORT_EDT_ENT`.

use std::fmt::Write as _;

use super::{Course, Person, Timetable};

/// How the file is written: the two pains of real exports can be asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// ISO-8859-1 bytes (declared so) instead of UTF-8.
    pub latin1: bool,
    /// Accented letters of names as HTML entities (`&eacute;`), which XML does
    /// not define but these exports contain.
    pub html_entities: bool,
}

/// The export's bytes.
pub fn write(timetable: &Timetable, style: Style) -> Vec<u8> {
    let mut out =
        String::with_capacity(200 * timetable.courses.len() + 100 * timetable.pupils.len());
    let encoding = if style.latin1 { "ISO-8859-1" } else { "UTF-8" };
    let text = |value: &str| attribute(value, style);
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"{encoding}\"?>");
    out.push_str("<EXPORT_EDT_ENT>\n");
    let _ = writeln!(
        out,
        "  <AnneeScolaire DatePremierJourSemaine1=\"{}\"/>",
        timetable.first_day_week1.iso()
    );
    let _ = writeln!(
        out,
        "  <GrilleHoraire DureePlace=\"{}\">",
        timetable.place_minutes
    );
    for place in &timetable.places {
        let _ = writeln!(
            out,
            "    <Place Numero=\"{}\" LibelleHeureDebut=\"{}\" LibelleHeureFin=\"{}\"/>",
            place.number,
            clock(place.start),
            clock(place.end)
        );
    }
    out.push_str("  </GrilleHoraire>\n  <Matieres>\n");
    for subject in &timetable.subjects {
        let _ = writeln!(
            out,
            "    <Matiere Ident=\"{}\" Code=\"{}\" Libelle=\"{}\"/>",
            text(&subject.ident),
            text(&subject.code),
            text(&subject.label)
        );
    }
    out.push_str("  </Matieres>\n  <Professeurs>\n");
    for teacher in &timetable.teachers {
        person(&mut out, "Professeur", teacher, "", style);
        out.push_str("/>\n");
    }
    out.push_str("  </Professeurs>\n  <Personnels>\n");
    for member in &timetable.staff {
        person(&mut out, "Personnel", member, "", style);
        out.push_str("/>\n");
    }
    out.push_str("  </Personnels>\n  <Classes>\n");
    for class in &timetable.classes {
        let _ = write!(
            out,
            "    <Classe Ident=\"{}\" Nom=\"{}\"",
            text(&class.ident),
            text(&class.name)
        );
        if class.parts.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        for part in &class.parts {
            let _ = writeln!(
                out,
                "      <PartieDeClasse Ident=\"{}\" Nom=\"{}\"/>",
                text(&part.ident),
                text(&part.name)
            );
        }
        out.push_str("    </Classe>\n");
    }
    out.push_str("  </Classes>\n  <Groupes>\n");
    for group in &timetable.groups {
        let _ = writeln!(
            out,
            "    <Groupe Ident=\"{}\" Nom=\"{}\">",
            text(&group.ident),
            text(&group.name)
        );
        for class in &group.classes {
            let _ = writeln!(out, "      <Classe Ident=\"{}\"/>", text(class));
        }
        for part in &group.parts {
            let _ = writeln!(out, "      <PartieDeClasse Ident=\"{}\"/>", text(part));
        }
        out.push_str("    </Groupe>\n");
    }
    out.push_str("  </Groupes>\n  <Salles>\n");
    for room in &timetable.rooms {
        let _ = writeln!(
            out,
            "    <Salle Ident=\"{}\" Nom=\"{}\"/>",
            text(&room.ident),
            text(&room.name)
        );
    }
    out.push_str("  </Salles>\n  <Materiels>\n");
    for item in &timetable.equipment {
        let _ = writeln!(
            out,
            "    <Materiel Ident=\"{}\" Nom=\"{}\"/>",
            text(&item.ident),
            text(&item.name)
        );
    }
    out.push_str("  </Materiels>\n  <Eleves>\n");
    for pupil in &timetable.pupils {
        let siecle = pupil
            .siecle_id
            .as_deref()
            .map(|id| format!(" IDSconet=\"{}\"", text(id)))
            .unwrap_or_default();
        person(&mut out, "Eleve", &pupil.person, &siecle, style);
        out.push_str(">\n");
        for (name, stays) in [("Classe", &pupil.classes), ("PartieDeClasse", &pupil.parts)] {
            for stay in stays {
                let _ = write!(out, "      <{name} Ident=\"{}\"", text(&stay.ident));
                if let Some(from) = stay.from {
                    let _ = write!(out, " DateEntree=\"{}\"", from.iso());
                }
                if let Some(to) = stay.to {
                    let _ = write!(out, " DateSortie=\"{}\"", to.iso());
                }
                out.push_str("/>\n");
            }
        }
        out.push_str("    </Eleve>\n");
    }
    out.push_str("  </Eleves>\n  <Cours>\n");
    for course in &timetable.courses {
        write_course(&mut out, course, style);
    }
    out.push_str("  </Cours>\n</EXPORT_EDT_ENT>\n");
    if style.latin1 {
        // Every character of the invented data exists in Latin-1 (a test says so).
        out.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect()
    } else {
        out.into_bytes()
    }
}

fn person(out: &mut String, element: &str, person: &Person, extra: &str, style: Style) {
    let text = |value: &str| attribute(value, style);
    let _ = write!(
        out,
        "    <{element} Ident=\"{}\"{extra} Nom=\"{}\" Prenom=\"{}\"",
        text(&person.ident),
        text(&person.last_name),
        text(&person.first_name)
    );
    if let Some(id) = &person.pronote_id {
        let _ = write!(out, " IDPN=\"{}\"", text(id));
    }
    if let Some(birth) = person.birth_date {
        let (y, m, d) = birth.ymd();
        let _ = write!(out, " DateNaissance=\"{d:02}/{m:02}/{y}\"");
    }
}

fn write_course(out: &mut String, course: &Course, style: Style) {
    let _ = write!(
        out,
        "    <Cours Jour=\"{}\" NumeroPlaceDebut=\"{}\" NombrePlaces=\"{}\"",
        course.day, course.first_place, course.place_count
    );
    if !course.cancelled.is_empty() {
        let _ = write!(
            out,
            " SemainesAnnulation=\"{}\"",
            course.cancelled.to_file()
        );
    }
    out.push_str(">\n");
    for item in &course.items {
        let _ = writeln!(
            out,
            "      <{} Ident=\"{}\" Semaines=\"{}\"/>",
            item.kind.element(),
            attribute(&item.ident, style),
            item.weeks.to_file()
        );
    }
    out.push_str("    </Cours>\n");
}

/// `08h00`, as EDT labels places.
fn clock(minutes: u16) -> String {
    format!("{:02}h{:02}", minutes / 60, minutes % 60)
}

/// An attribute value: XML-escaped, accented letters as HTML entities if asked.
fn attribute(value: &str, style: Style) -> String {
    let escaped = preau_text::escape(value);
    if !style.html_entities {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + 16);
    for c in escaped.chars() {
        match html_entity(c) {
            Some(name) => {
                out.push('&');
                out.push_str(name);
                out.push(';');
            }
            None => out.push(c),
        }
    }
    out
}

fn html_entity(c: char) -> Option<&'static str> {
    Some(match c {
        'é' => "eacute",
        'è' => "egrave",
        'ê' => "ecirc",
        'ë' => "euml",
        'à' => "agrave",
        'â' => "acirc",
        'ç' => "ccedil",
        'î' => "icirc",
        'ï' => "iuml",
        'ô' => "ocirc",
        'ù' => "ugrave",
        'û' => "ucirc",
        'É' => "Eacute",
        'È' => "Egrave",
        'Ç' => "Ccedil",
        _ => return None,
    })
}
