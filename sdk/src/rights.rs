//! Rights on the plugin's own objects ("scopes": a resource domain, a resource…).
//!
//! Administrators, and holders of the manifest's `scoped_rights` role, grant the
//! plugin's roles per object on the host's « Droits d'accès » page
//! ([`crate::Invocation::rights_url`]). Scope ids: `[a-z0-9-]`, 1 to 64 characters.

use crate::bindings::preau::plugin::rights as host;

/// The caller's roles for one object, most specific scope first (e.g.
/// `["r-7", "d-3"]`: a resource, then its domain): the first scope on which rights
/// were set decides; when none has, the caller's roles in the plugin
/// ([`crate::Invocation::roles`]). Administrators hold every role; the manifest's
/// public roles are always kept.
pub fn roles_in(scopes: &[&str]) -> Vec<String> {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    host::roles_in(&scopes)
}
