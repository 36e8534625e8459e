//! Feed parsing for the `rss` plugin: RSS 0.9x, RSS 1.0 (RDF), RSS 2.0, Atom
//! and JSON Feed become one small, bounded [`ParsedFeed`]; [`merge`] folds a
//! fresh fetch into the stored entries.
//!
//! Pure code (no I/O, no host call), so that it runs natively in tests and in
//! the `wasm32-wasip2` component alike. The HTML it returns is *not* sanitized:
//! the plugin passes [`Entry::summary_html`] to the host's sanitizer.
//!
//! Dependencies (`plugins/rss/Cargo.toml`, `[dependencies]`):
//!
//! ```toml
//! feed-rs = "3"
//! quick-xml = "0.42"
//! encoding_rs = "0.8"
//! serde.workspace = true
//! ```
//!
//! Choices worth knowing:
//! - **Encoding.** A byte-order mark wins. Otherwise bytes that are valid
//!   UTF-8 *and* contain non-ASCII characters are read as UTF-8 whatever the
//!   labels say (a French text in a legacy charset is practically never valid
//!   UTF-8, while mislabelled UTF-8 is common). Else the HTTP `charset`, then
//!   the XML declaration's `encoding`, then UTF-8. A feed declared UTF-8 whose
//!   bytes are not UTF-8 is not rejected: showing the news beats an error, so
//!   it is read as windows-1252 when it holds no valid multi-byte sequence at
//!   all (a whole file written by a latin-1 tool), else as lossy UTF-8 (the
//!   few bad bytes become U+FFFD).
//! - **Errors** carry the line number, found by running quick-xml's reader
//!   over the document before feed-rs (which reports no position).
//! - **Bounds.** At most [`MAX_FEED_BYTES`] in, [`MAX_ENTRIES`] entries out,
//!   titles of [`MAX_TITLE_CHARS`], summaries of [`MAX_SUMMARY_BYTES`], XML
//!   nesting of [`MAX_DEPTH`]. Entities declared in a DTD are never expanded
//!   (they stay as literal `&name;` text), so "billion laughs" is harmless.

use std::collections::HashSet;
use std::fmt;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use feed_rs::model::{FeedType, Link, Text};
use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

mod json;
mod text;

use json::*;
use text::*;

/// Largest feed accepted, in bytes; larger ones are refused before parsing.
pub const MAX_FEED_BYTES: usize = 2 * 1024 * 1024;
/// Most entries kept from one parse (the first ones in document order).
pub const MAX_ENTRIES: usize = 200;
/// Longest title kept, in characters (an ellipsis marks a cut).
pub const MAX_TITLE_CHARS: usize = 300;
/// Longest summary kept, in bytes (cut on a character boundary).
pub const MAX_SUMMARY_BYTES: usize = 64 * 1024;
/// Deepest XML nesting accepted; real feeds stay far below.
pub const MAX_DEPTH: usize = 256;
/// Longest author name kept, in characters.
const MAX_AUTHOR_CHARS: usize = 200;
/// Longest link kept, in bytes: longer ones are not links a reader clicks.
const MAX_LINK_BYTES: usize = 2048;

/// One news item, as stored by the plugin between fetches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Dedupe key, stable across fetches: 16 hex digits of the FNV-1a hash of
    /// the feed's id/guid, else of the link, else of title and date.
    pub key: String,
    /// Plain-text title (markup stripped, entities decoded, whitespace
    /// collapsed, at most [`MAX_TITLE_CHARS`]); may be empty.
    pub title: String,
    /// The item's page: only an absolute `http://` or `https://` URL.
    pub link: Option<String>,
    /// Summary (else full content) as *unsanitized* HTML, plain text escaped,
    /// at most [`MAX_SUMMARY_BYTES`]; may be empty.
    pub summary_html: String,
    /// Publication date (else last update), in Unix seconds.
    pub published: Option<i64>,
    /// The first author's name.
    pub author: Option<String>,
}

/// A parsed feed: its title, its site and its entries in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFeed {
    /// Plain-text title of the feed; may be empty.
    pub title: String,
    /// The site the feed belongs to (absolute http(s) URL).
    pub site_link: Option<String>,
    /// At most [`MAX_ENTRIES`] entries with distinct keys.
    pub entries: Vec<Entry>,
}

/// The syntax a [`FeedError::Invalid`] was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// RSS or Atom.
    Xml,
    /// JSON Feed.
    Json,
}

/// Why a feed could not be read; `Display` gives a French message for
/// administrators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    /// More than [`MAX_FEED_BYTES`].
    TooLarge {
        /// Size received.
        bytes: usize,
        /// Size allowed.
        max: usize,
    },
    /// A feed format was recognised but the document is broken.
    Invalid {
        /// XML or JSON.
        syntax: Syntax,
        /// 1-based line of the error, when it could be located.
        line: Option<usize>,
        /// What is wrong, in French.
        detail: String,
    },
    /// Neither RSS, nor Atom, nor JSON Feed (an HTML page, an image…).
    Unrecognised,
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::TooLarge { bytes, max } => write!(
                f,
                "flux trop volumineux ({}, {} au plus)",
                french_size(*bytes),
                french_size(*max)
            ),
            FeedError::Invalid {
                syntax,
                line,
                detail,
            } => {
                f.write_str(match syntax {
                    Syntax::Xml => "XML invalide",
                    Syntax::Json => "JSON Feed invalide",
                })?;
                if let Some(line) = line {
                    write!(f, " ligne {line}")?;
                }
                write!(f, " : {detail}")
            }
            FeedError::Unrecognised => {
                f.write_str("format non reconnu (ni RSS, ni Atom, ni JSON Feed)")
            }
        }
    }
}

impl std::error::Error for FeedError {}

/// "5,2 Mo", "2 Mo", "640 ko": sizes as a French administrator reads them.
fn french_size(bytes: usize) -> String {
    const MO: usize = 1024 * 1024;
    let (tenths, unit) = if bytes >= MO {
        ((bytes * 10 + MO / 2) / MO, "Mo")
    } else {
        ((bytes * 10 + 512) / 1024, "ko")
    };
    if tenths % 10 == 0 {
        format!("{} {unit}", tenths / 10)
    } else {
        format!("{},{} {unit}", tenths / 10, tenths % 10)
    }
}

/// Parses a feed. `content_type` is the HTTP header, read for its charset.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<ParsedFeed, FeedError> {
    if bytes.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge {
            bytes: bytes.len(),
            max: MAX_FEED_BYTES,
        });
    }
    let text = decode(bytes, content_type);
    // The format is sniffed, not taken from the Content-Type: servers often
    // send feeds as text/html or application/octet-stream.
    match text.trim_start().chars().next() {
        Some('{') => parse_json(&text),
        Some('<') => parse_xml(&text),
        _ => Err(FeedError::Unrecognised),
    }
}

/// Merges freshly fetched entries into the stored ones: one entry per key
/// (the fresh one wins), dated entries newest first, then undated ones in
/// fetch order (fresh before stored, each in its feed order), at most `keep`.
pub fn merge(stored: Vec<Entry>, fresh: Vec<Entry>, keep: usize) -> Vec<Entry> {
    let mut seen = HashSet::new();
    let mut all: Vec<Entry> = fresh
        .into_iter()
        .chain(stored)
        .filter(|entry| seen.insert(entry.key.clone()))
        .collect();
    // A stable sort, so that equal dates and undated entries keep that order.
    all.sort_by(|a, b| match (a.published, b.published) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    all.truncate(keep);
    all
}

// ---------------------------------------------------------------------------
// Decoding

/// Decodes to UTF-8 following the rules in the module doc, drops the BOM and
/// the C0 control characters that XML and JSON forbid anyway (NUL bytes would
/// otherwise make the whole feed fail), keeping tabs and line breaks so that
/// line numbers stay right.
fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let text = match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) => encoding
            .decode_without_bom_handling(&bytes[bom_len..])
            .0
            .into_owned(),
        None => decode_without_bom(bytes, content_type),
    };
    text.chars()
        .filter(|&c| c >= ' ' || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

fn decode_without_bom(bytes: &[u8], content_type: Option<&str>) -> String {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !bytes.is_ascii()
    {
        return text.to_owned();
    }
    let label = content_type
        .and_then(charset_param)
        .and_then(usable_encoding)
        .or_else(|| declared_encoding(bytes).and_then(usable_encoding))
        .unwrap_or(UTF_8);
    if label != UTF_8 {
        return label.decode_without_bom_handling(bytes).0.into_owned();
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    // Declared UTF-8 but is not ("wrong encoding").
    let has_multibyte = bytes.utf8_chunks().any(|chunk| !chunk.valid().is_ascii());
    if has_multibyte {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()
    }
}

/// Resolves a charset label, ignoring the ones that cannot be right here:
/// UTF-16 without a BOM (the label was read as ASCII) and encoding_rs's
/// "replacement" encoding (which would turn the whole feed into U+FFFD).
fn usable_encoding(label: &str) -> Option<&'static Encoding> {
    let encoding = Encoding::for_label(label.trim().as_bytes())?;
    let unusable = encoding == encoding_rs::UTF_16LE
        || encoding == encoding_rs::UTF_16BE
        || encoding == encoding_rs::REPLACEMENT;
    (!unusable).then_some(encoding)
}

/// The `charset` parameter of a Content-Type header.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// The `encoding` pseudo-attribute of the XML declaration, read as ASCII.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let decl = xml_declaration(bytes.trim_ascii_start())?;
    let decl = std::str::from_utf8(decl).ok()?;
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let value = &after[1..];
    Some(&value[..value.find(quote)?])
}

/// The XML declaration (`<?xml … ?>`) at the very start of `bytes`, if any.
fn xml_declaration(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(b"<?xml")?;
    if !rest.first()?.is_ascii_whitespace() {
        return None; // `<?xml-stylesheet …?>` and the like
    }
    let end = bytes.windows(2).take(512).position(|w| w == b"?>")?;
    Some(&bytes[..end + 2])
}

// ---------------------------------------------------------------------------
// XML

fn parse_xml(text: &str) -> Result<ParsedFeed, FeedError> {
    // Blank lines before the declaration are illegal but seen; dropping them
    // puts the declaration first, and errors count them back.
    let trimmed = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let skipped_lines = text[..text.len() - trimmed.len()].matches('\n').count();
    let parsed = scan_xml(trimmed).and_then(|scan| {
        let prepared = prepare(trimmed, &scan);
        feed_parser()
            .parse(prepared.as_bytes())
            .map_err(|e| feed_rs_error(e, &prepared))
    });
    match parsed {
        Ok(feed) => Ok(convert(feed)),
        Err(FeedError::Invalid {
            syntax,
            line,
            detail,
        }) => Err(FeedError::Invalid {
            syntax,
            line: line.map(|l| l + skipped_lines),
            detail,
        }),
        Err(e) => Err(e),
    }
}

/// What the quick-xml pass learnt about a well-formed document.
struct Scan {
    /// Length of the XML declaration that starts the text, if any: it is
    /// replaced, since the text is UTF-8 now.
    declaration: Option<usize>,
    /// An `<rss>` root whose version feed-rs does not know, rewritten to 2.0
    /// (a superset of 0.9x).
    rss_root: Option<RootRewrite>,
    /// Where to cut to keep [`MAX_ENTRIES`], and the end tags that then close
    /// the document.
    cut: Option<(usize, String)>,
}

/// The byte range of the root start tag and its new text, without the
/// closing `>` or `/>`.
struct RootRewrite {
    start: usize,
    end: usize,
    tag: String,
    empty: bool,
}

/// Runs quick-xml over the document: it checks well-formedness and nesting
/// with a line number (feed-rs reports no position), recognises the root and
/// finds where to cut a feed with too many entries, so that feed-rs never
/// builds 100 000 entries in the component's memory.
fn scan_xml(text: &str) -> Result<Scan, FeedError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut scan = Scan {
        declaration: xml_declaration(text.as_bytes()).map(<[u8]>::len),
        rss_root: None,
        cut: None,
    };
    let mut open: Vec<String> = Vec::new();
    let mut entries = 0usize;
    let mut root_seen = false;
    let invalid = |pos: u64, detail: String| FeedError::Invalid {
        syntax: Syntax::Xml,
        line: Some(line_at(text, pos)),
        detail,
    };
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => return Err(invalid(reader.error_position(), xml_error_fr(&e))),
        };
        match event {
            Event::Start(ref tag) | Event::Empty(ref tag) => {
                let is_empty = matches!(event, Event::Empty(_));
                if !root_seen {
                    root_seen = true;
                    scan.rss_root = check_root(tag, start, reader.buffer_position(), is_empty)?;
                }
                let local = tag.local_name();
                let depth = open.len() + 1;
                if matches!(local.as_ref(), "item" | "entry") && (2..=3).contains(&depth) {
                    entries += 1;
                    if entries > MAX_ENTRIES {
                        let closing = open.iter().rev().map(|n| format!("</{n}>")).collect();
                        scan.cut = Some((start as usize, closing));
                        return Ok(scan);
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
            Event::End(_) => {
                open.pop();
                if open.is_empty() {
                    // Whatever follows the root is ignored, as feed-rs does.
                    return Ok(scan);
                }
            }
            // feed-rs fails on a bad character reference; say where it is.
            Event::GeneralRef(ref reference) if reference.resolve_char_ref().is_err() => {
                let name: &str = reference.as_ref();
                return Err(invalid(
                    start,
                    format!("référence de caractère invalide « &{name}; »"),
                ));
            }
            Event::Eof => {
                return match open.last() {
                    None => Err(FeedError::Unrecognised),
                    Some(name) => Err(invalid(
                        text.len() as u64,
                        format!("fin du document inattendue, la balise <{name}> n'est pas fermée"),
                    )),
                };
            }
            _ => {}
        }
    }
}

/// Checks that the root element is a feed's, before anything else can fail:
/// an HTML page is "not a feed", not "invalid XML". Returns the rewrite an
/// `<rss>` root needs when feed-rs would not know its version.
fn check_root(
    tag: &BytesStart<'_>,
    start: u64,
    end: u64,
    is_empty: bool,
) -> Result<Option<RootRewrite>, FeedError> {
    match tag.local_name().as_ref() {
        "feed" | "entry" | "RDF" => Ok(None),
        "rss" => {
            let version = tag
                .attributes()
                .flatten()
                .find(|a| a.key.as_ref() == "version")
                .map(|a| a.value.into_owned());
            if matches!(version.as_deref(), Some("2.0" | "0.91" | "0.92" | "")) {
                return Ok(None);
            }
            let mut rewritten = String::from("<");
            rewritten.push_str(tag.name().as_ref());
            for attribute in tag.attributes().flatten() {
                if attribute.key.as_ref() == "version" {
                    continue;
                }
                let value = &attribute.value;
                let quote = if value.contains('"') { '\'' } else { '"' };
                let key: &str = attribute.key.as_ref();
                rewritten.push_str(&format!(" {key}={quote}{value}{quote}"));
            }
            rewritten.push_str(" version=\"2.0\"");
            Ok(Some(RootRewrite {
                start: start as usize,
                end: end as usize,
                tag: rewritten,
                empty: is_empty,
            }))
        }
        _ => Err(FeedError::Unrecognised),
    }
}

/// Applies the scan: an encoding-free declaration (the text is UTF-8 now;
/// left as it was, quick-xml inside feed-rs would decode it a second time),
/// the `<rss>` rewrite and the cut, keeping every line break in place.
fn prepare(text: &str, scan: &Scan) -> String {
    let end = scan.cut.as_ref().map_or(text.len(), |(at, _)| *at);
    let mut out = String::with_capacity(end + 64);
    let mut from = 0;
    if let Some(len) = scan.declaration {
        out.push_str("<?xml version=\"1.0\"?>");
        out.extend(text[..len].matches('\n'));
        from = len;
    }
    if let Some(root) = &scan.rss_root {
        // The original tag's line breaks are kept so that lines do not move.
        out.push_str(&text[from..root.start]);
        out.push_str(&root.tag);
        out.extend(text[root.start..root.end].matches('\n'));
        out.push_str(if root.empty { "/>" } else { ">" });
        from = root.end;
    }
    out.push_str(&text[from..end]);
    if let Some((_, closing)) = &scan.cut {
        out.push_str(closing);
    }
    out
}

/// 1-based line of a byte offset.
fn line_at(text: &str, pos: u64) -> usize {
    let end = usize::try_from(pos).unwrap_or(usize::MAX).min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// quick-xml's errors, in French.
fn xml_error_fr(error: &XmlError) -> String {
    match error {
        XmlError::Syntax(e) => match e {
            SyntaxError::InvalidBangMarkup => "balise « <! » mal formée".into(),
            SyntaxError::UnclosedPI => "instruction de traitement non fermée".into(),
            SyntaxError::UnclosedXmlDecl => "déclaration XML non fermée".into(),
            SyntaxError::UnclosedComment => "commentaire non fermé".into(),
            SyntaxError::UnclosedDoctype => "DOCTYPE non fermé".into(),
            SyntaxError::UnclosedCData => "section CDATA non fermée".into(),
            SyntaxError::UnclosedTag => "balise non fermée (« > » manquant)".into(),
            SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue => {
                "valeur d'attribut non fermée (guillemet manquant)".into()
            }
        },
        XmlError::IllFormed(e) => match e {
            IllFormedError::MissingDeclVersion(_) => "déclaration XML sans version".into(),
            IllFormedError::UnknownVersion => "version XML inconnue".into(),
            IllFormedError::MissingDoctypeName => "DOCTYPE sans nom".into(),
            IllFormedError::MissingEndTag(name) => format!("la balise <{name}> n'est pas fermée"),
            IllFormedError::UnmatchedEndTag(name) => {
                format!("balise fermante inattendue </{name}>")
            }
            IllFormedError::MismatchedEndTag { expected, found } => {
                format!("balise fermante inattendue </{found}> (attendue : </{expected}>)")
            }
            IllFormedError::DoubleHyphenInComment => "« -- » dans un commentaire".into(),
            IllFormedError::UnclosedReference => {
                "référence d'entité non terminée (« ; » manquant)".into()
            }
        },
        XmlError::InvalidAttr(_) => "attribut mal formé".into(),
        XmlError::Encoding(_) => "encodage invalide".into(),
        XmlError::Escape(_) => "référence de caractère ou d'entité invalide".into(),
        XmlError::Namespace(_) => "espace de noms invalide".into(),
        XmlError::Io(_) => "lecture impossible".into(),
    }
}

/// feed-rs, set for stable keys: no generated ids (the default ones are
/// random when an entry has no link), no sanitizing (the host does it).
fn feed_parser() -> feed_rs::parser::Parser {
    feed_rs::parser::Builder::new()
        .sanitize_content(false)
        .id_generator(|_, _, _| String::new())
        .build()
}

/// feed-rs's errors, in French, with a line when it gives a position.
fn feed_rs_error(error: ParseFeedError, text: &str) -> FeedError {
    let xml = |position: Option<u64>, detail: String| FeedError::Invalid {
        syntax: Syntax::Xml,
        line: position.map(|p| line_at(text, p)),
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

// ---------------------------------------------------------------------------
// Model conversion

fn convert(feed: feed_rs::model::Feed) -> ParsedFeed {
    // RSS says nothing of markup in titles and descriptions and feeds put
    // HTML in both; Atom and JSON Feed say which is which.
    let rss = matches!(
        feed.feed_type,
        FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2
    );
    let mut seen = HashSet::new();
    let entries = feed
        .entries
        .into_iter()
        .filter_map(|entry| convert_entry(entry, rss))
        // A feed repeating a guid would otherwise show one item twice.
        .filter(|entry| seen.insert(entry.key.clone()))
        .take(MAX_ENTRIES)
        .collect();
    ParsedFeed {
        title: feed.title.map(|t| plain_title(&t, rss)).unwrap_or_default(),
        site_link: page_link(&feed.links),
        entries,
    }
}

fn convert_entry(entry: feed_rs::model::Entry, rss: bool) -> Option<Entry> {
    let title = entry
        .title
        .as_ref()
        .map(|t| plain_title(t, rss))
        .unwrap_or_default();
    let link = page_link(&entry.links);
    let summary = entry
        .summary
        .as_ref()
        .filter(|t| !t.content.trim().is_empty())
        .map(|t| as_html(&t.content, rss || is_html_type(t.content_type.as_str())));
    let content = || {
        let content = entry.content.as_ref()?;
        let body = content.body.as_deref().filter(|b| !b.trim().is_empty())?;
        Some(as_html(
            body,
            rss || is_html_type(content.content_type.as_str()),
        ))
    };
    let summary_html = truncate_bytes(
        summary.or_else(content).unwrap_or_default(),
        MAX_SUMMARY_BYTES,
    );
    if title.is_empty() && link.is_none() && summary_html.is_empty() {
        return None; // nothing to show
    }
    let published = entry.published.or(entry.updated).map(|d| d.timestamp());
    let id = entry.id.trim();
    let basis = if !id.is_empty() {
        format!("id:{id}")
    } else if let Some(href) = entry
        .links
        .first()
        .map(|l| l.href.trim())
        .filter(|h| !h.is_empty())
    {
        format!("link:{href}")
    } else {
        format!("title:{title}|{}", published.unwrap_or(0))
    };
    let author = entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref())
        .map(|name| truncate_chars(collapse_whitespace(name), MAX_AUTHOR_CHARS))
        .find(|name| !name.is_empty());
    Some(Entry {
        key: format!("{:016x}", fnv1a64(basis.as_bytes())),
        title,
        link,
        summary_html,
        published,
        author,
    })
}

fn is_html_type(mime: &str) -> bool {
    mime.contains("html")
}

/// The first page link (no `rel`, or `rel="alternate"`) that is safe to click.
fn page_link(links: &[Link]) -> Option<String> {
    links
        .iter()
        .filter(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
        .find_map(|l| safe_link(&l.href))
}

/// Keeps only absolute http(s) URLs: `javascript:`, `data:`, `vbscript:`,
/// relative paths and anything with characters no real URL has unencoded.
fn safe_link(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let rest = if raw.get(..7)?.eq_ignore_ascii_case("http://") {
        &raw[7..]
    } else if raw.get(..8)?.eq_ignore_ascii_case("https://") {
        &raw[8..]
    } else {
        return None;
    };
    let host_start = rest.chars().next()?;
    let bad = |c: char| c.is_control() || matches!(c, '"' | '<' | '>' | '`' | '\\');
    if raw.len() > MAX_LINK_BYTES || matches!(host_start, '/' | '?' | '#') || rest.contains(bad) {
        return None;
    }
    let scheme = if raw.as_bytes()[4] == b':' {
        "http://"
    } else {
        "https://"
    };
    Some(format!("{scheme}{}", rest.replace(' ', "%20")))
}

/// A title as plain text: markup stripped when it may be HTML.
fn plain_title(text: &Text, rss: bool) -> String {
    let content = if rss || is_html_type(text.content_type.as_str()) {
        html_to_text(&text.content)
    } else {
        text.content.clone()
    };
    truncate_chars(collapse_whitespace(&content), MAX_TITLE_CHARS)
}

fn as_html(text: &str, is_html: bool) -> String {
    if is_html {
        text.to_owned()
    } else {
        preau_sdk::text::escape(text)
    }
}

/// 64-bit FNV-1a: small, stable across versions and platforms, no crate.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS091: &[u8] = include_bytes!("../../../tests/fixtures/feeds/rss091.xml");
    const RSS10: &[u8] = include_bytes!("../../../tests/fixtures/feeds/rss10-rdf.xml");
    const RSS20: &[u8] = include_bytes!("../../../tests/fixtures/feeds/rss20.xml");
    const ATOM: &[u8] = include_bytes!("../../../tests/fixtures/feeds/atom.xml");
    const JSON: &[u8] = include_bytes!("../../../tests/fixtures/feeds/feed.json");
    const BROKEN: &[u8] = include_bytes!("../../../tests/fixtures/feeds/broken.xml");
    const LATIN1: &[u8] = include_bytes!("../../../tests/fixtures/feeds/latin1.xml");
    const WRONG: &[u8] = include_bytes!("../../../tests/fixtures/feeds/wrong-encoding.xml");
    const SCRIPTS: &[u8] = include_bytes!("../../../tests/fixtures/feeds/scripts.xml");
    const LAUGHS: &[u8] = include_bytes!("../../../tests/fixtures/feeds/billion-laughs.xml");
    const HTML: &[u8] = include_bytes!("../../../tests/fixtures/feeds/not-a-feed.html");

    fn ok(bytes: &[u8]) -> ParsedFeed {
        parse(bytes, None).unwrap_or_else(|e| panic!("{e}"))
    }
    fn titles(feed: &ParsedFeed) -> Vec<&str> {
        feed.entries.iter().map(|e| e.title.as_str()).collect()
    }
    fn entry(key: &str, published: Option<i64>) -> Entry {
        Entry {
            key: key.into(),
            title: key.into(),
            link: None,
            summary_html: String::new(),
            published,
            author: None,
        }
    }
    fn keys(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn rss_0_91() {
        let feed = ok(RSS091);
        assert_eq!(feed.title, "Collège Jean-Moulin – Vie scolaire");
        assert_eq!(
            feed.site_link.as_deref(),
            Some("https://college-moulin.example.org/")
        );
        assert_eq!(titles(&feed)[1], "Élection des délégués de classe");
        let first = &feed.entries[0];
        assert_eq!(
            first.link.as_deref(),
            Some("https://college-moulin.example.org/vie-scolaire/sortie-musee-4e")
        );
        assert_eq!(first.published, Some(1_759_732_200)); // 2025-10-06 08:30 +02:00
        assert!(first.summary_html.contains("l'autorisation parentale"));
    }

    #[test]
    fn rss_1_0_rdf() {
        let feed = ok(RSS10);
        assert_eq!(feed.title, "Orientation – actualités des formations");
        assert_eq!(feed.entries.len(), 4);
        let first = &feed.entries[0];
        assert_eq!(
            first.title,
            "Salon de l'apprentissage : rencontrez les CFA de votre région"
        );
        assert_eq!(first.published, Some(1_762_156_800)); // 2025-11-03 09:00 +01:00
        assert_eq!(first.author.as_deref(), Some("Service orientation"));
        assert_eq!(
            first.link.as_deref(),
            Some("https://orientation.example.org/actus/salon-apprentissage")
        );
    }

    #[test]
    fn rss_2_0() {
        let feed = ok(RSS20);
        assert_eq!(feed.title, "Académie d'Exemple – Actualités");
        assert_eq!(
            feed.site_link.as_deref(),
            Some("https://www.academie.example.org/")
        );
        assert_eq!(feed.entries.len(), 4);
        let first = &feed.entries[0];
        assert_eq!(
            first.title,
            "Brevet 2026 : le calendrier des épreuves est publié"
        );
        assert_eq!(first.published, Some(1_762_936_200)); // 2025-11-12 09:30 +01:00
        assert_eq!(first.author.as_deref(), Some("Division des examens"));
        // The raw HTML is kept: the host's sanitizer removes the script.
        assert!(
            first
                .summary_html
                .contains("<img src=\"https://www.academie.example.org/img/brevet.jpg\"")
        );
        assert!(first.summary_html.contains("<script>"));
        assert_eq!(
            feed.entries[1].title,
            "Semaine de l'école maternelle & de la petite enfance"
        );
        // Keys come from the guid: stable, hex, distinct.
        assert_eq!(
            first.key,
            format!("{:016x}", fnv1a64(b"id:academie-exemple-actu-1042"))
        );
        let keys: HashSet<_> = feed.entries.iter().map(|e| &e.key).collect();
        assert_eq!(keys.len(), 4);
        assert!(
            first.key.len() <= 64
                && first
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
        assert_eq!(ok(RSS20), feed, "two parses give the same keys");
    }

    #[test]
    fn atom() {
        let feed = ok(ATOM);
        assert_eq!(feed.title, "Ressources pédagogiques – le fil");
        assert_eq!(
            feed.site_link.as_deref(),
            Some("https://ressources.example.org/")
        );
        let [first, second, third] = &feed.entries[..] else {
            panic!("3 entrées")
        };
        // type="html": tags stripped, entities decoded once more.
        assert_eq!(
            first.title,
            "Sciences & technologie : nouvelles fiches cycle 3"
        );
        assert_eq!(first.published, Some(1_762_788_600)); // 2025-11-10 15:30Z
        assert_eq!(first.author.as_deref(), Some("Claire Dubreuil"));
        assert!(first.summary_html.starts_with("<p>Douze fiches"));
        assert_eq!(
            second.published,
            Some(1_761_642_000),
            "updated when no published"
        );
        // Plain-text summary is escaped into HTML; HTML content used when no summary.
        assert!(second.summary_html.contains("Vérifier une source"));
        assert_eq!(
            third.summary_html,
            "<p>Plus de 300 exercices classés par niveau.</p>"
        );
        assert_eq!(third.published, Some(1_760_418_000)); // 2025-10-14 07:00 +02:00
    }

    #[test]
    fn json_feed() {
        let feed = ok(JSON);
        assert_eq!(feed.title, "Lycée des Tilleuls – Actualités");
        assert_eq!(
            feed.site_link.as_deref(),
            Some("https://lycee-tilleuls.example.org/")
        );
        let [first, second, third] = &feed.entries[..] else {
            panic!("3 entrées")
        };
        assert_eq!(first.title, "Journée portes ouvertes le samedi 14 mars");
        assert_eq!(first.published, Some(1_762_333_200)); // 2025-11-05 10:00 +01:00
        assert_eq!(first.author.as_deref(), Some("Vie scolaire"));
        assert_eq!(
            second.summary_html,
            "Huit élus &amp; quatre suppléants &lt;ont&gt; été désignés."
        );
        assert_eq!(third.link, None);
        assert_eq!(third.summary_html, "Nouveaux horaires du CDI.");
        assert_eq!(third.published, Some(1_758_180_600)); // 2025-09-18 09:30 +02:00
    }

    #[test]
    fn broken_xml_gives_the_line() {
        let error = parse(BROKEN, None).unwrap_err();
        assert_eq!(
            error,
            FeedError::Invalid {
                syntax: Syntax::Xml,
                line: Some(12),
                detail: "balise fermante inattendue </itme> (attendue : </item>)".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "XML invalide ligne 12 : balise fermante inattendue </itme> (attendue : </item>)"
        );
    }

    #[test]
    fn latin1_declared() {
        let feed = ok(LATIN1);
        assert_eq!(
            feed.title,
            "Collège François-Rabelais - Cantine et vie de l'établissement"
        );
        assert_eq!(titles(&feed)[1], "Ça bouge au foyer des élèves");
        assert!(feed.entries[0].summary_html.contains("Déjeuners élaborés"));
        assert!(feed.entries[0].summary_html.contains("française"));
        // The same bytes said to be latin-1 by HTTP only.
        let first_line_end = LATIN1.iter().position(|&b| b == b'\n').unwrap();
        let undeclared = [
            b"<?xml version=\"1.0\"?>".as_slice(),
            &LATIN1[first_line_end..],
        ]
        .concat();
        let feed = parse(&undeclared, Some("application/rss+xml; charset=ISO-8859-1")).unwrap();
        assert_eq!(titles(&feed)[1], "Ça bouge au foyer des élèves");
    }

    #[test]
    fn wrong_encoding_is_read_as_windows_1252() {
        let feed = ok(WRONG);
        assert_eq!(feed.title, "École Jules-Ferry - Informations aux familles");
        assert_eq!(
            titles(&feed)[1],
            "Garçons et filles : inscriptions au cross"
        );
        // Mostly UTF-8 with one stray latin-1 byte: lossy UTF-8.
        let mut mixed = RSS20.to_vec();
        let at = mixed
            .windows(8)
            .position(|w| w == "Journée".as_bytes())
            .unwrap()
            + 5;
        mixed.splice(at..at + 2, [0xE9]);
        let feed = ok(&mixed);
        assert_eq!(
            feed.entries[2].title,
            "Journ\u{FFFD}e nationale du sport scolaire"
        );
        assert_eq!(
            feed.entries[0].title,
            "Brevet 2026 : le calendrier des épreuves est publié"
        );
        // Valid UTF-8 wins over a wrong latin-1 label.
        let feed = parse(RSS20, Some("text/xml; charset=iso-8859-1")).unwrap();
        assert_eq!(feed.title, "Académie d'Exemple – Actualités");
    }

    #[test]
    fn hostile_entries_keep_no_script_links() {
        let feed = ok(SCRIPTS);
        assert_eq!(feed.site_link, None);
        assert!(!feed.title.contains('<'), "{}", feed.title);
        assert_eq!(feed.entries.len(), 5);
        assert_eq!(feed.entries[0].title, "Résultats du conseil de classe");
        let links: Vec<_> = feed.entries.iter().map(|e| e.link.as_deref()).collect();
        assert_eq!(
            links,
            [
                None,
                None,
                None,
                None,
                Some("https://www.academie.example.org/actualites/lien-legitime")
            ]
        );
        // The summaries are handed to the host's sanitizer as they are.
        assert!(feed.entries[1].summary_html.contains("<iframe"));
    }

    #[test]
    fn safe_links() {
        for bad in [
            "javascript:alert(1)",
            " JAVASCRIPT:alert(1)",
            "data:text/html,x",
            "vbscript:msgbox(1)",
            "/relative/path",
            "relative",
            "//evil.example/x",
            "http:///nohost",
            "https://evil.example/\"onmouseover=\"x",
            "https://a.example/<script>",
            "http:",
            "",
        ] {
            assert_eq!(safe_link(bad), None, "{bad}");
        }
        assert_eq!(
            safe_link(" HTTPS://a.example/b c ").as_deref(),
            Some("https://a.example/b%20c")
        );
        assert_eq!(
            safe_link("http://a.example").as_deref(),
            Some("http://a.example")
        );
    }

    #[test]
    fn billion_laughs_is_not_expanded() {
        let feed = ok(LAUGHS);
        assert_eq!(feed.entries.len(), 3);
        assert_eq!(feed.entries[0].title, "Entrée &lol9;");
        assert!(
            feed.entries[0].summary_html.len() < 100,
            "{}",
            feed.entries[0].summary_html
        );
        assert!(!feed.entries[0].summary_html.contains("root:"));
    }

    #[test]
    fn html_page_is_not_a_feed() {
        assert_eq!(
            parse(HTML, Some("text/html; charset=utf-8")),
            Err(FeedError::Unrecognised)
        );
        assert_eq!(parse(b"", None), Err(FeedError::Unrecognised));
        assert_eq!(parse(b"GIF89a\0\0", None), Err(FeedError::Unrecognised));
        assert_eq!(
            parse(br#"{"hello": "world"}"#, None),
            Err(FeedError::Unrecognised)
        );
        assert_eq!(
            parse(b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
            Err(FeedError::Unrecognised)
        );
        assert_eq!(
            FeedError::Unrecognised.to_string(),
            "format non reconnu (ni RSS, ni Atom, ni JSON Feed)"
        );
    }

    #[test]
    fn json_errors() {
        let broken = String::from_utf8(JSON.to_vec()).unwrap().replacen(
            "\"title\": \"Journée",
            "\"title\" \"Journée",
            1,
        );
        let error = parse(broken.as_bytes(), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "JSON Feed invalide ligne 12 : erreur de syntaxe"
        );
        let error = parse(
            br#"{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": 3}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "JSON Feed invalide ligne 1 : valeur d'un type inattendu"
        );
        let error = parse(
            br#"{"version": "https://jsonfeed.org/version/1.1", "items": []}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "JSON Feed invalide ligne 1 : champ « title » manquant"
        );
        let error = parse(
            br#"{"version": "https://jsonfeed.org/version/9", "title": "x", "items": []}"#,
            None,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("JSON Feed invalide : version"),
            "{error}"
        );
        let deep = format!(
            "{{\"version\": \"https://jsonfeed.org/version/1.1\", \"x\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse(deep.as_bytes(), None).is_err());
    }

    #[test]
    fn json_arrays_are_pruned() {
        let mut json = String::from(
            "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"Beaucoup\",\n\"items\": [",
        );
        for i in 0..50_000 {
            json.push_str(&format!(
                "{{\"id\":\"{i}\",\"title\":\"n° {i}, \\\"]\"}},\n"
            ));
        }
        json.push_str("{\"id\": \"z\", \"title\": \"z\", \"tags\": [");
        json.push_str(&"\"a\",".repeat(10_000));
        json.push_str("\"b\"]}],\n\"home_page_url\": \"https://apres.example.org/\"}");
        assert!(json.len() <= MAX_FEED_BYTES);
        let feed = ok(json.as_bytes());
        assert_eq!(feed.entries.len(), MAX_ENTRIES);
        assert_eq!(feed.entries[199].title, "n° 199, \"]");
        assert_eq!(
            feed.site_link.as_deref(),
            Some("https://apres.example.org/")
        );
        let pruned = prune_json(&json);
        assert_eq!(
            pruned.lines().count(),
            json.lines().count(),
            "lines are kept"
        );
        assert!(
            pruned.len() < 70_000,
            "only line breaks are left of the rest"
        );
        // Tags past 64 are dropped too, and a short feed is not copied.
        let tags = format!(
            r#"{{"items": [{{"tags": [{}"b"]}}]}}"#,
            "\"a\",".repeat(100)
        );
        assert_eq!(prune_json(&tags).matches('"').count(), 2 + 2 + 64 * 2);
        assert!(matches!(
            prune_json(&String::from_utf8_lossy(JSON)),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let huge = vec![b' '; 5_452_595];
        let error = parse(&huge, None).unwrap_err();
        assert_eq!(
            error,
            FeedError::TooLarge {
                bytes: 5_452_595,
                max: MAX_FEED_BYTES
            }
        );
        assert_eq!(
            error.to_string(),
            "flux trop volumineux (5,2 Mo, 2 Mo au plus)"
        );
        assert_eq!(french_size(655_360), "640 ko");
    }

    #[test]
    fn many_entries_are_capped() {
        let mut xml = String::from("<rss version=\"2.0\"><channel><title>Beaucoup</title>\n");
        for i in 0..50_000 {
            xml.push_str(&format!("<item><title>{i}</title></item>\n"));
        }
        xml.push_str("</channel></rss>");
        assert!(xml.len() <= MAX_FEED_BYTES);
        let feed = ok(xml.as_bytes());
        assert_eq!(feed.title, "Beaucoup");
        assert_eq!(feed.entries.len(), MAX_ENTRIES);
        // 100 000 entries fit in the size cap when they are empty.
        let xml = format!(
            "<rss version=\"2.0\"><channel>{}</channel></rss>",
            "<item/>".repeat(100_000)
        );
        assert!(ok(xml.as_bytes()).entries.is_empty());
        let xml = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>{}</feed>",
            "<entry><id>x</id><title>t</title></entry>".repeat(1_000)
        );
        assert_eq!(ok(xml.as_bytes()).entries.len(), 1, "one key");
    }

    #[test]
    fn long_titles_are_capped() {
        let (long, longer) = ("é".repeat(400_000), "a".repeat(1_000_000));
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>{long}</title><item><title>{longer}</title></item></channel></rss>"
        );
        let feed = ok(xml.as_bytes());
        assert_eq!(feed.title.chars().count(), MAX_TITLE_CHARS);
        assert!(feed.entries[0].title.ends_with('…'));
        let summary = "ç".repeat(100_000);
        let xml = format!(
            "<rss version=\"2.0\"><channel><item><description>{summary}</description></item></channel></rss>"
        );
        let feed = ok(xml.as_bytes());
        assert_eq!(feed.entries[0].summary_html.len(), MAX_SUMMARY_BYTES);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let xml = format!(
            "<rss version=\"2.0\"><channel>\n<item>{}{}</item></channel></rss>",
            "<a>".repeat(200_000),
            "</a>".repeat(200_000)
        );
        let error = parse(xml.as_bytes(), None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("XML invalide ligne 2 : imbrication trop profonde"),
            "{error}"
        );
    }

    #[test]
    fn nul_bytes_and_odd_roots() {
        let xml = b"<rss version=\"2.0\"><channel><title>Un\0 titre</title><item><title>A\0B</title></item></channel></rss>\0\0";
        let feed = ok(xml);
        assert_eq!(feed.title, "Un titre");
        assert_eq!(feed.entries[0].title, "AB");
        // An <rss> without a version, or with one feed-rs does not know.
        let feed = ok(b"<rss><channel><title>Sans version</title><item><title>a</title></item></channel></rss>");
        assert_eq!(feed.title, "Sans version");
        let xml = "<?xml version=\"1.0\"?>\n<rss\n  version='0.94' xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n<item><title>a</title></itm>\n</channel></rss>";
        let error = parse(xml.as_bytes(), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "XML invalide ligne 5 : balise fermante inattendue </itm> (attendue : </item>)"
        );
        let feed = ok(&xml
            .replace(
                "</itm>",
                "</item><item><dc:creator>Moi</dc:creator><title>b</title></item>",
            )
            .into_bytes());
        assert_eq!(feed.entries[1].author.as_deref(), Some("Moi"));
        // Truncated downloads and bad character references give a line.
        let mut late = b"\n\n".to_vec();
        late.extend_from_slice(BROKEN);
        let error = parse(&late, None).unwrap_err();
        assert!(
            error.to_string().starts_with("XML invalide ligne 14 :"),
            "{error}"
        );
        let mut late = b"\r\n  ".to_vec();
        late.extend_from_slice(LATIN1);
        assert_eq!(titles(&ok(&late))[1], "Ça bouge au foyer des élèves");
        let error = parse(&RSS20[..600], None).unwrap_err();
        assert!(
            error.to_string().starts_with("XML invalide ligne "),
            "{error}"
        );
        let error = parse(
            b"<rss version=\"2.0\">\n<channel><title>&#xZZ;</title></channel></rss>",
            None,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "XML invalide ligne 2 : référence de caractère invalide « &#xZZ; »"
        );
    }

    #[test]
    fn utf16_with_bom() {
        let text = String::from_utf8(ATOM.to_vec())
            .unwrap()
            .replace("encoding=\"utf-8\"", "encoding=\"utf-16\"");
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(ok(&bytes).title, "Ressources pédagogiques – le fil");
    }

    #[test]
    fn titles_as_text() {
        assert_eq!(
            html_to_text("a <b>gras</b> &amp; <script>x<y</script>fin"),
            "a gras & fin"
        );
        assert_eq!(
            html_to_text("5 < 6 &eacute;t&#233; &#x2019; &bogus; &#0;"),
            "5 < 6 été ’ &bogus; &#0;"
        );
        assert_eq!(html_to_text("ligne<br>suivante"), "ligne suivante");
        assert_eq!(html_to_text("coupé <a href="), "coupé ");
    }

    #[test]
    fn merge_dedupes_and_orders() {
        let stored = vec![
            entry("b", Some(20)),
            entry("c", Some(10)),
            entry("u1", None),
        ];
        let mut fresh_b = entry("b", Some(20));
        fresh_b.title = "b modifié".into();
        let fresh = vec![
            entry("u2", None),
            entry("d", Some(30)),
            fresh_b,
            entry("a", Some(5)),
        ];
        let merged = merge(stored.clone(), fresh.clone(), 10);
        assert_eq!(keys(&merged), ["d", "b", "c", "a", "u2", "u1"]);
        assert_eq!(merged[1].title, "b modifié", "the fresh entry wins");
        assert_eq!(keys(&merge(stored.clone(), fresh, 3)), ["d", "b", "c"]);
        assert_eq!(
            merge(stored.clone(), Vec::new(), 10),
            stored,
            "a fetch with nothing new changes nothing"
        );
        // Refetching the same feed changes nothing.
        let feed = ok(RSS20).entries;
        let once = merge(Vec::new(), feed.clone(), 50);
        assert_eq!(merge(once.clone(), feed, 50), once);
    }
}
