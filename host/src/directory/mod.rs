//! The directory (annuaire): establishments, people, their profiles, sessions,
//! and the role grants that turn a person into a plugin's roles.
//!
//! One file per thing served: [`establishments`], [`users`] (people and their
//! logins), [`groups`], [`sessions`], [`passwords`], [`grants`] (plugin settings
//! and roles), [`access`] (access windows), [`files`]; this file holds the
//! [`Directory`] handle, the profiles, the region settings and the audit log.

use std::sync::Arc;

use anyhow::{Context, Result};
use rand::RngCore;
use serde::Serialize;

use crate::store::{Space, Store, StoreExt};

pub mod access;
pub mod consistency;
pub mod establishments;
pub mod files;
pub mod grants;
pub mod groups;
pub mod identifiers;
pub mod naming;
pub mod nomenclatures;
pub mod password_policy;
pub mod passwords;
pub mod record;
pub mod reindex;
pub mod search;
pub mod sessions;
pub mod summary;
pub mod users;

pub use access::{AccessWindow, Closed};
pub use establishments::{Establishment, TIME_ZONES, Theme, time_zone_label, valid_uai};
pub use grants::{Grants, PluginSetting};
pub use groups::{GROUP_KINDS, Group};
pub use passwords::{PasswordPool, hash_password, verify_password};
pub use sessions::{SESSION_SECONDS, Session};
pub use users::{Membership, User};

/// Profiles a person holds in an establishment (codes of the academic directory, simplified).
pub const PROFILES: &[(&str, &str)] = &[
    ("eleve", "Élève"),
    ("parent", "Parent"),
    ("enseignant", "Enseignant"),
    ("personnel", "Personnel non enseignant"),
];

/// Current Unix time in seconds.
pub use preau_text::zone::now;

/// 128 random bits as 32 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Typed access to the directory's data in a [`Store`].
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn Store>,
}

impl Directory {
    /// The directory over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Directory { store }
    }

    /// The underlying store (the search index reads it directly).
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The underlying store, shared (for blocking threads).
    pub fn shared_store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// A fresh id with a prefix (`u`, `g`…).
    pub fn new_id(&self, prefix: &str) -> Result<String> {
        Ok(format!("{prefix}{}", self.store.next_id()?))
    }

    /// The audit log, newest first, at most `limit` entries.
    pub fn audit_entries(&self, limit: usize) -> Result<Vec<serde_json::Value>> {
        self.store
            .scan(Space::Audit, b"", None, limit, true)?
            .into_iter()
            .map(|(_, v)| Ok(serde_json::from_slice(&v)?))
            .collect()
    }

    /// A setting stored under `key` (portal layout, approvals…).
    pub fn setting<T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        key: &str,
    ) -> Result<Option<T>> {
        self.store.get_json(Space::Settings, key)
    }

    /// Stores a setting under `key`; durable when this returns.
    pub fn put_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.store.put_json(Space::Settings, key, value)
    }

    /// A region-wide setting.
    pub fn region_setting<T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        name: &str,
    ) -> Result<Option<T>> {
        self.store
            .get_json(Space::Settings, &format!("region/{name}"))
    }

    /// Stores a region-wide setting.
    pub fn put_region_setting<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        self.store
            .put_json(Space::Settings, &format!("region/{name}"), value)
    }

    /// Appends to the audit log: who did what to what.
    pub fn audit(&self, actor: &User, action: &str, target: &str) -> Result<()> {
        self.audit_in(actor, "", action, target)
    }

    /// Appends to the audit log an action concerning establishment `uai`.
    pub fn audit_in(&self, actor: &User, uai: &str, action: &str, target: &str) -> Result<()> {
        let entry = serde_json::json!({
            "at": now(),
            "actor": actor.login,
            "uai": uai,
            "action": action,
            "target": target,
        });
        let key = format!("{:016x}", self.store.next_id()?);
        self.store
            .put_json(Space::Audit, &key, &entry)
            .context("journal d'audit")
    }
}
