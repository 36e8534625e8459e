//! Rights on a plugin's own objects ("scopes": a resource domain, a resource…) and
//! the people holding a role, for notifications.
//!
//! A plugin instance (establishment or rubrique) has its grants; each of its objects
//! may have its own, stored under `<uai>/<plugin>@<scope>` (`<uai>#<rubrique>/<plugin>@<scope>`
//! in a rubrique). A plugin asks for the caller's roles with a chain of scopes, most
//! specific first: the first scope with grants decides, otherwise the instance's.

use anyhow::Result;

use crate::directory::{Directory, Grants, User, now, search};
use crate::manifest::Manifest;
use crate::portal::Portal;
use crate::store::{Space, StoreExt};

/// Most recipients one notification may reach: a plugin cannot mail the whole region.
pub const MAX_HOLDERS: usize = 5_000;

/// `[a-z0-9-]`, 1 to 64 characters.
pub fn valid_scope(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 64
        && scope
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A plugin instance: establishment and, inside it, the rubrique if any.
#[derive(Clone, Copy, Debug)]
pub struct Instance<'a> {
    /// Establishment UAI.
    pub uai: &'a str,
    /// Rubrique id, none for the establishment's own instance.
    pub rubrique: Option<&'a str>,
    /// The plugin.
    pub manifest: &'a Manifest,
}

impl Instance<'_> {
    fn key(&self, scope: &str) -> String {
        match self.rubrique {
            // `#` never appears in a UAI: no overlap with the establishment's keys.
            Some(r) => format!("{}#{r}/{}@{scope}", self.uai, self.manifest.id),
            None => format!("{}/{}@{scope}", self.uai, self.manifest.id),
        }
    }

    /// The grants set on `scope`, none if nobody set rights there.
    pub fn scoped_grants(&self, directory: &Directory, scope: &str) -> Result<Option<Grants>> {
        directory.store().get_json(Space::Grants, &self.key(scope))
    }

    /// Stores the grants of `scope`; durable on return.
    pub fn put_scoped_grants(
        &self,
        directory: &Directory,
        scope: &str,
        grants: &Grants,
    ) -> Result<()> {
        directory
            .store()
            .put_json(Space::Grants, &self.key(scope), grants)?;
        self.rights_changed(directory)
    }

    /// What the plugin rendered for people (cached blocks) may depend on these
    /// rights: its version moves on, once the rights are written.
    fn rights_changed(&self, directory: &Directory) -> Result<()> {
        crate::store::usage::bump_rights_version(directory.store(), self.uai, &self.manifest.id)
    }

    /// Drops the grants of `scope`: the object follows its parent's again.
    pub fn forget_scoped_grants(&self, directory: &Directory, scope: &str) -> Result<()> {
        directory
            .store()
            .delete(Space::Grants, self.key(scope).as_bytes())?;
        self.rights_changed(directory)
    }

    /// The first scope of the chain with grants set, and its grants.
    fn decisive(&self, directory: &Directory, scopes: &[String]) -> Result<Option<Grants>> {
        for scope in scopes.iter().filter(|s| valid_scope(s)) {
            if let Some(grants) = self.scoped_grants(directory, scope)? {
                return Ok(Some(grants));
            }
        }
        Ok(None)
    }

    /// The caller's roles for an object: `base` (their roles in the instance) when
    /// no scope of the chain has grants; otherwise that scope's grants, plus the
    /// public roles of `base`. Administrators hold every role.
    pub fn roles_in(
        &self,
        directory: &Directory,
        user: Option<&User>,
        scopes: &[String],
        base: &[String],
    ) -> Result<Vec<String>> {
        let Some(grants) = self.decisive(directory, scopes)? else {
            return Ok(base.to_vec());
        };
        let manifest = self.manifest;
        if user.is_some_and(|u| !u.blocked && u.administers(self.uai)) {
            return Ok(manifest.role_ids());
        }
        let mut held: Vec<String> = base
            .iter()
            .filter(|r| manifest.roles.iter().any(|m| m.public && &m.id == *r))
            .cloned()
            .collect();
        if let Some(user) = user {
            held.extend(granted(directory, user, self.uai, &grants)?);
        }
        Ok(manifest
            .roles
            .iter()
            .filter(|r| held.contains(&r.id))
            .map(|r| r.id.clone())
            .collect())
    }

    /// User ids of everyone granted `role` for `scopes` (administrators are not
    /// counted for holding every role), at most [`MAX_HOLDERS`].
    pub fn holders(
        &self,
        directory: &Directory,
        role: &str,
        scopes: &[String],
    ) -> Result<Vec<String>> {
        let portal = match self.rubrique {
            Some(_) => Some(Portal::load(directory, self.uai)?),
            None => None,
        };
        let grants = match self.decisive(directory, scopes)? {
            Some(grants) => grants,
            None => match (&portal, self.rubrique) {
                (Some(portal), Some(rubrique)) => portal
                    .rubrique(rubrique)
                    .and_then(|r| r.grants.get(&self.manifest.id).cloned())
                    .unwrap_or_default(),
                _ => directory
                    .grants(self.uai, &self.manifest.id)?
                    .unwrap_or_default(),
            },
        };
        let holds = |roles: &Vec<String>| roles.iter().any(|r| r == role);
        let mut candidates: Vec<String> = grants
            .users
            .iter()
            .filter(|(_, roles)| holds(roles))
            .map(|(id, _)| id.clone())
            .collect();
        for (group, _) in grants.groups.iter().filter(|(_, roles)| holds(roles)) {
            candidates.extend(directory.group_member_ids(group)?);
        }
        let profiles: Vec<&String> = grants
            .profiles
            .iter()
            .filter(|(_, roles)| holds(roles))
            .map(|(p, _)| p)
            .collect();
        if !profiles.is_empty() {
            candidates.extend(
                search::everyone_in(directory.store(), self.uai)?
                    .into_iter()
                    .filter(|p| profiles.iter().any(|pr| p.has_profile(Some(self.uai), pr)))
                    .map(|p| p.id),
            );
        }
        candidates.sort();
        candidates.dedup();
        let mut holders = Vec::new();
        for id in candidates {
            if holders.len() >= MAX_HOLDERS {
                break;
            }
            let Some(user) = directory.user(&id)? else {
                continue;
            };
            if let (Some(portal), Some(rubrique)) = (&portal, self.rubrique)
                && !crate::portal::may_enter(directory, portal, Some(&user), self.uai, rubrique)?
            {
                continue;
            }
            if granted(directory, &user, self.uai, &grants)?
                .iter()
                .any(|r| r == role)
            {
                holders.push(id);
            }
        }
        Ok(holders)
    }
}

/// The roles `grants` give `user` in `uai` (profile, groups, personally), not
/// counting administrator status; none for a blocked account, a non-member or a
/// profile outside its access window.
pub fn granted(
    directory: &Directory,
    user: &User,
    uai: &str,
    grants: &Grants,
) -> Result<Vec<String>> {
    if user.blocked {
        return Ok(Vec::new());
    }
    let Some(membership) = user.membership(uai) else {
        return Ok(Vec::new());
    };
    if directory.closed(user, uai, now())?.is_some() {
        return Ok(Vec::new());
    }
    Ok(grants.held_by(&user.id, &membership.profile, &membership.groups))
}
