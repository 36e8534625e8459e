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
use crate::store::{Op, Space, Store, StoreExt};

pub mod identifiers;
pub mod naming;
pub mod password_policy;
pub mod search;

/// Keys listing a user as member of each of their groups (`g␟<group>␟<user>`).
fn group_member_keys(user: &User) -> Vec<Vec<u8>> {
    user.memberships
        .iter()
        .flat_map(|m| m.groups.iter())
        .map(|g| format!("g\x1f{g}\x1f{}", user.id).into_bytes())
        .collect()
}

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
    /// Banner image: `https://…`, `/static/…` or the uploaded `/e/<uai>/banniere?v=…`;
    /// empty for the theme's default.
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

/// Key of an establishment's uploaded banner in `Space::Files`: outside the
/// `<uai>/` prefix of the generated files, so that the identifiers files'
/// pages never list, download or delete it.
fn banner_key(uai: &str) -> String {
    format!("banniere/{uai}")
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
    /// IANA time zone (`Europe/Paris`; overseas `Indian/Reunion`, `America/Cayenne`…):
    /// the local time of the dates shown for the establishment and of its plugins.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

/// The time zone of establishments stored before it was a setting: metropolitan France.
fn default_time_zone() -> String {
    preau_text::zone::DEFAULT_TIME_ZONE.to_string()
}

/// A person's place in an establishment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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
    /// Disciplines de poste, `FONCTION / DISCIPLINE` (e.g.
    /// `PERSONNELS MEDICO-SOCIAUX / P9222 - SERVICE SOCIAL DES ELEVES`).
    #[serde(default)]
    pub disciplines: Vec<String>,
}

/// A person with an account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
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
    /// `M.` or `Mme`.
    pub civility: String,
    /// E-mail address (optional).
    pub email: String,
    /// Personal phone (optional).
    pub phone_personal: String,
    /// Work phone (optional).
    pub phone_work: String,
    /// *Compte pérenne*: kept from one school year to the next.
    pub perenne: bool,
    /// Pronote identifier, for the Pronote link.
    pub pronote_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Last sign-in, None if never signed in.
    pub last_login: Option<i64>,
    /// Initial password, kept for the identifiers file until the first sign-in.
    pub pending_secret: Option<String>,
    /// A parent's children (user ids).
    pub children: Vec<String>,
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

/// Runs argon2 on a bounded number of low-priority threads, so that a login storm
/// queues up instead of starving page rendering.
#[derive(Clone)]
pub struct PasswordPool {
    permits: Arc<tokio::sync::Semaphore>,
    threads: crate::background::LowPriorityPool,
    /// A hash to verify against when the login is unknown (same cost, no user enumeration by timing).
    dummy_hash: Arc<String>,
}

impl PasswordPool {
    /// A pool of `size` concurrent hashings.
    pub fn new(size: usize) -> Result<Self> {
        Ok(PasswordPool {
            permits: Arc::new(tokio::sync::Semaphore::new(size.max(1))),
            threads: crate::background::LowPriorityPool::new("preau-argon2", size.max(1))?,
            dummy_hash: Arc::new(hash_password(&random_token())?),
        })
    }

    /// Verifies on the pool; `hash` None verifies against a dummy and returns false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let dummy = self.dummy_hash.clone();
        self.threads
            .run(move || match hash {
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
        self.threads.run(move || hash_password(&password)).await?
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

/// Kinds of groups.
pub const GROUP_KINDS: &[(&str, &str)] = &[
    ("classe", "Classe"),
    ("groupe", "Groupe d'enseignement"),
    ("libre", "Groupe libre"),
];

/// A group of an establishment: a class, a teaching group, a free group.
/// Members hold it in their membership; adding someone gives them the group's rights.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    /// Id (`g` + number).
    pub id: String,
    /// Establishment.
    pub uai: String,
    /// `classe`, `groupe` or `libre`.
    pub kind: String,
    /// Name (`4A`, `Conseil d'administration`).
    pub name: String,
    /// Level of a class (`6e`, `5e`, `2nde`…), empty otherwise.
    pub level: String,
    /// Users who manage the group's membership.
    pub managers: Vec<String>,
}

/// A period during which a profile of an establishment cannot sign in
/// (pupils and parents before the rentrée). Stacks with individual blocks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessWindow {
    /// Id (for deletion).
    pub id: String,
    /// Profile code.
    pub profile: String,
    /// Blocked from (Unix seconds).
    pub blocked_from: i64,
    /// Opens again at (Unix seconds).
    pub opens_at: i64,
}

/// Why someone may not sign in to an establishment now.
#[derive(Clone, Debug, PartialEq)]
pub enum Closed {
    /// Individually blocked.
    Blocked,
    /// Their profile's access opens at this time.
    Until(i64),
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
        if let Err(message) = preau_text::zone::check(&establishment.time_zone) {
            bail!("{message}");
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
            .scan_json::<User>(Space::Users, "u")?
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
            .scan(Space::Users, b"u", None, 1, false)?
            .is_empty())
    }

    /// Creates a user; fails if the login is taken. The login is claimed atomically first.
    pub fn create_user(&self, mut user: User) -> Result<User> {
        user.login = user.login.trim().to_lowercase();
        if user.id.is_empty() {
            user.id = format!("u{}", self.store.next_id()?);
        }
        if !self.claim_login(&user.login, &user.id)? {
            bail!("l'identifiant « {} » est déjà utilisé", user.login);
        }
        self.save_user(None, &user)?;
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

    /// Stores a user and its index entries in one atomic batch; `old` is the
    /// previous version, whose index entries are removed.
    pub fn save_user(&self, old: Option<&User>, user: &User) -> Result<()> {
        let mut ops = Vec::new();
        if let Some(old) = old {
            ops.extend(search::unindex_ops(old));
            ops.extend(group_member_keys(old).into_iter().map(Op::Delete));
        }
        ops.extend(search::index_ops(user));
        ops.extend(
            group_member_keys(user)
                .into_iter()
                .map(|k| Op::Put(k, Vec::new())),
        );
        ops.push(Op::Put(
            user.id.as_bytes().to_vec(),
            serde_json::to_vec(user)?,
        ));
        self.store.batch(Space::Users, ops)
    }

    /// Claims `login` for `user_id`; false if someone else has it.
    pub fn claim_login(&self, login: &str, user_id: &str) -> Result<bool> {
        self.store.compare_and_swap(
            Space::Logins,
            login.as_bytes(),
            None,
            Some(user_id.as_bytes()),
        )
    }

    /// Releases a login (after a rename).
    pub fn release_login(&self, login: &str) -> Result<()> {
        self.store.delete(Space::Logins, login.as_bytes())
    }

    /// Whether a login is taken.
    pub fn login_taken(&self, login: &str) -> Result<bool> {
        Ok(self.store.get(Space::Logins, login.as_bytes())?.is_some())
    }

    /// The first free login of the `prenom.nom` family (`prenom.nom`, `prenom.nom2`…), claimed for `user_id`.
    pub fn claim_generated_login(
        &self,
        first_name: &str,
        last_name: &str,
        user_id: &str,
    ) -> Result<String> {
        let base = naming::login_base(first_name, last_name);
        for n in 1..10_000 {
            let candidate = naming::login_candidate(&base, n);
            if self.claim_login(&candidate, user_id)? {
                return Ok(candidate);
            }
        }
        bail!("aucun identifiant libre pour {base}")
    }

    /// A fresh id with a prefix (`u`, `g`…).
    pub fn new_id(&self, prefix: &str) -> Result<String> {
        Ok(format!("{prefix}{}", self.store.next_id()?))
    }

    /// Groups of an establishment, by kind then name.
    pub fn groups(&self, uai: &str) -> Result<Vec<Group>> {
        let mut groups: Vec<Group> = self
            .store
            .scan_json::<Group>(Space::Groups, &format!("{uai}/"))?
            .into_iter()
            .map(|(_, g)| g)
            .collect();
        groups.sort_by(|a, b| {
            (a.kind.as_str(), naming::search_key(&a.name))
                .cmp(&(b.kind.as_str(), naming::search_key(&b.name)))
        });
        Ok(groups)
    }

    /// One group of an establishment.
    pub fn group(&self, uai: &str, id: &str) -> Result<Option<Group>> {
        self.store.get_json(Space::Groups, &format!("{uai}/{id}"))
    }

    /// Creates or replaces a group.
    pub fn put_group(&self, group: &Group) -> Result<()> {
        self.store
            .put_json(Space::Groups, &format!("{}/{}", group.uai, group.id), group)
    }

    /// Ids of a group's members.
    pub fn group_member_ids(&self, group_id: &str) -> Result<Vec<String>> {
        let prefix = format!("g\x1f{group_id}\x1f");
        Ok(self
            .store
            .scan(
                Space::DirectoryIndex,
                prefix.as_bytes(),
                None,
                usize::MAX,
                false,
            )?
            .into_iter()
            .map(|(k, _)| String::from_utf8_lossy(&k[prefix.len()..]).into_owned())
            .collect())
    }

    /// A group's members.
    pub fn group_members(&self, group_id: &str) -> Result<Vec<User>> {
        let mut members = Vec::new();
        for id in self.group_member_ids(group_id)? {
            if let Some(user) = self.user(&id)? {
                members.push(user);
            }
        }
        members.sort_by_key(|u| {
            (
                naming::search_key(&u.last_name),
                naming::search_key(&u.first_name),
            )
        });
        Ok(members)
    }

    /// Access windows of an establishment.
    pub fn access_windows(&self, uai: &str) -> Result<Vec<AccessWindow>> {
        Ok(self
            .store
            .get_json(Space::Settings, &format!("windows/{uai}"))?
            .unwrap_or_default())
    }

    /// Replaces the access windows of an establishment.
    pub fn put_access_windows(&self, uai: &str, windows: &[AccessWindow]) -> Result<()> {
        self.store
            .put_json(Space::Settings, &format!("windows/{uai}"), &windows)
    }

    /// Whether `user` may sign in to `uai` at `at`: individual blocks and the
    /// windows of their profile there both apply.
    pub fn closed(&self, user: &User, uai: &str, at: i64) -> Result<Option<Closed>> {
        if user.blocked {
            return Ok(Some(Closed::Blocked));
        }
        let Some(membership) = user.membership(uai) else {
            return Ok(None);
        };
        if membership.admin {
            return Ok(None);
        }
        let opens = self
            .access_windows(uai)?
            .into_iter()
            .filter(|w| w.profile == membership.profile && w.blocked_from <= at && at < w.opens_at)
            .map(|w| w.opens_at)
            .max();
        Ok(opens.map(Closed::Until))
    }

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

    /// The audit log, newest first, at most `limit` entries.
    pub fn audit_entries(&self, limit: usize) -> Result<Vec<serde_json::Value>> {
        self.store
            .scan(Space::Audit, b"", None, limit, true)?
            .into_iter()
            .map(|(_, v)| Ok(serde_json::from_slice(&v)?))
            .collect()
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

    /// A setting stored under `key` (portal layout, approvals…).
    pub fn setting<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.store.get_json(Space::Settings, key)
    }

    /// Stores a setting under `key`; durable when this returns.
    pub fn put_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.store.put_json(Space::Settings, key, value)
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
    fn establishments_stored_before_time_zones_are_in_paris() {
        let old: Establishment =
            serde_json::from_str(r#"{"uai": "0420003A", "name": "Collège du Pilat"}"#).unwrap();
        assert_eq!(old.time_zone, "Europe/Paris");
        let reunion: Establishment = serde_json::from_str(
            r#"{"uai": "9740001A", "name": "Lycée", "time_zone": "Indian/Reunion"}"#,
        )
        .unwrap();
        assert_eq!(reunion.time_zone, "Indian/Reunion");
    }

    #[test]
    fn argon2id_round_trip() {
        let hash = hash_password("preau-demo").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("preau-demo", &hash));
        assert!(!verify_password("autre", &hash));
    }
}
