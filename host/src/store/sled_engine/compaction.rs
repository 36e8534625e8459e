//! Rewriting a store in key order into a fresh folder, after a bulk load.
//!
//! sled 0.34 logs every insert as a fragment and cleans a log segment only once
//! half of it is dead, so a folder written in random key order holds several
//! times its live data. The same entries inserted in key order into a new
//! folder are written once per leaf: [`SledStore::compact`] copies every tree
//! that way, then swaps the folders.
//!
//! The swap never leaves a partial database where the store is expected. Next
//! to `<db>`:
//! 1. `<db>.compacting` is written, flushed and every file fsynced;
//! 2. it is renamed `<db>.compacted`: from now on it is complete;
//! 3. `<db>` is renamed `<db>.before-compaction`, `<db>.compacted` renamed `<db>`;
//! 4. `<db>.before-compaction` is removed.
//!
//! [`finish_interrupted`], at every opening, takes an interrupted compaction
//! to its end from whichever step it stopped at: a `<db>.compacting` is
//! incomplete and removed, a `<db>.compacted` is complete and swapped in, a
//! `<db>.before-compaction` beside a `<db>` is the old copy and removed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{
    BULK_LOAD_CACHE_CAPACITY, META_ID_FLOOR, META_TREE, Opened, SledStore, TREES, collect_garbage,
    config, decode_u64,
};

/// Entries per batch of the copy.
const COPY_BATCH: usize = 1000;

/// How long a lock held by a handle just dropped is waited for.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// The old folder's page cache: it is read once, in order.
const READ_CACHE_CAPACITY: u64 = 64 << 20;

/// What a compaction did.
#[derive(Clone, Debug)]
pub struct Compaction {
    /// Entries copied, every tree included.
    pub entries: u64,
    /// Bytes of the folder before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub elapsed: Duration,
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

fn writing(dir: &Path) -> PathBuf {
    sibling(dir, ".compacting")
}

fn complete(dir: &Path) -> PathBuf {
    sibling(dir, ".compacted")
}

fn previous(dir: &Path) -> PathBuf {
    sibling(dir, ".before-compaction")
}

/// Takes an interrupted compaction of `dir` to its end (see the module documentation).
pub(super) fn finish_interrupted(dir: &Path) -> Result<()> {
    let (writing, complete, previous) = (writing(dir), complete(dir), previous(dir));
    if writing.exists() {
        std::fs::remove_dir_all(&writing)
            .with_context(|| format!("suppression de {}", writing.display()))?;
    }
    if complete.exists() {
        if dir.exists() {
            if previous.exists() {
                bail!(
                    "compactage interrompu dans un état inattendu : {}, {} et {} existent tous trois",
                    dir.display(),
                    complete.display(),
                    previous.display()
                );
            }
            rename(dir, &previous)?;
        }
        rename(&complete, dir)?;
    }
    if previous.exists() {
        if dir.exists() {
            std::fs::remove_dir_all(&previous)
                .with_context(|| format!("suppression de {}", previous.display()))?;
        } else {
            // Never reached by `compact`'s steps; the old copy is whole, the store is not there.
            rename(&previous, dir)?;
        }
    }
    Ok(())
}

/// Runs `attempt` again for up to [`LOCK_PATIENCE`] while it fails: a handle
/// just dropped (sled's flusher thread) may hold the folder's lock a moment longer.
fn patiently<T>(mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        match attempt() {
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            done => return done,
        }
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .with_context(|| format!("renommage de {} en {}", from.display(), to.display()))?;
    sync_parent(to)
}

fn sync_parent(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    File::open(parent)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("synchronisation de {}", parent.display()))
}

/// Fsyncs every file under `dir`, then `dir` itself.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("lecture de {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("synchronisation de {}", path.display()))?;
        }
    }
    File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("synchronisation de {}", dir.display()))
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => folder_bytes(&entry.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Copies `from` into `to` in key order; returns the entries copied.
fn copy_tree(from: &sled::Tree, to: &sled::Tree) -> Result<u64> {
    let mut copied = 0;
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    for item in from.iter() {
        let (key, value) = item?;
        batch.insert(key, value);
        in_batch += 1;
        if in_batch == COPY_BATCH {
            to.apply_batch(std::mem::take(&mut batch))?;
            collect_garbage(in_batch);
            copied += in_batch as u64;
            in_batch = 0;
        }
    }
    to.apply_batch(batch)?;
    collect_garbage(in_batch);
    Ok(copied + in_batch as u64)
}

impl SledStore {
    /// Rewrites the database in `dir` in key order into a fresh folder and
    /// swaps it in (see the module documentation): after a bulk load, the
    /// folder then holds little more than its live data. The folder must not be
    /// open elsewhere (sled's lock refuses it while a server uses it); it stays
    /// locked by this call until the new copy has taken its place.
    pub fn compact(dir: &Path) -> Result<Compaction> {
        let start = Instant::now();
        finish_interrupted(dir)?;
        let bytes_before = folder_bytes(dir);
        let old = patiently(|| Opened::open(config(READ_CACHE_CAPACITY).path(dir)))
            .with_context(|| format!("ouverture de la base {}", dir.display()))?;
        let writing = writing(dir);
        let new = Opened::open(config(BULK_LOAD_CACHE_CAPACITY).path(&writing))
            .with_context(|| format!("création de {}", writing.display()))?;
        let mut entries = 0;
        for (from, to) in old.trees.iter().zip(&new.trees) {
            entries += copy_tree(from, to)?;
        }
        entries += copy_tree(&old.meta, &new.meta)?;
        for (name, (from, to)) in TREES.iter().chain([&META_TREE]).zip(
            old.trees
                .iter()
                .chain([&old.meta])
                .zip(new.trees.iter().chain([&new.meta])),
        ) {
            let (had, has) = (from.len(), to.len());
            if had != has {
                bail!("compactage : l'arbre {name} a {has} entrées au lieu de {had}");
            }
        }
        // sled's id generator starts again at 0 in the new folder: ids go on
        // above every id the old one gave (as a restored snapshot does).
        let floor = decode_u64(old.meta.get(META_ID_FLOOR)?.as_deref()).unwrap_or(0);
        let id_floor = floor + old.db.generate_id()? + 1;
        new.meta.insert(META_ID_FLOOR, &id_floor.to_be_bytes())?;
        new.db.flush()?;
        drop(new);
        sync_tree(&writing)?;
        // sled's own lock (an exclusive flock on its `db` file), taken again
        // as soon as the old instance is closed, and held until the swap: a
        // store opened in between would have its writes left behind.
        drop(old);
        let lock = File::open(dir.join("db"))
            .with_context(|| format!("ouverture de {}", dir.join("db").display()))?;
        if patiently(|| Ok(fs2::FileExt::try_lock_exclusive(&lock)?)).is_err() {
            std::fs::remove_dir_all(&writing)?;
            bail!(
                "compactage abandonné : la base {} a été ouverte pendant la copie",
                dir.display()
            );
        }
        let complete = complete(dir);
        rename(&writing, &complete)?;
        rename(dir, &previous(dir))?;
        rename(&complete, dir)?;
        drop(lock);
        std::fs::remove_dir_all(previous(dir))
            .with_context(|| format!("suppression de {}", previous(dir).display()))?;
        Ok(Compaction {
            entries,
            bytes_before,
            bytes_after: folder_bytes(dir),
            elapsed: start.elapsed(),
        })
    }
}
