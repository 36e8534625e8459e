//! Unpredictable random values from WASI's random interface (the host's
//! cryptographically secure generator): tokens, salts, identifiers that must not be
//! guessed.
//!
//! ```
//! let token = preau_sdk::random::token();
//! assert_eq!(token.len(), 32);
//! assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
//! ```

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("source d'aléa du système");
    out
}

/// 128 random bits as 32 lowercase hexadecimal characters.
pub fn token() -> String {
    bytes::<16>().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_differ() {
        let (a, b) = (super::token(), super::token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
