//! What the search index shows of a person ([`IndexedPerson`]), and the
//! compact form format 2 of the index keeps in last-name entries.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::User;

/// The key of a function or discipline (the search index's folding).
fn key_text(s: &str) -> String {
    preau_text::fold::search_key(s)
}

/// What an index entry holds: enough to show a person in a results list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedPerson {
    /// User id.
    #[serde(rename = "i")]
    pub id: String,
    /// Last name, as written.
    #[serde(rename = "n")]
    pub last_name: String,
    /// First name, as written.
    #[serde(rename = "p")]
    pub first_name: String,
    /// Login.
    #[serde(rename = "l")]
    pub login: String,
    /// (UAI, profile code) of each membership.
    #[serde(rename = "r", default)]
    pub profiles: Vec<(String, String)>,
    /// Blocked account.
    #[serde(rename = "b", default, skip_serializing_if = "is_false")]
    pub blocked: bool,
    /// Never signed in.
    #[serde(rename = "v", default, skip_serializing_if = "is_false")]
    pub never_signed_in: bool,
    /// Per membership: `<uai>|g|<group id>`, `<uai>|f|<folded function or discipline>`,
    /// for the group, class, level and function filters.
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// First byte of [`IndexedPerson::encode`] (never `{`, which starts format 1's JSON).
const SUMMARY: u8 = 2;

/// A length: one byte below 255, else 255 and four bytes (little-endian).
pub(super) fn put_len(out: &mut Vec<u8>, n: usize) {
    match u8::try_from(n) {
        Ok(small) if small < u8::MAX => out.push(small),
        _ => {
            out.push(u8::MAX);
            out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
    }
}

pub(super) fn put_str(out: &mut Vec<u8>, text: &str) {
    // Longer than 4 GiB cannot be: a record that size is refused well before.
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

pub(super) fn get_len(input: &mut &[u8]) -> Option<usize> {
    let (&first, rest) = input.split_first()?;
    *input = rest;
    if first < u8::MAX {
        return Some(usize::from(first));
    }
    let (bytes, rest) = input.split_first_chunk::<4>()?;
    *input = rest;
    usize::try_from(u32::from_le_bytes(*bytes)).ok()
}

pub(super) fn get_str(input: &mut &[u8]) -> Option<String> {
    let n = get_len(input)?;
    if input.len() < n {
        return None;
    }
    let (text, rest) = input.split_at(n);
    *input = rest;
    String::from_utf8(text.to_vec()).ok()
}

impl IndexedPerson {
    /// The summary of `user`.
    pub fn of(user: &User) -> Self {
        IndexedPerson {
            id: user.id.clone(),
            last_name: user.last_name.clone(),
            first_name: user.first_name.clone(),
            login: user.login.clone(),
            profiles: user
                .memberships
                .iter()
                .map(|m| (m.uai.clone(), m.profile.clone()))
                .collect(),
            blocked: user.blocked,
            never_signed_in: user.last_login.is_none(),
            tags: user
                .memberships
                .iter()
                .flat_map(|m| {
                    let groups = m.groups.iter().map(move |g| format!("{}|g|{g}", m.uai));
                    let functions = m
                        .functions
                        .iter()
                        .chain(&m.disciplines)
                        .map(move |f| format!("{}|f|{}", m.uai, key_text(f)));
                    groups.chain(functions)
                })
                .collect(),
        }
    }

    /// Whether the person is in one of `groups` (in `uai`, or anywhere if None).
    pub fn in_any_group(&self, uai: Option<&str>, groups: &[String]) -> bool {
        self.tags.iter().any(|t| {
            let (u, kind, value) = tag_parts(t);
            kind == "g" && uai.is_none_or(|uai| u == uai) && groups.iter().any(|g| g == value)
        })
    }

    /// Whether one of the person's functions or disciplines contains `text` (folded).
    pub fn has_function(&self, uai: Option<&str>, text: &str) -> bool {
        let wanted = key_text(text);
        self.tags.iter().any(|t| {
            let (u, kind, value) = tag_parts(t);
            kind == "f" && uai.is_none_or(|uai| u == uai) && value.contains(&wanted)
        })
    }

    /// The compact form format 2 keeps in last-name entries: [`SUMMARY`], flags
    /// (1: blocked, 2: never signed in), then id, last name, first name, login,
    /// the profiles (a count, then UAI and code of each) and the tags (a count,
    /// then each), every string and count as [`put_len`] then its bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![
            SUMMARY,
            u8::from(self.blocked) | (u8::from(self.never_signed_in) << 1),
        ];
        for text in [&self.id, &self.last_name, &self.first_name, &self.login] {
            put_str(&mut out, text);
        }
        put_len(&mut out, self.profiles.len());
        for (uai, profile) in &self.profiles {
            put_str(&mut out, uai);
            put_str(&mut out, profile);
        }
        put_len(&mut out, self.tags.len());
        for tag in &self.tags {
            put_str(&mut out, tag);
        }
        out
    }

    /// Reads [`Self::encode`]'s form (None: not that form, or damaged).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (&marker, rest) = bytes.split_first()?;
        let (&flags, mut input) = rest.split_first()?;
        if marker != SUMMARY {
            return None;
        }
        let input = &mut input;
        let id = get_str(input)?;
        let last_name = get_str(input)?;
        let first_name = get_str(input)?;
        let login = get_str(input)?;
        let profiles = (0..get_len(input)?)
            .map(|_| Some((get_str(input)?, get_str(input)?)))
            .collect::<Option<Vec<_>>>()?;
        let tags = (0..get_len(input)?)
            .map(|_| get_str(input))
            .collect::<Option<Vec<_>>>()?;
        input.is_empty().then_some(IndexedPerson {
            id,
            last_name,
            first_name,
            login,
            profiles,
            blocked: flags & 1 != 0,
            never_signed_in: flags & 2 != 0,
            tags,
        })
    }

    /// Whether the person holds `profile` in `uai` (anywhere if None).
    pub fn has_profile(&self, uai: Option<&str>, profile: &str) -> bool {
        self.profiles
            .iter()
            .any(|(u, p)| p == profile && uai.is_none_or(|uai| u == uai))
    }
}

/// The person an entry's value holds: a format-2 last-name entry's
/// [`IndexedPerson::encode`], or any format-1 entry's JSON; None for a format-2
/// first-name entry.
pub fn of_value(value: &[u8]) -> Result<Option<IndexedPerson>> {
    match value.first() {
        Some(b'{') => serde_json::from_slice(value)
            .map(Some)
            .context("entrée d'index illisible"),
        Some(&SUMMARY) => IndexedPerson::decode(value)
            .map(Some)
            .context("entrée d'index illisible"),
        _ => Ok(None),
    }
}

/// A tag's establishment, kind (`g` group, `f` function or discipline) and value.
fn tag_parts(tag: &str) -> (&str, &str, &str) {
    let mut parts = tag.splitn(3, '|');
    (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_round_trip_and_refuse_damage() {
        let long = "x".repeat(300);
        let person = IndexedPerson {
            id: "u42".into(),
            last_name: "Œuvray-Le Gall".into(),
            first_name: long.clone(),
            login: "".into(),
            profiles: vec![("0420003A".into(), "parent".into()); 2],
            blocked: true,
            never_signed_in: false,
            tags: (0..260).map(|i| format!("0420003A|g|{i}")).collect(),
        };
        let bytes = person.encode();
        assert_eq!(IndexedPerson::decode(&bytes), Some(person.clone()));
        assert_eq!(of_value(&bytes).unwrap(), Some(person));
        for cut in 0..bytes.len() {
            assert_eq!(IndexedPerson::decode(&bytes[..cut]), None, "{cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(IndexedPerson::decode(&longer), None);
        // First-name values are not summaries.
        assert_eq!(of_value(b"").unwrap(), None);
        assert_eq!(of_value(b"11").unwrap(), None);
    }
}
