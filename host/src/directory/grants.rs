//! Plugins per establishment: enablement, configuration, and the roles granted
//! to profiles, groups and people.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Directory, User, now};
use crate::manifest::Manifest;
use crate::store::{Space, StoreExt};

/// Enablement and configuration of one plugin in one establishment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PluginSetting {
    /// Enabled here.
    pub enabled: bool,
    /// Validated configuration (JSON object).
    #[serde(default)]
    pub config: serde_json::Value,
}

/// Roles granted in one (establishment, plugin): to populations (a profile
/// here, a group) and to individual users. A person holds the union.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Grants {
    /// Profile code → roles.
    pub profiles: BTreeMap<String, Vec<String>>,
    /// Group id → roles.
    pub groups: BTreeMap<String, Vec<String>>,
    /// User id → roles.
    pub users: BTreeMap<String, Vec<String>>,
}

impl Grants {
    /// The roles held through a profile, groups and personal grants (may repeat).
    pub fn held_by(&self, user_id: &str, profile: &str, groups: &[String]) -> Vec<String> {
        let mut held: Vec<String> = self.profiles.get(profile).cloned().unwrap_or_default();
        for group in groups {
            held.extend(self.groups.get(group).into_iter().flatten().cloned());
        }
        held.extend(self.users.get(user_id).into_iter().flatten().cloned());
        held
    }
}

impl Directory {
    fn setting_key(uai: &str, plugin: &str) -> String {
        format!("plugin/{uai}/{plugin}")
    }

    /// Enablement and configuration of a plugin in an establishment.
    pub fn plugin_setting(&self, uai: &str, plugin: &str) -> Result<PluginSetting> {
        Ok(self
            .store
            .get_json(Space::Settings, &Self::setting_key(uai, plugin))?
            .unwrap_or_default())
    }

    /// Stores enablement and configuration.
    pub fn put_plugin_setting(
        &self,
        uai: &str,
        plugin: &str,
        setting: &PluginSetting,
    ) -> Result<()> {
        self.store
            .put_json(Space::Settings, &Self::setting_key(uai, plugin), setting)
    }

    /// Whether grants were ever set for (establishment, plugin).
    pub fn grants(&self, uai: &str, plugin: &str) -> Result<Option<Grants>> {
        self.store
            .get_json(Space::Grants, &format!("{uai}/{plugin}"))
    }

    /// Sets the roles granted per profile.
    pub fn put_grants(&self, uai: &str, plugin: &str, grants: &Grants) -> Result<()> {
        self.store
            .put_json(Space::Grants, &format!("{uai}/{plugin}"), grants)
    }

    /// Grants from the manifest's `default_profiles`, if none were set yet.
    pub fn ensure_default_grants(&self, uai: &str, manifest: &Manifest) -> Result<()> {
        if self.grants(uai, &manifest.id)?.is_some() {
            return Ok(());
        }
        let mut grants = Grants::default();
        for role in &manifest.roles {
            for profile in &role.default_profiles {
                grants
                    .profiles
                    .entry(profile.clone())
                    .or_default()
                    .push(role.id.clone());
            }
        }
        self.put_grants(uai, &manifest.id, &grants)
    }

    /// The caller's roles in a plugin of an establishment: administrators hold
    /// every role; others hold the roles granted to their profile there, to
    /// their groups there and to them personally.
    pub fn roles(
        &self,
        user: Option<&User>,
        uai: &str,
        manifest: &Manifest,
    ) -> Result<Vec<String>> {
        let Some(user) = user else {
            return Ok(Vec::new());
        };
        if user.blocked {
            return Ok(Vec::new());
        }
        if user.administers(uai) {
            return Ok(manifest.role_ids());
        }
        let Some(membership) = user.membership(uai) else {
            return Ok(Vec::new());
        };
        // Outside its access window, a profile holds no role here.
        if self.closed(user, uai, now())?.is_some() {
            return Ok(Vec::new());
        }
        let grants = self.grants(uai, &manifest.id)?.unwrap_or_default();
        let granted = grants.held_by(&user.id, &membership.profile, &membership.groups);
        // Only roles the manifest still defines, in its order.
        Ok(manifest
            .roles
            .iter()
            .filter(|m| granted.contains(&m.id))
            .map(|m| m.id.clone())
            .collect())
    }
}
