//! Access windows: when a profile of an establishment may sign in.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{Directory, User};
use crate::store::{Space, StoreExt};

/// A period during which a profile of an establishment cannot sign in
/// (pupils and parents before the rentrée). Stacks with individual blocks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessWindow {
    /// Id (for deletion).
    pub id: String,
    /// Profile code.
    pub profile: String,
    /// Blocked from (Unix seconds).
    pub blocked_from: i64,
    /// Opens again at (Unix seconds).
    pub opens_at: i64,
}

/// Why someone may not sign in to an establishment now.
#[derive(Clone, Debug, PartialEq)]
pub enum Closed {
    /// Individually blocked.
    Blocked,
    /// Their profile's access opens at this time.
    Until(i64),
}

impl Directory {
    /// Access windows of an establishment.
    pub fn access_windows(&self, uai: &str) -> Result<Vec<AccessWindow>> {
        Ok(self
            .store
            .get_json(Space::Settings, &format!("windows/{uai}"))?
            .unwrap_or_default())
    }

    /// Replaces the access windows of an establishment.
    pub fn put_access_windows(&self, uai: &str, windows: &[AccessWindow]) -> Result<()> {
        self.store
            .put_json(Space::Settings, &format!("windows/{uai}"), &windows)
    }

    /// Whether `user` may sign in to `uai` at `at`: individual blocks and the
    /// windows of their profile there both apply.
    pub fn closed(&self, user: &User, uai: &str, at: i64) -> Result<Option<Closed>> {
        if user.blocked {
            return Ok(Some(Closed::Blocked));
        }
        let Some(membership) = user.membership(uai) else {
            return Ok(None);
        };
        if membership.admin {
            return Ok(None);
        }
        let opens = self
            .access_windows(uai)?
            .into_iter()
            .filter(|w| w.profile == membership.profile && w.blocked_from <= at && at < w.opens_at)
            .map(|w| w.opens_at)
            .max();
        Ok(opens.map(Closed::Until))
    }
}
