//! The embedded sled engine behind [`Store`].
//!
//! sled marks itself failed after any I/O error (a full disk included) and then
//! refuses every write until the process restarts. So this wrapper:
//! - refuses a write before sled sees it when the free space of the data
//!   folder's disk is below the reserve (sled never fails then);
//! - when sled failed anyway, reopens the folder, using an emergency room kept
//!   on disk for it, so that reads go on ([`recovery`]);
//! - counts writes (`seq` in the meta tree), so that [`super::identity`] can
//!   tell a store that lost acknowledged writes;
//! - holds a write gate, so that a snapshot sees one consistent state.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use anyhow::{Context, Result, anyhow};

pub(super) mod compaction;
mod hot;
mod recovery;
mod trees;

use trees::TREES;

use recovery::State;

use super::{Entry, Health, Op, Quota, QuotaExceeded, Space, Store, prefix_end};

/// The host's own tree: identity record, write counter, id floor.
const META_TREE: &str = "preau-meta";
const META_IDENTITY: &[u8] = b"identity";
const META_SEQ: &[u8] = b"seq";
/// Added to sled's id generator: a restored store goes on above the ids of the
/// store it was taken from.
const META_ID_FLOOR: &[u8] = b"id-floor";

/// sled's page cache while serving: its default, 1 GiB (queries after a
/// restart read the index's hot pages from it).
pub const CACHE_CAPACITY: u64 = 1 << 30;

/// sled's page cache while a whole store is written at once ([`SledStore::open_for_bulk_load`]):
/// a bulk load reads no page twice, and its peak resident memory follows the
/// cache about one for one (1 000 000 people in the directory bench: 1.9 GB
/// with 1 GiB, 1.5 GB with 384 MiB, 1.2 GB with 256 MiB, in the same time).
pub const BULK_LOAD_CACHE_CAPACITY: u64 = 256 << 20;

/// The engine's settings for a folder, the same at every opening of a store
/// (a reopen after a failure included): only the page cache's size differs
/// between serving and a bulk load.
fn config(cache_capacity: u64) -> sled::Config {
    sled::Config::new().cache_capacity(cache_capacity)
}

/// Frees what sled replaced while applying a batch of `ops` writes. sled
/// applies a batch under one epoch guard, so every node it copies on write is
/// only deferred; crossbeam frees at most 8 bags of 64 deferred items per
/// collection, and a thread collects once per 128 pins: a bulk load of large
/// batches left gigabytes of garbage behind (BENCHMARKS.md, directory). Each
/// flush of a fresh guard (`sled::pin`: public, undocumented, sled is pinned at
/// 0.34.7) advances the epoch if it can and frees 8 more bags.
pub(super) fn collect_garbage(ops: usize) {
    for _ in 0..ops / 16 + 4 {
        sled::pin().flush();
    }
}

/// The names of every tree (the spaces' and the meta tree).
fn tree_names() -> impl Iterator<Item = &'static str> {
    TREES.iter().copied().chain([META_TREE])
}

/// One consistent state of a store, read by [`SledStore::export`].
pub(super) struct Export {
    /// Per space tree, its entries in key order.
    pub trees: Vec<(String, Vec<Entry>)>,
    /// Writes counted when it was read.
    pub seq: u64,
    /// Above every id the state holds.
    pub id_floor: u64,
    /// The identity record (JSON), if any.
    pub identity: Option<Vec<u8>>,
}

/// Writes the identity file beside the store: (write count, clean stop).
pub type IdentityFileWriter = Box<dyn FnMut(u64, bool) -> Result<()> + Send>;

/// An open sled instance with its trees.
struct Opened {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    meta: sled::Tree,
}

impl Opened {
    fn open(config: sled::Config) -> Result<Opened> {
        // A damaged file can make sled panic instead of failing: catch it here
        // so that the operator gets a message, not a backtrace.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            move || -> sled::Result<Opened> {
                let db = config.open()?;
                let trees = TREES
                    .iter()
                    .map(|name| db.open_tree(name))
                    .collect::<sled::Result<Vec<_>>>()?;
                let meta = db.open_tree(META_TREE)?;
                Ok(Opened { db, trees, meta })
            },
        ));
        match opened {
            Ok(opened) => Ok(opened?),
            Err(panic) => Err(anyhow!(
                "le moteur de stockage a échoué en lisant la base ({})",
                panic_text(&panic)
            )),
        }
    }

    fn tree(&self, space: Space) -> &sled::Tree {
        &self.trees[space.index()]
    }

    /// Counts one more acknowledged write; the caller flushes.
    fn bump_seq(&self) -> sled::Result<u64> {
        let new = self.meta.update_and_fetch(META_SEQ, |old| {
            Some((decode_u64(old).unwrap_or(0) + 1).to_be_bytes().to_vec())
        })?;
        Ok(decode_u64(new.as_deref()).unwrap_or(0))
    }
}

fn decode_u64(bytes: Option<&[u8]>) -> Option<u64> {
    bytes
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
}

/// The text of a caught panic.
pub(super) fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    crate::background::panic_text(panic.as_ref())
        .unwrap_or_else(|| "erreur interne du moteur".into())
}

/// The embedded sled engine.
pub struct SledStore {
    /// None for a temporary store.
    dir: Option<PathBuf>,
    /// None only while a reopen failed; reads then answer an error.
    opened: RwLock<Option<Opened>>,
    /// Writes share it; a snapshot takes it alone.
    gate: RwLock<()>,
    state: Mutex<State>,
    /// Free bytes the disk must keep; writes are refused below.
    reserve: u64,
    /// sled's page cache, in bytes: the same at a reopen.
    cache_capacity: u64,
    /// The highest write count known to be on disk.
    durable_seq: AtomicU64,
    /// Reads served by sled (gets and scans), for tests and benchmarks of the hot paths.
    reads: AtomicU64,
    /// Settings, grants, establishments and version counters, once read.
    hot: hot::HotKeys,
    /// Writes the identity file kept beside the store (the write count, whether
    /// the stop is clean), and the count it last recorded.
    identity_file: Mutex<Option<(IdentityFileWriter, u64)>>,
}

impl SledStore {
    /// Opens (or creates) the database in `dir`, with no free-space reserve
    /// and none of the start checks of [`super::open_data_dir`] (tools, tests).
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with_reserve(dir, 0)
    }

    /// Opens (or creates) the database in `dir`; writes are refused while the
    /// disk has less than `reserve` bytes free.
    pub fn open_with_reserve(dir: &Path, reserve: u64) -> Result<Self> {
        Self::open_with(dir, reserve, CACHE_CAPACITY)
    }

    /// Opens (or creates) the database in `dir` to write a whole store at once
    /// (a restore, the directory bench): a smaller page cache
    /// ([`BULK_LOAD_CACHE_CAPACITY`]), no reserve.
    pub fn open_for_bulk_load(dir: &Path) -> Result<Self> {
        Self::open_with(dir, 0, BULK_LOAD_CACHE_CAPACITY)
    }

    fn open_with(dir: &Path, reserve: u64, cache_capacity: u64) -> Result<Self> {
        compaction::finish_interrupted(dir)?;
        let opened = Opened::open(config(cache_capacity).path(dir))
            .with_context(|| format!("ouverture de la base {}", dir.display()))?;
        Ok(Self::from_opened(
            Some(dir.to_path_buf()),
            opened,
            reserve,
            cache_capacity,
        ))
    }

    /// A database that lives only as long as the value (checks, tools).
    pub fn temporary() -> Result<Self> {
        let opened = Opened::open(config(CACHE_CAPACITY).temporary(true))
            .context("ouverture d'une base temporaire")?;
        Ok(Self::from_opened(None, opened, 0, CACHE_CAPACITY))
    }

    fn from_opened(
        dir: Option<PathBuf>,
        opened: Opened,
        reserve: u64,
        cache_capacity: u64,
    ) -> Self {
        let seq = decode_u64(opened.meta.get(META_SEQ).ok().flatten().as_deref()).unwrap_or(0);
        SledStore {
            dir,
            opened: RwLock::new(Some(opened)),
            gate: RwLock::new(()),
            state: Mutex::new(State::new()),
            reserve,
            cache_capacity,
            durable_seq: AtomicU64::new(seq),
            reads: AtomicU64::new(0),
            hot: hot::HotKeys::default(),
            identity_file: Mutex::new(None),
        }
    }

    /// The folder of the database (None: temporary).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Keeps `preau-identity.json` beside the store from now on, through `writer`.
    pub(super) fn attach_identity_file(&self, writer: IdentityFileWriter) {
        let seq = self.durable_seq();
        *self.identity_file.lock().unwrap_or_else(|e| e.into_inner()) = Some((writer, seq));
    }

    /// Rewrites the identity file when writes happened since (or to record a clean stop).
    pub(super) fn record_identity_file(&self, clean_shutdown: bool) -> Result<()> {
        let mut slot = self.identity_file.lock().unwrap_or_else(|e| e.into_inner());
        let Some((writer, written)) = slot.as_mut() else {
            return Ok(());
        };
        let seq = self.durable_seq();
        if seq != *written || clean_shutdown {
            writer(seq, clean_shutdown)?;
            *written = seq;
        }
        Ok(())
    }

    /// Whether `name` is the tree of a space (what a snapshot may carry).
    pub(super) fn is_space_tree(name: &str) -> bool {
        TREES.contains(&name)
    }

    /// The identity record (JSON), if any.
    pub(super) fn identity_record(&self) -> Result<Option<Vec<u8>>> {
        self.meta_get(META_IDENTITY)
    }

    /// Records the identity (JSON).
    pub(super) fn set_identity_record(&self, json: &[u8]) -> Result<()> {
        self.meta_put(META_IDENTITY, json)
    }

    /// Sets the floor of the ids (a restored store goes on above its backup's).
    pub(super) fn set_id_floor(&self, floor: u64) -> Result<()> {
        self.meta_put(META_ID_FLOOR, &floor.to_be_bytes())
    }

    /// The number of writes known to be on disk.
    pub fn durable_seq(&self) -> u64 {
        self.durable_seq.load(Ordering::SeqCst)
    }

    fn read_opened(&self) -> Result<RwLockReadGuard<'_, Option<Opened>>> {
        let guard = self.opened.read().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            return Err(anyhow!(
                "la base est momentanément indisponible (réouverture en cours)"
            ));
        }
        Ok(guard)
    }

    /// The value of `key` as sled has it (no hot keys).
    fn sled_get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.read(|o| Ok(o.tree(space).get(key)?.map(|v| v.to_vec())))
    }

    /// Runs a read on the open instance; once more on a reopened one when the
    /// engine failed under it (see [`recovery`]).
    fn read<T>(&self, f: impl Fn(&Opened) -> sled::Result<T>) -> Result<T> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let once = || -> Result<sled::Result<T>> {
            let guard = self.read_opened()?;
            Ok(f(guard.as_ref().expect("checked by read_opened")))
        };
        match once()? {
            Ok(value) => Ok(value),
            Err(error) => {
                let text = error.to_string();
                if self.reopen_after_failed_read(error) {
                    Ok(once()??)
                } else {
                    Err(anyhow!("lecture dans la base : {text}"))
                }
            }
        }
    }

    /// Runs a write: refused below the reserve, counted, flushed before it returns.
    /// `changed` says whether the write did change something (a failed
    /// compare-and-swap did not: no flush).
    fn write<T>(
        &self,
        f: impl FnOnce(&Opened) -> sled::Result<T>,
        changed: impl FnOnce(&T) -> bool,
    ) -> Result<T> {
        let _gate = self.gate.read().unwrap_or_else(|e| e.into_inner());
        self.ensure_writable()?;
        let result = {
            let guard = self.read_opened()?;
            let opened = guard.as_ref().expect("checked by read_opened");
            f(opened).and_then(|value| {
                if changed(&value) {
                    let seq = opened.bump_seq()?;
                    opened.db.flush()?;
                    self.durable_seq.fetch_max(seq, Ordering::SeqCst);
                }
                Ok(value)
            })
        };
        // The instance's guard is released first: `failed` takes the state lock,
        // which a recovery holds while it waits for that instance.
        result.map_err(|error| self.failed_write(error))
    }

    /// Reads every space's tree while writes wait: one consistent state.
    pub(super) fn export(&self) -> Result<Export> {
        let _gate = self.gate.write().unwrap_or_else(|e| e.into_inner());
        self.read(|opened| {
            let mut trees = Vec::new();
            for (name, tree) in TREES.iter().zip(&opened.trees) {
                let entries = tree
                    .iter()
                    .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
                    .collect::<sled::Result<Vec<_>>>()?;
                trees.push((name.to_string(), entries));
            }
            let floor = decode_u64(opened.meta.get(META_ID_FLOOR)?.as_deref()).unwrap_or(0);
            // Inside the gate: every id a write of this state used is below it.
            let id_floor = floor + opened.db.generate_id()? + 1;
            Ok(Export {
                trees,
                seq: decode_u64(opened.meta.get(META_SEQ)?.as_deref()).unwrap_or(0),
                id_floor,
                identity: opened.meta.get(META_IDENTITY)?.map(|v| v.to_vec()),
            })
        })
    }

    /// Writes `entries` into tree `name` (restore; the store is new and private).
    pub(super) fn load_tree(&self, name: &str, entries: &[Entry]) -> Result<()> {
        let written = self.write(
            |opened| {
                let tree = if name == META_TREE {
                    opened.meta.clone()
                } else {
                    opened.trees[TREES
                        .iter()
                        .position(|t| *t == name)
                        .expect("a space's tree")]
                    .clone()
                };
                for chunk in entries.chunks(1000) {
                    let mut batch = sled::Batch::default();
                    for (k, v) in chunk {
                        batch.insert(k.as_slice(), v.as_slice());
                    }
                    tree.apply_batch(batch)?;
                    collect_garbage(chunk.len());
                }
                Ok(())
            },
            |_| true,
        );
        self.hot.clear();
        written
    }

    /// Raises the write count to at least `seq` (a restored store goes on
    /// from its snapshot's count).
    pub(super) fn raise_seq(&self, seq: u64) -> Result<()> {
        self.write(
            |opened| {
                opened.meta.update_and_fetch(META_SEQ, |old| {
                    Some(decode_u64(old).unwrap_or(0).max(seq).to_be_bytes().to_vec())
                })?;
                Ok(())
            },
            |_| true,
        )
    }

    /// A value of the meta tree.
    fn meta_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.read(|opened| Ok(opened.meta.get(key)?.map(|v| v.to_vec())))
    }

    /// Writes a value of the meta tree (durable on return).
    fn meta_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(
            |opened| opened.meta.insert(key, value).map(|_| ()),
            |_| true,
        )
    }

    /// Reads every key and value of every tree (damage shows up as an error or
    /// a caught panic); returns, per tree, its entry count and bytes.
    pub(super) fn verify_readable(&self) -> Result<Vec<(String, u64, u64)>> {
        let guard = self.read_opened()?;
        let opened = guard.as_ref().expect("checked by read_opened");
        let counted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut counts = Vec::new();
            for (i, name) in tree_names().enumerate() {
                let tree = if i < TREES.len() {
                    &opened.trees[i]
                } else {
                    &opened.meta
                };
                let (mut n, mut bytes) = (0u64, 0u64);
                for item in tree.iter() {
                    let (k, v) = item?;
                    n += 1;
                    bytes += (k.len() + v.len()) as u64;
                }
                counts.push((name.to_string(), n, bytes));
            }
            Ok::<_, sled::Error>(counts)
        }));
        match counted {
            Ok(counts) => Ok(counts?),
            Err(panic) => Err(anyhow!(
                "le moteur de stockage a échoué en lisant la base ({})",
                panic_text(&panic)
            )),
        }
    }

    /// Whether any tree of the spaces holds an entry.
    pub(super) fn holds_data(&self) -> Result<bool> {
        self.read(|opened| {
            for tree in &opened.trees {
                if tree.first()?.is_some() {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }
}

impl Store for SledStore {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if !hot::is_hot(space, key) {
            return self.sled_get(space, key);
        }
        if let Some(value) = self.hot.get(space.index(), key) {
            return Ok(value);
        }
        let generation = self.hot.generation();
        let value = self.sled_get(space, key)?;
        self.hot
            .fill(generation, space.index(), key, value.as_deref(), None);
        Ok(value)
    }

    fn get_decoded(
        &self,
        space: Space,
        key: &[u8],
        type_id: std::any::TypeId,
        decode: &dyn Fn(&[u8]) -> Result<super::Decoded>,
    ) -> Result<Option<super::Decoded>> {
        if !hot::is_hot(space, key) {
            return self.get(space, key)?.map(|b| decode(&b)).transpose();
        }
        let tree = space.index();
        match self.hot.get_decoded(tree, key, type_id) {
            hot::Found::Absent => Ok(None),
            hot::Found::Decoded(decoded) => Ok(Some(decoded)),
            hot::Found::Bytes(bytes, generation) => {
                let decoded = decode(&bytes)?;
                self.hot
                    .attach(generation, tree, key, (type_id, decoded.clone()));
                Ok(Some(decoded))
            }
            hot::Found::Unknown => {
                let generation = self.hot.generation();
                let value = self.sled_get(space, key)?;
                let decoded = value.as_deref().map(decode).transpose()?;
                let kept = decoded.clone().map(|d| (type_id, d));
                self.hot.fill(generation, tree, key, value.as_deref(), kept);
                Ok(decoded)
            }
        }
    }

    fn put(&self, space: Space, key: &[u8], value: &[u8]) -> Result<()> {
        let _hot = self.hot.writing(space, hot::hot_key(space, key));
        self.write(|o| o.tree(space).insert(key, value).map(|_| ()), |_| true)
    }

    fn delete(&self, space: Space, key: &[u8]) -> Result<()> {
        let _hot = self.hot.writing(space, hot::hot_key(space, key));
        self.write(|o| o.tree(space).remove(key).map(|_| ()), |_| true)
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
        self.read(|o| {
            let range = o
                .tree(space)
                .range::<Vec<u8>, _>((lower.clone(), upper.clone()));
            let pairs = |item: sled::Result<(sled::IVec, sled::IVec)>| {
                item.map(|(k, v)| (k.to_vec(), v.to_vec()))
            };
            if reverse {
                range.rev().take(limit).map(pairs).collect()
            } else {
                range.take(limit).map(pairs).collect()
            }
        })
    }

    fn batch(&self, space: Space, ops: Vec<Op>) -> Result<()> {
        let _hot = self.hot.writing(space, hot::hot_keys(space, &ops));
        let count = ops.len();
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        let written = self.write(|o| o.tree(space).apply_batch(batch), |_| true);
        collect_garbage(count);
        written
    }

    fn compare_and_swap(
        &self,
        space: Space,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        let _hot = self.hot.writing(space, hot::hot_key(space, key));
        self.write(
            |o| Ok(o.tree(space).compare_and_swap(key, expected, new)?.is_ok()),
            |swapped| *swapped,
        )
    }

    fn batch_if(
        &self,
        space: Space,
        expected: &[(Vec<u8>, Option<Vec<u8>>)],
        ops: Vec<Op>,
    ) -> Result<bool> {
        // Without a quota, nothing can exceed it.
        self.conditional_batch(space, expected, ops, None)?
            .map_err(anyhow::Error::new)
    }

    fn batch_within(
        &self,
        space: Space,
        expected: &[(Vec<u8>, Option<Vec<u8>>)],
        ops: Vec<Op>,
        quota: &Quota,
    ) -> Result<bool> {
        self.conditional_batch(space, expected, ops, Some(quota))?
            .map_err(anyhow::Error::new)
    }

    fn next_id(&self) -> Result<u64> {
        // sled persists a reserved range ahead of the ids it hands out, so ids
        // stay monotonic across crashes; +1 keeps 0 unused. The floor carries
        // the ids of the store a restored one was taken from.
        self.write(
            |o| {
                let floor = decode_u64(o.meta.get(META_ID_FLOOR)?.as_deref()).unwrap_or(0);
                Ok(floor + o.db.generate_id()? + 1)
            },
            |_| false,
        )
    }

    fn size_on_disk(&self) -> Result<Option<u64>> {
        self.read(|o| o.db.size_on_disk().map(Some))
    }

    fn write_count(&self) -> Option<u64> {
        Some(self.durable_seq())
    }

    fn read_count(&self) -> Option<u64> {
        Some(self.reads.load(Ordering::Relaxed))
    }

    fn change_generation(&self) -> Option<u64> {
        Some(self.hot.generation())
    }

    fn config_generation(&self) -> Option<u64> {
        Some(self.hot.config_generation())
    }

    fn degraded(&self) -> bool {
        self.is_degraded()
    }

    fn health(&self) -> Health {
        self.current_health()
    }

    fn backup(&self, to: &Path) -> Result<super::SnapshotSummary> {
        // Defined with the snapshot format (`snapshot.rs`).
        self.write_snapshot(to)
    }

    fn close(&self) -> Result<()> {
        let _gate = self.gate.write().unwrap_or_else(|e| e.into_inner());
        self.read(|o| o.db.flush().map(|_| ()))?;
        self.record_identity_file(true)
    }
}

impl SledStore {
    /// The one transaction of [`Store::batch_if`] and [`Store::batch_within`]:
    /// `ops` only if every `expected` key holds exactly that value, and, with a
    /// `quota`, the bytes they add or free counted in `quota.counter` in the
    /// same transaction (past `quota.limit`: nothing written, `Err(QuotaExceeded)`).
    fn conditional_batch(
        &self,
        space: Space,
        expected: &[(Vec<u8>, Option<Vec<u8>>)],
        ops: Vec<Op>,
        quota: Option<&Quota>,
    ) -> Result<std::result::Result<bool, QuotaExceeded>> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        /// Why the transaction stopped without writing.
        enum Stop {
            Expectation,
            Quota(QuotaExceeded),
        }
        let mut hot_keys = hot::hot_keys(space, &ops);
        if let Some(version) = quota.and_then(|q| q.version.as_ref()) {
            hot_keys.extend(hot::hot_key(space, version));
        }
        let _hot = self.hot.writing(space, hot_keys);
        self.write(
            |o| {
                // sled retries the closure on conflict with a concurrent transaction, so two
                // writers of the same expected key serialise: one sees the other's value.
                let applied = o.tree(space).transaction(|tx| {
                    for (key, value) in expected {
                        if tx.get(key)?.as_deref() != value.as_deref() {
                            return Err(ConflictableTransactionError::Abort(Stop::Expectation));
                        }
                    }
                    // Reads see the transaction's own writes: a key written twice
                    // in one batch is counted once.
                    let mut delta: i64 = 0;
                    for op in &ops {
                        let (key, new) = match op {
                            Op::Put(k, v) => (k, Some(v)),
                            Op::Delete(k) => (k, None),
                        };
                        if quota.is_some() {
                            let old = tx.get(key.as_slice())?;
                            let size = |v: usize| (key.len() + v) as i64;
                            delta -= old.as_ref().map_or(0, |v| size(v.len()));
                            delta += new.map_or(0, |v| size(v.len()));
                        }
                        match new {
                            Some(v) => {
                                tx.insert(key.as_slice(), v.as_slice())?;
                            }
                            None => {
                                tx.remove(key.as_slice())?;
                            }
                        }
                    }
                    let Some(quota) = quota else {
                        return Ok(());
                    };
                    let used =
                        decode_u64(tx.get(quota.counter.as_slice())?.as_deref()).unwrap_or(0);
                    let after = (used as i64 + delta).max(0) as u64;
                    if delta > 0 && after > quota.limit {
                        return Err(ConflictableTransactionError::Abort(Stop::Quota(
                            QuotaExceeded {
                                used,
                                limit: quota.limit,
                                adding: delta as u64,
                            },
                        )));
                    }
                    if delta != 0 {
                        tx.insert(quota.counter.as_slice(), &after.to_be_bytes())?;
                    }
                    if let Some(version) = &quota.version {
                        let current =
                            decode_u64(tx.get(version.as_slice())?.as_deref()).unwrap_or(0);
                        tx.insert(version.as_slice(), &(current + 1).to_be_bytes())?;
                    }
                    Ok(())
                });
                match applied {
                    Ok(()) => Ok(Ok(true)),
                    Err(TransactionError::Abort(Stop::Expectation)) => Ok(Ok(false)),
                    Err(TransactionError::Abort(Stop::Quota(q))) => Ok(Err(q)),
                    Err(TransactionError::Storage(e)) => Err(e),
                }
            },
            |outcome| matches!(outcome, Ok(true)),
        )
    }
}
