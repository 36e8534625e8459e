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
//! url = "2"         # already feed-rs's, for relative links
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
//!   few bad bytes become U+FFFD). A label that names an encoding the
//!   decoder lacks (DOS and Mac code pages, KOI8-T, VISCII…) is reported as
//!   « encodage inconnu » unless the bytes are plain ASCII: never guessed.
//! - **Normalising** (`feed/xml.rs`), where feed-rs alone would return no
//!   item: Atom 0.3, RSS 0.90 and RSS 2.0's old namespaces (prefixed or not)
//!   are mapped to the namespaces feed-rs reads; Atom 0.3's `issued` and
//!   `modified` become `published` and `updated`; an RSS item without a
//!   link takes its permalink `guid` or its `rdf:about`; undeclared HTML
//!   entities (`&lang;`) become character references.
//! - **One odd element never costs the feed**: an unusable content `type` is
//!   read as plain text or the element left out, and so is any element
//!   feed-rs still refuses; [`ParsedFeed::skipped`] counts them.
//! - **Links** are resolved against the feed's address and `xml:base`, then
//!   only absolute http(s) ones are kept.
//! - **Errors** carry the line number, found by running quick-xml's reader
//!   over the document before feed-rs (which reports no position).
//! - **Bounds.** At most [`MAX_FEED_BYTES`] in, [`MAX_ENTRIES`] entries out,
//!   titles of [`MAX_TITLE_CHARS`], summaries of [`MAX_SUMMARY_BYTES`], XML
//!   nesting of [`MAX_DEPTH`]. Entities declared in a DTD are never expanded
//!   (they stay as literal `&name;` text), so "billion laughs" is harmless.

use std::collections::HashSet;
use std::fmt;

use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use serde::{Deserialize, Serialize};
use url::Url;

mod convert;
mod json;
mod text;
mod xml;

use convert::*;
use json::*;
use preau_sdk::text::charset::{decode as decode_bytes, xml_declaration};
use text::*;
use xml::*;

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
    /// Elements left out or read as plain text because they could not be
    /// read as they were (an unknown content type, base64): the feed's
    /// other elements are kept.
    #[serde(default)]
    pub skipped: usize,
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
    /// A format that is known but not read, named (`CDF`, `OPML…`).
    UnsupportedFormat(&'static str),
    /// A well-formed feed without a single item.
    Empty,
    /// A charset label (HTTP or XML declaration) no decoder here knows, for
    /// a document that is not plain ASCII: reported rather than guessed.
    UnknownEncoding(String),
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
            FeedError::UnsupportedFormat(name) => {
                write!(
                    f,
                    "format non reconnu : {name} (ni RSS, ni Atom, ni JSON Feed)"
                )
            }
            FeedError::Empty => f.write_str("flux vide : il ne contient aucun article"),
            FeedError::UnknownEncoding(label) => write!(
                f,
                "encodage inconnu : {label} (enregistrez le flux en UTF-8 ou en ISO-8859-1)"
            ),
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

/// Parses a feed. `content_type` is the HTTP header, read for its charset;
/// `url` is the feed's address, against which relative links are resolved
/// (with `xml:base`). A feed without any item is [`FeedError::Empty`].
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    url: Option<&str>,
) -> Result<ParsedFeed, FeedError> {
    if bytes.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge {
            bytes: bytes.len(),
            max: MAX_FEED_BYTES,
        });
    }
    let text = decode_bytes(bytes, content_type)
        .map_err(|unknown| FeedError::UnknownEncoding(unknown.0))?;
    let base = url
        .and_then(|u| Url::parse(u.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    // The format is sniffed, not taken from the Content-Type: servers often
    // send feeds as text/html or application/octet-stream.
    let feed = match text.trim_start().chars().next() {
        Some('{') => parse_json(&text, base.as_ref()),
        Some('<') => parse_xml(&text, base.as_ref()),
        _ => Err(FeedError::Unrecognised),
    }?;
    if feed.entries.is_empty() {
        // Items were there but none had anything to show.
        return Err(FeedError::Empty);
    }
    Ok(feed)
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
        parse(bytes, None, None).unwrap_or_else(|e| panic!("{e}"))
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
        let error = parse(BROKEN, None, None).unwrap_err();
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
        let feed = parse(
            &undeclared,
            Some("application/rss+xml; charset=ISO-8859-1"),
            None,
        )
        .unwrap();
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
        let feed = parse(RSS20, Some("text/xml; charset=iso-8859-1"), None).unwrap();
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
            parse(HTML, Some("text/html; charset=utf-8"), None),
            Err(FeedError::Unrecognised)
        );
        assert_eq!(parse(b"", None, None), Err(FeedError::Unrecognised));
        assert_eq!(
            parse(b"GIF89a\0\0", None, None),
            Err(FeedError::Unrecognised)
        );
        assert_eq!(
            parse(br#"{"hello": "world"}"#, None, None),
            Err(FeedError::Unrecognised)
        );
        assert_eq!(
            parse(b"<svg xmlns='http://www.w3.org/2000/svg'/>", None, None),
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
        let error = parse(broken.as_bytes(), None, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "JSON Feed invalide ligne 12 : erreur de syntaxe"
        );
        let error = parse(
            br#"{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": 3}"#,
            None,
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
        assert!(parse(deep.as_bytes(), None, None).is_err());
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
        let error = parse(&huge, None, None).unwrap_err();
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
        assert_eq!(
            parse(xml.as_bytes(), None, None),
            Err(FeedError::Empty),
            "items with nothing to show"
        );
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
        let error = parse(xml.as_bytes(), None, None).unwrap_err();
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
        let error = parse(xml.as_bytes(), None, None).unwrap_err();
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
        let error = parse(&late, None, None).unwrap_err();
        assert!(
            error.to_string().starts_with("XML invalide ligne 14 :"),
            "{error}"
        );
        let mut late = b"\r\n  ".to_vec();
        late.extend_from_slice(LATIN1);
        assert_eq!(titles(&ok(&late))[1], "Ça bouge au foyer des élèves");
        let error = parse(&RSS20[..600], None, None).unwrap_err();
        assert!(
            error.to_string().starts_with("XML invalide ligne "),
            "{error}"
        );
        let error = parse(
            b"<rss version=\"2.0\">\n<channel><title>&#xZZ;</title></channel></rss>",
            None,
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

#[cfg(test)]
mod edge_cases;
