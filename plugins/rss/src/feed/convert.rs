//! feed-rs's model to ours: plain titles, safe links resolved against the
//! feed's address, summaries, dates, stable keys.

use feed_rs::model::{FeedType, Link, Text};

use super::xml::NO_LINK;
use super::*;

/// `skipped`: the elements already dropped or degraded, to which the entries'
/// unreadable contents are added.
pub(super) fn convert(
    feed: feed_rs::model::Feed,
    base: Option<&Url>,
    skipped: usize,
) -> ParsedFeed {
    // RSS says nothing of markup in titles and descriptions and feeds put
    // HTML in both; Atom and JSON Feed say which is which.
    let rss = matches!(
        feed.feed_type,
        FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2
    );
    let mut seen = HashSet::new();
    let mut skipped = skipped;
    let entries = feed
        .entries
        .into_iter()
        .filter_map(|entry| convert_entry(entry, rss, base, &mut skipped))
        // A feed repeating a guid would otherwise show one item twice.
        .filter(|entry| seen.insert(entry.key.clone()))
        .take(MAX_ENTRIES)
        .collect();
    ParsedFeed {
        title: feed.title.map(|t| plain_title(&t, rss)).unwrap_or_default(),
        site_link: page_link(&feed.links, base),
        entries,
        skipped,
    }
}

fn convert_entry(
    entry: feed_rs::model::Entry,
    rss: bool,
    base: Option<&Url>,
    skipped: &mut usize,
) -> Option<Entry> {
    let title = entry
        .title
        .as_ref()
        .map(|t| plain_title(t, rss))
        .unwrap_or_default();
    let link = page_link(&entry.links, base);
    let summary = entry
        .summary
        .as_ref()
        .filter(|t| !t.content.trim().is_empty())
        .map(|t| as_html(&t.content, rss || is_html_type(t.content_type.as_str())));
    let content = || {
        let content = entry.content.as_ref()?;
        let body = content.body.as_deref().filter(|b| !b.trim().is_empty())?;
        if !is_readable_type(content.content_type.as_str()) {
            // An image or a binary inline: nothing to show for it.
            *skipped += 1;
            return None;
        }
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
        .filter(|h| !h.is_empty() && *h != NO_LINK)
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

fn is_readable_type(mime: &str) -> bool {
    mime.starts_with("text/") || mime.contains("html") || mime.contains("xml")
}

/// The first page link (no `rel`, or `rel="alternate"`; not a comments link)
/// that is safe to click, resolved against the feed's address when feed-rs
/// left it relative (JSON Feed, XML without `xml:base`).
fn page_link(links: &[Link], base: Option<&Url>) -> Option<String> {
    links
        .iter()
        .filter(|l| matches!(l.rel.as_deref(), None | Some("alternate")) && l.target.is_none())
        .find_map(|l| safe_link(&l.href).or_else(|| safe_link(resolve(&l.href, base?)?.as_str())))
}

/// A relative reference made absolute; `None` for anything else
/// (`javascript:` parses as absolute and stays refused).
fn resolve(href: &str, base: &Url) -> Option<Url> {
    match Url::parse(href.trim()) {
        Err(url::ParseError::RelativeUrlWithoutBase) => base.join(href.trim()).ok(),
        _ => None,
    }
}

/// Keeps only absolute http(s) URLs: `javascript:`, `data:`, `vbscript:`,
/// relative paths and anything with characters no real URL has unencoded.
pub(super) fn safe_link(raw: &str) -> Option<String> {
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
pub(super) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
