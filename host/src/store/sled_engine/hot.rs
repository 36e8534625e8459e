//! Hot keys kept in memory. Every page reads the establishment, its settings
//! (portal, plugin settings, access windows, services), the plugins' grants
//! and the namespaces' version counters, and they change rarely: read from
//! sled once, then from here until a write to the same key.
//!
//! A write of a hot key forgets it before sled sees the write and again
//! before it is acknowledged, and nothing is kept while a write is in flight
//! or when one began since the reader went to sled (a generation counts
//! them): what is kept was read between writes, so reads through the cache
//! are as linearizable as sled's own.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::RwLock;

use crate::store::usage::VERSION_PREFIX;
use crate::store::{Decoded, Op, Space};

/// The most bytes (keys and values) kept; past it, everything is dropped.
const BUDGET_BYTES: usize = 32 << 20;

/// Whether `key` of `space` is kept in memory.
pub(super) fn is_hot(space: Space, key: &[u8]) -> bool {
    match space {
        Space::Establishments | Space::Settings | Space::Grants => true,
        // The plugin-data keys kept: the namespaces' version counters.
        Space::PluginData => key.starts_with(VERSION_PREFIX),
        _ => false,
    }
}

/// `key`, if it is kept in memory.
pub(super) fn hot_key(space: Space, key: &[u8]) -> Vec<Vec<u8>> {
    match is_hot(space, key) {
        true => vec![key.to_vec()],
        false => Vec::new(),
    }
}

/// The keys of `ops` that are kept in memory.
pub(super) fn hot_keys(space: Space, ops: &[Op]) -> Vec<Vec<u8>> {
    ops.iter()
        .map(|op| match op {
            Op::Put(key, _) | Op::Delete(key) => key,
        })
        .filter(|key| is_hot(space, key))
        .cloned()
        .collect()
}

#[derive(Default)]
struct Inner {
    /// Bumped when a write of a hot key begins and when it ends.
    generation: u64,
    /// The same, for writes of configuration (every hot key but the plugin
    /// namespaces' version counters).
    config_generation: u64,
    /// Writes of hot keys in flight.
    writing: usize,
    /// Per space (by tree index), the value of each key read.
    entries: HashMap<usize, HashMap<Vec<u8>, Kept>>,
    bytes: usize,
}

/// What is kept of a key: its bytes (None: absent) and what they were decoded into.
struct Kept {
    value: Option<Vec<u8>>,
    decoded: Vec<(TypeId, Decoded)>,
}

impl Kept {
    /// Bytes counted against the budget (a decoded value counts as its bytes again).
    fn size(&self, key: &[u8]) -> usize {
        let value = self.value.as_ref().map_or(0, Vec::len);
        key.len() + value * (1 + self.decoded.len())
    }
}

/// What [`HotKeys::get_decoded`] found.
pub(super) enum Found {
    /// The key is absent.
    Absent,
    /// Decoded into the type asked.
    Decoded(Decoded),
    /// Kept as bytes only, at this generation (see [`HotKeys::attach`]).
    Bytes(Vec<u8>, u64),
    /// Not kept.
    Unknown,
}

impl Inner {
    fn forget(&mut self, tree: usize, keys: &[Vec<u8>]) {
        self.generation += 1;
        if tree != Space::PluginData.index() {
            self.config_generation += 1;
        }
        let Some(entries) = self.entries.get_mut(&tree) else {
            return;
        };
        for key in keys {
            if let Some(kept) = entries.remove(key) {
                self.bytes -= kept.size(key);
            }
        }
    }
}

/// A write of hot keys in flight: they are forgotten again when it ends.
pub(super) struct Writing<'h> {
    hot: &'h HotKeys,
    tree: usize,
    keys: Vec<Vec<u8>>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut inner = self.hot.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.writing -= 1;
        inner.forget(self.tree, &self.keys);
    }
}

#[derive(Default)]
pub(super) struct HotKeys {
    inner: RwLock<Inner>,
}

impl HotKeys {
    /// The value kept for `key` (Some(None): known absent), if any.
    pub(super) fn get(&self, tree: usize, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner
            .entries
            .get(&tree)?
            .get(key)
            .map(|kept| kept.value.clone())
    }

    /// The value kept for `key` decoded as `type_id`, or its bytes.
    pub(super) fn get_decoded(&self, tree: usize, key: &[u8], type_id: TypeId) -> Found {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let Some(kept) = inner.entries.get(&tree).and_then(|e| e.get(key)) else {
            return Found::Unknown;
        };
        let Some(bytes) = &kept.value else {
            return Found::Absent;
        };
        match kept.decoded.iter().find(|(t, _)| *t == type_id) {
            Some((_, decoded)) => Found::Decoded(decoded.clone()),
            None => Found::Bytes(bytes.clone(), inner.generation),
        }
    }

    /// Keeps `decoded` beside the bytes of `key` it was decoded from, unless a
    /// hot key was written since `generation`.
    pub(super) fn attach(
        &self,
        generation: u64,
        tree: usize,
        key: &[u8],
        decoded: (TypeId, Decoded),
    ) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation || inner.writing > 0 {
            return;
        }
        let Inner { entries, bytes, .. } = &mut *inner;
        if let Some(kept) = entries.get_mut(&tree).and_then(|e| e.get_mut(key)) {
            *bytes -= kept.size(key);
            kept.decoded.push(decoded);
            *bytes += kept.size(key);
        }
    }

    /// The generation to give [`HotKeys::fill`], taken before reading sled.
    pub(super) fn generation(&self) -> u64 {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .generation
    }

    /// A number that moves when a write of configuration (establishments,
    /// settings, grants) begins and when it ends.
    pub(super) fn config_generation(&self) -> u64 {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .config_generation
    }

    /// Keeps what sled answered (and what it was decoded into, if it was),
    /// unless a hot key was written since `generation`.
    pub(super) fn fill(
        &self,
        generation: u64,
        tree: usize,
        key: &[u8],
        value: Option<&[u8]>,
        decoded: Option<(TypeId, Decoded)>,
    ) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation || inner.writing > 0 {
            return;
        }
        let kept = Kept {
            value: value.map(<[u8]>::to_vec),
            decoded: decoded.into_iter().collect(),
        };
        let size = kept.size(key);
        if inner.bytes + size > BUDGET_BYTES {
            inner.entries.clear();
            inner.bytes = 0;
        }
        let Inner { entries, bytes, .. } = &mut *inner;
        if let Some(previous) = entries.entry(tree).or_default().insert(key.to_vec(), kept) {
            *bytes -= previous.size(key);
        }
        *bytes += size;
    }

    /// Marks a write of `keys` of `tree` in flight until the guard drops
    /// (none when no key is hot).
    pub(super) fn writing(&self, space: Space, keys: Vec<Vec<u8>>) -> Option<Writing<'_>> {
        if keys.is_empty() {
            return None;
        }
        let tree = space.index();
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.writing += 1;
        inner.forget(tree, &keys);
        Some(Writing {
            hot: self,
            tree,
            keys,
        })
    }

    /// Forgets everything (a reopened engine, a restored tree).
    pub(super) fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.generation += 1;
        inner.config_generation += 1;
        inner.entries.clear();
        inner.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Op, Quota, SledStore, Space, Store};

    /// Every acknowledged write is read back at once, by its writer and by a
    /// reader that keeps the key hot meanwhile, through every kind of write.
    #[test]
    fn an_acknowledged_write_is_never_followed_by_a_stale_read() {
        let store = std::sync::Arc::new(SledStore::temporary().unwrap());
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || {
                let mut last = 0u64;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    for key in [&b"portal/X"[..], b"\0version/X/p"] {
                        let space = if key[0] == 0 {
                            Space::PluginData
                        } else {
                            Space::Settings
                        };
                        if let Some(v) = store.get(space, key).unwrap() {
                            let n = u64::from_be_bytes(v.try_into().unwrap());
                            // Values only grow: the cache never goes back in time.
                            assert!(key[0] == 0 || n >= last, "{n} après {last}");
                            if key[0] != 0 {
                                last = n;
                            }
                        }
                    }
                }
            })
        };
        let value = |n: u64| n.to_be_bytes().to_vec();
        for n in 1..=300u64 {
            match n % 3 {
                0 => store.put(Space::Settings, b"portal/X", &value(n)).unwrap(),
                1 => store
                    .batch(
                        Space::Settings,
                        vec![Op::Put(b"portal/X".to_vec(), value(n))],
                    )
                    .unwrap(),
                _ => {
                    let old = store.get(Space::Settings, b"portal/X").unwrap();
                    assert!(
                        store
                            .compare_and_swap(
                                Space::Settings,
                                b"portal/X",
                                old.as_deref(),
                                Some(&value(n))
                            )
                            .unwrap()
                    );
                }
            }
            assert_eq!(
                store.get(Space::Settings, b"portal/X").unwrap(),
                Some(value(n))
            );
            let quota = Quota {
                counter: b"\0usage/X/p".to_vec(),
                limit: u64::MAX,
                version: Some(b"\0version/X/p".to_vec()),
            };
            store
                .batch_within(
                    Space::PluginData,
                    &[],
                    vec![Op::Put(b"X/p/k".to_vec(), value(n))],
                    &quota,
                )
                .unwrap();
            assert_eq!(
                store.get(Space::PluginData, b"\0version/X/p").unwrap(),
                Some(value(n)),
                "le compteur de version suit chaque écriture"
            );
        }
        store.delete(Space::Settings, b"portal/X").unwrap();
        assert_eq!(store.get(Space::Settings, b"portal/X").unwrap(), None);
        // Decoded values follow the writes too (kept decoded once read).
        use crate::store::StoreExt;
        for n in 0..50u64 {
            store
                .put_json(Space::Settings, "windows/X", &vec![n, n + 1])
                .unwrap();
            for _ in 0..2 {
                let read: Option<Vec<u64>> = store.get_json(Space::Settings, "windows/X").unwrap();
                assert_eq!(read, Some(vec![n, n + 1]));
                // Another type decoded from the same bytes is its own value.
                let raw: Option<serde_json::Value> =
                    store.get_json(Space::Settings, "windows/X").unwrap();
                assert_eq!(raw, Some(serde_json::json!([n, n + 1])));
            }
        }
        store.delete(Space::Settings, b"windows/X").unwrap();
        let gone: Option<Vec<u64>> = store.get_json(Space::Settings, "windows/X").unwrap();
        assert_eq!(gone, None);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        reader.join().unwrap();
    }
}
