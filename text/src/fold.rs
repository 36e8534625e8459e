//! The one accent-folding rule: what "without accents or case" means everywhere in
//! Préau (the directory's search index, generated logins, rubrique slugs, plugins'
//! search).
//!
//! [`fold`]:
//! 1. lowercases every character (Unicode lowercase: `É` → `é`, `İ` → `i̇`);
//! 2. drops combining marks (U+0300–036F, U+1AB0–1AFF, U+1DC0–1DFF, U+20D0–20FF,
//!    U+FE20–FE2F), so a decomposed `e` + U+0301 folds like `é`;
//! 3. writes the Latin letters of Latin-1, Latin Extended-A and the Romanian and
//!    pinyin letters of Latin Extended-B in ASCII: `é` → `e`, `ç` → `c`, `ł` → `l`,
//!    `ø` → `o`, `ı` → `i`, `ș` → `s`; ligatures and special letters in several:
//!    `œ` → `oe`, `æ` → `ae`, `ß` → `ss`, `ĳ` → `ij`, `þ` → `th`;
//! 4. keeps everything else as it is: digits, spaces, punctuation (`'`, `’`, `-`),
//!    and the letters of other scripts (Greek, Cyrillic, Arabic…), only lowercased.
//!
//! [`search_key`] then turns every run of characters that are neither letters nor
//! digits into one space, trimmed.
//!
//! The directory's search index stores [`search_key`]s: changing this rule changes
//! stored keys, so the host versions its index and rebuilds it when the rule changes
//! (see `host/src/directory/search.rs`). Logins are stored once generated: a change
//! here only affects the logins of accounts created afterwards.

/// ASCII spelling of a lowercase accented Latin letter or ligature, if it has one.
///
/// Works on lowercase input only: [`fold`] lowercases first, which also covers the
/// uppercase forms without doubling this table.
fn ascii_of(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ǐ' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' | 'ĸ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' | 'ŋ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ǒ' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'ſ' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ǔ' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Combining diacritics (a decomposed "é" is "e" + U+0301): dropped.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
}

/// Lowercases `text` and removes Latin accents and ligatures (`"Œuvre Élève Çà"` →
/// `"oeuvre eleve ca"`); punctuation, spaces and other scripts are kept (see the
/// module's rule).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_combining_mark(c) {
            continue;
        }
        match ascii_of(c) {
            Some(ascii) => out.push_str(ascii),
            None => out.push(c),
        }
    }
    out
}

/// Key for accent-, case- and punctuation-insensitive comparison and search: [`fold`],
/// then every run of characters that are not letters or digits becomes one space,
/// trimmed (`"Le Bihan-Martin"`, `"le bihan martin"` and `"LE  BIHAN MARTIN"` all give
/// `"le bihan martin"`).
pub fn search_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_accents_and_ligatures() {
        assert_eq!(fold("éèêë àâä îï ôö ùûü ç ÿ ñ"), "eeee aaa ii oo uuu c y n");
        assert_eq!(fold("ÉÈÊË ÀÂÄ ÎÏ ÔÖ ÙÛÜ Ç Ÿ Ñ"), "eeee aaa ii oo uuu c y n");
        assert_eq!(fold("Œuvre cœur Æsop tænia"), "oeuvre coeur aesop taenia");
        assert_eq!(fold("Hélène"), "helene");
    }

    #[test]
    fn other_latin_letters() {
        assert_eq!(
            fold("Dvořák Łódź Straße Ørsted Đoković Şahin Ångström"),
            "dvorak lodz strasse orsted dokovic sahin angstrom"
        );
        assert_eq!(fold("Ștefan Țepeș Lǔ"), "stefan tepes lu");
        assert_eq!(fold("İSTANBUL"), "istanbul");
        assert_eq!(fold("Ĳsselmeer Þór"), "ijsselmeer thor");
        // Decomposed accents (e + combining acute, u + combining diaeresis).
        assert_eq!(fold("Ele\u{301}onore Mu\u{308}ller"), "eleonore muller");
    }

    #[test]
    fn punctuation_and_other_scripts_are_kept() {
        assert_eq!(fold("D'Artagnan Jean-Marc  X"), "d'artagnan jean-marc  x");
        assert_eq!(fold("L’Hôte"), "l’hote");
        assert_eq!(fold("ΣΟΦΊΑ Дмитрий"), "σοφία дмитрий");
        assert_eq!(fold("1er, 2e !"), "1er, 2e !");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn search_keys() {
        let key = "le bihan martin";
        assert_eq!(search_key("Le Bihan-Martin"), key);
        assert_eq!(search_key("le bihan martin"), key);
        assert_eq!(search_key("LE  BIHAN MARTIN"), key);
        assert_eq!(search_key("  -Le Bihan--Martin- "), key);
        assert_eq!(search_key("N'Diaye"), "n diaye");
        assert_eq!(search_key("Cœur-de-Lion"), "coeur de lion");
        assert_eq!(
            search_key("Σοφι\u{301}α"),
            "σοφια",
            "combining marks dropped"
        );
        assert_eq!(search_key("!?"), "");
        assert_eq!(search_key("Éloïse D'Aubigné"), "eloise d aubigne");
        assert_eq!(search_key("L’Hôte"), "l hote");
        assert_eq!(search_key("3e B"), "3e b");
    }
}
