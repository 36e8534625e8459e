//! Notifications plugins send to people (`notify` import), read at `/notifications`.
//!
//! Each user's notifications live under `n/<user>/<id>` (ids increase, so a reverse
//! scan is newest first); `c/<user>` counts the unread ones for the header badge,
//! updated by compare-and-swap so concurrent deliveries do not lose a count.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, now};
use crate::store::{Op, Space};

/// Newest notifications kept per user; older ones are dropped on delivery.
pub const KEPT_PER_USER: usize = 200;

/// One notification as stored and shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Notification {
    /// Unix seconds.
    pub at: i64,
    /// Establishment UAI.
    pub uai: String,
    /// Name of the service that sent it (e.g. `Réservations`).
    pub service: String,
    /// One line.
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// Absolute path on this portal, empty for none.
    pub link: String,
    /// Read by its recipient.
    #[serde(default)]
    pub read: bool,
}

fn item_prefix(user: &str) -> String {
    format!("n/{user}/")
}

fn counter_key(user: &str) -> String {
    format!("c/{user}")
}

/// Stores `notification` for each of `users`; durable on return.
pub fn deliver(directory: &Directory, users: &[String], notification: &Notification) -> Result<()> {
    let store = directory.store();
    let value = serde_json::to_vec(notification)?;
    for user in users {
        let id = store.next_id()?;
        let mut ops = vec![Op::Put(
            format!("{}{id:016x}", item_prefix(user)).into_bytes(),
            value.clone(),
        )];
        // Keep the newest ones only.
        let old = stored(directory, user, KEPT_PER_USER + 50)?;
        // Unread ones dropped this way no longer count.
        let mut dropped_unread = 0;
        for (key, value) in old.into_iter().skip(KEPT_PER_USER - 1) {
            if serde_json::from_slice::<Notification>(&value).is_ok_and(|n| !n.read) {
                dropped_unread += 1;
            }
            ops.push(Op::Delete(key));
        }
        store.batch(Space::Notifications, ops)?;
        add_unread(directory, user, 1 - dropped_unread)?;
    }
    Ok(())
}

fn add_unread(directory: &Directory, user: &str, delta: i64) -> Result<()> {
    let store = directory.store();
    let key = counter_key(user);
    loop {
        let current = store.get(Space::Notifications, key.as_bytes())?;
        let count: i64 = current
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        let next = (count + delta).max(0).to_string();
        if store.compare_and_swap(
            Space::Notifications,
            key.as_bytes(),
            current.as_deref(),
            Some(next.as_bytes()),
        )? {
            return Ok(());
        }
    }
}

/// How many notifications `user` has not read.
pub fn unread(directory: &Directory, user: &str) -> u64 {
    directory
        .store()
        .get(Space::Notifications, counter_key(user).as_bytes())
        .ok()
        .flatten()
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
        .unwrap_or(0)
}

/// The newest `limit` notifications of `user`.
pub fn newest(directory: &Directory, user: &str, limit: usize) -> Result<Vec<Notification>> {
    stored(directory, user, limit)?
        .into_iter()
        .map(|(_, v)| Ok(serde_json::from_slice(&v)?))
        .collect()
}

/// The newest `limit` stored entries (key, JSON) of `user`.
fn stored(directory: &Directory, user: &str, limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    directory.store().scan(
        Space::Notifications,
        item_prefix(user).as_bytes(),
        None,
        limit,
        true,
    )
}

/// Marks every notification of `user` read.
pub fn mark_all_read(directory: &Directory, user: &str) -> Result<()> {
    let entries = stored(directory, user, KEPT_PER_USER + 50)?;
    let mut ops = Vec::new();
    for (key, value) in entries {
        let mut n: Notification = serde_json::from_slice(&value)?;
        if !n.read {
            n.read = true;
            ops.push(Op::Put(key, serde_json::to_vec(&n)?));
        }
    }
    ops.push(Op::Put(counter_key(user).into_bytes(), b"0".to_vec()));
    directory.store().batch(Space::Notifications, ops)
}

/// A notification sent now.
pub fn new_notification(
    uai: &str,
    service: &str,
    subject: &str,
    body: &str,
    link: &str,
) -> Notification {
    Notification {
        at: now(),
        uai: uai.to_string(),
        service: service.to_string(),
        subject: subject.to_string(),
        body: body.to_string(),
        link: link.to_string(),
        read: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_are_kept_and_the_unread_count_follows() {
        let dir = std::env::temp_dir().join(format!("preau-notif-{}", std::process::id()));
        let store: std::sync::Arc<dyn crate::store::Store> =
            std::sync::Arc::new(crate::store::SledStore::open(&dir).unwrap());
        let directory = Directory::new(store);
        let users = vec!["u1".to_string()];
        for i in 0..KEPT_PER_USER + 5 {
            let n = new_notification("0420003A", "Test", &format!("n° {i}"), "", "");
            deliver(&directory, &users, &n).unwrap();
        }
        let kept = newest(&directory, "u1", KEPT_PER_USER + 50).unwrap();
        assert_eq!(kept.len(), KEPT_PER_USER);
        assert_eq!(kept[0].subject, format!("n° {}", KEPT_PER_USER + 4));
        assert_eq!(unread(&directory, "u1"), KEPT_PER_USER as u64);
        mark_all_read(&directory, "u1").unwrap();
        assert_eq!(unread(&directory, "u1"), 0);
        deliver(
            &directory,
            &users,
            &new_notification("X", "T", "encore", "", ""),
        )
        .unwrap();
        assert_eq!(
            unread(&directory, "u1"),
            1,
            "dropping a read one changes nothing"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
