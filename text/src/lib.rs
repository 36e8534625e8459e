//! # Préau's shared text pieces
//!
//! One implementation of each small piece of text handling that the host and the
//! plugins both need, so that they agree to the byte. Pure code without I/O: it builds
//! natively (the host, unit tests) and for `wasm32-wasip2` (plugins, where there is no
//! file system).
//!
//! - [`date`]: calendar days ([`Date`]: days since 1970-01-01), strict `AAAA-MM-JJ`
//!   parsing, French formatting (« lundi 7 décembre 2026 », « 14 h 05 »).
//! - [`zone`]: IANA time zones ([`TimeZone`]; `Europe/Paris` by default, overseas
//!   establishments too), the local date and time of a Unix time, French date-times
//!   (« 28 novembre 2026 à 17 h 05 »).
//! - [`fold`]: the one accent-folding rule (search keys, logins, slugs, plugin search).
//! - [`csv`]: the one spreadsheet CSV writer (UTF-8 BOM, `;`, CRLF, formula-safe).
//! - [`escape`]: the one HTML/XML text escaper.
//! - [`charset`]: the bytes of a document from elsewhere (a feed, a timetable export)
//!   to text, by its BOM, Content-Type and XML declaration.
//! - [`entities`]: the HTML named character references (`&eacute;` → é).
//! - [`ical`]: the one iCalendar (RFC 5545) writer: UTC times from local ones,
//!   escaping, folding.
//! - `xml` (feature `xml`): quick-xml's errors in French, the line of an offset.
//!
//! ```
//! use preau_text::{Date, TimeZone, csv, escape, fold};
//!
//! let day = Date::parse_iso("2026-12-07").unwrap();
//! assert_eq!(day.french(), "lundi 7 décembre 2026");
//! let reunion = TimeZone::named("Indian/Reunion").unwrap();
//! assert_eq!(reunion.french_date_time(day.utc_midnight()), "7 décembre 2026 à 4 h 00");
//! assert_eq!(fold::fold("Œuvre d'Élise"), "oeuvre d'elise");
//! assert_eq!(csv::to_csv(&[["=1+1", "a;b"]]), b"\xEF\xBB\xBF'=1+1;\"a;b\"\r\n");
//! assert_eq!(escape("<a href='x'>"), "&lt;a href=&#39;x&#39;&gt;");
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod charset;
pub mod csv;
pub mod date;
pub mod entities;
pub mod fold;
pub mod ical;
#[cfg(feature = "xml")]
pub mod xml;
pub mod zone;

pub use date::Date;
pub use zone::TimeZone;

/// Escapes text for an HTML (or XML) text node or a quoted attribute value: `&`, `<`,
/// `>`, `"` and `'` become entities; everything else is kept as is.
///
/// ```
/// assert_eq!(preau_text::escape("Tom & \"Jerry\""), "Tom &amp; &quot;Jerry&quot;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A size as French readers write it: « 512 octets », « 3,4 Ko », « 12,0 Mo », « 1,2 Go ».
///
/// ```
/// assert_eq!(preau_text::bytes_fr(12 * 1024 * 1024), "12,0 Mo");
/// ```
pub fn bytes_fr(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["Ko", "Mo", "Go"];
    if bytes < 1024 {
        return format!("{bytes} octets");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit]).replace('.', ",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_in_french() {
        assert_eq!(super::bytes_fr(0), "0 octets");
        assert_eq!(super::bytes_fr(1023), "1023 octets");
        assert_eq!(super::bytes_fr(3482), "3,4 Ko");
        assert_eq!(super::bytes_fr(12 * 1024 * 1024), "12,0 Mo");
        assert_eq!(super::bytes_fr(1288490189), "1,2 Go");
    }

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(
            super::escape("a <b>&amp; \"c\" 'd' é"),
            "a &lt;b&gt;&amp;amp; &quot;c&quot; &#39;d&#39; é"
        );
        assert_eq!(super::escape(""), "");
        assert_eq!(super::escape("rien"), "rien");
    }
}
