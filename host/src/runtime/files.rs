//! The host side of the `files` import: a plugin reaches the files uploaded
//! to its own instance (kept ones, and the pending ones of the current
//! request), never another instance's, and cannot create any.

use super::*;
use crate::uploads::{FileMeta, Uploads, quota};

/// Most bytes one `read` returns.
const MAX_READ_BYTES: u32 = 1 << 20;

impl CallState {
    fn uploads(&self) -> Uploads {
        Uploads::new(self.store.clone())
    }

    /// A file this call may reach: this instance's, and kept unless it came
    /// with this request.
    fn reachable(&self, id: &str) -> Option<FileMeta> {
        let meta = self.uploads().meta(id).unwrap_or_else(|e| {
            self.storage_failed(&e);
            None
        })?;
        let ours = meta.namespace.as_bytes() == self.namespace.as_slice();
        (ours && (meta.kept || self.pending_uploads.iter().any(|p| p == id))).then_some(meta)
    }
}

fn info(meta: &FileMeta) -> wit_files::FileInfo {
    wit_files::FileInfo {
        id: meta.id.clone(),
        name: meta.name.clone(),
        media_type: meta.media_type.clone(),
        size: meta.size,
        owner: meta.owner.clone(),
        created: meta.created,
    }
}

const UNKNOWN: &str = "fichier inconnu dans ce service";

impl wit_files::Host for CallState {
    fn keep(&mut self, id: String) -> Result<wit_files::FileInfo, String> {
        self.writable()?;
        let meta = self.reachable(&id).ok_or(UNKNOWN)?;
        if meta.kept {
            return Ok(info(&meta));
        }
        let kept = self
            .uploads()
            .keep(&meta)
            .map_err(|e| self.storage_failed(&e))?;
        Ok(info(&kept))
    }

    fn info(&mut self, id: String) -> Option<wit_files::FileInfo> {
        self.reachable(&id).map(|m| info(&m))
    }

    fn read(&mut self, id: String, offset: u64, len: u32) -> Option<Vec<u8>> {
        let meta = self.reachable(&id)?;
        self.uploads()
            .read(&meta, offset, len.min(MAX_READ_BYTES) as usize)
            .map_err(|e| self.storage_failed(&e))
            .ok()
    }

    fn remove(&mut self, id: String) -> Result<(), String> {
        self.writable()?;
        let meta = self.reachable(&id).ok_or(UNKNOWN)?;
        self.uploads()
            .remove(&meta)
            .map_err(|e| self.storage_failed(&e))?;
        self.pending_uploads.retain(|p| p != &id);
        Ok(())
    }

    fn usage(&mut self) -> Option<wit_files::QuotaUsage> {
        let caller = self.caller_id.clone()?;
        let directory = self.directory();
        let user = directory.user(&caller).ok()??;
        let limit = quota::limit(&directory, &self.uai, &user).ok()?;
        let used = quota::used(self.store.as_ref(), &self.uai, &caller).ok()?;
        Some(wit_files::QuotaUsage { used, limit })
    }
}
