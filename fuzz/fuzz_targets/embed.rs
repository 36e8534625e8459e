//! Any URL: a recognised embed has a canonical `src` recognised as itself,
//! and its host-built HTML is safe and survives the sanitizer unchanged.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use preau_fuzz::html::{EmbedProvider, Sanitizer};
use preau_fuzz::html_safety::fragment_problems;

static SAN: LazyLock<Sanitizer> = LazyLock::new(|| Sanitizer::new(&EmbedProvider::ALL));

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let Some(embed) = SAN.recognise(url) else {
        // Not an embed: as a link or a bare URL it must still be safe.
        for html in [format!("<p>{url}</p>"), format!("<a href=\"{url}\">x</a>")] {
            let out = SAN.clean(&html);
            assert!(fragment_problems(&out).is_empty(), "{html}\n{out}");
        }
        return;
    };
    assert_eq!(SAN.recognise(&embed.src()), Some(embed.clone()), "{url}");
    let html = embed.to_html();
    assert!(fragment_problems(&html).is_empty(), "{html}");
    assert_eq!(SAN.clean(&html), html, "{url}");
    // Pasted as an iframe (no `&`: entities would change the URL).
    if !url.contains('&') {
        let iframe = format!("<iframe src=\"{url}\"></iframe>");
        assert_eq!(SAN.clean(&iframe), html, "{url}");
    }
});
