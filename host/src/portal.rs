//! An establishment's portal: its rubriques (a tree of sections, public or
//! restricted, each holding its own instances of services), the blocks of its home
//! page and the rubriques subscribed to the "Actualités" block.
//!
//! One document per establishment (`portal/<uai>` in the settings space): the tree
//! is small, edited rarely, and read whole on every home page.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, Grants, User, now};
use crate::manifest::Manifest;

/// Id of the host's own news block in a home-page layout.
pub const NEWS_BLOCK: &str = "actualites";
/// Id of the host's "Mes services" block.
pub const SERVICES_BLOCK: &str = "mes-services";
/// Deepest nesting of rubriques.
pub const MAX_DEPTH: usize = 4;

/// Who may enter a restricted rubrique.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Populations {
    /// Profile codes.
    pub profiles: Vec<String>,
    /// Group ids.
    pub groups: Vec<String>,
}

/// A section of the portal.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rubrique {
    /// Slug, unique in the establishment (`bac-a-sable`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Parent rubrique; none at the root.
    pub parent: Option<String>,
    /// Plain-text presentation.
    pub description: String,
    /// Accès restreint: only `access` (and administrators) may enter.
    pub restricted: bool,
    /// Shown in the rubriques menu (a hidden rubrique is reachable by its link).
    pub visible: bool,
    /// Position among its siblings.
    pub order: u32,
    /// Services (plugin ids) shown in the rubrique, each with its own data.
    pub services: Vec<String>,
    /// Who may enter when restricted.
    pub access: Populations,
    /// Roles granted in this rubrique, per service (plugin id → grants).
    pub grants: BTreeMap<String, Grants>,
}

/// A subscription of a rubrique to the "Actualités" block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subscription {
    /// The rubrique (titulaire).
    pub rubrique: String,
    /// Profile that sees it; none = the whole establishment.
    pub profile: Option<String>,
    /// Statut: on or off.
    pub active: bool,
}

/// The portal of one establishment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Portal {
    /// Every rubrique, any depth.
    pub rubriques: Vec<Rubrique>,
    /// Home-page blocks in order: [`NEWS_BLOCK`] or `<plugin>/<block>`. None until the
    /// administrator chooses: then the news block and every enabled plugin's blocks.
    pub blocks: Option<Vec<String>>,
    /// Abonnements au bloc portail.
    pub subscriptions: Vec<Subscription>,
}

impl Portal {
    /// The portal of `uai` (empty if never edited).
    pub fn load(directory: &Directory, uai: &str) -> Result<Portal> {
        Ok(directory.setting(&key(uai))?.unwrap_or_default())
    }

    /// Stores it; durable when this returns.
    pub fn save(&self, directory: &Directory, uai: &str) -> Result<()> {
        directory.put_setting(&key(uai), self)
    }

    /// A rubrique by id.
    pub fn rubrique(&self, id: &str) -> Option<&Rubrique> {
        self.rubriques.iter().find(|r| r.id == id)
    }

    /// A rubrique by id, to edit.
    pub fn rubrique_mut(&mut self, id: &str) -> Option<&mut Rubrique> {
        self.rubriques.iter_mut().find(|r| r.id == id)
    }

    /// `id` and its ancestors, nearest first (stops on a cycle or a missing parent).
    pub fn lineage(&self, id: &str) -> Vec<&Rubrique> {
        let mut chain: Vec<&Rubrique> = Vec::new();
        let mut next = self.rubrique(id);
        while let Some(r) = next {
            if chain.iter().any(|c| c.id == r.id) || chain.len() > MAX_DEPTH + 1 {
                break;
            }
            chain.push(r);
            next = r.parent.as_deref().and_then(|p| self.rubrique(p));
        }
        chain
    }

    /// Children of `parent` (root when none), in order.
    pub fn children(&self, parent: Option<&str>) -> Vec<&Rubrique> {
        let mut children: Vec<&Rubrique> = self
            .rubriques
            .iter()
            .filter(|r| r.parent.as_deref() == parent)
            .collect();
        children.sort_by(|a, b| a.order.cmp(&b.order).then(a.title.cmp(&b.title)));
        children
    }

    /// Whether `candidate` is `id` or one of its descendants (a parent must not be).
    pub fn is_within(&self, candidate: &str, id: &str) -> bool {
        self.lineage(candidate).iter().any(|r| r.id == id)
    }

    /// Every rubrique in tree order with its depth.
    pub fn tree(&self) -> Vec<(usize, &Rubrique)> {
        fn walk<'a>(
            portal: &'a Portal,
            parent: Option<&str>,
            depth: usize,
            out: &mut Vec<(usize, &'a Rubrique)>,
        ) {
            if depth > MAX_DEPTH {
                return;
            }
            for child in portal.children(parent) {
                out.push((depth, child));
                walk(portal, Some(&child.id), depth + 1, out);
            }
        }
        let mut out = Vec::new();
        walk(self, None, 0, &mut out);
        out
    }
}

fn key(uai: &str) -> String {
    format!("portal/{uai}")
}

/// Whether `user` (none: anonymous) may enter rubrique `id` of `uai`: every
/// rubrique on the way from the root must be public or grant them access.
pub fn may_enter(
    directory: &Directory,
    portal: &Portal,
    user: Option<&User>,
    uai: &str,
    id: &str,
) -> Result<bool> {
    let lineage = portal.lineage(id);
    if lineage.is_empty() {
        return Ok(false);
    }
    if !lineage.iter().any(|r| r.restricted) {
        return Ok(true);
    }
    let Some(user) = user else {
        return Ok(false);
    };
    if user.blocked {
        return Ok(false);
    }
    if user.administers(uai) {
        return Ok(true);
    }
    let Some(membership) = user.membership(uai) else {
        return Ok(false);
    };
    if directory.closed(user, uai, now())?.is_some() {
        return Ok(false);
    }
    Ok(lineage.iter().filter(|r| r.restricted).all(|r| {
        r.access.profiles.contains(&membership.profile)
            || membership
                .groups
                .iter()
                .any(|g| r.access.groups.contains(g))
    }))
}

/// The roles of `user` for service `manifest` in rubrique `rubrique` (already
/// known to be enterable): the manifest's public roles for everyone who may enter,
/// plus the rubrique's grants; administrators hold every role.
pub fn roles_in(
    directory: &Directory,
    rubrique: &Rubrique,
    user: Option<&User>,
    uai: &str,
    manifest: &Manifest,
) -> Result<Vec<String>> {
    let mut granted: Vec<String> = manifest.public_role_ids();
    if let Some(user) = user.filter(|u| !u.blocked) {
        if user.administers(uai) {
            return Ok(manifest.role_ids());
        }
        if let Some(membership) = user.membership(uai)
            && directory.closed(user, uai, now())?.is_none()
            && let Some(grants) = rubrique.grants.get(&manifest.id)
        {
            granted.extend(grants.held_by(&user.id, &membership.profile, &membership.groups));
        }
    }
    Ok(manifest
        .roles
        .iter()
        .filter(|r| granted.contains(&r.id))
        .map(|r| r.id.clone())
        .collect())
}

/// A slug from a title: lower-case ASCII letters, digits and dashes.
pub fn slug(title: &str) -> String {
    let folded = crate::directory::naming::fold(title);
    let mut slug = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug.chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// Whether `id` can name a rubrique.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rubrique(id: &str, parent: Option<&str>) -> Rubrique {
        Rubrique {
            id: id.into(),
            title: id.into(),
            parent: parent.map(str::to_string),
            visible: true,
            ..Default::default()
        }
    }

    #[test]
    fn tree_and_lineage() {
        let portal = Portal {
            rubriques: vec![
                rubrique("b", None),
                rubrique("a", None),
                rubrique("a1", Some("a")),
                rubrique("loop1", Some("loop2")),
                rubrique("loop2", Some("loop1")),
            ],
            ..Default::default()
        };
        let tree: Vec<_> = portal
            .tree()
            .iter()
            .map(|(d, r)| (*d, r.id.clone()))
            .collect();
        assert_eq!(
            tree,
            vec![(0, "a".into()), (1, "a1".into()), (0, "b".into())]
        );
        assert_eq!(portal.lineage("a1").len(), 2);
        assert!(portal.is_within("a1", "a"));
        assert!(!portal.is_within("a", "a1"));
        assert_eq!(portal.lineage("loop1").len(), 2, "cycles end");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Bac à sable"), "bac-a-sable");
        assert_eq!(
            slug("  Conseil d'administration !"),
            "conseil-d-administration"
        );
        assert!(valid_id(&slug("Élèves & Parents")));
        assert!(!valid_id("a/b"));
    }
}
