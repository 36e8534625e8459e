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

use std::collections::HashMap;
use std::sync::RwLock;

use crate::store::{Op, Space};

/// The most bytes (keys and values) kept; past it, everything is dropped.
const BUDGET_BYTES: usize = 32 << 20;
/// The plugin-data keys kept: the namespaces' version counters.
const VERSION_PREFIX: &[u8] = b"\0version/";

/// Whether `key` of `space` is kept in memory.
pub(super) fn is_hot(space: Space, key: &[u8]) -> bool {
    match space {
        Space::Establishments | Space::Settings | Space::Grants => true,
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
    /// Writes of hot keys in flight.
    writing: usize,
    /// Per space (by tree index), the value of each key read (None: absent).
    entries: HashMap<usize, HashMap<Vec<u8>, Option<Vec<u8>>>>,
    bytes: usize,
}

impl Inner {
    fn forget(&mut self, tree: usize, keys: &[Vec<u8>]) {
        self.generation += 1;
        let Some(entries) = self.entries.get_mut(&tree) else {
            return;
        };
        for key in keys {
            if let Some(value) = entries.remove(key) {
                self.bytes -= key.len() + value.map_or(0, |v| v.len());
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
        inner.entries.get(&tree)?.get(key).cloned()
    }

    /// The generation to give [`HotKeys::fill`], taken before reading sled.
    pub(super) fn generation(&self) -> u64 {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .generation
    }

    /// Keeps what sled answered, unless a hot key was written since `generation`.
    pub(super) fn fill(&self, generation: u64, tree: usize, key: &[u8], value: Option<&[u8]>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation || inner.writing > 0 {
            return;
        }
        let size = key.len() + value.map_or(0, <[u8]>::len);
        if inner.bytes + size > BUDGET_BYTES {
            inner.entries.clear();
            inner.bytes = 0;
        }
        let previous = inner
            .entries
            .entry(tree)
            .or_default()
            .insert(key.to_vec(), value.map(<[u8]>::to_vec));
        if previous.is_none() {
            inner.bytes += size;
        }
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
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        reader.join().unwrap();
    }
}
