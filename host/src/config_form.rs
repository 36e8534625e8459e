//! Per-establishment plugin configuration: a form generated from the
//! manifest's JSON Schema, validated with `jsonschema`, errors in French per field.

use serde::Serialize;
use serde_json::{Map, Value};

/// An error attached to a configuration field (`""` for the whole object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Property name.
    pub field: String,
    /// French message.
    pub message: String,
}

/// One input of the generated form.
#[derive(Debug, Serialize)]
pub struct FieldView {
    name: String,
    label: String,
    description: String,
    kind: &'static str,
    value: String,
    options: Vec<String>,
    required: bool,
    error: Option<String>,
    /// Bounds from the schema, for the browser's own checks (the server checks again).
    min: Option<Value>,
    max: Option<Value>,
    maxlength: Option<Value>,
}

fn properties(schema: &Value) -> Vec<(String, Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn kind_of(prop: &Value) -> &'static str {
    if prop.get("enum").is_some() {
        return "select";
    }
    match prop.get("type").and_then(Value::as_str) {
        Some("string") => "text",
        Some("integer") => "integer",
        Some("number") => "number",
        Some("boolean") => "boolean",
        _ => "json",
    }
}

fn required_fields(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn display(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

/// The form's inputs for `schema`, filled with `values`, annotated with `errors`.
pub fn fields(schema: &Value, values: &Value, errors: &[FieldError]) -> Vec<FieldView> {
    let required = required_fields(schema);
    properties(schema)
        .into_iter()
        .map(|(name, prop)| FieldView {
            label: prop
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or(&name)
                .to_string(),
            description: prop
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            kind: kind_of(&prop),
            value: display(values.get(&name)),
            options: prop
                .get("enum")
                .and_then(Value::as_array)
                .map(|o| o.iter().map(|v| display(Some(v))).collect())
                .unwrap_or_default(),
            required: required.contains(&name),
            error: errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| e.message.clone()),
            min: prop.get("minimum").cloned(),
            max: prop.get("maximum").cloned(),
            maxlength: prop.get("maxLength").cloned(),
            name,
        })
        .collect()
}

/// Turns submitted text fields into a typed JSON object following the schema.
/// Type mismatches (a word where a number is expected) become field errors.
pub fn parse_form(schema: &Value, form: &[(String, String)]) -> (Value, Vec<FieldError>) {
    let mut config = Map::new();
    let mut errors = Vec::new();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    for (name, prop) in properties(schema) {
        let raw = get(&name);
        let error = |message: &str| FieldError {
            field: name.clone(),
            message: message.into(),
        };
        let value = match (kind_of(&prop), raw) {
            ("boolean", raw) => Some(Value::Bool(matches!(raw, Some("true" | "on")))),
            (_, None | Some("")) => None,
            ("integer", Some(text)) => match text.parse::<i64>() {
                Ok(n) => Some(Value::from(n)),
                Err(_) => {
                    errors.push(error("Saisissez un nombre entier."));
                    None
                }
            },
            ("number", Some(text)) => match text.replace(',', ".").parse::<f64>() {
                Ok(n) => Some(Value::from(n)),
                Err(_) => {
                    errors.push(error("Saisissez un nombre."));
                    None
                }
            },
            ("json", Some(text)) => match serde_json::from_str(text) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(error(&format!("JSON invalide : {e}")));
                    None
                }
            },
            (_, Some(text)) => {
                // A select of numbers keeps its numeric type.
                let typed = prop
                    .get("enum")
                    .and_then(Value::as_array)
                    .and_then(|options| options.iter().find(|o| display(Some(o)) == text).cloned());
                Some(typed.unwrap_or_else(|| Value::String(text.to_string())))
            }
        };
        if let Some(value) = value {
            config.insert(name, value);
        }
    }
    (Value::Object(config), errors)
}

fn number(v: &Value) -> String {
    v.to_string().replace('.', ",")
}

/// Validates `config` against `schema`; every violation as a French field error.
pub fn validate(schema: &Value, config: &Value) -> Result<(), Vec<FieldError>> {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![FieldError {
                field: String::new(),
                message: format!("Schéma invalide : {e}"),
            }]);
        }
    };
    let errors: Vec<FieldError> = validator
        .iter_errors(config)
        .map(|error| {
            let path = error.instance_path.to_string();
            let mut field = path
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or("")
                .to_string();
            let message = match &error.kind {
                K::Required { property } => {
                    field = property.as_str().unwrap_or("").to_string();
                    "Ce champ est obligatoire.".to_string()
                }
                K::AdditionalProperties { unexpected } => {
                    format!("Paramètre inconnu : {}.", unexpected.join(", "))
                }
                K::Type { kind } => {
                    let expected = match kind {
                        TypeKind::Single(t) => format!("{t:?}"),
                        TypeKind::Multiple(_) => "autre".to_string(),
                    };
                    let expected = match expected.to_lowercase().as_str() {
                        "string" => "un texte",
                        "integer" => "un nombre entier",
                        "number" => "un nombre",
                        "boolean" => "oui ou non",
                        "array" => "une liste",
                        "object" => "un objet",
                        _ => "une valeur d'un autre type",
                    }
                    .to_string();
                    format!("Type incorrect : attendu {expected}.")
                }
                K::Minimum { limit } => format!(
                    "La valeur doit être supérieure ou égale à {}.",
                    number(limit)
                ),
                K::Maximum { limit } => format!(
                    "La valeur doit être inférieure ou égale à {}.",
                    number(limit)
                ),
                K::ExclusiveMinimum { limit } => format!(
                    "La valeur doit être strictement supérieure à {}.",
                    number(limit)
                ),
                K::ExclusiveMaximum { limit } => format!(
                    "La valeur doit être strictement inférieure à {}.",
                    number(limit)
                ),
                K::MinLength { limit } => format!("Au moins {limit} caractère(s)."),
                K::MaxLength { limit } => format!("Au plus {limit} caractères."),
                K::Enum { options } => {
                    format!("Valeur non autorisée (valeurs possibles : {options}).")
                }
                K::Pattern { pattern } => format!("Format incorrect (motif attendu : {pattern})."),
                K::Format { format } => format!("Format « {format} » attendu."),
                K::MinItems { limit } => format!("Au moins {limit} élément(s)."),
                K::MaxItems { limit } => format!("Au plus {limit} élément(s)."),
                _ => format!("Valeur invalide ({error})."),
            };
            FieldError { field, message }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["titre"],
            "properties": {
                "titre": {"type": "string", "maxLength": 5, "title": "Titre"},
                "n": {"type": "integer", "minimum": 1, "maximum": 50},
                "actif": {"type": "boolean"},
                "mode": {"enum": ["a", "b"]}
            }
        })
    }

    #[test]
    fn parses_typed_values_and_reports_type_errors() {
        let form = vec![
            ("titre".into(), "abc".into()),
            ("n".into(), "douze".into()),
            ("mode".into(), "b".into()),
        ];
        let (config, errors) = parse_form(&schema(), &form);
        assert_eq!(config, json!({"titre": "abc", "actif": false, "mode": "b"}));
        assert_eq!(
            errors,
            vec![FieldError {
                field: "n".into(),
                message: "Saisissez un nombre entier.".into()
            }]
        );
    }

    #[test]
    fn french_messages_per_field() {
        let errors = validate(&schema(), &json!({"titre": "abcdefgh", "n": 99})).unwrap_err();
        assert!(errors.contains(&FieldError {
            field: "titre".into(),
            message: "Au plus 5 caractères.".into()
        }));
        assert!(errors.contains(&FieldError {
            field: "n".into(),
            message: "La valeur doit être inférieure ou égale à 50.".into()
        }));
        let errors = validate(&schema(), &json!({"n": 3})).unwrap_err();
        assert_eq!(errors[0].field, "titre");
        assert_eq!(errors[0].message, "Ce champ est obligatoire.");
        assert!(validate(&schema(), &json!({"titre": "ok", "mode": "a"})).is_ok());
    }
}
