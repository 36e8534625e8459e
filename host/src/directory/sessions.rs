//! Signed-in sessions, stored under the SHA-256 of their token.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Directory, now, random_token};
use crate::store::{Op, Space, StoreExt};

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

/// The index entry of a session under its account: `by-user/<user id>/<token hash>`
/// (a session's own key is 64 hex digits, never this shape).
fn by_user_key(user_id: &str, hash: &str) -> String {
    format!("{}{hash}", by_user_prefix(user_id))
}

fn by_user_prefix(user_id: &str) -> String {
    format!("by-user/{user_id}/")
}

impl Directory {
    /// Opens a session for `user_id`; returns (token, session). The account's
    /// expired sessions are swept here (reading a session never writes).
    pub fn open_session(&self, user_id: &str) -> Result<(String, Session)> {
        let token = random_token();
        let session = Session {
            user_id: user_id.to_string(),
            csrf: random_token(),
            expires_at: now() + SESSION_SECONDS,
        };
        let hash = token_key(&token);
        let mut ops = self.session_ops_of(user_id, |s| s.is_none_or(|s| s.expires_at <= now()))?;
        ops.push(Op::Put(
            hash.clone().into_bytes(),
            serde_json::to_vec(&session)?,
        ));
        ops.push(Op::Put(
            by_user_key(user_id, &hash).into_bytes(),
            Vec::new(),
        ));
        self.store.batch(Space::Sessions, ops)?;
        Ok((token, session))
    }

    /// The live session of a token. Never writes: an expired session is merely
    /// not found (it is swept at the account's next sign-in).
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
        let hash = token_key(token);
        let mut ops = vec![Op::Delete(hash.clone().into_bytes())];
        if let Some(session) = self.store.get_json::<Session>(Space::Sessions, &hash)? {
            ops.push(Op::Delete(
                by_user_key(&session.user_id, &hash).into_bytes(),
            ));
        }
        self.store.batch(Space::Sessions, ops)
    }

    /// Ends every session of `user_id` except the one of `keep` (the token of
    /// the person changing their own password); returns how many were ended.
    pub fn close_sessions_of(&self, user_id: &str, keep: Option<&str>) -> Result<usize> {
        let keep = keep.map(token_key);
        let ops = self.session_ops_of(user_id, |_| true)?;
        let ops: Vec<Op> = ops
            .into_iter()
            .filter(|op| match (op, &keep) {
                (Op::Delete(k), Some(keep)) => !String::from_utf8_lossy(k).ends_with(keep.as_str()),
                _ => true,
            })
            .collect();
        let ended = ops.len() / 2;
        if !ops.is_empty() {
            self.store.batch(Space::Sessions, ops)?;
        }
        Ok(ended)
    }

    /// Deletes every expired session (and its index entry), a page at a time,
    /// and indexes any live one that has no index entry; returns how many were
    /// deleted. Run by the scheduler, never by a request.
    pub fn sweep_expired_sessions(&self) -> Result<usize> {
        const PAGE: usize = 1000;
        let mut after: Option<Vec<u8>> = None;
        let mut swept = 0;
        loop {
            let page = self
                .store
                .scan(Space::Sessions, b"", after.as_deref(), PAGE, false)?;
            let Some((last, _)) = page.last() else {
                return Ok(swept);
            };
            after = Some(last.clone());
            let mut ops = Vec::new();
            for (key, value) in &page {
                if key.starts_with(b"by-user/") {
                    continue;
                }
                let Ok(session) = serde_json::from_slice::<Session>(value) else {
                    continue;
                };
                let hash = String::from_utf8_lossy(key).into_owned();
                let index = by_user_key(&session.user_id, &hash).into_bytes();
                if session.expires_at <= now() {
                    ops.push(Op::Delete(key.clone()));
                    ops.push(Op::Delete(index));
                    swept += 1;
                } else if self.store.get(Space::Sessions, &index)?.is_none() {
                    // Opened before sessions were indexed per account: indexed
                    // now, so that a new password ends it too.
                    ops.push(Op::Put(index, Vec::new()));
                }
            }
            if !ops.is_empty() {
                self.store.batch(Space::Sessions, ops)?;
            }
            if page.len() < PAGE {
                return Ok(swept);
            }
        }
    }

    /// How many live sessions `user_id` has.
    pub fn live_sessions_of(&self, user_id: &str) -> Result<usize> {
        Ok(self
            .session_ops_of(user_id, |s| s.is_some_and(|s| s.expires_at > now()))?
            .len()
            / 2)
    }

    /// The deletions (session and index entry) of the sessions of `user_id`
    /// that `end` selects (it sees None for an index entry whose session is gone).
    fn session_ops_of(
        &self,
        user_id: &str,
        end: impl Fn(Option<&Session>) -> bool,
    ) -> Result<Vec<Op>> {
        let prefix = by_user_prefix(user_id);
        let mut ops = Vec::new();
        for (key, _) in
            self.store
                .scan(Space::Sessions, prefix.as_bytes(), None, usize::MAX, false)?
        {
            let hash = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            let session = self.store.get_json::<Session>(Space::Sessions, &hash)?;
            if end(session.as_ref()) {
                ops.push(Op::Delete(hash.into_bytes()));
                ops.push(Op::Delete(key));
            }
        }
        Ok(ops)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::{SledStore, Store};

    #[test]
    fn reading_never_writes_and_sign_in_sweeps_the_accounts_expired_sessions() {
        let store = Arc::new(SledStore::temporary().unwrap());
        let directory = Directory::new(store.clone());
        let (old, mut session) = directory.open_session("u1").unwrap();
        let (live, _) = directory.open_session("u1").unwrap();
        directory.open_session("u2").unwrap();
        // `old` expires.
        session.expires_at = now() - 1;
        store
            .put_json(Space::Sessions, &token_key(&old), &session)
            .unwrap();
        let writes = store.write_count().unwrap();
        assert!(directory.session(&old).unwrap().is_none());
        assert!(directory.session(&live).unwrap().is_some());
        assert_eq!(store.write_count().unwrap(), writes, "reading never writes");
        assert_eq!(directory.live_sessions_of("u1").unwrap(), 1);
        // The next sign-in of the account sweeps it (session and index entry).
        directory.open_session("u1").unwrap();
        assert!(
            store
                .get(Space::Sessions, token_key(&old).as_bytes())
                .unwrap()
                .is_none()
        );
        let index = store
            .scan(Space::Sessions, b"by-user/u1/", None, usize::MAX, false)
            .unwrap();
        assert_eq!(index.len(), 2);
        // Ending the others keeps the one named; u2 is untouched.
        assert_eq!(directory.close_sessions_of("u1", Some(&live)).unwrap(), 1);
        assert!(directory.session(&live).unwrap().is_some());
        assert_eq!(directory.live_sessions_of("u1").unwrap(), 1);
        assert_eq!(directory.live_sessions_of("u2").unwrap(), 1);
        // The scheduler's sweep: u2's expired session goes, with its index entry.
        let (gone, mut expired) = directory.open_session("u2").unwrap();
        expired.expires_at = now() - 1;
        store
            .put_json(Space::Sessions, &token_key(&gone), &expired)
            .unwrap();
        // A session opened before the index existed gets one.
        let (legacy, _) = directory.open_session("u3").unwrap();
        store
            .delete(
                Space::Sessions,
                by_user_key("u3", &token_key(&legacy)).as_bytes(),
            )
            .unwrap();
        assert_eq!(directory.live_sessions_of("u3").unwrap(), 0);
        assert_eq!(directory.sweep_expired_sessions().unwrap(), 1);
        assert_eq!(directory.sweep_expired_sessions().unwrap(), 0);
        assert_eq!(directory.live_sessions_of("u3").unwrap(), 1);
        assert_eq!(directory.close_sessions_of("u3", None).unwrap(), 1);
        assert!(directory.session(&legacy).unwrap().is_none());
        assert_eq!(directory.live_sessions_of("u2").unwrap(), 1);
        assert_eq!(
            store
                .scan(Space::Sessions, b"by-user/u2/", None, usize::MAX, false)
                .unwrap()
                .len(),
            1
        );
        directory.close_session(&live).unwrap();
        assert!(
            store
                .scan(Space::Sessions, b"by-user/u1/", None, usize::MAX, false)
                .unwrap()
                .is_empty()
        );
    }
}
