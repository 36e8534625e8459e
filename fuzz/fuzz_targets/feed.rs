//! Any bytes, with or without a charset and a feed address: the feed parser
//! (`plugins/rss/src/feed.rs`) never panics, and what it returns stays within
//! its bounds, with only absolute http(s) links, distinct keys, and the same
//! result when parsed again.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use rss::feed::{self, MAX_ENTRIES, MAX_SUMMARY_BYTES, MAX_TITLE_CHARS};

const CHARSETS: [Option<&str>; 4] = [
    None,
    Some("text/xml; charset=iso-8859-1"),
    Some("application/rss+xml; charset=koi8-t"),
    Some("text/xml; charset=utf-16"),
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the Content-Type and whether the address is known.
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let charset = CHARSETS[usize::from(choice & 3)];
    let url = (choice & 4 != 0).then_some("https://ecole.example.org/flux/actus.xml");
    let Ok(parsed) = feed::parse(body, charset, url) else {
        return;
    };
    assert!(!parsed.entries.is_empty() && parsed.entries.len() <= MAX_ENTRIES);
    assert!(parsed.title.chars().count() <= MAX_TITLE_CHARS);
    let mut keys = HashSet::new();
    for entry in &parsed.entries {
        assert!(keys.insert(&entry.key), "key twice: {}", entry.key);
        assert!(entry.title.chars().count() <= MAX_TITLE_CHARS);
        assert!(entry.summary_html.len() <= MAX_SUMMARY_BYTES);
        for link in entry.link.iter().chain(&parsed.site_link) {
            let lower = link.to_ascii_lowercase();
            assert!(
                lower.starts_with("http://") || lower.starts_with("https://"),
                "{link}"
            );
        }
    }
    assert_eq!(feed::parse(body, charset, url).ok().as_ref(), Some(&parsed));
});
