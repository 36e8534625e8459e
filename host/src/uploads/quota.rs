//! How much each person may upload in an establishment: a default per
//! profile that the establishment's administrator sets, and a quota of a
//! person's own that replaces it. Usage is counted by the store in the same
//! transaction as each chunk ([`super::Uploads`]).

use anyhow::Result;

use crate::directory::{Directory, PROFILES, User};
use crate::store::{Space, Store, usage};

/// Where the usage counters are, in [`Space::Uploads`].
const COUNTER_PREFIX: &[u8] = b"\x00usage/";

/// Quotas (MiB) when the administrator set none: what people of each profile
/// typically keep (worksheets, handed-in work, attachments).
pub const DEFAULT_MIB: &[(&str, u64)] = &[
    ("eleve", 200),
    ("parent", 100),
    ("enseignant", 1024),
    ("personnel", 1024),
];

/// The usage counter of `person` in `uai`.
pub fn counter_key(uai: &str, person: &str) -> Vec<u8> {
    let mut key = COUNTER_PREFIX.to_vec();
    key.extend_from_slice(format!("{uai}/{person}").as_bytes());
    key
}

fn profile_key(uai: &str, profile: &str) -> String {
    format!("upload-quota/{uai}/profile/{profile}")
}

fn person_key(uai: &str, person: &str) -> String {
    format!("upload-quota/{uai}/person/{person}")
}

/// The quota (MiB) of `profile` in `uai`: the administrator's, or the default.
pub fn profile_mib(directory: &Directory, uai: &str, profile: &str) -> Result<u64> {
    Ok(
        match directory.setting::<u64>(&profile_key(uai, profile))? {
            Some(mib) => mib,
            None => default_mib(profile),
        },
    )
}

fn default_mib(profile: &str) -> u64 {
    DEFAULT_MIB
        .iter()
        .find(|(p, _)| *p == profile)
        .map_or(100, |(_, mib)| *mib)
}

/// Sets the quota of `profile` in `uai`.
pub fn set_profile_mib(directory: &Directory, uai: &str, profile: &str, mib: u64) -> Result<()> {
    directory.put_setting(&profile_key(uai, profile), &mib)
}

/// Every profile with its quota in `uai`: (code, label, MiB).
pub fn profiles(
    directory: &Directory,
    uai: &str,
) -> Result<Vec<(&'static str, &'static str, u64)>> {
    PROFILES
        .iter()
        .map(|(code, label)| Ok((*code, *label, profile_mib(directory, uai, code)?)))
        .collect()
}

/// A person's own quota in `uai` (MiB), if the administrator set one.
pub fn person_mib(directory: &Directory, uai: &str, person: &str) -> Result<Option<u64>> {
    directory.setting::<u64>(&person_key(uai, person))
}

/// Sets (Some) or removes (None: back to the profile's) a person's own quota.
pub fn set_person_mib(
    directory: &Directory,
    uai: &str,
    person: &str,
    mib: Option<u64>,
) -> Result<()> {
    let key = person_key(uai, person);
    match mib {
        Some(mib) => directory.put_setting(&key, &mib),
        None => directory.store().delete(Space::Settings, key.as_bytes()),
    }
}

/// The bytes `user` may upload in `uai`: their own quota, or their profile's
/// (the staff default for a region administrator with no profile there).
pub fn limit(directory: &Directory, uai: &str, user: &User) -> Result<u64> {
    if let Some(mib) = person_mib(directory, uai, &user.id)? {
        return Ok(mib << 20);
    }
    let profile = user
        .membership(uai)
        .map_or("personnel", |m| m.profile.as_str());
    Ok(profile_mib(directory, uai, profile)? << 20)
}

/// The bytes `person` uses in `uai`.
pub fn used(store: &dyn Store, uai: &str, person: &str) -> Result<u64> {
    usage::read_counter(store, Space::Uploads, &counter_key(uai, person))
}

/// Every person of `uai` who uses space, with their bytes, largest first.
pub fn usage_in(store: &dyn Store, uai: &str) -> Result<Vec<(String, u64)>> {
    let prefix = counter_key(uai, "");
    let mut rows: Vec<(String, u64)> = store
        .scan(Space::Uploads, &prefix, None, usize::MAX, false)?
        .into_iter()
        .filter_map(|(key, value)| {
            let person = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            let bytes = usage::counter_value(&value)?;
            (bytes > 0).then_some((person, bytes))
        })
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
}

/// « 12 Mo utilisés sur 200 Mo ».
pub fn summary(used: u64, limit: u64) -> String {
    format!(
        "{} utilisés sur {}",
        preau_text::bytes_fr(used),
        preau_text::bytes_fr(limit)
    )
}
