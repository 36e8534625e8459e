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
        let old = Opened::open(config(READ_CACHE_CAPACITY).path(dir))
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
        if fs2::FileExt::try_lock_exclusive(&lock).is_err() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Space, Store};

    fn write_people(dir: &Path, n: usize) -> u64 {
        let store = SledStore::open(dir).unwrap();
        for i in (0..n).rev() {
            let key = format!("u{:05}", (i * 7919) % n);
            store
                .put(
                    Space::Users,
                    key.as_bytes(),
                    format!("personne {i}").as_bytes(),
                )
                .unwrap();
        }
        store.delete(Space::Users, b"u00003").unwrap();
        let id = store.next_id().unwrap();
        store.close().unwrap();
        id
    }

    fn contents(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
        let store = SledStore::open(dir).unwrap();
        store
            .scan(Space::Users, b"", None, usize::MAX, false)
            .unwrap()
    }

    #[test]
    fn a_compacted_store_holds_the_same_entries_and_ids_go_on() {
        let place = tempfile::tempdir().unwrap();
        let dir = place.path().join("db");
        let last_id = write_people(&dir, 3000);
        let before = contents(&dir);
        let (seq, identity) = {
            let store = SledStore::open(&dir).unwrap();
            (store.durable_seq(), store.identity_record().unwrap())
        };
        let done = SledStore::compact(&dir).unwrap();
        assert!(done.entries >= 2999, "{done:?}");
        assert_eq!(contents(&dir), before);
        let store = SledStore::open(&dir).unwrap();
        assert_eq!(store.durable_seq(), seq);
        assert_eq!(store.identity_record().unwrap(), identity);
        assert!(store.next_id().unwrap() > last_id);
        drop(store);
        let names: Vec<_> = std::fs::read_dir(place.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("db")]);
    }

    #[test]
    fn an_open_store_is_not_compacted() {
        let place = tempfile::tempdir().unwrap();
        let dir = place.path().join("db");
        write_people(&dir, 10);
        let _serving = SledStore::open(&dir).unwrap();
        assert!(SledStore::compact(&dir).is_err());
        assert!(!writing(&dir).exists() && !complete(&dir).exists());
    }

    /// Copies a closed store's folder (what a crash leaves at each step).
    fn copy_folder(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                copy_folder(&entry.path(), &to.join(entry.file_name()));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    #[test]
    fn an_interrupted_compaction_ends_with_a_whole_store_at_every_step() {
        let place = tempfile::tempdir().unwrap();
        let original = place.path().join("original");
        write_people(&original, 500);
        let expected = contents(&original);
        let dir = place.path().join("db");
        // Step 1 interrupted: a partial copy is thrown away.
        copy_folder(&original, &dir);
        std::fs::create_dir_all(writing(&dir)).unwrap();
        std::fs::write(writing(&dir).join("db"), b"partiel").unwrap();
        assert_eq!(contents(&dir), expected);
        assert!(!writing(&dir).exists());
        // After step 2: the complete copy is swapped in.
        copy_folder(&original, &complete(&dir));
        assert_eq!(contents(&dir), expected);
        assert!(!complete(&dir).exists() && !previous(&dir).exists());
        // In the middle of step 3: the old folder renamed, the new one not yet.
        std::fs::rename(&dir, previous(&dir)).unwrap();
        copy_folder(&original, &complete(&dir));
        assert_eq!(contents(&dir), expected);
        assert!(!complete(&dir).exists() && !previous(&dir).exists());
        // Before step 4: the old folder is removed.
        copy_folder(&original, &previous(&dir));
        assert_eq!(contents(&dir), expected);
        assert!(!previous(&dir).exists());
    }
}
