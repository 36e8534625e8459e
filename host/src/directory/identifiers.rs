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

/// The identifiers file as bytes: UTF-8 with BOM, `;` separator, CRLF line ends, a
/// [`HEADER`] line then one line per row. Cells containing `;`, `"`, CR or LF are quoted
/// (quotes doubled); cells starting with `=`, `+`, `-`, `@`, TAB or CR get a leading `'`
/// so no spreadsheet runs them as formulas (`-Dupont` reads `'-Dupont`).
///
/// The writer is [`preau_text::csv`], the one every export uses.
pub fn to_csv(rows: &[IdentifierRow]) -> Vec<u8> {
    let mut csv = preau_text::csv::Csv::new();
    csv.row(HEADER);
    for row in rows {
        csv.row([
            &row.profile,
            &row.last_name,
            &row.first_name,
            &row.login,
            &row.class,
            &row.secret,
        ]);
    }
    csv.finish()
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
    let (year, month, day) = preau_text::Date::from_unix_utc(generated_at_unix).ymd();
    let seconds = generated_at_unix.rem_euclid(86_400);
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
    fn cells_are_quoted_and_formula_safe() {
        // The rules are preau_text::csv's (tested there); the file follows them.
        let csv = text(&[row("Du;pont", "=1+1")]);
        assert!(
            csv.ends_with(";\"Du;pont\";Zoé;zoe.dupont;6e B;'=1+1\r\n"),
            "{csv}"
        );
        assert!(text(&[row("-Dupont", "s")]).contains(";'-Dupont;"));
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
