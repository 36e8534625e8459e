//! Groups of an establishment: classes, teaching groups, free groups.

use std::collections::BTreeSet;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Directory, User, naming};
use crate::store::{Space, StoreExt};

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

fn managers_key(uai: &str) -> String {
    format!("group-managers/{uai}")
}

impl Directory {
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
            .put_json(Space::Groups, &format!("{}/{}", group.uai, group.id), group)?;
        self.refresh_group_managers(&group.uai)
    }

    /// Deletes a group's record (its members and grants are the caller's: `group_deletion`).
    pub fn delete_group(&self, uai: &str, id: &str) -> Result<()> {
        self.store
            .delete(Space::Groups, format!("{uai}/{id}").as_bytes())?;
        self.refresh_group_managers(uai)
    }

    /// Ids of the people who manage at least one group of `uai`: whether a
    /// person's navigation offers « Mes groupes », read with every page's
    /// chrome without scanning the groups.
    pub fn group_managers(&self, uai: &str) -> Result<Vec<String>> {
        match self.setting::<Vec<String>>(&managers_key(uai))? {
            Some(managers) => Ok(managers),
            // A store from before this setting: read from the groups until one is written.
            None => self.managers_in_groups(uai),
        }
    }

    fn managers_in_groups(&self, uai: &str) -> Result<Vec<String>> {
        let managers: BTreeSet<String> = self
            .groups(uai)?
            .into_iter()
            .flat_map(|g| g.managers)
            .collect();
        Ok(managers.into_iter().collect())
    }

    /// Rewrites [`Self::group_managers`] when it changed. It is a setting so that
    /// its change moves the configuration generation, which the navigation's
    /// cache follows; a group change that names no new manager writes nothing.
    fn refresh_group_managers(&self, uai: &str) -> Result<()> {
        let managers = self.managers_in_groups(uai)?;
        if self.setting::<Vec<String>>(&managers_key(uai))?.as_ref() != Some(&managers) {
            self.put_setting(&managers_key(uai), &managers)?;
        }
        Ok(())
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
}
