//! Form models: the questions, their validation, and the JSON import/export format
//! (described by `schema/modele.schema.json`). Pure: unit-tested natively.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kind of form; QCM and quiz have correct answers and a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Genre {
    Questionnaire,
    Qcm,
    Sondage,
    Quiz,
}

impl Genre {
    pub const ALL: [(Genre, &'static str, &'static str); 4] = [
        (Genre::Questionnaire, "questionnaire", "Questionnaire"),
        (Genre::Qcm, "qcm", "QCM"),
        (Genre::Sondage, "sondage", "Sondage"),
        (Genre::Quiz, "quiz", "Quiz"),
    ];

    pub fn parse(text: &str) -> Option<Genre> {
        Genre::ALL
            .iter()
            .find(|(_, id, _)| *id == text)
            .map(|(g, _, _)| *g)
    }

    pub fn label(self) -> &'static str {
        Genre::ALL.iter().find(|(g, _, _)| *g == self).unwrap().2
    }

    /// Whether answers are scored against correct answers.
    pub fn scored(self) -> bool {
        matches!(self, Genre::Qcm | Genre::Quiz)
    }
}

/// Question types; `section` starts a new page/section of the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    TexteCourt,
    TexteLong,
    ChoixUnique,
    ChoixMultiple,
    Nombre,
    Date,
    Echelle,
    Classement,
    Section,
}

impl Kind {
    pub const ALL: [(Kind, &'static str, &'static str); 9] = [
        (Kind::TexteCourt, "texte-court", "Texte court"),
        (Kind::TexteLong, "texte-long", "Texte long"),
        (Kind::ChoixUnique, "choix-unique", "Choix unique"),
        (Kind::ChoixMultiple, "choix-multiple", "Choix multiple"),
        (Kind::Nombre, "nombre", "Nombre"),
        (Kind::Date, "date", "Date"),
        (Kind::Echelle, "echelle", "Échelle"),
        (Kind::Classement, "classement", "Classement"),
        (Kind::Section, "section", "Nouvelle section (page)"),
    ];

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL
            .iter()
            .find(|(_, id, _)| *id == text)
            .map(|(k, _, _)| *k)
    }

    pub fn id(self) -> &'static str {
        Kind::ALL.iter().find(|(k, _, _)| *k == self).unwrap().1
    }

    pub fn label(self) -> &'static str {
        Kind::ALL.iter().find(|(k, _, _)| *k == self).unwrap().2
    }

    /// Whether the question offers a list of choices.
    pub fn has_choices(self) -> bool {
        matches!(
            self,
            Kind::ChoixUnique | Kind::ChoixMultiple | Kind::Classement
        )
    }

    /// Whether correct answers make sense (scored forms).
    pub fn gradable(self) -> bool {
        matches!(self, Kind::ChoixUnique | Kind::ChoixMultiple)
    }
}

/// One question (or a section heading).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Question {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub intitule: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub aide: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub obligatoire: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choix: Vec<String>,
    /// Most choices ticked (choix-multiple).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_choix: Option<u32>,
    /// Bounds (nombre: optional; echelle: required integers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Correct choices (QCM, quiz), by label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bonnes_reponses: Vec<String>,
    /// Points of a correct answer (QCM, quiz); 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<f64>,
}

impl Question {
    pub fn new(kind: Kind, intitule: &str) -> Question {
        Question {
            kind,
            intitule: intitule.into(),
            aide: String::new(),
            obligatoire: false,
            choix: Vec::new(),
            max_choix: None,
            min: None,
            max: None,
            bonnes_reponses: Vec::new(),
            points: None,
        }
    }

    pub fn points(&self) -> f64 {
        self.points.unwrap_or(1.0)
    }

    /// Indexes of the correct choices.
    pub fn correct_indexes(&self) -> Vec<usize> {
        self.choix
            .iter()
            .enumerate()
            .filter(|(_, c)| self.bonnes_reponses.contains(c))
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether this question is scored.
    pub fn graded(&self) -> bool {
        self.kind.gradable() && !self.bonnes_reponses.is_empty()
    }
}

/// The content of a model, as exported and imported (and snapshotted by a diffusion).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Formulaire {
    pub titre: String,
    pub genre: Genre,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default)]
    pub questions: Vec<Question>,
}

/// Version of the exchange format (the `version` key of an export).
pub const FORMAT_VERSION: u32 = 1;
/// The JSON Schema of the exchange format, shipped with the plugin.
pub const SCHEMA: &str = include_str!("../schema/modele.schema.json");

pub const MAX_QUESTIONS: usize = 200;
pub const MAX_CHOICES: usize = 50;
pub const MAX_TITLE: usize = 150;
pub const MAX_LABEL: usize = 500;
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_CHOICE_LABEL: usize = 200;
/// Widest scale (number of steps).
pub const MAX_SCALE_STEPS: f64 = 11.0;

fn expected_kinds() -> String {
    Kind::ALL
        .iter()
        .map(|(_, id, _)| *id)
        .collect::<Vec<_>>()
        .join(", ")
}

fn expected_genres() -> String {
    Genre::ALL
        .iter()
        .map(|(_, id, _)| *id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The model's title, checked.
pub fn check_title(title: &str) -> Option<String> {
    let n = title.trim().chars().count();
    if n == 0 {
        Some("Donnez un titre.".into())
    } else if n > MAX_TITLE {
        Some(format!("Le titre dépasse {MAX_TITLE} caractères."))
    } else {
        None
    }
}

/// The rules of one question in a form of `genre`: French messages, without the path.
pub fn check_question(genre: Genre, q: &Question) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let n = q.intitule.trim().chars().count();
    if n == 0 {
        errors.push(("intitule", "intitulé vide".to_string()));
    } else if n > MAX_LABEL {
        errors.push((
            "intitule",
            format!("intitulé de plus de {MAX_LABEL} caractères"),
        ));
    }
    if q.aide.chars().count() > MAX_LABEL {
        errors.push(("aide", format!("aide de plus de {MAX_LABEL} caractères")));
    }
    if q.kind.has_choices() {
        if q.choix.len() < 2 {
            errors.push(("choix", "au moins deux choix sont attendus".to_string()));
        } else if q.choix.len() > MAX_CHOICES {
            errors.push(("choix", format!("plus de {MAX_CHOICES} choix")));
        }
        for (i, c) in q.choix.iter().enumerate() {
            if c.trim().is_empty() {
                errors.push(("choix", format!("le choix n° {} est vide", i + 1)));
            } else if c.chars().count() > MAX_CHOICE_LABEL {
                errors.push((
                    "choix",
                    format!(
                        "le choix n° {} dépasse {MAX_CHOICE_LABEL} caractères",
                        i + 1
                    ),
                ));
            } else if q.choix[..i].contains(c) {
                errors.push(("choix", format!("le choix « {c} » est en double")));
            }
        }
    } else if !q.choix.is_empty() {
        errors.push((
            "choix",
            format!("une question « {} » n'a pas de choix", q.kind.id()),
        ));
    }
    match q.max_choix {
        Some(_) if q.kind != Kind::ChoixMultiple => errors.push((
            "max_choix",
            "seule une question à choix multiple a un nombre maximal de choix".to_string(),
        )),
        Some(0) => errors.push(("max_choix", "le maximum doit être au moins 1".to_string())),
        Some(m) if m as usize > q.choix.len() && q.choix.len() >= 2 => errors.push((
            "max_choix",
            format!(
                "le maximum ({m}) dépasse le nombre de choix ({})",
                q.choix.len()
            ),
        )),
        _ => {}
    }
    match q.kind {
        Kind::Nombre => {
            if let (Some(min), Some(max)) = (q.min, q.max)
                && min > max
            {
                errors.push((
                    "min",
                    format!(
                        "le minimum ({}) dépasse le maximum ({})",
                        fmt_num(min),
                        fmt_num(max)
                    ),
                ));
            }
        }
        Kind::Echelle => match (q.min, q.max) {
            (Some(min), Some(max)) => {
                if min.fract() != 0.0 || max.fract() != 0.0 {
                    errors.push((
                        "min",
                        "les bornes d'une échelle sont des nombres entiers".to_string(),
                    ));
                } else if min >= max {
                    errors.push((
                        "min",
                        format!(
                            "le minimum ({}) doit être inférieur au maximum ({})",
                            fmt_num(min),
                            fmt_num(max)
                        ),
                    ));
                } else if max - min + 1.0 > MAX_SCALE_STEPS {
                    errors.push((
                        "max",
                        format!("une échelle a au plus {MAX_SCALE_STEPS} graduations"),
                    ));
                }
            }
            _ => errors.push(("min", "une échelle a un minimum et un maximum".to_string())),
        },
        _ => {
            if q.min.is_some() || q.max.is_some() {
                errors.push((
                    "min",
                    format!("une question « {} » n'a pas de bornes", q.kind.id()),
                ));
            }
        }
    }
    if !q.bonnes_reponses.is_empty() {
        if !genre.scored() {
            errors.push((
                "bonnes_reponses",
                "seuls un QCM et un quiz ont des bonnes réponses".to_string(),
            ));
        } else if !q.kind.gradable() {
            errors.push((
                "bonnes_reponses",
                format!("une question « {} » n'a pas de bonne réponse", q.kind.id()),
            ));
        } else {
            for r in &q.bonnes_reponses {
                if !q.choix.contains(r) {
                    errors.push((
                        "bonnes_reponses",
                        format!("« {r} » ne fait pas partie des choix"),
                    ));
                }
            }
            if q.kind == Kind::ChoixUnique && q.bonnes_reponses.len() > 1 {
                errors.push((
                    "bonnes_reponses",
                    "une question à choix unique a une seule bonne réponse".to_string(),
                ));
            }
        }
    }
    if let Some(p) = q.points
        && !(0.0..=1000.0).contains(&p)
    {
        errors.push(("points", "les points vont de 0 à 1000".to_string()));
    }
    errors
}

/// Every rule of a whole form: `path : message` strings (empty when valid).
pub fn check(form: &Formulaire) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(e) = check_title(&form.titre) {
        errors.push(format!(
            "titre : {}",
            e.trim_end_matches('.').to_lowercase()
        ));
    }
    if form.description.chars().count() > MAX_DESCRIPTION {
        errors.push(format!(
            "description : plus de {MAX_DESCRIPTION} caractères"
        ));
    }
    if form.questions.len() > MAX_QUESTIONS {
        errors.push(format!("questions : plus de {MAX_QUESTIONS} questions"));
    }
    for (i, q) in form.questions.iter().enumerate() {
        for (field, message) in check_question(form.genre, q) {
            errors.push(format!("questions[{i}].{field} : {message}"));
        }
    }
    errors
}

/// The pages of a form: each `section` after the first question starts a new page.
/// Always at least one page.
pub fn pages(form: &Formulaire) -> Vec<std::ops::Range<usize>> {
    let mut starts = vec![0];
    for (i, q) in form.questions.iter().enumerate() {
        if i > 0 && q.kind == Kind::Section {
            starts.push(i);
        }
    }
    let mut pages = Vec::new();
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(form.questions.len());
        pages.push(*start..end);
    }
    pages
}

/// Whether the form has at least one real question (not only sections).
pub fn has_questions(form: &Formulaire) -> bool {
    form.questions.iter().any(|q| q.kind != Kind::Section)
}

const ROOT_KEYS: [&str; 6] = [
    "$schema",
    "version",
    "titre",
    "genre",
    "description",
    "questions",
];
const QUESTION_KEYS: [&str; 10] = [
    "type",
    "intitule",
    "aide",
    "obligatoire",
    "choix",
    "max_choix",
    "min",
    "max",
    "bonnes_reponses",
    "points",
];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "un booléen",
        Value::Number(_) => "un nombre",
        Value::String(_) => "un texte",
        Value::Array(_) => "une liste",
        Value::Object(_) => "un objet",
    }
}

/// Parses and validates an imported model. Any error → the full list of errors,
/// each naming the element (`questions[3].type : …`), in French.
pub fn import(json: &str) -> Result<Formulaire, Vec<String>> {
    let value: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![format!(
                "JSON illisible à la ligne {}, colonne {} : {}",
                e.line(),
                e.column(),
                match e.classify() {
                    serde_json::error::Category::Eof => "fin de texte inattendue",
                    serde_json::error::Category::Syntax => "erreur de syntaxe",
                    _ => "contenu invalide",
                }
            )]);
        }
    };
    let mut errors = Vec::new();
    let Value::Object(root) = &value else {
        return Err(vec![format!(
            "le document doit être un objet JSON, pas {}",
            type_name(&value)
        )]);
    };
    for key in root.keys() {
        if !ROOT_KEYS.contains(&key.as_str()) {
            errors.push(format!("{key} : propriété inconnue"));
        }
    }
    match root.get("version") {
        None => {}
        Some(Value::Number(n)) if n.as_u64() == Some(FORMAT_VERSION as u64) => {}
        Some(v) => errors.push(format!(
            "version : version de format non prise en charge « {v} » (attendu : {FORMAT_VERSION})"
        )),
    }
    match root.get("titre") {
        Some(Value::String(_)) => {}
        None => errors.push("titre : propriété obligatoire absente".into()),
        Some(v) => errors.push(format!(
            "titre : un texte est attendu, pas {}",
            type_name(v)
        )),
    }
    match root.get("genre") {
        Some(Value::String(g)) if Genre::parse(g).is_some() => {}
        Some(Value::String(g)) => errors.push(format!(
            "genre : genre inconnu « {g} » (attendu : {})",
            expected_genres()
        )),
        None => errors.push("genre : propriété obligatoire absente".into()),
        Some(v) => errors.push(format!(
            "genre : un texte est attendu, pas {}",
            type_name(v)
        )),
    }
    match root.get("description") {
        None | Some(Value::String(_)) => {}
        Some(v) => errors.push(format!(
            "description : un texte est attendu, pas {}",
            type_name(v)
        )),
    }
    match root.get("questions") {
        None => errors.push("questions : propriété obligatoire absente".into()),
        Some(Value::Array(questions)) => {
            for (i, q) in questions.iter().enumerate() {
                check_question_shape(i, q, &mut errors);
            }
        }
        Some(v) => errors.push(format!(
            "questions : une liste est attendue, pas {}",
            type_name(v)
        )),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let form: Formulaire = match serde_json::from_value(value) {
        Ok(f) => f,
        Err(e) => return Err(vec![format!("contenu invalide : {e}")]),
    };
    let errors = check(&form);
    if errors.is_empty() {
        Ok(form)
    } else {
        Err(errors)
    }
}

fn check_question_shape(i: usize, q: &Value, errors: &mut Vec<String>) {
    let Value::Object(q) = q else {
        errors.push(format!(
            "questions[{i}] : un objet est attendu, pas {}",
            type_name(q)
        ));
        return;
    };
    for key in q.keys() {
        if !QUESTION_KEYS.contains(&key.as_str()) {
            errors.push(format!("questions[{i}].{key} : propriété inconnue"));
        }
    }
    match q.get("type") {
        Some(Value::String(t)) if Kind::parse(t).is_some() => {}
        Some(Value::String(t)) => errors.push(format!(
            "questions[{i}].type : type de question inconnu « {t} » (attendu : {})",
            expected_kinds()
        )),
        None => errors.push(format!(
            "questions[{i}].type : propriété obligatoire absente"
        )),
        Some(v) => errors.push(format!(
            "questions[{i}].type : un texte est attendu, pas {}",
            type_name(v)
        )),
    }
    let expect = |key: &str, ok: fn(&Value) -> bool, what: &str, errors: &mut Vec<String>| {
        if let Some(v) = q.get(key)
            && !ok(v)
        {
            errors.push(format!(
                "questions[{i}].{key} : {what} est attendu, pas {}",
                type_name(v)
            ));
        }
    };
    match q.get("intitule") {
        Some(Value::String(_)) => {}
        None => errors.push(format!(
            "questions[{i}].intitule : propriété obligatoire absente"
        )),
        Some(v) => errors.push(format!(
            "questions[{i}].intitule : un texte est attendu, pas {}",
            type_name(v)
        )),
    }
    expect("aide", Value::is_string, "un texte", errors);
    expect("obligatoire", Value::is_boolean, "un booléen", errors);
    expect("min", Value::is_number, "un nombre", errors);
    expect("max", Value::is_number, "un nombre", errors);
    expect("points", Value::is_number, "un nombre", errors);
    expect("max_choix", Value::is_u64, "un entier positif", errors);
    for key in ["choix", "bonnes_reponses"] {
        match q.get(key) {
            None => {}
            Some(Value::Array(items)) => {
                for (j, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        errors.push(format!(
                            "questions[{i}].{key}[{j}] : un texte est attendu, pas {}",
                            type_name(item)
                        ));
                    }
                }
            }
            Some(v) => errors.push(format!(
                "questions[{i}].{key} : une liste est attendue, pas {}",
                type_name(v)
            )),
        }
    }
}

/// The exchange document of a model (pretty JSON with `$schema` and `version`).
pub fn export(form: &Formulaire, schema_url: &str) -> String {
    let mut value = serde_json::to_value(form).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        let mut out = serde_json::Map::new();
        out.insert("$schema".into(), schema_url.into());
        out.insert("version".into(), FORMAT_VERSION.into());
        out.extend(std::mem::take(map));
        value = Value::Object(out);
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// A number the French way: `12`, `3,5`, `2,25`.
pub fn fmt_num(n: f64) -> String {
    let rounded = (n * 100.0).round() / 100.0;
    let text = if rounded.fract() == 0.0 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    };
    text.replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> &'static str {
        r#"{
          "version": 1,
          "titre": "Bilan du trimestre",
          "genre": "qcm",
          "questions": [
            {"type": "section", "intitule": "Vous"},
            {"type": "texte-court", "intitule": "Prénom", "obligatoire": true},
            {"type": "choix-unique", "intitule": "2 + 2 ?", "choix": ["3", "4"], "bonnes_reponses": ["4"], "points": 2},
            {"type": "choix-multiple", "intitule": "Vos 2 matières préférées", "choix": ["Maths", "Français", "EPS"], "max_choix": 2},
            {"type": "echelle", "intitule": "Satisfaction", "min": 1, "max": 5},
            {"type": "classement", "intitule": "Classez", "choix": ["A", "B", "C"]}
          ]
        }"#
    }

    #[test]
    fn imports_a_valid_model_and_round_trips() {
        let form = import(sample()).expect("valide");
        assert_eq!(form.genre, Genre::Qcm);
        assert_eq!(form.questions.len(), 6);
        assert_eq!(form.questions[2].correct_indexes(), vec![1]);
        let again = import(&export(&form, "/schema.json")).expect("aller-retour");
        assert_eq!(again, form);
    }

    #[test]
    fn unknown_type_names_the_element_and_expected_values() {
        let json = sample().replace(r#""type": "classement""#, r#""type": "slider""#);
        let errors = import(&json).unwrap_err();
        assert_eq!(
            errors,
            vec!["questions[5].type : type de question inconnu « slider » (attendu : texte-court, texte-long, choix-unique, choix-multiple, nombre, date, echelle, classement, section)".to_string()]
        );
    }

    #[test]
    fn every_error_is_reported_with_its_path() {
        let json = r#"{"titre": 3, "genre": "examen", "questions": [
            {"type": "choix-unique", "intitule": "", "choix": ["a"]},
            {"type": "echelle", "intitule": "x", "min": 5, "max": 1},
            {"type": "texte-court", "intitule": "y", "couleur": "bleu", "obligatoire": "oui"}
        ], "auteur": "moi"}"#;
        let errors = import(json).unwrap_err();
        let all = errors.join("\n");
        assert!(all.contains("auteur : propriété inconnue"), "{all}");
        assert!(
            all.contains("titre : un texte est attendu, pas un nombre"),
            "{all}"
        );
        assert!(all.contains("genre : genre inconnu « examen »"), "{all}");
        assert!(
            all.contains("questions[2].couleur : propriété inconnue"),
            "{all}"
        );
        assert!(
            all.contains("questions[2].obligatoire : un booléen est attendu"),
            "{all}"
        );
        // Structural errors first; semantic ones once the shape is right.
        let json = r#"{"titre": "T", "genre": "sondage", "questions": [
            {"type": "choix-unique", "intitule": "", "choix": ["a"], "bonnes_reponses": ["a"]},
            {"type": "echelle", "intitule": "x", "min": 5, "max": 1},
            {"type": "choix-multiple", "intitule": "m", "choix": ["a", "b"], "max_choix": 3}
        ]}"#;
        let all = import(json).unwrap_err().join("\n");
        assert!(
            all.contains("questions[0].intitule : intitulé vide"),
            "{all}"
        );
        assert!(
            all.contains("questions[0].choix : au moins deux choix"),
            "{all}"
        );
        assert!(
            all.contains("questions[0].bonnes_reponses : seuls un QCM"),
            "{all}"
        );
        assert!(
            all.contains("questions[1].min : le minimum (5) doit être inférieur au maximum (1)"),
            "{all}"
        );
        assert!(
            all.contains("questions[2].max_choix : le maximum (3) dépasse le nombre de choix (2)"),
            "{all}"
        );
    }

    #[test]
    fn bad_json_says_where() {
        let errors = import("{\n \"titre\": ").unwrap_err();
        assert!(
            errors[0].starts_with("JSON illisible à la ligne 2"),
            "{errors:?}"
        );
        assert!(import("[]").unwrap_err()[0].contains("pas une liste"));
    }

    #[test]
    fn the_shipped_schema_lists_the_same_types_and_genres() {
        let schema: Value = serde_json::from_str(SCHEMA).expect("schéma JSON");
        let kinds = &schema["$defs"]["question"]["properties"]["type"]["enum"];
        let expected: Vec<Value> = Kind::ALL.iter().map(|(_, id, _)| (*id).into()).collect();
        assert_eq!(kinds, &Value::Array(expected));
        let genres = &schema["properties"]["genre"]["enum"];
        let expected: Vec<Value> = Genre::ALL.iter().map(|(_, id, _)| (*id).into()).collect();
        assert_eq!(genres, &Value::Array(expected));
        let keys: Vec<&String> = schema["$defs"]["question"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, QUESTION_KEYS.iter().collect::<Vec<_>>());
    }

    #[test]
    fn sections_split_pages() {
        let form = import(sample()).unwrap();
        assert_eq!(pages(&form), vec![0..6], "a leading section starts page 1");
        let mut form = form;
        form.questions
            .insert(3, Question::new(Kind::Section, "Goûts"));
        assert_eq!(pages(&form), vec![0..3, 3..7]);
        form.questions.clear();
        assert_eq!(pages(&form), vec![0..0]);
    }

    #[test]
    fn french_numbers() {
        assert_eq!(fmt_num(12.0), "12");
        assert_eq!(fmt_num(3.456), "3,46");
        assert_eq!(fmt_num(-0.5), "-0,5");
    }
}
