//! Typed records in the plugin's store, with ordered ids and secondary indexes.
//!
//! The host scopes every key to (establishment, rubrique, plugin): a plugin cannot name
//! another namespace. Every write is durable when the call returns.
//!
//! Layout: a record of kind `post` with id 42 lives at `post/000000000000002a`;
//! its index entries at `post~<index key>/000000000000002a` (empty values), so a
//! prefix scan of an index yields ids in creation order.

use std::marker::PhantomData;

use serde::{Serialize, de::DeserializeOwned};

use crate::bindings::preau::plugin::store as host;
use crate::http::{Error, Result};

/// An ordered id: later ids sort after earlier ones, also as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(pub u64);

impl Id {
    /// A fresh id from the host, greater than every id handed out before.
    pub fn next() -> Id {
        Id(host::next_id())
    }

    /// Parses the 16-hex-digit form used in keys and URLs.
    pub fn parse(text: &str) -> Option<Id> {
        if text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            u64::from_str_radix(text, 16).ok().map(Id)
        } else {
            None
        }
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Id::parse(&text).ok_or_else(|| serde::de::Error::custom("identifiant invalide"))
    }
}

/// Scan order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Ascending ids.
    OldestFirst,
    /// Descending ids.
    NewestFirst,
}

/// A type stored in a [`Table`].
pub trait Record: Serialize + DeserializeOwned {
    /// Key prefix of this kind of record (`post`, `comment`…); no `/` or `~`.
    const KIND: &'static str;

    /// Secondary index keys of this record (e.g. `status:publie`,
    /// `author:u42`); the table keeps them in step with the record atomically.
    fn index_keys(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Typed access to the records of one kind.
pub struct Table<T: Record> {
    kind: PhantomData<T>,
}

impl<T: Record> Default for Table<T> {
    fn default() -> Self {
        Table { kind: PhantomData }
    }
}

fn record_key(kind: &str, id: Id) -> String {
    format!("{kind}/{id}")
}

fn index_prefix(kind: &str, index: &str) -> String {
    format!("{kind}~{index}/")
}

fn store_error(e: String) -> Error {
    Error::Internal(format!("stockage : {e}"))
}

impl<T: Record> Table<T> {
    /// The table of `T`.
    pub fn new() -> Self {
        Table::default()
    }

    /// The record with this id.
    pub fn get(&self, id: Id) -> Result<Option<T>> {
        match host::get(&record_key(T::KIND, id)) {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Stores a new record under a fresh id and returns the id.
    pub fn insert(&self, record: &T) -> Result<Id> {
        let id = Id::next();
        self.put(id, record)?;
        Ok(id)
    }

    /// Creates or replaces the record `id`, updating its index entries in the same atomic batch.
    pub fn put(&self, id: Id, record: &T) -> Result<()> {
        let ops: Vec<host::Op> = self
            .put_writes(id, record)?
            .into_iter()
            .map(Write::into_op)
            .collect();
        host::batch(&ops).map_err(store_error)
    }

    /// The writes [`Table::put`] would make (the record and its index entries), to
    /// include in a [`batch_if`].
    pub fn put_writes(&self, id: Id, record: &T) -> Result<Vec<Write>> {
        let old_keys = match self.get(id)? {
            Some(old) => old.index_keys(),
            None => Vec::new(),
        };
        let new_keys = record.index_keys();
        let mut writes: Vec<Write> = old_keys
            .iter()
            .filter(|k| !new_keys.contains(k))
            .map(|k| Write::Delete(format!("{}{id}", index_prefix(T::KIND, k))))
            .collect();
        writes.extend(
            new_keys
                .iter()
                .map(|k| Write::Put(format!("{}{id}", index_prefix(T::KIND, k)), Vec::new())),
        );
        writes.push(Write::Put(
            record_key(T::KIND, id),
            serde_json::to_vec(record)?,
        ));
        Ok(writes)
    }

    /// Deletes the record and its index entries atomically. Deleting a missing id is not an error.
    pub fn delete(&self, id: Id) -> Result<()> {
        let Some(old) = self.get(id)? else {
            return Ok(());
        };
        let mut ops: Vec<host::Op> = old
            .index_keys()
            .iter()
            .map(|k| host::Op::Delete(format!("{}{id}", index_prefix(T::KIND, k))))
            .collect();
        ops.push(host::Op::Delete(record_key(T::KIND, id)));
        host::batch(&ops).map_err(store_error)
    }

    /// Up to `limit` records in id order, after the cursor `after` (exclusive).
    pub fn scan(&self, after: Option<Id>, limit: u32, order: Order) -> Result<Vec<(Id, T)>> {
        let prefix = format!("{}/", T::KIND);
        let after = after.map(|id| record_key(T::KIND, id));
        host::scan(
            &prefix,
            after.as_deref(),
            limit,
            order == Order::NewestFirst,
        )
        .into_iter()
        .map(|entry| {
            let id = Id::parse(&entry.key[prefix.len()..])
                .ok_or_else(|| Error::Internal(format!("clé invalide {}", entry.key)))?;
            Ok((id, serde_json::from_slice(&entry.value)?))
        })
        .collect()
    }

    /// Up to `limit` ids carrying the index key `index`, in id order, after `after`.
    pub fn scan_index_ids(
        &self,
        index: &str,
        after: Option<Id>,
        limit: u32,
        order: Order,
    ) -> Vec<Id> {
        let prefix = index_prefix(T::KIND, index);
        let after = after.map(|id| format!("{prefix}{id}"));
        host::scan(
            &prefix,
            after.as_deref(),
            limit,
            order == Order::NewestFirst,
        )
        .into_iter()
        .filter_map(|entry| Id::parse(&entry.key[prefix.len()..]))
        .collect()
    }

    /// Up to `limit` records carrying the index key `index`, in id order, after `after`.
    pub fn scan_index(
        &self,
        index: &str,
        after: Option<Id>,
        limit: u32,
        order: Order,
    ) -> Result<Vec<(Id, T)>> {
        let mut records = Vec::new();
        for id in self.scan_index_ids(index, after, limit, order) {
            // An index entry without its record cannot happen with atomic batches;
            // skipping it keeps a page readable if it ever does.
            if let Some(record) = self.get(id)? {
                records.push((id, record));
            }
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::Id;

    #[test]
    fn ids_sort_as_text_and_round_trip() {
        let a = Id(9).to_string();
        let b = Id(10).to_string();
        assert!(a < b);
        assert_eq!(Id::parse(&b), Some(Id(10)));
        assert_eq!(Id::parse("zz"), None);
        assert_eq!(Id::parse("000000000000000g"), None);
    }
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Internal(format!("valeur illisible sous « {key} » : {e}")))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))
}

/// One write of an atomic batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Stores a value under a key.
    Put(String, Vec<u8>),
    /// Removes a key.
    Delete(String),
}

impl Write {
    fn into_op(self) -> host::Op {
        match self {
            Write::Put(key, value) => host::Op::Put(host::Entry { key, value }),
            Write::Delete(key) => host::Op::Delete(key),
        }
    }
}

/// The raw bytes stored under `key`, e.g. a version to pass to [`batch_if`].
pub fn get_bytes(key: &str) -> Option<Vec<u8>> {
    host::get(key)
}

/// Applies `writes` atomically only if every `expected` key currently holds exactly
/// that value (`None`: absent); `Ok(false)` when a check failed and nothing was
/// written. The optimistic-concurrency primitive: read a version key, check what
/// must hold, then write the records and the bumped version conditioned on the
/// version read, and retry on `false`.
pub fn batch_if(expected: &[(&str, Option<&[u8]>)], writes: Vec<Write>) -> Result<bool> {
    let expected: Vec<(String, Option<Vec<u8>>)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec)))
        .collect();
    let ops: Vec<host::Op> = writes.into_iter().map(Write::into_op).collect();
    host::batch_if(&expected, &ops).map_err(store_error)
}

/// A JSON value stored under `key` in this instance's namespace (for data that is
/// not a list of records: settings of the instance, a cache, a per-user document).
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    host::get(key).map(|b| decode(key, &b)).transpose()
}

/// Stores a JSON value under `key`; durable when this returns.
pub fn put_json<T: Serialize>(key: &str, value: &T) -> Result<()> {
    host::put(key, &encode(value)?).map_err(Error::Internal)
}

/// Removes `key`.
pub fn remove(key: &str) -> Result<()> {
    host::delete(key).map_err(Error::Internal)
}

/// The JSON values whose keys start with `prefix`, in key order, at most `limit`.
pub fn scan_json<T: DeserializeOwned>(prefix: &str, limit: u32) -> Result<Vec<(String, T)>> {
    host::scan(prefix, None, limit, false)
        .into_iter()
        .map(|e| decode(&e.key, &e.value).map(|v| (e.key, v)))
        .collect()
}

/// The plugin's region-wide data, shared by every establishment. The plugin decides
/// who may write it (usually [`crate::Invocation::is_region_admin`]).
pub mod region {
    use serde::{Serialize, de::DeserializeOwned};

    use super::{decode, encode};
    use crate::bindings::preau::plugin::region_store as host;
    use crate::http::{Error, Result};

    /// A JSON value stored under `key`.
    pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
        host::get(key).map(|b| decode(key, &b)).transpose()
    }

    /// Stores a JSON value under `key`; durable when this returns.
    pub fn put_json<T: Serialize>(key: &str, value: &T) -> Result<()> {
        host::put(key, &encode(value)?).map_err(Error::Internal)
    }

    /// Removes `key`.
    pub fn remove(key: &str) -> Result<()> {
        host::delete(key).map_err(Error::Internal)
    }

    /// The JSON values whose keys start with `prefix`, in key order, at most `limit`.
    pub fn scan_json<T: DeserializeOwned>(prefix: &str, limit: u32) -> Result<Vec<(String, T)>> {
        host::scan(prefix, None, limit, false)
            .into_iter()
            .map(|e| decode(&e.key, &e.value).map(|v| (e.key, v)))
            .collect()
    }
}
