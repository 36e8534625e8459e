//! Any request body or query string: decoding never panics, and a body that
//! is not UTF-8 is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preau_fuzz::forms::{parse_form, parse_query};

fuzz_target!(|data: &[u8]| {
    let form = parse_form(data);
    match std::str::from_utf8(data) {
        Ok(text) => {
            let _ = parse_query(Some(text));
        }
        Err(_) => assert!(form.is_none()),
    }
});
