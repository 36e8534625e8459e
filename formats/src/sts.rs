//! STS Web's export for timetable software (`sts_emp_<UAI>_<année>.xml`,
//! root `STS_EDT`): the establishment's teachers (`INDIVIDU`, with their
//! disciplines and the classes they are *professeur principal* of), its
//! classes (`DIVISION`) and groups (`GROUPE`, made of classes) with their
//! *services* — a subject and the teachers who teach it there —, and the
//! subjects' nomenclature. Values are element texts and attributes:
//!
//! ```text
//! STS_EDT/PARAMETRES/{UAJ, ANNEE_SCOLAIRE}
//! STS_EDT/DONNEES/INDIVIDUS/INDIVIDU[@ID, @TYPE]/{NOM_USAGE, NOM_PATRONYMIQUE, PRENOM,
//!     CIVILITE, DATE_NAISSANCE, GRADE, FONCTION, PROFS_PRINC/PROF_PRINC/CODE_STRUCTURE,
//!     DISCIPLINES/DISCIPLINE[@CODE]/LIBELLE_COURT}
//! STS_EDT/DONNEES/STRUCTURE/DIVISIONS/DIVISION[@CODE]/SERVICES/SERVICE[@CODE_MATIERE,
//!     @CODE_MOD_COURS]/ENSEIGNANTS/ENSEIGNANT[@ID, @TYPE]
//! STS_EDT/DONNEES/STRUCTURE/GROUPES/GROUPE[@CODE]/{LIBELLE_LONG,
//!     DIVISIONS_APPARTENANCE/DIVISION_APPARTENANCE[@CODE], SERVICES/…}
//! STS_EDT/NOMENCLATURES/MATIERES/MATIERE[@CODE]/{CODE_GESTION, LIBELLE_COURT, LIBELLE_LONG}
//! ```
//!
//! [`parse`] checks what the timetable import relies on and reports every
//! problem with its line: a service whose teacher or subject the file does not
//! define, a group belonging to a class that does not exist, duplicates, a file
//! of another establishment.

use std::collections::HashSet;

use preau_text::Date;

use crate::tree::{self, Node};
use crate::{Problem, Problems};

/// What an STS Web export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sts {
    /// `PARAMETRES/UAJ`: the establishment's UAI.
    pub uai: Option<String>,
    /// `PARAMETRES/ANNEE_SCOLAIRE` (the year it starts: « 2026 »).
    pub year: Option<String>,
    /// The subjects' nomenclature.
    pub subjects: Vec<Subject>,
    /// Teachers and other staff.
    pub people: Vec<Individual>,
    /// Classes with their services.
    pub divisions: Vec<Division>,
    /// Groups with their classes and services.
    pub groups: Vec<Group>,
}

/// A subject of the nomenclature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `@CODE` (six digits, the national code: « 030201 »).
    pub code: String,
    /// `CODE_GESTION` (« ANG1 »).
    pub management_code: String,
    /// `LIBELLE_COURT`.
    pub short_label: String,
    /// `LIBELLE_LONG`.
    pub long_label: String,
}

/// A person (`INDIVIDU`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Individual {
    /// `@ID`: STS's number, stable from one year to the next.
    pub id: String,
    /// `@TYPE` (« epp »: a teaching post).
    pub kind: String,
    /// `NOM_USAGE` (or `NOM_PATRONYMIQUE` when there is no usage name).
    pub last_name: String,
    /// `NOM_PATRONYMIQUE`.
    pub birth_name: String,
    /// `PRENOM`.
    pub first_name: String,
    /// `CIVILITE` (1 M., 2 Mme, 3 Mlle, as STS codes them).
    pub civility: Option<String>,
    /// `DATE_NAISSANCE`.
    pub birth_date: Option<Date>,
    /// `GRADE` (« CERTIFIE »…).
    pub grade: String,
    /// `FONCTION` (« ENS »…).
    pub function: String,
    /// Codes of the classes they are *professeur principal* of.
    pub main_teacher_of: Vec<String>,
    /// Codes of their disciplines (« L0422 »…).
    pub disciplines: Vec<String>,
    /// The line of the element.
    pub line: usize,
}

/// A subject taught in a class or group, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `@CODE_MATIERE`: a code of the nomenclature.
    pub subject: String,
    /// `@CODE_MOD_COURS` (« CG » cours général…).
    pub course_mode: String,
    /// `@ID` of the teachers.
    pub teachers: Vec<String>,
}

/// A class (`DIVISION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    /// `@CODE` (« 4A »).
    pub code: String,
    /// Its services.
    pub services: Vec<Service>,
}

/// A group (`GROUPE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `@CODE` (« 4LATIN »).
    pub code: String,
    /// `LIBELLE_LONG`.
    pub label: String,
    /// Codes of the classes its pupils come from.
    pub divisions: Vec<String>,
    /// Its services.
    pub services: Vec<Service>,
}

/// Reads an STS Web export. `expected_uai`, when given, must be the file's.
pub fn parse(bytes: &[u8], expected_uai: Option<&str>) -> Result<Sts, Problems> {
    let root = tree::read(bytes)?;
    let mut problems = Problems::default();
    if root.name != "STS_EDT" {
        let why = match root.name.as_str() {
            "EDT_STS" => "c'est l'export d'EDT vers STS ; il faut l'export de STS Web pour l'emploi du temps (sts_emp_…)".to_owned(),
            "BEE_ELEVES" | "BEE_RESPONSABLES" | "BEE_NOMENCLATURES" => "c'est un export SIECLE".to_owned(),
            other => format!("sa racine est <{other}>, celle d'un export STS Web est <STS_EDT>"),
        };
        problems.push(Problem::file(format!(
            "Ce fichier n'est pas un export STS Web : {why}."
        )));
        return Err(problems);
    }
    let uai = root
        .at("PARAMETRES/UAJ")
        .map(|n| n.text.clone())
        .filter(|t| !t.is_empty());
    if let (Some(expected), Some(found)) = (expected_uai, uai.as_deref())
        && !expected.eq_ignore_ascii_case(found)
    {
        problems.push(Problem::file(format!(
            "Ce fichier est celui de l'établissement {found}, pas de {expected}."
        )));
        return Err(problems);
    }
    let subjects = read_subjects(&root, &mut problems);
    let people = read_people(&root, &mut problems);
    let known = Known {
        subjects: subjects.iter().map(|s| s.code.as_str()).collect(),
        people: people.iter().map(|p| p.id.as_str()).collect(),
    };
    let mut codes = HashSet::new();
    let divisions: Vec<Division> = root
        .all("DONNEES/STRUCTURE/DIVISIONS/DIVISION")
        .filter_map(|node| {
            let code = unique_code(node, &mut codes, "classe", &mut problems)?;
            Some(Division {
                code,
                services: services(node, &known, &mut problems),
            })
        })
        .collect();
    let mut group_codes = HashSet::new();
    let groups = root
        .all("DONNEES/STRUCTURE/GROUPES/GROUPE")
        .filter_map(|node| {
            let code = unique_code(node, &mut group_codes, "groupe", &mut problems)?;
            let divisions: Vec<String> = node
                .all("DIVISIONS_APPARTENANCE/DIVISION_APPARTENANCE")
                .filter_map(|d| {
                    let code = d.attribute("CODE")?.to_owned();
                    if !codes.contains(&code) {
                        problems.push(d.problem(format!(
                            "la classe « {code} » n'est pas une DIVISION du fichier"
                        )));
                    }
                    Some(code)
                })
                .collect();
            Some(Group {
                label: node.text_of("LIBELLE_LONG").unwrap_or(&code).to_owned(),
                code,
                divisions,
                services: services(node, &known, &mut problems),
            })
        })
        .collect();
    if people.is_empty() && divisions.is_empty() {
        problems.push(Problem::file(
            "Ce fichier STS Web ne contient ni enseignant (INDIVIDU) ni classe (DIVISION).",
        ));
    }
    if problems.is_empty() {
        Ok(Sts {
            uai,
            year: root.at("PARAMETRES/ANNEE_SCOLAIRE").map(|n| n.text.clone()),
            subjects,
            people,
            divisions,
            groups,
        })
    } else {
        Err(problems)
    }
}

/// Codes the references are checked against.
struct Known<'a> {
    subjects: HashSet<&'a str>,
    people: HashSet<&'a str>,
}

fn read_subjects(root: &Node, problems: &mut Problems) -> Vec<Subject> {
    let mut codes = HashSet::new();
    root.all("NOMENCLATURES/MATIERES/MATIERE")
        .filter_map(|node| {
            let code = unique_code(node, &mut codes, "matière", problems)?;
            let text = |name| node.text_of(name).unwrap_or_default().to_owned();
            Some(Subject {
                management_code: text("CODE_GESTION"),
                short_label: text("LIBELLE_COURT"),
                long_label: node
                    .text_of("LIBELLE_LONG")
                    .or_else(|| node.text_of("LIBELLE_EDITION"))
                    .unwrap_or(&code)
                    .to_owned(),
                code,
            })
        })
        .collect()
}

fn read_people(root: &Node, problems: &mut Problems) -> Vec<Individual> {
    let mut ids = HashSet::new();
    root.all("DONNEES/INDIVIDUS/INDIVIDU")
        .filter_map(|node| {
            let Some(id) = node.attribute("ID") else {
                problems.push(node.problem("l'attribut ID manque ou est vide"));
                return None;
            };
            if !ids.insert(id.to_owned()) {
                problems.push(
                    node.problem(format!("l'ID « {id} » est déjà celui d'un autre INDIVIDU")),
                );
                return None;
            }
            let text = |name| node.text_of(name).unwrap_or_default().to_owned();
            let birth_name = text("NOM_PATRONYMIQUE");
            let last_name = node
                .text_of("NOM_USAGE")
                .map_or(birth_name.clone(), str::to_owned);
            if last_name.is_empty() {
                problems.push(node.problem("ni NOM_USAGE ni NOM_PATRONYMIQUE"));
                return None;
            }
            let birth_date = match node.text_of("DATE_NAISSANCE") {
                None => None,
                Some(text) => {
                    let date = Date::parse_iso(text.get(..10).unwrap_or(text));
                    if date.is_none() {
                        problems.push(node.problem(format!(
                            "DATE_NAISSANCE vaut « {text} » ; une date AAAA-MM-JJ est attendue"
                        )));
                    }
                    date
                }
            };
            Some(Individual {
                id: id.to_owned(),
                kind: node.attribute("TYPE").unwrap_or_default().to_owned(),
                last_name,
                birth_name,
                first_name: text("PRENOM"),
                civility: node.text_of("CIVILITE").map(str::to_owned),
                birth_date,
                grade: text("GRADE"),
                function: text("FONCTION"),
                main_teacher_of: node
                    .all("PROFS_PRINC/PROF_PRINC")
                    .filter_map(|p| p.text_of("CODE_STRUCTURE").map(str::to_owned))
                    .collect(),
                disciplines: node
                    .all("DISCIPLINES/DISCIPLINE")
                    .filter_map(|d| d.attribute("CODE").map(str::to_owned))
                    .collect(),
                line: node.line,
            })
        })
        .collect()
}

fn unique_code(
    node: &Node,
    codes: &mut HashSet<String>,
    what: &str,
    problems: &mut Problems,
) -> Option<String> {
    let Some(code) = node.attribute("CODE") else {
        problems.push(node.problem("l'attribut CODE manque ou est vide"));
        return None;
    };
    if !codes.insert(code.to_owned()) {
        problems.push(node.problem(format!(
            "le code « {code} » est déjà celui d'une autre {what}"
        )));
        return None;
    }
    Some(code.to_owned())
}

fn services(node: &Node, known: &Known, problems: &mut Problems) -> Vec<Service> {
    node.all("SERVICES/SERVICE")
        .filter_map(|service| {
            let Some(subject) = service.attribute("CODE_MATIERE") else {
                problems.push(service.problem("l'attribut CODE_MATIERE manque ou est vide"));
                return None;
            };
            if !known.subjects.contains(subject) {
                problems.push(service.problem(format!(
                    "la matière « {subject} » n'est pas dans la nomenclature du fichier (NOMENCLATURES/MATIERES)"
                )));
            }
            let teachers = service
                .all("ENSEIGNANTS/ENSEIGNANT")
                .filter_map(|teacher| {
                    let id = teacher.attribute("ID")?;
                    if !known.people.contains(id) {
                        problems.push(teacher.problem(format!(
                            "l'enseignant « {id} » n'est pas un INDIVIDU du fichier"
                        )));
                    }
                    Some(id.to_owned())
                })
                .collect();
            Some(Service {
                subject: subject.to_owned(),
                course_mode: service.attribute("CODE_MOD_COURS").unwrap_or_default().to_owned(),
                teachers,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
