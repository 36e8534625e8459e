//! Typed values from what a form sends, and the rules a structure keeps, with
//! a French message per field (form field names: `nom`, `debut`, `fin`,
//! `code`, `libelle`, `capacite`).

use preau_text::Date;
use preau_text::date::{french_clock, parse_clock};

use super::{Closure, Item, Kind, Period, Room, SchoolYear, Slot, Structure, Subject};

/// (form field, French message), in the form's order.
pub type FieldErrors = Vec<(&'static str, String)>;

/// Longest school year accepted, in days (13 months).
const LONGEST_YEAR_DAYS: i32 = 400;
/// Longest name or label.
const LONGEST_NAME: usize = 80;

fn required_name(errors: &mut FieldErrors, field: &'static str, text: &str, what: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        errors.push((field, format!("Indiquez {what}.")));
    } else if text.chars().count() > LONGEST_NAME {
        errors.push((field, format!("{LONGEST_NAME} caractères au plus.")));
    }
    text.to_string()
}

fn day(errors: &mut FieldErrors, field: &'static str, text: &str, what: &str) -> Option<Date> {
    let text = text.trim();
    if text.is_empty() {
        errors.push((field, format!("Indiquez {what}.")));
        return None;
    }
    let parsed = Date::parse_iso(text);
    if parsed.is_none() {
        errors.push((
            field,
            format!(
                "« {text} » n'est pas une date : écrivez-la AAAA-MM-JJ (par exemple 2026-09-01)."
            ),
        ));
    }
    parsed
}

/// First and last day from `debut` and `fin`, the last not before the first.
fn days(errors: &mut FieldErrors, field: &dyn Fn(&str) -> String) -> Option<(Date, Date)> {
    let first = day(errors, "debut", &field("debut"), "le premier jour");
    let last = day(errors, "fin", &field("fin"), "le dernier jour");
    let (first, last) = (first?, last?);
    if last < first {
        errors.push((
            "fin",
            format!(
                "Le dernier jour ({}) est avant le premier ({}).",
                last.french_long(),
                first.french_long()
            ),
        ));
        return None;
    }
    Some((first, last))
}

/// The year's first and last day as typed.
pub fn parse_year(field: &dyn Fn(&str) -> String) -> Result<(Date, Date), FieldErrors> {
    let mut errors = FieldErrors::new();
    match days(&mut errors, field) {
        Some(days) if errors.is_empty() => Ok(days),
        _ => Err(errors),
    }
}

/// An item of `kind` as typed, with id `id`; every field's error at once.
pub fn parse_item(
    kind: Kind,
    id: &str,
    field: &dyn Fn(&str) -> String,
) -> Result<Item, FieldErrors> {
    let mut errors = FieldErrors::new();
    let id = id.to_string();
    let item = match kind {
        Kind::Period | Kind::Closure => {
            let what = if kind == Kind::Period {
                "le nom de la période"
            } else {
                "le nom de la fermeture"
            };
            let name = required_name(&mut errors, "nom", &field("nom"), what);
            days(&mut errors, field).map(|(first, last)| match kind {
                Kind::Period => Item::Period(Period {
                    id,
                    name,
                    first,
                    last,
                }),
                _ => Item::Closure(Closure {
                    id,
                    name,
                    first,
                    last,
                }),
            })
        }
        Kind::Slot => {
            let name = required_name(
                &mut errors,
                "nom",
                &field("nom"),
                "le nom du créneau (M1, S2…)",
            );
            let mut time = |key: &'static str, what: &str| {
                let text = field(key);
                let parsed = parse_clock(&text);
                if text.trim().is_empty() {
                    errors.push((key, format!("Indiquez {what}.")));
                } else if parsed.is_none() {
                    errors.push((
                        key,
                        format!(
                            "« {} » n'est pas une heure : écrivez-la HH:MM (par exemple 08:00).",
                            text.trim()
                        ),
                    ));
                }
                parsed
            };
            let start = time("debut", "l'heure de début");
            let end = time("fin", "l'heure de fin");
            match (start, end) {
                (Some(start), Some(end)) if end <= start => {
                    errors.push((
                        "fin",
                        format!(
                            "La fin ({}) doit être après le début ({}).",
                            french_clock(end),
                            french_clock(start)
                        ),
                    ));
                    None
                }
                (Some(start), Some(end)) => Some(Item::Slot(Slot {
                    id,
                    name,
                    start,
                    end,
                })),
                _ => None,
            }
        }
        Kind::Subject => {
            let code = field("code").trim().to_uppercase();
            if code.is_empty() {
                errors.push(("code", "Indiquez le code de la matière (code STS/BCN, par exemple 030201, ou un code court).".into()));
            } else if code.len() > 16
                || !code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                errors.push(("code", format!("« {code} » : 16 lettres sans accent, chiffres, tirets ou soulignés au plus.")));
            }
            let label = required_name(
                &mut errors,
                "libelle",
                &field("libelle"),
                "le libellé de la matière",
            );
            Some(Item::Subject(Subject { id, code, label }))
        }
        Kind::Room => {
            let name = required_name(&mut errors, "nom", &field("nom"), "le nom de la salle");
            let typed = field("capacite");
            let capacity = match typed.trim() {
                "" => None,
                text => match text.parse::<u32>() {
                    Ok(n) if (1..=10_000).contains(&n) => Some(n),
                    _ => {
                        errors.push(("capacite", format!("« {text} » : indiquez un nombre de places entre 1 et 10 000, ou rien.")));
                        None
                    }
                },
            };
            Some(Item::Room(Room { id, name, capacity }))
        }
    };
    match item {
        Some(item) if errors.is_empty() => Ok(item),
        _ => Err(errors),
    }
}

fn span(first: Date, last: Date) -> String {
    if first == last {
        format!("le {}", first.french_long())
    } else {
        format!("du {} au {}", first.french_long(), last.french_long())
    }
}

/// Days inside the year, else the errors that say which end is out.
fn inside_year(errors: &mut FieldErrors, year: &SchoolYear, first: Date, last: Date, what: &str) {
    if first < year.first || first > year.last {
        errors.push((
            "debut",
            format!(
                "{what} commence hors de l'année scolaire ({}).",
                span(year.first, year.last)
            ),
        ));
    }
    if last > year.last || last < year.first {
        errors.push((
            "fin",
            format!(
                "{what} finit hors de l'année scolaire ({}).",
                span(year.first, year.last)
            ),
        ));
    }
}

/// Whether two names are the same for people (case and accents aside).
fn same_name(a: &str, b: &str) -> bool {
    preau_text::fold::search_key(a) == preau_text::fold::search_key(b)
}

/// The rules `item` must keep with the rest of `current` (itself excepted, by id).
pub fn item(current: &Structure, item: &Item) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let Some(year) = &current.year else {
        errors.push(("annee", "Enregistrez d'abord l'année scolaire.".into()));
        return errors;
    };
    let others = |kind| {
        current
            .items(kind)
            .into_iter()
            .filter(move |other: &Item| other.id() != item.id())
    };
    match item {
        Item::Period(p) => {
            inside_year(&mut errors, year, p.first, p.last, "La période");
            for other in current.periods.iter().filter(|o| o.id != p.id) {
                if same_name(&other.name, &p.name) {
                    errors.push((
                        "nom",
                        format!("Une période s'appelle déjà « {} ».", other.name),
                    ));
                }
                if other.first <= p.last && p.first <= other.last {
                    errors.push((
                        "debut",
                        format!(
                            "La période chevauche « {} » ({}).",
                            other.name,
                            span(other.first, other.last)
                        ),
                    ));
                }
            }
        }
        Item::Closure(c) => {
            inside_year(&mut errors, year, c.first, c.last, "La fermeture");
            if others(Kind::Closure).any(|o| matches!(&o, Item::Closure(o) if o.first == c.first && o.last == c.last && same_name(&o.name, &c.name))) {
                errors.push(("nom", format!("Cette fermeture existe déjà ({}).", span(c.first, c.last))));
            }
        }
        Item::Slot(s) => {
            for other in current.slots.iter().filter(|o| o.id != s.id) {
                if same_name(&other.name, &s.name) {
                    errors.push((
                        "nom",
                        format!("Un créneau s'appelle déjà « {} ».", other.name),
                    ));
                }
                if other.start < s.end && s.start < other.end {
                    errors.push(("debut", format!(
                        "Le créneau chevauche « {} » ({} – {}) : une pause n'est pas un créneau.",
                        other.name, french_clock(other.start), french_clock(other.end)
                    )));
                }
            }
        }
        Item::Subject(s) => {
            if let Some(other) = current
                .subjects
                .iter()
                .find(|o| o.id != s.id && o.code == s.code)
            {
                errors.push((
                    "code",
                    format!(
                        "Le code « {} » est déjà celui de « {} ».",
                        s.code, other.label
                    ),
                ));
            }
        }
        Item::Room(r) => {
            if current
                .rooms
                .iter()
                .any(|o| o.id != r.id && same_name(&o.name, &r.name))
            {
                errors.push(("nom", format!("Une salle s'appelle déjà « {} ».", r.name)));
            }
        }
    }
    errors
}

/// The rules a year keeps: a sensible length, and every period and closure inside.
pub fn year(current: &Structure, year: &SchoolYear) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if year.last.days() - year.first.days() > LONGEST_YEAR_DAYS {
        errors.push(("fin", "Une année scolaire dure au plus 13 mois.".into()));
    }
    let dated = current
        .periods
        .iter()
        .map(|p| ("la période", &p.name, p.first, p.last))
        .chain(
            current
                .closures
                .iter()
                .map(|c| ("la fermeture", &c.name, c.first, c.last)),
        );
    for (what, name, first, last) in dated {
        if first < year.first {
            errors.push((
                "debut",
                format!(
                    "Ce jour est après le début de {what} « {name} » ({}) : modifiez-la d'abord.",
                    first.french_long()
                ),
            ));
        }
        if last > year.last {
            errors.push((
                "fin",
                format!(
                    "Ce jour est avant la fin de {what} « {name} » ({}) : modifiez-la d'abord.",
                    last.french_long()
                ),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form<'a>(fields: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> String + 'a {
        move |name| {
            fields
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        }
    }

    fn d(text: &str) -> Date {
        Date::parse_iso(text).unwrap()
    }

    fn structure() -> Structure {
        Structure {
            year: Some(SchoolYear {
                id: "2026".into(),
                first: d("2026-09-01"),
                last: d("2027-07-03"),
            }),
            periods: vec![Period {
                id: "t1".into(),
                name: "Trimestre 1".into(),
                first: d("2026-09-01"),
                last: d("2026-11-30"),
            }],
            slots: vec![Slot {
                id: "m1".into(),
                name: "M1".into(),
                start: 480,
                end: 535,
            }],
            subjects: vec![Subject {
                id: "fr".into(),
                code: "030201".into(),
                label: "Français".into(),
            }],
            rooms: vec![Room {
                id: "s1".into(),
                name: "Salle 12".into(),
                capacity: Some(30),
            }],
            ..Default::default()
        }
    }

    fn messages(errors: &FieldErrors, field: &str) -> String {
        errors
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    }

    #[test]
    fn typed_values_are_parsed_with_an_error_per_field() {
        let errors = parse_item(
            Kind::Closure,
            "x",
            &form(&[("nom", ""), ("debut", "2026-02-30"), ("fin", "demain")]),
        )
        .unwrap_err();
        assert_eq!(messages(&errors, "nom"), "Indiquez le nom de la fermeture.");
        assert!(messages(&errors, "debut").contains("« 2026-02-30 » n'est pas une date"));
        assert!(messages(&errors, "fin").contains("« demain »"));

        let errors = parse_item(
            Kind::Closure,
            "x",
            &form(&[
                ("nom", "Pont"),
                ("debut", "2027-05-07"),
                ("fin", "2027-05-05"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            messages(&errors, "fin"),
            "Le dernier jour (5 mai 2027) est avant le premier (7 mai 2027)."
        );

        let errors = parse_item(
            Kind::Slot,
            "x",
            &form(&[("nom", "M2"), ("debut", "10:00"), ("fin", "9h")]),
        )
        .unwrap_err();
        assert_eq!(
            messages(&errors, "fin"),
            "La fin (9 h 00) doit être après le début (10 h 00)."
        );
        assert!(
            parse_item(
                Kind::Slot,
                "x",
                &form(&[("nom", "M2"), ("debut", "25:00"), ("fin", "")])
            )
            .unwrap_err()
            .len()
                == 2
        );

        let errors = parse_item(
            Kind::Subject,
            "x",
            &form(&[("code", "fr ançais"), ("libelle", "")]),
        )
        .unwrap_err();
        assert!(messages(&errors, "code").contains("16 lettres"));
        assert_eq!(
            messages(&errors, "libelle"),
            "Indiquez le libellé de la matière."
        );
        assert_eq!(
            parse_item(
                Kind::Subject,
                "x",
                &form(&[("code", " l1300 "), ("libelle", "Mathématiques")])
            )
            .unwrap(),
            Item::Subject(Subject {
                id: "x".into(),
                code: "L1300".into(),
                label: "Mathématiques".into()
            })
        );

        let errors =
            parse_item(Kind::Room, "x", &form(&[("nom", "CDI"), ("capacite", "0")])).unwrap_err();
        assert!(messages(&errors, "capacite").contains("entre 1 et 10 000"));
        assert_eq!(
            parse_item(Kind::Room, "x", &form(&[("nom", "CDI"), ("capacite", "")])).unwrap(),
            Item::Room(Room {
                id: "x".into(),
                name: "CDI".into(),
                capacity: None
            })
        );
        assert!(parse_year(&form(&[("debut", "2026-09-01"), ("fin", "2026-08-31")])).is_err());
    }

    #[test]
    fn a_period_stays_inside_the_year_and_overlaps_no_other() {
        let s = structure();
        let period = |name: &str, first, last| {
            Item::Period(Period {
                id: "new".into(),
                name: name.into(),
                first: d(first),
                last: d(last),
            })
        };
        assert!(item(&s, &period("Trimestre 2", "2026-12-01", "2027-03-05")).is_empty());
        let errors = item(&s, &period("Trimestre 3", "2027-03-06", "2027-07-10"));
        assert_eq!(
            messages(&errors, "fin"),
            "La période finit hors de l'année scolaire (du 1er septembre 2026 au 3 juillet 2027)."
        );
        let errors = item(&s, &period("trimestre 1", "2026-11-15", "2027-02-01"));
        assert_eq!(
            messages(&errors, "nom"),
            "Une période s'appelle déjà « Trimestre 1 »."
        );
        assert_eq!(
            messages(&errors, "debut"),
            "La période chevauche « Trimestre 1 » (du 1er septembre 2026 au 30 novembre 2026)."
        );
        // Editing a period does not compare it with itself.
        let mut t1 = s.periods[0].clone();
        t1.last = d("2026-12-04");
        assert!(item(&s, &Item::Period(t1)).is_empty());
        let mut shorter = s.clone();
        shorter.periods.push(Period {
            id: "t2".into(),
            name: "T2".into(),
            first: d("2026-12-10"),
            last: d("2027-03-01"),
        });
        assert_eq!(
            shorter.period_gaps(),
            vec![
                (d("2026-12-01"), d("2026-12-09")),
                (d("2027-03-02"), d("2027-07-03"))
            ]
        );
    }

    #[test]
    fn slots_do_not_overlap_and_codes_and_rooms_are_unique() {
        let s = structure();
        let slot = |name: &str, start, end| {
            Item::Slot(Slot {
                id: "new".into(),
                name: name.into(),
                start,
                end,
            })
        };
        assert!(
            item(&s, &slot("M2", 535, 590)).is_empty(),
            "touching is not overlapping"
        );
        assert_eq!(
            messages(&item(&s, &slot("M2", 530, 590),), "debut"),
            "Le créneau chevauche « M1 » (8 h 00 – 8 h 55) : une pause n'est pas un créneau."
        );
        assert!(messages(&item(&s, &slot("m1", 600, 655)), "nom").contains("« M1 »"));
        let subject = Item::Subject(Subject {
            id: "new".into(),
            code: "030201".into(),
            label: "Lettres".into(),
        });
        assert_eq!(
            messages(&item(&s, &subject), "code"),
            "Le code « 030201 » est déjà celui de « Français »."
        );
        let room = Item::Room(Room {
            id: "new".into(),
            name: "salle 12".into(),
            capacity: None,
        });
        assert_eq!(
            messages(&item(&s, &room), "nom"),
            "Une salle s'appelle déjà « salle 12 »."
        );
    }

    #[test]
    fn closures_are_inside_the_year_and_not_twice() {
        let mut s = structure();
        let closure = |first, last| {
            Item::Closure(Closure {
                id: "new".into(),
                name: "Vacances de Noël".into(),
                first: d(first),
                last: d(last),
            })
        };
        assert!(item(&s, &closure("2026-12-20", "2027-01-03")).is_empty());
        s.closures.push(Closure {
            id: "c1".into(),
            name: "Vacances de Noël".into(),
            first: d("2026-12-20"),
            last: d("2027-01-03"),
        });
        assert!(
            messages(&item(&s, &closure("2026-12-20", "2027-01-03")), "nom")
                .contains("existe déjà")
        );
        assert!(
            messages(&item(&s, &closure("2026-08-20", "2026-09-03")), "debut")
                .contains("hors de l'année")
        );
        // The year cannot shrink under its periods and closures.
        let shrunk = SchoolYear {
            id: "2026".into(),
            first: d("2026-09-02"),
            last: d("2026-12-31"),
        };
        let errors = year(&s, &shrunk);
        assert!(messages(&errors, "debut").contains("« Trimestre 1 »"));
        assert!(messages(&errors, "fin").contains("« Vacances de Noël »"));
        let long = SchoolYear {
            id: "2026".into(),
            first: d("2026-09-01"),
            last: d("2027-12-31"),
        };
        assert!(messages(&year(&Structure::default(), &long), "fin").contains("13 mois"));
    }
}
