//! Signed-in sessions, stored under the SHA-256 of their token.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Directory, now, random_token};
use crate::store::{Space, StoreExt};

/// A signed-in session, stored under the SHA-256 of its token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// Who.
    pub user_id: String,
    /// CSRF token of this session.
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Session lifetime.
pub const SESSION_SECONDS: i64 = 12 * 3600;

fn token_key(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Directory {
    /// Opens a session for `user_id`; returns (token, session).
    pub fn open_session(&self, user_id: &str) -> Result<(String, Session)> {
        let token = random_token();
        let session = Session {
            user_id: user_id.to_string(),
            csrf: random_token(),
            expires_at: now() + SESSION_SECONDS,
        };
        self.store
            .put_json(Space::Sessions, &token_key(&token), &session)?;
        Ok((token, session))
    }

    /// The live session of a token. Never writes (no GET changes state): an
    /// expired session is merely not found.
    pub fn session(&self, token: &str) -> Result<Option<Session>> {
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let key = token_key(token);
        Ok(self
            .store
            .get_json::<Session>(Space::Sessions, &key)?
            .filter(|s| s.expires_at > now()))
    }

    /// Deletes a session server-side.
    pub fn close_session(&self, token: &str) -> Result<()> {
        self.store
            .delete(Space::Sessions, token_key(token).as_bytes())
    }
}
