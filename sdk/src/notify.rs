//! Notifications to people of the establishment, read on the host's
//! `/notifications` page (with an unread count in the header). Needs
//! `notify = true` in the manifest.

use crate::bindings::preau::plugin::notify as host;
use crate::http::{Error, Result};

/// Who receives a notification.
#[derive(Clone, Debug, PartialEq)]
pub enum Recipient {
    /// One person (user id, e.g. [`crate::Caller::id`]); ignored if not of this establishment.
    User(String),
    /// Everyone granted `role` in this plugin instance for the scope chain `scopes`
    /// (as [`crate::rights::roles_in`] resolves it; empty: the plugin's own grants).
    /// Administrators are not notified for holding every role.
    Role {
        /// Role id from the manifest.
        role: String,
        /// Most specific scope first.
        scopes: Vec<String>,
    },
}

/// A notification.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Notification {
    /// Who receives it; the caller is never notified of their own action.
    pub recipients: Vec<Recipient>,
    /// One line, plain text.
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// Path below the plugin's mount (e.g. `/reservation/42`), empty for none.
    pub link: String,
}

/// Sends `notification`; the number of people notified.
pub fn send(notification: &Notification) -> Result<u32> {
    let recipients: Vec<host::Recipient> = notification
        .recipients
        .iter()
        .map(|r| match r {
            Recipient::User(id) => host::Recipient::User(id.clone()),
            Recipient::Role { role, scopes } => host::Recipient::Role(host::RoleHolders {
                role: role.clone(),
                scopes: scopes.clone(),
            }),
        })
        .collect();
    host::send(&host::Notification {
        recipients,
        subject: notification.subject.clone(),
        body: notification.body.clone(),
        link: notification.link.clone(),
    })
    .map_err(Error::Internal)
}
