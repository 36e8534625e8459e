//! Sign-in and sign-out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::extract::{parse_form, parse_query};
use super::pages::{WebResult, bad_form, csrf_rejected, render, safe_next};
use super::visitor::{SESSION_COOKIE, Visitor};
use crate::App;

/// Failures allowed per login within [`FAILURE_WINDOW`] before sign-in is refused.
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept by a limiter; beyond, expired then unlocked entries are dropped.
const MAX_ENTRIES: usize = 100_000;
/// Longest login looked up or remembered (generated logins have at most 30 characters).
const MAX_LOGIN_BYTES: usize = 100;

/// Counts recent failures per key (a login, a client address…) within a
/// window; in memory: a restart forgives. Memory is bounded: keys are short
/// and at most [`MAX_ENTRIES`] are kept.
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Default for FailureLimiter {
    /// The per-login limiter: [`MAX_FAILURES`] per 15 minutes.
    fn default() -> Self {
        FailureLimiter::new(MAX_FAILURES, FAILURE_WINDOW)
    }
}

impl FailureLimiter {
    /// A limiter refusing a key after `max` failures within `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        FailureLimiter {
            max: max.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Minutes to wait if `key` is locked out.
    pub fn locked_minutes(&self, key: &str) -> Option<u64> {
        let failures = self.failures.lock().expect("verrou");
        let (count, since) = failures.get(key)?;
        let elapsed = since.elapsed();
        (*count >= self.max && elapsed < self.window)
            .then(|| (self.window - elapsed).as_secs().div_ceil(60).max(1))
    }

    /// Counts a failure for `key`.
    pub fn record_failure(&self, key: &str) {
        let mut failures = self.failures.lock().expect("verrou");
        if failures.len() >= MAX_ENTRIES {
            // Amortised: after a clean-up at most half the room is used.
            failures.retain(|_, (_, since)| since.elapsed() < self.window);
            if failures.len() >= MAX_ENTRIES / 2 {
                failures.retain(|_, (count, _)| *count >= self.max);
            }
            if failures.len() >= MAX_ENTRIES / 2 {
                tracing::warn!("limiteur d'échecs saturé : remis à zéro");
                failures.clear();
            }
        }
        let entry = failures
            .entry(key.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// Forgets the failures of `key`.
    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("verrou").remove(key);
    }

    /// How many keys are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.failures.lock().expect("verrou").len()
    }

    /// Whether no key is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The per-address limiter: `max` failures per 15 minutes from one client,
/// whatever the logins tried (password spraying).
pub fn address_limiter(max: u32) -> FailureLimiter {
    FailureLimiter::new(max, FAILURE_WINDOW)
}

/// The client's address as the limiter counts it: the TCP peer, or, when the
/// peer is a trusted reverse proxy, the last address of `X-Forwarded-For`
/// that is not itself a trusted proxy. Never the header otherwise: any
/// client can write it.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted_proxies.contains(&canonical(peer)) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    for address in forwarded.into_iter().rev() {
        match address {
            Some(a) if trusted_proxies.contains(&canonical(a)) => continue,
            Some(a) => return Some(a),
            // Garbage written by someone: trust nothing to its left.
            None => break,
        }
    }
    Some(peer)
}

/// IPv4-mapped IPv6 addresses are the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The limiter's key for an address: the IPv4 address, or the IPv6 /64
/// (one subscriber's network: a client picks any address inside it).
pub fn address_key(address: IpAddr) -> String {
    match canonical(address) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn wait_message(minutes: u64) -> String {
    format!(
        "Réessayez dans {minutes} minute{}.",
        if minutes > 1 { "s" } else { "" }
    )
}

fn login_page(
    app: &App,
    visitor: &Visitor,
    status: StatusCode,
    error: Option<&str>,
    login: &str,
    next: &str,
) -> Response {
    render(
        app,
        visitor,
        None,
        "login.html",
        "Connexion",
        status,
        json!({ "error": error, "login_value": login, "next": next }),
    )
}

/// GET /login
pub async fn login_form(State(app): State<Arc<App>>, visitor: Visitor, uri: Uri) -> Response {
    let query = parse_query(uri.query());
    let next = query
        .iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.as_str())
        .and_then(safe_next)
        .unwrap_or_default();
    login_page(&app, &visitor, StatusCode::OK, None, "", &next)
}

fn session_cookie(token: &str, max_age: i64, secure: bool) -> HeaderValue {
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).expect("cookie ASCII")
}

/// The sign-in page refused for too many failures: 429 with `Retry-After`.
fn too_many(
    app: &App,
    visitor: &Visitor,
    message: &str,
    minutes: u64,
    login: &str,
    next: &str,
) -> Response {
    let mut response = login_page(
        app,
        visitor,
        StatusCode::TOO_MANY_REQUESTS,
        Some(message),
        login,
        next,
    );
    if let Ok(value) = HeaderValue::from_str(&(minutes * 60).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// POST /login
pub async fn login(
    State(app): State<Arc<App>>,
    visitor: Visitor,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult {
    let Some(form) = parse_form(&body) else {
        return Ok(bad_form(&app, &visitor));
    };
    if !visitor.csrf_valid(&form) {
        return Ok(csrf_rejected(&app, &visitor));
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let login = field("login").trim().to_lowercase();
    let password = field("password").to_string();
    let next = safe_next(field("next")).unwrap_or_default();
    if login.is_empty() || password.is_empty() {
        let message = "Saisissez votre identifiant et votre mot de passe.";
        return Ok(login_page(
            &app,
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(message),
            &login,
            &next,
        ));
    }
    // Per client address first (many logins tried from one place), then per login.
    let address = client_address(
        peer.map(|Extension(ConnectInfo(a))| a.ip()),
        &headers,
        &app.config.trusted_proxies,
    )
    .map(address_key);
    if let Some(minutes) = address
        .as_deref()
        .and_then(|a| app.address_failures.locked_minutes(a))
    {
        let message = format!(
            "Trop de tentatives de connexion depuis votre réseau. {}",
            wait_message(minutes)
        );
        return Ok(too_many(&app, &visitor, &message, minutes, &login, &next));
    }
    if let Some(minutes) = app.login_failures.locked_minutes(&login) {
        let message = format!(
            "Trop de tentatives de connexion pour ce compte. {}",
            wait_message(minutes)
        );
        return Ok(too_many(&app, &visitor, &message, minutes, &login, &next));
    }
    // No account has a login this long: not looked up, not remembered by login.
    let user = if login.len() <= MAX_LOGIN_BYTES {
        app.directory.user_by_login(&login)?
    } else {
        None
    };
    let valid = app
        .passwords
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await;
    let user = match (valid, user) {
        (true, Some(user)) => user,
        _ => {
            app.metrics.sign_in(false);
            if login.len() <= MAX_LOGIN_BYTES {
                app.login_failures.record_failure(&login);
            }
            if let Some(address) = &address {
                app.address_failures.record_failure(address);
            }
            let message = "Identifiant ou mot de passe incorrect.";
            return Ok(login_page(
                &app,
                &visitor,
                StatusCode::UNAUTHORIZED,
                Some(message),
                &login,
                &next,
            ));
        }
    };
    if user.blocked {
        let message =
            "Votre compte est bloqué. Adressez-vous à l'administrateur de votre établissement.";
        return Ok(login_page(
            &app,
            &visitor,
            StatusCode::FORBIDDEN,
            Some(message),
            &login,
            &next,
        ));
    }
    // Access windows: signing in is refused while every establishment of the
    // person is closed to their profile; the message gives the opening date.
    let at = crate::directory::now();
    // The earliest opening, and the establishment whose local time says it.
    let mut opens: Option<(i64, &str)> = None;
    let mut open_somewhere = user.region_admin || user.memberships.is_empty();
    for membership in &user.memberships {
        match app.directory.closed(&user, &membership.uai, at)? {
            Some(crate::directory::Closed::Until(ts)) => {
                if opens.is_none_or(|(earliest, _)| ts < earliest) {
                    opens = Some((ts, &membership.uai));
                }
            }
            Some(crate::directory::Closed::Blocked) => {}
            None => open_somewhere = true,
        }
    }
    if !open_somewhere && let Some((opens, uai)) = opens {
        let zone = app
            .directory
            .establishment(uai)?
            .map(|e| preau_text::TimeZone::named_or_default(&e.time_zone))
            .unwrap_or_else(preau_text::TimeZone::paris);
        let message = format!(
            "L'accès à l'ENT n'est pas encore ouvert pour votre profil. Il ouvrira le {}.",
            zone.french_date_time(opens)
        );
        return Ok(login_page(
            &app,
            &visitor,
            StatusCode::FORBIDDEN,
            Some(&message),
            &login,
            &next,
        ));
    }
    // Only the account's count is forgiven: one valid account must not
    // reset the count of an address trying many others.
    app.login_failures.clear(&login);
    // Three flushed writes: on a blocking thread, so that a sign-in storm does
    // not hold the runtime's threads in fsync while pages wait.
    let old_session = visitor.session.as_ref().map(|(token, _)| token.clone());
    let writer = app.clone();
    let (user, token) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        // First sign-in: the initial password is no longer kept for the identifiers file.
        let mut updated = user.clone();
        updated.last_login = Some(at);
        updated.pending_secret = None;
        writer.directory.save_user(Some(&user), &updated)?;
        // Rotation: the session a visitor arrived with is never reused after sign-in.
        if let Some(old) = &old_session {
            writer.directory.close_session(old)?;
        }
        let (token, _) = writer.directory.open_session(&user.id)?;
        Ok((user, token))
    })
    .await
    .map_err(|e| anyhow::anyhow!("connexion : {e}"))??;
    let target = if !next.is_empty() {
        next
    } else if let (false, [only]) = (user.region_admin, user.memberships.as_slice()) {
        format!("/e/{}/", only.uai)
    } else {
        "/".to_string()
    };
    app.metrics.sign_in(true);
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(
            &token,
            crate::directory::SESSION_SECONDS,
            app.config.secure_cookies,
        ),
    );
    Ok(response)
}

/// POST /logout
pub async fn logout(State(app): State<Arc<App>>, visitor: Visitor, body: Bytes) -> WebResult {
    let form = parse_form(&body).unwrap_or_default();
    if visitor.session.is_some() && !visitor.csrf_valid(&form) {
        return Ok(csrf_rejected(&app, &visitor));
    }
    let cookie = sign_out(&app, &visitor)?;
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Ends the visitor's session server-side; returns the cookie that clears it.
pub(super) fn sign_out(app: &App, visitor: &Visitor) -> anyhow::Result<HeaderValue> {
    if let Some((token, _)) = &visitor.session {
        app.directory.close_session(token)?;
    }
    Ok(session_cookie("", 0, app.config.secure_cookies))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_address_has_its_own_count() {
        let limiter = address_limiter(3);
        let (a, b) = (
            address_key(ip("203.0.113.7")),
            address_key(ip("198.51.100.9")),
        );
        for _ in 0..2 {
            limiter.record_failure(&a);
        }
        assert_eq!(limiter.locked_minutes(&a), None, "below the limit");
        limiter.record_failure(&a);
        assert_eq!(limiter.locked_minutes(&a), Some(15));
        // Another address is not affected.
        assert_eq!(limiter.locked_minutes(&b), None);
        limiter.record_failure(&b);
        assert_eq!(limiter.locked_minutes(&b), None);
        limiter.clear(&a);
        assert_eq!(limiter.locked_minutes(&a), None);
    }

    #[test]
    fn the_window_forgives() {
        let limiter = FailureLimiter::new(2, Duration::from_millis(50));
        limiter.record_failure("x");
        limiter.record_failure("x");
        assert!(limiter.locked_minutes("x").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(limiter.locked_minutes("x"), None);
        limiter.record_failure("x");
        assert_eq!(limiter.locked_minutes("x"), None, "count restarted");
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(address_key(ip("192.0.2.1")), "192.0.2.1");
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        let one = address_key(ip("2001:db8:1:2:aaaa::1"));
        assert_eq!(one, "2001:db8:1:2::/64");
        assert_eq!(address_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), one);
        assert_ne!(address_key(ip("2001:db8:1:3::1")), one);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.1, 203.0.113.5"),
        );
        let peer = Some(ip("10.0.0.2"));
        // Not configured: the header is ignored.
        assert_eq!(client_address(peer, &headers, &[]), peer);
        assert_eq!(client_address(None, &headers, &[]), None);
        // From the trusted proxy: its right-most untrusted entry (the left ones
        // are written by the client).
        let proxies = [ip("10.0.0.2")];
        assert_eq!(
            client_address(peer, &headers, &proxies),
            Some(ip("203.0.113.5"))
        );
        // A chain of trusted proxies is skipped.
        let proxies = [ip("10.0.0.2"), ip("203.0.113.5")];
        assert_eq!(
            client_address(peer, &headers, &proxies),
            Some(ip("198.51.100.1"))
        );
        // Garbage: the proxy itself is counted.
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("n'importe quoi"),
        );
        assert_eq!(client_address(peer, &headers, &[ip("10.0.0.2")]), peer);
        // Another peer claiming the header is not believed.
        let other = Some(ip("192.0.2.66"));
        assert_eq!(client_address(other, &headers, &[ip("10.0.0.2")]), other);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_logins() {
        let limiter = FailureLimiter::new(5, FAILURE_WINDOW);
        for i in 0..(MAX_ENTRIES + 10) {
            limiter.record_failure(&format!("inconnu{i}"));
        }
        assert!(limiter.len() <= MAX_ENTRIES, "{}", limiter.len());
        // A locked login survives a flood of unlocked ones.
        let limiter = FailureLimiter::new(2, FAILURE_WINDOW);
        limiter.record_failure("cible");
        limiter.record_failure("cible");
        for i in 0..(MAX_ENTRIES + 10) {
            limiter.record_failure(&format!("inconnu{i}"));
        }
        assert!(limiter.locked_minutes("cible").is_some());
        assert!(!limiter.is_empty());
    }
}
