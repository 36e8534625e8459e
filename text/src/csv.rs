//! The one CSV writer, for files people open in a spreadsheet (Excel, LibreOffice).
//!
//! - UTF-8 with a byte-order mark, so Excel does not read it as Windows-1252;
//! - `;` between cells (what French spreadsheets expect: `,` is the decimal comma);
//! - CRLF at the end of every line;
//! - a cell containing `;`, `"`, CR or LF is quoted, its quotes doubled;
//! - a cell starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'` (inside the
//!   quotes if it is quoted), so that no spreadsheet runs it as a formula (OWASP « CSV
//!   injection »): `-Dupont` reads `'-Dupont`.
//!
//! Rows may have different lengths. A row that is empty or holds one empty cell is
//! written `""`, so that it is not read as a blank line. Built on the `csv` crate.

/// Makes Excel show a UTF-8 file as UTF-8 rather than Windows-1252.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether a spreadsheet would evaluate a cell starting like `value` as a formula.
fn looks_like_formula(value: &str) -> bool {
    value.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The text of a cell, neutralised against formula injection (a leading `'` when it
/// starts with `=`, `+`, `-`, `@`, TAB or CR), before any quoting.
pub fn neutralise(value: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_formula(value) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// A CSV document under construction; [`Csv::finish`] gives its bytes.
///
/// ```
/// let mut csv = preau_text::csv::Csv::new();
/// csv.row(["Nom", "Note"]);
/// csv.row(["-Dupont", "12"]);
/// assert_eq!(csv.finish(), b"\xEF\xBB\xBFNom;Note\r\n'-Dupont;12\r\n");
/// ```
pub struct Csv {
    writer: ::csv::Writer<Vec<u8>>,
}

impl Default for Csv {
    fn default() -> Self {
        Csv::new()
    }
}

impl Csv {
    /// An empty document (just the BOM).
    pub fn new() -> Csv {
        let writer = ::csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(::csv::Terminator::CRLF)
            .quote_style(::csv::QuoteStyle::Necessary)
            .flexible(true)
            .from_writer(BOM.to_vec());
        Csv { writer }
    }

    /// Appends one line.
    pub fn row<I, C>(&mut self, cells: I)
    where
        I: IntoIterator<Item = C>,
        C: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        self.writer
            .write_record(&cells)
            .expect("écriture en mémoire");
    }

    /// The document's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.writer.into_inner().expect("écriture en mémoire")
    }
}

/// A whole document from its rows (see the module's rules).
pub fn to_csv<R, C>(rows: &[R]) -> Vec<u8>
where
    R: AsRef<[C]>,
    C: AsRef<str>,
{
    let mut csv = Csv::new();
    for row in rows {
        csv.row(row.as_ref());
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rows: &[Vec<&str>]) -> String {
        let bytes = to_csv(rows);
        assert!(bytes.starts_with(BOM), "BOM");
        String::from_utf8(bytes[3..].to_vec()).unwrap()
    }

    #[test]
    fn bom_semicolons_and_crlf() {
        assert_eq!(to_csv::<Vec<&str>, &str>(&[]), BOM);
        let csv = text(&[vec!["Nom", "Prénom"], vec!["Dupont", "Zoé"]]);
        assert_eq!(csv, "Nom;Prénom\r\nDupont;Zoé\r\n");
        // Rows of different lengths are kept as they are.
        assert_eq!(text(&[vec!["a"], vec!["b", "c"]]), "a\r\nb;c\r\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            text(&[vec!["Du;pont", "a\"b\"c"]]),
            "\"Du;pont\";\"a\"\"b\"\"c\"\r\n"
        );
        assert_eq!(
            text(&[vec!["Du\npont", "x\ry"]]),
            "\"Du\npont\";\"x\ry\"\r\n"
        );
        // Commas and apostrophes need no quotes with a `;` separator.
        assert_eq!(text(&[vec!["D'Artagnan, fils"]]), "D'Artagnan, fils\r\n");
        assert_eq!(text(&[vec!["", "x", ""]]), ";x;\r\n");
        assert_eq!(text(&[vec![""], vec![]]), "\"\"\r\n\"\"\r\n");
    }

    #[test]
    fn formula_injection_is_neutralised() {
        for (value, expected) in [
            ("=1+1", "'=1+1"),
            ("+33 6", "'+33 6"),
            ("-Dupont", "'-Dupont"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
        ] {
            assert_eq!(text(&[vec![value, "s"]]), format!("{expected};s\r\n"));
        }
        // Quoted as well: the apostrophe goes inside the quotes.
        assert_eq!(text(&[vec!["\rx"]]), "\"'\rx\"\r\n");
        assert_eq!(
            text(&[vec!["=HYPERLINK(\"http://x\";\"y\")"]]),
            "\"'=HYPERLINK(\"\"http://x\"\";\"\"y\"\")\"\r\n"
        );
        // Only the first character matters.
        assert_eq!(text(&[vec!["Le Bihan-Martin"]]), "Le Bihan-Martin\r\n");
    }

    #[test]
    fn same_bytes_as_the_writers_it_replaces() {
        // The forms' results export (formulaires) before this crate.
        let bytes = to_csv(&[
            vec!["Nom".to_string(), "Avis".into()],
            vec!["=1+1".into(), "a;b \"c\"".into()],
            vec!["-2".into(), "@x".into()],
            vec!["\tt".into(), "ok".into()],
        ]);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "\u{feff}Nom;Avis\r\n'=1+1;\"a;b \"\"c\"\"\"\r\n'-2;'@x\r\n'\tt;ok\r\n"
        );
    }
}
