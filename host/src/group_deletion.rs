//! Deleting a group of an establishment: what names it (members, gestionnaires,
//! rights, rubriques, the services catalogue), said on the confirmation page, then
//! removed everywhere so that no grant or access outlives the group it named.
//!
//! Above `directory`, `portal` and `services` because a group is named in all three.

use std::collections::BTreeSet;

use anyhow::Result;

use crate::directory::{Directory, Grants, Group, User};
use crate::portal::Portal;
use crate::services;
use crate::store::{Space, StoreExt, usage};

/// Everything that names a group, read before deleting it.
#[derive(Debug, Default)]
pub struct Footprint {
    /// Its members.
    pub members: Vec<User>,
    /// Display names of its gestionnaires who still have an account.
    pub managers: Vec<String>,
    /// Plugins whose rights (the establishment's, a rubrique's, an object's) grant it a role.
    pub plugins: BTreeSet<String>,
    /// Titles of the rubriques whose rights or restricted access name it.
    pub rubriques: Vec<String>,
    /// Services of the catalogue opened to it (connector label, plugin id or region code).
    pub services: Vec<String>,
    /// Keys of the `Grants` space naming it.
    grant_keys: Vec<String>,
}

fn names(grants: &Grants, group: &str) -> bool {
    grants.groups.contains_key(group)
}

/// The plugin of a `Grants` key: `<uai>/<plugin>`, `<uai>/<plugin>@<scope>`,
/// `<uai>#<rubrique>/<plugin>@<scope>`.
fn plugin_of(key: &str) -> Option<&str> {
    let (_, rest) = key.split_once('/')?;
    Some(rest.split_once('@').map_or(rest, |(plugin, _)| plugin))
}

/// What deleting `group` would take away.
pub fn footprint(directory: &Directory, group: &Group) -> Result<Footprint> {
    let uai = &group.uai;
    let mut footprint = Footprint {
        members: directory.group_members(&group.id)?,
        ..Default::default()
    };
    for id in &group.managers {
        if let Some(user) = directory.user(id)? {
            footprint.managers.push(user.display_name());
        }
    }
    for prefix in [format!("{uai}/"), format!("{uai}#")] {
        let entries =
            directory
                .store()
                .scan(Space::Grants, prefix.as_bytes(), None, usize::MAX, false)?;
        for (key, value) in entries {
            let key = String::from_utf8_lossy(&key).into_owned();
            let Ok(grants) = serde_json::from_slice::<Grants>(&value) else {
                continue;
            };
            if names(&grants, &group.id) {
                if let Some(plugin) = plugin_of(&key) {
                    footprint.plugins.insert(plugin.to_string());
                }
                footprint.grant_keys.push(key);
            }
        }
    }
    let portal = Portal::load(directory, uai)?;
    for rubrique in &portal.rubriques {
        let in_grants: Vec<&String> = rubrique
            .grants
            .iter()
            .filter(|(_, g)| names(g, &group.id))
            .map(|(plugin, _)| plugin)
            .collect();
        footprint
            .plugins
            .extend(in_grants.iter().map(|p| p.to_string()));
        if !in_grants.is_empty() || rubrique.access.groups.contains(&group.id) {
            footprint.rubriques.push(rubrique.title.clone());
        }
    }
    let catalogue = services::establishment_catalogue(directory, uai)?;
    let opened = |access: &services::Access| access.groups.contains(&group.id);
    footprint.services.extend(
        catalogue
            .connectors
            .iter()
            .filter(|c| opened(&c.access))
            .map(|c| c.label.clone()),
    );
    footprint.services.extend(
        catalogue
            .plugins
            .iter()
            .chain(&catalogue.region)
            .filter(|(_, p)| opened(&p.access))
            .map(|(code, _)| code.clone()),
    );
    Ok(footprint)
}

/// Deletes `group`: out of its members' memberships, its grants, its rubriques'
/// rights and access, the catalogue's access lists; the group record goes last, so
/// that an interrupted deletion leaves a group that can be deleted again.
pub fn delete(directory: &Directory, group: &Group) -> Result<Footprint> {
    let uai = &group.uai;
    let footprint = footprint(directory, group)?;
    for old in &footprint.members {
        let mut user = old.clone();
        for membership in user.memberships.iter_mut().filter(|m| &m.uai == uai) {
            membership.groups.retain(|g| g != &group.id);
        }
        directory.save_user(Some(old), &user)?;
    }
    for key in &footprint.grant_keys {
        if let Some(mut grants) = directory.store().get_json::<Grants>(Space::Grants, key)? {
            grants.groups.remove(&group.id);
            directory.store().put_json(Space::Grants, key, &grants)?;
        }
    }
    let mut portal = Portal::load(directory, uai)?;
    let mut portal_changed = false;
    for rubrique in &mut portal.rubriques {
        let before = rubrique.clone();
        rubrique.access.groups.retain(|g| g != &group.id);
        for grants in rubrique.grants.values_mut() {
            grants.groups.remove(&group.id);
        }
        portal_changed |= *rubrique != before;
    }
    if portal_changed {
        portal.save(directory, uai)?;
    }
    if !footprint.services.is_empty() {
        let mut catalogue = services::establishment_catalogue(directory, uai)?;
        let forget = |access: &mut services::Access| access.groups.retain(|g| g != &group.id);
        catalogue
            .connectors
            .iter_mut()
            .for_each(|c| forget(&mut c.access));
        catalogue
            .plugins
            .values_mut()
            .chain(catalogue.region.values_mut())
            .for_each(|p| forget(&mut p.access));
        services::put_establishment_catalogue(directory, uai, &catalogue)?;
    }
    // Blocks cached for the group's members were rendered with its rights.
    for plugin in &footprint.plugins {
        usage::bump_rights_version(directory.store(), uai, plugin)?;
    }
    directory.delete_group(uai, &group.id)?;
    Ok(footprint)
}

#[cfg(test)]
mod tests {
    use super::plugin_of;

    #[test]
    fn the_plugin_of_every_kind_of_grants_key() {
        assert_eq!(plugin_of("0420003A/blog"), Some("blog"));
        assert_eq!(plugin_of("0420003A/reservations@d-3"), Some("reservations"));
        assert_eq!(plugin_of("0420003A#cdi/forum@x"), Some("forum"));
        assert_eq!(plugin_of("0420003A"), None);
    }
}
