//! Bytes used by each plugin namespace, counted by the store in the same
//! transaction as every plugin write ([`super::Store::batch_within`]), so that
//! a quota holds exactly.
//!
//! Plugin keys are `<uai>/<plugin>/…`, `<uai>#<rubrique>/<plugin>/…` (a
//! rubrique's instance: counted with its establishment's) and
//! `@region/<plugin>/…`. Counters are entries of the same space under
//! `\0usage/<uai or @region>/<plugin>`, a prefix no plugin key can have.

use std::collections::BTreeMap;

use anyhow::Result;

use super::{Space, Store};

/// Where the counters are.
pub const COUNTER_PREFIX: &[u8] = b"\x00usage/";

/// Set once every existing plugin entry has been counted.
const COUNTED_FLAG: &str = "plugin-usage-counted";

/// The counter of (establishment or `@region`, plugin).
pub fn counter_key(owner: &str, plugin: &str) -> Vec<u8> {
    let mut key = COUNTER_PREFIX.to_vec();
    key.extend_from_slice(format!("{owner}/{plugin}").as_bytes());
    key
}

/// Where the namespaces' versions are (bumped with every plugin write: see
/// [`super::Quota::version`]).
pub const VERSION_PREFIX: &[u8] = b"\x00version/";

/// The version counter of a namespace's plugin data: `owner` is an
/// establishment, `<uai>#<rubrique>` (a rubrique's instance: its own version,
/// so a write there leaves the establishment's other renderings cached) or
/// `@region`.
pub fn version_key(owner: &str, plugin: &str) -> Vec<u8> {
    let mut key = VERSION_PREFIX.to_vec();
    key.extend_from_slice(format!("{owner}/{plugin}").as_bytes());
    key
}

/// The version the host bumps when it changes what every instance of
/// `plugin` in `uai` may render (rights on its objects); read beside each
/// namespace's own.
pub fn rights_version_key(uai: &str, plugin: &str) -> Vec<u8> {
    version_key(&format!("{uai}!rights"), plugin)
}

/// The value of a counter the store keeps ([`super::Quota`]: usage, versions),
/// None when it is not one.
pub fn counter_value(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

/// The counter at `key` of `space`; 0 when absent.
pub fn read_counter(store: &dyn Store, space: Space, key: &[u8]) -> Result<u64> {
    Ok(store
        .get(space, key)?
        .and_then(|v| counter_value(&v))
        .unwrap_or(0))
}

/// How many writes `owner`'s namespace of `plugin` has had (see [`version_key`]).
pub fn version(store: &dyn Store, owner: &str, plugin: &str) -> Result<u64> {
    read_counter(store, Space::PluginData, &version_key(owner, plugin))
}

/// How many times the host changed the rights `plugin`'s renderings in `uai`
/// depend on (see [`rights_version_key`]).
pub fn rights_version(store: &dyn Store, uai: &str, plugin: &str) -> Result<u64> {
    read_counter(store, Space::PluginData, &rights_version_key(uai, plugin))
}

/// Bumps the rights version of (establishment, plugin) without a plugin
/// write: the host changed something every instance's renderings depend on
/// (rights on its objects).
pub fn bump_rights_version(store: &dyn Store, uai: &str, plugin: &str) -> Result<()> {
    let quota = super::Quota {
        counter: counter_key(uai, plugin),
        limit: u64::MAX,
        version: Some(rights_version_key(uai, plugin)),
    };
    store.batch_within(Space::PluginData, &[], Vec::new(), &quota)?;
    Ok(())
}

/// The (establishment or `@region`, plugin) a plugin key belongs to. The
/// host's own entries (counters, versions) start with a NUL byte, which no
/// plugin key can.
pub fn owner_of(key: &[u8]) -> Option<(String, String)> {
    if key.starts_with(b"\x00") {
        return None;
    }
    let text = String::from_utf8_lossy(key);
    let mut parts = text.splitn(3, '/');
    let (owner, plugin, _) = (parts.next()?, parts.next()?, parts.next()?);
    let establishment = owner.split('#').next().unwrap_or(owner);
    Some((establishment.to_string(), plugin.to_string()))
}

/// The bytes each (owner, plugin) uses, read from the entries themselves.
pub fn recount(store: &dyn Store) -> Result<BTreeMap<(String, String), u64>> {
    let mut used = BTreeMap::new();
    for (key, value) in store.scan(Space::PluginData, b"", None, usize::MAX, false)? {
        if let Some(owner) = owner_of(&key) {
            *used.entry(owner).or_insert(0) += (key.len() + value.len()) as u64;
        }
    }
    Ok(used)
}

/// What the counters say, per (owner, plugin).
pub fn counted(store: &dyn Store) -> Result<BTreeMap<(String, String), u64>> {
    let mut used = BTreeMap::new();
    for (key, value) in store.scan(Space::PluginData, COUNTER_PREFIX, None, usize::MAX, false)? {
        let name = String::from_utf8_lossy(&key[COUNTER_PREFIX.len()..]).into_owned();
        if let (Some((owner, plugin)), Some(bytes)) = (name.split_once('/'), counter_value(&value))
        {
            used.insert((owner.to_string(), plugin.to_string()), bytes);
        }
    }
    Ok(used)
}

/// Counters that disagree with the entries: (owner, plugin, counted, actual).
pub fn mismatches(store: &dyn Store) -> Result<Vec<(String, String, u64, u64)>> {
    let actual = recount(store)?;
    let counted = counted(store)?;
    let mut wrong = Vec::new();
    for key in actual.keys().chain(counted.keys()) {
        let (a, c) = (
            actual.get(key).copied().unwrap_or(0),
            counted.get(key).copied().unwrap_or(0),
        );
        if a != c && !wrong.iter().any(|(o, p, _, _)| (o, p) == (&key.0, &key.1)) {
            wrong.push((key.0.clone(), key.1.clone(), c, a));
        }
    }
    Ok(wrong)
}

/// Counts what a store from before quotas holds (once; every write keeps the
/// counters right afterwards).
pub fn ensure_counted(store: &dyn Store) -> Result<()> {
    if store
        .get(Space::Settings, COUNTED_FLAG.as_bytes())?
        .is_some()
    {
        return Ok(());
    }
    let ops = recount(store)?
        .into_iter()
        .map(|((owner, plugin), bytes)| {
            super::Op::Put(counter_key(&owner, &plugin), bytes.to_be_bytes().to_vec())
        })
        .collect::<Vec<_>>();
    for chunk in ops.chunks(1000) {
        store.batch(Space::PluginData, chunk.to_vec())?;
    }
    store.put(Space::Settings, COUNTED_FLAG.as_bytes(), b"1")
}
