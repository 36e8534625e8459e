//! Who is asking: the session cookie resolved to an account, and the CSRF
//! token of their forms. [`Visitor`] is an axum extractor, computed once per
//! request (cached in the request's extensions).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::App;
use crate::directory::{Session, User, random_token};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "preau_session";
/// Name of the pre-session CSRF cookie (double submit for anonymous forms such as sign-in).
pub const CSRF_COOKIE: &str = "preau_csrf";

#[derive(Clone)]
/// Who is asking: their session and account, if signed in, and the CSRF token of their forms.
pub struct Visitor {
    /// The account, when signed in and not blocked.
    pub user: Option<User>,
    /// The session token and record.
    pub session: Option<(String, Session)>,
    /// The anonymous CSRF cookie value, existing or to be set.
    anon_csrf: String,
    /// Whether `anon_csrf` is new and must be sent as a cookie.
    new_anon_csrf: bool,
    /// Path of the request (for `next=` links and navigation).
    pub path: String,
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl Visitor {
    /// Resolves the session cookie to an account.
    pub fn from_headers(app: &App, headers: &HeaderMap, path: &str) -> Visitor {
        let session = cookie(headers, SESSION_COOKIE).and_then(|token| {
            let session = app.directory.session(&token).unwrap_or_else(|e| {
                tracing::error!("session : {e:#}");
                None
            })?;
            Some((token, session))
        });
        let user = session
            .as_ref()
            .and_then(|(_, s)| app.directory.user(&s.user_id).ok().flatten())
            .filter(|u| !u.blocked);
        let session = if user.is_some() { session } else { None };
        let existing = cookie(headers, CSRF_COOKIE)
            .filter(|c| c.len() == 32 && c.bytes().all(|b| b.is_ascii_hexdigit()));
        Visitor {
            user,
            session,
            new_anon_csrf: existing.is_none(),
            anon_csrf: existing.unwrap_or_else(random_token),
            path: path.to_string(),
        }
    }

    /// The token forms must carry.
    pub fn csrf(&self) -> &str {
        match &self.session {
            Some((_, s)) => &s.csrf,
            None => &self.anon_csrf,
        }
    }

    /// The same anonymous visitor with `placeholder` as CSRF token: what a page
    /// kept for every anonymous visitor is rendered for (each gets theirs put in).
    pub fn with_csrf_placeholder(&self, placeholder: &str) -> Visitor {
        Visitor {
            user: None,
            session: None,
            anon_csrf: placeholder.into(),
            new_anon_csrf: false,
            path: self.path.clone(),
        }
    }

    /// Whether a submitted form's `csrf` field is valid for this visitor.
    /// Signed in: the session's token. Anonymous: the double-submit cookie,
    /// which a cross-site page can neither read nor send (SameSite=Strict).
    pub fn csrf_valid(&self, form: &[(String, String)]) -> bool {
        let submitted = form
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let expected = match &self.session {
            Some((_, s)) => s.csrf.as_str(),
            None if self.new_anon_csrf => return false,
            None => self.anon_csrf.as_str(),
        };
        constant_time_eq(submitted.as_bytes(), expected.as_bytes())
    }

    /// The `/login?next=…` link for this page.
    pub fn login_url(&self) -> String {
        if self.path.starts_with("/login") {
            return "/login".to_string();
        }
        format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(self.path.as_bytes()).collect::<String>()
        )
    }

    /// Adds the anonymous CSRF cookie to a response when it is new.
    pub fn finish(&self, mut response: Response, secure: bool) -> Response {
        if self.session.is_none() && self.new_anon_csrf {
            let cookie = format!(
                "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{}",
                self.anon_csrf,
                if secure { "; Secure" } else { "" }
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<Arc<App>> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(visitor) = parts.extensions.get::<Visitor>() {
            return Ok(visitor.clone());
        }
        let visitor = Visitor::from_headers(app, &parts.headers, parts.uri.path());
        parts.extensions.insert(visitor.clone());
        Ok(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; preau_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, "preau_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
