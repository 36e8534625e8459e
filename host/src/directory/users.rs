//! People with an account: their memberships in establishments, their logins.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::{Directory, naming, record, search};
use crate::store::{Op, Space};

/// Keys listing a user as member of each of their groups (`g␟<group>␟<user>`).
fn group_member_keys(user: &User) -> Vec<Vec<u8>> {
    user.memberships
        .iter()
        .flat_map(|m| m.groups.iter())
        .map(|g| format!("g\x1f{g}\x1f{}", user.id).into_bytes())
        .collect()
}

/// A person's place in an establishment.
#[derive(Clone, Debug, Default, Hash, Serialize, Deserialize)]
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
    /// Birth date, when an import or an administrator gave it (imports match
    /// people on it).
    pub birth_date: Option<preau_text::Date>,
    /// Identifiers other software gives this person, as (kind, value): `INE`,
    /// `SIECLE`, `AAF` (see `provisioning::matching::IdKind`). The Pronote
    /// identifier has its own field.
    pub identifiers: Vec<(String, String)>,
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

impl Directory {
    /// A user by id.
    pub fn user(&self, id: &str) -> Result<Option<User>> {
        self.store
            .get(Space::Users, id.as_bytes())?
            .map(|bytes| record::decode(&bytes))
            .transpose()
    }

    /// Every user (for small directories: the demo, administration lists).
    pub fn users(&self) -> Result<Vec<User>> {
        self.store
            .scan(Space::Users, b"u", None, usize::MAX, false)?
            .iter()
            .map(|(_, bytes)| record::decode(bytes))
            .collect()
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

    /// Stores a user and its index entries in one atomic batch; `old` is the
    /// previous version, whose index entries are removed. A new password (own change, regenerated, reset) ends every session of
    /// the account; so does blocking it (and a blocked account's session, if
    /// any survived, is refused anyway: `web/visitor.rs`).
    pub fn save_user(&self, old: Option<&User>, user: &User) -> Result<()> {
        self.save_user_keeping(old, user, None)
    }

    /// [`Self::save_user`], except that a password change keeps the session of
    /// `keep` (the person changing their own password) and ends every other.
    pub fn save_user_keeping(
        &self,
        old: Option<&User>,
        user: &User,
        keep: Option<&str>,
    ) -> Result<()> {
        self.write_user(old, user)?;
        if user.blocked && old.is_none_or(|old| !old.blocked) {
            // Blocking signs the person out everywhere, whoever blocks and
            // however (administrator, import): no session of theirs is kept.
            self.close_sessions_of(&user.id, None)?;
        } else if old.is_some_and(|old| old.password_hash != user.password_hash) {
            self.close_sessions_of(&user.id, keep)?;
        }
        Ok(())
    }

    fn write_user(&self, old: Option<&User>, user: &User) -> Result<()> {
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
        ops.push(Op::Put(user.id.as_bytes().to_vec(), record::encode(user)));
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
}
