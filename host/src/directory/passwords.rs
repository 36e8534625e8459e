//! Password hashing (argon2id) and the pool of threads that runs it.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::random_token;

/// argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1).
fn argon2() -> argon2::Argon2<'static> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("paramètres argon2 valides");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Hashes a password (CPU-heavy: call through [`PasswordPool`]).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("hachage du mot de passe : {e}"))
}

/// Whether `password` matches `hash` (CPU-heavy).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Runs argon2 on a bounded number of low-priority threads, so that a login storm
/// queues up instead of starving page rendering.
#[derive(Clone)]
pub struct PasswordPool {
    permits: Arc<tokio::sync::Semaphore>,
    threads: crate::background::LowPriorityPool,
    /// A hash to verify against when the login is unknown (same cost, no user enumeration by timing).
    dummy_hash: Arc<String>,
}

impl PasswordPool {
    /// A pool of `size` concurrent hashings.
    pub fn new(size: usize) -> Result<Self> {
        Ok(PasswordPool {
            permits: Arc::new(tokio::sync::Semaphore::new(size.max(1))),
            threads: crate::background::LowPriorityPool::new("preau-argon2", size.max(1))?,
            dummy_hash: Arc::new(hash_password(&random_token())?),
        })
    }

    /// Verifies on the pool; `hash` None verifies against a dummy and returns false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let dummy = self.dummy_hash.clone();
        self.threads
            .run(move || match hash {
                Some(hash) => verify_password(&password, &hash),
                None => {
                    verify_password(&password, &dummy);
                    false
                }
            })
            .await
            .unwrap_or(false)
    }

    /// Hashes on the pool.
    pub async fn hash(&self, password: String) -> Result<String> {
        let _permit = self.permits.acquire().await?;
        self.threads.run(move || hash_password(&password)).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let hash = hash_password("preau-demo").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("preau-demo", &hash));
        assert!(!verify_password("autre", &hash));
    }
}
