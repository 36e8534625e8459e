//! Files people upload with a form (`<input type="file">` in a form with
//! `enctype="multipart/form-data"`, the CSRF field first as the theme's
//! `csrf_field()` puts it).
//!
//! The host stores each file, charged to the quota of the person who sent it,
//! and hands the request the [`Uploaded`] files ([`crate::Request::files`]).
//! [`keep`] the ones your data refers to during that request: the others are
//! deleted when it ends. Send one back with [`crate::Response::file`]; [`remove`]
//! it when your object goes. A plugin cannot create files, and sees only its
//! own instance's.

use crate::bindings::preau::plugin::files as host;
use crate::http::{Error, Result};

/// A file sent with the current request (pending until [`keep`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uploaded {
    /// The form field it came in.
    pub field: String,
    /// Its id (keep it in your data).
    pub id: String,
    /// File name as the person gave it, cleaned.
    pub name: String,
    /// Media type judged by the host from the bytes.
    pub media_type: String,
    /// Bytes.
    pub size: u64,
}

/// A file of this instance.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileInfo {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Media type (from its bytes).
    pub media_type: String,
    /// Bytes.
    pub size: u64,
    /// User id of the person who uploaded it.
    pub owner: String,
    /// Unix seconds.
    pub created: i64,
}

impl From<host::FileInfo> for FileInfo {
    fn from(f: host::FileInfo) -> Self {
        FileInfo {
            id: f.id,
            name: f.name,
            media_type: f.media_type,
            size: f.size,
            owner: f.owner,
            created: f.created,
        }
    }
}

/// Keeps a file uploaded with this request; it stays until [`remove`].
pub fn keep(id: &str) -> Result<FileInfo> {
    host::keep(id).map(Into::into).map_err(Error::Internal)
}

/// A file of this instance (kept, or uploaded with this request).
pub fn info(id: &str) -> Option<FileInfo> {
    host::info(id).map(Into::into)
}

/// Up to `len` bytes (at most 1 MiB) of a file from `offset`.
pub fn read(id: &str, offset: u64, len: u32) -> Option<Vec<u8>> {
    host::read(id, offset, len)
}

/// Deletes a file of this instance; its bytes go back to its owner's quota.
pub fn remove(id: &str) -> Result<()> {
    host::remove(id).map_err(Error::Internal)
}

/// The caller's usage and quota in this establishment (bytes used, bytes
/// allowed); none for an anonymous visitor.
pub fn usage() -> Option<(u64, u64)> {
    host::usage().map(|u| (u.used, u.limit))
}

/// « 12 Mo utilisés sur 200 Mo », the caller's usage as people read it.
pub fn usage_text() -> Option<String> {
    usage().map(|(used, limit)| {
        format!(
            "{} utilisés sur {}",
            preau_text::bytes_fr(used),
            preau_text::bytes_fr(limit)
        )
    })
}
