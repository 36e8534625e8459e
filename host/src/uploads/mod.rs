//! Files people upload (attachments, documents), stored by the host in
//! chunks, each charged to its owner's quota in the establishment.
//!
//! A plugin never writes a file: the host receives the upload (a
//! `multipart/form-data` POST to the plugin's route), stores it as a
//! *pending* file charged to the person who sent it, and hands the plugin its
//! id. The plugin `keep`s the files it attaches to its data during that call;
//! the host deletes the others when the call ends, giving their bytes back.
//! So a plugin cannot fill the disk with files, and people fill only their
//! own quota.
//!
//! Keys of [`Space::Uploads`]: `m/<id>` the file's [`FileMeta`] (JSON),
//! `c/<id>/<index>` its chunks, and the usage counters
//! `\0usage/<uai>/<person>` that [`Store::batch_within`] keeps in the same
//! transaction as every chunk and meta write: a write over the quota fails
//! whole, and two uploads racing for the last megabytes cannot both pass.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Op, Quota, Space, Store, is_storage_full, quota_exceeded};

pub mod quota;
pub mod sniff;

/// Bytes per stored chunk (sled values stay small; each chunk is one durable write).
pub const CHUNK_BYTES: usize = 1 << 20;
/// Largest file, whatever the quota.
pub const MAX_FILE_BYTES: u64 = 50 << 20;
/// Most files one request may upload.
pub const MAX_FILES_PER_REQUEST: usize = 20;
/// Longest file name kept (characters).
const MAX_NAME_CHARS: usize = 200;
/// A pending file older than this was left by a request that never ended (a
/// crash): [`Uploads::sweep_pending`] removes it.
const PENDING_GRACE_SECONDS: i64 = 3600;

/// What the host knows of a stored file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileMeta {
    /// `f` + number.
    pub id: String,
    /// The establishment whose quota it counts in.
    pub uai: String,
    /// The plugin instance it was uploaded to (`<uai>/<plugin>/` or
    /// `<uai>#<rubrique>/<plugin>/`): only that instance reaches it.
    pub namespace: String,
    /// The person who uploaded it (user id).
    pub owner: String,
    /// File name as the person gave it, cleaned.
    pub name: String,
    /// Media type judged by its bytes ([`sniff::media_type`]).
    pub media_type: String,
    pub size: u64,
    pub chunks: u32,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Unix seconds.
    pub created: i64,
    /// False until the plugin keeps it; pending files go when their request ends.
    pub kept: bool,
}

/// Why an upload was refused; nothing of it stays stored.
#[derive(Debug)]
pub enum UploadError {
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge { name: String },
    /// It does not fit in its owner's quota.
    OverQuota { name: String, used: u64, limit: u64 },
    /// The disk is full.
    StorageFull,
    /// The store failed.
    Store(anyhow::Error),
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadError::TooLarge { name } => write!(
                f,
                "Le fichier « {name} » dépasse la taille maximale d'un fichier ({}).",
                preau_text::bytes_fr(MAX_FILE_BYTES)
            ),
            UploadError::OverQuota { name, used, limit } => write!(
                f,
                "Le fichier « {name} » ne tient pas dans votre espace : {} utilisés sur {}. \
                 Supprimez des fichiers ou demandez à un administrateur d'augmenter votre quota.",
                preau_text::bytes_fr(*used),
                preau_text::bytes_fr(*limit)
            ),
            UploadError::StorageFull => f.write_str(
                "L'espace de stockage du serveur est plein : le fichier n'a pas été enregistré.",
            ),
            UploadError::Store(e) => write!(f, "Le fichier n'a pas pu être enregistré ({e:#})."),
        }
    }
}

/// The file store.
#[derive(Clone)]
pub struct Uploads {
    store: Arc<dyn Store>,
}

/// The owner's usage counter of a stored file, without a limit: for writes
/// that add nothing (keeping) or free space (removing), counted all the same.
fn unbounded(meta: &FileMeta) -> Quota {
    Quota {
        counter: quota::counter_key(&meta.uai, &meta.owner),
        limit: u64::MAX,
        version: None,
    }
}

fn meta_key(id: &str) -> Vec<u8> {
    format!("m/{id}").into_bytes()
}

fn chunk_key(id: &str, index: u32) -> Vec<u8> {
    format!("c/{id}/{index:08}").into_bytes()
}

/// A file name as people may see it: no folders, no control characters, no
/// characters file systems refuse; never empty.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "fichier".into()
    } else {
        cleaned.into()
    }
}

impl Uploads {
    pub fn new(store: Arc<dyn Store>) -> Uploads {
        Uploads { store }
    }

    /// A file's meta.
    pub fn meta(&self, id: &str) -> Result<Option<FileMeta>> {
        if !id.starts_with('f') || id.len() > 24 {
            return Ok(None);
        }
        match self.store.get(Space::Uploads, &meta_key(id))? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes).context("fichier")?)),
            None => Ok(None),
        }
    }

    /// Starts storing a file for `owner` in the instance `namespace` of
    /// establishment `uai`, within `limit` bytes of usage.
    pub fn begin(
        &self,
        uai: &str,
        namespace: &str,
        owner: &str,
        name: &str,
        limit: u64,
    ) -> Result<Writer, UploadError> {
        let id = format!("f{}", self.store.next_id().map_err(UploadError::Store)?);
        let meta = FileMeta {
            id,
            uai: uai.into(),
            namespace: namespace.into(),
            owner: owner.into(),
            name: clean_name(name),
            media_type: String::new(),
            size: 0,
            chunks: 0,
            sha256: String::new(),
            created: preau_text::zone::now(),
            kept: false,
        };
        let writer = Writer {
            uploads: self.clone(),
            quota: Quota {
                counter: quota::counter_key(uai, owner),
                limit,
                version: None,
            },
            meta,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            head: Vec::new(),
            hasher: Sha256::new(),
        };
        // The meta goes first, so that a crash leaves a pending record the sweep finds.
        writer.write_meta()?;
        Ok(writer)
    }

    /// Marks a pending file as kept.
    pub fn keep(&self, meta: &FileMeta) -> Result<FileMeta> {
        let mut kept = meta.clone();
        kept.kept = true;
        // Keeping only rewrites a flag: it must never fail on the quota.
        self.store.batch_within(
            Space::Uploads,
            &[],
            vec![Op::Put(meta_key(&meta.id), serde_json::to_vec(&kept)?)],
            &unbounded(meta),
        )?;
        Ok(kept)
    }

    /// Deletes a file, giving its bytes back to its owner's quota.
    pub fn remove(&self, meta: &FileMeta) -> Result<()> {
        let quota = unbounded(meta);
        // In slices of chunks: one transaction stays small, and the meta goes last,
        // so that an interrupted removal is finished by the next one.
        let chunks: Vec<u32> = (0..meta.chunks).collect();
        for slice in chunks.chunks(16) {
            let ops = slice
                .iter()
                .map(|i| Op::Delete(chunk_key(&meta.id, *i)))
                .collect();
            self.store.batch_within(Space::Uploads, &[], ops, &quota)?;
        }
        self.store.batch_within(
            Space::Uploads,
            &[],
            vec![Op::Delete(meta_key(&meta.id))],
            &quota,
        )?;
        Ok(())
    }

    /// Chunk `index` of a file.
    pub fn chunk(&self, id: &str, index: u32) -> Result<Option<Vec<u8>>> {
        self.store.get(Space::Uploads, &chunk_key(id, index))
    }

    /// Up to `len` bytes of a file from `offset`.
    pub fn read(&self, meta: &FileMeta, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(len.min(CHUNK_BYTES));
        let mut at = offset;
        while out.len() < len && at < meta.size {
            let index = (at / CHUNK_BYTES as u64) as u32;
            let within = (at % CHUNK_BYTES as u64) as usize;
            let chunk = self
                .chunk(&meta.id, index)?
                .with_context(|| format!("morceau {index} du fichier {} absent", meta.id))?;
            let take = (len - out.len()).min(chunk.len().saturating_sub(within));
            if take == 0 {
                break;
            }
            out.extend_from_slice(&chunk[within..within + take]);
            at += take as u64;
        }
        Ok(out)
    }

    /// Removes the pending files left by requests that never ended (a crash
    /// between the upload and the end of the call); how many.
    pub fn sweep_pending(&self) -> Result<usize> {
        let cutoff = preau_text::zone::now() - PENDING_GRACE_SECONDS;
        let mut removed = 0;
        for (_, value) in self
            .store
            .scan(Space::Uploads, b"m/", None, usize::MAX, false)?
        {
            let Ok(meta) = serde_json::from_slice::<FileMeta>(&value) else {
                continue;
            };
            if !meta.kept && meta.created < cutoff {
                self.remove(&meta)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// A file being stored: bytes go in with [`Writer::write`], in chunks each
/// charged to the owner's quota; [`Writer::finish`] or [`Writer::abort`] ends it.
pub struct Writer {
    uploads: Uploads,
    quota: Quota,
    meta: FileMeta,
    buffer: Vec<u8>,
    /// The first bytes, for the type.
    head: Vec<u8>,
    hasher: Sha256,
}

impl Writer {
    /// The file's id.
    pub fn id(&self) -> &str {
        &self.meta.id
    }

    fn refusal(&self, error: anyhow::Error) -> UploadError {
        if let Some(over) = quota_exceeded(&error) {
            UploadError::OverQuota {
                name: self.meta.name.clone(),
                used: over.used,
                limit: over.limit,
            }
        } else if is_storage_full(&error) {
            UploadError::StorageFull
        } else {
            UploadError::Store(error)
        }
    }

    fn write_meta(&self) -> Result<(), UploadError> {
        let value = serde_json::to_vec(&self.meta).map_err(|e| UploadError::Store(e.into()))?;
        self.uploads
            .store
            .batch_within(
                Space::Uploads,
                &[],
                vec![Op::Put(meta_key(&self.meta.id), value)],
                &self.quota,
            )
            .map(|_| ())
            .map_err(|e| self.refusal(e))
    }

    /// Appends `bytes`. On an error the caller must [`Writer::abort`].
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), UploadError> {
        if self.meta.size + (self.buffer.len() + bytes.len()) as u64 > MAX_FILE_BYTES {
            return Err(UploadError::TooLarge {
                name: self.meta.name.clone(),
            });
        }
        if self.head.len() < 512 {
            let take = (512 - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        self.hasher.update(bytes);
        while !bytes.is_empty() {
            let take = (CHUNK_BYTES - self.buffer.len()).min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buffer.len() == CHUNK_BYTES {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Stores the buffered chunk, and the meta that counts it, in one transaction.
    fn flush(&mut self) -> Result<(), UploadError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        let mut meta = self.meta.clone();
        meta.size += chunk.len() as u64;
        meta.chunks += 1;
        let value = serde_json::to_vec(&meta).map_err(|e| UploadError::Store(e.into()))?;
        self.uploads
            .store
            .batch_within(
                Space::Uploads,
                &[],
                vec![
                    Op::Put(chunk_key(&meta.id, self.meta.chunks), chunk),
                    Op::Put(meta_key(&meta.id), value),
                ],
                &self.quota,
            )
            .map_err(|e| self.refusal(e))?;
        self.meta = meta;
        Ok(())
    }

    /// Stores what is left; the pending file's meta.
    pub fn finish(mut self) -> Result<FileMeta, (UploadError, Writer)> {
        if let Err(e) = self.flush() {
            return Err((e, self));
        }
        self.meta.media_type = sniff::media_type(&self.head, &self.meta.name).into();
        self.meta.sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
        if let Err(e) = self.write_meta() {
            return Err((e, self));
        }
        Ok(self.meta)
    }

    /// Removes what was stored of the file.
    pub fn abort(self) {
        if let Err(e) = self.uploads.remove(&self.meta) {
            // The sweep at the next start removes it.
            tracing::error!(file = %self.meta.id, "fichier abandonné non supprimé : {e:#}");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
