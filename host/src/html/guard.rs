//! The last pass over every HTML page the host sends: what no template may
//! send to a visitor, a hostile plugin's included.
//!
//! Values are autoescaped and user HTML goes through the sanitizer, but a
//! plugin's template is its author's literal HTML, and `href="{{ link }}"`
//! passes a `javascript:` value through. The CSP already forbids scripts;
//! this pass removes what acts without them:
//! - `meta` with `http-equiv` (a `refresh` leaves the site), `base` (it
//!   re-targets every relative link), `script`, `object`, `embed`, `applet`,
//!   `frame`, `frameset`;
//! - every `on…` event attribute;
//! - URL attributes whose scheme is not http, https, mailto or tel
//!   (`javascript:`, `data:` except a `data:image/` picture, `vbscript:`…):
//!   they become `#`;
//! - a form action (or `formaction`) that leaves the site: it becomes `#`.
//!
//! It is a streaming rewrite (lol_html): one pass, no tree.

use std::borrow::Cow;
use std::sync::LazyLock;

use lol_html::html_content::Element;
use lol_html::{ElementContentHandlers, RewriteStrSettings, Selector, rewrite_str};

/// Attributes that hold a URL.
const URL_ATTRIBUTES: [&str; 8] = [
    "href",
    "src",
    "action",
    "formaction",
    "poster",
    "cite",
    "background",
    "xlink:href",
];

/// Elements removed with their content.
const REMOVED: &str = "meta[http-equiv], base, script, object, embed, applet, frame, frameset";

/// Rewrites `html`; on a rewriting error (never expected: lol_html accepts
/// any input), an empty page rather than the unchecked one.
pub fn guard(html: &str) -> String {
    // Parsed once: a page's guard is on the hot path, and its fragments' too.
    static REMOVED_ELEMENTS: LazyLock<Selector> =
        LazyLock::new(|| REMOVED.parse().expect("sélecteur valide"));
    static EVERY_ELEMENT: LazyLock<Selector> =
        LazyLock::new(|| "*".parse().expect("sélecteur valide"));
    let settings = RewriteStrSettings {
        element_content_handlers: vec![
            (
                Cow::Borrowed(&*REMOVED_ELEMENTS),
                ElementContentHandlers::default().element(|el: &mut Element<'_, '_>| {
                    el.remove();
                    Ok(())
                }),
            ),
            (
                Cow::Borrowed(&*EVERY_ELEMENT),
                ElementContentHandlers::default().element(|el: &mut Element<'_, '_>| {
                    check_attributes(el);
                    Ok(())
                }),
            ),
        ],
        ..RewriteStrSettings::new()
    };
    rewrite_str(html, settings).unwrap_or_else(|e| {
        tracing::error!("contrôle de la page HTML : {e}");
        String::new()
    })
}

fn check_attributes(el: &mut Element) {
    // Most elements have nothing to change: only the names are read for
    // them (a page has hundreds of elements).
    let mut removed = Vec::new();
    let mut neutralised = Vec::new();
    let mut tag = None;
    for attribute in el.attributes() {
        let name = attribute.name();
        if name.starts_with("on") {
            removed.push(name);
        } else if name == "srcset" {
            let value = attribute.value();
            let tag = tag.get_or_insert_with(|| el.tag_name());
            if value.split(',').any(|c| !allowed_url(tag, "src", c.trim())) {
                removed.push(name);
            }
        } else if URL_ATTRIBUTES.contains(&name.as_str()) {
            let value = attribute.value();
            let tag = tag.get_or_insert_with(|| el.tag_name());
            let leaves = (name == "action" || name == "formaction") && leaves_site(&value);
            if leaves || !allowed_url(tag, &name, &value) {
                neutralised.push(name);
            }
        }
    }
    for name in removed {
        el.remove_attribute(&name);
    }
    for name in neutralised {
        let _ = el.set_attribute(&name, "#");
    }
}

/// The attribute value as the browser reads it: character references decoded
/// (numeric ones, and the named ones that can hide a scheme).
fn decoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e <= 12);
        let reference = end.map(|e| &rest[1..e]);
        let character = reference.and_then(|r| {
            let lower = r.to_ascii_lowercase();
            if let Some(hex) = lower.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(dec) = lower.strip_prefix('#') {
                dec.parse().ok().and_then(char::from_u32)
            } else {
                match lower.as_str() {
                    "colon" => Some(':'),
                    "tab" => Some('\t'),
                    "newline" => Some('\n'),
                    "amp" => Some('&'),
                    _ => None,
                }
            }
        });
        match (character, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a browser would read as the URL's scheme, if any (lowercase;
/// references decoded, whitespace and control characters, which browsers
/// skip, removed).
fn scheme(value: &str) -> Option<String> {
    // A scheme ends with a colon, written as is or as a character reference.
    if !value.contains([':', '&']) {
        return None;
    }
    let cleaned: String = decoded(value)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let colon = cleaned.find(':')?;
    let candidate = &cleaned[..colon];
    let is_scheme = candidate
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && candidate
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    // A colon after a path, query or fragment character is not a scheme's.
    (is_scheme && !candidate.contains(['/', '?', '#'])).then(|| candidate.to_string())
}

fn allowed_url(tag: &str, attribute: &str, value: &str) -> bool {
    match scheme(value).as_deref() {
        None | Some("http") | Some("https") | Some("mailto") | Some("tel") => true,
        Some("data") => {
            tag == "img"
                && attribute == "src"
                && decoded(value)
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("data:image/")
        }
        Some(_) => false,
    }
}

/// Whether a form target is another site (an absolute or protocol-relative URL).
fn leaves_site(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("//") || v.starts_with("\\\\") || scheme(v).is_some()
}

#[cfg(test)]
mod tests {
    use super::guard;

    #[test]
    fn what_acts_without_scripts_is_removed() {
        let page = r#"<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/"><link rel="stylesheet" href="/static/style.css"></head><body><a href="javascript:alert(1)" onclick="x()">a</a><a href=" jAvA&#x0A;script:x">b</a><a href="javascript&colon;y">b2</a><a href="/e/0420003A/blog/">c</a><a href="https://onisep.fr/">d</a><img src="data:image/png;base64,AAAA" onerror="x()"><img src="data:text/html,x"><form action="https://evil.example/vol" method="post"><button formaction="//evil.example/">e</button></form><form action="/login"></form><script>x()</script><object data="x"></object><p title="javascript:ok">texte</p></body></html>"#;
        let out = guard(page);
        for gone in [
            "http-equiv",
            "<base",
            "javascript:alert",
            "onclick",
            "onerror",
            "<script",
            "<object",
            "evil.example/vol",
            "//evil.example/",
            "data:text/html",
        ] {
            assert!(!out.contains(gone), "{gone} :\n{out}");
        }
        for kept in [
            r#"<meta charset="utf-8">"#,
            r#"href="/static/style.css""#,
            r#"href="/e/0420003A/blog/""#,
            r#"href="https://onisep.fr/""#,
            "data:image/png;base64,AAAA",
            r#"action="/login""#,
            r#"title="javascript:ok""#,
        ] {
            assert!(out.contains(kept), "{kept} :\n{out}");
        }
        assert!(!out.to_lowercase().contains("script:x"), "{out}");
        assert!(!out.contains("javascript&colon;y"), "{out}");
    }
}
