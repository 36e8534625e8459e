//! The directory (annuaire): establishments, people, their profiles, sessions,
//! and the role grants that turn a person into a plugin's roles.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::manifest::Manifest;
use crate::store::{Space, Store, StoreExt};

/// Profiles a person holds in an establishment (codes of the academic directory, simplified).
pub const PROFILES: &[(&str, &str)] = &[
    ("eleve", "Élève"),
    ("parent", "Parent"),
    ("enseignant", "Enseignant"),
    ("personnel", "Personnel non enseignant"),
];

/// Colours and banner of an establishment's portal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Theme {
    /// Main colour, `#rrggbb`.
    pub primary: String,
    /// Accent colour, `#rrggbb`.
    pub accent: String,
    /// Banner image: `https://…` or `/static/…`; empty for the theme's default.
    #[serde(default)]
    pub banner_url: String,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            primary: "#1f5f8b".into(),
            accent: "#e07a1f".into(),
            banner_url: String::new(),
        }
    }
}

/// An establishment (collège, lycée…), identified by its UAI.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Establishment {
    /// UAI code, e.g. `0420003A`.
    pub uai: String,
    /// Name, e.g. `Collège du Pilat`.
    pub name: String,
    /// Kind: `Collège`, `Lycée`…
    #[serde(default)]
    pub kind: String,
    /// Town.
    #[serde(default)]
    pub city: String,
    /// Appearance.
    #[serde(default)]
    pub theme: Theme,
}

/// A person's place in an establishment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Membership {
    /// Establishment UAI.
    pub uai: String,
    /// Profile code (see [`PROFILES`]).
    pub profile: String,
    /// Establishment administrator.
    #[serde(default)]
    pub admin: bool,
    /// Groups (classes, free groups).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Functions (direction, CPE…).
    #[serde(default)]
    pub functions: Vec<String>,
}

/// A person with an account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Stable id (`u` + number).
    pub id: String,
    /// Login, lowercase.
    pub login: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Region administrator: every right everywhere.
    #[serde(default)]
    pub region_admin: bool,
    /// Establishments and profiles.
    #[serde(default)]
    pub memberships: Vec<Membership>,
    /// Blocked accounts cannot sign in.
    #[serde(default)]
    pub blocked: bool,
}

impl User {
    /// `Prénom Nom`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }

    /// The membership in `uai`, if any.
    pub fn membership(&self, uai: &str) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.uai == uai)
    }

    /// Region administrator, or administrator of `uai`.
    pub fn administers(&self, uai: &str) -> bool {
        self.region_admin || self.membership(uai).is_some_and(|m| m.admin)
    }
}

/// A signed-in session, stored under the SHA-256 of its token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// Who.
    pub user_id: String,
    /// CSRF token of this session.
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Session lifetime.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// 128 random bits as 32 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_key(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `uai` is a well-formed UAI: 7 digits and the check letter.
pub fn valid_uai(uai: &str) -> bool {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    let bytes = uai.as_bytes();
    if bytes.len() != 8 || !bytes[..7].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let number: u64 = uai[..7].parse().unwrap_or(0);
    LETTERS[(number % 23) as usize] == bytes[7]
}

/// argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1).
fn argon2() -> argon2::Argon2<'static> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("paramètres argon2 valides");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Hashes a password (CPU-heavy: call through [`PasswordPool`]).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("hachage du mot de passe : {e}"))
}

/// Whether `password` matches `hash` (CPU-heavy).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Runs argon2 on a bounded number of blocking threads, so that a login storm
/// queues up instead of starving page rendering.
#[derive(Clone)]
pub struct PasswordPool {
    permits: Arc<tokio::sync::Semaphore>,
    /// A hash to verify against when the login is unknown (same cost, no user enumeration by timing).
    dummy_hash: Arc<String>,
}

impl PasswordPool {
    /// A pool of `size` concurrent hashings.
    pub fn new(size: usize) -> Result<Self> {
        Ok(PasswordPool {
            permits: Arc::new(tokio::sync::Semaphore::new(size.max(1))),
            dummy_hash: Arc::new(hash_password(&random_token())?),
        })
    }

    /// Verifies on the pool; `hash` None verifies against a dummy and returns false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let dummy = self.dummy_hash.clone();
        tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                verify_password(&password, &dummy);
                false
            }
        })
        .await
        .unwrap_or(false)
    }

    /// Hashes on the pool.
    pub async fn hash(&self, password: String) -> Result<String> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || hash_password(&password)).await?
    }
}

/// Typed access to the directory's data in a [`Store`].
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn Store>,
}

/// Enablement and configuration of one plugin in one establishment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PluginSetting {
    /// Enabled here.
    pub enabled: bool,
    /// Validated configuration (JSON object).
    #[serde(default)]
    pub config: serde_json::Value,
}

/// Roles granted per profile, for one (establishment, plugin).
pub type Grants = BTreeMap<String, Vec<String>>;

impl Directory {
    /// The directory over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Directory { store }
    }

    /// Every establishment, by UAI.
    pub fn establishments(&self) -> Result<Vec<Establishment>> {
        Ok(self
            .store
            .scan_json::<Establishment>(Space::Establishments, "")?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    /// One establishment.
    pub fn establishment(&self, uai: &str) -> Result<Option<Establishment>> {
        self.store.get_json(Space::Establishments, uai)
    }

    /// Creates or replaces an establishment.
    pub fn put_establishment(&self, establishment: &Establishment) -> Result<()> {
        if !valid_uai(&establishment.uai) {
            bail!("UAI invalide « {} »", establishment.uai);
        }
        self.store
            .put_json(Space::Establishments, &establishment.uai, establishment)
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> Result<Option<User>> {
        self.store.get_json(Space::Users, id)
    }

    /// Every user (for small directories: the demo, administration lists).
    pub fn users(&self) -> Result<Vec<User>> {
        Ok(self
            .store
            .scan_json::<User>(Space::Users, "")?
            .into_iter()
            .map(|(_, u)| u)
            .collect())
    }

    /// A user by login (case-insensitive).
    pub fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        let login = login.trim().to_lowercase();
        match self.store.get(Space::Logins, login.as_bytes())? {
            Some(id) => self.user(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// Whether any account exists.
    pub fn has_users(&self) -> Result<bool> {
        Ok(!self
            .store
            .scan(Space::Users, b"", None, 1, false)?
            .is_empty())
    }

    /// Creates a user; fails if the login is taken. The login is claimed atomically first.
    pub fn create_user(&self, mut user: User) -> Result<User> {
        user.login = user.login.trim().to_lowercase();
        if user.id.is_empty() {
            user.id = format!("u{}", self.store.next_id()?);
        }
        let claimed = self.store.compare_and_swap(
            Space::Logins,
            user.login.as_bytes(),
            None,
            Some(user.id.as_bytes()),
        )?;
        if !claimed {
            bail!("l'identifiant « {} » est déjà utilisé", user.login);
        }
        self.store.put_json(Space::Users, &user.id, &user)?;
        Ok(user)
    }

    /// Opens a session for `user_id`; returns (token, session).
    pub fn open_session(&self, user_id: &str) -> Result<(String, Session)> {
        let token = random_token();
        let session = Session {
            user_id: user_id.to_string(),
            csrf: random_token(),
            expires_at: now() + SESSION_SECONDS,
        };
        self.store
            .put_json(Space::Sessions, &token_key(&token), &session)?;
        Ok((token, session))
    }

    /// The live session of a token.
    pub fn session(&self, token: &str) -> Result<Option<Session>> {
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let key = token_key(token);
        match self.store.get_json::<Session>(Space::Sessions, &key)? {
            Some(s) if s.expires_at > now() => Ok(Some(s)),
            Some(_) => {
                self.store.delete(Space::Sessions, key.as_bytes())?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Deletes a session server-side.
    pub fn close_session(&self, token: &str) -> Result<()> {
        self.store
            .delete(Space::Sessions, token_key(token).as_bytes())
    }

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
        let mut grants = Grants::new();
        for role in &manifest.roles {
            for profile in &role.default_profiles {
                grants
                    .entry(profile.clone())
                    .or_default()
                    .push(role.id.clone());
            }
        }
        self.put_grants(uai, &manifest.id, &grants)
    }

    /// The caller's roles in a plugin of an establishment: administrators hold
    /// every role; others hold the roles granted to their profile there.
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
        let grants = self.grants(uai, &manifest.id)?.unwrap_or_default();
        let granted = grants.get(&membership.profile).cloned().unwrap_or_default();
        // Only roles the manifest still defines.
        Ok(granted
            .into_iter()
            .filter(|r| manifest.roles.iter().any(|m| &m.id == r))
            .collect())
    }

    /// A region-wide setting.
    pub fn region_setting<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
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
        let entry = serde_json::json!({
            "at": now(),
            "actor": actor.login,
            "action": action,
            "target": target,
        });
        let key = format!("{:016x}", self.store.next_id()?);
        self.store
            .put_json(Space::Audit, &key, &entry)
            .context("journal d'audit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uai_check_letter() {
        assert!(valid_uai("0420003A"));
        assert!(valid_uai("0420013L"));
        assert!(!valid_uai("0420003B"));
        assert!(!valid_uai("042003A"));
        assert!(!valid_uai("../../x"));
    }

    #[test]
    fn argon2id_round_trip() {
        let hash = hash_password("preau-demo").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("preau-demo", &hash));
        assert!(!verify_password("autre", &hash));
    }
}
