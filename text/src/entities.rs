//! The HTML named character references: the whole WHATWG list (`entities.txt`,
//! one a line: the name, then one or two code points in hex), for text that is
//! HTML and for references a document uses without declaring them (`&lang;` in a
//! feed, `&eacute;` in a timetable export).

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
