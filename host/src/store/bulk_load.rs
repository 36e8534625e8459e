//! Writing many new entries at once, in key order.
//!
//! sled 0.34 writes an insert into a random leaf by logging a fragment and
//! rewriting the leaf every few fragments; a large load in random key order
//! reads back evicted leaves and leaves several times its live data on disk.
//! The same entries inserted in key order fill one leaf after another. So a
//! [`BulkLoad`] takes puts in any order, sorts them in memory runs of
//! [`RUN_BYTES`] spilled to files, and [`BulkLoad::finish`] merges the runs and
//! writes each space in key order, in batches.
//!
//! Nothing is in the store before `finish`: a load interrupted before it leaves
//! the store as it was; during it, every batch written is whole (a batch is atomic).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{Op, Space, Store};

/// Bytes of keys and values sorted in memory before they are spilled to a run file.
pub const RUN_BYTES: usize = 128 << 20;

/// Entries per batch written by [`BulkLoad::finish`].
pub const WRITE_BATCH: usize = 10_000;

/// An entry waiting to be written: (space's rank in `spaces`, key, value).
type Pending = (u8, Vec<u8>, Vec<u8>);

/// Puts gathered for a load in key order (see the module documentation).
pub struct BulkLoad<'a> {
    store: &'a dyn Store,
    spill: PathBuf,
    /// The spaces seen, in the order they are written.
    spaces: Vec<Space>,
    buffer: Vec<Pending>,
    buffered: usize,
    run_bytes: usize,
    runs: Vec<PathBuf>,
    /// Entries added, duplicates included.
    added: u64,
}

/// What [`BulkLoad::finish`] wrote.
#[derive(Clone, Copy, Debug)]
pub struct Loaded {
    /// Entries written (a key put twice counts once: its last value).
    pub entries: u64,
    /// Run files the entries were sorted in (0: all in memory).
    pub runs: usize,
}

impl<'a> BulkLoad<'a> {
    /// A load into `store`; run files go into `spill`, a folder made if needed and
    /// emptied of them by [`BulkLoad::finish`] (or when the load is dropped).
    pub fn new(store: &'a dyn Store, spill: &Path) -> Result<Self> {
        std::fs::create_dir_all(spill)
            .with_context(|| format!("création du dossier {}", spill.display()))?;
        Ok(BulkLoad {
            store,
            spill: spill.to_path_buf(),
            spaces: Vec::new(),
            buffer: Vec::new(),
            buffered: 0,
            run_bytes: RUN_BYTES,
            runs: Vec::new(),
            added: 0,
        })
    }

    /// Spills a run every `bytes` instead of [`RUN_BYTES`].
    pub fn with_run_bytes(mut self, bytes: usize) -> Self {
        self.run_bytes = bytes;
        self
    }

    /// Adds puts (a delete is refused: a bulk load only adds).
    pub fn add(&mut self, space: Space, ops: Vec<Op>) -> Result<()> {
        let rank = match self.spaces.iter().position(|s| *s == space) {
            Some(rank) => rank,
            None => {
                self.spaces.push(space);
                self.spaces.len() - 1
            }
        } as u8;
        for op in ops {
            let Op::Put(key, value) = op else {
                bail!("un chargement en bloc n'efface rien");
            };
            self.buffered += key.len() + value.len() + 64;
            self.buffer.push((rank, key, value));
            self.added += 1;
        }
        if self.buffered >= self.run_bytes {
            self.spill_run()?;
        }
        Ok(())
    }

    /// Sorts the buffer (stable: of two puts of one key, the later stays last).
    fn sorted_buffer(&mut self) -> Vec<Pending> {
        let mut buffer = std::mem::take(&mut self.buffer);
        self.buffered = 0;
        buffer.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        // Keep only the last put of each key: reversed, it comes first of its run.
        buffer.reverse();
        buffer.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        buffer.reverse();
        buffer
    }

    fn spill_run(&mut self) -> Result<()> {
        let path = self.spill.join(format!("run-{}", self.runs.len()));
        let file =
            File::create(&path).with_context(|| format!("création de {}", path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        for (rank, key, value) in self.sorted_buffer() {
            out.write_all(&[rank])?;
            out.write_all(&(key.len() as u32).to_le_bytes())?;
            out.write_all(&(value.len() as u32).to_le_bytes())?;
            out.write_all(&key)?;
            out.write_all(&value)?;
        }
        out.flush()?;
        self.runs.push(path);
        Ok(())
    }

    /// Merges everything added and writes it, space by space in key order.
    pub fn finish(mut self) -> Result<Loaded> {
        let mut sources: Vec<Source> = Vec::new();
        let in_memory = self.sorted_buffer();
        for path in &self.runs {
            let file =
                File::open(path).with_context(|| format!("lecture de {}", path.display()))?;
            sources.push(Source::File(BufReader::with_capacity(1 << 20, file)));
        }
        // Last: on equal keys, the latest source wins.
        sources.push(Source::Memory(in_memory.into_iter()));
        let mut heads = BinaryHeap::new();
        for (i, source) in sources.iter_mut().enumerate() {
            if let Some((rank, key, value)) = source.next()? {
                heads.push(Reverse((rank, key, Reverse(i), value)));
            }
        }
        let mut entries = 0;
        let mut batch: Vec<Op> = Vec::with_capacity(WRITE_BATCH);
        let mut batch_rank = None;
        let mut last: Option<(u8, Vec<u8>)> = None;
        while let Some(Reverse((rank, key, Reverse(i), value))) = heads.pop() {
            if let Some((rank, key, value)) = sources[i].next()? {
                heads.push(Reverse((rank, key, Reverse(i), value)));
            }
            if last.as_ref().is_some_and(|(r, k)| *r == rank && *k == key) {
                continue; // an earlier put of a key already written
            }
            if batch_rank != Some(rank) || batch.len() == WRITE_BATCH {
                if let Some(r) = batch_rank {
                    self.store
                        .batch(self.spaces[r as usize], std::mem::take(&mut batch))?;
                }
                batch_rank = Some(rank);
            }
            batch.push(Op::Put(key.clone(), value));
            entries += 1;
            last = Some((rank, key));
        }
        if let Some(r) = batch_rank {
            self.store.batch(self.spaces[r as usize], batch)?;
        }
        let runs = self.runs.len();
        self.remove_runs();
        Ok(Loaded { entries, runs })
    }

    fn remove_runs(&mut self) {
        for path in self.runs.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for BulkLoad<'_> {
    fn drop(&mut self) {
        self.remove_runs();
    }
}

/// One sorted run being merged.
enum Source {
    File(BufReader<File>),
    Memory(std::vec::IntoIter<Pending>),
}

impl Source {
    fn next(&mut self) -> Result<Option<Pending>> {
        match self {
            Source::Memory(entries) => Ok(entries.next()),
            Source::File(reader) => {
                let mut header = [0u8; 9];
                match reader.read_exact(&mut header) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
                let key_len = u32::from_le_bytes(header[1..5].try_into().expect("4 bytes"));
                let value_len = u32::from_le_bytes(header[5..9].try_into().expect("4 bytes"));
                let mut key = vec![0; key_len as usize];
                reader.read_exact(&mut key)?;
                let mut value = vec![0; value_len as usize];
                reader.read_exact(&mut value)?;
                Ok(Some((header[0], key, value)))
            }
        }
    }
}
