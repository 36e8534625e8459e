//! Escaping, entity decoding, and the small tokenizer the post-pass walks
//! ammonia's well-formed output with.

use std::sync::LazyLock;

use regex::{Captures, Regex};

pub(super) static ENTITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"&(?:#([0-9]{1,8});?|#[xX]([0-9a-fA-F]{1,8});?|([a-zA-Z]+);)").unwrap()
});

/// Phrasing elements: a `<p>` split around an embed is closed through these.
#[rustfmt::skip]
pub(super) const INLINE: &[&str] = &[
    "a", "abbr", "b", "cite", "code", "del", "em", "i", "ins", "kbd", "mark", "q", "s", "small",
    "span", "strong", "sub", "sup", "u",
];

pub(super) const VOID: &[&str] = &["br", "hr", "img", "col", "wbr"];

/// Escapes text for an HTML attribute value or text node: the one escaper
/// the host and the plugins share.
pub use preau_text::escape;

/// Decodes numeric references and the few named ones that matter for URLs and
/// for ammonia's own output; anything else is left as is.
pub(super) fn decode_entities(s: &str) -> String {
    ENTITY
        .replace_all(s, |c: &Captures| {
            let code = match (c.get(1), c.get(2), c.get(3)) {
                (Some(d), _, _) => d.as_str().parse().ok(),
                (_, Some(h), _) => u32::from_str_radix(h.as_str(), 16).ok(),
                (_, _, Some(name)) => Some(match name.as_str() {
                    "amp" => '&' as u32,
                    "lt" => '<' as u32,
                    "gt" => '>' as u32,
                    "quot" => '"' as u32,
                    "apos" => '\'' as u32,
                    "nbsp" => 0xa0,
                    "sol" => '/' as u32,
                    "colon" => ':' as u32,
                    "quest" => '?' as u32,
                    "equals" => '=' as u32,
                    "period" => '.' as u32,
                    _ => return c[0].to_string(),
                }),
                _ => None,
            };
            code.and_then(char::from_u32)
                .unwrap_or('\u{fffd}')
                .to_string()
        })
        .into_owned()
}

/// A token of ammonia's serialised output, which is well-formed: text never
/// holds a raw `<`, attribute values are double-quoted without a raw `"`.
#[derive(Clone, Copy)]
pub(super) enum Tok<'a> {
    Open(&'a str, &'a str),
    Close(&'a str, &'a str),
    Text(&'a str),
}

pub(super) fn tokens(html: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let mut quoted = false;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    quoted ^= c == '"';
                    c == '>' && !quoted
                })
                .map_or(rest.len(), |(i, _)| i + 1);
            let raw = &rest[..end];
            let close = raw.starts_with("</");
            let name = raw[if close { 2 } else { 1 }..]
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("");
            toks.push(if close {
                Tok::Close(name, raw)
            } else {
                Tok::Open(name, raw)
            });
            rest = &rest[end..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            toks.push(Tok::Text(&rest[..end]));
            rest = &rest[end..];
        }
    }
    toks
}

/// Index of the `</a>` closing the `<a>` at `start` (anchors can nest via tables).
pub(super) fn matching_close(toks: &[Tok], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, tok) in toks.iter().enumerate().skip(start + 1) {
        match tok {
            Tok::Open("a", _) => depth += 1,
            Tok::Close("a", _) if depth == 0 => return Some(i),
            Tok::Close("a", _) => depth -= 1,
            _ => {}
        }
    }
    None
}

/// An element open in the post-pass output.
pub(super) struct Open {
    pub(super) name: String,
    /// Its start tag, as written.
    pub(super) tag: String,
    /// Where its start tag begins in the output.
    pub(super) pos: usize,
    /// Reopened by us after an embed: dropped if it ends up empty.
    pub(super) reopened: bool,
}

pub(super) fn push_open(out: &mut String, stack: &mut Vec<Open>, name: &str, raw: &str) {
    let tag = escape_in_attributes(raw);
    if !VOID.contains(&name) {
        stack.push(Open {
            name: name.to_string(),
            tag: tag.clone(),
            pos: out.len(),
            reopened: false,
        });
    }
    out.push_str(&tag);
}

/// Inserts a block (embed) at the current point. Inside a paragraph (through
/// phrasing elements only) the paragraph is split around it, since a `<div>`
/// may not sit in a `<p>`; the parts left empty are dropped.
pub(super) fn insert_block(out: &mut String, stack: &mut [Open], block: &str) {
    let outer = stack
        .iter()
        .rposition(|o| !INLINE.contains(&o.name.as_str()));
    let Some(p) = outer.filter(|&i| stack[i].name == "p") else {
        out.push_str(block);
        return;
    };
    for open in stack[p..].iter().rev() {
        if has_content(&out[open.pos..]) {
            out.push_str(&format!("</{}>", open.name));
        } else {
            out.truncate(open.pos);
        }
    }
    out.push_str(block);
    for open in &mut stack[p..] {
        open.pos = out.len();
        open.reopened = true;
        out.push_str(&open.tag);
    }
}

/// Whether a stretch of output holds visible content (text, image, embed…).
pub(super) fn has_content(html: &str) -> bool {
    tokens(html).into_iter().any(|tok| match tok {
        Tok::Text(t) => !t.trim().is_empty(),
        Tok::Open(name, _) => matches!(name, "img" | "br" | "hr" | "iframe"),
        Tok::Close(..) => false,
    })
}

/// Escapes `<` and `>` inside the quoted attribute values of a start tag
/// (html5ever leaves them raw there; they mean the same escaped).
pub(super) fn escape_in_attributes(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    let mut quoted = false;
    for c in tag.chars() {
        quoted ^= c == '"';
        match c {
            '<' if quoted => out.push_str("&lt;"),
            '>' if quoted => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}
