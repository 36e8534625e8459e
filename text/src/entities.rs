//! The HTML named character references: the whole WHATWG list (`entities.txt`,
//! one a line: the name, then one or two code points in hex), for text that is
//! HTML and for references a document uses without declaring them (`&lang;` in a
//! feed, `&eacute;` in a timetable export).

use std::borrow::Cow;
use std::sync::OnceLock;

/// Names in byte order, so that a lookup is a binary search.
static LIST: &str = include_str!("entities.txt");

/// The text of a named reference, given without `&` and `;` (`eacute` → `é`).
pub fn named(name: &str) -> Option<&'static str> {
    static TABLE: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        LIST.lines()
            .filter_map(|line| {
                let mut fields = line.split(' ');
                let name = fields.next()?;
                let text = fields
                    .map(|hex| u32::from_str_radix(hex, 16).ok().and_then(char::from_u32))
                    .collect::<Option<String>>()?;
                Some((name, text))
            })
            .collect()
    });
    let at = table
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
        .ok()?;
    Some(table[at].1.as_str())
}

/// The longest name of the list (`CounterClockwiseContourIntegral`).
pub const LONGEST_NAME: usize = 31;

/// Decodes `&#233;`, `&#xE9;` and every HTML named reference;
/// unknown or broken ones stay as they are.
///
/// ```
/// use preau_text::entities::decode;
///
/// assert_eq!(decode("D&eacute;sir&#233; &amp; co &bogus; &"), "Désiré & co &bogus; &");
/// ```
pub fn decode(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // Bytes, not a `str` window: a cut inside a multi-byte character
        // would hide the reference.
        let decoded = after
            .bytes()
            .take(LONGEST_NAME + 2)
            .position(|b| b == b';')
            .and_then(|semi| Some((reference(&after[..semi])?, semi)));
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
    Cow::Owned(out)
}

/// A character reference (`#233`, `#xE9`) or a named one, without `&` and `;`.
pub fn reference(name: &str) -> Option<Cow<'static, str>> {
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
    named(name).map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_list_is_there_and_sorted() {
        assert_eq!(LIST.lines().count(), 2125);
        let names: Vec<&str> = LIST.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert!(names.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
        assert_eq!(names.iter().map(|n| n.len()).max(), Some(LONGEST_NAME));
        for (name, text) in [
            ("lang", "⟨"),
            ("rang", "⟩"),
            ("eacute", "é"),
            ("OElig", "Œ"),
            ("hellip", "…"),
            ("nbsp", "\u{a0}"),
            ("amp", "&"),
            ("acE", "\u{223e}\u{333}"),
            ("CounterClockwiseContourIntegral", "∳"),
        ] {
            assert_eq!(named(name), Some(text), "{name}");
        }
        assert_eq!(named("bogus"), None);
        assert_eq!(named("Eacute"), Some("É"), "names are case-sensitive");
    }
}
