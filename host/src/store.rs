//! Storage behind a narrow trait, with sled as the embedded engine.
//!
//! Invariant: every write is durable when the method returns (sled's own
//! background flush is not immediate, so each write flushes before answering).
//! A second engine (PostgreSQL-compatible) can implement [`Store`] later.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Serialize, de::DeserializeOwned};

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
}

impl Space {
    fn tree_name(self) -> &'static str {
        match self {
            Space::Establishments => "establishments",
            Space::Users => "users",
            Space::Logins => "logins",
            Space::Sessions => "sessions",
            Space::Settings => "settings",
            Space::Grants => "grants",
            Space::PluginData => "plugin-data",
            Space::Audit => "audit",
            Space::DirectoryIndex => "users",
            Space::Groups => "groups",
            Space::Files => "files",
            Space::Notifications => "notifications",
        }
    }
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
    /// A new id, greater than any returned before, also across restarts.
    fn next_id(&self) -> Result<u64>;
    /// Bytes the store takes on disk, when the engine can tell (for `/metrics`).
    fn size_on_disk(&self) -> Result<Option<u64>> {
        Ok(None)
    }
    /// Writes to disk whatever the engine still holds in memory (at shutdown).
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// Typed helpers over any [`Store`]: JSON values.
pub trait StoreExt: Store {
    /// Reads and decodes a JSON value.
    fn get_json<T: DeserializeOwned>(&self, space: Space, key: &str) -> Result<Option<T>> {
        match self.get(space, key.as_bytes())? {
            Some(bytes) => Ok(Some(
                serde_json::from_slice(&bytes).with_context(|| format!("décodage de {key}"))?,
            )),
            None => Ok(None),
        }
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

/// The embedded sled engine.
pub struct SledStore {
    db: sled::Db,
}

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let db = sled::Config::new()
            .path(dir)
            .open()
            .with_context(|| format!("ouverture de la base {}", dir.display()))?;
        Ok(SledStore { db })
    }

    /// A database that lives only as long as the value (checks, tools).
    pub fn temporary() -> Result<Self> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .context("ouverture d'une base temporaire")?;
        Ok(SledStore { db })
    }

    fn tree(&self, space: Space) -> Result<sled::Tree> {
        Ok(self.db.open_tree(space.tree_name())?)
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().context("écriture sur disque")?;
        Ok(())
    }
}

impl Store for SledStore {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree(space)?.get(key)?.map(|v| v.to_vec()))
    }

    fn put(&self, space: Space, key: &[u8], value: &[u8]) -> Result<()> {
        self.tree(space)?.insert(key, value)?;
        self.flush()
    }

    fn delete(&self, space: Space, key: &[u8]) -> Result<()> {
        self.tree(space)?.remove(key)?;
        self.flush()
    }

    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Entry>> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let tree = self.tree(space)?;
        // The range is the prefix's range, narrowed by the cursor when it lies inside it.
        let mut lower: Vec<u8> = prefix.to_vec();
        let mut lower_excluded = false;
        let mut upper = prefix_end(prefix);
        match (after, reverse) {
            (Some(after), false) if after >= prefix => {
                lower = after.to_vec();
                lower_excluded = true;
            }
            (Some(before), true) if upper.as_deref().is_none_or(|u| before < u) => {
                upper = Some(before.to_vec());
            }
            _ => {}
        }
        if let Some(u) = &upper
            && lower.as_slice() >= u.as_slice()
        {
            return Ok(Vec::new());
        }
        let lower = if lower_excluded {
            Excluded(lower)
        } else {
            Included(lower)
        };
        let upper = upper.map_or(Unbounded, Excluded);
        let range = tree.range::<Vec<u8>, _>((lower, upper));
        let pairs = |item: sled::Result<(sled::IVec, sled::IVec)>| {
            item.map(|(k, v)| (k.to_vec(), v.to_vec()))
        };
        let entries: sled::Result<Vec<Entry>> = if reverse {
            range.rev().take(limit).map(pairs).collect()
        } else {
            range.take(limit).map(pairs).collect()
        };
        Ok(entries?)
    }

    fn batch(&self, space: Space, ops: Vec<Op>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        self.tree(space)?.apply_batch(batch)?;
        self.flush()
    }

    fn compare_and_swap(
        &self,
        space: Space,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        let swapped = self
            .tree(space)?
            .compare_and_swap(key, expected, new)?
            .is_ok();
        if swapped {
            self.flush()?;
        }
        Ok(swapped)
    }

    fn batch_if(
        &self,
        space: Space,
        expected: &[(Vec<u8>, Option<Vec<u8>>)],
        ops: Vec<Op>,
    ) -> Result<bool> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        let tree = self.tree(space)?;
        // sled retries the closure on conflict with a concurrent transaction, so two
        // writers of the same expected key serialise: one sees the other's value.
        let applied = tree.transaction(|tx| {
            for (key, value) in expected {
                if tx.get(key)?.as_deref() != value.as_deref() {
                    return Ok(false);
                }
            }
            for op in &ops {
                match op {
                    Op::Put(k, v) => {
                        tx.insert(k.as_slice(), v.as_slice())?;
                    }
                    Op::Delete(k) => {
                        tx.remove(k.as_slice())?;
                    }
                }
            }
            Ok::<_, ConflictableTransactionError<()>>(true)
        });
        let applied = match applied {
            Ok(applied) => applied,
            Err(TransactionError::Abort(())) => false,
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        };
        if applied {
            self.flush()?;
        }
        Ok(applied)
    }

    fn next_id(&self) -> Result<u64> {
        // sled persists a reserved range ahead of the ids it hands out, so ids
        // stay monotonic across crashes; +1 keeps 0 unused.
        Ok(self.db.generate_id()? + 1)
    }

    fn size_on_disk(&self) -> Result<Option<u64>> {
        Ok(Some(self.db.size_on_disk()?))
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().context("écriture sur disque")?;
        Ok(())
    }
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
