//! The host right « Accès gestionnaire vie scolaire »: who manages an
//! establishment's structure besides its administrators. Granted like a
//! plugin's role — to a profile, a group or a person of the establishment —
//! and kept beside plugin grants under `<uai>/@structure` (`@` never occurs in
//! a plugin id, so no plugin's grants can be mistaken for it).

use anyhow::Result;

use crate::directory::{Directory, Grants, User, now};
use crate::store::{Space, StoreExt};

/// The one role of the right.
pub const ROLE: &str = "gestionnaire";

/// Its label, the manual's words.
pub const ROLE_LABEL: &str = "Accès gestionnaire vie scolaire";

fn key(uai: &str) -> String {
    format!("{uai}/@structure")
}

/// Who holds the right in `uai` (profiles, groups, people).
pub fn grants(directory: &Directory, uai: &str) -> Result<Grants> {
    Ok(directory
        .store()
        .get_json(Space::Grants, &key(uai))?
        .unwrap_or_default())
}

/// Replaces who holds the right in `uai`; durable on return.
pub fn put_grants(directory: &Directory, uai: &str, grants: &Grants) -> Result<()> {
    directory.store().put_json(Space::Grants, &key(uai), grants)
}

/// Whether `user` manages the structure of `uai`: its administrators (and the
/// region's) always; a member of it through the right, while their profile's
/// access window is open; nobody blocked, nobody of another establishment.
pub fn may_manage(directory: &Directory, user: &User, uai: &str) -> Result<bool> {
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
    let held = grants(directory, uai)?.held_by(&user.id, &membership.profile, &membership.groups);
    Ok(held.iter().any(|r| r == ROLE))
}
