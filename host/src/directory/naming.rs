//! Names and logins: generation and validation of `prenom.nom` logins, on the one
//! accent-folding rule of [`preau_text::fold`].
//!
//! Pure functions, so the rules can be tested without a directory.

/// Longest login we generate or accept (kept short so it fits on the identifiers sheet
/// and in the academic directory's fields).
pub const LOGIN_MAX: usize = 30;

/// Shortest login we accept.
pub const LOGIN_MIN: usize = 3;

/// Login used when neither the first nor the last name contains a usable letter.
pub const FALLBACK_LOGIN: &str = "utilisateur";

/// The one folding rule (see [`preau_text::fold`]): lowercase, Latin accents and
/// ligatures removed (`"Œuvre Élève"` → `"oeuvre eleve"`), punctuation kept; and the
/// search key built on it (`"Le Bihan-Martin"` → `"le bihan martin"`).
pub use preau_text::fold::{fold, search_key};

/// Only `[a-z0-9]` of the folded text: what a name contributes to a login.
fn login_part(name: &str) -> String {
    fold(name)
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .collect()
}

/// The login a person would get before deduplication: `prenom.nom`, lowercase, without
/// accents, keeping only `[a-z0-9]` of each part (`"Jean-Marc"`, `"D'Artagnan"` →
/// `"jeanmarc.dartagnan"`), at most [`LOGIN_MAX`] characters.
///
/// When too long the last name is cut first (down to one letter), then the first name,
/// so the result never ends with a dot. If one part is empty after cleaning the other
/// is used alone, without a dot; if both are, [`FALLBACK_LOGIN`].
///
/// The result only passes [`valid_login`] if it starts with a letter and has at least
/// [`LOGIN_MIN`] characters, which real names practically always give.
pub fn login_base(first_name: &str, last_name: &str) -> String {
    let first = login_part(first_name);
    let last = login_part(last_name);
    // Parts are ASCII, so byte lengths are character counts and slicing is safe.
    match (first.is_empty(), last.is_empty()) {
        (true, true) => FALLBACK_LOGIN.to_string(),
        (false, true) => first[..first.len().min(LOGIN_MAX)].to_string(),
        (true, false) => last[..last.len().min(LOGIN_MAX)].to_string(),
        (false, false) => {
            // Keep at least one letter of the last name so the dot is never trailing.
            let last_len = last
                .len()
                .min(LOGIN_MAX.saturating_sub(first.len() + 1).max(1));
            let first_len = first.len().min(LOGIN_MAX - 1 - last_len);
            format!("{}.{}", &first[..first_len], &last[..last_len])
        }
    }
}

/// The `n`-th login to try for `base`: `base` itself for `n` ≤ 1, then `base` followed by
/// `n` (`"jean.dupont2"`, `"jean.dupont10"`), still at most [`LOGIN_MAX`] characters:
/// the base is cut to make room for the digits, and a dot left at the end of the cut
/// base is dropped.
pub fn login_candidate(base: &str, n: u32) -> String {
    if n <= 1 {
        return base.chars().take(LOGIN_MAX).collect();
    }
    let suffix = n.to_string();
    let room = LOGIN_MAX.saturating_sub(suffix.len());
    let cut: String = base.chars().take(room).collect();
    format!("{}{suffix}", cut.trim_end_matches('.'))
}

/// Checks a login typed by an administrator: [`LOGIN_MIN`]–[`LOGIN_MAX`] characters,
/// lowercase letters `a`–`z`, digits, `.`, `-` and `_`, starting with a letter, without
/// `..`. The error is a French sentence saying what is wrong.
pub fn valid_login(login: &str) -> Result<(), String> {
    if login.is_empty() {
        return Err("L'identifiant est vide.".to_string());
    }
    let count = login.chars().count();
    if count < LOGIN_MIN {
        return Err(format!(
            "L'identifiant doit comporter au moins {LOGIN_MIN} caractères (il en a {count})."
        ));
    }
    if count > LOGIN_MAX {
        return Err(format!(
            "L'identifiant doit comporter au plus {LOGIN_MAX} caractères (il en a {count})."
        ));
    }
    if let Some(c) = login
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')))
    {
        let shown = if c.is_whitespace() {
            "espace".to_string()
        } else {
            c.to_string()
        };
        let why = if c.is_uppercase() {
            "les majuscules ne sont pas permises"
        } else if c.is_alphabetic() {
            "les lettres accentuées ne sont pas permises"
        } else {
            "seuls sont permis les lettres minuscules sans accent (a à z), les chiffres, \
             le point (.), le tiret (-) et le tiret bas (_)"
        };
        return Err(format!(
            "L'identifiant contient un caractère non autorisé « {shown} » : {why}."
        ));
    }
    if !login.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("L'identifiant doit commencer par une lettre (a à z).".to_string());
    }
    if login.contains("..") {
        return Err(
            "L'identifiant ne doit pas contenir deux points qui se suivent (« .. »).".to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_base_cleans_names() {
        assert_eq!(login_base("Jean-Marc", "D'Artagnan"), "jeanmarc.dartagnan");
        assert_eq!(login_base("Éloïse", "Le Bihan"), "eloise.lebihan");
        assert_eq!(login_base("Zoé", "Lœwenbrück"), "zoe.loewenbruck");
        assert_eq!(login_base("  Anne ", " O’Neill "), "anne.oneill");
        assert_eq!(login_base("Ñandú", "Çelik"), "nandu.celik");
    }

    #[test]
    fn login_base_with_empty_parts() {
        assert_eq!(login_base("", "Dupont"), "dupont");
        assert_eq!(login_base("Jean", ""), "jean");
        assert_eq!(login_base("--", "Dupont"), "dupont");
        assert_eq!(login_base("Jean", "’ -"), "jean");
        assert_eq!(login_base("", ""), "utilisateur");
        assert_eq!(login_base("Σοφία", "王"), "utilisateur");
    }

    #[test]
    fn login_base_is_capped_cutting_the_last_name_first() {
        let login = login_base("Marie-Charlotte", "De La Rochefoucauld-Montmorency");
        assert_eq!(login, "mariecharlotte.delarochefoucau");
        assert_eq!(login.len(), LOGIN_MAX);

        // A very long first name keeps one letter of the last name, never a trailing dot.
        let login = login_base("Abcdefghijklmnopqrstuvwxyzabcdefgh", "Dupont");
        assert_eq!(login, "abcdefghijklmnopqrstuvwxyzab.d");
        assert!(login.len() <= LOGIN_MAX && !login.ends_with('.'));

        let login = login_base("Abcdefghijklmnopqrstuvwxyzab", "Dupont");
        assert_eq!(login, "abcdefghijklmnopqrstuvwxyzab.d");

        assert_eq!(
            login_base("", "Abcdefghijklmnopqrstuvwxyzabcdefgh").len(),
            LOGIN_MAX
        );
        assert_eq!(
            login_base("Abcdefghijklmnopqrstuvwxyzabcdefgh", "").len(),
            LOGIN_MAX
        );

        for first in ["", "a", "Jean", "Abcdefghijklmnopqrstuvwxyzabcdefghij"] {
            for last in ["", "b", "Dupont", "Abcdefghijklmnopqrstuvwxyzabcdefghij"] {
                let login = login_base(first, last);
                assert!(login.len() <= LOGIN_MAX, "{login}");
                assert!(!login.ends_with('.') && !login.starts_with('.'), "{login}");
            }
        }
    }

    #[test]
    fn login_candidate_adds_number_within_cap() {
        assert_eq!(login_candidate("jean.dupont", 0), "jean.dupont");
        assert_eq!(login_candidate("jean.dupont", 1), "jean.dupont");
        assert_eq!(login_candidate("jean.dupont", 2), "jean.dupont2");
        assert_eq!(login_candidate("jean.dupont", 10), "jean.dupont10");

        let base = login_base("Marie-Charlotte", "De La Rochefoucauld-Montmorency");
        assert_eq!(login_candidate(&base, 2), "mariecharlotte.delarochefouca2");
        assert_eq!(login_candidate(&base, 10), "mariecharlotte.delarochefouc10");
        assert_eq!(login_candidate(&base, 2).len(), LOGIN_MAX);
        assert_eq!(login_candidate(&base, 10).len(), LOGIN_MAX);
        assert_eq!(login_candidate(&base, u32::MAX).len(), LOGIN_MAX);

        // The cut would end with the dot: it is dropped rather than kept before the number.
        let base = login_base("Abcdefghijklmnopqrstuvwxyza", "Dupont");
        assert_eq!(base, "abcdefghijklmnopqrstuvwxyza.du");
        assert_eq!(login_candidate(&base, 2), "abcdefghijklmnopqrstuvwxyza.d2");
        assert_eq!(login_candidate(&base, 10), "abcdefghijklmnopqrstuvwxyza10");
    }

    #[test]
    fn generated_logins_are_valid() {
        for (first, last) in [
            ("Jean-Marc", "D'Artagnan"),
            ("Marie-Charlotte", "De La Rochefoucauld-Montmorency"),
            ("", ""),
            ("Éloïse", "Le Bihan"),
        ] {
            let base = login_base(first, last);
            for n in [1, 2, 9, 10, 99, 100, 12345] {
                let login = login_candidate(&base, n);
                assert_eq!(valid_login(&login), Ok(()), "{login}");
            }
        }
    }

    #[test]
    fn valid_login_accepts_ordinary_logins() {
        for login in [
            "jean.dupont",
            "abc",
            "j-m_dupont2",
            "a23",
            "x.y.z",
            &"a".repeat(30),
        ] {
            assert_eq!(valid_login(login), Ok(()), "{login}");
        }
    }

    #[test]
    fn valid_login_says_what_is_wrong() {
        let err = |login: &str| valid_login(login).unwrap_err();
        assert_eq!(err(""), "L'identifiant est vide.");
        assert_eq!(
            err("ab"),
            "L'identifiant doit comporter au moins 3 caractères (il en a 2)."
        );
        assert_eq!(
            err(&"a".repeat(31)),
            "L'identifiant doit comporter au plus 30 caractères (il en a 31)."
        );
        assert!(err("Jean.dupont").contains("« J »") && err("Jean.dupont").contains("majuscules"));
        assert!(err("élodie").contains("« é »") && err("élodie").contains("accentuées"));
        assert!(err("jean dupont").contains("« espace »"));
        assert_eq!(
            err("jean@dupont"),
            "L'identifiant contient un caractère non autorisé « @ » : seuls sont permis les \
             lettres minuscules sans accent (a à z), les chiffres, le point (.), le tiret (-) \
             et le tiret bas (_)."
        );
        assert_eq!(
            err("2pac"),
            "L'identifiant doit commencer par une lettre (a à z)."
        );
        assert_eq!(
            err(".jean"),
            "L'identifiant doit commencer par une lettre (a à z)."
        );
        assert_eq!(
            err("_jean"),
            "L'identifiant doit commencer par une lettre (a à z)."
        );
        assert!(err("jean..dupont").contains("« .. »"));
        // Length is counted in characters, not bytes.
        assert!(err("éé").contains("il en a 2"));
    }
}
