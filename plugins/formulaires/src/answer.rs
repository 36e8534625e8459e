//! Reading and checking a respondent's answers, and scoring them. Pure.

use std::collections::BTreeMap;

use preau_sdk::time::Date;
use serde::{Deserialize, Serialize};

use crate::model::{Formulaire, Kind, Question, fmt_num};

/// One stored answer to one question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Valeur {
    /// Not answered (or a section).
    Vide,
    Texte(String),
    /// Indexes of the ticked choices, ascending.
    Choix(Vec<usize>),
    Nombre(f64),
    /// `AAAA-MM-JJ`.
    Date(String),
    /// Choice indexes from first to last.
    Classement(Vec<usize>),
}

pub const MAX_SHORT_TEXT: usize = 300;
pub const MAX_LONG_TEXT: usize = 5000;

/// The form field name of question `i` (`q3`); a ranking uses `q3-0`, `q3-1`… per choice.
pub fn field(i: usize) -> String {
    format!("q{i}")
}

/// What was submitted, by field (every value of repeated fields), kept to redisplay.
pub type Submitted = BTreeMap<String, Vec<String>>;

/// Reads and checks every answer. `Ok` = one value per question; `Err` = French
/// messages by field name (`q3`), the typed values being in `submitted`.
pub fn read(
    form: &Formulaire,
    submitted: &Submitted,
) -> Result<Vec<Valeur>, BTreeMap<String, String>> {
    let mut values = Vec::new();
    let mut errors = BTreeMap::new();
    for (i, q) in form.questions.iter().enumerate() {
        match read_one(i, q, submitted) {
            Ok(v) => values.push(v),
            Err(message) => {
                errors.insert(field(i), message);
                values.push(Valeur::Vide);
            }
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

fn first<'a>(submitted: &'a Submitted, name: &str) -> &'a str {
    submitted
        .get(name)
        .and_then(|v| v.first())
        .map(|s| s.trim())
        .unwrap_or("")
}

fn read_one(i: usize, q: &Question, submitted: &Submitted) -> Result<Valeur, String> {
    let name = field(i);
    let required = || {
        if q.obligatoire {
            Err("Cette question est obligatoire.".to_string())
        } else {
            Ok(Valeur::Vide)
        }
    };
    match q.kind {
        Kind::Section => Ok(Valeur::Vide),
        Kind::TexteCourt | Kind::TexteLong => {
            let text = first(submitted, &name);
            let max = if q.kind == Kind::TexteCourt {
                MAX_SHORT_TEXT
            } else {
                MAX_LONG_TEXT
            };
            if text.is_empty() {
                required()
            } else if text.chars().count() > max {
                Err(format!(
                    "La réponse dépasse {max} caractères ({}).",
                    text.chars().count()
                ))
            } else {
                Ok(Valeur::Texte(text.to_string()))
            }
        }
        Kind::ChoixUnique | Kind::ChoixMultiple => {
            let raw: Vec<&str> = submitted
                .get(&name)
                .map(|v| {
                    v.iter()
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let mut chosen = Vec::new();
            for r in raw {
                match r.parse::<usize>() {
                    Ok(c) if c < q.choix.len() => {
                        if !chosen.contains(&c) {
                            chosen.push(c)
                        }
                    }
                    _ => return Err("Ce choix ne fait pas partie des réponses proposées.".into()),
                }
            }
            chosen.sort_unstable();
            if chosen.is_empty() {
                return required();
            }
            if q.kind == Kind::ChoixUnique && chosen.len() > 1 {
                return Err("Choisissez une seule réponse.".into());
            }
            if let Some(max) = q.max_choix
                && chosen.len() > max as usize
            {
                return Err(format!(
                    "Choisissez au plus {max} réponse{} ({} cochée{}).",
                    if max > 1 { "s" } else { "" },
                    chosen.len(),
                    if chosen.len() > 1 { "s" } else { "" }
                ));
            }
            Ok(Valeur::Choix(chosen))
        }
        Kind::Nombre | Kind::Echelle => {
            let text = first(submitted, &name);
            if text.is_empty() {
                return required();
            }
            let n: f64 = match text.replace(',', ".").replace(' ', "").parse::<f64>() {
                Ok(n) if n.is_finite() => n,
                _ => return Err(format!("« {text} » n'est pas un nombre.")),
            };
            if q.kind == Kind::Echelle && n.fract() != 0.0 {
                return Err("Choisissez une graduation de l'échelle.".into());
            }
            match (q.min, q.max) {
                (Some(min), Some(max)) if n < min || n > max => Err(format!(
                    "La réponse doit être comprise entre {} et {}.",
                    fmt_num(min),
                    fmt_num(max)
                )),
                (Some(min), None) if n < min => {
                    Err(format!("La réponse doit être au moins {}.", fmt_num(min)))
                }
                (None, Some(max)) if n > max => {
                    Err(format!("La réponse doit être au plus {}.", fmt_num(max)))
                }
                _ => Ok(Valeur::Nombre(n)),
            }
        }
        Kind::Date => {
            let text = first(submitted, &name);
            if text.is_empty() {
                required()
            } else if Date::parse_iso(text).is_some() {
                Ok(Valeur::Date(text.to_string()))
            } else {
                Err(format!(
                    "« {text} » n'est pas une date valide (format attendu : AAAA-MM-JJ)."
                ))
            }
        }
        Kind::Classement => {
            let n = q.choix.len();
            let mut ranks = Vec::new();
            for c in 0..n {
                let text = first(submitted, &format!("{name}-{c}"));
                if text.is_empty() {
                    ranks.push(None);
                } else {
                    match text.parse::<usize>() {
                        Ok(r) if (1..=n).contains(&r) => ranks.push(Some(r)),
                        _ => return Err(format!("Chaque rang va de 1 à {n}.")),
                    }
                }
            }
            if ranks.iter().all(Option::is_none) {
                return required();
            }
            if ranks.iter().any(Option::is_none) {
                return Err("Donnez un rang à chaque choix.".into());
            }
            let mut order = vec![usize::MAX; n];
            for (c, r) in ranks.iter().enumerate() {
                let r = r.unwrap() - 1;
                if order[r] != usize::MAX {
                    return Err(format!(
                        "Le rang {} est donné deux fois : chaque rang de 1 à {n} une seule fois.",
                        r + 1
                    ));
                }
                order[r] = c;
            }
            Ok(Valeur::Classement(order))
        }
    }
}

/// Whether a value answers a graded question correctly (None: not graded).
pub fn correct(q: &Question, v: &Valeur) -> Option<bool> {
    if !q.graded() {
        return None;
    }
    Some(match v {
        Valeur::Choix(chosen) => *chosen == q.correct_indexes(),
        _ => false,
    })
}

/// Points obtained and points possible, for a scored form.
pub fn score(form: &Formulaire, values: &[Valeur]) -> Option<(f64, f64)> {
    if !form.genre.scored() {
        return None;
    }
    let mut got = 0.0;
    let mut total = 0.0;
    for (q, v) in form.questions.iter().zip(values) {
        if let Some(ok) = correct(q, v) {
            total += q.points();
            if ok {
                got += q.points();
            }
        }
    }
    Some((got, total))
}

/// A value as text (CSV, individual answers).
pub fn display(q: &Question, v: &Valeur) -> String {
    let label = |i: &usize| q.choix.get(*i).cloned().unwrap_or_default();
    match v {
        Valeur::Vide => String::new(),
        Valeur::Texte(t) | Valeur::Date(t) => t.clone(),
        Valeur::Nombre(n) => fmt_num(*n),
        Valeur::Choix(c) => c.iter().map(label).collect::<Vec<_>>().join(", "),
        Valeur::Classement(c) => c
            .iter()
            .enumerate()
            .map(|(r, i)| format!("{}. {}", r + 1, label(i)))
            .collect::<Vec<_>>()
            .join(" ; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Genre, import};

    fn form() -> Formulaire {
        import(
            r#"{"titre": "T", "genre": "quiz", "questions": [
            {"type": "texte-court", "intitule": "Nom", "obligatoire": true},
            {"type": "choix-multiple", "intitule": "Vos 2 préférés", "choix": ["a", "b", "c"], "max_choix": 2, "bonnes_reponses": ["a", "c"]},
            {"type": "nombre", "intitule": "Âge", "min": 10, "max": 20},
            {"type": "date", "intitule": "Né le"},
            {"type": "echelle", "intitule": "Note", "min": 1, "max": 5},
            {"type": "classement", "intitule": "Ordre", "choix": ["x", "y", "z"]},
            {"type": "choix-unique", "intitule": "1+1", "choix": ["2", "3"], "bonnes_reponses": ["2"], "points": 3}
        ]}"#,
        )
        .unwrap()
    }

    fn submit(pairs: &[(&str, &str)]) -> Submitted {
        let mut s = Submitted::new();
        for (k, v) in pairs {
            s.entry(k.to_string()).or_default().push(v.to_string());
        }
        s
    }

    #[test]
    fn valid_answers_are_read_and_scored() {
        let f = form();
        let values = read(
            &f,
            &submit(&[
                ("q0", " Léa "),
                ("q1", "2"),
                ("q1", "0"),
                ("q2", "12,5"),
                ("q3", "2012-02-29"),
                ("q4", "4"),
                ("q5-0", "2"),
                ("q5-1", "3"),
                ("q5-2", "1"),
                ("q6", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(values[0], Valeur::Texte("Léa".into()));
        assert_eq!(values[1], Valeur::Choix(vec![0, 2]));
        assert_eq!(values[2], Valeur::Nombre(12.5));
        assert_eq!(values[5], Valeur::Classement(vec![2, 0, 1]));
        assert_eq!(score(&f, &values), Some((1.0, 4.0)));
        assert_eq!(display(&f.questions[5], &values[5]), "1. z ; 2. x ; 3. y");
        assert_eq!(f.genre, Genre::Quiz);
    }

    #[test]
    fn every_rule_has_a_french_message() {
        let f = form();
        let errors = read(
            &f,
            &submit(&[
                ("q1", "0"),
                ("q1", "1"),
                ("q1", "2"),
                ("q2", "25"),
                ("q3", "2013-02-29"),
                ("q4", "9"),
                ("q5-0", "1"),
                ("q5-1", "1"),
                ("q5-2", "2"),
                ("q6", "7"),
            ]),
        )
        .unwrap_err();
        assert_eq!(errors["q0"], "Cette question est obligatoire.");
        assert_eq!(errors["q1"], "Choisissez au plus 2 réponses (3 cochées).");
        assert_eq!(
            errors["q2"],
            "La réponse doit être comprise entre 10 et 20."
        );
        assert!(errors["q3"].contains("n'est pas une date valide"));
        assert_eq!(errors["q4"], "La réponse doit être comprise entre 1 et 5.");
        assert!(errors["q5"].starts_with("Le rang 1 est donné deux fois"));
        assert_eq!(
            errors["q6"],
            "Ce choix ne fait pas partie des réponses proposées."
        );
        let errors = read(&f, &submit(&[("q0", "x"), ("q2", "douze"), ("q5-0", "1")])).unwrap_err();
        assert_eq!(errors["q2"], "« douze » n'est pas un nombre.");
        assert_eq!(errors["q5"], "Donnez un rang à chaque choix.");
        assert_eq!(errors.len(), 2, "optional questions may stay empty");
    }
}
