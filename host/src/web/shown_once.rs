//! Secrets shown once after a POST (post/redirect/get): the POST that creates a
//! password keeps it here for the session and page it belongs to and redirects;
//! the GET of that page takes it out. Reloading the page, going back or sharing
//! its address shows nothing more, and the secret never travels in a URL.
//! Kept in memory only: it must never reach the store (a GET writes nothing),
//! and a restart forgetting it is the safe failure (the identifiers file still
//! has the pending password).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a secret waits for the redirected GET (a browser follows at once).
const LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Bound on waiting secrets, so that a flood of POSTs cannot grow memory.
const MAX_WAITING: usize = 10_000;

/// A password to show once on one page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownSecret {
    /// Whose password it is.
    pub login: String,
    /// The password itself.
    pub password: String,
    /// Whether it is the account's first password (else a regenerated one).
    pub initial: bool,
}

struct Waiting {
    secret: ShownSecret,
    kept_at: Instant,
}

/// The secrets waiting for their page, per (session token, page path).
#[derive(Default)]
pub struct ShownOnce {
    waiting: Mutex<HashMap<(String, String), Waiting>>,
}

impl ShownOnce {
    /// Keeps `secret` for the next GET of `path` by the session `session_token`.
    pub fn keep(&self, session_token: &str, path: &str, secret: ShownSecret) {
        let mut waiting = self.waiting.lock().expect("verrou");
        waiting.retain(|_, w| w.kept_at.elapsed() < LIFETIME);
        if waiting.len() >= MAX_WAITING {
            // The oldest goes: its page was surely never opened.
            if let Some(oldest) = waiting
                .iter()
                .min_by_key(|(_, w)| w.kept_at)
                .map(|(k, _)| k.clone())
            {
                waiting.remove(&oldest);
            }
        }
        waiting.insert(
            (session_token.to_string(), path.to_string()),
            Waiting {
                secret,
                kept_at: Instant::now(),
            },
        );
    }

    /// The secret kept for this session and page, removed: it is shown once.
    pub fn take(&self, session_token: &str, path: &str) -> Option<ShownSecret> {
        let mut waiting = self.waiting.lock().expect("verrou");
        let found = waiting.remove(&(session_token.to_string(), path.to_string()))?;
        (found.kept_at.elapsed() < LIFETIME).then_some(found.secret)
    }
}

/// Keeps `secret` for the visitor's next GET of `path`; false without a session.
pub fn keep_for(
    app: &crate::App,
    visitor: &super::visitor::Visitor,
    path: &str,
    secret: ShownSecret,
) -> bool {
    let Some((token, _)) = &visitor.session else {
        return false;
    };
    app.shown_once.keep(token, path, secret);
    true
}

/// The secret kept for the visitor's current page, if any (removed).
pub fn take_for(app: &crate::App, visitor: &super::visitor::Visitor) -> Option<ShownSecret> {
    let (token, _) = visitor.session.as_ref()?;
    app.shown_once.take(token, &visitor.path)
}

/// A page showing a secret is kept by no cache (nor the browser's back button).
pub fn not_stored(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> ShownSecret {
        ShownSecret {
            login: "emma.martin".into(),
            password: "Secret-123".into(),
            initial: false,
        }
    }

    #[test]
    fn a_secret_is_given_once_to_its_session_and_page_only() {
        let once = ShownOnce::default();
        once.keep("session-a", "/page", secret());
        assert_eq!(once.take("session-b", "/page"), None);
        assert_eq!(once.take("session-a", "/autre"), None);
        assert_eq!(once.take("session-a", "/page"), Some(secret()));
        assert_eq!(once.take("session-a", "/page"), None);
    }
}
