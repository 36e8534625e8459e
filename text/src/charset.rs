//! Bytes of a document (an XML or JSON file from elsewhere: a feed, a timetable
//! export) to text: byte-order mark, charset labels, the valid-UTF-8 rule, and
//! labels that name an encoding the decoder does not have reported as such.
//!
//! The order: a BOM decides; else valid UTF-8 with non-ASCII bytes is UTF-8
//! whatever the labels say; else the `charset` of the Content-Type, then the
//! XML declaration's `encoding`; a label with no decoder is an error (never a
//! guess), unless the bytes are ASCII; bytes declared UTF-8 (or undeclared)
//! that are not are read as windows-1252 when they hold no multi-byte sequence.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// A label that names an encoding there is no decoder for, as an administrator
/// reads it in an error (lower case, bounded: `koi8-t`, `cp850`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEncoding(pub String);

/// Decodes to UTF-8 following the rules above, drops the BOM and the C0
/// control characters that XML and JSON forbid anyway (NUL bytes would
/// otherwise make the whole document fail), keeping tabs and line breaks so
/// that line numbers stay right. `content_type` is the HTTP header, if any.
///
/// ```
/// use preau_text::charset::decode;
///
/// let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a n=\"\xe9t\xe9\"/>";
/// assert!(decode(latin1, None).unwrap().ends_with("<a n=\"été\"/>"));
/// let odd = b"<?xml version=\"1.0\" encoding=\"koi8-t\"?><a n=\"\xe9\"/>";
/// assert_eq!(decode(odd, None).unwrap_err().0, "koi8-t");
/// ```
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> Result<String, UnknownEncoding> {
    let text = match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) => encoding
            .decode_without_bom_handling(&bytes[bom_len..])
            .0
            .into_owned(),
        None => decode_without_bom(bytes, content_type)?,
    };
    Ok(text
        .chars()
        .filter(|&c| c >= ' ' || matches!(c, '\t' | '\n' | '\r'))
        .collect())
}

fn decode_without_bom(bytes: &[u8], content_type: Option<&str>) -> Result<String, UnknownEncoding> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !bytes.is_ascii()
    {
        return Ok(text.to_owned());
    }
    let labels = [
        content_type.and_then(charset_param),
        declared_encoding(bytes),
    ];
    let mut unknown = None;
    let mut chosen = None;
    for label in labels.into_iter().flatten() {
        match resolve_label(label) {
            Label::Usable(encoding) => {
                chosen = Some(encoding);
                break;
            }
            Label::Ignored => {}
            Label::Unknown => {
                unknown.get_or_insert(label);
            }
        }
    }
    let encoding = match (chosen, unknown) {
        (Some(encoding), _) => encoding,
        // Every code page a document may name agrees with ASCII on ASCII bytes, so
        // reading those is no guess.
        (None, Some(_)) if bytes.is_ascii() => UTF_8,
        (None, Some(label)) => return Err(UnknownEncoding(shown_label(label))),
        (None, None) => UTF_8,
    };
    if encoding != UTF_8 {
        return Ok(encoding.decode_without_bom_handling(bytes).0.into_owned());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    // Declared UTF-8 (or nothing) but is not ("wrong encoding").
    let has_multibyte = bytes.utf8_chunks().any(|chunk| !chunk.valid().is_ascii());
    Ok(if has_multibyte {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()
    })
}

enum Label {
    Usable(&'static Encoding),
    /// A label that cannot be right here: UTF-16 without a BOM (the label was
    /// read as ASCII, so the bytes are not UTF-16).
    Ignored,
    /// No decoder for it (DOS and most Mac code pages, KOI8-T, VISCII…), or
    /// encoding_rs's "replacement" encoding, which would turn the whole document
    /// into U+FFFD.
    Unknown,
}

/// Resolves a charset label, forgiving the spellings seen in real feeds
/// (`windows_1251`, `latin-1`, `mac-roman`) that the WHATWG list lacks.
fn resolve_label(label: &str) -> Label {
    let label = label.trim().to_ascii_lowercase();
    let dashed = label.replace('_', "-");
    let squeezed = dashed.replace('-', "");
    let alias = match squeezed.as_str() {
        "macroman" => Some("macintosh"),
        "maccyrillic" => Some("x-mac-cyrillic"),
        _ => None,
    };
    let found = [label.as_str(), &dashed, &squeezed]
        .into_iter()
        .chain(alias)
        .find_map(|l| Encoding::for_label(l.as_bytes()));
    match found {
        Some(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => Label::Ignored,
        Some(e) if e == encoding_rs::REPLACEMENT => Label::Unknown,
        Some(e) => Label::Usable(e),
        None => Label::Unknown,
    }
}

/// The label as an administrator reads it in an error: lower case, bounded,
/// nothing but the characters labels are made of.
fn shown_label(label: &str) -> String {
    label
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        .take(40)
        .collect::<String>()
        .to_ascii_lowercase()
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
pub fn xml_declaration(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(b"<?xml")?;
    if !rest.first()?.is_ascii_whitespace() {
        return None; // `<?xml-stylesheet …?>` and the like
    }
    let end = bytes.windows(2).take(512).position(|w| w == b"?>")?;
    Some(&bytes[..end + 2])
}
