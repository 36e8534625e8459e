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
    decode_entities(&out)
}

pub(super) fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Decodes `&#233;`, `&#xE9;` and every HTML named reference;
/// unknown or broken ones stay as they are.
pub(super) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // Bytes, not a `str` window: a cut inside a multi-byte character
        // would hide the reference.
        let decoded = after
            .bytes()
            .take(preau_sdk::text::entities::LONGEST_NAME + 2)
            .position(|b| b == b';')
            .and_then(|semi| Some((entity(&after[..semi])?, semi)));
        match decoded {
            Some((text, semi)) => {
                out.push_str(&text);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A character reference (`#233`, `#xE9`) or a named one, without `&` and `;`.
pub(super) fn entity(name: &str) -> Option<std::borrow::Cow<'static, str>> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        // Controls (NUL included) would come back through the back door.
        return char::from_u32(code)
            .filter(|c| !c.is_control() || *c == '\t' || *c == '\n')
            .map(|c| c.to_string().into());
    }
    preau_sdk::text::entities::named(name).map(Into::into)
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
