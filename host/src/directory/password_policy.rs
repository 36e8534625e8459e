//! Password rules following the CNIL's deliberation n° 2022-100 (recommendation on
//! passwords): enough entropy, no personal data, not one of the most common passwords.
//! Also generates the initial passwords printed in the identifiers file.

use std::fs::File;
use std::io::Read;

use super::naming::fold;

/// Longest password accepted (long enough for any passphrase, short enough to bound hashing).
pub const MAX_LEN: usize = 128;

/// Entropy the CNIL asks for when a password is the only authentication factor.
pub const MIN_ENTROPY_BITS: f64 = 80.0;

/// Words a passphrase needs (the CNIL's example of an accepted passphrase).
pub const PASSPHRASE_WORDS: usize = 7;

/// Shortest personal string (login, name) searched in the password: shorter ones
/// ("Li", "Ba") would reject too many unrelated passwords.
const PERSONAL_MIN: usize = 3;

/// Passwords tried first by any attacker (French top lists, plus the demo's own),
/// lowercase and without accents.
const COMMON: &[&str] = &[
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "000000",
    "111111",
    "123123",
    "abc123",
    "azerty",
    "azertyuiop",
    "qwerty",
    "motdepasse",
    "password",
    "passw0rd",
    "soleil",
    "123soleil",
    "bonjour",
    "bienvenue",
    "doudou",
    "loulou",
    "chouchou",
    "coucou",
    "jetaime",
    "iloveyou",
    "marseille",
    "chocolat",
    "princesse",
    "football",
    "admin",
    "ecole",
    "college",
    "lycee",
    "preau",
    "preau-demo",
];

/// Alphabets of [`generate`], without look-alikes (0/O, 1/l/I) so the printed sheet
/// can be typed without mistakes.
const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijkmnopqrstuvwxyz";
const DIGITS: &str = "23456789";

/// Character classes used by a password, as the CNIL counts them for entropy.
#[derive(Default)]
struct Classes {
    lower: bool,
    upper: bool,
    digit: bool,
    special: bool,
    other: bool,
}

impl Classes {
    fn of(password: &str) -> Self {
        let mut classes = Classes::default();
        for c in password.chars() {
            match c {
                'a'..='z' => classes.lower = true,
                'A'..='Z' => classes.upper = true,
                '0'..='9' => classes.digit = true,
                ' ' => classes.special = true,
                c if c.is_ascii_punctuation() => classes.special = true,
                _ => classes.other = true,
            }
        }
        classes
    }

    /// Size of the union of the classes used.
    fn pool(&self) -> u32 {
        [
            (self.lower, 26),
            (self.upper, 26),
            (self.digit, 10),
            (self.special, 33),
            (self.other, 100),
        ]
        .iter()
        .filter(|(used, _)| *used)
        .map(|(_, size)| size)
        .sum()
    }

    fn all_four(&self) -> bool {
        self.lower && self.upper && self.digit && self.special
    }
}

/// Entropy in bits: length × log2(size of the character pool).
fn entropy_bits(password: &str) -> f64 {
    let pool = Classes::of(password).pool();
    if pool == 0 {
        return 0.0;
    }
    password.chars().count() as f64 * f64::from(pool).log2()
}

/// Whether the password is strong enough by any of the CNIL's accepted forms.
fn strong_enough(password: &str) -> bool {
    let words = password
        .split([' ', '-'])
        .filter(|word| !word.is_empty())
        .count();
    entropy_bits(password) >= MIN_ENTROPY_BITS
        || (password.chars().count() >= 12 && Classes::of(password).all_four())
        || words >= PASSPHRASE_WORDS
}

/// Folded and stripped of everything but letters and digits, so `"Le Bihan"` is found in
/// `"lebihan!2024"` and `"jean.dupont"` in `"Jean-Dupont…"`.
fn compact(text: &str) -> String {
    fold(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Whether the password is a common one, possibly followed by digits or punctuation
/// (`"Azerty123!"`).
fn is_common(password: &str) -> bool {
    let folded = fold(password);
    let stripped = folded
        .trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ');
    COMMON.contains(&folded.as_str()) || (!stripped.is_empty() && COMMON.contains(&stripped))
}

/// Checks `password` against the policy; `personal` holds the login, first and last name
/// (and anything else personal) that the password must not contain, compared without
/// case, accents or punctuation, ignoring those under 3 characters.
///
/// The error lists every problem, as French sentences for the form.
pub fn check(password: &str, personal: &[&str]) -> Result<(), Vec<String>> {
    if password.is_empty() {
        return Err(vec!["Le mot de passe est vide.".to_string()]);
    }
    let mut problems = Vec::new();
    let len = password.chars().count();
    if len > MAX_LEN {
        problems.push(format!(
            "Le mot de passe ne doit pas dépasser {MAX_LEN} caractères (il en a {len})."
        ));
    }
    if !strong_enough(password) {
        problems.push(format!(
            "Le mot de passe est trop simple (il a {len} caractère{}) : {}",
            if len > 1 { "s" } else { "" },
            lowercase_first(describe())
        ));
    }
    let compact_password = compact(password);
    let mut found: Vec<&str> = Vec::new();
    for item in personal {
        let key = compact(item);
        if key.chars().count() >= PERSONAL_MIN
            && compact_password.contains(&key)
            && !found.contains(&item.trim())
        {
            found.push(item.trim());
        }
    }
    for item in found {
        problems.push(format!(
            "Le mot de passe ne doit pas contenir votre identifiant, votre nom ou votre prénom (« {item} »)."
        ));
    }
    if is_common(password) {
        problems.push(
            "Ce mot de passe fait partie des plus courants : il serait deviné en quelques essais."
                .to_string(),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `describe()` starts with a capital; inside a sentence it must not.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The policy in one French sentence, for the password form's help text.
pub fn describe() -> &'static str {
    "Au moins 12 caractères mêlant majuscules, minuscules, chiffres et caractères spéciaux, \
     ou 14 caractères avec majuscules, minuscules et chiffres, ou une phrase de passe \
     d'au moins 7 mots."
}

/// Bytes from the kernel's CSPRNG, in small batches (std has no random generator).
struct Urandom {
    file: File,
    buf: [u8; 64],
    pos: usize,
}

impl Urandom {
    fn open() -> Self {
        let file = File::open("/dev/urandom").expect("/dev/urandom est illisible");
        Urandom {
            file,
            buf: [0; 64],
            pos: 64,
        }
    }

    fn byte(&mut self) -> u8 {
        if self.pos == self.buf.len() {
            self.file
                .read_exact(&mut self.buf)
                .expect("/dev/urandom est illisible");
            self.pos = 0;
        }
        self.pos += 1;
        self.buf[self.pos - 1]
    }

    /// A uniform index below `n` (rejection sampling: a plain modulo would favour the
    /// first characters of the alphabet).
    fn below(&mut self, n: usize) -> usize {
        let limit = 256 / n * n;
        loop {
            let b = usize::from(self.byte());
            if b < limit {
                return b % n;
            }
        }
    }
}

/// A random initial password such as `"Kp7m-Xq3v-Wz9t"`: three groups of four characters
/// taken from an alphabet without look-alikes (no 0/O/1/l/I), joined by hyphens, with at
/// least one uppercase letter, one lowercase letter and one digit. About 69 bits of
/// randomness; it passes [`check`] (14 characters, four classes).
///
/// # Panics
///
/// If `/dev/urandom` cannot be read: better no password than a predictable one.
pub fn generate() -> String {
    let alphabet: Vec<char> = UPPER
        .chars()
        .chain(LOWER.chars())
        .chain(DIGITS.chars())
        .collect();
    let mut random = Urandom::open();
    loop {
        let chars: Vec<char> = (0..12)
            .map(|_| alphabet[random.below(alphabet.len())])
            .collect();
        // Redraw rather than patch a position: every accepted password stays equally likely.
        let has = |set: &str| chars.iter().any(|c| set.contains(*c));
        if !(has(UPPER) && has(LOWER) && has(DIGITS)) {
            continue;
        }
        let groups: Vec<String> = chars
            .chunks(4)
            .map(|group| group.iter().collect())
            .collect();
        let password = groups.join("-");
        // Cannot fail by construction; checked anyway so a future rule change is noticed.
        if check(&password, &[]).is_ok() {
            return password;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(password: &str, personal: &[&str]) -> Vec<String> {
        check(password, personal).unwrap_err()
    }

    #[test]
    fn cnil_examples_pass() {
        // 12 characters, four classes (78.8 bits, accepted explicitly).
        assert_eq!(check("Tr4in-Bl3u!x", &[]), Ok(()));
        // 14 characters, upper + lower + digits (83.4 bits).
        assert_eq!(check("Kp7mXq3vWz9tRb", &[]), Ok(()));
        // Passphrases of 7 words.
        assert_eq!(check("le chat de ma voisine aime Brahms", &[]), Ok(()));
        // Only 13 × log2(26 + 33) ≈ 76.5 bits: accepted as a passphrase, not for its entropy.
        assert_eq!(check("a-b-c-d-e-f-g", &[]), Ok(()));
        assert!(entropy_bits("a-b-c-d-e-f-g") < MIN_ENTROPY_BITS);
        // 18 lowercase letters: 18 × log2(26) ≈ 84.6 bits.
        assert_eq!(check("gqxwkzvbtrmhpnjdfs", &[]), Ok(()));
    }

    #[test]
    fn too_weak_passwords_fail() {
        // 11 characters, four classes: 75 bits and too short for the explicit rule.
        let p = problems("Tr4in-Bl3u!", &[]);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("Le mot de passe est trop simple (il a 11 caractères) : au moins 12")
        );
        // 13 characters, three classes: 77.4 bits.
        assert_eq!(problems("Kp7mXq3vWz9tR", &[]).len(), 1);
        // 12 characters, no special character.
        assert_eq!(problems("Kp7mXq3vWz9t", &[]).len(), 1);
        // Short phrases: 6 and 5 words, under 80 bits.
        assert_eq!(problems("a-b-c-d-e-f", &[]).len(), 1);
        assert_eq!(problems("il y a un an", &[]).len(), 1);
        assert!(problems("x", &[])[0].contains("(il a 1 caractère)"));
    }

    #[test]
    fn other_unicode_counts_as_a_large_class() {
        // 12 × log2(26 + 100) ≈ 83.7 bits.
        assert_eq!(check("éléphantéléé", &[]), Ok(()));
    }

    #[test]
    fn empty_and_too_long() {
        assert_eq!(
            problems("", &[]),
            vec!["Le mot de passe est vide.".to_string()]
        );
        let long = "Ab1!".repeat(33);
        let p = problems(&long, &[]);
        assert_eq!(
            p,
            vec!["Le mot de passe ne doit pas dépasser 128 caractères (il en a 132).".to_string()]
        );
        assert_eq!(check(&"Ab1!".repeat(32), &[]), Ok(()));
    }

    #[test]
    fn personal_data_is_refused() {
        let personal = ["eloise.lebihan", "Éloïse", "Le Bihan"];
        let p = problems("ELOISE-x7!Kp9mQ", &personal);
        assert_eq!(p, vec!["Le mot de passe ne doit pas contenir votre identifiant, votre nom ou votre prénom (« Éloïse »).".to_string()]);
        let p = problems("Zz9!lebihan#Qw", &personal);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("« Le Bihan »"));
        // The login contains both names: every match is listed.
        assert_eq!(problems("Eloise.LeBihan-2024", &personal).len(), 3);
        // Short personal strings are ignored.
        assert_eq!(check("Li-x7!Kp9mQwZ", &["Li", "", "  "]), Ok(()));
        assert_eq!(check("Tr4in-Bl3u!x", &personal), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused() {
        let common =
            "Ce mot de passe fait partie des plus courants : il serait deviné en quelques essais.";
        for password in [
            "azerty123456789!",
            "Azerty",
            "MotDePasse2024!!",
            "123456",
            "Préau-Démo2024!",
            "soleil 1234567",
        ] {
            let p = problems(password, &[]);
            assert!(p.iter().any(|m| m == common), "{password}: {p:?}");
        }
        // Every problem at once.
        let p = problems("soleil", &["soleil"]);
        assert_eq!(p.len(), 3, "{p:?}");
        // A common word inside a longer password is not what the list is about.
        assert_eq!(check("Soleil-Vert-42!x", &[]), Ok(()));
    }

    #[test]
    fn describe_matches_the_rules() {
        assert!(describe().starts_with("Au moins 12 caractères"));
        assert!(describe().ends_with("d'au moins 7 mots."));
    }

    #[test]
    fn generated_passwords_pass_and_differ() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let password = generate();
            assert_eq!(check(&password, &[]), Ok(()), "{password}");
            assert_eq!(password.len(), 14);
            let groups: Vec<&str> = password.split('-').collect();
            assert_eq!(groups.len(), 3);
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(password.chars().any(|c| c.is_ascii_uppercase()));
            assert!(password.chars().any(|c| c.is_ascii_lowercase()));
            assert!(password.chars().any(|c| c.is_ascii_digit()));
            assert!(!password.contains(['0', 'O', '1', 'l', 'I']), "{password}");
            assert!(seen.insert(password));
        }
    }
}
