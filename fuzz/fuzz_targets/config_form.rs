//! A schema (first line, JSON) and a submitted form (the rest, urlencoded):
//! building, reading and validating the configuration form never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preau_fuzz::config_form::{fields, parse_form, validate};
use preau_fuzz::forms;

fuzz_target!(|data: &[u8]| {
    let (schema, form) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(schema) = serde_json::from_slice::<serde_json::Value>(schema) else {
        return;
    };
    let form = forms::parse_form(form).unwrap_or_default();
    let (config, errors) = parse_form(&schema, &form);
    let _ = fields(&schema, &config, &errors);
    if let Err(errors) = validate(&schema, &config) {
        let _ = fields(&schema, &config, &errors);
    }
});
