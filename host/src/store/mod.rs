//! Storage behind a narrow trait, with sled as the embedded engine.
//!
//! Invariants:
//! - every write is durable when the method returns (sled's own background
//!   flush is not immediate, so each write flushes before answering);
//! - a data folder is never mistaken for a new one: [`identity`] checks, at
//!   every start, that the store is the one this folder held (same region,
//!   known format, no acknowledged write missing) and refuses otherwise;
//! - a write that fails for lack of space fails alone: reads go on, and writes
//!   work again once space is back, without a restart ([`SledStore`] reopens
//!   the engine);
//! - a snapshot ([`snapshot`]) is consistent: writes wait while it is read.
//!
//! A second engine (PostgreSQL-compatible) can implement [`Store`] later.

use anyhow::{Context, Result};
use serde::{Serialize, de::DeserializeOwned};

pub mod bulk_load;
pub mod check;
pub mod identity;
mod sled_engine;
pub mod snapshot;
pub mod usage;

pub use identity::{Identity, OpenOptions, Opening, Refusal, open_data_dir};
pub use sled_engine::{
    BULK_LOAD_CACHE_CAPACITY as SLED_BULK_LOAD_CACHE_CAPACITY,
    CACHE_CAPACITY as SLED_CACHE_CAPACITY, SledStore,
};

/// A value decoded from the store, shared by the readers that decode the same
/// key into the same type ([`Store::get_decoded`]).
pub type Decoded = std::sync::Arc<dyn std::any::Any + Send + Sync>;
pub use bulk_load::BulkLoad;
pub use sled_engine::compaction::Compaction;
pub use snapshot::Summary as SnapshotSummary;

/// A write refused because the disk holding the data folder is (nearly) full.
/// Handlers turn it into « 507 espace de stockage plein »; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageFull;

impl std::fmt::Display for StorageFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("l'espace de stockage du serveur est plein : écriture refusée")
    }
}

impl std::error::Error for StorageFull {}

/// A byte budget: `counter` (a key of the same space) holds the bytes used
/// (keys and values) by the entries it counts.
#[derive(Clone, Debug)]
pub struct Quota {
    pub counter: Vec<u8>,
    pub limit: u64,
    /// A counter of the same space bumped by one in the same transaction as
    /// every batch applied within this quota: the namespace's version, which
    /// caches of what was rendered from it compare (never stale after an
    /// acknowledged write).
    pub version: Option<Vec<u8>>,
}

/// A write refused because it would take a namespace past its quota; nothing
/// of it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// Bytes used before the write.
    pub used: u64,
    pub limit: u64,
    /// Bytes the write would have added.
    pub adding: u64,
}

impl std::fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "quota dépassé : {} utilisés sur {}, l'écriture en ajoutait {}",
            preau_text::bytes_fr(self.used),
            preau_text::bytes_fr(self.limit),
            preau_text::bytes_fr(self.adding)
        )
    }
}

impl std::error::Error for QuotaExceeded {}

/// The [`QuotaExceeded`] of an error chain, if any.
pub fn quota_exceeded(error: &anyhow::Error) -> Option<QuotaExceeded> {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<QuotaExceeded>())
        .copied()
}

/// Whether an error chain holds a [`StorageFull`].
pub fn is_storage_full(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|e| e.downcast_ref::<StorageFull>().is_some())
}

/// Can the store take writes right now?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Reads and writes work.
    Healthy,
    /// Writes are refused for lack of space; reads work.
    Full,
    /// The engine failed (an I/O error other than a full disk); reads may work.
    Failed(String),
}

/// Named key spaces. Host data and plugin data never share a space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// Establishments by UAI.
    Establishments,
    /// Users by id.
    Users,
    /// Login → user id.
    Logins,
    /// Session token hash → session.
    Sessions,
    /// Region-wide and establishment settings, plugin enablement and configuration.
    Settings,
    /// Role grants per (establishment, plugin).
    Grants,
    /// Plugin data, keys prefixed by the host with the (establishment, plugin) namespace.
    PluginData,
    /// Audit log of administrative actions.
    Audit,
    /// The directory's search index and group-member entries. It shares the
    /// users' tree, so that a user and its index entries change in one atomic
    /// batch; its keys never start with `u`, users' keys always do.
    DirectoryIndex,
    /// Groups (classes, teaching groups, free groups) by `<uai>/<id>`.
    Groups,
    /// Generated files (identifiers files) by `<uai>/<name>`.
    Files,
    /// Notifications per user (`n/<user>/<id>`) and unread counters (`c/<user>`).
    Notifications,
    /// Files people uploaded: metas, chunks and per-person usage (see the `uploads` module).
    Uploads,
    /// The school structure of each establishment (`<uai>/…`: school year,
    /// periods, closures, time grid, subjects, rooms; see the `structure` module).
    Structure,
}

/// One write of an atomic batch.
#[derive(Clone, Debug)]
pub enum Op {
    /// Insert or replace.
    Put(Vec<u8>, Vec<u8>),
    /// Remove.
    Delete(Vec<u8>),
}

/// A key-value pair returned by a scan.
pub type Entry = (Vec<u8>, Vec<u8>);

/// The narrow storage interface of the host.
pub trait Store: Send + Sync + 'static {
    /// The value of `key`.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Writes `key`; durable on return.
    fn put(&self, space: Space, key: &[u8], value: &[u8]) -> Result<()>;
    /// Removes `key`; durable on return.
    fn delete(&self, space: Space, key: &[u8]) -> Result<()>;
    /// Entries whose key starts with `prefix`, after `after` (exclusive; before it if
    /// `reverse`), in key order or reverse, at most `limit`.
    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Entry>>;
    /// Applies every op or none; durable on return.
    fn batch(&self, space: Space, ops: Vec<Op>) -> Result<()>;
    /// Sets `key` to `new` only if it currently holds `expected` (None = absent); durable on return.
    /// Returns false when the current value differed.
    fn compare_and_swap(
        &self,
        space: Space,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool>;
    /// Applies `ops` only if every `expected` key holds exactly that value (None =
    /// absent), all in one transaction; durable on return. False when a check failed
    /// (nothing written).
    fn batch_if(
        &self,
        space: Space,
        expected: &[(Vec<u8>, Option<Vec<u8>>)],
        ops: Vec<Op>,
    ) -> Result<bool>;
    /// [`Store::batch_if`] within a byte budget: the bytes the ops add or free
    /// (keys and values) are added to `quota.counter` in the same transaction;
    /// a batch that would take it past `quota.limit` fails with
    /// [`QuotaExceeded`] and writes nothing (a batch that frees space always
    /// passes).
    fn batch_within(
        &self,
        space: Space,
        expected: &[(Vec<u8>, Option<Vec<u8>>)],
        ops: Vec<Op>,
        quota: &Quota,
    ) -> Result<bool>;
    /// A new id, greater than any returned before, also across restarts.
    fn next_id(&self) -> Result<u64>;
    /// Bytes the store takes on disk, when the engine can tell (for `/metrics`).
    fn size_on_disk(&self) -> Result<Option<u64>> {
        Ok(None)
    }
    /// How many writes the store has applied (every put, delete and applied
    /// batch counts), when the engine counts them: tests read it around a GET
    /// to prove it changed nothing.
    fn write_count(&self) -> Option<u64> {
        None
    }
    /// How many reads (gets and scans) the store has served, when the engine
    /// counts them: tests and benchmarks count a page's reads.
    fn read_count(&self) -> Option<u64> {
        None
    }
    /// A number that changes whenever an establishment, a setting, a grant or
    /// a plugin namespace's version is written (None: the engine does not
    /// track it). What is rendered only from those (an anonymous home page)
    /// can be kept while it stays the same.
    fn change_generation(&self) -> Option<u64> {
        None
    }
    /// The same for establishments, settings and grants only: what is
    /// computed from configuration alone (a person's navigation) is kept
    /// while it stays the same, whatever plugins write.
    fn config_generation(&self) -> Option<u64> {
        None
    }
    /// The value of `key` decoded by `decode` into the type `type_id` names;
    /// an engine that keeps hot keys in memory keeps it decoded, shared by
    /// every reader, until the key is written ([`StoreExt::get_json`]).
    fn get_decoded(
        &self,
        space: Space,
        key: &[u8],
        type_id: std::any::TypeId,
        decode: &dyn Fn(&[u8]) -> Result<Decoded>,
    ) -> Result<Option<Decoded>> {
        let _ = type_id;
        self.get(space, key)?
            .map(|bytes| decode(&bytes))
            .transpose()
    }
    /// Whether [`Store::health`] may have to bring the store back (and then
    /// block: reopen an engine); a healthy store answers at once.
    fn degraded(&self) -> bool {
        false
    }
    /// Whether writes work now. A degraded store tries to recover here too
    /// (at most once a second), so that `/healthz` comes back by itself.
    fn health(&self) -> Health {
        Health::Healthy
    }
    /// Makes everything written durable and records a clean stop; called once
    /// at shutdown.
    fn close(&self) -> Result<()> {
        Ok(())
    }
    /// Writes a consistent snapshot of the whole store to `to` ([`snapshot`]).
    fn backup(&self, _to: &std::path::Path) -> Result<snapshot::Summary> {
        anyhow::bail!("ce moteur de stockage ne sait pas faire de sauvegarde")
    }
}

/// Typed helpers over any [`Store`]: JSON values.
pub trait StoreExt: Store {
    /// Reads and decodes a JSON value (settings, grants, establishments are
    /// decoded once and kept until written: see [`Store::get_decoded`]).
    fn get_json<T>(&self, space: Space, key: &str) -> Result<Option<T>>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let decode = |bytes: &[u8]| -> Result<Decoded> {
            let value: T =
                serde_json::from_slice(bytes).with_context(|| format!("décodage de {key}"))?;
            Ok(std::sync::Arc::new(value))
        };
        let decoded =
            self.get_decoded(space, key.as_bytes(), std::any::TypeId::of::<T>(), &decode)?;
        Ok(decoded.map(|shared| {
            shared
                .downcast_ref::<T>()
                .expect("décodé dans le type demandé")
                .clone()
        }))
    }

    /// Encodes and writes a JSON value.
    fn put_json<T: Serialize>(&self, space: Space, key: &str, value: &T) -> Result<()> {
        self.put(space, key.as_bytes(), &serde_json::to_vec(value)?)
    }

    /// Every JSON value whose key starts with `prefix`, in key order.
    fn scan_json<T: DeserializeOwned>(
        &self,
        space: Space,
        prefix: &str,
    ) -> Result<Vec<(String, T)>> {
        self.scan(space, prefix.as_bytes(), None, usize::MAX, false)?
            .into_iter()
            .map(|(k, v)| {
                let key = String::from_utf8_lossy(&k).into_owned();
                let value =
                    serde_json::from_slice(&v).with_context(|| format!("décodage de {key}"))?;
                Ok((key, value))
            })
            .collect()
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

/// The smallest key greater than every key starting with `prefix` (None: no bound).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_if_writes_only_when_every_expectation_holds() {
        let dir = std::env::temp_dir().join(format!("preau-store-if-{}", std::process::id()));
        let store = SledStore::open(&dir).unwrap();
        let put = |k: &str, v: &str| Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec());
        let version = |v: Option<&str>| vec![(b"v".to_vec(), v.map(|v| v.as_bytes().to_vec()))];
        assert!(
            store
                .batch_if(
                    Space::PluginData,
                    &version(None),
                    vec![put("v", "1"), put("r/1", "a")]
                )
                .unwrap()
        );
        // A writer that read no version (absent) lost: nothing of its batch lands.
        assert!(
            !store
                .batch_if(
                    Space::PluginData,
                    &version(None),
                    vec![put("v", "1"), put("r/2", "b")]
                )
                .unwrap()
        );
        assert_eq!(store.get(Space::PluginData, b"r/2").unwrap(), None);
        assert!(
            store
                .batch_if(
                    Space::PluginData,
                    &version(Some("1")),
                    vec![put("v", "2"), Op::Delete(b"r/1".to_vec())]
                )
                .unwrap()
        );
        assert_eq!(store.get(Space::PluginData, b"r/1").unwrap(), None);
        assert_eq!(
            store.get(Space::PluginData, b"v").unwrap().as_deref(),
            Some(&b"2"[..])
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn scan_respects_prefix_cursor_and_order() {
        let dir = std::env::temp_dir().join(format!("preau-store-{}", std::process::id()));
        let store = SledStore::open(&dir).unwrap();
        for key in ["a/1", "a/2", "a/3", "b/1"] {
            store.put(Space::PluginData, key.as_bytes(), b"x").unwrap();
        }
        let keys = |v: Vec<Entry>| {
            v.into_iter()
                .map(|(k, _)| String::from_utf8(k).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(
                store
                    .scan(Space::PluginData, b"a/", None, 10, false)
                    .unwrap()
            ),
            ["a/1", "a/2", "a/3"]
        );
        assert_eq!(
            keys(store.scan(Space::PluginData, b"a/", None, 2, true).unwrap()),
            ["a/3", "a/2"]
        );
        assert_eq!(
            keys(
                store
                    .scan(Space::PluginData, b"a/", Some(b"a/1"), 10, false)
                    .unwrap()
            ),
            ["a/2", "a/3"]
        );
        assert_eq!(
            keys(
                store
                    .scan(Space::PluginData, b"a/", Some(b"a/3"), 10, true)
                    .unwrap()
            ),
            ["a/2", "a/1"]
        );
        assert_eq!(
            keys(
                store
                    .scan(Space::PluginData, b"b/", Some(b"a/3"), 10, true)
                    .unwrap()
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            keys(
                store
                    .scan(Space::PluginData, b"a/", Some(b"z"), 10, true)
                    .unwrap()
            ),
            ["a/3", "a/2", "a/1"]
        );
        assert_eq!(
            keys(
                store
                    .scan(Space::PluginData, b"a/", Some(b"0"), 1, false)
                    .unwrap()
            ),
            ["a/1"]
        );
        assert!(
            store
                .compare_and_swap(Space::Logins, b"x", None, Some(b"1"))
                .unwrap()
        );
        assert!(
            !store
                .compare_and_swap(Space::Logins, b"x", None, Some(b"2"))
                .unwrap()
        );
        let a = store.next_id().unwrap();
        assert!(store.next_id().unwrap() > a);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
