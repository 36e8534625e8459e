use super::*;
use crate::edt::sample::Plan;
use crate::edt::{Gap, Style, write};

fn monday() -> Date {
    Date::parse_iso("2026-08-31").unwrap()
}

/// The lines a parse records, forgotten: generated values have none.
fn without_lines(mut timetable: Timetable) -> Timetable {
    for person in timetable
        .teachers
        .iter_mut()
        .chain(timetable.staff.iter_mut())
        .chain(timetable.pupils.iter_mut().map(|p| &mut p.person))
    {
        person.line = 0;
    }
    for course in &mut timetable.courses {
        course.line = 0;
    }
    timetable
}

fn problems(xml: &str) -> Vec<String> {
    parse(xml.as_bytes())
        .expect_err("le fichier devrait être refusé")
        .list
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// A small valid export around `courses` (and extra definitions).
fn small(extra: &str, courses: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<EXPORT>
  <AnneeScolaire DatePremierJourSemaine1="2026-08-31"/>
  <GrilleHoraire DureePlace="55">
    <Place Numero="1" LibelleHeureDebut="08h00" LibelleHeureFin="08h55"/>
    <Place Numero="2" LibelleHeureDebut="09h00" LibelleHeureFin="09h55"/>
  </GrilleHoraire>
  <Matieres><Matiere Ident="M1" Code="MATHS" Libelle="Math&eacute;matiques"/></Matieres>
  <Professeurs><Professeur Ident="P1" IDPN="A1B2" Nom="DUPONT" Prenom="Jean" DateNaissance="12/03/1980"/></Professeurs>
  <Classes><Classe Ident="C1" Nom="4A"><PartieDeClasse Ident="C1G1" Nom="4A G1"/></Classe></Classes>
  <Salles><Salle Ident="S1" Nom="Salle 101"/></Salles>
  <Etiquettes><Etiquette Ident="X" Nom="ignorée"/></Etiquettes>
  {extra}
  <Cours>
{courses}
  </Cours>
</EXPORT>"#
    )
}

const COURSE: &str = r#"    <Cours Jour="1" NumeroPlaceDebut="1" NombrePlaces="2">
      <Matiere Ident="M1" Semaines="14"/>
      <Professeur Ident="P1" Semaines="14"/>
      <Classe Ident="C1" Semaines="14"/>
      <Salle Ident="S1" Semaines="6"/>
    </Cours>"#;

#[test]
fn a_small_export_is_read() {
    let timetable = parse(small("", COURSE).as_bytes()).unwrap();
    assert_eq!(timetable.first_day_week1, monday());
    assert_eq!(timetable.place_minutes, 55);
    assert_eq!(timetable.places.len(), 2);
    assert_eq!(
        timetable.subjects[0].label, "Mathématiques",
        "HTML entity decoded"
    );
    let teacher = &timetable.teachers[0];
    assert_eq!(teacher.pronote_id.as_deref(), Some("A1B2"));
    assert_eq!(teacher.birth_date, Date::from_ymd(1980, 3, 12));
    assert_eq!(timetable.classes[0].parts[0].name, "4A G1");
    let course = &timetable.courses[0];
    assert_eq!(course.line, 15);
    assert_eq!(timetable.hours_of(course), Some((480, 595)));
    assert_eq!(course.weeks().iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(course.items_in_week(ItemKind::Room, 3).count(), 0);
    assert_eq!(course.items_in_week(ItemKind::Room, 2).count(), 1);
    assert!(course.gaps().is_empty());
    assert_eq!(timetable.date_of(2, 3).iso(), "2026-09-09");
}

#[test]
fn a_course_without_teacher_is_read_and_says_what_it_lacks() {
    let course = r#"<Cours Jour="2" NumeroPlaceDebut="1" NombrePlaces="1"><Salle Ident="S1" Semaines="2"/></Cours>"#;
    let timetable = parse(small("", course).as_bytes()).unwrap();
    assert_eq!(
        timetable.courses[0].gaps(),
        [Gap::Subject, Gap::Teacher, Gap::Audience]
    );
}

#[test]
fn every_problem_is_reported_with_its_line_and_element() {
    let courses = r#"    <Cours Jour="9" NumeroPlaceDebut="1" NombrePlaces="1"/>
    <Cours Jour="1" NumeroPlaceDebut="2" NombrePlaces="2"/>
    <Cours Jour="1" NumeroPlaceDebut="1" NombrePlaces="1" SemainesAnnulation="abc">
      <Professeur Ident="P9" Semaines="2"/>
      <Classe Ident="C1" Semaines="1152921504606846976"/>
    </Cours>"#;
    let found = problems(&small(
        r#"<Salles><Salle Ident="S1" Nom="Doublon"/></Salles>"#,
        courses,
    ));
    assert_eq!(
        found,
        [
            "ligne 13, élément <Salle> : l'Ident « S1 » est déjà celui d'une salle du fichier",
            "ligne 15, élément <Cours> : l'attribut Jour vaut « 9 » ; un jour de 1 à 7 est attendu",
            "ligne 16, élément <Cours> : la place 3 n'existe pas dans la grille horaire (places 1 à 2)",
            "ligne 17, élément <Cours> : attribut SemainesAnnulation : « abc » n'est pas un masque de semaines (un nombre entier attendu)",
            "ligne 18, élément <Professeur> : Ident « P9 » : aucun élément <Professeur> du fichier n'a cet Ident",
            "ligne 19, élément <Classe> : attribut Semaines : le masque de semaines « 1152921504606846976 » contient la semaine 60 ; une année en a au plus 53",
        ]
    );
}

#[test]
fn a_course_past_the_last_place_number_is_refused_not_wrapped() {
    let course = r#"<Cours Jour="1" NumeroPlaceDebut="65535" NombrePlaces="2"><Matiere Ident="M1" Semaines="2"/></Cours>"#;
    let found = problems(&small("", course));
    assert!(found[0].contains("au-delà de toute grille"), "{found:?}");
}

#[test]
fn pupils_and_groups_name_classes_of_the_file() {
    let extra = r#"<Groupes><Groupe Ident="G1" Nom="LATIN"><PartieDeClasse Ident="C1G1"/><Classe Ident="C7"/></Groupe></Groupes>
  <Eleves><Eleve Ident="E1" Nom="MARTIN" Prenom="Emma" IDSconet="123"><Classe Ident="C1" DateEntree="2026-09-01" DateSortie="2026-08-01"/></Eleve>
  <Eleve Ident="E1" Nom="MARTIN" Prenom="Paul"/></Eleves>"#;
    let found = problems(&small(extra, COURSE));
    assert_eq!(
        found,
        [
            "ligne 13, élément <Classe> : Ident « C7 » : aucun élément <Classe> du fichier n'a cet Ident",
            "ligne 14, élément <Classe> : DateSortie (2026-08-01) est avant DateEntree (2026-09-01)",
            "ligne 15, élément <Eleve> : l'Ident « E1 » est déjà celui d'un élève du fichier",
        ]
    );
}

#[test]
fn what_is_not_an_edt_export_says_what_it_is() {
    let said = |xml: &str| problems(xml).join("\n");
    assert!(said("").contains("vide"));
    assert!(
        said("ceci n'est pas du XML <").contains("XML invalide"),
        "{}",
        said("ceci n'est pas du XML <")
    );
    assert!(said("<STS_EDT><DONNEES/></STS_EDT>").contains("STS Web"));
    assert!(
        said("<EXPORT_INDEX_EDUCATION><CONTENU/></EXPORT_INDEX_EDUCATION>").contains("chiffré")
    );
    assert!(said("<BEE_ELEVES/>").contains("SIECLE"));
    assert!(said("<ficAlimMENESR/>").contains("AAF"));
    let other = said("<racine><autre/></racine>");
    assert!(
        other.contains("<AnneeScolaire>") && other.contains("<GrilleHoraire>"),
        "{other}"
    );
    let cut = said("<EXPORT>\n  <Cours>\n");
    assert_eq!(
        cut,
        "ligne 2 : XML invalide : la balise <Cours> n'est pas fermée"
    );
    let unclosed = said("<a>\n<b>\n</a>");
    assert!(unclosed.starts_with("ligne 3 : XML invalide"), "{unclosed}");
    let odd = b"<?xml version=\"1.0\" encoding=\"koi8-t\"?><a n=\"\xe9\"/>";
    assert!(parse(odd).unwrap_err().report().contains("koi8-t"));
}

#[test]
fn a_generated_college_reads_back_the_same_in_every_style() {
    let college = Plan::college(monday(), 7).generate();
    for style in [
        Style::default(),
        Style {
            latin1: true,
            html_entities: false,
        },
        Style {
            latin1: true,
            html_entities: true,
        },
    ] {
        let bytes = write(&college, style);
        let read = parse(&bytes).unwrap_or_else(|p| panic!("{style:?}: {p}"));
        assert_eq!(without_lines(read), college, "{style:?}");
    }
    let latin1 = write(
        &college,
        Style {
            latin1: true,
            html_entities: false,
        },
    );
    let marks = latin1.iter().filter(|&&b| b == b'?').count();
    assert_eq!(
        marks, 2,
        "every invented character exists in Latin-1 (only <?xml … ?> has a ?)"
    );
}

#[test]
fn a_generated_college_has_a_college_s_size_and_no_one_in_two_places() {
    let college = Plan::college(monday(), 7).generate();
    assert_eq!(college.classes.len(), 25);
    assert_eq!(college.pupils.len(), 600);
    let teachers = college.teachers.len();
    assert!((35..=60).contains(&teachers), "{teachers} professeurs");
    let courses = college.courses.len();
    assert!((700..=1000).contains(&courses), "{courses} cours");
    let broken = college
        .courses
        .iter()
        .filter(|c| !c.gaps().is_empty())
        .count();
    assert_eq!(broken, 0);
    assert_no_overlap(&college);
    let lycee = Plan::lycee(monday(), 7).generate();
    assert_eq!(lycee.pupils.len(), 1485);
    assert_no_overlap(&lycee);
    assert_eq!(
        Plan::college(monday(), 7).generate(),
        college,
        "same seed, same file"
    );
}

/// No teacher, room, class or part in two courses at once, any week.
fn assert_no_overlap(timetable: &Timetable) {
    let mut seen = std::collections::HashMap::new();
    for (index, course) in timetable.courses.iter().enumerate() {
        for week in course.weeks().iter() {
            for place in course.first_place..course.first_place + course.place_count {
                for item in course
                    .items
                    .iter()
                    .filter(|i| i.kind != ItemKind::Subject && i.weeks.contains(week))
                {
                    let key = (item.kind, item.ident.clone(), week, course.day, place);
                    if let Some(other) = seen.insert(key.clone(), index) {
                        panic!("{key:?} dans les cours {other} et {index}");
                    }
                }
            }
        }
    }
}

#[test]
fn a_timetable_is_built_around_an_existing_school() {
    use crate::edt::sample::{School, SchoolClass, SchoolTeacher};
    let pupils = |names: &[(&str, &str)]| -> Vec<(String, String, Option<Date>)> {
        names
            .iter()
            .map(|(l, f)| ((*l).into(), (*f).into(), None))
            .collect()
    };
    let class = |name: &str, level: &str, names: &[(&str, &str)]| SchoolClass {
        name: name.into(),
        level: level.into(),
        pupils: pupils(names),
    };
    let school = School {
        classes: vec![
            class("6A", "6e", &[("Garnier", "Léa"), ("Faure", "Hugo")]),
            class("4A", "4e", &[("Martin", "Emma"), ("Lopez", "Camille")]),
            class("3B", "3e", &[("Boyer", "Léo"), ("Denis", "Alice")]),
        ],
        teachers: vec![SchoolTeacher {
            last_name: "Dupont".into(),
            first_name: "Jean".into(),
            subjects: vec!["FRANC".into(), "LATIN".into()],
            classes: vec!["4A".into(), "3B".into()],
        }],
    };
    let timetable = Plan::for_school(monday(), 1, school).generate();
    assert_eq!(
        timetable
            .classes
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["6A", "4A", "3B"]
    );
    let emma = timetable
        .pupils
        .iter()
        .find(|p| p.person.first_name == "Emma")
        .unwrap();
    assert_eq!(emma.person.last_name, "Martin");
    assert_eq!(emma.classes[0].ident, timetable.classes[1].ident);
    assert!(
        emma.classes[0].from.is_none(),
        "the school's pupils are all there all year"
    );
    let jean = timetable
        .teachers
        .iter()
        .find(|t| t.last_name == "Dupont")
        .unwrap();
    let names: std::collections::HashMap<&str, &str> = timetable
        .classes
        .iter()
        .flat_map(|c| {
            std::iter::once((c.ident.as_str(), c.name.as_str())).chain(
                c.parts
                    .iter()
                    .map(move |p| (p.ident.as_str(), c.name.as_str())),
            )
        })
        .collect();
    let jeans: Vec<&Course> = timetable
        .courses
        .iter()
        .filter(|c| {
            c.items
                .iter()
                .any(|i| i.kind == ItemKind::Teacher && i.ident == jean.ident)
        })
        .collect();
    assert!(jeans.len() >= 8, "{} cours", jeans.len());
    for course in &jeans {
        for item in course
            .items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Class | ItemKind::PartOfClass))
        {
            assert!(
                ["4A", "3B"].contains(&names[item.ident.as_str()]),
                "{course:?}"
            );
        }
    }
    assert_no_overlap(&timetable);
    assert_eq!(
        without_lines(parse(&write(&timetable, Style::default())).unwrap()),
        timetable
    );
}
