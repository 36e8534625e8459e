//! Files kept for an establishment: generated identifiers files and the uploaded banner.

use anyhow::Result;

use super::Directory;
use crate::store::{Op, Space};

/// Key of an establishment's uploaded banner in `Space::Files`: outside the
/// `<uai>/` prefix of the generated files, so that the identifiers files'
/// pages never list, download or delete it.
fn banner_key(uai: &str) -> String {
    format!("banniere/{uai}")
}

impl Directory {
    /// Stores a generated file.
    pub fn put_file(&self, uai: &str, name: &str, bytes: &[u8]) -> Result<()> {
        self.store
            .put(Space::Files, format!("{uai}/{name}").as_bytes(), bytes)
    }

    /// A generated file.
    pub fn file(&self, uai: &str, name: &str) -> Result<Option<Vec<u8>>> {
        self.store
            .get(Space::Files, format!("{uai}/{name}").as_bytes())
    }

    /// Names and sizes of an establishment's generated files, newest first.
    pub fn files(&self, uai: &str) -> Result<Vec<(String, usize)>> {
        let prefix = format!("{uai}/");
        let mut files: Vec<(String, usize)> = self
            .store
            .scan(Space::Files, prefix.as_bytes(), None, usize::MAX, false)?
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(&k[prefix.len()..]).into_owned(),
                    v.len(),
                )
            })
            .collect();
        files.reverse();
        Ok(files)
    }

    /// Deletes a generated file.
    pub fn delete_file(&self, uai: &str, name: &str) -> Result<()> {
        self.store
            .delete(Space::Files, format!("{uai}/{name}").as_bytes())
    }

    /// Stores an establishment's uploaded banner and its detected content type,
    /// together (one batch), so that neither is ever served without the other.
    pub fn put_banner(&self, uai: &str, content_type: &str, bytes: &[u8]) -> Result<()> {
        let key = banner_key(uai);
        self.store.batch(
            Space::Files,
            vec![
                Op::Put(key.clone().into_bytes(), bytes.to_vec()),
                Op::Put(
                    format!("{key}.type").into_bytes(),
                    content_type.as_bytes().to_vec(),
                ),
            ],
        )
    }

    /// An establishment's uploaded banner: content type and bytes.
    pub fn banner(&self, uai: &str) -> Result<Option<(String, Vec<u8>)>> {
        let key = banner_key(uai);
        let Some(content_type) = self
            .store
            .get(Space::Files, format!("{key}.type").as_bytes())?
        else {
            return Ok(None);
        };
        let bytes = self.store.get(Space::Files, key.as_bytes())?;
        Ok(bytes.map(|b| (String::from_utf8_lossy(&content_type).into_owned(), b)))
    }

    /// Deletes an establishment's uploaded banner.
    pub fn delete_banner(&self, uai: &str) -> Result<()> {
        let key = banner_key(uai);
        self.store.batch(
            Space::Files,
            vec![
                Op::Delete(key.clone().into_bytes()),
                Op::Delete(format!("{key}.type").into_bytes()),
            ],
        )
    }
}
