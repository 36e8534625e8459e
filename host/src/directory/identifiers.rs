//! The identifiers file (« fichier d'identifiants ») handed to the establishment: one
//! line per account with its initial password or activation code, as a CSV that opens
//! directly in Excel or LibreOffice (BOM, `;`, CRLF) without running formulas.

/// One account in the identifiers file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentifierRow {
    /// Profile label, e.g. `Élève`.
    pub profile: String,
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Login.
    pub login: String,
    /// Class (empty for adults without one).
    pub class: String,
    /// Initial password or activation code.
    pub secret: String,
}

/// Column titles, in the order of [`IdentifierRow`]'s fields.
pub const HEADER: [&str; 6] = [
    "Profil",
    "Nom",
    "Prénom",
    "Identifiant",
    "Classe",
    "Mot de passe ou code d'activation",
];

/// Makes Excel show a UTF-8 file as UTF-8 rather than Windows-1252.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One cell: neutralised against formula injection, then quoted if needed.
fn cell(value: &str) -> String {
    // A spreadsheet evaluates a cell starting with one of these as a formula
    // (OWASP "CSV injection"); a leading apostrophe makes it plain text.
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([';', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn line(out: &mut Vec<u8>, cells: [&str; 6]) {
    let cells: Vec<String> = cells.iter().map(|value| cell(value)).collect();
    out.extend_from_slice(cells.join(";").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The identifiers file as bytes: UTF-8 with BOM, `;` separator, CRLF line ends, a
/// [`HEADER`] line then one line per row. Cells containing `;`, `"`, CR or LF are quoted
/// (quotes doubled); cells starting with `=`, `+`, `-`, `@`, TAB or CR get a leading `'`
/// so no spreadsheet runs them as formulas (`-Dupont` reads `'-Dupont`).
pub fn to_csv(rows: &[IdentifierRow]) -> Vec<u8> {
    let mut out = BOM.to_vec();
    line(&mut out, HEADER);
    for row in rows {
        line(
            &mut out,
            [
                &row.profile,
                &row.last_name,
                &row.first_name,
                &row.login,
                &row.class,
                &row.secret,
            ],
        );
    }
    out
}

/// Civil date `(year, month, day)` of a day count since 1970-01-01 (proleptic Gregorian;
/// Howard Hinnant's `civil_from_days`, so no date crate is needed).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Download name of the identifiers file:
/// `ENT-Identifiants-<UAI>-<YYYYMMDD-HHMMSS>.csv`, time in UTC.
///
/// Only the ASCII letters and digits of `uai` are kept (uppercased), so the name is
/// safe in a `Content-Disposition` header and on any file system.
pub fn file_name(uai: &str, generated_at_unix: i64) -> String {
    let uai: String = uai
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let days = generated_at_unix.div_euclid(86_400);
    let seconds = generated_at_unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "ENT-Identifiants-{uai}-{year:04}{month:02}{day:02}-{:02}{:02}{:02}.csv",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(last_name: &str, secret: &str) -> IdentifierRow {
        IdentifierRow {
            profile: "Élève".into(),
            last_name: last_name.into(),
            first_name: "Zoé".into(),
            login: "zoe.dupont".into(),
            class: "6e B".into(),
            secret: secret.into(),
        }
    }

    fn text(rows: &[IdentifierRow]) -> String {
        let bytes = to_csv(rows);
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM");
        String::from_utf8(bytes[3..].to_vec()).unwrap()
    }

    #[test]
    fn bom_header_and_crlf() {
        let bytes = to_csv(&[]);
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        assert_eq!(
            text(&[]),
            "Profil;Nom;Prénom;Identifiant;Classe;Mot de passe ou code d'activation\r\n"
        );
        let csv = text(&[row("Dupont", "Kp7m-Xq3v-Wz9t"), row("Martin", "ABCD-1234")]);
        assert_eq!(
            csv,
            "Profil;Nom;Prénom;Identifiant;Classe;Mot de passe ou code d'activation\r\n\
             Élève;Dupont;Zoé;zoe.dupont;6e B;Kp7m-Xq3v-Wz9t\r\n\
             Élève;Martin;Zoé;zoe.dupont;6e B;ABCD-1234\r\n"
        );
        // No bare LF: every line ends with CRLF.
        assert_eq!(csv.matches('\n').count(), csv.matches("\r\n").count());
    }

    #[test]
    fn quoting() {
        let csv = text(&[row("Du;pont", "a\"b\"c")]);
        assert!(csv.contains(";\"Du;pont\";"), "{csv}");
        assert!(csv.ends_with(";\"a\"\"b\"\"c\"\r\n"), "{csv}");
        let csv = text(&[row("Du\npont", "x\ry")]);
        assert!(csv.contains(";\"Du\npont\";"), "{csv}");
        assert!(csv.ends_with(";\"x\ry\"\r\n"), "{csv}");
        // Commas and apostrophes need no quotes with a `;` separator.
        assert!(text(&[row("D'Artagnan, fils", "x")]).contains(";D'Artagnan, fils;"));
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
            let csv = text(&[row(value, "s")]);
            assert!(
                csv.contains(&format!(";{expected};")),
                "{value:?} → {csv:?}"
            );
        }
        // Quoted as well: the apostrophe goes inside the quotes.
        let csv = text(&[row("\rx", "s")]);
        assert!(csv.contains(";\"'\rx\";"), "{csv:?}");
        let csv = text(&[row("=HYPERLINK(\"http://x\";\"y\")", "s")]);
        assert!(
            csv.contains(";\"'=HYPERLINK(\"\"http://x\"\";\"\"y\"\")\";"),
            "{csv:?}"
        );
        // Only the first character matters.
        assert!(text(&[row("Le Bihan-Martin", "s")]).contains(";Le Bihan-Martin;"));
        assert!(text(&[row("", "s")]).contains("Élève;;Zoé"));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn file_names() {
        assert_eq!(
            file_name("0420003A", 0),
            "ENT-Identifiants-0420003A-19700101-000000.csv"
        );
        // 2025-09-01 08:30:05 UTC.
        assert_eq!(
            file_name("0420003A", 1_756_715_405),
            "ENT-Identifiants-0420003A-20250901-083005.csv"
        );
        // 2024-02-29 23:59:59 UTC.
        assert_eq!(
            file_name("0420003a", 1_709_251_199),
            "ENT-Identifiants-0420003A-20240229-235959.csv"
        );
        // 2000-03-01 00:00:00 UTC.
        assert_eq!(
            file_name("0420003A", 951_868_800),
            "ENT-Identifiants-0420003A-20000301-000000.csv"
        );
        assert_eq!(
            file_name("0420003A", -1),
            "ENT-Identifiants-0420003A-19691231-235959.csv"
        );
        assert_eq!(
            file_name("../04\"20003A", 0),
            "ENT-Identifiants-0420003A-19700101-000000.csv"
        );
    }
}
