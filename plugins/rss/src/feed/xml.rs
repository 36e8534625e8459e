//! XML feeds: a quick-xml pass checks the document (with line numbers, which
//! feed-rs does not give), recognises the root, bounds the entries and writes
//! down the small edits that let feed-rs read what it would otherwise miss;
//! then feed-rs parses, and an element it still chokes on is dropped instead
//! of the feed.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};

use super::*;

/// The link given to an RSS 1.0 item that has none, which feed-rs would
/// otherwise drop; never shown (not http) nor used as a key.
pub(super) const NO_LINK: &str = "urn:x-preau:sans-lien";

const ATOM_1_0: &str = "http://www.w3.org/2005/Atom";
const ATOM_0_3: &str = "http://purl.org/atom/ns#";
/// The namespace feed-rs reads RSS elements in (0.9x and 2.0 included).
const RSS_NS: &str = "http://purl.org/rss/1.0/";

/// Namespaces feed-rs does not know, and the one it reads the same elements
/// in: Atom 0.3, RSS 0.90, and RSS 2.0's namespaces of the early 2000s.
const NAMESPACES: &[(&str, &str)] = &[
    (ATOM_0_3, ATOM_1_0),
    ("http://my.netscape.com/rdf/simple/0.9/", RSS_NS),
    ("http://my.netscape.com/rdf/simple/0.9", RSS_NS),
    ("http://backend.userland.com/rss2", RSS_NS),
    ("http://backend.userland.com/rss", RSS_NS),
    ("http://blogs.law.harvard.edu/tech/rss", RSS_NS),
    ("http://purl.org/rss/2.0/", RSS_NS),
];

/// Atom's text constructs, whose `type` feed-rs reads strictly.
const TEXT_CONSTRUCTS: &[&str] = &[
    "title",
    "subtitle",
    "tagline",
    "summary",
    "content",
    "rights",
    "copyright",
    "info",
];

/// Elements feed-rs still refuses after the scan's edits that are dropped
/// before the feed itself is given up: each costs a whole new parse, and a
/// 2 MB feed parsed five times stays well within a call's deadline.
const MAX_DROPPED: usize = 4;

pub(super) fn parse_xml(text: &str, base: Option<&Url>) -> Result<ParsedFeed, FeedError> {
    // Blank lines before the declaration are illegal but seen; dropping them
    // puts the declaration first, and errors count them back.
    let trimmed = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let skipped_lines = text[..text.len() - trimmed.len()].matches('\n').count();
    match parse_document(trimmed, base) {
        Err(FeedError::Invalid {
            syntax,
            line,
            detail,
        }) => Err(FeedError::Invalid {
            syntax,
            line: line.map(|l| l + skipped_lines),
            detail,
        }),
        other => other,
    }
}

fn parse_document(text: &str, base: Option<&Url>) -> Result<ParsedFeed, FeedError> {
    let scan = scan_xml(text)?;
    if scan.entries == 0 && !scan.single_entry {
        return Err(FeedError::Empty);
    }
    let mut prepared = prepare(text, &scan);
    let mut dropped = 0;
    loop {
        // A fresh parser each time: feed-rs 3.0 keeps the Media RSS state of
        // an entry that failed and then panics on the next one. It is given
        // the base only for `xml:base`, since it then clones it for every
        // element (5 % of the time); `convert` resolves the other links.
        let xml_base = base.filter(|_| scan.xml_base);
        match feed_parser(xml_base).parse(prepared.as_bytes()) {
            Ok(feed) => return Ok(convert(feed, base, scan.skipped + dropped)),
            Err(error) => {
                let without = (dropped < MAX_DROPPED)
                    .then(|| element_at_fault(&error))
                    .flatten()
                    .and_then(|at| without_element(&prepared, at));
                match without {
                    Some(text) => {
                        prepared = text;
                        dropped += 1;
                    }
                    None => return Err(feed_rs_error(error, &prepared)),
                }
            }
        }
    }
}

/// Where the element feed-rs refused ends its start tag, when the error is
/// about one element rather than the document.
fn element_at_fault(error: &ParseFeedError) -> Option<usize> {
    match error {
        ParseFeedError::ParseError(
            ParseErrorKind::UnknownMimeType { position, .. }
            | ParseErrorKind::MissingContent { position, .. }
            | ParseErrorKind::UnknownEnumVariant { position, .. }
            | ParseErrorKind::IllegalState { position, .. },
        ) => usize::try_from(*position).ok(),
        _ => None,
    }
}

/// The text without the element whose start tag ends at `tag_end`, its line
/// breaks kept so that lines do not move. `None` for the root, or when the
/// element cannot be found again.
fn without_element(text: &str, tag_end: usize) -> Option<String> {
    // `<` cannot occur inside an attribute value, so the last one before the
    // end of the tag starts it.
    let start = text.get(..tag_end)?.rfind('<')?;
    let before = text[..start].trim_start();
    if before.is_empty() || before.starts_with("<?xml") && !before[5..].contains('<') {
        return None;
    }
    let mut reader = quick_xml::Reader::from_str(&text[start..]);
    let mut depth = 0usize;
    let end = loop {
        match reader.read_event().ok()? {
            Event::Start(_) => depth += 1,
            Event::Empty(_) if depth == 0 => break reader.buffer_position(),
            Event::End(_) => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    break reader.buffer_position();
                }
            }
            Event::Eof => return None,
            _ => {}
        }
    };
    let end = start + usize::try_from(end).ok()?;
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.extend(text[start..end].matches('\n'));
    out.push_str(&text[end..]);
    Some(out)
}

/// What the quick-xml pass learnt about a well-formed document.
pub(super) struct Scan {
    /// Length of the XML declaration that starts the text, if any: it is
    /// replaced, since the text is UTF-8 now.
    declaration: Option<usize>,
    /// Text to put in place of byte ranges, in document order.
    edits: Vec<Edit>,
    /// Where to cut to keep [`MAX_ENTRIES`], and the end tags that then close
    /// the document.
    cut: Option<(usize, String)>,
    /// Items or entries met (up to the cut).
    pub(super) entries: usize,
    /// The root is one Atom `<entry>`.
    single_entry: bool,
    root: Root,
    /// Elements dropped or read as plain text because their type is unusable.
    pub(super) skipped: usize,
    /// Some element has an `xml:base`.
    xml_base: bool,
}

/// `text` in place of `start..end` (an insertion when they are equal).
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Root {
    Atom,
    Rss,
    Rdf,
}

/// The RSS item being read, for the link feed-rs would not find.
struct Item {
    depth: usize,
    /// `r:` when the item is `<r:item>`.
    prefix: String,
    has_link: bool,
    /// `rdf:about`, the item's address in RSS 1.0 and 0.90.
    about: Option<String>,
    /// Raw content of `<guid>` and whether it is declared a permalink.
    guid: Option<(String, Option<bool>)>,
    /// Where the content of the `<link>` or `<guid>` being read starts.
    reading: Option<usize>,
}

/// How one start tag is rewritten.
#[derive(Default)]
struct TagEdit {
    name: Option<String>,
    /// Attributes set (`Some`) or removed (`None`); set ones that the tag
    /// lacks are added.
    attributes: Vec<(String, Option<String>)>,
}

impl TagEdit {
    fn set(&mut self, key: &str, value: Option<&str>) {
        self.attributes
            .push((key.to_owned(), value.map(str::to_owned)));
    }

    fn is_empty(&self) -> bool {
        self.name.is_none() && self.attributes.is_empty()
    }

    fn render(&self, tag: &BytesStart<'_>, empty: bool) -> String {
        let mut out = String::from("<");
        out.push_str(self.name.as_deref().unwrap_or(tag.name().as_ref()));
        let mut written = Vec::new();
        for attribute in tag.attributes().flatten() {
            let key: &str = attribute.key.as_ref();
            let value = match self.attributes.iter().find(|(k, _)| k == key) {
                Some((_, None)) => continue,
                Some((_, Some(value))) => Cow::Borrowed(value.as_str()),
                None => Cow::Borrowed(attribute.value.as_ref()),
            };
            push_attribute(&mut out, key, &value);
            written.push(key.to_owned());
        }
        for (key, value) in &self.attributes {
            if let Some(value) = value.as_deref().filter(|_| !written.contains(key)) {
                push_attribute(&mut out, key, value);
            }
        }
        out.push_str(if empty { "/>" } else { ">" });
        out
    }
}

fn push_attribute(out: &mut String, key: &str, raw_value: &str) {
    let quote = if raw_value.contains('"') { '\'' } else { '"' };
    out.push_str(&format!(" {key}={quote}{raw_value}{quote}"));
}

fn attribute(tag: &BytesStart<'_>, key: &str) -> Option<String> {
    tag.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .map(|a| a.value.into_owned())
}

/// Runs quick-xml over the document: it checks well-formedness and nesting
/// with a line number, recognises the root, finds where to cut a feed with
/// too many entries (so that feed-rs never builds 100 000 entries in the
/// component's memory) and notes the edits listed in [`prepare`].
pub(super) fn scan_xml(text: &str) -> Result<Scan, FeedError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut scan = Scan {
        declaration: xml_declaration(text.as_bytes()).map(<[u8]>::len),
        edits: Vec::new(),
        cut: None,
        entries: 0,
        single_entry: false,
        root: Root::Rss,
        skipped: 0,
        xml_base: false,
    };
    let mut open: Vec<String> = Vec::new();
    let mut root: Option<Root> = None;
    let mut atom_0_3 = false;
    let mut item: Option<Item> = None;
    // Depth and new name of elements renamed (Atom 0.3 dates).
    let mut renamed: Vec<(usize, String)> = Vec::new();
    // Depth and start of the element being dropped.
    let mut dropping: Option<(usize, usize)> = None;
    let invalid = |pos: usize, detail: String| FeedError::Invalid {
        syntax: Syntax::Xml,
        line: Some(preau_sdk::text::xml::line_at(text, pos as u64)),
        detail,
    };
    loop {
        let start = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                return Err(invalid(
                    reader.error_position() as usize,
                    preau_sdk::text::xml::error_fr(&e),
                ));
            }
        };
        let end = reader.buffer_position() as usize;
        match event {
            Event::Start(ref tag) | Event::Empty(ref tag) => {
                let is_empty = matches!(event, Event::Empty(_));
                let depth = open.len() + 1;
                let local = tag.local_name();
                let local: &str = local.as_ref();
                let mut edit = TagEdit::default();
                if root.is_none() {
                    let (kind, old_version) = check_root(tag)?;
                    if old_version {
                        edit.set("version", Some("2.0"));
                    }
                    root = Some(kind);
                    scan.root = kind;
                    scan.single_entry = local == "entry";
                    atom_0_3 = attribute(tag, "xmlns").is_some_and(|ns| ns.trim() == ATOM_0_3);
                }
                let root = scan.root;
                map_namespaces(tag, &mut edit);
                scan.xml_base |= tag.attributes_raw().contains("xml:base");
                if matches!(local, "item" | "entry") && (2..=3).contains(&depth) {
                    scan.entries += 1;
                    if scan.entries > MAX_ENTRIES {
                        scan.entries -= 1;
                        let closing = open.iter().rev().map(|n| format!("</{n}>")).collect();
                        scan.cut = Some((start, closing));
                        return Ok(scan);
                    }
                    if local == "item" && root != Root::Atom && !is_empty {
                        let name = tag.name();
                        let name: &str = name.as_ref();
                        item = Some(Item {
                            depth,
                            prefix: name[..name.len() - local.len()].to_owned(),
                            has_link: false,
                            about: attribute(tag, "rdf:about"),
                            guid: None,
                            reading: None,
                        });
                    }
                }
                if let Some(item) = item.as_mut().filter(|i| depth == i.depth + 1) {
                    if local == "guid" {
                        let permalink = attribute(tag, "isPermaLink")
                            .map(|v| !v.trim().eq_ignore_ascii_case("false"));
                        item.guid = Some((String::new(), permalink));
                    }
                    if matches!(local, "link" | "guid") && !is_empty {
                        item.reading = Some(end);
                    }
                }
                let mut drop = false;
                if root == Root::Atom && dropping.is_none() && TEXT_CONSTRUCTS.contains(&local) {
                    match text_type(tag, local) {
                        TextType::Keep => {}
                        TextType::Retype(new, unusual) => {
                            edit.set("type", Some(new));
                            edit.set("mode", None);
                            scan.skipped += usize::from(unusual);
                        }
                        TextType::Drop => drop = true,
                    }
                }
                if atom_0_3 && let Some(new) = atom_0_3_date(local) {
                    let name = tag.name();
                    let name: &str = name.as_ref();
                    let new = format!("{}{new}", &name[..name.len() - local.len()]);
                    if !is_empty {
                        renamed.push((depth, new.clone()));
                    }
                    edit.name = Some(new);
                }
                if drop && is_empty {
                    scan.skipped += 1;
                    push_edit(&mut scan.edits, start, end, String::new());
                } else {
                    if drop {
                        dropping = Some((depth, start));
                    }
                    if !edit.is_empty() {
                        push_edit(&mut scan.edits, start, end, edit.render(tag, is_empty));
                    }
                }
                if !is_empty {
                    if depth > MAX_DEPTH {
                        let detail =
                            format!("imbrication trop profonde (plus de {MAX_DEPTH} niveaux)");
                        return Err(invalid(start, detail));
                    }
                    open.push(tag.name().as_ref().to_owned());
                }
                if is_empty && open.is_empty() {
                    return Ok(scan); // `<rss/>`: an empty feed
                }
            }
            Event::End(ref tag) => {
                let depth = open.len();
                open.pop();
                if let Some((at, new)) = renamed.last()
                    && *at == depth
                {
                    push_edit(&mut scan.edits, start, end, format!("</{new}>"));
                    renamed.pop();
                }
                if let Some((at, from)) = dropping
                    && at == depth
                {
                    scan.edits.retain(|e| e.start < from);
                    push_edit(&mut scan.edits, from, end, String::new());
                    scan.skipped += 1;
                    dropping = None;
                }
                end_in_item(&mut item, &mut scan, text, tag, depth, start);
                if open.is_empty() {
                    // Whatever follows the root is ignored, as feed-rs does.
                    return Ok(scan);
                }
            }
            Event::GeneralRef(ref reference) => {
                let name: &str = reference.as_ref();
                if reference.is_char_ref() {
                    // feed-rs fails on a bad character reference; say where it is.
                    if reference.resolve_char_ref().is_err() {
                        let detail = format!("référence de caractère invalide « &{name}; »");
                        return Err(invalid(start, detail));
                    }
                } else if !matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                    && let Some(text) = preau_sdk::text::entities::named(name)
                {
                    // An HTML entity the document does not declare: feed-rs
                    // would keep `&lang;` as it is.
                    let refs = text.chars().map(|c| format!("&#x{:X};", u32::from(c)));
                    push_edit(&mut scan.edits, start, end, refs.collect());
                }
            }
            // The declaration is replaced (see `prepare`) whatever its length. A
            // second one is not XML, and feed-rs 3.0 (quick-xml 0.42) panics when
            // it names another encoding.
            Event::Decl(_) if start == 0 => scan.declaration = Some(end),
            Event::Decl(_) => {
                let detail = "déclaration XML ailleurs qu'au début du document".to_owned();
                return Err(invalid(start, detail));
            }
            Event::Eof => {
                return match open.last() {
                    None => Err(FeedError::Unrecognised),
                    Some(name) => Err(invalid(
                        text.len(),
                        format!("fin du document inattendue, la balise <{name}> n'est pas fermée"),
                    )),
                };
            }
            _ => {}
        }
    }
}

fn push_edit(edits: &mut Vec<Edit>, start: usize, end: usize, text: String) {
    edits.push(Edit { start, end, text });
}

/// The end of an element inside an RSS item: a `<link>` with text, a
/// `<guid>`'s content, and at the item's end the link it lacks (its
/// permalink guid, its `rdf:about`, or for RSS 1.0 a placeholder so that
/// feed-rs keeps it).
fn end_in_item(
    item: &mut Option<Item>,
    scan: &mut Scan,
    text: &str,
    tag: &quick_xml::events::BytesEnd<'_>,
    depth: usize,
    start: usize,
) {
    let Some(current) = item.as_mut() else {
        return;
    };
    if depth == current.depth + 1 {
        let local = tag.local_name();
        if let Some(from) = current.reading.take() {
            let raw = &text[from..start];
            match local.as_ref() {
                "link" if !cdata_free(raw).is_empty() => current.has_link = true,
                "guid" => {
                    if let Some(guid) = current.guid.as_mut() {
                        guid.0 = raw.to_owned();
                    }
                }
                _ => {}
            }
        }
        return;
    }
    if depth != current.depth {
        return;
    }
    let current = item.take().expect("just matched");
    if current.has_link {
        return;
    }
    let guid_link = current.guid.filter(|(raw, permalink)| {
        let value = cdata_free(raw);
        !value.is_empty()
            && match permalink {
                Some(true) => true,
                Some(false) => false,
                // Permalink by default, but many feeds forget to say that
                // their numeric guids are not: only a full address counts.
                None => is_http(value),
            }
    });
    let link = guid_link
        .map(|(raw, _)| raw)
        .or(current.about)
        .or_else(|| (scan.root == Root::Rdf).then(|| NO_LINK.to_owned()));
    if let Some(link) = link {
        let p = &current.prefix;
        push_edit(
            &mut scan.edits,
            start,
            start,
            format!("<{p}link>{link}</{p}link>"),
        );
    }
}

/// Text without surrounding blanks and `<![CDATA[…]]>`.
fn cdata_free(raw: &str) -> &str {
    let raw = raw.trim();
    raw.strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
        .map_or(raw, str::trim)
}

fn is_http(value: &str) -> bool {
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Legacy namespaces declared on a tag, mapped to the ones feed-rs reads.
fn map_namespaces(tag: &BytesStart<'_>, edit: &mut TagEdit) {
    // Most tags declare nothing: look at the attributes only when one may.
    if !tag.attributes_raw().contains("xmlns") {
        return;
    }
    for attribute in tag.attributes().flatten() {
        let key: &str = attribute.key.as_ref();
        if key != "xmlns" && !key.starts_with("xmlns:") {
            continue;
        }
        let value = &attribute.value;
        if let Some((_, new)) = NAMESPACES.iter().find(|(old, _)| *old == value.trim()) {
            edit.set(key, Some(new));
        }
    }
}

/// Atom 0.3's dates, under Atom 1.0's names.
fn atom_0_3_date(local: &str) -> Option<&'static str> {
    match local {
        "issued" => Some("published"),
        "modified" => Some("updated"),
        _ => None,
    }
}

enum TextType {
    Keep,
    /// Read as `text`, `html` or `xhtml`; `true` when the type was unusual
    /// (counted among the skipped elements), not Atom 0.3's usual MIME types.
    Retype(&'static str, bool),
    /// Base64 or a binary type: nothing a reader can be shown.
    Drop,
}

/// How feed-rs can read an Atom text construct: it knows `text`, `html`,
/// `xhtml` and `text/html` only (and MIME types with `src` for content), and
/// refuses the whole feed for any other.
fn text_type(tag: &BytesStart<'_>, local: &str) -> TextType {
    let mode = attribute(tag, "mode").map(|m| m.trim().to_ascii_lowercase());
    let Some(kind) = attribute(tag, "type").map(|t| t.trim().to_ascii_lowercase()) else {
        return match mode.as_deref() {
            Some("base64") => TextType::Drop,
            Some("escaped") => TextType::Retype("html", false),
            _ => TextType::Keep,
        };
    };
    if mode.as_deref() == Some("base64") {
        return TextType::Drop;
    }
    let mime = kind.split(';').next().unwrap_or_default().trim();
    let escaped = mode.as_deref() == Some("escaped");
    match mime {
        "text" | "html" | "xhtml" | "text/html" if mode.is_none() => TextType::Keep,
        "text" | "text/plain" => TextType::Retype("text", false),
        "html" | "text/html" => TextType::Retype("html", false),
        "xhtml" | "application/xhtml+xml" if !escaped => TextType::Retype("xhtml", false),
        "xhtml" | "application/xhtml+xml" => TextType::Retype("html", false),
        _ if local == "content" && attribute(tag, "src").is_some() => TextType::Keep,
        m if m.contains("html") => TextType::Retype("html", true),
        m if m.is_empty() || m.starts_with("text/") || m.ends_with("xml") => {
            TextType::Retype("text", true)
        }
        _ => TextType::Drop,
    }
}

/// Checks that the root element is a feed's, before anything else can fail:
/// an HTML page is "not a feed", not "invalid XML". Says whether an `<rss>`
/// root has a version feed-rs does not know (rewritten to 2.0, a superset of
/// 0.9x).
fn check_root(tag: &BytesStart<'_>) -> Result<(Root, bool), FeedError> {
    match tag.local_name().as_ref() {
        "feed" | "entry" => Ok((Root::Atom, false)),
        "RDF" => Ok((Root::Rdf, false)),
        "rss" => {
            let version = attribute(tag, "version");
            let known = matches!(version.as_deref(), Some("2.0" | "0.91" | "0.92" | ""));
            Ok((Root::Rss, !known))
        }
        other => Err(match other.to_ascii_lowercase().as_str() {
            // Microsoft's Channel Definition Format (Internet Explorer 4).
            "channel" if attribute(tag, "xmlns").is_none() => FeedError::UnsupportedFormat("CDF"),
            "channel" => FeedError::UnsupportedFormat("RSS 1.1"),
            "opml" => FeedError::UnsupportedFormat("OPML, une liste de flux"),
            _ => FeedError::Unrecognised,
        }),
    }
}

/// Applies the scan: an encoding-free declaration (the text is UTF-8 now;
/// left as it was, quick-xml inside feed-rs would decode it a second time),
/// the edits and the cut, keeping every line break in place.
fn prepare(text: &str, scan: &Scan) -> String {
    let end = scan.cut.as_ref().map_or(text.len(), |(at, _)| *at);
    let mut out = String::with_capacity(end + 64);
    let mut from = 0;
    if let Some(len) = scan.declaration {
        out.push_str("<?xml version=\"1.0\"?>");
        out.extend(text[..len].matches('\n'));
        from = len;
    }
    let start = from;
    for edit in scan
        .edits
        .iter()
        .filter(|e| e.start >= start && e.end <= end)
    {
        out.push_str(&text[from..edit.start]);
        out.push_str(&edit.text);
        out.extend(text[edit.start..edit.end].matches('\n'));
        from = edit.end;
    }
    out.push_str(&text[from..end]);
    if let Some((_, closing)) = &scan.cut {
        out.push_str(closing);
    }
    out
}

/// feed-rs, set for stable keys: no generated ids (the default ones are
/// random when an entry has no link), no sanitizing (the host does it).
/// Relative links are resolved against `base` and `xml:base`.
pub(super) fn feed_parser(base: Option<&Url>) -> feed_rs::parser::Parser {
    feed_rs::parser::Builder::new()
        .base_uri(base.map(Url::as_str))
        .sanitize_content(false)
        .id_generator(|_, _, _| String::new())
        .build()
}

/// feed-rs's errors, in French, with a line when it gives a position.
pub(super) fn feed_rs_error(error: ParseFeedError, text: &str) -> FeedError {
    let xml = |position: Option<u64>, detail: String| FeedError::Invalid {
        syntax: Syntax::Xml,
        line: position.map(|p| preau_sdk::text::xml::line_at(text, p)),
        detail,
    };
    match error {
        ParseFeedError::ParseError(kind) => match kind {
            ParseErrorKind::NoFeedRoot => FeedError::Unrecognised,
            ParseErrorKind::UnknownMimeType { position, mime } => xml(
                Some(position),
                format!("type de contenu inconnu « {mime} »"),
            ),
            ParseErrorKind::MissingContent {
                position,
                reference,
            } => xml(
                Some(position),
                format!("contenu obligatoire vide ou absent ({reference})"),
            ),
            ParseErrorKind::UnknownEnumVariant {
                position,
                reference,
            }
            | ParseErrorKind::IllegalState {
                position,
                reference,
            } => xml(Some(position), format!("valeur inattendue « {reference} »")),
        },
        ParseFeedError::XmlReader(e) => xml(None, format!("lecture impossible ({e})")),
        ParseFeedError::IoError(e) => xml(None, format!("lecture impossible ({e})")),
        ParseFeedError::JsonSerde(e) => json_error(&e.to_string(), e.line(), e.is_data()),
        ParseFeedError::JsonUnsupportedVersion(version) => FeedError::Invalid {
            syntax: Syntax::Json,
            line: None,
            detail: format!("version non prise en charge « {version} »"),
        },
    }
}
