//! Any input: the sanitizer's output is safe on the parsed tree, idempotent,
//! and its plain text has no markup left.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use preau_fuzz::html::{EmbedProvider, Sanitizer};
use preau_fuzz::html_safety::fragment_problems;

static ALL: LazyLock<Sanitizer> = LazyLock::new(|| Sanitizer::new(&EmbedProvider::ALL));
static VIMEO_ONLY: LazyLock<Sanitizer> = LazyLock::new(|| Sanitizer::new(&[EmbedProvider::Vimeo]));

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for sanitizer in [&*ALL, &*VIMEO_ONLY] {
        let out = sanitizer.clean(input);
        let problems = fragment_problems(&out);
        assert!(
            problems.is_empty(),
            "{problems:?}\ninput: {input:?}\noutput: {out}"
        );
        assert!(!out.to_ascii_lowercase().contains("<script"), "{out}");
        assert_eq!(sanitizer.clean(&out), out, "not idempotent: {input:?}");
        let _ = sanitizer.plain_text(input);
    }
});
