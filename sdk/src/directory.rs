//! What a plugin may read of the establishment's directory: its groups, and the
//! profile codes the host uses.

use crate::bindings::preau::plugin::directory as host;

/// Profile codes and their French labels, as in [`crate::Caller::profiles`].
pub const PROFILES: &[(&str, &str)] = &[
    ("eleve", "Élève"),
    ("parent", "Parent"),
    ("enseignant", "Enseignant"),
    ("personnel", "Personnel"),
];

/// A group of the establishment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Stable id, as in [`crate::Caller::groups`].
    pub id: String,
    /// Name (e.g. `4A`, `Latin`).
    pub name: String,
    /// `classe`, `groupe` (teaching group) or `libre`.
    pub kind: String,
}

/// The establishment's groups, by name.
pub fn groups() -> Vec<Group> {
    host::groups()
        .into_iter()
        .map(|g| Group {
            id: g.id,
            name: g.name,
            kind: g.kind,
        })
        .collect()
}

/// The French label of a profile code (the code itself if unknown).
pub fn profile_label(code: &str) -> &str {
    PROFILES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, label)| label)
}
