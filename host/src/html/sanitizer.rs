//! The sanitizing pipeline: pre-pass (iframes to marker links), ammonia, post-pass
//! (recognised links and bare URLs to host-built embeds).

use super::embeds::parse_embed;
use super::markup::*;
use super::*;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Sanitizer for user-written rich HTML; build once, share (it is `Send + Sync`).
#[derive(Debug)]
pub struct Sanitizer {
    builder: ammonia::Builder<'static>,
    enabled: Vec<EmbedProvider>,
}

/// Tags kept by ammonia. Never add a raw-text element (iframe, script, style,
/// noscript, xmp, plaintext, …): that is what mutation-XSS needs.
#[rustfmt::skip]
pub(super) const TAGS: &[&str] = &[
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "div", "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
];
/// Tags removed together with their content (must stay disjoint from `TAGS`:
/// ammonia panics otherwise).
#[rustfmt::skip]
pub(super) const CLEAN_CONTENT_TAGS: &[&str] = &[
    "script", "style", "iframe", "frame", "frameset", "noscript", "noembed", "noframes",
    "template", "object", "embed", "applet", "svg", "math", "xmp", "plaintext", "textarea",
    "title", "select",
];

/// Rest of a start tag after its name; quoted values may hold `>`.
macro_rules! tag_rest {
    () => {
        r#"(?:[\s/](?:"[^"]*"|'[^']*'|[^"'>])*)?>"#
    };
}
pub(super) static IFRAME_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(concat!(r"(?i)<iframe", tag_rest!())).unwrap());
pub(super) static IFRAME_CLOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)</iframe\s*>").unwrap());
/// A host-built embed (wrapper included), so that a second pass restores it as it was.
pub(super) static EMBED_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)<div\s+class="embed embed-[a-z]+"\s*>\s*(<iframe"#,
        tag_rest!(),
        r#")\s*</iframe\s*>\s*</div\s*>"#
    ))
    .unwrap()
});
pub(super) static ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*)))?"#).unwrap()
});
pub(super) static HREF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\shref="([^"]*)""#).unwrap());

impl Sanitizer {
    /// A sanitizer embedding only the `enabled` providers.
    pub fn new(enabled: &[EmbedProvider]) -> Self {
        let set = |tags: &[&'static str]| tags.iter().copied().collect::<HashSet<_>>();
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(set(TAGS))
            .clean_content_tags(set(CLEAN_CONTENT_TAGS))
            .generic_attributes(set(&["title", "lang"]))
            .tag_attributes(HashMap::from([
                ("a", set(&["href"])),
                ("img", set(&["src", "alt", "width", "height"])),
                ("td", set(&["colspan", "rowspan"])),
                ("th", set(&["colspan", "rowspan", "scope"])),
                ("ol", set(&["start"])),
            ]))
            .url_schemes(set(&["http", "https", "mailto"]))
            // Control characters never belong in a URL, and browsers differ on
            // them (a backspace in `java\x08script:`): such URLs are dropped
            // whole. Tabs and newlines are stripped by every URL parser,
            // ammonia's included, before it judges the scheme.
            .attribute_filter(|_, attribute, value| {
                let odd = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
                match attribute {
                    "href" | "src" if value.chars().any(odd) => None,
                    _ => Some(value.into()),
                }
            })
            .link_rel(Some("noopener noreferrer nofollow"))
            .strip_comments(true);
        Self {
            builder,
            enabled: enabled.to_vec(),
        }
    }

    /// The embed for `url` if it is an allowlisted URL of an enabled provider.
    pub fn recognise(&self, url: &str) -> Option<Embed> {
        parse_embed(url).filter(|e| self.enabled.contains(&e.provider))
    }

    /// Sanitizes untrusted rich HTML; recognised embeds become host-built iframes.
    pub fn clean(&self, html: &str) -> String {
        let mut out = self.clean_once(html);
        // Serialised HTML does not always parse back to the same tree (links
        // nested through a table), and splitting a paragraph around an embed can
        // leave a bare-URL paragraph: run again until stable, so that `clean` is
        // idempotent. The usual cost is one extra run, the check.
        for _ in 0..4 {
            let again = self.clean_once(&out);
            if again == out {
                break;
            }
            out = again;
        }
        out
    }

    /// One run of the pipeline: pre-pass, ammonia, post-pass.
    fn clean_once(&self, html: &str) -> String {
        let cleaned = self.builder.clean(&self.iframes_to_links(html)).to_string();
        self.links_to_embeds(&cleaned)
    }

    /// The host-built embed HTML for `url`, if recognised.
    pub fn embed_html(&self, url: &str) -> Option<String> {
        self.recognise(url).map(|e| e.to_html())
    }

    /// Text only, for excerpts: tags removed (with the content of script, style
    /// and the like), entities decoded, whitespace collapsed. The result is
    /// plain text, not HTML: escape it when rendering.
    pub fn plain_text(&self, html: &str) -> String {
        let cleaned = self.builder.clean(html).to_string();
        let mut text = String::new();
        for tok in tokens(&cleaned) {
            match tok {
                Tok::Text(t) => text.push_str(&decode_entities(t)),
                // Block boundaries separate words.
                Tok::Open(name, _) | Tok::Close(name, _) if !INLINE.contains(&name) => {
                    text.push(' ')
                }
                _ => {}
            }
        }
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Pre-pass: recognised iframes become marker links, the others vanish.
    fn iframes_to_links(&self, html: &str) -> String {
        let html = EMBED_BLOCK.replace_all(html, |c: &Captures| self.marker(&c[1]));
        let (mut out, mut last) = (String::with_capacity(html.len()), 0);
        // Both searches only move forward, which keeps this linear.
        let mut next = IFRAME_OPEN.find(&html);
        let mut close = IFRAME_CLOSE.find(&html);
        while let Some(open) = next {
            out.push_str(&html[last..open.start()]);
            out.push_str(&self.marker(open.as_str()));
            last = open.end();
            if close.is_some_and(|c| c.start() < last) {
                close = IFRAME_CLOSE.find_at(&html, last);
            }
            next = IFRAME_OPEN.find_at(&html, last);
            // Swallow the fallback content up to the closing tag, unless another
            // iframe opens first (this one was then unclosed or self-closed).
            if let Some(c) = close.filter(|c| next.is_none_or(|n| n.start() > c.start())) {
                last = c.end();
            }
        }
        out.push_str(&html[last..]);
        out
    }

    /// Marker link for an iframe start tag whose `src` is recognised, else nothing.
    fn marker(&self, tag: &str) -> String {
        let attrs = ATTR.captures_iter(&tag["<iframe".len()..]);
        // The first `src` wins, as in browsers.
        let src = attrs.filter(|c| c[1].eq_ignore_ascii_case("src")).map(|c| {
            let value = c.get(2).or(c.get(3)).or(c.get(4));
            decode_entities(value.map_or("", |m| m.as_str()))
        });
        match src.take(1).find_map(|s| self.recognise(&s)) {
            // Unquoted: a canonical src holds no space, quote or `>`, and an
            // iframe written inside an attribute value then cannot break out of it.
            Some(e) => format!("<a href={0}>{0}</a>", escape(&e.src)),
            None => String::new(),
        }
    }

    /// Post-pass over ammonia's output: links to, and paragraphs holding only, a
    /// recognised URL become embeds. Also escapes `<`/`>` inside attribute
    /// values so that the next pre-pass can only ever see real tags.
    fn links_to_embeds(&self, html: &str) -> String {
        let toks = tokens(html);
        let mut out = String::with_capacity(html.len());
        let mut stack: Vec<Open> = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            // No embed inside a link: invalid, and the marker link of the next
            // pre-pass would not parse back to the same place.
            let in_link = stack.iter().any(|o| o.name == "a");
            match toks[i] {
                Tok::Open("p", raw) => {
                    // A paragraph holding only a recognised URL.
                    let bare = match (toks.get(i + 1), toks.get(i + 2)) {
                        (Some(Tok::Text(t)), Some(Tok::Close("p", _))) if !in_link => {
                            self.recognise(decode_entities(t).trim())
                        }
                        _ => None,
                    };
                    match bare {
                        Some(e) => {
                            out.push_str(&e.to_html());
                            i += 2;
                        }
                        None => push_open(&mut out, &mut stack, "p", raw),
                    }
                }
                Tok::Open("a", raw) => {
                    let embed = HREF
                        .captures(raw)
                        .filter(|_| !in_link)
                        .and_then(|c| self.recognise(&decode_entities(&c[1])));
                    match (embed, matching_close(&toks, i)) {
                        (Some(e), Some(end)) => {
                            insert_block(&mut out, &mut stack, &e.to_html());
                            i = end;
                        }
                        _ => push_open(&mut out, &mut stack, "a", raw),
                    }
                }
                Tok::Open(name, raw) => push_open(&mut out, &mut stack, name, raw),
                Tok::Close(name, raw) => match stack.pop() {
                    // Drop elements reopened after an embed that stayed empty.
                    Some(top)
                        if top.name == name && top.reopened && !has_content(&out[top.pos..]) =>
                    {
                        out.truncate(top.pos)
                    }
                    Some(top) if top.name != name => {
                        stack.push(top);
                        out.push_str(raw);
                    }
                    _ => out.push_str(raw),
                },
                Tok::Text(t) => self.push_text(&toks, i, t, &mut out, &mut stack),
            }
            i += 1;
        }
        out
    }

    /// Pushes the text token `toks[i]`; a recognised URL alone on its line (a
    /// line of the text bounded by line breaks, `<br>` or block tags, not only
    /// a whole paragraph) becomes its embed, as the editor's help promises.
    fn push_text(&self, toks: &[Tok], i: usize, text: &str, out: &mut String, stack: &mut [Open]) {
        let breaks = |tok: Option<&Tok>| match tok {
            None => true,
            Some(Tok::Open(name, _)) | Some(Tok::Close(name, _)) => !INLINE.contains(name),
            Some(Tok::Text(_)) => false,
        };
        // Only where a block may go: not in a link, code, heading, caption…
        let placeable = stack.iter().all(|o| {
            matches!(
                o.name.as_str(),
                "p" | "div"
                    | "li"
                    | "blockquote"
                    | "td"
                    | "th"
                    | "b"
                    | "em"
                    | "i"
                    | "strong"
                    | "span"
                    | "u"
                    | "s"
            )
        });
        if !placeable || !text.contains("://") {
            out.push_str(text);
            return;
        }
        let starts_line = breaks(i.checked_sub(1).and_then(|j| toks.get(j)));
        let ends_line = breaks(toks.get(i + 1));
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (n, line) in lines.iter().enumerate() {
            let alone = (n > 0 || starts_line)
                && (line.ends_with('\n') || (n + 1 == lines.len() && ends_line));
            match alone
                .then(|| self.recognise(decode_entities(line).trim()))
                .flatten()
            {
                Some(embed) => {
                    insert_block(out, stack, &embed.to_html());
                    if line.ends_with('\n') {
                        out.push('\n');
                    }
                }
                None => out.push_str(line),
            }
        }
    }
}
