//! Plain text of feed fields: HTML to text, entities, whitespace, bounded lengths.

/// Strips tags (and what `<script>`/`<style>` hold) then decodes entities.
/// A `<` not followed by a tag-like character stays text ("5 < 6").
pub(super) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tag = &rest[lt + 1..];
        if !tag.starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?')) {
            out.push('<');
            rest = tag;
            continue;
        }
        let Some(gt) = tag.find('>') else {
            rest = ""; // an unfinished tag at the end: drop it
            break;
        };
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        rest = &tag[gt + 1..];
        if name == "script" || name == "style" {
            let closing = format!("</{name}");
            rest = match find_ascii_case_insensitive(rest, &closing) {
                Some(at) => rest[at..].find('>').map_or("", |gt| &rest[at + gt + 1..]),
                None => "",
            };
        }
        if matches!(
            name.as_str(),
            "br" | "p" | "div" | "li" | "tr" | "td" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
        ) {
            out.push(' ');
        }
    }
    out.push_str(rest);
    preau_sdk::text::entities::decode(&out).into_owned()
}

pub(super) fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

pub(super) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn truncate_chars(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text,
        Some(_) => {
            let mut cut: String = text.chars().take(max - 1).collect();
            cut.push('…');
            cut
        }
    }
}

pub(super) fn truncate_bytes(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
    text
}
