//! Safety checks on HTML, made on the tree a browser would build: the output
//! is parsed with html5ever (the WHATWG parsing algorithm, the parser ammonia
//! itself uses) into its reference-counted test DOM, then walked.
//!
//! Shared by the host's sanitizer unit tests (`#[path]` module) and the
//! integration tests (through the harness), together with the XSS fixture.

use html5ever::tendril::TendrilSink;
use html5ever::{QualName, local_name, ns};
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use regex::Regex;
use std::sync::LazyLock;

/// The hostile vectors of `tests/fixtures/xss-vectors.txt`: one per line,
/// comments and blank lines skipped, `\n` `\r` `\t` unescaped.
pub fn xss_vectors() -> Vec<String> {
    include_str!("fixtures/xss-vectors.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.replace("\\n", "\n")
                .replace("\\r", "\r")
                .replace("\\t", "\t")
        })
        .collect()
}

/// Elements the sanitizer may output (its allowlist), plus the wrapper and
/// frame of host-built embeds, checked separately.
#[rustfmt::skip]
pub const FRAGMENT_TAGS: &[&str] = &[
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "div", "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "iframe",
];

/// Attributes holding a URL (HTML, SVG, MathML, legacy).
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "poster",
    "background",
    "cite",
    "data",
    "srcset",
    "lowsrc",
    "dynsrc",
    "codebase",
    "longdesc",
    "usemap",
    "ping",
    "manifest",
    "icon",
    "profile",
    "to",
    "from",
    "values",
    "by",
    "xlink:href",
    "code",
    "archive",
    "classid",
];

/// Elements that never belong in a page Préau serves, layout included.
const NEVER: &[&str] = &[
    "script",
    "object",
    "embed",
    "applet",
    "frame",
    "frameset",
    "base",
    "noscript",
    "xmp",
    "plaintext",
    "noembed",
    "noframes",
    "listing",
    "portal",
];

/// The only iframe allowed: the host-built embed, `src` from a fixed pattern.
static EMBED_SRC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^https://(?:www\.youtube-nocookie\.com/embed/[A-Za-z0-9_-]{11}",
        r"|www\.dailymotion\.com/embed/video/[A-Za-z0-9]{5,12}|player\.vimeo\.com/video/[0-9]{1,15}",
        r"|learningapps\.org/watch\?(?:v=[a-z0-9]{6,20}|app=[0-9]{1,15})",
        r"|padlet\.com/(?:embed/[a-z0-9]{6,40}|[A-Za-z0-9_-]{1,60}/[A-Za-z0-9_-]{1,60})",
        r"|quizlet\.com/[0-9]{1,15}/flashcards/embed)$",
    ))
    .unwrap()
});
const EMBED_SANDBOX: &str = "allow-scripts allow-same-origin allow-presentation allow-popups";
const EMBED_ATTRIBUTES: &[&str] = &[
    "src",
    "title",
    "sandbox",
    "referrerpolicy",
    "loading",
    "allowfullscreen",
];

/// How a URL reads to a browser's scheme check: entities are already decoded
/// by the parser; ASCII whitespace and controls are dropped (browsers strip
/// tabs and newlines anywhere, and leading controls and spaces), lowercased.
fn scheme_view(url: &str) -> String {
    url.chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase()
}

struct Checker {
    problems: Vec<String>,
    /// Allowed element names (sanitizer output); None for a whole page.
    allowed: Option<&'static [&'static str]>,
}

impl Checker {
    fn walk(&mut self, node: &Handle, parent: Option<&Handle>) {
        if let NodeData::Element {
            name,
            attrs,
            template_contents,
            ..
        } = &node.data
        {
            self.element(name, &attrs.borrow(), parent);
            if let Some(contents) = template_contents.borrow().as_ref() {
                if self.allowed.is_some() {
                    self.problems.push("<template> in sanitizer output".into());
                }
                self.walk(contents, Some(node));
            }
        }
        for child in node.children.borrow().iter() {
            self.walk(child, Some(node));
        }
    }

    fn element(
        &mut self,
        name: &QualName,
        attrs: &[html5ever::interface::Attribute],
        parent: Option<&Handle>,
    ) {
        let tag = name.local.to_string().to_ascii_lowercase();
        let html = name.ns == ns!(html);
        if NEVER.contains(&tag.as_str()) {
            self.problems.push(format!("<{tag}> element"));
        }
        if let Some(allowed) = self.allowed {
            if !html {
                self.problems
                    .push(format!("foreign element <{tag}> (svg/math)"));
            } else if !allowed.contains(&tag.as_str()) {
                self.problems.push(format!("<{tag}> not allowed"));
            }
        }
        let attr = |wanted: &str| {
            attrs
                .iter()
                .find(|a| a.name.local.to_string().eq_ignore_ascii_case(wanted))
                .map(|a| a.value.to_string())
        };
        for a in attrs {
            let local = a.name.local.to_string().to_ascii_lowercase();
            let full = match &a.name.prefix {
                Some(prefix) => format!("{prefix}:{local}"),
                None => local.clone(),
            };
            let value = a.value.to_string();
            if local.starts_with("on") {
                self.problems
                    .push(format!("event handler {full}= on <{tag}>"));
            }
            if local == "srcdoc" {
                self.problems.push(format!("srcdoc on <{tag}>"));
            }
            if local == "style" {
                let css = scheme_view(&value);
                if self.allowed.is_some()
                    || css.contains("expression(")
                    || css.contains("javascript:")
                    || css.contains("behavior:")
                {
                    self.problems.push(format!("style=\"{value}\" on <{tag}>"));
                }
            }
            if URL_ATTRIBUTES.contains(&local.as_str()) || URL_ATTRIBUTES.contains(&full.as_str()) {
                let url = scheme_view(&value);
                for scheme in ["javascript:", "vbscript:", "livescript:", "mocha:"] {
                    if url.starts_with(scheme) {
                        self.problems
                            .push(format!("{scheme} URL in {full} of <{tag}>: {value}"));
                    }
                }
                let image = tag == "img" && local == "src" && html;
                if url.starts_with("data:") && !image {
                    self.problems
                        .push(format!("data: URL in {full} of <{tag}>: {value}"));
                }
            }
        }
        if tag == "meta"
            && attr("http-equiv").is_some_and(|v| v.eq_ignore_ascii_case("refresh"))
            && attr("content").is_some_and(|c| scheme_view(&c).contains("url="))
        {
            self.problems.push("meta refresh to a URL".into());
        }
        if tag == "style" && self.allowed.is_some() {
            self.problems.push("<style> in sanitizer output".into());
        }
        if tag == "iframe" {
            self.iframe(attrs, parent);
        }
    }

    /// An iframe must be exactly a host-built embed.
    fn iframe(&mut self, attrs: &[html5ever::interface::Attribute], parent: Option<&Handle>) {
        let get = |n: &str| {
            attrs
                .iter()
                .find(|a| &*a.name.local == n)
                .map(|a| a.value.to_string())
        };
        let src = get("src").unwrap_or_default();
        let names: Vec<String> = attrs.iter().map(|a| a.name.local.to_string()).collect();
        let ok = EMBED_SRC.is_match(&src)
            && get("sandbox").as_deref() == Some(EMBED_SANDBOX)
            && names.len() == EMBED_ATTRIBUTES.len()
            && names.iter().all(|n| EMBED_ATTRIBUTES.contains(&n.as_str()));
        let wrapped = parent.is_some_and(|p| match &p.data {
            NodeData::Element { name, attrs, .. } => {
                &*name.local == "div"
                    && attrs
                        .borrow()
                        .iter()
                        .any(|a| &*a.name.local == "class" && a.value.starts_with("embed embed-"))
            }
            _ => false,
        });
        if !ok || !wrapped {
            let attrs: Vec<String> = attrs
                .iter()
                .map(|a| format!("{}=\"{}\"", a.name.local, a.value))
                .collect();
            self.problems
                .push(format!("foreign iframe: <iframe {}>", attrs.join(" ")));
        }
    }
}

/// What is wrong in sanitizer output (a fragment in a `<div>`), parsed as a
/// browser parses it (scripting on). Empty if safe.
pub fn fragment_problems(html: &str) -> Vec<String> {
    let dom = html5ever::parse_fragment(
        RcDom::default(),
        Default::default(),
        QualName::new(None, ns!(html), local_name!("div")),
        vec![],
        true,
    )
    .one(html);
    let mut checker = Checker {
        problems: Vec::new(),
        allowed: Some(FRAGMENT_TAGS),
    };
    // The fragment's nodes are the children of the parser's synthetic `<html>`.
    for root in dom.document.children.borrow().iter() {
        for child in root.children.borrow().iter() {
            checker.walk(child, None);
        }
    }
    checker.problems
}

/// What is wrong in a whole page Préau served (layout included). Empty if safe.
pub fn page_problems(html: &str) -> Vec<String> {
    let dom = html5ever::parse_document(RcDom::default(), Default::default()).one(html);
    let mut checker = Checker {
        problems: Vec::new(),
        allowed: None,
    };
    checker.walk(&dom.document, None);
    checker.problems
}

/// The text of a page (text nodes joined), as a reader sees it.
pub fn page_text(html: &str) -> String {
    fn collect(node: &Handle, out: &mut String) {
        if let NodeData::Text { contents } = &node.data {
            out.push_str(&contents.borrow());
        }
        for child in node.children.borrow().iter() {
            collect(child, out);
        }
    }
    let dom = html5ever::parse_document(RcDom::default(), Default::default()).one(html);
    let mut text = String::new();
    collect(&dom.document, &mut text);
    text
}
