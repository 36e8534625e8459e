//! Which sled tree holds each [`Space`].

use crate::store::Space;

/// The trees behind the spaces, in [`Space::index`] order (the directory index
/// shares the users' tree).
pub(super) const TREES: [&str; 13] = [
    "establishments",
    "users",
    "logins",
    "sessions",
    "settings",
    "grants",
    "plugin-data",
    "audit",
    "groups",
    "files",
    "notifications",
    "uploads",
    "structure",
];

impl Space {
    pub(super) fn index(self) -> usize {
        match self {
            Space::Establishments => 0,
            Space::Users | Space::DirectoryIndex => 1,
            Space::Logins => 2,
            Space::Sessions => 3,
            Space::Settings => 4,
            Space::Grants => 5,
            Space::PluginData => 6,
            Space::Audit => 7,
            Space::Groups => 8,
            Space::Files => 9,
            Space::Notifications => 10,
            Space::Uploads => 11,
            Space::Structure => 12,
        }
    }
}
